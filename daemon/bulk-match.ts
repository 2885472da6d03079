import { availableParallelism } from 'node:os';
import {
  BULK_RANGE,
  BulkCorrelations,
  BulkScanner,
  matchInBulk,
  planBulk,
  readComplaints,
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
 * with more than one core. This one makes the plan (the windows as columns in shared buffers) and
 * hands it to a worker, then reads the complaints into it — duplicates and rejections settled, the
 * rest as columns; only this thread can read the complaint objects. The worker scans each range of
 * complaints as soon as it is read; once all are read this thread scans too, each taking the next
 * range not yet taken until none is left. The worker starts first, so it loads its modules while the
 * windows are laid out. Same outcomes as one thread, complaint by complaint (a test holds them equal).
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
    const size = complaints.length;
    const prepared = planBulk(inventory, windows, size, options, true);
    const next = new Int32Array(new SharedArrayBuffer(4));
    helper.post({ plan: prepared.plan, cells: inventory.cells, size, next } satisfies MatchJob);
    // The worker scans each range as soon as it is read here; then this thread scans too.
    readComplaints(prepared, inventory, complaints);
    const mine = scanTakenRanges(new BulkScanner(inventory, prepared.plan), size, next);
    const theirs = await helper.next<Extract<MatchMessage, { kind: 'scanned' }>>('scanned');
    const ranges: Int32Array[] = new Array<Int32Array>(Math.ceil(size / BULK_RANGE));
    for (const x of [...mine, ...theirs.ranges]) ranges[x.r] = x.listed;
    return new BulkCorrelations(complaints, prepared, ranges, inventory, options);
  } finally {
    await helper.terminate();
  }
}
