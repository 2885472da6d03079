/**
 * Alerts: what a NOC engineer is told, once per problem, never flapping, never lost across a restart.
 *
 * Two halves, kept apart on purpose:
 *
 * - **Decisions** (pure: plain data and `now` in, plain data out; imports of `model/` only, table-tested):
 *   `rules.ts` turns inputs (window events, hot spots, SLA risks, targets, collection gaps, store events)
 *   into conditions; `lifecycle.ts` is the per-alert state machine (pending → firing → resolved with a
 *   `for` and a hold-down, Nagios flap detection, acks); `silences.ts`, `inhibit.ts` and `dedup.ts`
 *   (`needsNotify`) decide what is muted and what must be sent; `burn.ts` holds the burn-rate table.
 * - **Delivery** (`pipeline.ts`, `sinks/`): stages that do I/O, with time injected (a `Clock` and
 *   `Timers`), and `manager.ts`, the facade the daemon wires (HTTP routes, the stream, persistence).
 *
 * The delivery pipeline (pipeline.ts has the details):
 *
 *   inputs ──> rules ──conditions──> lifecycle ──notices──> aggregation groups (group_wait,
 *                                        │                     group_interval, repeat_interval)
 *                                        └─> transitions ──> record store, onTransition (stream)
 *
 *   group flush ──> inhibit ──> silence ──> fan out ─┬─> queue(sink A) ──> dedup ──> retry ──> record
 *                                                    ├─> queue(sink B) ──> dedup ──> retry ──> record
 *                                                    └─> …   (one bounded queue and worker per sink:
 *                                                             a slow or failing sink delays no other)
 *
 * `dedup` compares with the notification log (what this sink was last sent for this group); `retry`
 * is the only stage that backs off; `record` writes every delivery, sent or given up, to the log.
 */
import type { EpochMs } from '../model/index.js';

export type NotifyResult = { ok: true } | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number };

/** One alert as a sink sees it: Alertmanager's shape, times as epoch ms. */
export interface AlertNotice {
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** alertname (= kind), severity, scope, and the scope's ids (cell, site, region), cause when known. */
  labels: Record<string, string>;
  /** summary, description, remediation, usersAffected, evidence, complaints, runbook... */
  annotations: Record<string, string>;
  startsAt: EpochMs;
  endsAt?: EpochMs;
  /** Link to the board page of the alert's scope. */
  generatorURL: string;
}

/** What one sink is asked to deliver: one group of alerts (Alertmanager's webhook message, minus transport). */
export interface Notification {
  /** Stable key of the group (e.g. the incident): dedup and the notification log key on it with the sink name. */
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertNotice[];
  truncatedAlerts: number;
  /**
   * Unique per delivery and the same across its retries (the webhook's `webhook-id`, so a receiver
   * can drop a retried duplicate). Set by the pipeline; a sink called without one makes its own.
   */
  id?: string;
}

/** A delivery target. Never throws for a failed delivery: the result says whether retrying can help. */
export interface Notifier {
  readonly name: string;
  readonly kind: string;
  notify(n: Notification, signal: AbortSignal): Promise<NotifyResult>;
  close(): Promise<void>;
  /**
   * After a restart, before anything else: the alerts this sink was last told are firing (from the
   * notification log) and still are. A sink that keeps state of its own (Alertmanager's re-posts) picks
   * up from them; the others need not implement it.
   */
  resume?(firing: readonly AlertNotice[]): void;
}

/**
 * Waiting, injected (the lead's clock/ timers port provides it; tests resolve sleeps as they advance a
 * ManualClock). `ms` is clock time. On abort the promise settles early (resolved or rejected: callers
 * treat both as "stop waiting").
 */
export interface Timers {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type {
  AlertKind,
  AlertInput,
  AlertScope,
  HotspotEvent,
  SlaRiskEvent,
  TargetEvent,
  StoreHealthEvent,
} from './rules.js';
export { ALERT_KINDS } from './rules.js';
export type { AlertTransition, TransitionType, LifecyclePolicy, FlapPolicy } from './lifecycle.js';
export type { Matcher, MatchOp } from './matchers.js';
export { parseMatcher, formatMatcher } from './matchers.js';
export type { InhibitRule } from './inhibit.js';
export { DEFAULT_INHIBIT_RULES } from './inhibit.js';
export { needsNotify } from './dedup.js';
export { burnRate, BURN_LEVELS } from './burn.js';
export { fingerprint } from './fingerprint.js';
export { DeliveryPipeline, type PipelineOptions, type PipelineEvent, type SinkStats } from './pipeline.js';
export {
  AlertManager,
  alertManagerOptions,
  type AlertManagerDeps,
  type AlertManagerOptions,
  type AlertView,
  type AlertDetail,
  type AckResult,
  type SilenceInput,
} from './manager.js';
export { WebhookNotifier, type WebhookOptions } from './sinks/webhook.js';
export { LogNotifier } from './sinks/log.js';
export { buildSink, sinkNames, type SinkConfig } from './sinks/index.js';
