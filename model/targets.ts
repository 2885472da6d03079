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
}
