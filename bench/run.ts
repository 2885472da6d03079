/**
 * `npm run bench [-- --quick] [-- --only <substring>] [-- --no-write]`: runs every case in
 * bench/cases/, prints one table, and writes it to docs/benchmarks.md with the machine it ran on.
 * `--only` re-runs some cases and replaces just their rows: docs/benchmarks.json keeps every case's
 * rows with when it ran and the load average around it, and the page says so per case (a case re-run
 * alone on a quiet machine is not silently mixed with a loaded full run).
 *
 * Each case runs in its own child process: a case's agents, worker threads, sockets and heap would
 * otherwise weigh on the cases after it (measured: the encoder lost ~15% running after the SNMP sweep).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { packageRoot } from '../daemon/paths.js';
import { hasBinary } from '../test/helpers/service.js';
import type { BenchCase, BenchRow } from './index.js';
import { type BenchRecord, renderPage, renderTable } from './page.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    /** Internal: run exactly this case in this process and print its rows as JSON on the last line. */
    'child-case': { type: 'string' },
  },
});

async function loadCases(): Promise<BenchCase[]> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'cases');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort();
  const cases: BenchCase[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { cases?: BenchCase[] };
    cases.push(...(mod.cases ?? []));
  }
  return cases;
}

/** Runs one case in a fresh Node process; its progress goes to our stderr, its rows come back as JSON. */
function runInChild(name: string): Promise<BenchRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child-case', name, ...(args.quick ? ['--quick'] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(last) as BenchRow[]);
      } catch (err) {
        reject(new Error(`case process failed (${(err as Error).message}): ${out.slice(-500)}`));
      }
    });
  });
}

async function runChildCase(name: string): Promise<void> {
  const c = (await loadCases()).find((x) => x.name === name);
  if (!c) throw new Error(`no bench case named "${name}"`);
  const rows = await c.run({ quick: args.quick ?? false, log: (m) => process.stderr.write(`  ${m}\n`) });
  process.stdout.write(`\n${JSON.stringify(rows)}\n`);
  // The measured code may leave sockets or timers behind; the rows are what matters.
  process.exit(0);
}

const RECORD = join(packageRoot, 'docs/benchmarks.json');
const machine = () =>
  `Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} · ${Math.round(totalmem() / 2 ** 30)} GiB`;

function readRecord(): BenchRecord {
  if (!existsSync(RECORD)) return { machine: machine(), cases: {}, notRun: {} };
  return JSON.parse(readFileSync(RECORD, 'utf8')) as BenchRecord;
}

async function main(): Promise<void> {
  if (args['child-case']) return runChildCase(args['child-case']);
  const all = await loadCases();
  const chosen = all.filter((c) => !args.only || c.name.includes(args.only));
  const record = args.only ? readRecord() : { machine: machine(), cases: {}, notRun: {} };
  record.machine = machine();
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  for (const c of chosen) {
    const missing = (c.needs ?? []).filter((b) => !hasBinary(b));
    if (missing.length > 0) {
      notes.push(`${c.name}: skipped, needs ${missing.join(', ')}`);
      record.notRun[c.name] = `skipped, needs ${missing.join(', ')}`;
      continue;
    }
    process.stderr.write(`bench: ${c.name}…\n`);
    const started = Date.now();
    const before = loadavg()[0]!;
    try {
      const caseRows = await runInChild(c.name);
      rows.push(...caseRows);
      record.cases[c.name] = {
        ranAt: new Date(started).toISOString(),
        quick: args.quick ?? false,
        load: [before, loadavg()[0]!],
        rows: caseRows,
      };
      delete record.notRun[c.name];
      process.stderr.write(`bench: ${c.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      notes.push(`${c.name}: failed: ${(err as Error).message}`);
      record.notRun[c.name] = `failed: ${(err as Error).message.split('\n')[0]!.slice(0, 300)}`;
      process.stderr.write(`bench: ${c.name} FAILED: ${(err as Error).message}\n`);
    }
  }
  process.stdout.write(`${renderTable(rows)}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);

  if (!args['no-write']) {
    writeFileSync(RECORD, `${JSON.stringify(record, null, 1)}\n`);
    writeFileSync(
      join(packageRoot, 'docs/benchmarks.md'),
      renderPage(
        record,
        all.map((c) => c.name),
      ),
    );
    process.stderr.write('bench: wrote docs/benchmarks.md and docs/benchmarks.json\n');
  }
  // Benchmarks may leave sockets or timers of the measured code behind; the table is what matters.
  process.exit(0);
}

await main();
