/**
 * The 95% target: the user-weighted share of good experience at peak hours, per cell, region and
 * network, per local day.
 *
 * The rules:
 * - ratio = good user-seconds / user-seconds with known experience, over the peak samples of the
 *   counter streams;
 * - beside it, the **probe** ratio: probes are point tests with no users, so each test with known
 *   experience counts once (a failed test is a bad one) — good tests / tests over the same peak, its
 *   Wilson interval over the tests, `insufficient-data` below `minProbeTests`; counters meeting the
 *   goal while probes miss it is a `disagreement` (the users' stand-ins see what the counters do not);
 * - a down cell's interval counts the users its baseline expects as not good; a silent failure's
 *   users who could not attach likewise (interval.ts);
 * - users = mean concurrent users counted = known user-seconds / peak seconds, summed over the
 *   scope's cells (each over its own peak: busy hours differ by cell);
 * - coverage = known interval seconds / (cells × peak seconds): cells of the inventory with no data
 *   at all lower it; without an inventory the cells are those with data that day;
 * - interval: 95% Wilson interval with the Kish effective sample size n = (Σw)² / Σw² over
 *   cell-intervals — all users of one cell-interval share one classification, so they are not
 *   independent draws, and counting them as such would make the interval absurdly narrow;
 * - status: `insufficient-data` when users < minUsers or coverage < minCoverage (or nothing known),
 *   else `met` (ratio ≥ goal) or `missed`;
 * - a cell without a region (no inventory, or not in it) counts for the network only;
 * - each cell's sums are added in time order, and scopes sum cells in id order: the same samples
 *   give the same figures in any arrival order.
 */
import type { Interval } from './interval.js';

/** Per slot: good user-seconds, known user-seconds, Σ (cell-interval weight)², known seconds, intervals. */
export const DAY_FIELDS = 5;
const GOOD = 0;
const KNOWN = 1;
const W2 = 2;
const KNOWN_S = 3;
const N = 4;

import type { ProbeTargetResult, TargetResult, TargetScope, TargetStatus } from '../model/index.js';

export type { ProbeTargetResult, TargetResult, TargetScope, TargetStatus } from '../model/index.js';

export interface TargetSums {
  good: number;
  known: number;
  w2: number;
  knownS: number;
  intervals: number;
  /** Peak seconds of all cells in scope (the coverage denominator). */
  peakS: number;
  /** Mean concurrent users counted: Σ over cells of their known user-seconds / their peak seconds. */
  users: number;
  cells: number;
}

export function emptySums(): TargetSums {
  return { good: 0, known: 0, w2: 0, knownS: 0, intervals: 0, peakS: 0, users: 0, cells: 0 };
}

/** Adds an interval to a day accumulator slot. */
export function accumulate(acc: Float64Array, slot: number, iv: Interval): void {
  const o = slot * DAY_FIELDS;
  if (iv.knownWeight > 0 || iv.experience !== 'unknown') {
    acc[o + GOOD]! += iv.goodWeight;
    acc[o + KNOWN]! += iv.knownWeight;
    acc[o + W2]! += iv.knownWeight * iv.knownWeight;
    acc[o + KNOWN_S]! += iv.intervalS;
  }
  acc[o + N]! += 1;
}

/** Adds a probe test to a day accumulator slot: weight 1 per test with known experience. */
export function accumulateTest(acc: Float64Array, slot: number, iv: Interval): void {
  const o = slot * DAY_FIELDS;
  if (iv.experience !== 'unknown') {
    acc[o + GOOD]! += iv.experience === 'good' ? 1 : 0;
    acc[o + KNOWN]! += 1;
    acc[o + W2]! += 1;
    acc[o + KNOWN_S]! += iv.intervalS;
  }
  acc[o + N]! += 1;
}

/** Adds a slot of a day accumulator (or nothing, for a cell without data) to scope sums. */
export function addSlot(sums: TargetSums, acc: Float64Array | undefined, slot: number, peakS: number): void {
  sums.cells++;
  sums.peakS += peakS;
  if (!acc) return;
  const o = slot * DAY_FIELDS;
  sums.good += acc[o + GOOD]!;
  sums.known += acc[o + KNOWN]!;
  sums.w2 += acc[o + W2]!;
  sums.knownS += acc[o + KNOWN_S]!;
  sums.intervals += acc[o + N]!;
  if (peakS > 0) sums.users += acc[o + KNOWN]! / peakS;
}

/** 95% Wilson score interval for a share p over n (effective) trials. */
export function wilson(p: number, n: number, z = 1.959964): [number, number] {
  if (!(n > 0)) return [0, 1];
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Kish's effective sample size of a weighted sample: (Σw)² / Σw². */
export function kishN(sumW: number, sumW2: number): number {
  return sumW2 > 0 ? (sumW * sumW) / sumW2 : 0;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

export interface TargetRule {
  goal: number;
  minUsers: number;
  minCoverage: number;
}

export function targetResult(
  sums: TargetSums,
  rule: TargetRule,
  head: { day: string; scope: TargetScope; id: string; final: boolean },
): TargetResult {
  const ratio = sums.known > 0 ? sums.good / sums.known : null;
  const users = sums.users;
  const coverage = sums.peakS > 0 ? Math.min(1, sums.knownS / sums.peakS) : 0;
  const interval =
    ratio === null ? null : (wilson(ratio, kishN(sums.known, sums.w2)).map((x) => round(x, 4)) as [number, number]);
  const status: TargetStatus =
    ratio === null || users < rule.minUsers || coverage < rule.minCoverage
      ? 'insufficient-data'
      : ratio >= rule.goal
        ? 'met'
        : 'missed';
  return {
    ...head,
    ratio: ratio === null ? null : round(ratio, 5),
    goal: rule.goal,
    users: round(users, 2),
    coverage: round(coverage, 4),
    interval,
    status,
    cells: sums.cells,
  };
}

/** Day accumulators per local day and cell, bounded by the caller's pruning. */
export class DayBook {
  private readonly days = new Map<number, Map<string, Float64Array>>();

  constructor(readonly slots: number) {}

  /** The accumulator of a cell's day, created empty (a cell with data that day counts for coverage). */
  touch(day: number, cell: string): Float64Array {
    let cells = this.days.get(day);
    if (!cells) this.days.set(day, (cells = new Map()));
    let acc = cells.get(cell);
    if (!acc) cells.set(cell, (acc = new Float64Array(this.slots * DAY_FIELDS)));
    return acc;
  }

  get(day: number, cell: string): Float64Array | undefined {
    return this.days.get(day)?.get(cell);
  }

  /** Cells with an accumulator on the day, sorted. */
  cells(day: number): string[] {
    return [...(this.days.get(day)?.keys() ?? [])].sort();
  }

  dayNumbers(): number[] {
    return [...this.days.keys()].sort((a, b) => a - b);
  }

  prune(before: number): void {
    for (const d of this.days.keys()) if (d < before) this.days.delete(d);
  }

  snapshot(): { day: number; cell: string; values: number[] }[] {
    const out: { day: number; cell: string; values: number[] }[] = [];
    for (const d of this.dayNumbers())
      for (const [cell, acc] of [...this.days.get(d)!].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
        out.push({ day: d, cell, values: Array.from(acc) });
    return out;
  }

  restore(rows: readonly { day: number; cell: string; values: readonly number[] }[]): void {
    for (const r of rows) {
      const acc = this.touch(r.day, r.cell);
      if (r.values.length === acc.length) acc.set(r.values);
    }
  }
}

/** The probe ratio of a scope from its test sums (`accumulateTest`), judged against the same goal. */
export function probeResult(sums: TargetSums, goal: number, minTests: number): ProbeTargetResult {
  const tests = sums.known;
  const ratio = tests > 0 ? sums.good / tests : null;
  return {
    ratio: ratio === null ? null : round(ratio, 5),
    tests,
    good: sums.good,
    interval: ratio === null ? null : (wilson(ratio, tests).map((x) => round(x, 4)) as [number, number]),
    status: ratio === null || tests < minTests ? 'insufficient-data' : ratio >= goal ? 'met' : 'missed',
    cells: sums.cells,
  };
}

/** Counters fine, probes bad: the one disagreement that is a signal of its own. */
export function disagrees(counters: TargetStatus, probes: TargetStatus): boolean {
  return counters === 'met' && probes === 'missed';
}
