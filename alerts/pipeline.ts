import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.js';
import type { EpochMs } from '../model/index.js';
import { keyFingerprint, needsNotify, type LogEntry, type NotifyDecision } from './dedup.js';
import type { AlertNotice, Notification, Notifier, NotifyResult, Timers } from './index.js';
import { buildNotification } from './notice.js';

/*
 * Delivery: from alerts whose notice changed to notifications at every sink.
 *
 *  upsert(alert) ──> aggregation group (by group key; an incident's parent and cells share one)
 *                       │ first flush: created + group_wait (0: right after the current batch, no timer)
 *                       │ later flushes: a change flushes at once if group_interval has passed since the
 *                       │   last flush, else when it has; nothing changed: a check at repeat_interval
 *                       v
 *                    flush ──> inhibit ──> silence ──> fan out ─┬─> lane(sink A) ─┐
 *                   (muted firing alerts leave the message;     ├─> lane(sink B)  │ one bounded queue and one
 *                    resolved ones always go on: a sink that    └─> …             │ worker per sink
 *                    saw an alert fire hears that it ended)                       v
 *                                                                   dedup: needsNotify against the log entry
 *                                                                   (group, sink); resolved alerts the sink
 *                                                                   never saw firing are left out
 *                                                                               │ notify
 *                                                                               v
 *                                                                   retry: sink.notify; retryable → back off
 *                                                                   (exponential, jitter, Retry-After floor,
 *                                                                   give up after giveUpAfter); the lane waits,
 *                                                                   a newer message of the group replaces the
 *                                                                   one being retried (resolutions carried over)
 *                                                                               │ sent / failed
 *                                                                               v
 *                                                                   record: every delivery in the log
 *
 * Only the retry stage waits on timers, and only a sink's own lane waits: a slow or failing sink never
 * delays another. A lane's queue holds at most one message per group (a newer one merges into it) and
 * at most `queueLimit` groups; beyond that the oldest message is dropped, counted and reported.
 */

/** One alert as the pipeline tracks it: its notice, its dedup key and how it groups. */
export interface PipelineAlert {
  fingerprint: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  status: 'firing' | 'resolved';
  /** Its labels (what silences and inhibition match). */
  labels: Readonly<Record<string, string>>;
  /** Dedup key: fingerprint|severity[|flapping] when firing. */
  key: string;
  /** Acked or flapping: not repeated at repeat_interval. */
  quiet: boolean;
  /** The notice as it reads now: built when a flush needs it, so fresh content costs nothing per event. */
  notice: () => AlertNotice;
}

/** An alert as a flush handed it to the lanes: its notice built once. */
interface Snapshot {
  fingerprint: string;
  status: 'firing' | 'resolved';
  key: string;
  quiet: boolean;
  notice: AlertNotice;
}

/** Is a firing alert muted (inhibited or silenced) now? The manager answers from inhibit.ts and silences.ts. */
export type MuteCheck = (alert: { fingerprint: string; notice: AlertNotice }, now: EpochMs) => boolean;

/** One delivery, as recorded in the notification log. */
export interface DeliveryRecord {
  id: string;
  groupKey: string;
  sink: string;
  status: 'firing' | 'resolved';
  /** Dedup keys of the firing alerts sent, and fingerprints of the resolved ones. */
  firing: string[];
  resolved: string[];
  alerts: number;
  result: 'sent' | 'failed';
  reason: string;
  attempts: number;
  firstAttemptAt: EpochMs;
  at: EpochMs;
}

/** The notification log as the pipeline needs it (store/records/notifications.ts implements it). */
export interface NotificationLogPort {
  /** What `sink` was last sent successfully for `groupKey`. */
  entry(groupKey: string, sink: string): LogEntry | undefined;
  /** Records a delivery; a sent one becomes the group's entry for that sink. */
  record(r: DeliveryRecord): void;
}

export interface PipelineOptions {
  groupWaitMs: number;
  /** group_wait for incident groups (a site's cells rarely all degrade in the same instant). */
  incidentGroupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** Alerts per message (0 = all); the rest are counted in truncatedAlerts. */
  maxAlerts: number;
  externalURL: string;
  retry: { initialMs: number; maxMs: number; giveUpAfterMs: number };
  /** Groups waiting per sink. */
  queueLimit: number;
}

export type PipelineEvent =
  | { type: 'sent'; sink: string; groupKey: string; attempts: number; reason: NotifyDecision['reason'] }
  | { type: 'retrying'; sink: string; groupKey: string; attempt: number; delayMs: number; reason: string }
  | { type: 'failed'; sink: string; groupKey: string; attempts: number; retryable: boolean; reason: string }
  | { type: 'overflow'; sink: string; dropped: string };

export interface SinkStats {
  sink: string;
  queued: number;
  sent: number;
  failed: number;
  retries: number;
  overflow: number;
}

export interface PipelineDeps {
  clock: Clock;
  timers: Timers;
  sinks: readonly Notifier[];
  log: NotificationLogPort;
  mute: MuteCheck;
  options: PipelineOptions;
  /** Jitter source, [0, 1). */
  random?: () => number;
  onEvent?: (e: PipelineEvent) => void;
}

interface Group {
  key: string;
  labels: Record<string, string>;
  incident: boolean;
  alerts: Map<string, PipelineAlert>;
  createdAt: EpochMs;
  lastFlushAt?: EpochMs;
  dirty: boolean;
  timer?: { at: EpochMs; abort: AbortController };
}

/** What a flush hands to every lane: the group's alerts after inhibition and silences. */
interface Candidate {
  groupKey: string;
  groupLabels: Record<string, string>;
  alerts: Snapshot[];
}

const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A newer message of a group, keeping the resolutions of the older one it replaces. */
function merge(older: Candidate, newer: Candidate): Candidate {
  const present = new Set(newer.alerts.map((a) => a.fingerprint));
  const carried = older.alerts.filter((a) => a.status === 'resolved' && !present.has(a.fingerprint));
  return carried.length === 0 ? newer : { ...newer, alerts: [...newer.alerts, ...carried] };
}

export class DeliveryPipeline {
  private readonly groups = new Map<string, Group>();
  private readonly due = new Set<Group>();
  private flushQueued = false;
  private readonly lanes: SinkLane[];
  private closed = false;
  private readonly stop = new AbortController();

  private readonly deps: PipelineDeps;

  constructor(deps: PipelineDeps) {
    // Its own copy of the options: setExternalURL changes it for every lane.
    this.deps = { ...deps, options: { ...deps.options } };
    this.lanes = deps.sinks.map((s) => new SinkLane(s, this.deps, this.stop.signal));
  }

  /** Where the board is, once known (a daemon listening on port 0 learns its port after binding). */
  setExternalURL(url: string): void {
    this.deps.options.externalURL = url;
  }

  /** Alerts that joined a group or whose notice changed. */
  upsert(alerts: readonly PipelineAlert[]): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    for (const a of alerts) {
      let g = this.groups.get(a.groupKey);
      if (!g) {
        g = {
          key: a.groupKey,
          labels: a.groupLabels,
          incident: 'incident' in a.groupLabels,
          alerts: new Map(),
          createdAt: now,
          dirty: true,
        };
        this.groups.set(a.groupKey, g);
      }
      const before = g.alerts.get(a.fingerprint);
      g.alerts.set(a.fingerprint, a);
      // Fresh content (users affected, an ack) rides along with the next message; only a new alert, a
      // new key (severity, flapping) or a new status is news that makes the group flush.
      if (before && before.key === a.key && before.status === a.status) continue;
      g.dirty = true;
      this.schedule(g, now);
    }
  }

  /**
   * Silences or inhibiting alerts changed: the groups holding an alert whose labels `affects` accepts
   * (every group without it) are looked at again — dedup sends only what is news.
   */
  remute(affects?: (labels: Readonly<Record<string, string>>) => boolean): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    for (const g of this.groups.values()) {
      if (affects && ![...g.alerts.values()].some((a) => affects(a.labels))) continue;
      g.dirty = true;
      this.schedule(g, now);
    }
  }

  stats(): SinkStats[] {
    return this.lanes.map((l) => l.stats());
  }

  /** Resolves when no flush is due right now and every lane is idle with an empty queue (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.resolve();
      if (this.flushQueued) {
        await new Promise<void>((r) => queueMicrotask(r));
        continue;
      }
      const busy = this.lanes.map((l) => l.running).filter((p): p is Promise<void> => p !== undefined);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /**
   * Stops timers and lanes. Deliveries in flight are aborted (their sinks see the signal); messages
   * still queued are not sent — after a restart the notification log makes the next flush send them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const g of this.groups.values()) g.timer?.abort.abort();
    this.stop.abort(new Error('alert pipeline closed'));
    await Promise.all(this.lanes.map((l) => l.running ?? Promise.resolve()));
  }

  private waitOf(g: Group): number {
    return g.incident ? this.deps.options.incidentGroupWaitMs : this.deps.options.groupWaitMs;
  }

  private schedule(g: Group, now: EpochMs): void {
    const o = this.deps.options;
    let at: EpochMs | undefined;
    if (g.dirty) at = g.lastFlushAt === undefined ? g.createdAt + this.waitOf(g) : g.lastFlushAt + o.groupIntervalMs;
    else if (g.lastFlushAt !== undefined && [...g.alerts.values()].some((a) => a.status === 'firing'))
      at = g.lastFlushAt + o.repeatIntervalMs;
    if (at === undefined) {
      g.timer?.abort.abort();
      delete g.timer;
      if (g.alerts.size === 0) this.groups.delete(g.key);
      return;
    }
    if (at <= now) {
      g.timer?.abort.abort();
      delete g.timer;
      this.due.add(g);
      if (!this.flushQueued) {
        this.flushQueued = true;
        // group_wait 0 means "after the batch being handled": the events of one poll (a site's twelve
        // cells) land in one flush, without a timer.
        queueMicrotask(() => this.flushDue());
      }
      return;
    }
    if (g.timer && g.timer.at === at) return;
    g.timer?.abort.abort();
    const abort = new AbortController();
    g.timer = { at, abort };
    this.deps.timers.sleep(at - now, abort.signal).then(
      () => {
        if (abort.signal.aborted || this.closed) return;
        delete g.timer;
        this.schedule(g, this.deps.clock.now());
      },
      () => undefined,
    );
  }

  private flushDue(): void {
    this.flushQueued = false;
    const groups = [...this.due];
    this.due.clear();
    for (const g of groups) if (!this.closed && this.groups.get(g.key) === g) this.flush(g);
  }

  private flush(g: Group): void {
    const now = this.deps.clock.now();
    g.dirty = false;
    g.lastFlushAt = now;
    const kept: Snapshot[] = [];
    for (const a of g.alerts.values()) {
      const snap: Snapshot = {
        fingerprint: a.fingerprint,
        status: a.status,
        key: a.key,
        quiet: a.quiet,
        notice: a.notice(),
      };
      if (a.status === 'resolved') {
        kept.push(snap);
        g.alerts.delete(a.fingerprint);
      } else if (!this.deps.mute(snap, now)) kept.push(snap);
    }
    if (kept.length > 0) {
      const c: Candidate = { groupKey: g.key, groupLabels: g.labels, alerts: kept };
      for (const lane of this.lanes) lane.enqueue(c);
    }
    this.schedule(g, now);
  }
}

/** One sink's queue and worker: dedup, retry, record. */
class SinkLane {
  private readonly queue = new Map<string, Candidate>();
  running: Promise<void> | undefined;
  private sent = 0;
  private failed = 0;
  private retries = 0;
  private overflow = 0;

  constructor(
    private readonly sink: Notifier,
    private readonly deps: PipelineDeps,
    private readonly signal: AbortSignal,
  ) {}

  stats(): SinkStats {
    return {
      sink: this.sink.name,
      queued: this.queue.size,
      sent: this.sent,
      failed: this.failed,
      retries: this.retries,
      overflow: this.overflow,
    };
  }

  enqueue(c: Candidate): void {
    const older = this.queue.get(c.groupKey);
    if (older) this.queue.set(c.groupKey, merge(older, c));
    else {
      if (this.queue.size >= this.deps.options.queueLimit) {
        const oldest = this.queue.keys().next().value;
        if (oldest !== undefined) {
          this.queue.delete(oldest);
          this.overflow++;
          this.deps.onEvent?.({ type: 'overflow', sink: this.sink.name, dropped: oldest });
        }
      }
      this.queue.set(c.groupKey, c);
    }
    this.running ??= this.pump().finally(() => {
      this.running = undefined;
    });
  }

  private async pump(): Promise<void> {
    while (!this.signal.aborted) {
      const next = this.queue.entries().next().value;
      if (!next) return;
      this.queue.delete(next[0]);
      await this.deliver(next[1]);
    }
  }

  private prepare(c: Candidate, now: EpochMs) {
    const entry = this.deps.log.entry(c.groupKey, this.sink.name);
    const seen = new Set(entry?.firing.map(keyFingerprint));
    const firing = c.alerts.filter((a) => a.status === 'firing');
    const resolved = c.alerts.filter((a) => a.status === 'resolved' && seen.has(a.fingerprint));
    const firingKeys = new Set(firing.map((a) => a.key));
    const resolvedKeys = new Set(resolved.map((a) => a.fingerprint));
    const repeat = firing.some((a) => !a.quiet) ? this.deps.options.repeatIntervalMs : Infinity;
    // A message with nothing in it (every alert muted, or resolutions nobody saw firing) is never sent.
    const decision: NotifyDecision =
      firing.length + resolved.length === 0
        ? { notify: false, reason: 'quiet' }
        : needsNotify(entry, firingKeys, resolvedKeys, repeat, now);
    const o = this.deps.options;
    const notification: Notification = buildNotification(
      c.groupKey,
      c.groupLabels,
      [...firing, ...resolved].map((a) => a.notice),
      { receiver: this.sink.name, externalURL: o.externalURL, maxAlerts: o.maxAlerts },
    );
    notification.id = randomUUID();
    return { decision, notification, firingKeys: [...firingKeys], resolvedKeys: [...resolvedKeys] };
  }

  private async deliver(first: Candidate): Promise<void> {
    const { clock, timers, options } = this.deps;
    const random = this.deps.random ?? Math.random;
    let c = first;
    let attempts = 0;
    const startedAt = clock.now();
    let p = this.prepare(c, startedAt);
    for (;;) {
      if (!p.decision.notify) return;
      attempts++;
      const result: NotifyResult = await this.sink
        .notify(p.notification, this.signal)
        .catch((err: unknown): NotifyResult => ({
          ok: false,
          retryable: true,
          reason: `sink threw: ${err instanceof Error ? err.message : String(err)}`,
        }));
      const now = clock.now();
      if (result.ok) {
        this.sent++;
        this.record(p, 'sent', p.decision.reason, attempts, startedAt, now);
        this.deps.onEvent?.({
          type: 'sent',
          sink: this.sink.name,
          groupKey: c.groupKey,
          attempts,
          reason: p.decision.reason,
        });
        return;
      }
      const giveUp = !result.retryable || this.signal.aborted || now - startedAt >= options.retry.giveUpAfterMs;
      if (giveUp) {
        this.failed++;
        const why =
          result.retryable && !this.signal.aborted
            ? `gave up after ${attempts} attempts: ${result.reason}`
            : result.reason;
        this.record(p, 'failed', why, attempts, startedAt, now);
        this.deps.onEvent?.({
          type: 'failed',
          sink: this.sink.name,
          groupKey: c.groupKey,
          attempts,
          retryable: result.retryable,
          reason: why,
        });
        return;
      }
      const base = Math.min(options.retry.maxMs, options.retry.initialMs * 2 ** (attempts - 1));
      // Jitter between half and the whole delay: a fleet of retries spreads out, yet never hammers at once.
      let delay = base * (0.5 + 0.5 * random());
      if (result.retryAfterMs !== undefined) delay = Math.max(delay, Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS));
      this.retries++;
      this.deps.onEvent?.({
        type: 'retrying',
        sink: this.sink.name,
        groupKey: c.groupKey,
        attempt: attempts,
        delayMs: delay,
        reason: result.reason,
      });
      await timers.sleep(delay, this.signal).catch(() => undefined);
      if (this.signal.aborted) {
        this.failed++;
        this.record(p, 'failed', `shut down while retrying: ${result.reason}`, attempts, startedAt, clock.now());
        return;
      }
      const newer = this.queue.get(c.groupKey);
      if (newer) {
        // The group changed meanwhile: send its newest state instead (a new message, a new id).
        this.queue.delete(c.groupKey);
        c = merge(c, newer);
        p = this.prepare(c, clock.now());
      }
    }
  }

  private record(
    p: ReturnType<SinkLane['prepare']>,
    result: 'sent' | 'failed',
    reason: string,
    attempts: number,
    firstAttemptAt: EpochMs,
    at: EpochMs,
  ): void {
    this.deps.log.record({
      id: p.notification.id!,
      groupKey: p.notification.groupKey,
      sink: this.sink.name,
      status: p.notification.status,
      firing: p.firingKeys,
      resolved: p.resolvedKeys,
      alerts: p.notification.alerts.length + p.notification.truncatedAlerts,
      result,
      reason,
      attempts,
      firstAttemptAt,
      at,
    });
  }
}
