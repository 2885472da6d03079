/**
 * Storage. Two kinds of data, two ports:
 *
 * - **Series** (cell KPIs, transport links, probe results): time-series points. Written through one
 *   `SeriesWriter` pipeline (batching, ordering, retry with backoff, 4xx bisection into a dead-letter
 *   file, fsynced disk spool while the backend is down) in front of a `SeriesBackend` that only knows
 *   how to send one batch: InfluxDB v1 (`/write` + InfluxQL), InfluxDB v2 (`@influxdata/influxdb-client`)
 *   or the embedded SQLite store. Read back through `SeriesReader`, the same for every backend.
 * - **Records** (complaints, windows, alerts, silences, collection gaps): rows in the SQLite record
 *   store, with versioned migrations.
 *
 * The promise: a point that a collector handed to `SeriesWriter.export` and saw acknowledged is in
 * the backend later — through outages, restarts and bad data — or it is counted in the self-metrics,
 * logged and raised for the alerts. Nothing is dropped silently.
 */
import type { EpochMs, LinkSample, Sample } from '../model/index.js';

/** One time-series point, backend-neutral. Field types are fixed per measurement by the schema. */
export interface Point {
  measurement: string;
  /** Bounded-cardinality tags only: cell, site, region, source, link (never ids of complaints or free text). */
  tags: Record<string, string>;
  fields: Record<string, number | boolean | string>;
  ts: EpochMs;
}

/** What a backend says about one batch. Backends never throw for a failed write. */
export type WriteResult =
  | { ok: true }
  | { ok: false; retryable: true; reason: string; retryAfterMs?: number }
  | { ok: false; retryable: false; reason: string; status?: number };

/** Sends one batch to one database. No batching, retry or spooling here: the pipeline owns those. */
export interface SeriesBackend {
  readonly kind: 'influxdb-v1' | 'influxdb-v2' | 'embedded';
  /** Creates what the backend needs (database, retention policy, continuous queries, tables). */
  init(): Promise<WriteResult>;
  write(points: readonly Point[]): Promise<WriteResult>;
  close(): Promise<void>;
}

/**
 * The write pipeline, shaped like an OpenTelemetry exporter. `export` resolves when the points are
 * durable — acknowledged by the backend or fsynced to the spool — which is the moment a collector
 * (or the push API's 202) may consider them accepted.
 */
export interface SeriesWriter {
  /**
   * `flush`: someone is waiting for the answer (the push API): the open batch is sealed now instead of
   * at `flushInterval`, so a pushed request is not held up to a second for points that may never come.
   */
  export(points: readonly Point[], opts?: { flush?: boolean }): Promise<void>;
  /** Resolves when everything exported so far has reached the backend or the spool. */
  forceFlush(): Promise<void>;
  /** Flushes, then releases resources. Idempotent. */
  shutdown(): Promise<void>;
}

/** Means (and for `available`, the share of intervals up) over one bucket of a cell's series. */
export interface SeriesBucket extends Omit<Sample, 'source' | 'available'> {
  /** Share of the bucket's samples where the cell was available, 0..1. */
  availability?: number;
  /** Number of samples in the bucket. */
  count: number;
}

export interface SeriesReader {
  /** The newest sample of every cell (or of the given cells). */
  latest(cells?: readonly string[]): Promise<Sample[]>;
  /** The newest sample of every transport link. */
  latestLinks(): Promise<LinkSample[]>;
  /** A cell's series in [from, to), aggregated to buckets of `resolutionMs`. */
  series(cell: string, from: EpochMs, to: EpochMs, resolutionMs: number): Promise<SeriesBucket[]>;
  /** Hourly rollups in [from, to) for the given cells (all cells if omitted): busy hours and baselines. */
  hourly(from: EpochMs, to: EpochMs, cells?: readonly string[]): Promise<SeriesBucket[]>;
}

export { openStores, type StoreDeps, type StoreEvent, type Stores } from './open.js';
export {
  AlertRecords,
  ComplaintRecords,
  type ComplaintEvent,
  type ComplaintQuery,
  type StoredComplaint,
  GapRecords,
  NotificationRecords,
  RecordDb,
  SilenceRecords,
  StateRecords,
  TargetRecords,
  WindowRecords,
  recordMigrations,
  type TargetQuery,
  type WindowQuery,
} from './records/index.js';
export { linkPoint, pointLink, pointSample, samplePoint } from './schema.js';
export { SpoolFullError } from './spool.js';
