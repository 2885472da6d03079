/**
 * One alert's life, as a pure state machine: `(tracker, input, policy, now) → (tracker', transitions)`.
 * A tracker exists per fingerprint (per problem); each stretch from pending to resolved is an
 * *episode* with its own id, so the history of a cell that degrades every evening is a list of
 * episodes under one fingerprint.
 *
 * The rules:
 * - a condition that becomes active opens an episode in `pending`; it turns `firing` once it has been
 *   active for the kind's `for` (0 fires at once); a pending episode whose condition clears is dropped
 *   (resolved without ever firing: nothing was notified, nothing will be);
 * - a firing episode resolves only after its condition stayed clear for `holdDown` (Zabbix recovery
 *   expressions, OpenNMS re-arm): a relapse inside the hold-down keeps the same episode firing. Its
 *   `endsAt` is when the condition cleared, not when the hold-down ran out. `immediate` clears skip
 *   the hold-down (a retracted window never was; a restart cannot re-check a condition);
 * - flapping (flapping.ts) is judged on the condition's samples. While an alert flaps its
 *   notifications are *held*: sinks see it firing, marked flapping, whatever its episodes do, until
 *   flapping stops and its real state is sent. Starting and stopping to flap are transitions (and the
 *   held notice's key changes, so each is one notification);
 * - an ack (who, when, comment) mutes repeats of the episode until it resolves, or until its severity
 *   rises above the severity that was acked (then the ack is cleared: someone must look again);
 * - severity changes of a firing episode are transitions (escalated / deescalated).
 */
import type { AlertSeverity, EpochMs } from '../model/index.js';
import { emptyHistory, flapVerdict, FLAP_HISTORY, percentStateChange, pushSample } from './flapping.js';
import { SEVERITY_RANK, type AlertKind, type AlertSpec, type ConditionUpdate } from './kinds.js';

export interface FlapPolicy {
  enabled: boolean;
  /** Flapping stops below this percent state change. */
  lowPct: number;
  /** Flapping starts at this percent state change. */
  highPct: number;
  /** A steady condition is sampled this often (changes are always sampled). */
  sampleMs: number;
}

export interface LifecyclePolicy {
  /** Active this long before firing. */
  forMs: number;
  /** Clear this long before resolving. */
  holdDownMs: number;
  flap: FlapPolicy;
}

export type EpisodeState = 'pending' | 'firing' | 'resolved';

export interface Episode {
  id: string;
  state: EpisodeState;
  pendingSince: EpochMs;
  /** The problem's start: the rule's `since` when it knows it, else when the episode opened. */
  startsAt: EpochMs;
  firedAt?: EpochMs;
  /** The condition is clear since then and the hold-down runs. */
  clearSince?: EpochMs;
  endsAt?: EpochMs;
  resolvedAt?: EpochMs;
}

export interface AlertAck {
  by: string;
  at: EpochMs;
  comment: string;
  /** The severity that was acked: a rise above it clears the ack. */
  severity: AlertSeverity;
}

export interface FlapState {
  /** Oldest first, at most 21. */
  history: boolean[];
  lastSampleAt: EpochMs;
  percent: number;
  flapping: boolean;
  since?: EpochMs;
  /** What sinks were told when flapping started (or when it first fired while flapping). */
  held?: { severity: AlertSeverity; startsAt: EpochMs };
}

export interface Tracker {
  fingerprint: string;
  kind: AlertKind;
  spec: AlertSpec;
  /** The condition as last reported. */
  active: boolean;
  episode?: Episode;
  ack?: AlertAck;
  flap: FlapState;
  updatedAt: EpochMs;
}

export type TransitionType =
  | 'pending'
  | 'firing'
  | 'resolved'
  | 'dropped'
  | 'clearing'
  | 'relapsed'
  | 'escalated'
  | 'deescalated'
  | 'flapping-started'
  | 'flapping-stopped'
  | 'acked'
  | 'ack-cleared';

export interface AlertTransition {
  /** Episode id. */
  alert: string;
  fingerprint: string;
  kind: AlertKind;
  at: EpochMs;
  type: TransitionType;
  /** The episode's state after the transition. */
  state: EpisodeState;
  severity: AlertSeverity;
  reason: string;
  by?: string;
  comment?: string;
}

export interface Step {
  tracker: Tracker | undefined;
  transitions: AlertTransition[];
}

function fresh(spec: AlertSpec, now: EpochMs): Tracker {
  return {
    fingerprint: spec.fingerprint,
    kind: spec.kind,
    spec,
    active: false,
    flap: { history: emptyHistory(), lastSampleAt: now, percent: 0, flapping: false },
    updatedAt: now,
  };
}

function clone(t: Tracker): Tracker {
  const c: Tracker = { ...t, flap: { ...t.flap, history: [...t.flap.history] } };
  if (t.episode) c.episode = { ...t.episode };
  return c;
}

class Recorder {
  readonly out: AlertTransition[] = [];
  constructor(
    private readonly t: Tracker,
    private readonly now: EpochMs,
  ) {}
  add(type: TransitionType, reason: string, extra: { by?: string; comment?: string } = {}): void {
    const ep = this.t.episode;
    this.out.push({
      alert: ep?.id ?? this.t.fingerprint,
      fingerprint: this.t.fingerprint,
      kind: this.t.kind,
      at: this.now,
      type,
      state: ep?.state ?? 'resolved',
      severity: this.t.spec.severity,
      reason,
      ...extra,
    });
  }
}

/** Samples the steady condition once per whole `sampleMs` since the last sample (at most 21 matter). */
function sampleSteady(t: Tracker, policy: LifecyclePolicy, now: EpochMs, rec: Recorder): void {
  const step = policy.flap.sampleMs;
  if (!(step > 0)) return;
  const due = Math.floor((now - t.flap.lastSampleAt) / step);
  if (due <= 0) return;
  for (let i = 0; i < Math.min(due, FLAP_HISTORY); i++) t.flap.history = pushSample(t.flap.history, t.active);
  t.flap.lastSampleAt += due * step;
  judgeFlapping(t, policy, now, rec);
}

function sampleChange(t: Tracker, policy: LifecyclePolicy, now: EpochMs, rec: Recorder): void {
  t.flap.history = pushSample(t.flap.history, t.active);
  t.flap.lastSampleAt = now;
  judgeFlapping(t, policy, now, rec);
}

function judgeFlapping(t: Tracker, policy: LifecyclePolicy, now: EpochMs, rec: Recorder): void {
  t.flap.percent = percentStateChange(t.flap.history);
  if (!policy.flap.enabled) return;
  const flapping = flapVerdict(t.flap.flapping, t.flap.percent, policy.flap.lowPct, policy.flap.highPct);
  if (flapping === t.flap.flapping) return;
  t.flap.flapping = flapping;
  const pct = `${t.flap.percent.toFixed(1)}% state change`;
  if (flapping) {
    t.flap.since = now;
    const ep = t.episode;
    if (ep?.state === 'firing') t.flap.held = { severity: t.spec.severity, startsAt: ep.startsAt };
    rec.add('flapping-started', `${pct} ≥ ${policy.flap.highPct}%: notifications held`);
  } else {
    delete t.flap.since;
    delete t.flap.held;
    rec.add('flapping-stopped', `${pct} < ${policy.flap.lowPct}%`);
  }
}

function openEpisode(t: Tracker, now: EpochMs): void {
  let id = `${t.fingerprint}-${now.toString(36)}`;
  if (t.episode?.id === id) id += '-2';
  const since = t.spec.since;
  t.episode = { id, state: 'pending', pendingSince: now, startsAt: since !== undefined && since <= now ? since : now };
  delete t.ack;
}

function fire(t: Tracker, now: EpochMs, rec: Recorder, reason: string): void {
  const ep = t.episode!;
  ep.state = 'firing';
  ep.firedAt = now;
  if (t.flap.flapping && !t.flap.held) t.flap.held = { severity: t.spec.severity, startsAt: ep.startsAt };
  rec.add('firing', reason);
}

function resolve(t: Tracker, now: EpochMs, rec: Recorder, reason: string): void {
  const ep = t.episode!;
  ep.state = 'resolved';
  ep.endsAt = ep.clearSince ?? now;
  ep.resolvedAt = now;
  delete ep.clearSince;
  delete t.ack;
  rec.add('resolved', reason);
}

/** Applies a rule's verdict about the problem. */
export function observe(prev: Tracker | undefined, u: ConditionUpdate, policy: LifecyclePolicy, now: EpochMs): Step {
  if (!prev && !u.active) return { tracker: undefined, transitions: [] };
  const t = prev ? clone(prev) : fresh((u as { spec: AlertSpec }).spec, now);
  const rec = new Recorder(t, now);
  sampleSteady(t, policy, now, rec);
  if (u.active) {
    const before = t.spec.severity;
    t.spec = u.spec;
    if (!t.active) {
      t.active = true;
      sampleChange(t, policy, now, rec);
    }
    const ep = t.episode;
    if (!ep || ep.state === 'resolved') {
      openEpisode(t, now);
      rec.add('pending', 'condition active');
      if (policy.forMs <= 0) fire(t, now, rec, 'condition active (no for)');
    } else if (ep.state === 'pending') {
      if (now - ep.pendingSince >= policy.forMs) fire(t, now, rec, `active for ${policy.forMs} ms`);
    } else {
      if (ep.clearSince !== undefined) {
        delete ep.clearSince;
        rec.add('relapsed', 'condition active again within the hold-down');
      }
      const after = t.spec.severity;
      if (SEVERITY_RANK[after] > SEVERITY_RANK[before]) rec.add('escalated', `${before} → ${after}`);
      else if (SEVERITY_RANK[after] < SEVERITY_RANK[before]) rec.add('deescalated', `${before} → ${after}`);
      if (t.ack && SEVERITY_RANK[after] > SEVERITY_RANK[t.ack.severity]) {
        const acked = t.ack.severity;
        delete t.ack;
        rec.add('ack-cleared', `severity rose to ${after}, above the acked ${acked}`);
      }
    }
  } else {
    if (t.active) {
      t.active = false;
      sampleChange(t, policy, now, rec);
    }
    const ep = t.episode;
    if (ep?.state === 'pending') {
      ep.state = 'resolved';
      ep.endsAt = now;
      ep.resolvedAt = now;
      rec.add('dropped', `${u.reason} before firing`);
    } else if (ep?.state === 'firing') {
      if (u.immediate || policy.holdDownMs <= 0) {
        if (ep.clearSince === undefined) ep.clearSince = now;
        resolve(t, now, rec, u.reason);
      } else if (ep.clearSince === undefined) {
        ep.clearSince = now;
        rec.add('clearing', `${u.reason}; resolves after ${policy.holdDownMs} ms clear`);
      } else if (now - ep.clearSince >= policy.holdDownMs) {
        resolve(t, now, rec, `clear for ${policy.holdDownMs} ms`);
      }
    }
  }
  t.updatedAt = now;
  return { tracker: t, transitions: rec.out };
}

/** Lets time pass: `for` and hold-down deadlines, and the steady samples that end flapping. */
export function advance(prev: Tracker, policy: LifecyclePolicy, now: EpochMs): Step {
  const deadline = nextDeadline(prev, policy);
  if (deadline === undefined || deadline > now) return { tracker: prev, transitions: [] };
  const t = clone(prev);
  const rec = new Recorder(t, now);
  sampleSteady(t, policy, now, rec);
  const ep = t.episode;
  if (ep?.state === 'pending' && t.active && now - ep.pendingSince >= policy.forMs)
    fire(t, now, rec, `active for ${policy.forMs} ms`);
  else if (ep?.state === 'firing' && ep.clearSince !== undefined && now - ep.clearSince >= policy.holdDownMs)
    resolve(t, now, rec, `clear for ${policy.holdDownMs} ms`);
  t.updatedAt = now;
  return { tracker: t, transitions: rec.out };
}

/** The next time `advance` would change something, if any. */
export function nextDeadline(t: Tracker, policy: LifecyclePolicy): EpochMs | undefined {
  const ep = t.episode;
  let at: EpochMs | undefined;
  const consider = (x: EpochMs) => {
    if (at === undefined || x < at) at = x;
  };
  if (ep?.state === 'pending' && t.active) consider(ep.pendingSince + policy.forMs);
  if (ep?.state === 'firing' && ep.clearSince !== undefined) consider(ep.clearSince + policy.holdDownMs);
  // Only a flapping alert needs its steady samples on time (to stop flapping); the others catch up
  // on their next observation with the same result.
  if (t.flap.flapping && policy.flap.sampleMs > 0) consider(t.flap.lastSampleAt + policy.flap.sampleMs);
  return at;
}

export type AckOutcome = { ok: true; step: Step } | { ok: false; reason: 'not-active' };

export function acknowledge(prev: Tracker, by: string, comment: string, now: EpochMs): AckOutcome {
  const ep = prev.episode;
  if (!ep || ep.state === 'resolved') return { ok: false, reason: 'not-active' };
  const t = clone(prev);
  t.ack = { by, at: now, comment, severity: t.spec.severity };
  t.updatedAt = now;
  const rec = new Recorder(t, now);
  rec.add('acked', comment === '' ? 'acknowledged' : comment, { by, comment });
  return { ok: true, step: { tracker: t, transitions: rec.out } };
}

/** What sinks are to be told about this alert now, or nothing (pending, dropped, never fired). */
export interface NoticeState {
  status: 'firing' | 'resolved';
  /** Identity for dedup: a change of key (new severity, flapping on or off) is news. */
  key: string;
  severity: AlertSeverity;
  startsAt: EpochMs;
  endsAt?: EpochMs;
  flapping: boolean;
  acked: boolean;
  /** Acked or flapping: not repeated. */
  quiet: boolean;
}

export function noticeState(t: Tracker): NoticeState | undefined {
  const ep = t.episode;
  const acked = t.ack !== undefined;
  if (t.flap.flapping && t.flap.held)
    return {
      status: 'firing',
      key: `${t.fingerprint}|${t.flap.held.severity}|flapping`,
      severity: t.flap.held.severity,
      startsAt: t.flap.held.startsAt,
      flapping: true,
      acked,
      quiet: true,
    };
  if (!ep) return undefined;
  if (ep.state === 'firing')
    return {
      status: 'firing',
      key: `${t.fingerprint}|${t.spec.severity}`,
      severity: t.spec.severity,
      startsAt: ep.startsAt,
      flapping: false,
      acked,
      quiet: acked,
    };
  if (ep.state === 'resolved' && ep.firedAt !== undefined)
    return {
      status: 'resolved',
      key: t.fingerprint,
      severity: t.spec.severity,
      startsAt: ep.startsAt,
      ...(ep.endsAt !== undefined ? { endsAt: ep.endsAt } : {}),
      flapping: false,
      acked,
      quiet: acked,
    };
  return undefined;
}

/**
 * A tracker that no longer matters: its condition is clear, its last episode over, and its flap
 * history has decayed (21 samples since), so forgetting it changes no future decision.
 */
export function retired(t: Tracker, policy: LifecyclePolicy, now: EpochMs): boolean {
  if (t.active || t.flap.flapping) return false;
  const ep = t.episode;
  if (ep && ep.state !== 'resolved') return false;
  const since = ep?.resolvedAt ?? t.updatedAt;
  return now - since >= FLAP_HISTORY * Math.max(policy.flap.sampleMs, 1);
}
