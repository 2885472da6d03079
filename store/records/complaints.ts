import type { Database, Statement } from 'better-sqlite3';
import type { Complaint, ComplaintCorrelation, EpochMs } from '../../model/index.js';
import type { MigrationStep } from './index.js';

export const complaintMigrations: readonly MigrationStep[] = [
  {
    name: 'complaints and their handling events',
    up: (db) => {
      db.exec(`
        CREATE TABLE complaint (
          id          TEXT    PRIMARY KEY,       -- external id: a repeat is a duplicate, never a second row
          received_at INTEGER NOT NULL,
          category    TEXT    NOT NULL,
          channel     TEXT    NOT NULL,
          cell        TEXT,                      -- given, or the best candidate for an address
          region      TEXT,
          body        TEXT    NOT NULL,          -- the Complaint as received (validated), JSON
          explained   INTEGER,                   -- network complaints: 0/1 once correlated
          score       REAL,
          correlation TEXT,                      -- ComplaintCorrelation JSON
          responded_at INTEGER,
          resolved_at  INTEGER
        );
        CREATE INDEX complaint_received ON complaint (received_at);
        CREATE INDEX complaint_cell_received ON complaint (cell, received_at);
        CREATE INDEX complaint_region_received ON complaint (region, received_at);
        CREATE INDEX complaint_unanswered ON complaint (received_at) WHERE responded_at IS NULL AND resolved_at IS NULL;
        CREATE TABLE complaint_event (
          seq       INTEGER PRIMARY KEY,
          complaint TEXT    NOT NULL REFERENCES complaint (id),
          kind      TEXT    NOT NULL,            -- responded | resolved | feedback
          at        INTEGER NOT NULL,
          satisfied INTEGER,
          score     REAL,
          by_whom   TEXT,
          note      TEXT
        );
        CREATE INDEX complaint_event_complaint ON complaint_event (complaint, at);
      `);
    },
  },
];

export type ComplaintEventKind = 'responded' | 'resolved' | 'feedback';

export interface ComplaintEvent {
  kind: ComplaintEventKind;
  at: EpochMs;
  satisfied?: boolean;
  score?: number;
  by?: string;
  note?: string;
}

export interface StoredComplaint {
  complaint: Complaint;
  /** The cell it was filed against or located to, and that cell's region. */
  cell?: string;
  region?: string;
  correlation?: ComplaintCorrelation;
  events: ComplaintEvent[];
}

export interface ComplaintQuery {
  cell?: string;
  cells?: readonly string[];
  region?: string;
  /** receivedAt in [from, to). */
  from?: EpochMs;
  to?: EpochMs;
  explained?: boolean;
  category?: string;
  limit?: number;
  /** Only complaints with no first response and no resolution yet. */
  unanswered?: boolean;
}

interface Row {
  id: string;
  cell: string | null;
  region: string | null;
  body: string;
  correlation: string | null;
}

/**
 * Complaints and their handling events. `insert` commits a batch in one transaction and tells which
 * ids were new and which were already there — idempotent by id also under concurrent posts (SQLite
 * serialises the writers; `INSERT OR IGNORE` makes the second one a no-op). A complaint the caller
 * has acknowledged with a 2xx is committed: WAL keeps a committed transaction across a process crash.
 */
export class ComplaintRecords {
  readonly insert: (items: readonly { complaint: Complaint; cell?: string; region?: string }[]) => {
    accepted: string[];
    duplicates: string[];
  };
  readonly setCorrelations: (changes: readonly { complaint: string; correlation: ComplaintCorrelation }[]) => void;
  private readonly selectOne;
  private readonly selectEvents;
  private readonly insertEvent;
  private readonly markResponded;
  private readonly markResolved;
  /** countOn's statements by the number of cells (the agent's lookup asks hundreds of times a second). */
  private readonly counts = new Map<number, Statement>();

  constructor(private readonly db: Database) {
    const ins = db.prepare(
      `INSERT OR IGNORE INTO complaint (id, received_at, category, channel, cell, region, body)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insert = db.transaction((items: readonly { complaint: Complaint; cell?: string; region?: string }[]) => {
      const accepted: string[] = [];
      const duplicates: string[] = [];
      for (const { complaint: c, cell, region } of items) {
        const r = ins.run(c.id, c.receivedAt, c.category, c.channel, cell ?? null, region ?? null, JSON.stringify(c));
        (r.changes > 0 ? accepted : duplicates).push(c.id);
      }
      return { accepted, duplicates };
    });
    const corr = db.prepare('UPDATE complaint SET explained = ?, score = ?, correlation = ? WHERE id = ?');
    this.setCorrelations = db.transaction(
      (changes: readonly { complaint: string; correlation: ComplaintCorrelation }[]) => {
        for (const ch of changes) {
          corr.run(
            ch.correlation.explained ? 1 : 0,
            ch.correlation.score,
            JSON.stringify(ch.correlation),
            ch.complaint,
          );
        }
      },
    );
    this.selectOne = db.prepare<[string], Row>(
      'SELECT id, cell, region, body, correlation FROM complaint WHERE id = ?',
    );
    this.selectEvents = db.prepare<
      [string],
      {
        kind: ComplaintEventKind;
        at: number;
        satisfied: number | null;
        score: number | null;
        by_whom: string | null;
        note: string | null;
      }
    >('SELECT kind, at, satisfied, score, by_whom, note FROM complaint_event WHERE complaint = ? ORDER BY at, seq');
    this.insertEvent = db.prepare(
      'INSERT INTO complaint_event (complaint, kind, at, satisfied, score, by_whom, note) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.markResponded = db.prepare(
      'UPDATE complaint SET responded_at = min(coalesce(responded_at, ?), ?) WHERE id = ?',
    );
    this.markResolved = db.prepare('UPDATE complaint SET resolved_at = min(coalesce(resolved_at, ?), ?) WHERE id = ?');
  }

  has(id: string): boolean {
    return this.selectOne.get(id) !== undefined;
  }

  get(id: string): StoredComplaint | undefined {
    const r = this.selectOne.get(id);
    return r ? this.stored(r, this.events(r.id)) : undefined;
  }

  /** Records a handling event; false when the complaint is unknown. */
  addEvent(id: string, e: ComplaintEvent): boolean {
    if (!this.has(id)) return false;
    this.db.transaction(() => {
      this.insertEvent.run(
        id,
        e.kind,
        e.at,
        e.satisfied === undefined ? null : e.satisfied ? 1 : 0,
        e.score ?? null,
        e.by ?? null,
        e.note ?? null,
      );
      // A resolution is also an answer: the customer heard back.
      if (e.kind === 'responded' || e.kind === 'resolved') this.markResponded.run(e.at, e.at, id);
      if (e.kind === 'resolved') this.markResolved.run(e.at, e.at, id);
    })();
    return true;
  }

  /** Matching complaints, newest first, each with its events when `withEvents`. */
  list(q: ComplaintQuery = {}, withEvents = false): StoredComplaint[] {
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
    if (q.from !== undefined) {
      where.push('received_at >= @from');
      args.from = q.from;
    }
    if (q.to !== undefined) {
      where.push('received_at < @to');
      args.to = q.to;
    }
    if (q.explained !== undefined) where.push(q.explained ? 'explained = 1' : 'explained = 0');
    if (q.category !== undefined) {
      where.push('category = @category');
      args.category = q.category;
    }
    if (q.unanswered) where.push('responded_at IS NULL AND resolved_at IS NULL');
    const limit = Math.max(0, Math.floor(q.limit ?? 1000));
    const rows = this.db
      .prepare(
        `SELECT id, cell, region, body, correlation FROM complaint${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
         ORDER BY received_at DESC, id LIMIT ${limit}`,
      )
      .all(args) as Row[];
    if (!withEvents) return rows.map((r) => this.stored(r, []));
    const events = this.eventsFor(rows.map((r) => r.id));
    return rows.map((r) => this.stored(r, events.get(r.id) ?? []));
  }

  /** Complaints received in [from, to) on these cells: the count a care agent may be told. */
  countOn(cells: readonly string[], from: EpochMs, to: EpochMs): number {
    if (cells.length === 0) return 0;
    let st = this.counts.get(cells.length);
    if (!st) {
      if (this.counts.size >= 256) this.counts.clear();
      st = this.db.prepare(
        `SELECT count(*) AS n FROM complaint WHERE cell IN (${cells.map(() => '?').join(', ')}) AND received_at >= ? AND received_at < ?`,
      );
      this.counts.set(cells.length, st);
    }
    return (st.get(...cells, from, to) as { n: number }).n;
  }

  private events(id: string): ComplaintEvent[] {
    return this.selectEvents.all(id).map((e) => ({
      kind: e.kind,
      at: e.at,
      ...(e.satisfied !== null ? { satisfied: e.satisfied === 1 } : {}),
      ...(e.score !== null ? { score: e.score } : {}),
      ...(e.by_whom !== null ? { by: e.by_whom } : {}),
      ...(e.note !== null ? { note: e.note } : {}),
    }));
  }

  private eventsFor(ids: readonly string[]): Map<string, ComplaintEvent[]> {
    const out = new Map<string, ComplaintEvent[]>();
    // Chunks keep the statement under SQLite's variable limit.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(
          `SELECT complaint, kind, at, satisfied, score FROM complaint_event WHERE complaint IN (${chunk.map(() => '?').join(', ')}) ORDER BY at, seq`,
        )
        .all(...chunk) as {
        complaint: string;
        kind: ComplaintEventKind;
        at: number;
        satisfied: number | null;
        score: number | null;
      }[];
      for (const e of rows) {
        let list = out.get(e.complaint);
        if (!list) out.set(e.complaint, (list = []));
        list.push({
          kind: e.kind,
          at: e.at,
          ...(e.satisfied !== null ? { satisfied: e.satisfied === 1 } : {}),
          ...(e.score !== null ? { score: e.score } : {}),
        });
      }
    }
    return out;
  }

  private stored(r: Row, events: ComplaintEvent[]): StoredComplaint {
    return {
      complaint: JSON.parse(r.body) as Complaint,
      ...(r.cell !== null ? { cell: r.cell } : {}),
      ...(r.region !== null ? { region: r.region } : {}),
      ...(r.correlation !== null ? { correlation: JSON.parse(r.correlation) as ComplaintCorrelation } : {}),
      events,
    };
  }
}
