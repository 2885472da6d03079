/**
 * The worker thread of a `cellwatch analyze` split in two. First, for a big JSON-lines file, it may
 * read the file's second half into columns of its own (shared buffers: the main thread appends them
 * after its own half, nothing is cloned through messages). Then the analysis split by cell: the
 * columns arrive as shared buffers (no copy); it takes ranges of cells (a counter shared with the
 * main thread), runs each through its own Detector, and answers twice — the days each range has sums
 * for, then (told every range's days) their sums, windows and cells. See daemon/analyze.ts.
 */
import { parentPort } from 'node:worker_threads';
import { SampleRangeReader, type FileRange, type SampleRangeResult } from '../collectors/intake/index.js';
import { CellInventory } from '../config/inventory.js';
import {
  SampleColumns,
  runTakenParts,
  type AnalysisPart,
  type AnalysisPlan,
  type ColumnsState,
  type DetectionSettings,
  type HourlyMean,
  type PartResult,
} from '../correlator/index.js';
import type { Cell, LinkSample } from '../model/index.js';

/** What the main thread sends a part. */
export interface PartJob {
  columns: ColumnsState;
  order: Uint32Array;
  cells: AnalysisPlan['cells'];
  /** Ranges of cells: range i is cells[bounds[i]..bounds[i + 1]). */
  bounds: number[];
  /** The next range not yet taken, shared with the main thread (Atomics). */
  next: Int32Array;
  span: AnalysisPlan['span'];
  /** As given, and as the plan runs them (every day kept). */
  inputSettings: DetectionSettings;
  settings: DetectionSettings;
  links: LinkSample[];
  inventory?: Cell[];
  history?: HourlyMean[];
}

/** What the main thread sends for the second half of a file. */
export interface ReadJob {
  path: string;
  range: FileRange;
  /** Rows the columns are sized for (about the range's samples). */
  capacity: number;
  /** Bytes read so far, for the main thread's progress bar. */
  progress: Float64Array;
}

export type PartMessage =
  | { kind: 'read'; result: SampleRangeResult; columns: ColumnsState; links: LinkSample[] }
  | { kind: 'ran'; runs: { i: number; days: string[]; newest: number }[] }
  | { kind: 'done'; results: { i: number; result: PartResult }[] }
  | { kind: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('daemon/analyze-part.js runs as a worker thread of cellwatch analyze');

const parts: { i: number; part: AnalysisPart }[] = [];
type Job =
  { kind: 'read'; job: ReadJob } | { kind: 'run'; job: PartJob } | { kind: 'finish'; days: string[]; newest: number };

async function readRange(j: ReadJob): Promise<void> {
  const cols = new SampleColumns(j.capacity, true);
  const links: LinkSample[] = [];
  const reader = new SampleRangeReader({ add: (s) => cols.append(s), addLink: (l) => links.push(l) });
  await reader.read(j.path, j.range, (b) => (j.progress[0] = b));
  const result = reader.finish();
  port!.postMessage({ kind: 'read', result, columns: cols.state(), links } satisfies PartMessage);
}

const fail = (err: unknown) =>
  port.postMessage({ kind: 'error', message: (err as Error).stack ?? String(err) } satisfies PartMessage);

port.on('message', (msg: Job) => {
  try {
    if (msg.kind === 'read') readRange(msg.job).catch(fail);
    else if (msg.kind === 'run') {
      const j = msg.job;
      const cols = SampleColumns.fromState(j.columns);
      const inventory = j.inventory ? CellInventory.of(j.inventory) : undefined;
      const plan: AnalysisPlan = {
        input: {
          samples: cols,
          settings: j.inputSettings,
          ...(j.links.length ? { links: j.links } : {}),
          ...(inventory ? { inventory } : {}),
          ...(j.history ? { history: j.history } : {}),
        },
        cols,
        span: j.span,
        settings: j.settings,
        links: j.links,
        order: j.order,
        cells: j.cells,
      };
      const taken = runTakenParts(plan, j.bounds, j.next);
      parts.push(...taken);
      const runs = taken.map(({ i, days, newest }) => ({ i, days, newest }));
      port.postMessage({ kind: 'ran', runs } satisfies PartMessage);
    } else {
      const results = parts.map(({ i, part }) => ({ i, result: part.finish(msg.days, msg.newest) }));
      port.postMessage({ kind: 'done', results } satisfies PartMessage);
      port.close();
    }
  } catch (err) {
    fail(err);
  }
});
