import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import type { Config } from '../config/index.js';
import type { EpochMs, Inventory } from '../model/index.js';
import type { AlertRecords, AlertQuery, StoredAlert, StoredTransition } from '../store/records/alerts.js';
import type { NotificationRecords } from '../store/records/notifications.js';
import type { SilenceRecords } from '../store/records/silences.js';
import { DEFAULT_INHIBIT_RULES, inhibitKey, inhibitedBy, sourceKeys, type InhibitRule } from './inhibit.js';
import type { AlertNotice, Notifier, Timers } from './index.js';
import { ALERT_KINDS, type AlertKind, type ConditionUpdate } from './kinds.js';
import {
  acknowledge,
  advance,
  nextDeadline,
  noticeState,
  observe,
  retired,
  type AlertTransition,
  type FlapPolicy,
  type LifecyclePolicy,
  type NoticeState,
  type Tracker,
} from './lifecycle.js';
import { matchesAll, type Matcher } from './matchers.js';
import { keyFingerprint } from './dedup.js';
import { groupKeyOf } from './notice.js';
import { DeliveryPipeline, type PipelineAlert, type PipelineEvent, type PipelineOptions } from './pipeline.js';
import {
  applyInput,
  advanceRules,
  awaitsEvidence,
  newRuleState,
  resumeRuleMemory,
  type AlertInput,
  type RuleContext,
  type RuleState,
} from './rules.js';
import { silenceProblems, silenceStatus, silencedBy, type Silence, type SilenceStatus } from './silences.js';

/**
 * The alert core as the daemon sees it: feed it inputs (`handle`), let time pass (`tick`, or `start`
 * for its own evaluation loop), ack, silence, query, and listen to transitions (the stream). It owns
 * the lifecycle state of every alert, persists it with every change, and drives the delivery pipeline.
 *
 * Restart: `open` resumes every tracked alert from the record store; `reconcile(currentInputs)` then
 * rebuilds the rules' memory from what holds now and resolves at once every alert nothing re-asserts
 * (it may have ended while the daemon was down: its resolution is sent, what is still firing is not
 * sent again — the notification log remembers).
 */

export interface KindPolicy {
  forMs: number;
  holdDownMs: number;
}

export interface AlertManagerOptions {
  /** Where the board is reachable: alert links are `${externalURL}/#/cell/<id>` etc. */
  externalURL: string;
  kinds: Record<AlertKind, KindPolicy>;
  flap: FlapPolicy;
  inhibition: boolean;
  inhibitRules: readonly InhibitRule[];
  pipeline: Omit<PipelineOptions, 'externalURL'>;
  rules: Omit<RuleContext, 'inventory' | 'reconciling'>;
  /** How often `start`'s loop evaluates time-driven changes (for, hold-down, silences ending). */
  evaluationIntervalMs: number;
  /** Resolved episodes, deliveries and expired silences are kept this long. */
  historyRetentionMs: number;
}

export type AlertsConfig = Config['alerts'];

/** Options from the parsed `alerts:` config section. */
export function alertManagerOptions(cfg: AlertsConfig, externalURL: string): AlertManagerOptions {
  const kinds = {} as Record<AlertKind, KindPolicy>;
  for (const k of ALERT_KINDS) kinds[k] = { forMs: cfg.kinds[k].for, holdDownMs: cfg.kinds[k].holdDown };
  return {
    externalURL: (cfg.externalURL ?? externalURL).replace(/\/+$/, ''),
    kinds,
    flap: {
      enabled: cfg.flapping.enabled,
      lowPct: cfg.flapping.low,
      highPct: cfg.flapping.high,
      sampleMs: cfg.flapping.sampleInterval,
    },
    inhibition: cfg.inhibition,
    inhibitRules: DEFAULT_INHIBIT_RULES,
    pipeline: {
      groupWaitMs: cfg.grouping.groupWait,
      incidentGroupWaitMs: cfg.grouping.incidentGroupWait,
      groupIntervalMs: cfg.grouping.groupInterval,
      repeatIntervalMs: cfg.grouping.repeatInterval,
      maxAlerts: cfg.grouping.maxAlerts,
      retry: {
        initialMs: cfg.delivery.initialRetryDelay,
        maxMs: cfg.delivery.maxRetryDelay,
        giveUpAfterMs: cfg.delivery.giveUpAfter,
      },
      queueLimit: cfg.delivery.queueLimit,
    },
    rules: {
      gapsToOpen: cfg.collectionGap.consecutive,
      slaOverdueKeepMs: 24 * 3600_000,
      storeQuietMs: 15 * 60_000,
    },
    evaluationIntervalMs: cfg.evaluationInterval,
    historyRetentionMs: cfg.history,
  };
}

export interface AlertStores {
  alerts: AlertRecords;
  silences: SilenceRecords;
  notifications: NotificationRecords;
}

export interface AlertManagerDeps {
  clock: Clock;
  timers: Timers;
  /** The manager owns them: `close()` closes them. */
  sinks: readonly Notifier[];
  stores: AlertStores;
  options: AlertManagerOptions;
  inventory?: Inventory;
  log?: Logger;
  random?: () => number;
  /** Silence ids (default: random UUIDs). */
  newId?: () => string;
  onPipelineEvent?: (e: PipelineEvent) => void;
}

/** An alert as the API and the stream show it. */
export type AlertView = Omit<StoredAlert, 'memory'> & {
  generatorURL: string;
  /** For tracked firing alerts: why their notifications are muted, if they are. */
  silencedBy?: string[];
  inhibitedBy?: string;
  flapPercent?: number;
};

export interface AlertDetail {
  alert: AlertView;
  transitions: StoredTransition[];
  acks: { alert: string; by: string; at: EpochMs; comment: string; severity: string }[];
}

export type AckResult = { ok: true; alert: AlertView } | { ok: false; reason: 'not-found' | 'not-active' };

export interface SilenceInput {
  /** Updating an existing silence keeps its id. */
  id?: string;
  matchers: Matcher[];
  startsAt?: EpochMs;
  endsAt: EpochMs;
  createdBy: string;
  comment: string;
}

export type SilenceView = Silence & { status: SilenceStatus };

export type TransitionListener = (t: AlertTransition, alert: AlertView) => void;

const MEMORY_VERSION = 1;
/** Content-only changes of an alert are written at least this often (and at every read and at close). */
const LAZY_WRITE_MS = 30_000;

export class AlertManager {
  private readonly trackers = new Map<string, Tracker>();
  private readonly byEpisode = new Map<string, string>();
  private rules: RuleState = newRuleState();
  private readonly silences = new Map<string, Silence>();
  private silenceStatuses = new Map<string, SilenceStatus>();
  private readonly inhibitIndex = new Map<string, Set<string>>();
  private readonly inhibitKeysOf = new Map<string, string[]>();
  private readonly sourceKinds = new Map<AlertKind, boolean>();
  private readonly listeners = new Set<TransitionListener>();
  /** What was last handed to the pipeline per fingerprint: its group, episode and notice signature. */
  private readonly pushed = new Map<
    string,
    { groupKey: string; groupLabels: Record<string, string>; episode: string; sig: string }
  >();
  private readonly pipeline: DeliveryPipeline;
  /** Alerts resumed from the store, handed to the pipeline on the first reconcile, handle or tick. */
  private resumed: Set<string> | undefined;
  private inventory: Inventory | undefined;
  private externalURL: string;
  private loop: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private lastPrune = -Infinity;
  private closed = false;
  /** Episodes with a change that matters after a restart (state, severity, flapping, ack…): written next turn. */
  private readonly unsaved = new Map<string, Tracker>();
  /** Episodes whose only change is fresh content (users affected, evidence): written within LAZY_WRITE_MS. */
  private readonly lazy = new Map<string, { t: Tracker; since: EpochMs }>();
  /** What was last queued for writing per episode (see material). */
  private readonly savedMaterial = new Map<string, string>();
  private unsavedTransitions: StoredTransition[] = [];
  private unsavedAcks: (StoredAlert['ack'] & { alert: string; fingerprint: string })[] = [];
  private persistQueued = false;

  private constructor(private readonly deps: AlertManagerDeps) {
    this.inventory = deps.inventory;
    this.externalURL = deps.options.externalURL;
    this.pipeline = new DeliveryPipeline({
      clock: deps.clock,
      timers: deps.timers,
      sinks: deps.sinks,
      log: deps.stores.notifications,
      mute: (a, now) => this.muted(a.fingerprint, a.notice.labels, now) !== undefined,
      options: { ...deps.options.pipeline, externalURL: deps.options.externalURL },
      ...(deps.random ? { random: deps.random } : {}),
      onEvent: (e) => {
        if (e.type === 'failed' || e.type === 'overflow')
          deps.log?.warn({ alertDelivery: e }, 'alert delivery problem');
        deps.onPipelineEvent?.(e);
      },
    });
  }

  /** Resumes the alerts, silences and notification log kept in the stores. */
  static open(deps: AlertManagerDeps): AlertManager {
    const m = new AlertManager(deps);
    const now = deps.clock.now();
    for (const s of deps.stores.silences.unexpired(now)) m.silences.set(s.id, s);
    m.silenceStatuses = m.currentSilenceStatuses(now);
    m.resumed = new Set();
    for (const row of deps.stores.alerts.current()) {
      const parsed = parseMemory(row.memory);
      if (!parsed) {
        deps.log?.warn({ alert: row.id }, 'alert state in the record store is unreadable; the alert is not resumed');
        continue;
      }
      const t = parsed.tracker;
      // The group it was notified in (an episode keeps it): the notification log is keyed on it.
      if (parsed.group && t.episode) m.pushed.set(t.fingerprint, { ...parsed.group, episode: t.episode.id, sig: '' });
      m.trackers.set(t.fingerprint, t);
      if (t.episode) m.byEpisode.set(t.episode.id, t.fingerprint);
      m.reindex(t);
      m.resumed.add(t.fingerprint);
    }
    m.resumeSinks();
    return m;
  }

  /** Tells each sink that keeps state which resumed alerts it was last sent as firing. */
  private resumeSinks(): void {
    for (const sink of this.deps.sinks) {
      if (!sink.resume) continue;
      const firing: AlertNotice[] = [];
      for (const t of this.trackers.values()) {
        const ns = noticeState(t);
        if (ns?.status !== 'firing') continue;
        const groupKey = this.pushed.get(t.fingerprint)?.groupKey ?? groupKeyOf(t.spec.groupLabels);
        const entry = this.deps.stores.notifications.entry(groupKey, sink.name);
        if (entry?.firing.some((k) => keyFingerprint(k) === t.fingerprint)) firing.push(this.notice(t, ns));
      }
      if (firing.length === 0) continue;
      try {
        sink.resume(firing);
      } catch (err) {
        this.deps.log?.error({ err, sink: sink.name }, 'a sink could not resume');
      }
    }
  }

  setInventory(inventory: Inventory): void {
    this.inventory = inventory;
  }

  /** Where the board is: for a daemon that learns its address only once it listens (port 0). */
  setExternalURL(url: string): void {
    this.externalURL = url.replace(/\/+$/, '');
    this.pipeline.setExternalURL(this.externalURL);
  }

  /** Feeds inputs (one poll's windows, a hot spot, a store event…) at clock time `now`. */
  handle(inputs: AlertInput | readonly AlertInput[], now: EpochMs = this.deps.clock.now()): AlertTransition[] {
    const list: readonly AlertInput[] = Array.isArray(inputs) ? inputs : [inputs as AlertInput];
    const ctx = this.ruleContext(false);
    const updates: ConditionUpdate[] = [];
    for (const input of list) updates.push(...applyInput(this.rules, input, ctx, now));
    return this.apply(updates, now);
  }

  /**
   * After a restart: the rules' memory is rebuilt from `inputs` (open windows, open hot spots, at-risk
   * complaints, today's targets, the store's backend state), and every alert that was pending or
   * firing but is not re-asserted by them is resolved at once — except those only fresh evidence can
   * end (rules.ts `awaitsEvidence`: a collection gap waits for its target's next poll), which stay
   * as they are with the rules' memory of them restored.
   */
  reconcile(inputs: readonly AlertInput[], now: EpochMs = this.deps.clock.now()): AlertTransition[] {
    this.rules = newRuleState();
    const ctx = this.ruleContext(true);
    const updates: ConditionUpdate[] = [];
    for (const input of inputs) updates.push(...applyInput(this.rules, input, ctx, now));
    const asserted = new Set(updates.filter((u) => u.active).map((u) => u.fingerprint));
    for (const t of this.trackers.values()) {
      const state = t.episode?.state;
      if (state !== 'pending' && state !== 'firing') continue;
      if (asserted.has(t.fingerprint)) continue;
      if (awaitsEvidence(t.kind, t.spec.labels))
        resumeRuleMemory(
          this.rules,
          {
            kind: t.kind,
            labels: t.spec.labels,
            annotations: t.spec.annotations,
            since: t.episode!.startsAt,
            updatedAt: t.updatedAt,
          },
          ctx,
        );
      else
        updates.push({
          fingerprint: t.fingerprint,
          kind: t.kind,
          active: false,
          reason: 'not active after a restart',
          immediate: true,
        });
    }
    return this.apply(updates, now);
  }

  /** Time-driven changes: `for` and hold-down deadlines, rule deadlines, silences starting or ending. */
  tick(now: EpochMs = this.deps.clock.now()): AlertTransition[] {
    const out = this.apply(advanceRules(this.rules, this.ruleContext(false), now), now);
    const changed = new Map<string, Tracker>();
    const transitions: AlertTransition[] = [];
    const retiredIds: string[] = [];
    for (const t of this.trackers.values()) {
      const policy = this.policy(t.kind);
      const due = nextDeadline(t, policy);
      if (due !== undefined && due <= now) {
        const step = advance(t, policy, now);
        if (step.tracker && step.tracker !== t) {
          changed.set(t.fingerprint, step.tracker);
          transitions.push(...step.transitions);
        }
      } else if (retired(t, policy, now)) {
        retiredIds.push(t.episode?.id ?? t.fingerprint);
      }
    }
    if (retiredIds.length > 0) this.persist();
    for (const id of retiredIds) {
      this.savedMaterial.delete(id);
      const fp = this.byEpisode.get(id);
      if (fp !== undefined) {
        this.trackers.delete(fp);
        this.byEpisode.delete(id);
        this.pushed.delete(fp);
        this.reindex(undefined, fp);
      }
    }
    this.deps.stores.alerts.retire(retiredIds);
    out.push(...this.commit(changed, transitions, []));
    if (this.lazy.size > 0) this.persist({ now });
    const statuses = this.currentSilenceStatuses(now);
    if (!sameStatuses(statuses, this.silenceStatuses)) {
      const turned = [...this.silences.values()].filter((x) => statuses.get(x.id) !== this.silenceStatuses.get(x.id));
      this.silenceStatuses = statuses;
      for (const id of [...this.silences.keys()]) if (statuses.get(id) === 'expired') this.silences.delete(id);
      this.remuteFor(turned);
    }
    if (now - this.lastPrune >= 3600_000) {
      this.lastPrune = now;
      const before = now - this.deps.options.historyRetentionMs;
      this.deps.stores.alerts.prune(before);
      this.deps.stores.notifications.prune(before);
      this.deps.stores.silences.prune(before);
    }
    return out;
  }

  /** Runs `tick` every evaluationInterval of clock time until `close`. Idempotent. */
  start(): void {
    if (this.loop || this.closed) return;
    const every = this.deps.options.evaluationIntervalMs;
    this.loop = (async () => {
      while (!this.stop.signal.aborted) {
        await this.deps.timers.sleep(every, this.stop.signal).catch(() => undefined);
        if (this.stop.signal.aborted) return;
        try {
          this.tick();
        } catch (err) {
          this.deps.log?.error({ err }, 'alert evaluation failed');
        }
      }
    })();
  }

  ack(id: string, by: string, comment: string, now: EpochMs = this.deps.clock.now()): AckResult {
    const fp = this.byEpisode.get(id);
    const t = fp === undefined ? undefined : this.trackers.get(fp);
    if (!t) {
      return this.deps.stores.alerts.get(id) ? { ok: false, reason: 'not-active' } : { ok: false, reason: 'not-found' };
    }
    const outcome = acknowledge(t, by, comment, now);
    if (!outcome.ok) return outcome;
    const next = outcome.step.tracker!;
    this.commit(new Map([[t.fingerprint, next]]), outcome.step.transitions, [next]);
    this.persist(); // an ack answered 200 is on disk
    return { ok: true, alert: this.view(next) };
  }

  createSilence(
    input: SilenceInput,
    now: EpochMs = this.deps.clock.now(),
  ): { ok: true; silence: SilenceView } | { ok: false; problems: string[] } {
    const existing = input.id !== undefined ? this.deps.stores.silences.get(input.id) : undefined;
    if (input.id !== undefined && !existing) return { ok: false, problems: [`id: no silence ${input.id}`] };
    if (existing && silenceStatus(existing, now) === 'expired')
      return { ok: false, problems: [`id: silence ${existing.id} has expired; create a new one`] };
    const s: Silence = {
      id: existing?.id ?? (this.deps.newId ?? randomUUID)(),
      matchers: input.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })),
      startsAt: input.startsAt ?? now,
      endsAt: input.endsAt,
      createdBy: input.createdBy,
      comment: input.comment,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const problems = silenceProblems(s);
    if (s.endsAt <= now) problems.push('endsAt: must be in the future');
    if (problems.length > 0) return { ok: false, problems };
    this.deps.stores.silences.save(s);
    this.silences.set(s.id, s);
    this.silenceStatuses = this.currentSilenceStatuses(now);
    this.remuteFor(existing ? [existing, s] : [s]);
    return { ok: true, silence: { ...s, status: silenceStatus(s, now) } };
  }

  /** Ends a silence now. False when there is no such silence or it had already ended. */
  expireSilence(id: string, now: EpochMs = this.deps.clock.now()): boolean {
    const s = this.deps.stores.silences.get(id);
    if (!s || silenceStatus(s, now) === 'expired') return false;
    const ended: Silence = { ...s, endsAt: Math.max(now, s.startsAt), updatedAt: now };
    if (ended.endsAt <= ended.startsAt) ended.startsAt = ended.endsAt - 1; // a pending silence ends unused
    this.deps.stores.silences.save(ended);
    this.silences.delete(id);
    this.silenceStatuses = this.currentSilenceStatuses(now);
    this.remuteFor([s]);
    return true;
  }

  listSilences(now: EpochMs = this.deps.clock.now()): SilenceView[] {
    return this.deps.stores.silences.list().map((s) => ({ ...s, status: silenceStatus(s, now) }));
  }

  getSilence(id: string, now: EpochMs = this.deps.clock.now()): SilenceView | undefined {
    const s = this.deps.stores.silences.get(id);
    return s ? { ...s, status: silenceStatus(s, now) } : undefined;
  }

  list(q: AlertQuery = {}): AlertView[] {
    this.persist();
    return this.deps.stores.alerts.list(q).map((row) => this.rowView(row));
  }

  get(id: string): AlertDetail | undefined {
    this.persist();
    const found = this.deps.stores.alerts.get(id);
    if (!found) return undefined;
    return { alert: this.rowView(found.alert), transitions: found.transitions, acks: found.acks };
  }

  /**
   * Tracked alerts that are pending or firing, from memory (the board's live view). `where` picks by
   * labels before the views are built: the care agent's lookup wants the few on one area, hundreds of
   * times a second, out of hundreds open.
   */
  active(where?: (labels: Readonly<Record<string, string>>) => boolean): AlertView[] {
    const out: AlertView[] = [];
    for (const t of this.trackers.values())
      if (t.episode && t.episode.state !== 'resolved' && (!where || where(t.spec.labels))) out.push(this.view(t));
    return out.sort((a, b) => a.startsAt - b.startsAt || a.id.localeCompare(b.id));
  }

  /** Every transition, with the alert after it. Returns the unsubscribe function. */
  onTransition(listener: TransitionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats() {
    return { tracked: this.trackers.size, silences: this.silences.size, sinks: this.pipeline.stats() };
  }

  /** Resolves when deliveries due now are done (tests and benchmarks). */
  idle(): Promise<void> {
    return this.pipeline.idle();
  }

  /** Stops the loop and the pipeline, then closes the sinks. State is already persisted. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.persist();
    this.closed = true;
    this.stop.abort();
    await this.loop;
    await this.pipeline.close();
    await Promise.all(this.deps.sinks.map((s) => s.close().catch(() => undefined)));
  }

  // -------------------------------------------------------------------------------------------

  private ruleContext(reconciling: boolean): RuleContext {
    return {
      ...this.deps.options.rules,
      ...(this.inventory ? { inventory: this.inventory } : {}),
      ...(reconciling ? { reconciling } : {}),
    };
  }

  private policy(kind: AlertKind): LifecyclePolicy {
    const k = this.deps.options.kinds[kind];
    return { forMs: k.forMs, holdDownMs: k.holdDownMs, flap: this.deps.options.flap };
  }

  private apply(updates: readonly ConditionUpdate[], now: EpochMs): AlertTransition[] {
    const changed = new Map<string, Tracker>();
    const transitions: AlertTransition[] = [];
    for (const u of updates) {
      const prev = changed.get(u.fingerprint) ?? this.trackers.get(u.fingerprint);
      const step = observe(prev, u, this.policy(u.kind), now);
      if (step.tracker) {
        const before = changed.get(u.fingerprint) ?? this.trackers.get(u.fingerprint);
        changed.set(u.fingerprint, step.tracker);
        // Every episode's last state is kept, also one that ended and was replaced in this batch.
        if (before?.episode && before.episode.id !== step.tracker.episode?.id) this.queueWrite(before, now);
      }
      transitions.push(...step.transitions);
    }
    return this.commit(changed, transitions, []);
  }

  /**
   * Writes what changed since the last call in one transaction. Called on the turn of the event loop
   * after the changes (so a batch's notifications are on the wire before its disk writes, a WAL
   * checkpoint included), and before every read, ack, retirement and close.
   */
  persist(opts: { all?: boolean; now?: EpochMs } = { all: true }): void {
    this.persistQueued = false;
    const now = opts.now ?? this.deps.clock.now();
    for (const [id, entry] of this.lazy)
      if (opts.all || now - entry.since >= LAZY_WRITE_MS) {
        this.unsaved.set(id, entry.t);
        this.lazy.delete(id);
      }
    if (this.unsaved.size + this.unsavedTransitions.length + this.unsavedAcks.length === 0) return;
    const rows = [...this.unsaved.values()].map((t) =>
      this.stored(t, this.trackers.get(t.fingerprint)?.episode?.id === t.episode?.id),
    );
    try {
      this.deps.stores.alerts.save(rows, this.unsavedTransitions, this.unsavedAcks);
      this.unsaved.clear();
      this.unsavedTransitions = [];
      this.unsavedAcks = [];
    } catch (err) {
      // Kept for the next attempt (the next change, tick or read).
      this.deps.log?.error({ err }, 'alert state could not be written to the record store');
    }
  }

  private queuePersist(): void {
    if (this.persistQueued || this.closed) return;
    this.persistQueued = true;
    // setImmediate, not a microtask: the sockets' writes of this batch's notifications are queued on
    // process.nextTick by the HTTP agent and must go first.
    setImmediate(() => this.persist({}));
  }

  /** Queues an episode's state for writing: next turn when it changed materially, else lazily. */
  private queueWrite(t: Tracker, now: EpochMs): void {
    const id = t.episode?.id;
    if (id === undefined) return;
    const m = material(t);
    if (this.savedMaterial.get(id) !== m || this.unsaved.has(id)) {
      this.savedMaterial.set(id, m);
      this.unsaved.set(id, t);
      this.lazy.delete(id);
    } else {
      this.lazy.set(id, { t, since: this.lazy.get(id)?.since ?? now });
    }
  }

  /** Updates the memory, tells listeners, updates the inhibition index and feeds the pipeline. */
  private commit(
    changed: ReadonlyMap<string, Tracker>,
    transitions: AlertTransition[],
    acked: readonly Tracker[],
  ): AlertTransition[] {
    const now = this.deps.clock.now();
    for (const t of changed.values()) {
      const prev = this.trackers.get(t.fingerprint);
      if (prev?.episode && prev.episode.id !== t.episode?.id) {
        this.byEpisode.delete(prev.episode.id);
        this.savedMaterial.delete(prev.episode.id);
      }
      this.trackers.set(t.fingerprint, t);
      if (t.episode) this.byEpisode.set(t.episode.id, t.fingerprint);
      this.queueWrite(t, now);
    }
    for (const x of transitions) this.unsavedTransitions.push(storedTransition(x));
    for (const t of acked)
      if (t.ack) this.unsavedAcks.push({ ...t.ack, alert: t.episode!.id, fingerprint: t.fingerprint });
    this.queuePersist();
    const changedKeys = new Set<string>();
    const toPipeline: PipelineAlert[] = [];
    const push = (t: Tracker) => {
      const ns = noticeState(t);
      if (!ns) return;
      const episode = t.episode?.id ?? t.fingerprint;
      const sig = `${ns.status}|${ns.key}|${ns.quiet ? 1 : 0}`;
      const last = this.pushed.get(t.fingerprint);
      if (last && last.sig === sig && last.episode === episode) return; // content only: read at the next flush
      // An episode keeps the group it first notified in, even if a later cause adds an incident label.
      const group =
        last && last.episode === episode
          ? last
          : { groupKey: groupKeyOf(t.spec.groupLabels), groupLabels: t.spec.groupLabels };
      this.pushed.set(t.fingerprint, { ...group, episode, sig });
      toPipeline.push(this.pipelineAlert(t, ns, group));
    };
    const resumed = this.resumed;
    if (resumed) {
      this.resumed = undefined;
      for (const fp of resumed) {
        const t = this.trackers.get(fp);
        if (t && !changed.has(fp)) push(t);
      }
    }
    for (const t of changed.values()) {
      for (const k of this.reindex(t)) changedKeys.add(k);
      push(t);
    }
    if (transitions.length > 0 && this.listeners.size > 0) {
      for (const tr of transitions) {
        const t = this.trackers.get(tr.fingerprint);
        if (!t) continue;
        const view = this.view(t);
        for (const l of this.listeners) {
          try {
            l(tr, view);
          } catch (err) {
            this.deps.log?.error({ err }, 'alert transition listener failed');
          }
        }
      }
    }
    // Upsert before remute: a parent that starts firing in this batch must be indexed (and its group
    // known) when the children's groups are looked at again.
    if (toPipeline.length > 0) this.pipeline.upsert(toPipeline);
    if (changedKeys.size > 0) this.pipeline.remute((labels) => this.targetKeys(labels).some((k) => changedKeys.has(k)));
    return transitions;
  }

  /** Keeps the index of firing inhibition sources; returns the keys that changed. */
  private reindex(t: Tracker | undefined, fp = t?.fingerprint): string[] {
    if (fp === undefined) return [];
    if (t && !this.inhibitKeysOf.has(fp) && !this.canInhibit(t.kind)) return [];
    const firing = t ? noticeState(t)?.status === 'firing' : false;
    const keys = firing && t ? sourceKeys(this.deps.options.inhibitRules, t.spec.labels) : [];
    const old = this.inhibitKeysOf.get(fp) ?? [];
    if (old.length === keys.length && old.every((k, i) => k === keys[i])) return [];
    for (const k of old) {
      const set = this.inhibitIndex.get(k);
      set?.delete(fp);
      if (set?.size === 0) this.inhibitIndex.delete(k);
    }
    for (const k of keys) {
      let set = this.inhibitIndex.get(k);
      if (!set) this.inhibitIndex.set(k, (set = new Set()));
      set.add(fp);
    }
    if (keys.length > 0) this.inhibitKeysOf.set(fp, keys);
    else this.inhibitKeysOf.delete(fp);
    return [...old, ...keys];
  }

  /** The inhibition keys under which an alert with `labels` would be muted (one per rule targeting it). */
  private targetKeys(labels: Readonly<Record<string, string>>): string[] {
    const out: string[] = [];
    this.deps.options.inhibitRules.forEach((r, i) => {
      if (matchesAll(r.target, labels)) out.push(inhibitKey(i, r, labels));
    });
    return out;
  }

  /** Groups holding alerts that any of these silences match are looked at again. */
  private remuteFor(silences: readonly Silence[]): void {
    if (silences.length > 0) this.pipeline.remute((labels) => silences.some((s) => matchesAll(s.matchers, labels)));
  }

  /** Whether alerts of a kind can be an inhibition source at all (their alertname fits a rule's source). */
  private canInhibit(kind: AlertKind): boolean {
    let v = this.sourceKinds.get(kind);
    if (v === undefined) {
      v = this.deps.options.inhibitRules.some((r) =>
        r.source.every((m) => m.name !== 'alertname' || matchesAll([m], { alertname: kind })),
      );
      this.sourceKinds.set(kind, v);
    }
    return v;
  }

  /** Why a firing alert's notifications are muted now, if they are. */
  private muted(
    fp: string,
    labels: Readonly<Record<string, string>>,
    now: EpochMs,
  ): { inhibitedBy: string } | { silencedBy: string[] } | undefined {
    if (this.deps.options.inhibition) {
      const by = inhibitedBy(this.deps.options.inhibitRules, labels, fp, (k) => this.inhibitIndex.get(k));
      if (by) return { inhibitedBy: this.trackers.get(by.by)?.episode?.id ?? by.by };
    }
    if (this.silences.size > 0) {
      const ids = silencedBy(labels, this.silences.values(), now);
      if (ids.length > 0) return { silencedBy: ids };
    }
    return undefined;
  }

  private currentSilenceStatuses(now: EpochMs): Map<string, SilenceStatus> {
    const out = new Map<string, SilenceStatus>();
    for (const [id, s] of this.silences) out.set(id, silenceStatus(s, now));
    return out;
  }

  private notice(t: Tracker, ns: NoticeState): AlertNotice {
    const labels = { ...t.spec.labels, severity: ns.severity };
    const annotations = { ...t.spec.annotations };
    if (ns.flapping)
      annotations.flapping = `flapping (${t.flap.percent.toFixed(0)}% state change): notifications held until it settles`;
    if (t.ack) annotations.acknowledged = `${t.ack.by}: ${t.ack.comment}`;
    const n: AlertNotice = {
      fingerprint: t.fingerprint,
      status: ns.status,
      labels,
      annotations,
      startsAt: ns.startsAt,
      generatorURL: this.externalURL + t.spec.boardPath,
    };
    if (ns.endsAt !== undefined) n.endsAt = ns.endsAt;
    return n;
  }

  private pipelineAlert(
    t: Tracker,
    ns: NoticeState,
    group: { groupKey: string; groupLabels: Record<string, string> },
  ): PipelineAlert {
    const fp = t.fingerprint;
    return {
      fingerprint: fp,
      groupKey: group.groupKey,
      groupLabels: group.groupLabels,
      status: ns.status,
      labels: t.spec.labels,
      key: ns.key,
      quiet: ns.quiet,
      notice: () => {
        // The newest content when the alert still says the same thing, else what it said when pushed.
        const cur = this.trackers.get(fp);
        const now = cur && noticeState(cur);
        return cur && now && now.key === ns.key && now.status === ns.status
          ? this.notice(cur, now)
          : this.notice(t, ns);
      },
    };
  }

  private stored(t: Tracker, current = true): StoredAlert {
    const pushed = this.pushed.get(t.fingerprint);
    const group = pushed?.episode === t.episode!.id ? pushed : undefined;
    return {
      ...this.row(t, current),
      memory: JSON.stringify({
        v: MEMORY_VERSION,
        tracker: { ...t, flap: { ...t.flap, history: t.flap.history.map((x) => (x ? '1' : '0')).join('') } },
        ...(group ? { group: { groupKey: group.groupKey, groupLabels: group.groupLabels } } : {}),
      }),
    };
  }

  /** The stored row without its memory: what a view shows (the memory's JSON is most of a row's cost). */
  private row(t: Tracker, current = true): Omit<StoredAlert, 'memory'> {
    const ep = t.episode!;
    const s = t.spec;
    const row: Omit<StoredAlert, 'memory'> = {
      id: ep.id,
      fingerprint: t.fingerprint,
      rule: t.kind,
      kind: t.kind,
      state: ep.state,
      severity: s.severity,
      scope: s.scope,
      labels: s.labels,
      annotations: s.annotations,
      summary: s.summary,
      startsAt: ep.startsAt,
      updatedAt: t.updatedAt,
      flapping: t.flap.flapping,
      current,
    };
    if (s.remediation !== undefined) row.remediation = s.remediation;
    if (s.region !== undefined) row.region = s.region;
    if (s.labels.site !== undefined) row.site = s.labels.site;
    if (s.labels.cell !== undefined) row.cell = s.labels.cell;
    if (ep.firedAt !== undefined) row.firedAt = ep.firedAt;
    if (ep.endsAt !== undefined) row.endsAt = ep.endsAt;
    if (ep.resolvedAt !== undefined) row.resolvedAt = ep.resolvedAt;
    if (s.usersAffected !== undefined) row.usersAffected = s.usersAffected;
    if (t.ack) {
      row.ack = t.ack;
      row.ackedBy = t.ack.by;
      row.ackedAt = t.ack.at;
    }
    return row;
  }

  private view(t: Tracker): AlertView {
    return this.decorate(this.row(t), t);
  }

  private rowView(row: StoredAlert): AlertView {
    const { memory: _memory, ...rest } = row;
    const t = this.trackers.get(row.fingerprint);
    return this.decorate(rest, t && t.episode?.id === row.id ? t : undefined);
  }

  private decorate(row: Omit<StoredAlert, 'memory'>, t: Tracker | undefined): AlertView {
    const v: AlertView = { ...row, generatorURL: this.externalURL + (t?.spec.boardPath ?? '') };
    if (t) {
      v.flapPercent = Math.round(t.flap.percent * 10) / 10;
      if (t.episode?.state === 'firing') {
        const m = this.muted(t.fingerprint, t.spec.labels, this.deps.clock.now());
        if (m && 'inhibitedBy' in m) v.inhibitedBy = m.inhibitedBy;
        if (m && 'silencedBy' in m) v.silencedBy = m.silencedBy;
      }
    }
    return v;
  }
}

function storedTransition(t: AlertTransition): StoredTransition {
  const s: StoredTransition = {
    alert: t.alert,
    fingerprint: t.fingerprint,
    kind: t.kind,
    at: t.at,
    type: t.type,
    state: t.state,
    severity: t.severity,
    reason: t.reason,
  };
  if (t.by !== undefined) s.by = t.by;
  if (t.comment !== undefined) s.comment = t.comment;
  return s;
}

/**
 * What must survive a restart at once: the episode's state and times, severity, flapping, the ack and
 * whether the condition holds. Content (users affected, evidence) may wait for a lazy write.
 */
function material(t: Tracker): string {
  const ep = t.episode;
  return [
    ep?.state,
    ep?.clearSince,
    ep?.firedAt,
    t.spec.severity,
    t.active,
    t.flap.flapping,
    t.flap.history.filter(Boolean).length,
    t.ack?.at,
  ].join('|');
}

function parseMemory(
  memory: string,
): { tracker: Tracker; group?: { groupKey: string; groupLabels: Record<string, string> } } | undefined {
  try {
    const parsed = JSON.parse(memory) as {
      v?: number;
      tracker?: Tracker & { flap: { history: unknown } };
      group?: { groupKey?: unknown; groupLabels?: unknown };
    };
    const t = parsed.tracker;
    if (parsed.v !== MEMORY_VERSION || !t || typeof t.fingerprint !== 'string' || typeof t.flap?.history !== 'string')
      return undefined;
    const tracker = { ...t, flap: { ...t.flap, history: [...t.flap.history].map((c) => c === '1') } };
    const g = parsed.group;
    return typeof g?.groupKey === 'string' && g.groupLabels && typeof g.groupLabels === 'object'
      ? { tracker, group: { groupKey: g.groupKey, groupLabels: g.groupLabels as Record<string, string> } }
      : { tracker };
  } catch {
    return undefined;
  }
}

function sameStatuses(a: ReadonlyMap<string, SilenceStatus>, b: ReadonlyMap<string, SilenceStatus>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
