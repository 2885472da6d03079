import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import type { EpochMs, LinkSample, Sample } from '../model/index.js';
import type { Point, SeriesBackend, SeriesBucket, SeriesReader, WriteResult } from './index.js';
import type { Migration } from './sqlite.js';
import { HOUR_MS, bucket, byCell, rowPoint } from './reading.js';
import { openDatabase } from './sqlite.js';
import {
  CELL_FIELDS,
  CELL_MEASUREMENT,
  LINK_FIELDS,
  LINK_MEASUREMENT,
  cellColumns,
  pointLink,
  pointSample,
  schemaProblem,
} from './schema.js';

/*
 * The embedded series store: SQLite at `${dataDir}/series.db`, separate from the record store so
 * that a busy series writer never holds the lock the API's record writes need, and so that it can be
 * deleted on its own. Tables have one REAL column per schema field (no JSON blobs on the hot path).
 *
 * - `sample` / `link`: raw points, unique index (cell|link, ts, source) — the index on (cell, ts) the
 *   readers need, and InfluxDB's identity of a point: a replayed point lands on the same row, so a
 *   replay is idempotent. A second write of the same key merges fields, last write wins, as InfluxDB.
 * - `sample_recent`: new cell samples, appended without an index and moved into `sample` in bulk,
 *   sorted by (cell, ts) — see `mergeRecent`. A row whose key is already stored takes the old path
 *   (straight into `sample`, merged), so the two tables never hold one key twice.
 * - `sample_hourly`: per cell and UTC hour, the sum and count of every field, so means merge exactly.
 *   New samples add to sums held in memory and flushed in bulk (see `flushDerived`); the hours
 *   concerned are marked in `rollup_pending` in the raw insert's transaction, so a crash is repaired.
 * - `sample_latest` / `link_latest`: the key of the newest point per cell / link, so `latest()` for
 *   thousands of cells is one indexed join, not a scan.
 * Retention: raw rows older than `retention` (clock time) are pruned; hourly rollups after twice that.
 */

const cellCols = CELL_FIELDS.map((f) => `"${f}"`);
const linkCols = LINK_FIELDS.map((f) => `"${f}"`);
const hourlyCols = CELL_FIELDS.flatMap((f) => [`"${f}_sum"`, `"${f}_n"`]);

export const seriesMigrations: Migration[] = [
  {
    version: 1,
    name: 'samples, links, hourly rollups, latest',
    up: (db) => {
      db.exec(`
        CREATE TABLE sample (
          cell TEXT NOT NULL, ts INTEGER NOT NULL, source TEXT NOT NULL, site TEXT, region TEXT,
          ${cellCols.map((c) => `${c} REAL`).join(', ')}
        );
        CREATE UNIQUE INDEX sample_cell_ts ON sample (cell, ts, source);
        CREATE TABLE sample_hourly (
          cell TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL,
          ${hourlyCols.map((c) => `${c} ${c.endsWith('_n"') ? 'INTEGER NOT NULL DEFAULT 0' : 'REAL NOT NULL DEFAULT 0'}`).join(', ')},
          PRIMARY KEY (cell, hour)
        ) WITHOUT ROWID;
        CREATE TABLE sample_latest (cell TEXT PRIMARY KEY, ts INTEGER NOT NULL, source TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE link (
          link TEXT NOT NULL, ts INTEGER NOT NULL, source TEXT NOT NULL, site TEXT, region TEXT,
          ${linkCols.map((c) => `${c} REAL`).join(', ')}
        );
        CREATE UNIQUE INDEX link_link_ts ON link (link, ts, source);
        CREATE TABLE link_latest (link TEXT PRIMARY KEY, ts INTEGER NOT NULL, source TEXT NOT NULL) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    name: 'hours whose rollups are still in memory',
    up: (db) => db.exec('CREATE TABLE rollup_pending (hour INTEGER PRIMARY KEY)'),
  },
  {
    version: 3,
    name: 'new samples before their bulk move into the (cell, ts) index',
    up: (db) =>
      db.exec(`CREATE TABLE sample_recent (
        cell TEXT NOT NULL, ts INTEGER NOT NULL, source TEXT NOT NULL, site TEXT, region TEXT,
        ${cellCols.map((c) => `${c} REAL`).join(', ')}
      )`),
  },
];

type Row = Record<string, number | string | null>;
type Statements = ReturnType<EmbeddedBackend['prepare']>;

/** Sample rows per INSERT statement. */
const ROWS_PER_INSERT = 10;
/** `sample_recent` is moved into `sample` once it holds this many rows (and before reads, prunes, close). */
const MERGE_ROWS = 100_000;
/** Rollup sums held in memory before a flush beyond this many cell-hours. */
const MAX_PENDING_HOURS = 50_000;
/** …or after this long (real ms): bounds the work a crash leaves for the start-up repair. */
const ROLLUP_FLUSH_MS = 10_000;

interface HourAcc {
  cell: string;
  hour: number;
  n: number;
  sums: Float64Array;
  counts: Uint32Array;
}

/**
 * What the writer knows of one cell's keys, so that a new sample can go to `sample_recent` without an
 * index lookup: a key newer than everything in `sample` and not among the recent keys is new.
 */
interface CellKeys {
  /** ≥ the newest ts of this cell in `sample` (−∞: none). */
  stored: number;
  /** The newest ts in `sample_recent` (−∞: none). */
  newest: number;
  /** The keys in `sample_recent`, in arrival order. */
  ts: number[];
  sources: string[];
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Raw samples are kept this long (clock time); hourly rollups twice as long. */
  retentionMs: number;
  clock: Clock;
  log: Logger;
  /** Rows in `sample_recent` that trigger a move into `sample`; default 100,000 (tests set it low). */
  mergeRows?: number;
}

export class EmbeddedBackend implements SeriesBackend {
  readonly kind = 'embedded' as const;
  readonly reader: SeriesReader;
  private db?: Database;
  private stmts?: Statements;
  private lastPrune = -Infinity;
  /** Rollup sums in memory by hour, then cell: no per-sample key string on the write path. */
  private readonly pendingHours = new Map<number, Map<string, HourAcc>>();
  private pendingCount = 0;
  private readonly markedHours = new Set<number>();
  /** Newest (ts, source) per cell not yet in `sample_latest` (cells already listed there only). */
  private readonly pendingLatest = new Map<string, { ts: number; source: string }>();
  /** Cells present in `sample_latest`: a new cell is written there at once, so a repair finds it. */
  private knownCells?: Set<string>;
  /** Per cell, what `sample` and `sample_recent` hold (see CellKeys); set at open. */
  private cellKeys = new Map<string, CellKeys>();
  private recentRows = 0;
  private mergeScheduled = false;
  /** A transaction failed after touching `sample_recent`: rebuild `cellKeys` from the tables first. */
  private keysSuspect = false;
  private lastRollupFlush = performance.now();
  private pruning?: Promise<void>;
  /** Writes waiting for this turn's transaction (see commitWaiting). */
  private waiting: { points: readonly Point[]; resolve: (r: WriteResult) => void }[] = [];
  private closed = false;
  private closing = false;

  constructor(private readonly opts: EmbeddedOptions) {
    this.reader = new EmbeddedReader(
      () => this.open(),
      () => this.flushDerived(),
      () => this.mergeRecent(),
    );
  }

  /** The open database, opened on first use (readers may come before `init`). */
  private open(): { db: Database; stmts: Statements } {
    if (this.closed) throw new Error('embedded series store is closed');
    if (!this.db) {
      mkdirSync(this.opts.dataDir, { recursive: true });
      // FULL: a batch the pipeline reports as durable is fsynced, the same promise the spool makes.
      this.db = openDatabase(join(this.opts.dataDir, 'series.db'), seriesMigrations, this.opts.log, {
        synchronous: 'FULL',
      });
      // The (cell, ts) index is written at random positions: keep its hot pages in memory (64 MiB).
      this.db.pragma('cache_size = -65536');
      // Checkpoint the WAL every 64 MiB rather than every 4: a checkpoint fsyncs the database file, and
      // at the default interval they cost more than the inserts themselves.
      this.db.pragma('wal_autocheckpoint = 16384');
      this.stmts = this.prepare(this.db);
      // Rows a previous run left in sample_recent first: the repair recomputes rollups from `sample`.
      const recent = this.stmts.countRecent.get() ?? 0;
      if (recent > 0) this.db.transaction(() => this.moveRecent(this.stmts!))();
      this.repairDerived(this.db, this.stmts);
      this.knownCells = new Set(this.db.prepare<[], string>('SELECT cell FROM sample_latest').pluck().all());
      this.syncKeys(this.stmts);
    }
    return { db: this.db, stmts: this.stmts! };
  }

  private prepare(db: Database) {
    const cellParams = CELL_FIELDS.map(() => '?').join(', ');
    const linkParams = LINK_FIELDS.map(() => '?').join(', ');
    const merge = (cols: string[]) => cols.map((c) => `${c} = coalesce(excluded.${c}, ${c})`).join(', ');
    const cols = `cell, ts, source, site, region, ${cellCols.join(', ')}`;
    const rowParams = `(?, ?, ?, ?, ?, ${cellParams})`;
    return {
      insertRecent: db.prepare(`INSERT INTO sample_recent (${cols}) VALUES ${rowParams}`),
      insertRecents: db.prepare(
        `INSERT INTO sample_recent (${cols}) VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => rowParams).join(', ')}`,
      ),
      // Sorted, so each cell's index page is rewritten once per move; rowid keeps arrival order should a
      // key ever be there twice (the writer does not let it), merged as a second write would be.
      moveRecent: db.prepare(
        `INSERT INTO sample (${cols}) SELECT ${cols} FROM sample_recent WHERE true ORDER BY cell, ts, source, rowid
         ON CONFLICT (cell, ts, source) DO UPDATE SET site = coalesce(excluded.site, site), region = coalesce(excluded.region, region), ${merge(cellCols)}`,
      ),
      clearRecent: db.prepare('DELETE FROM sample_recent'),
      countRecent: db.prepare<[], number>('SELECT count(*) FROM sample_recent').pluck(),
      storedKey: db
        .prepare<[string, number, string], number>('SELECT 1 FROM sample WHERE cell = ? AND ts = ? AND source = ?')
        .pluck(),
      storedNewest: db.prepare<[string], number | null>('SELECT max(ts) FROM sample WHERE cell = ?').pluck(),
      mergeSample: db.prepare(
        `INSERT INTO sample (cell, ts, source, site, region, ${cellCols.join(', ')}) VALUES (?, ?, ?, ?, ?, ${cellParams})
         ON CONFLICT (cell, ts, source) DO UPDATE SET site = coalesce(excluded.site, site), region = coalesce(excluded.region, region), ${merge(cellCols)}`,
      ),
      addHourly: db.prepare(
        `INSERT INTO sample_hourly (cell, hour, n, ${hourlyCols.join(', ')}) VALUES (?, ?, ?, ${hourlyCols.map(() => '?').join(', ')})
         ON CONFLICT (cell, hour) DO UPDATE SET n = n + excluded.n, ${hourlyCols.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      ),
      recomputeHourly: db.prepare(
        `INSERT OR REPLACE INTO sample_hourly (cell, hour, n, ${hourlyCols.join(', ')})
         SELECT cell, @hour, count(*), ${cellCols.map((c) => `coalesce(sum(${c}), 0), count(${c})`).join(', ')}
         FROM sample WHERE cell = @cell AND ts >= @hour AND ts < @hour + ${HOUR_MS} GROUP BY cell`,
      ),
      latestSample: db.prepare(
        `INSERT INTO sample_latest (cell, ts, source) VALUES (?, ?, ?)
         ON CONFLICT (cell) DO UPDATE SET ts = excluded.ts, source = excluded.source WHERE excluded.ts >= sample_latest.ts`,
      ),
      insertLink: db.prepare(
        `INSERT INTO link (link, ts, source, site, region, ${linkCols.join(', ')}) VALUES (?, ?, ?, ?, ?, ${linkParams})
         ON CONFLICT (link, ts, source) DO UPDATE SET site = coalesce(excluded.site, site), region = coalesce(excluded.region, region), ${merge(linkCols)}`,
      ),
      markHour: db.prepare('INSERT OR IGNORE INTO rollup_pending (hour) VALUES (?)'),
      clearMarks: db.prepare('DELETE FROM rollup_pending'),
      latestLink: db.prepare(
        `INSERT INTO link_latest (link, ts, source) VALUES (?, ?, ?)
         ON CONFLICT (link) DO UPDATE SET ts = excluded.ts, source = excluded.source WHERE excluded.ts >= link_latest.ts`,
      ),
    };
  }

  init(): Promise<WriteResult> {
    try {
      this.open();
      this.maybePrune();
      return Promise.resolve({ ok: true });
    } catch (err) {
      return Promise.resolve({
        ok: false,
        retryable: false,
        reason: `cannot open the embedded series store: ${(err as Error).message}`,
      });
    }
  }

  write(points: readonly Point[]): Promise<WriteResult> {
    // Validate the whole batch first: the write is all-or-nothing, and the pipeline bisects a refused
    // batch down to the bad points, so the reason must name the point.
    for (const p of points) {
      const problem = schemaProblem(p);
      if (problem) return Promise.resolve({ ok: false, retryable: false, reason: problem, status: 400 });
    }
    return new Promise((resolve) => {
      this.waiting.push({ points, resolve });
      if (this.waiting.length === 1) setImmediate(() => this.commitWaiting());
    });
  }

  /**
   * Group commit: the batches written in one turn of the event loop (two pushes in flight, whose
   * bodies arrived while the first was decoded) go in one transaction, so one COMMIT and one fsync
   * serve both. Each write still resolves only after the commit that holds it (durable, as before).
   */
  private commitWaiting(): void {
    const batches = this.waiting;
    this.waiting = [];
    let result: WriteResult = { ok: true };
    try {
      const { db, stmts } = this.open();
      if (this.keysSuspect) this.syncKeys(stmts);
      try {
        db.transaction(() => {
          for (const b of batches) this.insert(b.points, stmts);
        })();
      } catch (err) {
        // Rolled back: `cellKeys` may list rows that are not there, or miss some a rolled-back move
        // put back in sample_recent.
        this.keysSuspect = true;
        throw err;
      }
      if (this.pendingCount >= MAX_PENDING_HOURS || performance.now() - this.lastRollupFlush >= ROLLUP_FLUSH_MS)
        this.flushDerived();
    } catch (err) {
      // Disk full, I/O error, a locked file: the data is fine, the store is not — retry later.
      result = { ok: false, retryable: true, reason: `embedded store: ${(err as Error).message}` };
    }
    if (result.ok) {
      this.maybePrune();
      // After the answers (they go out in this turn's microtasks): the move is the slow part.
      if (this.recentRows >= (this.opts.mergeRows ?? MERGE_ROWS) && !this.mergeScheduled) {
        this.mergeScheduled = true;
        setImmediate(() => {
          this.mergeScheduled = false;
          if (this.closed) return;
          try {
            this.mergeRecent();
          } catch (err) {
            // The rows stay in sample_recent (readable after the next move, durable already).
            this.opts.log.error({ err }, 'moving recent samples into the series index failed; will retry');
          }
        });
      }
    }
    for (const b of batches) b.resolve(result);
  }

  /**
   * Moves `sample_recent` into `sample`: one sorted INSERT … SELECT in SQLite, so every cell's page of
   * the (cell, ts, source) index is rewritten once per move instead of once per batch. Inserting each
   * batch into the index directly made every commit rewrite a page per cell (~15 MB of WAL per
   * 5,000-sample batch at 200 samples per cell): the commit was the biggest cost of a push.
   * Readers of raw rows call this first, so they see every acknowledged sample.
   */
  mergeRecent(): void {
    if (this.recentRows === 0 && !this.keysSuspect) return;
    const { db, stmts } = this.open();
    if (this.keysSuspect) {
      this.syncKeys(stmts); // moves what is there, whatever the memory says
      return;
    }
    db.transaction(() => this.moveRecent(stmts))();
    this.keysMoved();
  }

  private moveRecent(stmts: Statements): void {
    stmts.moveRecent.run();
    stmts.clearRecent.run();
  }

  /** After a move: what was recent is stored. */
  private keysMoved(): void {
    for (const k of this.cellKeys.values()) {
      if (k.newest > k.stored) k.stored = k.newest;
      k.newest = -Infinity;
      k.ts.length = 0;
      k.sources.length = 0;
    }
    this.recentRows = 0;
  }

  /**
   * Rebuilds `cellKeys` from the tables (at open, and after a failed transaction): sample_recent is
   * moved, then each cell's newest stored ts is one index seek. Cells without a row in
   * `sample_latest` have no rows (a new cell is listed there in the transaction of its first row).
   */
  private syncKeys(stmts: Statements): void {
    const db = this.db!;
    db.transaction(() => this.moveRecent(stmts))();
    const keys = new Map<string, CellKeys>();
    for (const cell of this.knownCells!) {
      keys.set(cell, { stored: stmts.storedNewest.get(cell) ?? -Infinity, newest: -Infinity, ts: [], sources: [] });
    }
    this.cellKeys = keys;
    this.recentRows = 0;
    this.keysSuspect = false;
  }

  /**
   * Whether (cell, ts, source) is stored in neither table; if so it is noted as recent. The usual
   * pushed sample is newer than anything of its cell: two comparisons, no lookup.
   */
  private claimKey(cell: string, ts: number, source: string, stmts: Statements): boolean {
    let k = this.cellKeys.get(cell);
    if (!k) {
      k = { stored: -Infinity, newest: -Infinity, ts: [], sources: [] };
      this.cellKeys.set(cell, k);
    }
    if (ts <= k.newest) {
      const list = k.ts;
      for (let i = 0; i < list.length; i++) if (list[i] === ts && k.sources[i] === source) return false;
    }
    if (ts <= k.stored && stmts.storedKey.get(cell, ts, source) !== undefined) return false;
    k.ts.push(ts);
    k.sources.push(source);
    if (ts > k.newest) k.newest = ts;
    this.recentRows++;
    return true;
  }

  private insert(points: readonly Point[], stmts: Statements): void {
    const nf = CELL_FIELDS.length;
    const pending = this.pendingHours;
    const recompute = new Map<string, { cell: string; hour: number }>();
    // The batch's newest point per cell (the point itself: no object per sample).
    const newestCell = new Map<string, Point>();
    const newestLink = new Map<string, { ts: number; source: string }>();
    const batchHours = new Set<number>();
    const cellValues: (number | string | null)[] = new Array<number | string | null>(5 + nf);
    // New rows go to sample_recent ROWS_PER_INSERT at a time (one statement, a third faster than row
    // by row). Rows whose key is stored already (a replay, a correction) are kept aside and merged into
    // `sample` one by one once sample_recent has been moved there, their hours recomputed exactly.
    const width = 5 + nf;
    // Filled in place and passed whole: no growth or length reset per chunk.
    const chunk = Array.from<unknown, number | string | null>({ length: ROWS_PER_INSERT * width }, () => null);
    let rows = 0;
    let again: (number | string | null)[][] | undefined;
    const flushChunk = () => {
      // Spread, not the array: better-sqlite3 binds arguments faster than an array's elements (about a
      // tenth less CPU for 100k rows of this shape, inserts and their JS together).
      if (rows === ROWS_PER_INSERT) stmts.insertRecents.run(...chunk);
      else for (let r = 0; r < rows; r++) stmts.insertRecent.run(chunk.slice(r * width, (r + 1) * width));
      rows = 0;
    };
    const linkValues: (number | string | null)[] = new Array<number | string | null>(5 + LINK_FIELDS.length);
    let lastHour = NaN;
    let hourAccs: Map<string, HourAcc> | undefined;
    for (const p of points) {
      const t = p.tags;
      const f = p.fields;
      const source = t.source ?? 'import';
      if (p.measurement === CELL_MEASUREMENT) {
        const cell = t.cell!;
        cellValues[0] = cell;
        cellValues[1] = p.ts;
        cellValues[2] = source;
        cellValues[3] = t.site ?? null;
        cellValues[4] = t.region ?? null;
        cellColumns(f, cellValues, 5);
        const hour = p.ts - (((p.ts % HOUR_MS) + HOUR_MS) % HOUR_MS);
        if (hour !== lastHour) {
          batchHours.add(hour);
          hourAccs = pending.get(hour);
          if (!hourAccs) pending.set(hour, (hourAccs = new Map()));
          lastHour = hour;
        }
        const newest = newestCell.get(cell);
        if (!newest || p.ts >= newest.ts) newestCell.set(cell, p);
        if (!this.claimKey(cell, p.ts, source, stmts)) {
          (again ??= []).push(cellValues.slice());
          continue;
        }
        // A new key: counted into the rollup at once.
        let acc = hourAccs!.get(cell);
        if (!acc) {
          acc = { cell, hour, n: 0, sums: new Float64Array(nf), counts: new Uint32Array(nf) };
          hourAccs!.set(cell, acc);
          this.pendingCount++;
        }
        acc.n++;
        for (let i = 0; i < nf; i++) {
          const v = cellValues[5 + i];
          if (typeof v === 'number') {
            acc.sums[i]! += v;
            acc.counts[i]!++;
          }
        }
        const at = rows * width;
        for (let i = 0; i < width; i++) chunk[at + i] = cellValues[i]!;
        if (++rows === ROWS_PER_INSERT) flushChunk();
      } else {
        const link = t.link!;
        linkValues[0] = link;
        linkValues[1] = p.ts;
        linkValues[2] = source;
        linkValues[3] = t.site ?? null;
        linkValues[4] = t.region ?? null;
        for (let i = 0; i < LINK_FIELDS.length; i++)
          linkValues[5 + i] = (f[LINK_FIELDS[i]!] as number | undefined) ?? null;
        stmts.insertLink.run(linkValues);
        const newest = newestLink.get(link);
        if (!newest || p.ts >= newest.ts) newestLink.set(link, { ts: p.ts, source });
      }
    }
    flushChunk();
    if (again) {
      // Each key's first write of this batch (if new) is in sample_recent, ahead of these, as in order.
      this.moveRecent(stmts);
      this.keysMoved();
      for (const row of again) {
        stmts.mergeSample.run(row);
        const cell = row[0] as string;
        const ts = row[1] as number;
        const k = this.cellKeys.get(cell)!;
        if (ts > k.stored) k.stored = ts;
        const hour = ts - (((ts % HOUR_MS) + HOUR_MS) % HOUR_MS);
        recompute.set(cell + '\n' + hour, { cell, hour });
      }
    }
    // Hours with rollup sums still in memory are marked on disk in this same transaction, so a crash
    // before the next flush is repaired at start-up by recomputing them from the raw rows.
    for (const hour of batchHours) {
      if (this.markedHours.has(hour)) continue;
      stmts.markHour.run(hour);
      this.markedHours.add(hour);
    }
    for (const hc of recompute.values()) {
      // The raw rows include what was accumulated for this hour.
      if (pending.get(hc.hour)?.delete(hc.cell)) this.pendingCount--;
      stmts.recomputeHourly.run(hc);
    }
    const known = this.knownCells!;
    for (const [cell, p] of newestCell) {
      const source = p.tags.source ?? 'import';
      if (!known.has(cell)) {
        stmts.latestSample.run(cell, p.ts, source);
        known.add(cell);
        continue;
      }
      const pending = this.pendingLatest.get(cell);
      if (!pending) this.pendingLatest.set(cell, { ts: p.ts, source });
      else if (p.ts >= pending.ts) {
        // Updated in place: a pushed batch has one sample per cell, so this runs per sample.
        pending.ts = p.ts;
        pending.source = source;
      }
    }
    for (const [link, n] of newestLink) stmts.latestLink.run(link, n.ts, n.source);
  }

  /**
   * Adds the rollup sums accumulated in memory to `sample_hourly`. Deferring them turns one upsert
   * per sample into one per cell and hour when data comes fast (bulk import, replay), and costs
   * nothing when it comes slowly; readers flush first, so they never see rollups behind the samples.
   */
  flushDerived(): void {
    if (this.pendingCount === 0 && this.markedHours.size === 0 && this.pendingLatest.size === 0) return;
    const { db, stmts } = this.open();
    const nf = CELL_FIELDS.length;
    const values: (number | string)[] = new Array<number | string>(3 + 2 * nf);
    db.transaction(() => {
      for (const hourAccs of this.pendingHours.values()) {
        for (const acc of hourAccs.values()) {
          values[0] = acc.cell;
          values[1] = acc.hour;
          values[2] = acc.n;
          for (let i = 0; i < nf; i++) {
            values[3 + 2 * i] = acc.sums[i]!;
            values[4 + 2 * i] = acc.counts[i]!;
          }
          stmts.addHourly.run(values);
        }
      }
      for (const [cell, n] of this.pendingLatest) stmts.latestSample.run(cell, n.ts, n.source);
      stmts.clearMarks.run();
    })();
    this.pendingHours.clear();
    this.pendingCount = 0;
    this.pendingLatest.clear();
    this.markedHours.clear();
    this.lastRollupFlush = performance.now();
  }

  /**
   * After a crash, what was held in memory is rebuilt from the raw rows: rollups of the marked hours,
   * and the newest sample of every cell (one indexed lookup per cell).
   */
  private repairDerived(db: Database, stmts: Statements): void {
    const hours = db.prepare<[], number>('SELECT hour FROM rollup_pending ORDER BY hour').pluck().all();
    if (hours.length === 0) return;
    const cells = db.prepare<[], string>('SELECT cell FROM sample_latest').pluck().all();
    const newest = db.prepare<[string], { ts: number; source: string }>(
      'SELECT ts, source FROM sample WHERE cell = ? ORDER BY ts DESC LIMIT 1',
    );
    db.transaction(() => {
      for (const hour of hours) for (const cell of cells) stmts.recomputeHourly.run({ cell, hour });
      for (const cell of cells) {
        const n = newest.get(cell);
        if (n) stmts.latestSample.run(cell, n.ts, n.source);
      }
      stmts.clearMarks.run();
    })();
    this.opts.log.warn(
      { hours: hours.length, cells: cells.length },
      'rebuilt hourly rollups and latest samples left incomplete by an unclean shutdown',
    );
  }

  /** Starts a prune when an hour of clock time has passed since the last one. */
  private maybePrune(): void {
    const now = this.opts.clock.now();
    if (this.pruning || now - this.lastPrune < HOUR_MS) return;
    this.lastPrune = now;
    this.pruning = this.prune(now)
      .then(() => undefined)
      .catch((err: unknown) => this.opts.log.error({ err }, 'pruning the embedded series store failed; will retry'))
      .finally(() => (this.pruning = undefined));
  }

  /**
   * Deletes raw rows older than the retention and rollups older than twice that, one cell at a time
   * through the primary key (no full scans, no index on ts to slow inserts), yielding to the event loop
   * between chunks so API requests are not held up.
   */
  async prune(now: EpochMs = this.opts.clock.now()): Promise<{ samples: number; hourly: number; links: number }> {
    const rawCutoff = now - this.opts.retentionMs;
    const rollupCutoff = now - 2 * this.opts.retentionMs;
    const removed = { samples: 0, hourly: 0, links: 0 };
    this.mergeRecent();
    this.flushDerived();
    const { db } = this.open();
    const cells = db
      .prepare<[], { cell: string }>('SELECT cell FROM sample_latest')
      .all()
      .map((r) => r.cell);
    const links = db
      .prepare<[], { link: string }>('SELECT link FROM link_latest')
      .all()
      .map((r) => r.link);
    const delSample = db.prepare('DELETE FROM sample WHERE cell = ? AND ts < ?');
    const delHourly = db.prepare('DELETE FROM sample_hourly WHERE cell = ? AND hour < ?');
    const delLatest = db.prepare('DELETE FROM sample_latest WHERE cell = ? AND ts < ?');
    const delLink = db.prepare('DELETE FROM link WHERE link = ? AND ts < ?');
    const delLinkLatest = db.prepare('DELETE FROM link_latest WHERE link = ? AND ts < ?');
    const CHUNK = 200;
    for (let i = 0; i < cells.length; i += CHUNK) {
      if (this.closing) return removed; // the rest waits for the next prune
      db.transaction(() => {
        for (const cell of cells.slice(i, i + CHUNK)) {
          removed.samples += delSample.run(cell, rawCutoff).changes;
          removed.hourly += delHourly.run(cell, rollupCutoff).changes;
          // A cell silent for longer than the rollups are kept has nothing left to show.
          if (delLatest.run(cell, rollupCutoff).changes > 0) this.knownCells?.delete(cell);
        }
      })();
      await yieldToLoop();
    }
    for (let i = 0; i < links.length; i += CHUNK) {
      if (this.closing) return removed; // the rest waits for the next prune
      db.transaction(() => {
        for (const link of links.slice(i, i + CHUNK)) {
          removed.links += delLink.run(link, rawCutoff).changes;
          delLinkLatest.run(link, rawCutoff);
        }
      })();
      await yieldToLoop();
    }
    if (removed.samples + removed.hourly + removed.links > 0)
      this.opts.log.info({ ...removed, rawCutoff }, 'embedded series store pruned');
    return removed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true; // a prune in progress stops at its next chunk instead of finishing the pass
    await this.pruning;
    try {
      this.mergeRecent();
      this.flushDerived();
    } catch (err) {
      // What is left in sample_recent is moved at the next start, and the marks on disk make it rebuild
      // the rollups and latest samples from the raw rows: nothing is lost.
      this.opts.log.error(
        { err },
        'could not flush hourly rollups and latest samples on close; they are rebuilt at the next start',
      );
    }
    this.closed = true;
    this.db?.close();
    this.db = undefined;
  }
}

const rowSample = (r: Row): Sample => pointSample(rowPoint(r, CELL_MEASUREMENT, CELL_FIELDS, r.ts as number));
const rowLink = (r: Row): LinkSample => pointLink(rowPoint(r, LINK_MEASUREMENT, LINK_FIELDS, r.ts as number));

/** Bucket means as a SeriesBucket: `available` becomes `availability`, absent fields stay absent. */
class EmbeddedReader implements SeriesReader {
  private stmts?: {
    latestAll: Statement<[], Row>;
    latestOne: Statement<[string], Row>;
    latestLinks: Statement<[], Row>;
    series: Statement<[{ res: number; cell: string; from: number; to: number }], Row>;
    hourlyAll: Statement<[number, number], Row>;
    hourlyCell: Statement<[string, number, number], Row>;
  };

  constructor(
    private readonly open: () => { db: Database },
    private readonly flushDerived: () => void,
    /** Raw rows are read from `sample` only: what is still in `sample_recent` goes there first. */
    private readonly mergeRecent: () => void,
  ) {}

  private get s() {
    if (!this.stmts) {
      const { db } = this.open();
      const latest = `SELECT s.* FROM sample_latest l JOIN sample s ON s.cell = l.cell AND s.ts = l.ts AND s.source = l.source`;
      this.stmts = {
        latestAll: db.prepare(`${latest} ORDER BY l.cell`),
        latestOne: db.prepare(`${latest} WHERE l.cell = ?`),
        latestLinks: db.prepare(
          `SELECT k.* FROM link_latest l JOIN link k ON k.link = l.link AND k.ts = l.ts AND k.source = l.source ORDER BY l.link`,
        ),
        series: db.prepare(
          `SELECT ts - (ts % @res) AS bucket, count(*) AS n, ${cellCols.map((c) => `avg(${c}) AS ${c}`).join(', ')}
           FROM sample WHERE cell = @cell AND ts >= @from AND ts < @to GROUP BY bucket ORDER BY bucket`,
        ),
        hourlyAll: db.prepare(`SELECT * FROM sample_hourly WHERE hour >= ? AND hour < ? ORDER BY cell, hour`),
        hourlyCell: db.prepare(`SELECT * FROM sample_hourly WHERE cell = ? AND hour >= ? AND hour < ? ORDER BY hour`),
      };
    }
    return this.stmts;
  }

  latest(cells?: readonly string[]): Promise<Sample[]> {
    this.mergeRecent();
    this.flushDerived();
    if (!cells) return Promise.resolve(this.s.latestAll.all().map(rowSample));
    const out: Sample[] = [];
    for (const cell of new Set(cells)) {
      const r = this.s.latestOne.get(cell);
      if (r) out.push(rowSample(r));
    }
    return Promise.resolve(out.sort(byCell));
  }

  latestLinks(): Promise<LinkSample[]> {
    // No flush: link_latest is written with the links themselves; what is held back is cell rollups.
    return Promise.resolve(this.s.latestLinks.all().map(rowLink));
  }

  series(cell: string, from: EpochMs, to: EpochMs, resolutionMs: number): Promise<SeriesBucket[]> {
    if (!(resolutionMs >= 1)) return Promise.reject(new RangeError(`resolution must be ≥ 1 ms, got ${resolutionMs}`));
    this.mergeRecent();
    const rows = this.s.series.all({ res: Math.round(resolutionMs), cell, from, to });
    return Promise.resolve(
      rows.map((r) => bucket(cell, r.bucket as number, r.n as number, (f) => r[f] as number | null)),
    );
  }

  hourly(from: EpochMs, to: EpochMs, cells?: readonly string[]): Promise<SeriesBucket[]> {
    this.flushDerived();
    const rows = cells ? cells.flatMap((c) => this.s.hourlyCell.all(c, from, to)) : this.s.hourlyAll.all(from, to);
    return Promise.resolve(
      rows.map((r) =>
        bucket(r.cell as string, r.hour as number, r.n as number, (f) => {
          const n = r[`${f}_n`] as number;
          return n > 0 ? (r[`${f}_sum`] as number) / n : null;
        }),
      ),
    );
  }
}
