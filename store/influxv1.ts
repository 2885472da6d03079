import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import type { EpochMs, LinkSample, Sample } from '../model/index.js';
import { InfluxHttp, classifyWrite, gzipBody } from './http.js';
import type { Point, SeriesBackend, SeriesBucket, SeriesReader, WriteResult } from './index.js';
import { encodeLines } from './lineprotocol.js';
import { BucketSum, CELLS_PER_QUERY, HOUR_MS, byCell, byCellThenTime, byLink, chunked, rowPoint } from './reading.js';
import {
  CELL_FIELDS,
  CELL_HOURLY_MEASUREMENT,
  CELL_MEASUREMENT,
  LINK_FIELDS,
  LINK_MEASUREMENT,
  pointLink,
  pointSample,
} from './schema.js';

/*
 * InfluxDB 1.x (and InfluxDB 3's v1-compatible API): `/write?db=&rp=&precision=ms` with our own
 * encoder over a keep-alive agent, InfluxQL over `/query` for administration and reads.
 *
 * Rollups: a continuous query writes hourly `mean(*)` and `count(*)` of `cell_kpi` per cell (and its
 * site and region) into `cell_kpi_1h` in a second retention policy kept twice as long. A CQ only
 * covers the recent past as the server's clock moves, so three things fill what it misses:
 * - at init, hours after the newest rollup (the daemon was down, or this is the first start) are
 *   backfilled with a one-off `SELECT … INTO`;
 * - points older than the CQ's resample window (a spool replay after an outage, an import) mark their
 *   hours, which are backfilled shortly after the writes stop (and at the next start, if the process
 *   died first: the marks are kept in a file until their backfill succeeds);
 * - the reader computes from raw data any hour in its range for which no rollup exists yet (the
 *   current hour, always).
 */

export interface InfluxV1Options {
  url: string;
  database: string;
  retentionPolicy: string;
  retentionMs: number;
  rollups: boolean;
  username?: string;
  password?: string;
  gzip: boolean;
  timeoutMs: number;
  maxInFlight: number;
  clock: Clock;
  /**
   * Where the hours awaiting a backfill are remembered, so a crash inside the debounce does not leave
   * an hour's rollup computed from part of its points (the CQ ran before a spool replay filled it in).
   */
  pendingHoursFile?: string;
  log: Logger;
}

interface QueryResult {
  error?: string;
  results?: { statement_id?: number; error?: string; series?: QuerySeries[] }[];
}
interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  /** Absent when a series has columns but no rows (SHOW … on an empty database). */
  values?: (number | string | boolean | null)[][];
}

/** Ascending hour starts as contiguous `[from, to)` ranges: one query per run of hours, not per hour. */
function hourRanges(hours: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const h of hours) {
    const last = ranges.at(-1);
    if (last && last[1] === h) last[1] = h + HOUR_MS;
    else ranges.push([h, h + HOUR_MS]);
  }
  return ranges;
}

/** An InfluxQL identifier, always double-quoted. */
export const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** An InfluxQL string literal. */
export const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const timeRange = (from: EpochMs, to: EpochMs) => `time >= ${Math.floor(from)}ms AND time < ${Math.ceil(to)}ms`;
const hoursDuration = (ms: number) => `${Math.max(1, Math.ceil(ms / HOUR_MS))}h`;

/** The CQ recomputes this far back at every run; older writes need a backfill. */
const CQ_RESAMPLE_FOR_MS = 2 * HOUR_MS;
const BACKFILL_DEBOUNCE_MS = 5_000;

export class InfluxV1Backend implements SeriesBackend {
  readonly kind = 'influxdb-v1' as const;
  readonly reader: SeriesReader;
  private readonly http: InfluxHttp;
  private readonly writePath: string;
  private readonly lateHours = new Set<number>();
  /** Hours a running backfill is rolling up: still on disk until it is done. */
  private backfillingHours: readonly number[] = [];
  private backfillTimer?: NodeJS.Timeout;
  private backfilling?: Promise<void>;
  private closed = false;
  /** Set by a 404 (database dropped behind our back): re-create before the next write. */
  private needsInit = false;

  constructor(private readonly opts: InfluxV1Options) {
    const auth =
      opts.username !== undefined
        ? { authorization: `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` }
        : undefined;
    this.http = new InfluxHttp(opts.url, {
      timeoutMs: opts.timeoutMs,
      maxSockets: opts.maxInFlight + 2,
      headers: auth,
    });
    this.writePath = `write?${new URLSearchParams({ db: opts.database, rp: opts.retentionPolicy, precision: 'ms' }).toString()}`;
    this.reader = new InfluxV1Reader(this, opts);
  }

  /**
   * The InfluxDB server's clock, on which its continuous queries run and against which it enforces
   * retention: lateness of a point is judged by it, not by the (possibly accelerated) event clock.
   */
  private serverNow(): EpochMs {
    return Date.now();
  }

  get rollupRetentionPolicy(): string {
    return `${this.opts.retentionPolicy}_rollup`;
  }

  /** Runs InfluxQL; throws with the server's message on any error. */
  async query(q: string, opts: { post?: boolean } = {}): Promise<QuerySeries[][]> {
    const params = new URLSearchParams({ db: this.opts.database, epoch: 'ms', q });
    const a = opts.post
      ? await this.http.send('POST', 'query', params.toString(), {
          'content-type': 'application/x-www-form-urlencoded',
        })
      : await this.http.send('GET', `query?${params.toString()}`);
    let body: QueryResult;
    try {
      body = JSON.parse(a.body) as QueryResult;
    } catch {
      throw new Error(`InfluxDB /query answered ${a.status}: ${a.body.slice(0, 300)}`);
    }
    if (a.status >= 300 || body.error)
      throw new Error(`InfluxDB /query answered ${a.status}: ${body.error ?? a.body.slice(0, 300)}`);
    const failed = body.results?.find((r) => r.error);
    if (failed) throw new Error(`InfluxQL ${q.slice(0, 120)}…: ${failed.error}`);
    return (body.results ?? []).map((r) => r.series ?? []);
  }

  /**
   * Creates the database, the retention policies and the continuous query, and backfills rollups.
   * Each admin statement may be refused (a non-admin user, InfluxDB 3's v1 API): that is logged and
   * writes are tried anyway. Only an unreachable server fails init (retryably).
   */
  async init(): Promise<WriteResult> {
    try {
      await this.http.send('GET', 'ping');
    } catch (err) {
      return {
        ok: false,
        retryable: true,
        reason: `InfluxDB at ${this.opts.url} unreachable: ${(err as Error).message}`,
      };
    }
    const db = ident(this.opts.database);
    const admin = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        this.opts.log.warn(
          { err: (err as Error).message },
          `InfluxDB: could not ${what}; continuing (writes will tell whether it matters)`,
        );
      }
    };
    // A database cellwatch creates is cellwatch's: its retention policy becomes the default, so a plain
    // `SELECT … FROM cell_kpi` (Grafana's default) finds the data. An existing database keeps the
    // default its operator chose; docs/schema.md says to select `"cellwatch"."cell_kpi"` there.
    let created = false;
    await admin('create the database', async () => {
      const [dbs] = await this.query('SHOW DATABASES');
      if ((dbs?.[0]?.values ?? []).some((v) => v[0] === this.opts.database)) return;
      await this.query(`CREATE DATABASE ${db}`, { post: true });
      created = true;
    });
    await admin('set up retention policies', async () => {
      const [series] = await this.query(`SHOW RETENTION POLICIES ON ${db}`);
      const existing = new Map((series?.[0]?.values ?? []).map((v) => [String(v[0]), String(v[1])]));
      const ensure = async (name: string, ms: number, makeDefault = false) => {
        const verb = existing.has(name) ? 'ALTER' : 'CREATE';
        await this.query(
          `${verb} RETENTION POLICY ${ident(name)} ON ${db} DURATION ${hoursDuration(ms)} REPLICATION 1${makeDefault ? ' DEFAULT' : ''}`,
          { post: true },
        );
      };
      await ensure(this.opts.retentionPolicy, this.opts.retentionMs, created);
      if (this.opts.rollups) await ensure(this.rollupRetentionPolicy, 2 * this.opts.retentionMs);
    });
    if (this.opts.rollups) {
      await admin('create the hourly rollup continuous query', () => this.ensureContinuousQuery());
      await admin('backfill hourly rollups', () => this.backfillSinceNewestRollup());
      // Late hours a previous run noted and did not get to (killed inside the debounce, or InfluxDB failed).
      for (const hour of this.readPendingHours()) this.lateHours.add(hour);
      if (this.lateHours.size > 0) await this.flushLateHours();
    }
    this.needsInit = false;
    return { ok: true };
  }

  private rollupSelect(where: string): string {
    const db = ident(this.opts.database);
    return (
      `SELECT mean(*), count(*) INTO ${db}.${ident(this.rollupRetentionPolicy)}.${ident(CELL_HOURLY_MEASUREMENT)} ` +
      `FROM ${db}.${ident(this.opts.retentionPolicy)}.${ident(CELL_MEASUREMENT)}${where ? ` WHERE ${where}` : ''} GROUP BY time(1h), "cell", "region", "site", "source"`
    );
  }

  private async ensureContinuousQuery(): Promise<void> {
    const name = `cellwatch_${CELL_HOURLY_MEASUREMENT}`;
    const body = this.rollupSelect('');
    const wanted = `CREATE CONTINUOUS QUERY ${ident(name)} ON ${ident(this.opts.database)} RESAMPLE EVERY 1h FOR ${hoursDuration(CQ_RESAMPLE_FOR_MS)} BEGIN ${body} END`;
    const [series] = await this.query('SHOW CONTINUOUS QUERIES');
    const mine = series?.find((s) => s.name === this.opts.database)?.values?.find((v) => v[0] === name);
    if (mine) {
      // The server prints identifiers unquoted where it can; at worst a mismatch re-creates the CQ.
      const norm = (q: string) => q.replace(/"/g, '').replace(/\s+/g, ' ').trim();
      if (norm(String(mine[1])) === norm(wanted)) return;
      this.opts.log.info({ was: mine[1] }, 'InfluxDB: replacing an outdated rollup continuous query');
      await this.query(`DROP CONTINUOUS QUERY ${ident(name)} ON ${ident(this.opts.database)}`, { post: true });
    }
    await this.query(wanted, { post: true });
  }

  /** Rolls up every hour after the newest rollup (or all retained raw data on the first start). */
  private async backfillSinceNewestRollup(): Promise<void> {
    const [newest] = await this.query(
      `SELECT last("count_available") FROM ${ident(this.rollupRetentionPolicy)}.${ident(CELL_HOURLY_MEASUREMENT)}`,
    ).catch(() => [[]] as QuerySeries[][]);
    const lastHour = newest?.[0]?.values?.[0]?.[0];
    const now = Math.max(this.opts.clock.now(), this.serverNow());
    const from = typeof lastHour === 'number' ? lastHour : now - this.opts.retentionMs;
    await this.backfill(from - (from % HOUR_MS), now - (now % HOUR_MS) + HOUR_MS);
  }

  /** `SELECT … INTO` for whole hours in [from, to): idempotent (same tags and timestamps overwrite). */
  async backfill(from: EpochMs, to: EpochMs): Promise<void> {
    if (to <= from) return;
    const [result] = await this.query(this.rollupSelect(timeRange(from, to)), { post: true });
    this.opts.log.debug(
      { from: new Date(from).toISOString(), to: new Date(to).toISOString(), written: result?.[0]?.values?.[0]?.[1] },
      'hourly rollups backfilled',
    );
  }

  async write(points: readonly Point[]): Promise<WriteResult> {
    if (this.closed) return { ok: false, retryable: true, reason: 'InfluxDB backend is closed' };
    if (this.needsInit) {
      const init = await this.init();
      if (!init.ok) return init;
    }
    const body = encodeLines(points);
    let answer;
    try {
      answer = this.opts.gzip
        ? await this.http.send('POST', this.writePath, await gzipBody(body), {
            'content-encoding': 'gzip',
            'content-type': 'text/plain; charset=utf-8',
          })
        : await this.http.send('POST', this.writePath, body, { 'content-type': 'text/plain; charset=utf-8' });
    } catch (err) {
      return {
        ok: false,
        retryable: true,
        reason: `InfluxDB at ${this.opts.url} unreachable: ${(err as Error).message}`,
      };
    }
    // Retry-After may be an HTTP date: compare it with the wall clock, which the server also uses.
    const result = classifyWrite(answer, Date.now(), 'InfluxDB /write');
    if (!result.ok && answer.status === 404) this.needsInit = true;
    if (result.ok && this.opts.rollups) this.noteLateHours(points);
    return result;
  }

  /** Hours the continuous query will not revisit get a backfill once the writes calm down. */
  private noteLateHours(points: readonly Point[]): void {
    const now = this.serverNow();
    const cqCovers = now - (now % HOUR_MS) - CQ_RESAMPLE_FOR_MS + HOUR_MS;
    let added = false;
    for (const p of points) {
      if (p.ts >= cqCovers || p.measurement !== CELL_MEASUREMENT) continue;
      const hour = p.ts - (p.ts % HOUR_MS);
      if (!this.lateHours.has(hour)) {
        this.lateHours.add(hour);
        added = true;
      }
    }
    if (!added) return;
    this.writePendingHours();
    clearTimeout(this.backfillTimer);
    this.backfillTimer = setTimeout(() => void this.flushLateHours(), BACKFILL_DEBOUNCE_MS);
    this.backfillTimer.unref();
  }

  /** Backfills the hours late points fell into, as few contiguous ranges. */
  async flushLateHours(): Promise<void> {
    clearTimeout(this.backfillTimer);
    await this.backfilling;
    const hours = [...this.lateHours].sort((a, b) => a - b);
    this.lateHours.clear();
    if (hours.length === 0 || this.closed) return;
    this.backfillingHours = hours;
    this.backfilling = (async () => {
      for (const [from, to] of hourRanges(hours)) {
        try {
          await this.backfill(from, to);
        } catch (err) {
          // Kept for the next start: a reader computes an hour with no rollup from raw data, but not one
          // whose rollup the CQ made from part of its points.
          for (let h = from; h < to; h += HOUR_MS) this.lateHours.add(h);
          this.opts.log.warn(
            { err: (err as Error).message, from, to },
            'hourly rollup backfill failed; retried with the next late hours or at the next start',
          );
        }
      }
      // What is left: hours that failed, and hours noted while this ran (their own timer is set).
      this.backfillingHours = [];
      this.writePendingHours();
    })();
    await this.backfilling;
    this.backfilling = undefined;
  }

  private readPendingHours(): number[] {
    const file = this.opts.pendingHoursFile;
    if (!file || !existsSync(file)) return [];
    try {
      const hours = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (Array.isArray(hours) && hours.every((h) => Number.isInteger(h))) return hours as number[];
    } catch {
      // fall through: a torn write of a hint file
    }
    this.opts.log.warn(
      { file },
      'unreadable list of hours awaiting a rollup backfill; those hours keep their current rollups',
    );
    return [];
  }

  /** The hours not yet rolled up (possibly none) replace the file's list; written whole, it is a few hundred bytes. */
  private writePendingHours(): void {
    const file = this.opts.pendingHoursFile;
    if (!file) return;
    const hours = new Set([...this.lateHours, ...this.backfillingHours]);
    try {
      if (hours.size === 0) rmSync(file, { force: true });
      else writeFileSync(file, JSON.stringify([...hours].sort((a, b) => a - b)));
    } catch (err) {
      this.opts.log.warn(
        { err: (err as Error).message, file },
        'could not remember the hours awaiting a rollup backfill',
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.lateHours.size > 0) await this.flushLateHours().catch(() => undefined);
    this.closed = true;
    clearTimeout(this.backfillTimer);
    this.http.close();
  }
}

// ---------------------------------------------------------------------------------------------------

type Row = Record<string, number | string | boolean | null>;

function rows(series: QuerySeries): Row[] {
  return (series.values ?? []).map((v) => {
    const r: Row = { ...(series.tags ?? {}) };
    series.columns.forEach((c, i) => {
      if (!(c in r) || r[c] === null || r[c] === '') r[c] = v[i] ?? null;
    });
    return r;
  });
}

function cellChunks(cells?: readonly string[]): (string | undefined)[] {
  if (!cells) return [undefined];
  return chunked(cells, CELLS_PER_QUERY).map((chunk) => `(${chunk.map((c) => `"cell" = ${literal(c)}`).join(' OR ')})`);
}

/** Accumulates means weighted by counts, so buckets from several series (sources, sites) merge exactly. */
export class InfluxV1Reader implements SeriesReader {
  constructor(
    private readonly backend: InfluxV1Backend,
    private readonly opts: InfluxV1Options,
  ) {}

  private from(measurement: string, rp = this.opts.retentionPolicy): string {
    return `${ident(rp)}.${ident(measurement)}`;
  }

  async latest(cells?: readonly string[]): Promise<Sample[]> {
    const out: Sample[] = [];
    for (const filter of cellChunks(cells)) {
      const [series = []] = await this.backend.query(
        `SELECT * FROM ${this.from(CELL_MEASUREMENT)}${filter ? ` WHERE ${filter}` : ''} GROUP BY "cell" ORDER BY time DESC LIMIT 1`,
      );
      for (const s of series) {
        for (const r of rows(s)) out.push(pointSample(rowPoint(r, CELL_MEASUREMENT, CELL_FIELDS, r.time as number)));
      }
    }
    return out.sort(byCell);
  }

  async latestLinks(): Promise<LinkSample[]> {
    const [series = []] = await this.backend.query(
      `SELECT * FROM ${this.from(LINK_MEASUREMENT)} GROUP BY "link" ORDER BY time DESC LIMIT 1`,
    );
    return series
      .flatMap((s) => rows(s).map((r) => pointLink(rowPoint(r, LINK_MEASUREMENT, LINK_FIELDS, r.time as number))))
      .sort(byLink);
  }

  async series(cell: string, from: EpochMs, to: EpochMs, resolutionMs: number): Promise<SeriesBucket[]> {
    if (!(resolutionMs >= 1)) throw new RangeError(`resolution must be ≥ 1 ms, got ${resolutionMs}`);
    const [series = []] = await this.backend.query(
      `SELECT mean(*), count(*) FROM ${this.from(CELL_MEASUREMENT)} WHERE "cell" = ${literal(cell)} AND ${timeRange(from, to)} GROUP BY time(${Math.round(resolutionMs)}ms), "source" fill(none)`,
    );
    const buckets = new Map<number, BucketSum>();
    for (const s of series) {
      for (const r of rows(s)) {
        const ts = r.time as number;
        let b = buckets.get(ts);
        if (!b) buckets.set(ts, (b = new BucketSum(cell, ts)));
        b.add(r);
      }
    }
    return [...buckets.values()]
      .filter((b) => b.n > 0)
      .sort((x, y) => x.ts - y.ts)
      .map((b) => b.bucket());
  }

  async hourly(from: EpochMs, to: EpochMs, cells?: readonly string[]): Promise<SeriesBucket[]> {
    const start = Math.ceil(from / HOUR_MS) * HOUR_MS;
    const filters = cellChunks(cells);
    const buckets = new Map<string, BucketSum>();
    const add = (cell: string, ts: number, r: Row) => {
      const key = `${cell}\n${ts}`;
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = new BucketSum(cell, ts)));
      b.add(r);
    };
    const rolled = new Set<number>();
    if (this.opts.rollups) {
      for (const filter of filters) {
        const [series = []] = await this.backend.query(
          `SELECT * FROM ${this.from(CELL_HOURLY_MEASUREMENT, this.backend.rollupRetentionPolicy)} WHERE ${timeRange(start, to)}${filter ? ` AND ${filter}` : ''} GROUP BY "cell"`,
        );
        for (const s of series) {
          for (const r of rows(s)) {
            add(String(r.cell), r.time as number, r);
            rolled.add(r.time as number);
          }
        }
      }
    }
    // Hours no rollup covers yet (the current one, or ones the CQ has not reached): from raw data.
    const unrolled: number[] = [];
    for (let h = start; h < to; h += HOUR_MS) if (!rolled.has(h)) unrolled.push(h);
    for (const [a, b] of hourRanges(unrolled)) {
      for (const filter of filters) {
        const [series = []] = await this.backend.query(
          `SELECT mean(*), count(*) FROM ${this.from(CELL_MEASUREMENT)} WHERE ${timeRange(a, Math.min(b, to))}${filter ? ` AND ${filter}` : ''} GROUP BY time(1h), "cell", "source" fill(none)`,
        );
        for (const s of series) for (const r of rows(s)) add(String(r.cell), r.time as number, r);
      }
    }
    return [...buckets.values()]
      .filter((b) => b.n > 0)
      .map((b) => b.bucket())
      .sort(byCellThenTime);
  }
}
