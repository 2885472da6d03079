import { createHash } from 'node:crypto';
import type { MigrationStep } from './index.js';
import type { Database, Statement } from 'better-sqlite3';
import type { EpochMs } from '../../model/index.js';

/**
 * The notification log, Alertmanager's nflog: per (group key, sink) what was last sent successfully —
 * the firing alerts' keys and the resolved alerts' fingerprints, with a hash of each set — so a
 * restarted daemon neither re-sends what a sink already has nor forgets to send a resolution. Beside
 * it, the history of every delivery (sent, or failed with its reason and attempt count).
 */

export interface NotificationEntry {
  groupKey: string;
  sink: string;
  firing: string[];
  resolved: string[];
  firingHash: string;
  resolvedHash: string;
  at: EpochMs;
}

export interface NotificationDelivery {
  id: string;
  groupKey: string;
  sink: string;
  status: 'firing' | 'resolved';
  firing: string[];
  resolved: string[];
  alerts: number;
  result: 'sent' | 'failed';
  reason: string;
  attempts: number;
  firstAttemptAt: EpochMs;
  at: EpochMs;
}

export interface DeliveryQuery {
  groupKey?: string;
  sink?: string;
  from?: EpochMs;
  to?: EpochMs;
  limit?: number;
}

export const notificationRecordMigrations: readonly MigrationStep[] = [
  {
    name: 'alert notification log',
    up: (db) => {
      db.exec(`
        CREATE TABLE notification_log (
          group_key      TEXT    NOT NULL,
          sink           TEXT    NOT NULL,
          firing         TEXT    NOT NULL, -- JSON array of keys
          resolved       TEXT    NOT NULL, -- JSON array of fingerprints
          firing_hash    TEXT    NOT NULL,
          resolved_hash  TEXT    NOT NULL,
          at             INTEGER NOT NULL,
          PRIMARY KEY (group_key, sink)
        ) WITHOUT ROWID;
        CREATE TABLE notification (
          id                TEXT PRIMARY KEY,
          group_key         TEXT    NOT NULL,
          sink              TEXT    NOT NULL,
          status            TEXT    NOT NULL,
          firing            TEXT    NOT NULL,
          resolved          TEXT    NOT NULL,
          alerts            INTEGER NOT NULL,
          result            TEXT    NOT NULL,
          reason            TEXT    NOT NULL,
          attempts          INTEGER NOT NULL,
          first_attempt_at  INTEGER NOT NULL,
          at                INTEGER NOT NULL
        );
        CREATE INDEX notification_at ON notification (at);
        CREATE INDEX notification_group_at ON notification (group_key, at);
      `);
    },
  },
];

/** sha256 over the sorted set, 16 hex digits: equal sets, equal hashes. */
export function setHash(keys: readonly string[]): string {
  return createHash('sha256')
    .update([...keys].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
}

interface EntryRow {
  group_key: string;
  sink: string;
  firing: string;
  resolved: string;
  firing_hash: string;
  resolved_hash: string;
  at: number;
}

interface DeliveryRow {
  id: string;
  group_key: string;
  sink: string;
  status: 'firing' | 'resolved';
  firing: string;
  resolved: string;
  alerts: number;
  result: 'sent' | 'failed';
  reason: string;
  attempts: number;
  first_attempt_at: number;
  at: number;
}

export class NotificationRecords {
  private readonly selectEntry: Statement<[string, string], EntryRow>;
  private readonly upsertEntry: Statement;
  private readonly insertDelivery: Statement;

  constructor(private readonly db: Database) {
    this.selectEntry = db.prepare<[string, string], EntryRow>(
      'SELECT * FROM notification_log WHERE group_key = ? AND sink = ?',
    );
    this.upsertEntry = db.prepare(`
      INSERT INTO notification_log (group_key, sink, firing, resolved, firing_hash, resolved_hash, at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (group_key, sink) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved,
        firing_hash = excluded.firing_hash, resolved_hash = excluded.resolved_hash, at = excluded.at`);
    this.insertDelivery = db.prepare(`
      INSERT OR REPLACE INTO notification (id, group_key, sink, status, firing, resolved, alerts, result, reason, attempts,
        first_attempt_at, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  entry(groupKey: string, sink: string): NotificationEntry | undefined {
    const r = this.selectEntry.get(groupKey, sink);
    if (!r) return undefined;
    return {
      groupKey: r.group_key,
      sink: r.sink,
      firing: JSON.parse(r.firing) as string[],
      resolved: JSON.parse(r.resolved) as string[],
      firingHash: r.firing_hash,
      resolvedHash: r.resolved_hash,
      at: r.at,
    };
  }

  /** Records a delivery; a sent one becomes the (group, sink) entry. */
  record(d: NotificationDelivery): void {
    this.db.transaction(() => {
      this.insertDelivery.run(
        d.id,
        d.groupKey,
        d.sink,
        d.status,
        JSON.stringify(d.firing),
        JSON.stringify(d.resolved),
        d.alerts,
        d.result,
        d.reason,
        d.attempts,
        d.firstAttemptAt,
        d.at,
      );
      if (d.result === 'sent')
        this.upsertEntry.run(
          d.groupKey,
          d.sink,
          JSON.stringify(d.firing),
          JSON.stringify(d.resolved),
          setHash(d.firing),
          setHash(d.resolved),
          d.at,
        );
    })();
  }

  /** Deliveries, newest first. */
  deliveries(q: DeliveryQuery = {}): NotificationDelivery[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.groupKey !== undefined) {
      where.push('group_key = ?');
      args.push(q.groupKey);
    }
    if (q.sink !== undefined) {
      where.push('sink = ?');
      args.push(q.sink);
    }
    if (q.from !== undefined) {
      where.push('at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at < ?');
      args.push(q.to);
    }
    const limit = Math.max(1, Math.min(10_000, Math.floor(q.limit ?? 500)));
    return this.db
      .prepare<(string | number)[], DeliveryRow>(
        `SELECT * FROM notification${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, rowid DESC LIMIT ${limit}`,
      )
      .all(...args)
      .map((r) => ({
        id: r.id,
        groupKey: r.group_key,
        sink: r.sink,
        status: r.status,
        firing: JSON.parse(r.firing) as string[],
        resolved: JSON.parse(r.resolved) as string[],
        alerts: r.alerts,
        result: r.result,
        reason: r.reason,
        attempts: r.attempts,
        firstAttemptAt: r.first_attempt_at,
        at: r.at,
      }));
  }

  /**
   * Forgets deliveries older than `before`, and log entries older than that which list nothing firing
   * (an entry that still lists firing alerts is what keeps an acked, long-running problem from being
   * sent again as new).
   */
  prune(before: EpochMs): number {
    return this.db.transaction(() => {
      const a = this.db.prepare('DELETE FROM notification WHERE at < ?').run(before).changes;
      const b = this.db.prepare("DELETE FROM notification_log WHERE at < ? AND firing = '[]'").run(before).changes;
      return a + b;
    })();
  }
}
