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
  reason: 'timeout' | 'unreachable' | 'auth' | 'error' | 'counter-reset' | 'skipped-overlap';
  detail?: string;
}

export type Experience = 'good' | 'bad' | 'unknown';

export type Cause = 'outage' | 'backhaul' | 'coverage' | 'interference' | 'congestion' | 'unknown';

/** A degradation window on one cell: opened after consecutive bad intervals, closed after good ones. */
export interface Window {
  id: string;
  cell: string;
  start: EpochMs;
  /** Absent while the window is open. */
  end?: EpochMs;
  cause: Cause;
  /** 0..1; how bad (share of users affected × depth of the breach). */
  severity: number;
  /** Users affected (user-intervals weighted), for ranking and the care summary. */
  usersAffected: number;
  remediation: string;
}

export type ComplaintChannel = 'hotline' | 'online' | 'social' | 'app';
export type ComplaintCategory = 'network' | 'efficiency' | 'billing' | 'attitude';

export interface Complaint {
  /** External id; posting the same id twice is idempotent. */
  id: string;
  receivedAt: EpochMs;
  /** When the customer says the problem happened, if they said. */
  issueAt?: EpochMs;
  channel: ComplaintChannel;
  category: ComplaintCategory;
  cell?: string;
  lat?: number;
  lon?: number;
  text?: string;
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
