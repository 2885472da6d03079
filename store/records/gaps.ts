import type { Database } from 'better-sqlite3';
import type { CollectionGap, EpochMs } from '../../model/index.js';
import type { MigrationStep } from './index.js';

/** Schema steps of the gap records, in the order they shipped (records/index.ts numbers them). */
export const gapMigrations: readonly MigrationStep[] = [
  {
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

interface GapRow {
  target: string;
  ts: number;
  reason: CollectionGap['reason'];
  cells: string;
  detail: string | null;
}

/** Collection gaps: when a target gave no data, and which cells that left unseen. */
export class GapRecords {
  private readonly insertGap;
  private readonly selectGaps;
  private readonly selectTargetGaps;

  constructor(db: Database) {
    this.insertGap = db.prepare(
      'INSERT INTO collection_gap (target, ts, reason, cells, detail) VALUES (?, ?, ?, ?, ?)',
    );
    this.selectGaps = db.prepare<[number, number], GapRow>(
      'SELECT target, ts, reason, cells, detail FROM collection_gap WHERE ts >= ? AND ts < ? ORDER BY ts, id',
    );
    this.selectTargetGaps = db.prepare<[string, number, number], GapRow>(
      'SELECT target, ts, reason, cells, detail FROM collection_gap WHERE target = ? AND ts >= ? AND ts < ? ORDER BY ts, id',
    );
    this.add = db.transaction((gaps: readonly CollectionGap[]) => {
      for (const g of gaps) this.insertGap.run(g.target, g.ts, g.reason, JSON.stringify(g.cells), g.detail ?? null);
    });
  }

  /** All in one transaction. */
  readonly add: (gaps: readonly CollectionGap[]) => void;

  /** Gaps with `from <= ts < to`, oldest first. */
  list(from: EpochMs, to: EpochMs, target?: string): CollectionGap[] {
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
}
