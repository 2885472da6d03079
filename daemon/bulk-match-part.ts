/**
 * The worker thread of a bulk complaint match split by ranges of complaints (daemon/bulk-match.ts):
 * the plan arrives as shared buffers (no copy); it takes ranges from a counter shared with the main
 * thread, scans them, and answers with each range's listed windows (transferred, not copied).
 */
import { parentPort } from 'node:worker_threads';
import { CellInventory } from '../config/inventory.js';
import { BulkScanner, scanTakenRanges, type BulkPlan } from '../correlator/complaints/index.js';
import type { Cell } from '../model/index.js';

/** What the main thread sends. */
export interface MatchJob {
  plan: BulkPlan;
  /** The inventory's cells: the worker builds the same inventory, so cell and site numbers agree. */
  cells: readonly Cell[];
  size: number;
  next: Int32Array;
}

export type MatchMessage =
  { kind: 'scanned'; ranges: { r: number; listed: Int32Array }[] } | { kind: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('daemon/bulk-match-part.js runs as a worker thread of a bulk complaint match');

port.on('message', (job: MatchJob) => {
  try {
    const scanner = new BulkScanner(CellInventory.of(job.cells), job.plan);
    const ranges = scanTakenRanges(scanner, job.size, job.next);
    port.postMessage(
      { kind: 'scanned', ranges } satisfies MatchMessage,
      ranges.map((x) => x.listed.buffer as ArrayBuffer),
    );
  } catch (err) {
    port.postMessage({ kind: 'error', message: (err as Error).stack ?? String(err) } satisfies MatchMessage);
  }
  port.close();
});
