import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { realTimers, type Job, type Scheduler, type Timers } from '../clock/index.js';
import type { CounterMetric, EpochMs, GaugeMetric, Metrics } from '../model/index.js';
import type {
  Accumulator,
  CollectionTarget,
  CollectorInput,
  GapReason,
  PollOutcome,
  ReloadResult,
  TargetState,
  TargetStatus,
} from './index.js';
import { linkedSignal } from './signals.js';
import { RepeatedWarnings } from './warnings.js';

/** A poll must end by this share of its interval: the next tick then always finds it finished. */
export const DEADLINE_SHARE = 0.8;
/** A poll that used more than this share of the real time it had until its deadline is called slow. */
const SLOW_SHARE = 0.5;

export interface RunningCollectorDeps {
  scheduler: Scheduler;
  /** Deadlines are real time; default the real timers. */
  timers?: Timers;
  log: Logger;
  metrics: Metrics;
}

/** What the runner keeps per target; the input's own state rides along in `state`. */
interface Running<T extends CollectionTarget, S> {
  target: T;
  state: S;
  job?: Job;
  /** Aborts this target's polls (removal, change). */
  abort: AbortController;
  /** The poll in flight (one per target at a time). */
  polling?: Promise<void>;
  health: TargetState;
  lastSuccess?: EpochMs;
  lastError?: string;
  lastDurationMs?: number;
  details?: Record<string, string | number>;
  /** Cells (or links) reported by the last successful poll: what a gap blinds. */
  lastIds: string[];
}

/** The per-target series every collector kind has, named after the kind (`cellwatch_snmp_up`). */
class RunnerMetrics {
  readonly duration: GaugeMetric<'target'>;
  readonly up: GaugeMetric<'target'>;
  readonly lastSuccess: GaugeMetric<'target'>;
  readonly skipped: CounterMetric<'target'>;

  constructor(metrics: Metrics, kind: string) {
    const labelNames = ['target'] as const;
    const name = (n: string) => `cellwatch_${kind}_${n}`;
    this.duration = metrics.gauge({
      name: name('poll_duration_seconds'),
      help: 'Wall time of the last poll of the target (successful or not).',
      labelNames,
    });
    this.up = metrics.gauge({
      name: name('up'),
      help: '1 when the last poll of the target succeeded, 0 when it failed.',
      labelNames,
    });
    this.lastSuccess = metrics.gauge({
      name: name('last_success_timestamp_seconds'),
      help: 'Clock time (tick) of the last successful poll, Unix seconds.',
      labelNames,
    });
    this.skipped = metrics.counter({
      name: name('skipped_ticks_total'),
      help: 'Ticks skipped because the previous poll of the target was still running.',
      labelNames,
    });
  }

  remove(target: string): void {
    for (const m of [this.duration, this.up, this.lastSuccess, this.skipped]) m.remove({ target });
  }
}

/**
 * Runs one collector input over its targets (Telegraf's RunningInput): each target is its own
 * scheduler job on clock time; a poll gets a deadline at DEADLINE_SHARE of the interval counted from
 * its tick (in real time, since network waits are real: the demo's 60× clock leaves a 60 s poll 0.8 s);
 * one poll per target at a time, whatever starts it — a tick or `pollOnce` meeting a running poll is
 * skipped and recorded as a `skipped-overlap` gap; a failure becomes a collection gap naming the cells
 * it leaves unseen, never a degraded cell. Status, self-metrics and warnings (rate-limited per target)
 * live here, so an input only resolves a target and polls it once.
 */
export class RunningCollector<T extends CollectionTarget, S> {
  private readonly targets = new Map<string, Running<T, S>>();
  private readonly runnerMetrics: RunnerMetrics;
  private readonly slow: RepeatedWarnings;
  private readonly skippedWarnings: RepeatedWarnings;
  private readonly failures: RepeatedWarnings;
  private readonly recoveries: RepeatedWarnings;
  private readonly inflight = new Set<Promise<void>>();
  private acc?: Accumulator;
  private started = false;
  private stopping = stopController();

  constructor(
    protected readonly input: CollectorInput<T, S>,
    targets: readonly T[],
    protected readonly deps: RunningCollectorDeps,
  ) {
    this.runnerMetrics = new RunnerMetrics(deps.metrics, input.kind);
    this.slow = new RepeatedWarnings(deps.log);
    this.skippedWarnings = new RepeatedWarnings(deps.log);
    this.failures = new RepeatedWarnings(deps.log);
    this.recoveries = new RepeatedWarnings(deps.log, 'info');
    for (const t of targets) this.add(t);
  }

  get kind(): string {
    return this.input.kind;
  }

  async start(acc: Accumulator): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.acc = acc;
    this.stopping = stopController();
    for (const rt of this.targets.values()) this.schedule(rt);
    this.deps.log.info({ targets: this.targets.size }, `${this.input.title} collector started`);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const rt of this.targets.values()) {
      rt.job?.cancel();
      rt.job = undefined;
    }
    this.stopping.abort(new Error(`${this.input.kind} collector stopping`));
    await Promise.all([...this.inflight].map((p) => p.catch(() => undefined)));
    this.deps.log.info(`${this.input.title} collector stopped`);
  }

  /**
   * Applies a changed target list without a restart: new targets start, removed ones stop, a target
   * whose identity changed starts afresh, one whose settings changed is rescheduled with its state
   * kept, the others keep polling untouched.
   */
  reloadTargets(next: readonly T[]): ReloadResult {
    const result: ReloadResult = { added: [], removed: [], changed: [], kept: [] };
    const byName = new Map(next.map((t) => [t.name, t]));
    for (const [name, rt] of this.targets) {
      if (byName.has(name)) continue;
      this.remove(rt);
      result.removed.push(name);
    }
    for (const [name, t] of byName) {
      const rt = this.targets.get(name);
      if (!rt) {
        this.scheduleIfStarted(this.add(t));
        result.added.push(name);
      } else if (rt.target.identity !== t.identity) {
        this.remove(rt, false);
        this.scheduleIfStarted(this.add(t));
        result.changed.push(name);
      } else if (rt.target.settings !== t.settings) {
        rt.job?.cancel();
        rt.target = t;
        this.input.retune?.(t, rt.state);
        this.scheduleIfStarted(rt);
        result.changed.push(name);
      } else {
        rt.target = t;
        result.kept.push(name);
      }
    }
    this.deps.log.info(
      { added: result.added, removed: result.removed, changed: result.changed, kept: result.kept.length },
      `${this.input.title} targets reloaded`,
    );
    return result;
  }

  status(): TargetStatus[] {
    return [...this.targets.values()].map((rt) => ({
      target: rt.target.name,
      collector: this.input.kind,
      ...rt.target.describe,
      state: rt.health,
      ...(rt.lastSuccess !== undefined ? { lastSuccess: rt.lastSuccess } : {}),
      ...(rt.lastError !== undefined ? { lastError: rt.lastError } : {}),
      ...(rt.lastDurationMs !== undefined ? { lastDurationMs: rt.lastDurationMs } : {}),
      ...rt.details,
    }));
  }

  /** Polls one target now, through the same path as a scheduled tick. */
  async pollOnce(target: string, acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void> {
    const rt = this.targets.get(target);
    if (!rt) throw new Error(`unknown ${this.input.kind} target "${target}"`);
    await this.run(rt, acc, tick, signal);
  }

  // -------------------------------------------------------------------------------------------

  private add(t: T): Running<T, S> {
    const rt: Running<T, S> = {
      target: t,
      state: this.input.initState(t),
      abort: new AbortController(),
      health: t.problem ? 'error' : 'pending',
      ...(t.problem ? { lastError: t.problem } : {}),
      lastIds: [],
    };
    this.targets.set(t.name, rt);
    return rt;
  }

  /** Cancels its job and aborts a poll in flight; the aborted poll ends on its own and records no gap. */
  private remove(rt: Running<T, S>, forget = true): void {
    rt.job?.cancel();
    rt.job = undefined;
    rt.abort.abort(new Error(`target ${rt.target.name} removed`));
    if (this.targets.get(rt.target.name) === rt) this.targets.delete(rt.target.name);
    if (forget) {
      this.runnerMetrics.remove(rt.target.name);
      for (const w of [this.slow, this.skippedWarnings, this.failures, this.recoveries]) w.clear(rt.target.name);
      this.input.forget?.(rt.target);
    }
  }

  private scheduleIfStarted(rt: Running<T, S>): void {
    if (this.started) this.schedule(rt);
  }

  private schedule(rt: Running<T, S>): void {
    const t = rt.target;
    if (t.problem) {
      this.deps.log.error({ target: t.name }, `${this.input.title} target not polled: ${t.problem}`);
      return;
    }
    rt.job = this.deps.scheduler.every(
      `${this.input.kind}:${t.name}`,
      t.intervalMs,
      (tick, signal) => this.run(rt, this.acc!, tick, signal),
      {
        onSkip: (tick) => this.skipped(rt, tick),
        onError: (err, tick) => this.deps.log.error({ target: t.name, tick, err }, `${this.input.title} poll crashed`),
      },
    );
  }

  /**
   * One poll of a target, never two at once: the scheduler guarantees that per job, but a reload that
   * changes only timing replaces the job while its poll may still run, and pollOnce can meet a tick.
   * Two polls of one target would race on its state (counters, uptime).
   */
  private run(rt: Running<T, S>, acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void> {
    if (rt.polling) {
      this.skipped(rt, tick, acc);
      return Promise.resolve();
    }
    const p = this.poll(rt, acc, tick, signal).finally(() => {
      if (rt.polling === p) rt.polling = undefined;
    });
    rt.polling = p;
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  private skipped(rt: Running<T, S>, tick: EpochMs, acc: Accumulator | undefined = this.acc): void {
    const t = rt.target;
    this.runnerMetrics.skipped.inc({ target: t.name });
    this.skippedWarnings.warn(
      t.name,
      { target: t.name, tick },
      `slow ${this.input.title} target ${t.name}: tick skipped, the previous poll is still running`,
    );
    acc?.addGap({
      target: t.name,
      cells: this.blinded(rt),
      ts: tick,
      reason: 'skipped-overlap',
      detail: 'previous poll still running',
    });
  }

  /** What a failed poll leaves unseen: the ids the target last reported, else what the input expects. */
  private blinded(rt: Running<T, S>): string[] {
    return rt.lastIds.length > 0 ? [...rt.lastIds] : this.input.blinded(rt.target);
  }

  private async poll(rt: Running<T, S>, acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void> {
    const t = rt.target;
    if (t.problem) {
      acc.addError(t.name, new Error(`${t.name}: ${t.problem}`));
      return;
    }
    const clock = this.deps.scheduler.clock;
    const started = performance.now();
    // The deadline is a share of the interval counted from the tick, in clock time, converted to real ms.
    const budgetMs = Math.max(0, (tick + t.intervalMs * DEADLINE_SHARE - clock.now()) / clock.rate);
    const wanted = linkedSignal([signal, this.stopping.signal, rt.abort.signal]);
    const deadlineReached = new AbortController();
    const cancelDeadline = (this.deps.timers ?? realTimers).after(budgetMs, () =>
      deadlineReached.abort(new Error('deadline')),
    );
    let outcome: PollOutcome | undefined;
    try {
      outcome = await this.input.poll(t, rt.state, {
        tick,
        acc,
        signal: wanted.signal,
        deadline: started + budgetMs,
        deadlineSignal: deadlineReached.signal,
      });
    } catch (err) {
      // Thrown while unwanted: the input gave up because it was told to. Thrown otherwise: a bug, a gap.
      if (!wanted.signal.aborted) {
        outcome = { ok: false, reason: 'error', error: err instanceof Error ? err : new Error(String(err)) };
      }
    } finally {
      cancelDeadline();
      wanted.dispose();
    }
    // A poll nobody wants any more (stop, removal) ends without a verdict: it is not the device's fault.
    if (!outcome) return;
    const durationMs = performance.now() - started;
    if (outcome.ok) this.succeeded(rt, acc, tick, outcome.ids, outcome.details);
    else this.failed(rt, acc, tick, outcome.reason, outcome.error);
    this.finish(rt, tick, durationMs, budgetMs);
  }

  private succeeded(
    rt: Running<T, S>,
    acc: Accumulator,
    tick: EpochMs,
    ids: string[],
    details: Record<string, string | number> | undefined,
  ): void {
    const t = rt.target;
    if (rt.health !== 'ok' && rt.health !== 'pending') {
      this.recoveries.warn(
        t.name,
        { target: t.name, was: rt.health },
        `${this.input.title} target ${t.name} answers again`,
      );
    }
    rt.health = 'ok';
    rt.lastSuccess = tick;
    delete rt.lastError;
    rt.lastIds = ids;
    rt.details = details;
    this.runnerMetrics.up.set({ target: t.name }, 1);
    this.runnerMetrics.lastSuccess.set({ target: t.name }, tick / 1000);
    acc.addCollected?.(t.name, tick);
  }

  private failed(rt: Running<T, S>, acc: Accumulator, tick: EpochMs, reason: GapReason, err: Error): void {
    const t = rt.target;
    acc.addGap({ target: t.name, cells: this.blinded(rt), ts: tick, reason, detail: err.message });
    acc.addError(t.name, err);
    // One line when the target's trouble starts or changes, not one per failed poll.
    if (rt.health !== reason || rt.lastError !== err.message) {
      this.deps.log.warn(
        { target: t.name, ...t.describe, reason, tick },
        `${this.input.title} poll failed: ${err.message}`,
      );
    }
    rt.health = reason;
    rt.lastError = err.message;
    this.runnerMetrics.up.set({ target: t.name }, 0);
  }

  private finish(rt: Running<T, S>, tick: EpochMs, durationMs: number, budgetMs: number): void {
    const t = rt.target;
    rt.lastDurationMs = Math.round(durationMs * 10) / 10;
    this.runnerMetrics.duration.set({ target: t.name }, durationMs / 1000);
    if (durationMs > budgetMs * SLOW_SHARE) {
      this.slow.warn(
        t.name,
        { target: t.name, ...t.describe, durationMs: rt.lastDurationMs, deadlineMs: Math.round(budgetMs), tick },
        `slow ${this.input.title} target ${t.name}: poll took ${Math.round(durationMs)} ms of the ${Math.round(budgetMs)} ms before its deadline`,
      );
    }
  }
}

/** Every poll in flight listens to the stop signal: thousands of listeners are expected, not a leak. */
function stopController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}
