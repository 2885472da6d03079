/**
 * Collectors turn the network into Samples. The shape is Telegraf's: a collector is a small *input*
 * that knows how to resolve a target from config and gather it once — `poll(target, state, request)`,
 * reporting what it learned into `request.acc` — and a `RunningCollector` (running.ts, Telegraf's
 * `models/RunningInput`) owns everything around it: one scheduler job per target, the deadline, one
 * poll per target at a time (an overlapping tick is skipped and becomes a gap), failures as collection
 * gaps, per-target status and self-metrics, rate-limited warnings, and reload by diffing targets on
 * their identity. A new collector (probes, a vendor's REST API) implements `CollectorInput` and gets
 * all of that for free.
 *
 * A target that fails is data, never an exception: the input returns `{ ok: false, reason }` and the
 * runner records the gap and the error; the other targets never notice.
 *
 * Long-lived collectors (trap listener, push intake) implement `ServiceCollector` instead.
 */
import type { CollectionGap, EpochMs, LinkSample, Sample } from '../model/index.js';

export interface Accumulator {
  addSample(sample: Sample): void;
  addLink(link: LinkSample): void;
  /** The target gave no data for this tick: a monitoring gap, not a network fault. */
  addGap(gap: CollectionGap): void;
  /** Something went wrong that an operator should read in the logs (names the target). */
  addError(target: string, err: Error): void;
  /** The target answered for this tick (what ends a collection-gap alert). */
  addCollected?(target: string, ts: EpochMs): void;
}

/** Why a poll gave no data; the gap's reason. */
export type GapReason = CollectionGap['reason'];

/** A resolved target: what the runner needs to schedule it and to tell a changed one from a moved one. */
export interface CollectionTarget {
  readonly name: string;
  readonly intervalMs: number;
  /** Hash of what makes it the same device and table: a change starts its state afresh. */
  readonly identity: string;
  /** Hash of everything else (schedule, timeouts): a change reschedules and keeps the state. */
  readonly settings: string;
  /** Set when the target cannot be polled at all (e.g. an unknown profile): listed with state `error`, never scheduled. */
  readonly problem?: string;
  /** Shown in the target's status beside the runner's fields (host, port, profile, site). */
  readonly describe: Readonly<Record<string, string | number>>;
}

export interface PollRequest {
  /** Event time the poll stands for: stamp the samples with it. */
  tick: EpochMs;
  acc: Accumulator;
  /** Aborts when the poll is no longer wanted (stop, target removed or changed): end quietly, no gap. */
  signal: AbortSignal;
  /** `performance.now()` by which the poll must have ended (a share of the interval from the tick). */
  deadline: number;
  /** Aborts at the deadline: give up waiting (the runner then expects a failure outcome). */
  deadlineSignal: AbortSignal;
}

export type PollOutcome =
  /** `ids`: the cells (or links) reported — what a later failure leaves unseen. `details`: extra status fields. */
  | { ok: true; ids: string[]; details?: Record<string, string | number> }
  | { ok: false; reason: GapReason; error: Error };

/**
 * One kind of polled collector. `S` is the per-target state the input keeps between polls (counters,
 * tuning); the runner creates it with `initState` and drops it when the target's identity changes.
 */
export interface CollectorInput<T extends CollectionTarget, S> {
  /** `snmp`, `probe`: names the jobs (`snmp:<target>`) and the self-metrics (`cellwatch_snmp_…`). */
  readonly kind: string;
  /** How people name it in log lines: `SNMP`, `probe`. */
  readonly title: string;
  initState(target: T): S;
  poll(target: T, state: S, req: PollRequest): Promise<PollOutcome>;
  /** What a failed poll leaves unseen when the target never answered (e.g. its site's inventory cells). */
  blinded(target: T): string[];
  /** The target's settings changed (its identity did not): its state is kept; adjust what hangs on them. */
  retune?(target: T, state: S): void;
  /** The target is gone for good: drop what is kept for it (metric series). */
  forget?(target: T): void;
}

/** What a reload did to the target list. */
export interface ReloadResult {
  added: string[];
  removed: string[];
  /** Targets whose settings changed (restarted; state kept unless the device identity changed). */
  changed: string[];
  kept: string[];
}

export type TargetState = 'pending' | 'ok' | 'error' | GapReason;

/** One target's collection health, for `/api/v1/collection` and the board. */
export type TargetStatus = {
  target: string;
  collector: string;
  state: TargetState;
  /** Tick of the last successful poll. */
  lastSuccess?: EpochMs;
  lastError?: string;
  lastDurationMs?: number;
  [k: string]: unknown;
};

export interface ServiceCollector {
  readonly name: string;
  start(acc: Accumulator): Promise<void>;
  stop(): Promise<void>;
}

/** An accumulator that keeps everything in arrays: for tests, `analyze`, and benchmarks. */
export class MemoryAccumulator implements Accumulator {
  readonly samples: Sample[] = [];
  readonly links: LinkSample[] = [];
  readonly gaps: CollectionGap[] = [];
  readonly errors: { target: string; err: Error }[] = [];
  addSample(sample: Sample): void {
    this.samples.push(sample);
  }
  addLink(link: LinkSample): void {
    this.links.push(link);
  }
  addGap(gap: CollectionGap): void {
    this.gaps.push(gap);
  }
  addError(target: string, err: Error): void {
    this.errors.push({ target, err });
  }
}

export { RunningCollector, DEADLINE_SHARE, type RunningCollectorDeps } from './running.js';
export { RepeatedWarnings } from './warnings.js';
