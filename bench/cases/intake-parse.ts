import { createReadStream, createWriteStream, existsSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readSampleFile, type SampleFileResult } from '../../collectors/intake/files.js';
import type { SampleSink } from '../../collectors/intake/index.js';
import type { Sample } from '../../model/index.js';
import { encodeLine } from '../../store/lineprotocol.js';
import { samplePoint } from '../../store/schema.js';
import { median, type BenchCase, type BenchRow } from '../index.js';

/*
 * Sample files of 1,000,000 lines — 2,000 cells × 15-minute samples with the counter KPIs of
 * `cellwatch analyze`'s input — as JSON lines, CSV and line protocol, read through readSampleFile into a
 * sink that touches every sample (as the correlator's columnar builder does). Baseline, in the same
 * run: `readline` over the JSONL file with one JSON.parse per line and no validation at all.
 * The files are generated once and cached in the OS temp dir.
 */

const CELLS = 2000;
const T0 = Date.UTC(2026, 9, 1);
const COLS = [
  'cell',
  'ts',
  'source',
  'intervalS',
  'dlMbps',
  'ulMbps',
  'rsrpDbm',
  'sinrDb',
  'prbUtilPct',
  'activeUsers',
  'available',
  'dlVolumeMB',
  'ulVolumeMB',
] as const;

function sample(i: number): Sample {
  const c = i % CELLS;
  const k = Math.floor(i / CELLS);
  const r = (i * 2654435761) % 1000;
  return {
    cell: `S${String(Math.floor(c / 3)).padStart(4, '0')}-${(c % 3) + 1}`,
    ts: T0 + k * 900_000,
    source: 'snmp',
    intervalS: 900,
    dlMbps: Math.round(200 + r * 0.37) / 10,
    ulMbps: Math.round(30 + (r % 97)) / 10,
    rsrpDbm: -80 - (r % 35),
    sinrDb: Math.round((r % 250) - 30) / 10,
    prbUtilPct: Math.round(r * 0.093 * 10) / 10,
    activeUsers: 3 + (r % 60),
    available: r !== 999,
    dlVolumeMB: Math.round(r * 5.3) / 10,
    ulVolumeMB: Math.round(r * 0.9) / 10,
  };
}

async function generate(path: string, n: number, line: (s: Sample) => string, header?: string): Promise<void> {
  if (existsSync(path)) return;
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  let buf = header ? header + '\n' : '';
  for (let i = 0; i < n; i++) {
    buf += line(sample(i)) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  renameSync(tmp, path);
}

/** Touches every sample the way a columnar builder would (reads the numbers), and counts. */
class TouchSink implements SampleSink {
  n = 0;
  sum = 0;
  add(s: Sample): void {
    this.n++;
    this.sum += s.ts + (s.dlMbps ?? 0) + (s.activeUsers ?? 0) + (s.available ? 1 : 0);
  }
}

async function readlineBaseline(path: string): Promise<number> {
  const rl = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let n = 0;
  let sum = 0;
  for await (const line of rl) {
    if (line.length === 0) continue;
    const o = JSON.parse(line) as Sample;
    sum += o.ts;
    n++;
  }
  if (sum === 0) throw new Error('nothing parsed');
  return n;
}

async function timeBest(rounds: number, run: () => Promise<number>): Promise<{ perS: number; n: number }> {
  const rates: number[] = [];
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    n = await run();
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return { perS: median(rates), n };
}

export const cases: BenchCase[] = [
  {
    name: 'intake: sample file parsing',
    async run(ctx) {
      const n = ctx.quick ? 200_000 : 1_000_000;
      const base = join(tmpdir(), `cellwatch-bench-intake-${n}`);
      const files = { jsonl: `${base}.jsonl`, csv: `${base}.csv`, lp: `${base}.lp` };
      ctx.log(`generating ${n.toLocaleString('en-US')}-line files (cached) …`);
      await generate(files.jsonl, n, (s) => JSON.stringify(s));
      await generate(files.csv, n, (s) => COLS.map((c) => String(s[c] ?? '')).join(','), COLS.join(','));
      await generate(files.lp, n, (s) => encodeLine(samplePoint(s)));
      const rounds = ctx.quick ? 1 : 3;
      const ours = async (path: string, opts = {}) => {
        const sink = new TouchSink();
        const r: SampleFileResult = await readSampleFile(path, sink, opts);
        if (r.rejectedCount > 0 || sink.n !== n)
          throw new Error(`${path}: ${r.rejectedCount} rejected, ${sink.n} read`);
        return sink.n;
      };
      // Alternate baseline and ours so that a noisy neighbour hurts both alike.
      const baseline = await timeBest(rounds, () => readlineBaseline(files.jsonl));
      const jsonl = await timeBest(rounds, () => ours(files.jsonl));
      const baseline2 = await timeBest(rounds, () => readlineBaseline(files.jsonl));
      const csv = await timeBest(rounds, () => ours(files.csv));
      const lp = await timeBest(rounds, () => ours(files.lp, { precision: 'ms' }));
      const base1 = Math.max(baseline.perS, baseline2.perS);
      ctx.log(
        `lines/s: readline+JSON.parse ${Math.round(baseline.perS)} / ${Math.round(baseline2.perS)}, jsonl ${Math.round(jsonl.perS)}, csv ${Math.round(csv.perS)}, lp ${Math.round(lp.perS)}`,
      );
      const load = loadavg()[0]!.toFixed(1);
      const note = `${n.toLocaleString('en-US')} lines, 13 fields, median of ${rounds}; baseline is the better of two runs; load average ${load} during the run`;
      const row = (fmt: string, perS: number, target?: string, met?: boolean): BenchRow => ({
        case: `intake: ${fmt} sample file → validated samples`,
        metric: 'lines/s, one core',
        ours: perS,
        baseline: 'readline + JSON.parse (no validation)',
        baselineValue: base1,
        higherIsBetter: true,
        ...(target ? { target } : {}),
        ...(met === undefined ? {} : { met }),
        note,
      });
      return [
        row('JSONL', jsonl.perS, '≥ 600,000 lines/s', jsonl.perS >= 600_000),
        row('CSV', csv.perS),
        row('line-protocol', lp.perS),
      ];
    },
  },
];
