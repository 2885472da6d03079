/**
 * Records: the things cellwatch decides and is told, as rows in `${dataDir}/cellwatch.db` — one store
 * class per record kind (collection gaps now; windows, targets, complaints, alerts, silences and the
 * notification log as their subsystems arrive), all on one shared SQLite handle with one ordered
 * migration list. Kinds stay apart the way Alertmanager keeps `silence/` and `nflog/` apart: each owns
 * its tables, statements and queries, and none knows the others.
 *
 * WAL mode, synchronous=NORMAL: a committed row survives a process crash; an OS crash may lose the
 * last transactions, which for records (re-derivable, or re-posted idempotently) is the usual trade.
 * A kind that promises more (complaints: a 2xx means committed) sets it per transaction.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { openDatabase, type Migration } from '../sqlite.js';
import { alertRecordMigrations } from './alerts.js';
import { complaintMigrations } from './complaints.js';
import { gapMigrations } from './gaps.js';
import { notificationRecordMigrations } from './notifications.js';
import { silenceRecordMigrations } from './silences.js';
import { stateMigrations } from './state.js';
import { targetMigrations } from './targets.js';
import { windowMigrations, windowOverlapMigrations } from './windows.js';

/** A schema step of one record kind; its version is its place in `recordMigrations`. */
export interface MigrationStep {
  name: string;
  up: (db: Database) => void;
}

/**
 * Every kind's steps in the order they shipped. Append only: a shipped step keeps its place (its
 * version is the `user_version` of databases out there), so a new kind's tables go at the end.
 */
const RECORD_STEPS: readonly MigrationStep[] = [
  ...gapMigrations,
  ...windowMigrations,
  ...targetMigrations,
  ...stateMigrations,
  ...alertRecordMigrations,
  ...silenceRecordMigrations,
  ...notificationRecordMigrations,
  ...complaintMigrations,
  ...windowOverlapMigrations,
];

export const recordMigrations: readonly Migration[] = RECORD_STEPS.map((s, i) => ({ version: i + 1, ...s }));

/** The shared handle. Each record kind takes `db` in its constructor. */
export class RecordDb {
  private closed = false;

  private constructor(readonly db: Database) {}

  static open(dataDir: string, log: Logger, migrations: readonly Migration[] = recordMigrations): RecordDb {
    mkdirSync(dataDir, { recursive: true });
    return new RecordDb(openDatabase(join(dataDir, 'cellwatch.db'), migrations, log, { synchronous: 'NORMAL' }));
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

export { AlertRecords, alertRecordMigrations } from './alerts.js';
export {
  ComplaintRecords,
  complaintMigrations,
  type ComplaintEvent,
  type ComplaintEventKind,
  type ComplaintQuery,
  type StoredComplaint,
} from './complaints.js';
export { GapRecords, gapMigrations } from './gaps.js';
export { NotificationRecords, notificationRecordMigrations } from './notifications.js';
export { SilenceRecords, silenceRecordMigrations } from './silences.js';
export { StateRecords, stateMigrations } from './state.js';
export { TargetRecords, targetMigrations, type TargetQuery } from './targets.js';
export { WindowRecords, windowMigrations, type WindowQuery } from './windows.js';
