import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { CollectionGap, EpochMs } from '../model/index.js';
import { migrate, recordMigrations, type Migration } from './migrations.js';

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

interface GapRow {
  target: string;
  ts: number;
  reason: CollectionGap['reason'];
  cells: string;
  detail: string | null;
}

/**
 * Records: collection gaps now; complaints, windows, alerts and silences in later issues (each adds
 * its tables through a new migration in store/migrations.ts). `${dataDir}/cellwatch.db`, WAL mode,
 * synchronous=NORMAL: a committed row survives a process crash; an OS crash may lose the last
 * transactions, which for records (re-derivable or re-posted idempotently) is the usual trade.
 */
export class RecordStore {
  private closed = false;
  private readonly insertGap;
  private readonly selectGaps;
  private readonly selectTargetGaps;

  private constructor(readonly db: Database) {
    this.insertGap = db.prepare(
      'INSERT INTO collection_gap (target, ts, reason, cells, detail) VALUES (?, ?, ?, ?, ?)',
    );
    this.selectGaps = db.prepare<[number, number], GapRow>(
      'SELECT target, ts, reason, cells, detail FROM collection_gap WHERE ts >= ? AND ts < ? ORDER BY ts, id',
    );
    this.selectTargetGaps = db.prepare<[string, number, number], GapRow>(
      'SELECT target, ts, reason, cells, detail FROM collection_gap WHERE target = ? AND ts >= ? AND ts < ? ORDER BY ts, id',
    );
  }

  static open(dataDir: string, log: Logger, migrations: readonly Migration[] = recordMigrations): RecordStore {
    mkdirSync(dataDir, { recursive: true });
    return new RecordStore(openDatabase(join(dataDir, 'cellwatch.db'), migrations, log, { synchronous: 'NORMAL' }));
  }

  addGaps(gaps: CollectionGap[]): void {
    if (gaps.length === 0) return;
    this.db.transaction(() => {
      for (const g of gaps) this.insertGap.run(g.target, g.ts, g.reason, JSON.stringify(g.cells), g.detail ?? null);
    })();
  }

  /** Gaps with `from <= ts < to`, oldest first. */
  gaps(from: EpochMs, to: EpochMs, target?: string): CollectionGap[] {
    const rows = target === undefined ? this.selectGaps.all(from, to) : this.selectTargetGaps.all(target, from, to);
    return rows.map((r) => {
      const gap: CollectionGap = {
        target: r.target,
        ts: r.ts,
        reason: r.reason,
        cells: JSON.parse(r.cells) as string[],
      };
      if (r.detail !== null) gap.detail = r.detail;
      return gap;
    });
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
