import type { Database, Statement } from 'better-sqlite3';
import type { Cause, EpochMs, Window, WindowEvent } from '../../model/index.js';
import type { MigrationStep } from './index.js';

export const windowMigrations: readonly MigrationStep[] = [
  {
    name: 'degradation windows',
    up: (db) => {
      db.exec(`
        CREATE TABLE degradation_window (
          id       TEXT    PRIMARY KEY,
          cell     TEXT    NOT NULL,
          site     TEXT,
          region   TEXT,
          stream   TEXT    NOT NULL,
          start    INTEGER NOT NULL,
          "end"    INTEGER,             -- NULL while open
          cause    TEXT    NOT NULL,
          severity REAL    NOT NULL,
          body     TEXT    NOT NULL      -- the whole Window as JSON
        );
        CREATE INDEX degradation_window_cell_start ON degradation_window (cell, start);
        CREATE INDEX degradation_window_start ON degradation_window (start);
        CREATE INDEX degradation_window_region_start ON degradation_window (region, start);
        CREATE INDEX degradation_window_open ON degradation_window (start) WHERE "end" IS NULL;
      `);
    },
  },
];

/**
 * Shipped after the other kinds' first steps (recordMigrations is append-only): what lets a query for
 * windows overlapping a time read only the windows near it (see WindowRecords.list).
 */
export const windowOverlapMigrations: readonly MigrationStep[] = [
  {
    name: 'degradation windows: longest closed window, open windows by cell and by region',
    up: (db) => {
      db.exec(`
        CREATE INDEX degradation_window_length ON degradation_window ("end" - start) WHERE "end" IS NOT NULL;
        CREATE INDEX degradation_window_open_cell ON degradation_window (cell, start) WHERE "end" IS NULL;
        CREATE INDEX degradation_window_open_region ON degradation_window (region, start) WHERE "end" IS NULL;
      `);
    },
  },
];

/** The longest closed window, ms (NULL without one), from its index in O(log n). */
const LONGEST_CLOSED = 'SELECT max("end" - start) FROM degradation_window WHERE "end" IS NOT NULL';

export interface WindowQuery {
  cell?: string;
  cells?: readonly string[];
  region?: string;
  /** Windows overlapping [from, to). */
  from?: EpochMs;
  to?: EpochMs;
  open?: boolean;
  cause?: Cause;
  limit?: number;
}

/**
 * Degradation windows as the detector last published them: an `opened`/`changed`/`closed` event
 * upserts the window, `retracted` deletes it. Every event of a batch commits in one transaction, so a
 * restart finds each window as its last event left it — no duplicate, no lost one.
 */
export class WindowRecords {
  readonly apply: (events: readonly WindowEvent[]) => void;
  private readonly selectOne;
  private readonly selectOpen;

  constructor(private readonly db: Database) {
    const upsert = db.prepare(
      `INSERT INTO degradation_window (id, cell, site, region, stream, start, "end", cause, severity, body)
       VALUES (@id, @cell, @site, @region, @stream, @start, @end, @cause, @severity, @body)
       ON CONFLICT (id) DO UPDATE SET cell = excluded.cell, site = excluded.site, region = excluded.region,
         stream = excluded.stream, start = excluded.start, "end" = excluded."end", cause = excluded.cause,
         severity = excluded.severity, body = excluded.body`,
    );
    const remove = db.prepare('DELETE FROM degradation_window WHERE id = ?');
    this.apply = db.transaction((events: readonly WindowEvent[]) => {
      for (const e of events) {
        if (e.change === 'retracted') remove.run(e.window.id);
        else upsert.run(row(e.window));
      }
    });
    this.selectOne = db.prepare<[string], { body: string }>('SELECT body FROM degradation_window WHERE id = ?');
    this.selectOpen = db.prepare<[], { body: string }>(
      'SELECT body FROM degradation_window WHERE "end" IS NULL ORDER BY start, id',
    );
  }

  get(id: string): Window | undefined {
    const r = this.selectOne.get(id);
    return r ? (JSON.parse(r.body) as Window) : undefined;
  }

  open(): Window[] {
    return this.selectOpen.all().map((r) => JSON.parse(r.body) as Window);
  }

  /** Windows matching every given filter, oldest start first (then id). */
  list(q: WindowQuery = {}): Window[] {
    const where: string[] = [];
    const args: Record<string, unknown> = {};
    if (q.cell !== undefined) {
      where.push('cell = @cell');
      args.cell = q.cell;
    }
    if (q.cells !== undefined) {
      if (q.cells.length === 0) return [];
      where.push(`cell IN (${q.cells.map((_, i) => `@c${i}`).join(', ')})`);
      q.cells.forEach((c, i) => (args[`c${i}`] = c));
    }
    if (q.region !== undefined) {
      where.push('region = @region');
      args.region = q.region;
    }
    if (q.to !== undefined) {
      where.push('start < @to');
      args.to = q.to;
    }
    if (q.cause !== undefined) {
      where.push('cause = @cause');
      args.cause = q.cause;
    }
    const select = (w: readonly string[]) =>
      `SELECT body, start, id FROM degradation_window${w.length ? ` WHERE ${w.join(' AND ')}` : ''}`;
    const open = [...where, '"end" IS NULL'];
    let closed = [...where, '"end" IS NOT NULL'];
    if (q.from !== undefined) {
      // A closed window overlaps [from, …) when it ends after `from`; it also started no earlier than
      // `from` less the longest closed window, a bound the (cell, start) and (region, start) indexes can
      // seek to. Without it the agent's lookup read every earlier window of its cells (at 100k windows
      // stored, most of its time). Open windows overlap anything after their start: their own index.
      closed = [...where, '"end" > @from', `start >= @from - (${LONGEST_CLOSED})`];
      args.from = q.from;
    }
    const parts =
      q.open === true
        ? [select(open)]
        : q.open === false
          ? [select(closed)]
          : q.from !== undefined
            ? [select(closed), select(open)]
            : [select(where)];
    const sql = `${parts.join(' UNION ALL ')} ORDER BY start, id LIMIT ${Math.max(0, Math.floor(q.limit ?? 10_000))}`;
    return (this.statement(sql).all(args) as { body: string }[]).map((r) => JSON.parse(r.body) as Window);
  }

  private readonly statements = new Map<string, Statement>();

  /** Prepared once per query shape (the agent's lookup asks the same few shapes hundreds of times a second). */
  private statement(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (this.statements.size >= 256) this.statements.clear();
      this.statements.set(sql, (st = this.db.prepare(sql)));
    }
    return st;
  }
}

function row(w: Window) {
  return {
    id: w.id,
    cell: w.cell,
    site: w.site ?? null,
    region: w.region ?? null,
    stream: w.stream,
    start: w.start,
    end: w.end ?? null,
    cause: w.cause,
    severity: w.severity,
    body: JSON.stringify(w),
  };
}
