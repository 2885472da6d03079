import type { MigrationStep } from './index.js';
import type { Database, Statement } from 'better-sqlite3';
import type { Alert, AlertSeverity, AlertState, EpochMs } from '../../model/index.js';

/**
 * Alerts in the record store: every episode (one stretch pending → firing → resolved of one problem)
 * with its current state, every transition, every ack. The row of the newest episode of each
 * fingerprint is `current` and carries `memory`, the alert lifecycle's state as JSON (flap history
 * included), so a restarted daemon resumes each alert where it was: no second "firing" for a problem
 * already notified, no lost resolution.
 *
 * Queries serve the API: `list({state, kind, region, from, to})` (an alert is in [from, to) when its
 * episode overlaps it), `get(id)` with its transitions and acks.
 */

export interface StoredAck {
  by: string;
  at: EpochMs;
  comment: string;
  severity: AlertSeverity;
}

export interface StoredAlert extends Alert {
  kind: string;
  scope: string;
  annotations: Record<string, string>;
  region?: string;
  site?: string;
  cell?: string;
  firedAt?: EpochMs;
  resolvedAt?: EpochMs;
  updatedAt: EpochMs;
  flapping: boolean;
  usersAffected?: number;
  ack?: StoredAck;
  /** The newest episode of its fingerprint, still tracked by the lifecycle. */
  current: boolean;
  /** The lifecycle's state as JSON (opaque to the store). */
  memory: string;
}

export interface StoredTransition {
  alert: string;
  fingerprint: string;
  kind: string;
  at: EpochMs;
  type: string;
  state: AlertState;
  severity: AlertSeverity;
  reason: string;
  by?: string;
  comment?: string;
}

export interface AlertQuery {
  state?: AlertState | readonly AlertState[];
  kind?: string | readonly string[];
  region?: string;
  severity?: AlertSeverity | readonly AlertSeverity[];
  fingerprint?: string;
  /** Episodes that overlap [from, to). */
  from?: EpochMs;
  to?: EpochMs;
  /** Newest first; default 500, at most 10,000. */
  limit?: number;
}

export interface AlertWithHistory {
  alert: StoredAlert;
  transitions: StoredTransition[];
  acks: (StoredAck & { alert: string })[];
}

export const alertRecordMigrations: readonly MigrationStep[] = [
  {
    name: 'alerts: episodes, transitions, acks',
    up: (db) => {
      db.exec(`
        CREATE TABLE alert (
          id              TEXT PRIMARY KEY,
          fingerprint     TEXT    NOT NULL,
          kind            TEXT    NOT NULL,
          state           TEXT    NOT NULL,
          severity        TEXT    NOT NULL,
          scope           TEXT    NOT NULL,
          region          TEXT,
          site            TEXT,
          cell            TEXT,
          summary         TEXT    NOT NULL,
          remediation     TEXT,
          labels          TEXT    NOT NULL, -- JSON object
          annotations     TEXT    NOT NULL, -- JSON object
          starts_at       INTEGER NOT NULL,
          fired_at        INTEGER,
          ends_at         INTEGER,
          resolved_at     INTEGER,
          updated_at      INTEGER NOT NULL,
          flapping        INTEGER NOT NULL DEFAULT 0,
          users_affected  REAL,
          acked_by        TEXT,
          acked_at        INTEGER,
          ack_comment     TEXT,
          ack_severity    TEXT,
          current         INTEGER NOT NULL DEFAULT 1,
          memory          TEXT    NOT NULL
        );
        CREATE INDEX alert_fingerprint ON alert (fingerprint, current);
        CREATE INDEX alert_current ON alert (current) WHERE current = 1;
        CREATE INDEX alert_state_starts ON alert (state, starts_at);
        CREATE INDEX alert_kind_starts ON alert (kind, starts_at);
        CREATE INDEX alert_region_starts ON alert (region, starts_at);
        CREATE INDEX alert_starts ON alert (starts_at);
        CREATE TABLE alert_transition (
          id           INTEGER PRIMARY KEY,
          alert        TEXT    NOT NULL,
          fingerprint  TEXT    NOT NULL,
          kind         TEXT    NOT NULL,
          at           INTEGER NOT NULL,
          type         TEXT    NOT NULL,
          state        TEXT    NOT NULL,
          severity     TEXT    NOT NULL,
          reason       TEXT    NOT NULL,
          by           TEXT,
          comment      TEXT
        );
        CREATE INDEX alert_transition_alert ON alert_transition (alert, id);
        CREATE INDEX alert_transition_at ON alert_transition (at);
        CREATE TABLE alert_ack (
          id           INTEGER PRIMARY KEY,
          alert        TEXT    NOT NULL,
          fingerprint  TEXT    NOT NULL,
          by           TEXT    NOT NULL,
          at           INTEGER NOT NULL,
          comment      TEXT    NOT NULL,
          severity     TEXT    NOT NULL
        );
        CREATE INDEX alert_ack_alert ON alert_ack (alert, id);
      `);
    },
  },
];

interface AlertRow {
  id: string;
  fingerprint: string;
  kind: string;
  state: AlertState;
  severity: AlertSeverity;
  scope: string;
  region: string | null;
  site: string | null;
  cell: string | null;
  summary: string;
  remediation: string | null;
  labels: string;
  annotations: string;
  starts_at: number;
  fired_at: number | null;
  ends_at: number | null;
  resolved_at: number | null;
  updated_at: number;
  flapping: number;
  users_affected: number | null;
  acked_by: string | null;
  acked_at: number | null;
  ack_comment: string | null;
  ack_severity: AlertSeverity | null;
  current: number;
  memory: string;
}

interface TransitionRow {
  alert: string;
  fingerprint: string;
  kind: string;
  at: number;
  type: string;
  state: AlertState;
  severity: AlertSeverity;
  reason: string;
  by: string | null;
  comment: string | null;
}

const COLUMNS =
  'id, fingerprint, kind, state, severity, scope, region, site, cell, summary, remediation, labels, annotations, ' +
  'starts_at, fired_at, ends_at, resolved_at, updated_at, flapping, users_affected, acked_by, acked_at, ack_comment, ' +
  'ack_severity, current, memory';

function fromRow(r: AlertRow): StoredAlert {
  const a: StoredAlert = {
    id: r.id,
    fingerprint: r.fingerprint,
    rule: r.kind,
    kind: r.kind,
    state: r.state,
    severity: r.severity,
    scope: r.scope,
    labels: JSON.parse(r.labels) as Record<string, string>,
    annotations: JSON.parse(r.annotations) as Record<string, string>,
    summary: r.summary,
    startsAt: r.starts_at,
    updatedAt: r.updated_at,
    flapping: r.flapping === 1,
    current: r.current === 1,
    memory: r.memory,
  };
  if (r.remediation !== null) a.remediation = r.remediation;
  if (r.region !== null) a.region = r.region;
  if (r.site !== null) a.site = r.site;
  if (r.cell !== null) a.cell = r.cell;
  if (r.fired_at !== null) a.firedAt = r.fired_at;
  if (r.ends_at !== null) a.endsAt = r.ends_at;
  if (r.resolved_at !== null) a.resolvedAt = r.resolved_at;
  if (r.users_affected !== null) a.usersAffected = r.users_affected;
  if (r.acked_by !== null && r.acked_at !== null) {
    a.ackedBy = r.acked_by;
    a.ackedAt = r.acked_at;
    a.ack = { by: r.acked_by, at: r.acked_at, comment: r.ack_comment ?? '', severity: r.ack_severity ?? r.severity };
  }
  return a;
}

function transitionFromRow(r: TransitionRow): StoredTransition {
  const t: StoredTransition = {
    alert: r.alert,
    fingerprint: r.fingerprint,
    kind: r.kind,
    at: r.at,
    type: r.type,
    state: r.state,
    severity: r.severity,
    reason: r.reason,
  };
  if (r.by !== null) t.by = r.by;
  if (r.comment !== null) t.comment = r.comment;
  return t;
}

const list = <T>(v: T | readonly T[] | undefined): readonly T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v as T];

export class AlertRecords {
  private readonly upsert: Statement;
  private readonly demote: Statement;
  private readonly insertTransition: Statement;
  private readonly insertAck: Statement;
  private readonly selectCurrent: Statement<[], AlertRow>;
  private readonly selectOne: Statement<[string], AlertRow>;
  private readonly selectTransitions: Statement<[string], TransitionRow>;
  private readonly selectAcks: Statement<[string], StoredAck & { alert: string }>;
  private readonly retireOne: Statement;

  constructor(private readonly db: Database) {
    this.upsert = db.prepare(`
      INSERT INTO alert (${COLUMNS}) VALUES (
        @id, @fingerprint, @kind, @state, @severity, @scope, @region, @site, @cell, @summary, @remediation, @labels,
        @annotations, @starts_at, @fired_at, @ends_at, @resolved_at, @updated_at, @flapping, @users_affected, @acked_by,
        @acked_at, @ack_comment, @ack_severity, @current, @memory)
      ON CONFLICT (id) DO UPDATE SET
        state = excluded.state, severity = excluded.severity, scope = excluded.scope, region = excluded.region,
        site = excluded.site, cell = excluded.cell, summary = excluded.summary, remediation = excluded.remediation,
        labels = excluded.labels, annotations = excluded.annotations, starts_at = excluded.starts_at,
        fired_at = excluded.fired_at, ends_at = excluded.ends_at, resolved_at = excluded.resolved_at,
        updated_at = excluded.updated_at, flapping = excluded.flapping, users_affected = excluded.users_affected,
        acked_by = excluded.acked_by, acked_at = excluded.acked_at, ack_comment = excluded.ack_comment,
        ack_severity = excluded.ack_severity, current = excluded.current, memory = excluded.memory`);
    this.demote = db.prepare('UPDATE alert SET current = 0 WHERE fingerprint = ? AND id <> ? AND current = 1');
    this.insertTransition = db.prepare(
      'INSERT INTO alert_transition (alert, fingerprint, kind, at, type, state, severity, reason, by, comment) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertAck = db.prepare(
      'INSERT INTO alert_ack (alert, fingerprint, by, at, comment, severity) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.selectCurrent = db.prepare<[], AlertRow>(
      `SELECT ${COLUMNS} FROM alert WHERE current = 1 ORDER BY starts_at, id`,
    );
    this.selectOne = db.prepare<[string], AlertRow>(`SELECT ${COLUMNS} FROM alert WHERE id = ?`);
    this.selectTransitions = db.prepare<[string], TransitionRow>(
      'SELECT alert, fingerprint, kind, at, type, state, severity, reason, by, comment FROM alert_transition ' +
        'WHERE alert = ? ORDER BY id',
    );
    this.selectAcks = db.prepare<[string], StoredAck & { alert: string }>(
      'SELECT alert, by, at, comment, severity FROM alert_ack WHERE alert = ? ORDER BY id',
    );
    this.retireOne = db.prepare('UPDATE alert SET current = 0 WHERE id = ?');
  }

  /** Writes episodes (current state), transitions and acks in one transaction. */
  save(
    alerts: readonly StoredAlert[],
    transitions: readonly StoredTransition[] = [],
    acks: readonly (StoredAck & { alert: string; fingerprint: string })[] = [],
  ): void {
    if (alerts.length + transitions.length + acks.length === 0) return;
    this.db.transaction(() => {
      for (const a of alerts) {
        this.upsert.run({
          id: a.id,
          fingerprint: a.fingerprint,
          kind: a.kind,
          state: a.state,
          severity: a.severity,
          scope: a.scope,
          region: a.region ?? null,
          site: a.site ?? null,
          cell: a.cell ?? null,
          summary: a.summary,
          remediation: a.remediation ?? null,
          labels: JSON.stringify(a.labels),
          annotations: JSON.stringify(a.annotations),
          starts_at: a.startsAt,
          fired_at: a.firedAt ?? null,
          ends_at: a.endsAt ?? null,
          resolved_at: a.resolvedAt ?? null,
          updated_at: a.updatedAt,
          flapping: a.flapping ? 1 : 0,
          users_affected: a.usersAffected ?? null,
          acked_by: a.ack?.by ?? null,
          acked_at: a.ack?.at ?? null,
          ack_comment: a.ack?.comment ?? null,
          ack_severity: a.ack?.severity ?? null,
          current: a.current ? 1 : 0,
          memory: a.memory,
        });
        if (a.current) this.demote.run(a.fingerprint, a.id);
      }
      for (const t of transitions)
        this.insertTransition.run(
          t.alert,
          t.fingerprint,
          t.kind,
          t.at,
          t.type,
          t.state,
          t.severity,
          t.reason,
          t.by ?? null,
          t.comment ?? null,
        );
      for (const k of acks) this.insertAck.run(k.alert, k.fingerprint, k.by, k.at, k.comment, k.severity);
    })();
  }

  /** The newest episode of every fingerprint still tracked: what a restart resumes. */
  current(): StoredAlert[] {
    return this.selectCurrent.all().map(fromRow);
  }

  /** Episodes whose fingerprint the lifecycle forgot (resolved and decayed). */
  retire(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.db.transaction(() => {
      for (const id of ids) this.retireOne.run(id);
    })();
  }

  get(id: string): AlertWithHistory | undefined {
    const row = this.selectOne.get(id);
    if (!row) return undefined;
    return {
      alert: fromRow(row),
      transitions: this.selectTransitions.all(id).map(transitionFromRow),
      acks: this.selectAcks.all(id),
    };
  }

  list(q: AlertQuery = {}): StoredAlert[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const inList = (column: string, values: readonly string[]) => {
      if (values.length === 0) return;
      where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
      args.push(...values);
    };
    inList('state', list(q.state));
    inList('kind', list(q.kind));
    inList('severity', list(q.severity));
    if (q.region !== undefined) {
      where.push('region = ?');
      args.push(q.region);
    }
    if (q.fingerprint !== undefined) {
      where.push('fingerprint = ?');
      args.push(q.fingerprint);
    }
    if (q.to !== undefined) {
      where.push('starts_at < ?');
      args.push(q.to);
    }
    if (q.from !== undefined) {
      where.push('(ends_at IS NULL OR ends_at >= ?)');
      args.push(q.from);
    }
    const limit = Math.max(1, Math.min(10_000, Math.floor(q.limit ?? 500)));
    const sql =
      `SELECT ${COLUMNS} FROM alert` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY starts_at DESC, id DESC LIMIT ${limit}`;
    return this.db
      .prepare<(string | number)[], AlertRow>(sql)
      .all(...args)
      .map(fromRow);
  }

  /** Deletes episodes resolved before `before` that are no longer tracked, with their history. */
  prune(before: EpochMs): number {
    return this.db.transaction(() => {
      const ids = this.db
        .prepare<[number], { id: string }>(
          'SELECT id FROM alert WHERE current = 0 AND resolved_at IS NOT NULL AND resolved_at < ?',
        )
        .all(before)
        .map((r) => r.id);
      const delT = this.db.prepare('DELETE FROM alert_transition WHERE alert = ?');
      const delK = this.db.prepare('DELETE FROM alert_ack WHERE alert = ?');
      const delA = this.db.prepare('DELETE FROM alert WHERE id = ?');
      for (const id of ids) {
        delT.run(id);
        delK.run(id);
        delA.run(id);
      }
      return ids.length;
    })();
  }
}
