import BetterSqlite3, { type Database } from 'better-sqlite3';
import type { Logger } from 'pino';

/*
 * SQLite plumbing shared by the record database (cellwatch.db) and the embedded series store
 * (series.db): opening in WAL mode and versioned migrations.
 */

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

/** Opens (creating if needed) a SQLite file in WAL mode and migrates it. */
export function openDatabase(
  file: string,
  migrations: readonly Migration[],
  log: Logger,
  opts: { synchronous: 'NORMAL' | 'FULL' },
): Database {
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma('foreign_keys = ON');
    // A reader (API request) and the writer may meet on the same file; wait instead of failing.
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations, log, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
