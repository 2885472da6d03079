/**
 * One part of a `cellwatch analyze` split by cell, in a worker thread: the columns arrive as shared
 * buffers (no copy), the part runs its cells through its own Detector, and answers twice — the days
 * it has sums for, then (told every part's days) its sums, windows and cells. See daemon/analyze.ts.
 */
import { parentPort } from 'node:worker_threads';
import { CellInventory } from '../config/inventory.js';
import {
  AnalysisPart,
  SampleColumns,
  type AnalysisPlan,
  type ColumnsState,
  type DetectionSettings,
  type HourlyMean,
} from '../correlator/index.js';
import type { Cell, LinkSample } from '../model/index.js';

/** What the main thread sends a part. */
export interface PartJob {
  columns: ColumnsState;
  order: Uint32Array;
  cells: AnalysisPlan['cells'];
  from: number;
  to: number;
  span: AnalysisPlan['span'];
  /** As given, and as the plan runs them (every day kept). */
  inputSettings: DetectionSettings;
  settings: DetectionSettings;
  links: LinkSample[];
  inventory?: Cell[];
  history?: HourlyMean[];
}

export type PartMessage = { kind: 'ran'; days: string[]; newest: number } | { kind: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('daemon/analyze-part.js runs as a worker thread of cellwatch analyze');

let part: AnalysisPart | undefined;
port.on('message', (msg: { kind: 'run'; job: PartJob } | { kind: 'finish'; days: string[]; newest: number }) => {
  try {
    if (msg.kind === 'run') {
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
      part = new AnalysisPart(plan, j.from, j.to);
      const ran = part.run();
      port.postMessage({ kind: 'ran', ...ran } satisfies PartMessage);
    } else {
      if (!part) throw new Error('finish before run');
      port.postMessage({ kind: 'done', result: part.finish(msg.days, msg.newest) });
      port.close();
    }
  } catch (err) {
    port.postMessage({ kind: 'error', message: (err as Error).stack ?? String(err) } satisfies PartMessage);
  }
});
