import cron from 'node-cron';
import type { EpochMs } from '../model/index.js';
import type { CronOptions, EveryOptions, Job, Scheduler, Task } from './index.js';

/** First tick strictly after `t` on the grid `offset + k·every`. */
export function nextTick(t: EpochMs, everyMs: number, offsetMs = 0): EpochMs {
  return Math.floor((t - offsetMs) / everyMs) * everyMs + offsetMs + everyMs;
}

export const MINUTE_MS = 60_000;

/**
 * The bookkeeping both schedulers share: one job, its in-flight run, skip on overlap, abort signal.
 * The schedulers differ only in how they decide *when* to call `fire`.
 */
export class JobRun implements Job {
  private running: Promise<void> | undefined;
  private cancelled = false;
  private readonly abort = new AbortController();

  constructor(
    readonly name: string,
    private readonly task: Task,
    private readonly opts: EveryOptions,
  ) {}

  get isCancelled(): boolean {
    return this.cancelled;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Starts a run for `tick` unless one is in progress (then the tick is reported skipped). */
  fire(tick: EpochMs): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    if (this.running) {
      this.opts.onSkip?.(tick);
      return this.running;
    }
    // Start on a microtask so `running` is set before the task can settle, even if it throws at once.
    const run: Promise<void> = Promise.resolve()
      .then(() => this.task(tick, this.abort.signal))
      .then(
        () => undefined,
        (err: unknown) => {
          if (this.opts.onError) this.opts.onError(err, tick);
          else throw err;
        },
      )
      .finally(() => {
        if (this.running === run) this.running = undefined;
      });
    this.running = run;
    return run;
  }

  cancel(): void {
    this.cancelled = true;
  }

  abortRun(): void {
    this.abort.abort(new Error(`job ${this.name} stopped`));
  }

  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }
}

/** A node-cron expression turned into a predicate over clock time. */
export function cronMatcher(expression: string, opts: CronOptions): (t: EpochMs) => boolean {
  if (!cron.validate(expression)) throw new Error(`invalid cron expression "${expression}"`);
  // createTask parses and holds the expression without scheduling anything on the wall clock.
  const parsed = cron.createTask(expression, () => undefined, opts.timezone ? { timezone: opts.timezone } : {});
  return (t) => parsed.match(new Date(t));
}

/**
 * A cron job as a minute job on the scheduler's own clock that runs `task` when the expression
 * matches: both schedulers implement `cron` this way, so cron follows accelerated and manual clocks.
 */
export function scheduleCron(
  scheduler: Pick<Scheduler, 'every'>,
  name: string,
  expression: string,
  task: Task,
  opts: CronOptions,
): Job {
  const matches = cronMatcher(expression, opts);
  return scheduler.every(name, MINUTE_MS, (tick, signal) => (matches(tick) ? task(tick, signal) : undefined), {
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
