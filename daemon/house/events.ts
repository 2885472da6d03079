import type { Logger } from 'pino';
import type { StoreEvent } from '../../store/index.js';
import type { AlertTransition, AlertView } from '../../alerts/index.js';
import type {
  CollectionGap,
  CounterMetric,
  EpochMs,
  Inventory,
  LinkSample,
  Metrics,
  Sample,
  TargetResult,
  WindowEvent,
} from '../../model/index.js';

/**
 * What flows between the daemon's parts. Every event carries `at`, its *event time* (the samples' tick,
 * the gap's missed poll, the store's observation), never the moment it was delivered, so a listener
 * that acts on time (windows, alerts) is deterministic under replay. Later parts add their kinds here:
 * windows, targets, complaints, hot spots, alert transitions.
 */
export interface DaemonEvents {
  /** Accepted cell samples, one batch per turn of the event loop; `at` is the newest sample's ts. */
  samples: { at: EpochMs; samples: readonly Sample[] };
  /** Accepted transport-link samples. */
  links: { at: EpochMs; links: readonly LinkSample[] };
  /** Targets that gave no data (monitoring gaps, not network faults). */
  gaps: { at: EpochMs; gaps: readonly CollectionGap[] };
  /** A target answered for the tick `at`. */
  collected: { at: EpochMs; collector: string; target: string };
  /** Every target the collectors poll, at start and after a reload changed them. */
  monitored: { at: EpochMs; targets: readonly string[] };
  /** The series store's health: backend down/up, dead letters, drops. */
  store: StoreEvent;
  /** The inventory was replaced (a reload re-read it). */
  inventory: { at: EpochMs; inventory: Inventory };
  /** Degradation windows opened, changed, closed or retracted (one batch per detector call). */
  windows: { at: EpochMs; events: readonly WindowEvent[] };
  /** Good-experience results of days whose figures changed. */
  targets: { at: EpochMs; results: readonly TargetResult[] };
  /** An alert moved (pending, firing, resolved, acked, flapping…): the stream and the board. */
  alert: { at: EpochMs; transition: AlertTransition; alert: AlertView };
}

type Listener<E> = (event: E) => void | Promise<void>;

/**
 * A small typed publish/subscribe bus. Delivery is synchronous, in subscription order, on the
 * publisher's turn (a listener that needs to do I/O starts it and returns). A listener that throws —
 * or returns a promise that rejects — is logged and counted and never breaks the publisher or the
 * listeners after it: one buggy consumer must not stop samples reaching the store.
 */
export class EventBus<M extends { [K in keyof M]: { at: EpochMs } } = DaemonEvents> {
  private readonly listeners = new Map<keyof M, { name: string; fn: Listener<never> }[]>();
  private readonly failures: CounterMetric<'event' | 'listener'>;

  constructor(
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.failures = metrics.counter({
      name: 'cellwatch_event_listener_errors_total',
      help: 'Event listeners that threw (the event still reached the other listeners)',
      labelNames: ['event', 'listener'],
    });
  }

  /** Subscribes; `name` identifies the listener in logs and metrics. Returns the unsubscribe. */
  on<K extends keyof M>(kind: K, name: string, fn: Listener<M[K]>): () => void {
    const list = this.listeners.get(kind) ?? [];
    const entry = { name, fn: fn as Listener<never> };
    this.listeners.set(kind, [...list, entry]);
    return () =>
      this.listeners.set(
        kind,
        (this.listeners.get(kind) ?? []).filter((l) => l !== entry),
      );
  }

  emit<K extends keyof M>(kind: K, event: M[K]): void {
    for (const l of this.listeners.get(kind) ?? []) {
      try {
        const result = (l.fn as Listener<M[K]>)(event);
        if (result instanceof Promise) result.catch((err: unknown) => this.failed(kind, l.name, err));
      } catch (err) {
        this.failed(kind, l.name, err);
      }
    }
  }

  private failed(kind: keyof M, listener: string, err: unknown): void {
    this.failures.inc({ event: String(kind), listener });
    this.log.error({ err, event: String(kind), listener }, `event listener ${listener} failed on ${String(kind)}`);
  }
}
