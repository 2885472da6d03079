import type { Database } from 'better-sqlite3';
import type { EpochMs } from '../../model/index.js';
import type { MigrationStep } from './index.js';

export const stateMigrations: readonly MigrationStep[] = [
  {
    name: 'component state',
    up: (db) => {
      db.exec(`
        CREATE TABLE component_state (
          name     TEXT    PRIMARY KEY,
          saved_at INTEGER NOT NULL,
          body     TEXT    NOT NULL
        );
      `);
    },
  },
];

/**
 * Snapshots a component takes of itself so that a restart resumes where it stopped (the detector's
 * run state and day accumulators): one JSON document per component name, replaced on every save.
 */
export class StateRecords {
  private readonly upsert;
  private readonly select;

  constructor(db: Database) {
    this.upsert = db.prepare(
      `INSERT INTO component_state (name, saved_at, body) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET saved_at = excluded.saved_at, body = excluded.body`,
    );
    this.select = db.prepare<[string], { saved_at: number; body: string }>(
      'SELECT saved_at, body FROM component_state WHERE name = ?',
    );
  }

  save(name: string, at: EpochMs, value: unknown): void {
    this.upsert.run(name, at, JSON.stringify(value));
  }

  load<T>(name: string): { at: EpochMs; value: T } | undefined {
    const r = this.select.get(name);
    return r ? { at: r.saved_at, value: JSON.parse(r.body) as T } : undefined;
  }
}
