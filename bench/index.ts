/**
 * Benchmarks. Every case measures cellwatch and a baseline *in the same run* on the same machine
 * (snmpbulkwalk, curl into InfluxDB, a naive algorithm), so a figure is always read beside what the
 * machine could do at that moment. `npm run bench` runs the cases, prints one table and writes it to
 * docs/benchmarks.md.
 *
 * Speed is measured here, never asserted in timed tests.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface BenchRow {
  /** Case name, e.g. "snmp: ifXTable 5k rows walk". */
  case: string;
  /** What is measured and its unit, e.g. "wall s", "points/s". */
  metric: string;
  ours: number;
  /** Baseline label, e.g. "snmpbulkwalk". Absent for absolute targets with no natural baseline. */
  baseline?: string;
  baselineValue?: number;
  /** true when larger is better (throughput), false when smaller is better (time, memory). */
  higherIsBetter: boolean;
  /** The target, as text: "≤ 1.0× snmpbulkwalk", "≥ 1,000,000 points/s". */
  target?: string;
  /** Whether the target was met, when it can be judged from this row. */
  met?: boolean;
  note?: string;
}

export interface BenchContext {
  /** Quick mode (`npm run bench -- --quick`): smaller sizes, for a smoke run. */
  quick: boolean;
  log(message: string): void;
}

export interface BenchCase {
  name: string;
  /** Services the case needs (e.g. ['influxd', 'snmpd']); missing ones skip the case with a note. */
  needs?: string[];
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/**
 * A full garbage collection, for cases that read retained memory, or that must not charge the
 * garbage their setup left behind to the code they time.
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** ours / baseline, as the issues phrase their targets ("wall time ≤ 1.0× snmpbulkwalk"). */
export function ratio(row: BenchRow): number | undefined {
  if (row.baselineValue === undefined || row.baselineValue === 0) return undefined;
  return row.ours / row.baselineValue;
}

/** The middle value (upper middle for even counts): what the cases report for repeated timings. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}
