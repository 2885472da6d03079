import type { Database } from 'better-sqlite3';
import type { TargetResult, TargetScope } from '../../model/index.js';
import type { MigrationStep } from './index.js';

export const targetMigrations: readonly MigrationStep[] = [
  {
    name: 'daily targets',
    up: (db) => {
      db.exec(`
        CREATE TABLE daily_target (
          day    TEXT NOT NULL,          -- local YYYY-MM-DD
          scope  TEXT NOT NULL,
          id     TEXT NOT NULL,
          stream TEXT NOT NULL DEFAULT 'counters',
          body   TEXT NOT NULL,
          PRIMARY KEY (day, scope, id, stream)
        );
        CREATE INDEX daily_target_scope_day ON daily_target (scope, id, day);
      `);
    },
  },
];

export interface TargetQuery {
  /** Inclusive local days, YYYY-MM-DD (a single day: from = to). */
  from?: string;
  to?: string;
  scope?: TargetScope;
  id?: string;
  stream?: string;
}

/** The daily good-experience results: history, and today's as it was last updated. */
export class TargetRecords {
  readonly save: (results: readonly TargetResult[], stream?: string) => void;

  constructor(private readonly db: Database) {
    const upsert = db.prepare(
      `INSERT INTO daily_target (day, scope, id, stream, body) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (day, scope, id, stream) DO UPDATE SET body = excluded.body`,
    );
    this.save = db.transaction((results: readonly TargetResult[], stream = 'counters') => {
      for (const r of results) upsert.run(r.day, r.scope, r.id, stream, JSON.stringify(r));
    });
  }

  list(q: TargetQuery = {}): TargetResult[] {
    const where: string[] = ['stream = @stream'];
    const args: Record<string, unknown> = { stream: q.stream ?? 'counters' };
    if (q.from !== undefined) {
      where.push('day >= @from');
      args.from = q.from;
    }
    if (q.to !== undefined) {
      where.push('day <= @to');
      args.to = q.to;
    }
    if (q.scope !== undefined) {
      where.push('scope = @scope');
      args.scope = q.scope;
    }
    if (q.id !== undefined) {
      where.push('id = @id');
      args.id = q.id;
    }
    const rows = this.db
      .prepare(`SELECT body FROM daily_target WHERE ${where.join(' AND ')} ORDER BY day, scope, id`)
      .all(args) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as TargetResult);
  }
}
