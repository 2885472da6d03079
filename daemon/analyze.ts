import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import {
  SampleRangeReader,
  joinSampleRanges,
  jsonlRanges,
  readComplaintFile,
  readSampleFile,
  sampleFileFormat,
  sampleRangesResult,
  type FileProgress,
  type FileRange,
  type Rejection,
  type SampleFileResult,
} from '../collectors/intake/index.js';
import { CellInventory, ConfigError, loadConfigFile, loadInventoryFile, parseConfig } from '../config/index.js';
import {
  SampleColumns,
  allDays,
  analyzeDetailed,
  assembleReport,
  planAnalysis,
  runTakenParts,
  type AnalysisInput,
  type AnalysisReport,
  type AnalysisResult,
  type PartResult,
} from '../correlator/index.js';
import type { Complaint, Inventory, LinkSample, Sample } from '../model/index.js';
import type { PartJob, PartMessage, ReadJob } from './analyze-part.js';
import { detectionSettings } from './detection-settings.js';
import { matchInThreads } from './bulk-match.js';
import { PartWorker } from './part-worker.js';

export interface AnalyzeOptions {
  samples: string;
  complaints?: string;
  inventory?: string;
  config?: string;
  out?: string;
  /**
   * Threads the analysis runs in (1 or 2; default: 2 for inputs of ≥ 200,000 samples on a machine
   * with more than one core). Either way the report is the same.
   */
  threads?: number;
}

export interface AnalyzeIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** One complaint's line in the report. */
export interface ReportComplaint {
  id: string;
  category: string;
  explained: boolean;
  score: number;
  windows: { id: string; cell: string; score: number; reason: string }[];
  /** Why it could not be correlated (an unknown cell without coordinates…). */
  rejected?: string;
}

export type FullReport = Omit<AnalysisReport, 'complaints'> & {
  complaints?: ReportComplaint[];
  rejected: { samples: Rejection[]; samplesCount: number; complaints?: Rejection[]; complaintsCount?: number };
};

/** "[#######-------] 47%  1.2 GB of 2.6 GB" on a terminal; nothing otherwise. */
function progress(io: AnalyzeIo, label: string) {
  if (!io.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let last = -1;
  return {
    update: (bytes: number, total: number) => {
      const pct = total > 0 ? Math.floor((bytes / total) * 100) : 0;
      if (pct === last) return;
      last = pct;
      const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '-');
      io.stderr.write(
        `\r${label} [${bar}] ${String(pct).padStart(3)}%  ${(bytes / 1e6).toFixed(0)} of ${(total / 1e6).toFixed(0)} MB`,
      );
    },
    done: () => io.stderr.write('\n'),
  };
}

/**
 * `cellwatch analyze`: the whole correlator over files, no daemon and no store — samples (JSONL, CSV or
 * InfluxDB line protocol in the `cell_kpi`/`link` schema, any order), optionally complaints and an
 * inventory, under the config's thresholds. The same Detector as the live daemon, fed in time order per
 * cell, so the same samples give the same windows and targets. Bad rows are reported with their line
 * and reason, and the rest analysed.
 */
export async function runAnalyze(opts: AnalyzeOptions, io: AnalyzeIo): Promise<FullReport> {
  const cfg = opts.config ? loadConfigFile(opts.config) : parseConfig({});
  const settings = detectionSettings(cfg);
  const inventoryFile = opts.inventory ?? cfg.inventory;
  let inventory: Inventory | undefined;
  if (inventoryFile) {
    const inv = loadInventoryFile(inventoryFile);
    for (const p of inv.problems.slice(0, 20)) io.stderr.write(`inventory: ${p}\n`);
    if (inv.cells.length === 0 && inv.problems.length > 0) throw new ConfigError(inv.problems.slice(0, 20));
    inventory = CellInventory.of(inv.cells);
  }

  const expected = expectedRecords(opts.samples);
  const cores = opts.threads ?? (availableParallelism() > 1 ? 2 : 1);
  // The second thread starts now when the file is surely big enough: it loads its modules while the
  // file is read. A compressed file's size says little: it starts after reading, if the samples are.
  let helper =
    cores > 1 && (opts.threads === 2 || expected >= PARALLEL_FROM) ? new PartWorker('analyze-part') : undefined;
  let result: AnalysisResult;
  let read: SampleFileResult;
  try {
    const cols = new SampleColumns(expected, cores > 1);
    const links: LinkSample[] = [];
    const bar = progress(io, 'samples');
    read = await readSamples(opts.samples, cols, links, helper, expected, (b, t) => bar.update(b, t));
    bar.done();
    if (read.error) throw new Error(`${opts.samples}: ${read.error}`);
    for (const w of read.warnings) io.stderr.write(`${opts.samples}: ${w}\n`);
    const input: AnalysisInput = { samples: cols, links, settings, ...(inventory ? { inventory } : {}) };
    if (!helper && cores > 1 && cols.length >= PARALLEL_FROM) helper = new PartWorker('analyze-part');
    result = helper ? await analyzeInParts(input, helper) : analyzeDetailed(input);
  } finally {
    await helper?.terminate();
  }
  const { report, windows } = result;
  const { complaints: _none, ...detection } = report;
  const full: FullReport = {
    ...detection,
    rejected: { samples: read.rejected, samplesCount: read.rejectedCount },
  };

  if (opts.complaints) {
    const list: Complaint[] = [];
    const cbar = progress(io, 'complaints');
    const cread = await readComplaintFile(
      opts.complaints,
      { add: (c) => void list.push(c) },
      { timeZone: cfg.timezone, onProgress: (b, t) => cbar.update(b, t) },
    );
    cbar.done();
    if (cread.error) throw new Error(`${opts.complaints}: ${cread.error}`);
    // Loaded only here: daemon/complaints.ts brings the record store with it.
    const { correlatorOptions } = await import('./complaints.js');
    // Everything is here at once: the bulk matcher (same outcomes as the live correlator, columns
    // inside), in two threads from 100,000 complaints unless --threads 1.
    const matched = await matchInThreads(
      inventory ?? CellInventory.empty,
      windows,
      list,
      correlatorOptions(cfg),
      opts.threads,
    );
    full.complaints = list.flatMap((c, i): ReportComplaint[] => {
      const o = matched.outcome(i);
      const category = c.category;
      if (o.status === 'added') {
        return [
          {
            id: o.id,
            category,
            explained: o.correlation.explained,
            score: o.correlation.score,
            windows: o.correlation.windows.map((m) => ({
              id: m.window,
              cell: m.cell,
              score: m.score,
              reason: m.reason,
            })),
          },
        ];
      }
      if (o.status === 'rejected')
        return [{ id: o.id, category, explained: false, score: 0, windows: [], rejected: o.message }];
      if (o.status === 'ignored') return [{ id: o.id, category, explained: false, score: 0, windows: [] }];
      return [];
    });
    full.rejected.complaints = cread.rejected;
    full.rejected.complaintsCount = cread.rejectedCount;
  }

  if (opts.out) writeFileSync(opts.out, JSON.stringify(full, null, 2) + '\n');
  io.stdout.write(summary(full, opts));
  return full;
}

/**
 * The sample file into the columns. A plain JSON-lines file is read by two threads when the worker is
 * there: it reads the second half (cut after a newline) into columns of its own while this thread
 * reads the first, and its rows, links and counts are then put after this thread's, renumbered — the
 * same columns and rejections as one thread reading the whole file (collectors/intake/files.ts,
 * `joinSampleRanges`). Reading is half of analyze's time, and this halves it on a free second core.
 * Compressed files and other formats are read here alone.
 */
export async function readSamples(
  path: string,
  cols: SampleColumns,
  links: LinkSample[],
  helper: PartWorker | undefined,
  expected: number,
  onProgress: FileProgress,
): Promise<SampleFileResult> {
  const sink = { add: (s: Sample) => cols.append(s), addLink: (l: LinkSample) => links.push(l) };
  // Only a regular file can be read at two places at once (a pipe, /dev/stdin from one, cannot).
  const seekable = helper !== undefined && !path.endsWith('.gz') && regularFile(path);
  const ranges = seekable && (await sampleFileFormat(path)) === 'jsonl' ? jsonlRanges(path) : [];
  if (!helper || ranges.length !== 2) return readSampleFile(path, sink, { onProgress });
  const [mine, theirs] = ranges as [FileRange, FileRange];
  const size = theirs.end;
  const progress = new Float64Array(new SharedArrayBuffer(8));
  const capacity = Math.ceil((expected * (theirs.end - theirs.start)) / size) + 1024;
  helper.post({ kind: 'read', job: { path, range: theirs, capacity, progress } satisfies ReadJob });
  const reader = new SampleRangeReader(sink);
  await reader.read(path, mine, (b) => onProgress(b + progress[0]!, size));
  const first = reader.finish();
  const second = await helper.next<Extract<PartMessage, { kind: 'read' }>>('read');
  const joined = joinSampleRanges(first, second.result);
  if (joined) {
    cols.appendColumns(SampleColumns.fromState(second.columns));
    for (const l of second.links) links.push(l);
    return joined;
  }
  // The second half saw more distinct unknown field names than are counted: only reading it after
  // the first counts them as one reader would. Rare enough (a garbage file) to pay for twice.
  await reader.read(path, theirs, (b) => onProgress(b, size));
  return sampleRangesResult(reader.finish());
}

function regularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** From this many samples (about 50 MB of JSON lines) the analysis runs in two threads. */
const PARALLEL_FROM = 200_000;

/**
 * The analysis in parts by cell, shared between this thread and a worker: the cells are cut into
 * `CHUNKS` ranges of about equal samples, and each thread takes the next range not yet taken (a
 * shared counter) until none is left — a thread that runs slower (its share of a loaded machine, the
 * reader's garbage) simply takes fewer. Each range is its own Detector over shared columns (no
 * copy); the report is put together as one Detector's would be (correlator/analysis.ts,
 * `AnalysisPlan`). Worth it from a few hundred thousand samples: analysing costs about as much as
 * reading the file, and a second core halves it.
 */
async function analyzeInParts(input: AnalysisInput, helper: PartWorker): Promise<AnalysisResult> {
  const plan = planAnalysis(input);
  const bounds = [0];
  for (let k = 1; k < CHUNKS; k++) {
    const rows = (plan.cols.length * k) / CHUNKS;
    let c = bounds[bounds.length - 1]!;
    while (c < plan.cells.length && plan.cells[c]!.from < rows) c++;
    if (c > bounds[bounds.length - 1]! && c < plan.cells.length) bounds.push(c);
  }
  bounds.push(plan.cells.length);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const job: PartJob = {
    columns: plan.cols.state(),
    order: plan.order,
    cells: plan.cells,
    bounds,
    next,
    span: plan.span,
    inputSettings: input.settings,
    settings: plan.settings,
    links: plan.links,
    ...(input.inventory ? { inventory: [...input.inventory.cells] } : {}),
    ...(input.history ? { history: [...input.history] } : {}),
  };
  helper.post({ kind: 'run', job });
  const mine = runTakenParts(plan, bounds, next);
  const theirs = await helper.next<{ runs: { i: number; days: string[]; newest: number }[] }>('ran');
  const runs = [...mine, ...theirs.runs];
  const days = allDays(runs);
  const newest = Math.max(...runs.map((r) => r.newest));
  helper.post({ kind: 'finish', days, newest });
  const results: PartResult[] = [];
  for (const m of mine) results[m.i] = m.part.finish(days, newest);
  const done = await helper.next<{ results: { i: number; result: PartResult }[] }>('done');
  for (const r of done.results) results[r.i] = r.result;
  return assembleReport(plan, results);
}

/** Ranges of cells the two threads share out: enough to even out a slower thread, few enough that each Detector's fixed costs (the links) stay small. */
const CHUNKS = 8;

/**
 * About how many records a plain-text file holds, from the line length of its first 256 KiB: the
 * columns are sized once instead of doubling (at 5.76 M samples the last doubling alone held 1.4 GB
 * of old and new columns at once). Compressed or tiny files: a small start, grown as needed.
 */
export function expectedRecords(path: string): number {
  if (path.endsWith('.gz')) return 1024;
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size, 256 * 1024));
      const n = readSync(fd, buf, 0, buf.length, 0);
      let lines = 0;
      for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
      return lines > 0 ? Math.ceil((size / (n / lines)) * 1.02) + 1024 : 1024;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 1024;
  }
}

function pct(x: number | null): string {
  return x === null ? '   –  ' : `${(x * 100).toFixed(1).padStart(5)}%`;
}

/** What a person reads after a run: input, windows by cause, the target per region and day, worst cells. */
export function summary(r: FullReport, opts: Pick<AnalyzeOptions, 'out'> = {}): string {
  const lines: string[] = [];
  lines.push(
    `samples: ${r.input.samples.toLocaleString('en-US')} from ${r.input.cells} cells, ${r.input.links} link samples, ${r.input.from ?? '–'} … ${r.input.to ?? '–'}` +
      (r.rejected.samplesCount ? `; ${r.rejected.samplesCount} rows rejected` : '') +
      (r.input.duplicates ? `; ${r.input.duplicates} duplicates ignored` : ''),
  );
  for (const rej of r.rejected.samples.slice(0, 5))
    lines.push(`  line ${rej.line ?? rej.index + 1}${rej.field ? ` ${rej.field}` : ''}: ${rej.error}`);
  const causes = Object.entries(r.summary.windowsByCause).filter(([, n]) => n > 0);
  lines.push(
    `windows: ${r.windows.length}${causes.length ? ` (${causes.map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`,
  );
  const regional = r.targets.filter((t) => t.scope !== 'cell');
  if (regional.length > 0) {
    lines.push('target (good-experience share at peak hours, goal ' + pct(regional[0]!.goal).trim() + '):');
    lines.push('  day         scope    id            ratio   users  coverage  status');
    for (const t of regional) {
      lines.push(
        `  ${t.day}  ${t.scope.padEnd(7)}  ${t.id.padEnd(12)}  ${pct(t.ratio)}  ${String(Math.round(t.users)).padStart(6)}  ${pct(t.coverage)}    ${t.status}`,
      );
    }
  }
  if (r.summary.worstCells.length > 0) {
    lines.push(
      'worst cells: ' +
        r.summary.worstCells
          .slice(0, 10)
          .map((c) => `${c.id} ${pct(c.ratio).trim()} (${c.day})`)
          .join(', '),
    );
  }
  if (r.complaints) {
    const network = r.complaints.filter((c) => c.category === 'network' && !c.rejected);
    const explained = network.filter((c) => c.explained).length;
    lines.push(`complaints: ${r.complaints.length}, network ${network.length}, explained by the network ${explained}`);
  }
  if (opts.out) lines.push(`report: ${opts.out}`);
  return lines.join('\n') + '\n';
}

function threadsFlag(v: string): number {
  const n = Number(v);
  if (n !== 1 && n !== 2) throw new InvalidArgumentError('1 or 2');
  return n;
}

export function registerAnalyzeCommand(program: Command, fail: (err: unknown) => never): void {
  program
    .command('analyze')
    .description('run the correlator over sample (and complaint) files, no daemon: windows, targets, matches')
    .requiredOption('--samples <file>', 'samples: .jsonl, .csv or line protocol (.lp), optionally .gz; any order')
    .option('--complaints <file>', 'complaints: CSV or JSON lines')
    .option('--inventory <file>', 'cells CSV (default: the config file’s inventory)')
    .option('-c, --config <file>', 'config file for thresholds, peak hours and time zone')
    .option('--out <file>', 'write the full report as JSON')
    .option(
      '--threads <n>',
      'threads for the read, the analysis and the complaint match, 1 or 2 (default: 2 from 200,000 samples, 100,000 complaints)',
      threadsFlag,
    )
    .action(async (opts: AnalyzeOptions) => {
      try {
        await runAnalyze(opts, { stdout: process.stdout, stderr: process.stderr });
      } catch (err) {
        fail(err);
      }
    });
}
