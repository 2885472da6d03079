/**
 * The shared vocabulary of cellwatch. Everything here is plain data: no I/O, no clock, no classes,
 * so every stage of the pipeline (collectors → store → correlator → alerts) can exchange these values
 * and every test can build them by hand.
 *
 * Times are epoch milliseconds (UTC) of *event time*: a sample's own timestamp, never its arrival time.
 */
export type EpochMs = number;

/** A radio cell as the inventory knows it. */
export interface Cell {
  id: string;
  site: string;
  region: string;
  lat: number;
  lon: number;
  /** Ids of neighbouring cells (used for complaint matching). */
  neighbours: string[];
  /** Free-form vendor/technology label, e.g. "LTE1800". Optional. */
  tech?: string;
  /** Antenna azimuth, degrees clockwise from north: which way the sector points (complaint matching). */
  azimuth?: number;
  /**
   * Row index of this cell in its site's SNMP cell table, for vendor profiles whose table has no
   * cell-id column (the row is then mapped through the inventory: target site + index → cell).
   */
  snmpIndex?: number;
}

/** Where a sample came from: the collector that produced it. */
export type SampleSource = 'snmp' | 'probe' | 'push' | 'sim' | 'import';

/**
 * One cell over one collection interval (or one probe test). Every KPI is optional: a missing value
 * is *unknown*, which the correlator reports as coverage, never as good or bad.
 */
export interface Sample {
  cell: string;
  ts: EpochMs;
  source: SampleSource;
  /** Length of the interval this sample describes, in seconds (absent for point-in-time probes). */
  intervalS?: number;
  /** Mean per-user downlink / uplink throughput, Mbit/s. */
  dlMbps?: number;
  ulMbps?: number;
  latencyMs?: number;
  rsrpDbm?: number;
  rsrqDb?: number;
  sinrDb?: number;
  prbUtilPct?: number;
  /** Mean number of active users over the interval. */
  activeUsers?: number;
  available?: boolean;
  /** Carried volume over the interval, megabytes. */
  dlVolumeMB?: number;
  ulVolumeMB?: number;
}

/** The numeric KPI fields of a Sample, in a stable order (schema, CSV, line protocol all use it). */
export const SAMPLE_NUMERIC_FIELDS = [
  'dlMbps',
  'ulMbps',
  'latencyMs',
  'rsrpDbm',
  'rsrqDb',
  'sinrDb',
  'prbUtilPct',
  'activeUsers',
  'dlVolumeMB',
  'ulVolumeMB',
] as const satisfies readonly (keyof Sample)[];
export type SampleNumericField = (typeof SAMPLE_NUMERIC_FIELDS)[number];

/** A transport (backhaul) link over one collection interval, from IF-MIB. */
export interface LinkSample {
  /** Link id: `<target>:<ifIndex>` unless the inventory names it. */
  link: string;
  /** The site this link serves (backhaul cause needs it). */
  site: string;
  ts: EpochMs;
  source: SampleSource;
  intervalS?: number;
  inMbps?: number;
  outMbps?: number;
  /** ifHighSpeed, Mbit/s. */
  speedMbps?: number;
  /** max(in, out) / speed, percent. */
  utilPct?: number;
  operUp?: boolean;
  inErrors?: number;
  outErrors?: number;
}

/**
 * A stretch of time in which a collection target gave no data. It is *not* a degraded cell: the
 * network may be fine and only the collector blind. Alerts raise it as a monitoring problem.
 */
export interface CollectionGap {
  target: string;
  /** Cells (or links) this target was expected to report. */
  cells: string[];
  /** Event time of the missed poll. */
  ts: EpochMs;
  /** `probe-host`: the probe host itself could not test (its uplink or resolver is down), not the network. */
  reason: 'timeout' | 'unreachable' | 'auth' | 'error' | 'counter-reset' | 'skipped-overlap' | 'probe-host';
  detail?: string;
}

export type Experience = 'good' | 'bad' | 'unknown';

/**
 * Why a cell is degraded, in the order the correlator tries them (first match wins): the cell is
 * down; its site's transport link is saturated or down; the signal is weak; the signal is fine but
 * drowned in interference; the cell is full; the cell says it is fine while its users and traffic
 * vanish (a silent failure, a "sleeping cell"); none of these.
 */
export type Cause = 'outage' | 'backhaul' | 'coverage' | 'interference' | 'congestion' | 'silent-failure' | 'unknown';

/** Which samples a window (or a target) was computed from: network counters, or active probes. */
export type SampleStream = 'counters' | 'probes';

/** One KPI that made intervals bad: its worst value and what it was judged against. */
export interface KpiEvidence {
  /** `trafficMbps`: carried volume as a rate, (dlVolumeMB + ulVolumeMB) · 8 / intervalS (silent failures). */
  kpi: SampleNumericField | 'available' | 'trafficMbps';
  /** Worst value over the window's bad intervals (for `available`: 0 = down). */
  worst: number;
  /** The absolute threshold breached, when that was the test. */
  threshold?: number;
  /** The baseline median, when the test was a relative drop. */
  baseline?: number;
  /** The most negative robust z against that baseline. */
  z?: number;
  /** Bad intervals in which this KPI breached. */
  intervals: number;
}

/** What the cause was concluded from: the KPIs that breached, and for backhaul the link. */
export interface WindowEvidence {
  kpis: KpiEvidence[];
  link?: { link: string; operUp?: boolean; utilPct?: number };
  /** Bad, good and unknown intervals inside the window. */
  badIntervals: number;
  goodIntervals: number;
  unknownIntervals: number;
}

/**
 * A degradation window on one cell: opened after consecutive bad intervals, closed after good ones.
 * A sample at `ts` with `intervalS` covers [ts − intervalS, ts); the window spans from the start of
 * its first bad interval to the end of its last one.
 */
export interface Window {
  /** Deterministic: the same samples give the same id, in any order. */
  id: string;
  cell: string;
  site?: string;
  region?: string;
  stream: SampleStream;
  start: EpochMs;
  /** Absent while the window is open. */
  end?: EpochMs;
  /** End of the last bad interval seen so far (equals `end` once closed). */
  lastBad: EpochMs;
  cause: Cause;
  /** 0..1: at least 0.5 when users had a bad experience in it (depth × share of users), below when only KPIs drifted. */
  severity: number;
  /** Estimated users affected: the most users in one bad interval (an outage counts the users its baseline expects). */
  usersAffected: number;
  /** User-minutes of bad experience. */
  userMinutes: number;
  /** Worst value of each KPI over the bad intervals. */
  worst: Partial<Record<SampleNumericField, number>>;
  evidence: WindowEvidence;
  remediation: string;
}

export type WindowChange = 'opened' | 'changed' | 'closed' | 'retracted';

/**
 * A window's update, for the alerts and the stream. `at` is event time: the sample time that caused
 * it. `retracted` means late data showed the window never was (or that it is now another window).
 */
export interface WindowEvent {
  change: WindowChange;
  window: Window;
  at: EpochMs;
}

export type ComplaintChannel = 'hotline' | 'online' | 'social' | 'app';
export type ComplaintCategory = 'network' | 'efficiency' | 'billing' | 'attitude';
export type ComplaintSymptom = 'no-signal' | 'slow-data' | 'call-drop' | 'voice-quality' | 'other';

export interface Complaint {
  /** External id; posting the same id twice is idempotent. */
  id: string;
  receivedAt: EpochMs;
  /** When the customer says the problem happened, if they said. */
  issueAt?: EpochMs;
  channel: ComplaintChannel;
  category: ComplaintCategory;
  /** What the customer noticed, when the intake knows it: sharpens matching to causes. */
  symptom?: ComplaintSymptom;
  cell?: string;
  lat?: number;
  lon?: number;
  text?: string;
}

/** One window that may explain a complaint, with its score and a sentence a person can read. */
export interface ComplaintMatch {
  window: string;
  cell: string;
  score: number;
  reason: string;
}

export interface ComplaintCorrelation {
  explained: boolean;
  /** The best score (0 when nothing matched). */
  score: number;
  /** Best first; only windows with a score above zero. */
  windows: ComplaintMatch[];
}

export type AlertState = 'pending' | 'firing' | 'resolved';
export type AlertSeverity = 'critical' | 'major' | 'minor' | 'warning';

export interface Alert {
  id: string;
  /** Stable identity of "the same problem": rule + labels. Dedup and silences match on it. */
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  state: AlertState;
  labels: Record<string, string>;
  summary: string;
  remediation?: string;
  startsAt: EpochMs;
  endsAt?: EpochMs;
  ackedBy?: string;
  ackedAt?: EpochMs;
}

/** A cell found near a point, with its great-circle distance. */
export interface NearbyCell {
  cell: Cell;
  km: number;
}

/**
 * The cell inventory as one immutable value: every lookup the pipeline needs, built once per
 * inventory version and replaced as a whole on reload (never mutated, so a reader holding the old
 * one sees a consistent network). The implementation (config/inventory.ts) indexes locations in a
 * spatial index; the correlator sees only this interface.
 */
export interface Inventory {
  readonly size: number;
  /** Every cell, sorted by id. */
  readonly cells: readonly Cell[];
  cell(id: string): Cell | undefined;
  has(id: string): boolean;
  /** Cells of a site, in snmpIndex (then id) order; empty for an unknown site. */
  cellsOfSite(site: string): readonly Cell[];
  regionOfSite(site: string): string | undefined;
  /** Site ids, sorted. */
  readonly sites: readonly string[];
  /** Region ids, sorted. */
  readonly regions: readonly string[];
  /** Neighbours the inventory lists for a cell (unknown ids left out). */
  neighbours(id: string): readonly Cell[];
  /** Cells within `km` of a point, nearest first. */
  within(lat: number, lon: number, km: number): NearbyCell[];
}
export type * from './metrics.js';
export * from './cell-table.js';
export type * from './targets.js';
