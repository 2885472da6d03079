import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  HttpError,
  InfluxDB,
  flux,
  fluxDateTime,
  fluxExpression,
  fluxString,
  setLogger,
  type QueryApi,
} from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { EpochMs, LinkSample, Sample } from '../model/index.js';
import { classifyWrite } from './http.js';
import type { Point, SeriesBackend, SeriesBucket, SeriesReader, WriteResult } from './index.js';
import { encodeLine } from './lineprotocol.js';
import { BucketSum, HOUR_MS, byCell, byCellThenTime, byLink, chunked, rowPoint } from './reading.js';
import { CELL_FIELDS, CELL_MEASUREMENT, LINK_FIELDS, LINK_MEASUREMENT, pointLink, pointSample } from './schema.js';

/*
 * InfluxDB 2.x, Cloud, and 3.x through `@influxdata/influxdb-client` (org, bucket, token).
 *
 * The client has its own batching and retry buffer; both are switched off here because the pipeline
 * owns them. Each `write` gets its own WriteApi with maxRetries 0, a batch size above the batch, no
 * flush timer, and is flushed at once: the promise of that flush *is* the result of the request, so
 * nothing can sit in a client buffer that `close()` would silently discard.
 *
 * Reads are Flux. InfluxDB 2 has no continuous queries; hourly rollups are computed from raw data on
 * read (a downsampling task could be added by the operator; cellwatch needs no write permission on
 * tasks to work).
 */

export interface InfluxV2Options {
  url: string;
  org: string;
  bucket: string;
  token: string;
  gzip: boolean;
  timeoutMs: number;
  maxInFlight: number;
  log: Logger;
}

/** How far back `latest()` looks: the default retention of the other backends. */
const LATEST_LOOKBACK_MS = 35 * 24 * HOUR_MS;

let clientLoggerSet = false;

export class InfluxV2Backend implements SeriesBackend {
  readonly kind = 'influxdb-v2' as const;
  readonly reader: SeriesReader;
  private readonly influx: InfluxDB;
  private readonly agent: HttpAgent;
  private closed = false;

  constructor(private readonly opts: InfluxV2Options) {
    const https = opts.url.startsWith('https:');
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: opts.maxInFlight + 2 })
      : new HttpAgent({ keepAlive: true, maxSockets: opts.maxInFlight + 2 });
    this.influx = new InfluxDB({
      url: opts.url,
      token: opts.token,
      timeout: opts.timeoutMs,
      transportOptions: { agent: this.agent },
    });
    if (!clientLoggerSet) {
      // The client logs failed writes to the console; the pipeline already reports them (counted,
      // logged once, raised), so its own lines go to debug. The client's logger is process-wide.
      clientLoggerSet = true;
      const log = opts.log;
      setLogger({
        error: (message, err) => log.debug({ err: String(err) }, `influxdb-client: ${message}`),
        warn: (message, err) => log.debug({ err: String(err) }, `influxdb-client: ${message}`),
      });
    }
    this.reader = new InfluxV2Reader(this.influx.getQueryApi(opts.org), opts);
  }

  /**
   * Nothing to create: org, bucket (with its retention) and token are the operator's, and a token
   * that may write need not be allowed to create. The first write tells whether they are right; a
   * wrong token or bucket is kept retryable and raised, so the points wait in the spool meanwhile.
   */
  init(): Promise<WriteResult> {
    return Promise.resolve({ ok: true });
  }

  async write(points: readonly Point[]): Promise<WriteResult> {
    if (this.closed) return { ok: false, retryable: true, reason: 'InfluxDB v2 backend is closed' };
    const api = this.influx.getWriteApi(this.opts.org, this.opts.bucket, 'ms', {
      batchSize: points.length + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 0,
      gzipThreshold: this.opts.gzip ? 0 : Number.MAX_SAFE_INTEGER,
    });
    try {
      const lines = new Array<string>(points.length);
      for (let i = 0; i < points.length; i++) lines[i] = encodeLine(points[i]!);
      api.writeRecords(lines);
      await api.flush();
      return { ok: true };
    } catch (err) {
      return this.classify(err);
    } finally {
      // Nothing is buffered any more (flushed above, success or not): close only releases the API.
      await api.close().catch(() => undefined);
    }
  }

  private classify(err: unknown): WriteResult {
    if (err instanceof HttpError) {
      const headers = (err.headers ?? {}) as Record<string, string | string[] | undefined>;
      const header = headers['retry-after'];
      const retryAfter =
        (Array.isArray(header) ? header[0] : header) ?? (err.retryAfter() > 0 ? String(err.retryAfter()) : undefined);
      // Retry-After may be an HTTP date: compared with the wall clock, which the server also uses.
      return classifyWrite(
        { status: err.statusCode, headers: { 'retry-after': retryAfter }, body: err.body ?? err.message },
        Date.now(),
        'InfluxDB v2 /api/v2/write',
      );
    }
    return {
      ok: false,
      retryable: true,
      reason: `InfluxDB v2 at ${this.opts.url} unreachable: ${(err as Error).message}`,
    };
  }

  close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
    return Promise.resolve();
  }
}

type FluxRow = Record<string, unknown> & { _time?: string; _field?: string; _value?: unknown };

const iso = (ms: EpochMs) => new Date(ms).toISOString();
const fluxDuration = (ms: number) => fluxExpression(`${Math.max(1, Math.round(ms))}ms`);

/** `r.cell == "a" or r.cell == "b"`, sanitised. */
function cellPredicate(cells: readonly string[]): string {
  // fluxString returns a parameter object whose toString() is the sanitised literal.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return cells.map((c) => `r.cell == ${String(fluxString(c))}`).join(' or ');
}

export class InfluxV2Reader implements SeriesReader {
  constructor(
    private readonly query: QueryApi,
    private readonly opts: InfluxV2Options,
  ) {}

  private get lookback() {
    return fluxDuration(LATEST_LOOKBACK_MS);
  }

  private async newest(measurement: string, key: 'cell' | 'link', filter?: string): Promise<FluxRow[]> {
    const q = flux`from(bucket: ${this.opts.bucket})
  |> range(start: -${this.lookback})
  |> filter(fn: (r) => r._measurement == ${measurement}${fluxExpression(filter ? ` and (${filter})` : '')})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group(columns: [${key}])
  |> sort(columns: ["_time"], desc: true)
  |> limit(n: 1)`;
    return this.query.collectRows<FluxRow>(q);
  }

  async latest(cells?: readonly string[]): Promise<Sample[]> {
    const out: Sample[] = [];
    const chunks = cells ? chunked(cells) : [undefined];
    for (const chunk of chunks) {
      if (chunk && chunk.length === 0) continue;
      for (const r of await this.newest(CELL_MEASUREMENT, 'cell', chunk ? cellPredicate(chunk) : undefined))
        out.push(pointSample(rowPoint(r, CELL_MEASUREMENT, CELL_FIELDS, Date.parse(String(r._time)))));
    }
    return out.sort(byCell);
  }

  async latestLinks(): Promise<LinkSample[]> {
    const rows = await this.newest(LINK_MEASUREMENT, 'link');
    return rows
      .map((r) => pointLink(rowPoint(r, LINK_MEASUREMENT, LINK_FIELDS, Date.parse(String(r._time)))))
      .sort(byLink);
  }

  /** Means and counts per window, field and source, merged into buckets per cell and window start. */
  private async windows(from: EpochMs, to: EpochMs, everyMs: number, filter: string): Promise<SeriesBucket[]> {
    const base = (fn: string) => flux`from(bucket: ${this.opts.bucket})
  |> range(start: ${fluxDateTime(iso(from))}, stop: ${fluxDateTime(iso(to))})
  |> filter(fn: (r) => r._measurement == ${CELL_MEASUREMENT} and (${fluxExpression(filter)}))
  |> group(columns: ["cell", "source", "_field"])
  |> aggregateWindow(every: ${fluxDuration(everyMs)}, fn: ${fluxExpression(fn)}, createEmpty: false, timeSrc: "_start")`;
    const [means, counts] = await Promise.all([
      this.query.collectRows<FluxRow>(base('mean')),
      this.query.collectRows<FluxRow>(base('count')),
    ]);
    const rows = new Map<string, Record<string, number | string> & { cell: string; time: number }>();
    const put = (r: FluxRow, prefix: 'mean' | 'count') => {
      const time = Date.parse(String(r._time));
      const cell = typeof r.cell === 'string' ? r.cell : '';
      const source = typeof r.source === 'string' ? r.source : '';
      const key = `${cell}\n${source}\n${time}`;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { cell, time }));
      if (typeof r._value === 'number') row[`${prefix}_${String(r._field)}`] = r._value;
    };
    for (const r of means) put(r, 'mean');
    for (const r of counts) put(r, 'count');
    const buckets = new Map<string, BucketSum>();
    for (const row of rows.values()) {
      const key = `${row.cell}\n${row.time}`;
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = new BucketSum(row.cell, row.time)));
      b.add(row);
    }
    return [...buckets.values()]
      .filter((b) => b.n > 0)
      .map((b) => b.bucket())
      .sort(byCellThenTime);
  }

  series(cell: string, from: EpochMs, to: EpochMs, resolutionMs: number): Promise<SeriesBucket[]> {
    if (!(resolutionMs >= 1)) return Promise.reject(new RangeError(`resolution must be ≥ 1 ms, got ${resolutionMs}`));
    return this.windows(from, to, resolutionMs, cellPredicate([cell]));
  }

  async hourly(from: EpochMs, to: EpochMs, cells?: readonly string[]): Promise<SeriesBucket[]> {
    const start = Math.ceil(from / HOUR_MS) * HOUR_MS;
    if (to <= start) return [];
    if (!cells) return this.windows(start, to, HOUR_MS, 'true');
    const out: SeriesBucket[] = [];
    for (const chunk of chunked(cells)) out.push(...(await this.windows(start, to, HOUR_MS, cellPredicate(chunk))));
    return out.sort(byCellThenTime);
  }
}
