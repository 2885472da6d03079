/** What a good-experience ratio is computed over. */
export type TargetScope = 'network' | 'region' | 'cell';
export type TargetStatus = 'met' | 'missed' | 'insufficient-data';

/**
 * The 95% target for one scope and local day: the user-weighted share of good experience during the
 * peak hours, with what it rests on. Produced by the correlator, kept by the record store, served by
 * `GET /api/v1/targets`, watched by the alerts.
 */
export interface TargetResult {
  /** Local day, YYYY-MM-DD. */
  day: string;
  scope: TargetScope;
  /** `network`, a region id, or a cell id. */
  id: string;
  /** Good share of the users counted; null when no experience was known. */
  ratio: number | null;
  goal: number;
  /** Mean concurrent users counted during the peak. */
  users: number;
  /** Share of the peak time (of all cells in scope) covered by samples with known experience. */
  coverage: number;
  /** 95% Wilson interval of the ratio (Kish effective n); null without data. */
  interval: [number, number] | null;
  status: TargetStatus;
  /** The day is over (and late data can no longer change it). */
  final: boolean;
  /** Cells in scope (for a cell: 1). */
  cells: number;
  /** Busy-hour mode, cell scope: the hour that was the peak. */
  busyHour?: number;
  /** What the probes in scope measured over the same peak: present when there were probe tests. */
  probes?: ProbeTargetResult;
  /**
   * Counters meet the goal while the probes miss it: the cells say they carry traffic well, the users'
   * stand-ins say they do not (a silent failure the counters cannot see, a core or DNS problem).
   */
  disagreement?: boolean;
}

/** The probe-based ratio beside the counter-based one: each probe test is one user's attempt. */
export interface ProbeTargetResult {
  /** Good tests / tests with known experience during the peak; null without any. */
  ratio: number | null;
  tests: number;
  good: number;
  /** 95% Wilson interval over the tests. */
  interval: [number, number] | null;
  /** `insufficient-data` below `target.minProbeTests` tests, else met or missed against the same goal. */
  status: TargetStatus;
  /** Cells in scope with probe tests that day. */
  cells: number;
}
