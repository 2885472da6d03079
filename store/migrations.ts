import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';

/**
 * One schema step of a SQLite database. Versions are 1, 2, 3, … in array order; a database's
 * `PRAGMA user_version` says how many have been applied. Later issues add tables by appending a
 * migration here — never by editing one that has shipped.
 */
export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

/** Thrown when a database was written by a newer cellwatch than this one. */
export class SchemaTooNewError extends Error {
  constructor(file: string, found: number, known: number) {
    super(
      `${file}: database schema version ${found} is newer than this cellwatch knows (${known}); ` +
        'it was written by a newer release — upgrade cellwatch or point dataDir elsewhere (the file was not changed)',
    );
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Brings `db` up to the last migration. Each migration runs in its own transaction together with the
 * bump of user_version, so a crash leaves the database at a whole version, never half-migrated.
 */
export function migrate(db: Database, migrations: readonly Migration[], log: Logger, file: string): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration list out of order: "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  const known = migrations.length;
  if (current > known) throw new SchemaTooNewError(file, current, known);
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
    log.info({ file, version: m.version, migration: m.name }, 'database migrated');
  }
  return known;
}

/** The record store's schema (`cellwatch.db`). */
export const recordMigrations: Migration[] = [
  {
    version: 1,
    name: 'collection gaps',
    up: (db) => {
      db.exec(`
        CREATE TABLE collection_gap (
          id      INTEGER PRIMARY KEY,
          target  TEXT    NOT NULL,
          ts      INTEGER NOT NULL,
          reason  TEXT    NOT NULL,
          cells   TEXT    NOT NULL, -- JSON array of cell (or link) ids
          detail  TEXT
        );
        CREATE INDEX collection_gap_ts ON collection_gap (ts);
        CREATE INDEX collection_gap_target_ts ON collection_gap (target, ts);
      `);
    },
  },
];
