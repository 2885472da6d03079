import { availableParallelism } from 'node:os';
import {
  BULK_RANGE,
  BulkCorrelations,
  BulkScanner,
  matchInBulk,
  prepareBulk,
  scanTakenRanges,
  type CorrelatorOptions,
} from '../correlator/complaints/index.js';
import type { Complaint, Inventory, Window } from '../model/index.js';
import type { MatchJob, MatchMessage } from './bulk-match-part.js';
import { PartWorker } from './part-worker.js';

/** From this many complaints the scan is shared with a second thread (below, starting one costs more than it saves). */
export const THREADED_FROM = 100_000;

/**
 * Correlates every complaint with the windows, as `matchInBulk` does, in two threads on a machine
 * with more than one core: this one prepares the plan (duplicates, rejections, complaints and windows
 * as columns in shared buffers; it alone reads the complaint objects), then both scan ranges of
 * complaints, each taking the next range not yet taken until none is left. The worker starts first,
 * so it loads its modules while the plan is made. Same outcomes as one thread, complaint by
 * complaint (a test holds them equal).
 */
export async function matchInThreads(
  inventory: Inventory,
  windows: readonly Window[],
  complaints: readonly Complaint[],
  options: Partial<CorrelatorOptions> = {},
  threads = complaints.length >= THREADED_FROM && availableParallelism() > 1 ? 2 : 1,
): Promise<BulkCorrelations> {
  if (threads < 2) return matchInBulk(inventory, windows, complaints, options);
  const helper = new PartWorker('bulk-match-part');
  try {
    const prepared = prepareBulk(inventory, windows, complaints, options, true);
    const next = new Int32Array(new SharedArrayBuffer(4));
    const size = complaints.length;
    helper.post({ plan: prepared.plan, cells: inventory.cells, size, next } satisfies MatchJob);
    const mine = scanTakenRanges(new BulkScanner(inventory, prepared.plan), size, next);
    const theirs = await helper.next<Extract<MatchMessage, { kind: 'scanned' }>>('scanned');
    const ranges: Int32Array[] = new Array<Int32Array>(Math.ceil(size / BULK_RANGE));
    for (const x of [...mine, ...theirs.ranges]) ranges[x.r] = x.listed;
    return new BulkCorrelations(complaints, prepared, ranges, inventory, options);
  } finally {
    await helper.terminate();
  }
}
