import type { MigrationStep } from './index.js';
import type { Database, Statement } from 'better-sqlite3';
import type { EpochMs } from '../../model/index.js';

/**
 * Silences in the record store. Expiring one sets its `endsAt` (it stays listed, like Alertmanager's
 * expired silences) until `prune` deletes those that ended long enough ago.
 */

export interface StoredMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface StoredSilence {
  id: string;
  matchers: StoredMatcher[];
  startsAt: EpochMs;
  endsAt: EpochMs;
  createdBy: string;
  comment: string;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

export const silenceRecordMigrations: readonly MigrationStep[] = [
  {
    name: 'alert silences',
    up: (db) => {
      db.exec(`
        CREATE TABLE silence (
          id          TEXT PRIMARY KEY,
          matchers    TEXT    NOT NULL, -- JSON array of {name, op, value}
          starts_at   INTEGER NOT NULL,
          ends_at     INTEGER NOT NULL,
          created_by  TEXT    NOT NULL,
          comment     TEXT    NOT NULL,
          created_at  INTEGER NOT NULL,
          updated_at  INTEGER NOT NULL
        );
        CREATE INDEX silence_ends ON silence (ends_at);
      `);
    },
  },
];

interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: SilenceRow): StoredSilence => ({
  id: r.id,
  matchers: JSON.parse(r.matchers) as StoredMatcher[],
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  createdBy: r.created_by,
  comment: r.comment,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SilenceRecords {
  private readonly upsert: Statement;
  private readonly selectOne: Statement<[string], SilenceRow>;
  private readonly selectEndingAfter: Statement<[number], SilenceRow>;
  private readonly selectAll: Statement<[number], SilenceRow>;
  private readonly deleteEnded: Statement;

  constructor(db: Database) {
    this.upsert = db.prepare(`
      INSERT INTO silence (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
      VALUES (@id, @matchers, @starts_at, @ends_at, @created_by, @comment, @created_at, @updated_at)
      ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at,
        ends_at = excluded.ends_at, created_by = excluded.created_by, comment = excluded.comment,
        updated_at = excluded.updated_at`);
    this.selectOne = db.prepare<[string], SilenceRow>('SELECT * FROM silence WHERE id = ?');
    this.selectEndingAfter = db.prepare<[number], SilenceRow>(
      'SELECT * FROM silence WHERE ends_at > ? ORDER BY starts_at, id',
    );
    this.selectAll = db.prepare<[number], SilenceRow>('SELECT * FROM silence ORDER BY created_at DESC, id LIMIT ?');
    this.deleteEnded = db.prepare('DELETE FROM silence WHERE ends_at < ?');
  }

  save(s: StoredSilence): void {
    this.upsert.run({
      id: s.id,
      matchers: JSON.stringify(s.matchers),
      starts_at: s.startsAt,
      ends_at: s.endsAt,
      created_by: s.createdBy,
      comment: s.comment,
      created_at: s.createdAt,
      updated_at: s.updatedAt,
    });
  }

  get(id: string): StoredSilence | undefined {
    const r = this.selectOne.get(id);
    return r ? fromRow(r) : undefined;
  }

  /** Silences not yet over at `now` (active and pending): what the matcher needs in memory. */
  unexpired(now: EpochMs): StoredSilence[] {
    return this.selectEndingAfter.all(now).map(fromRow);
  }

  /** Every stored silence, newest first (expired ones included until pruned). */
  list(limit = 1000): StoredSilence[] {
    return this.selectAll.all(limit).map(fromRow);
  }

  /** Deletes silences that ended before `before`. */
  prune(before: EpochMs): number {
    return this.deleteEnded.run(before).changes;
  }
}
