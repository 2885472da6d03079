import type { EpochMs } from '../model/index.js';
import type { Clock, CronOptions, EveryOptions, Job, Scheduler, Task } from './index.js';
import { JobRun, nextTick, scheduleCron } from './job.js';

export class SystemClock implements Clock {
  readonly rate = 1;
  now(): EpochMs {
    return Date.now();
  }
}

/** Clock time runs `rate` times faster than real time, from `start`. The simulator's demo clock. */
export class AcceleratedClock implements Clock {
  private readonly realStart: number;
  constructor(
    private readonly start: EpochMs,
    readonly rate: number,
    private readonly realNow: () => number = Date.now,
  ) {
    if (!(rate > 0)) throw new Error(`clock rate must be > 0, got ${rate}`);
    this.realStart = realNow();
  }
  now(): EpochMs {
    return this.start + Math.floor((this.realNow() - this.realStart) * this.rate);
  }
}

/**
 * Schedules jobs on real timers against any Clock: a tick due at clock time T fires after
 * (T − now) / rate real milliseconds. When the event loop falls behind by whole intervals, the
 * missed ticks are reported as skipped rather than run in a burst.
 */
export class TimerScheduler implements Scheduler {
  private readonly jobs = new Set<{ run: JobRun; timer?: NodeJS.Timeout }>();

  /**
   * @param onError where a run's error goes when its job has no `onError` of its own (the daemon
   *   logs it); without one it would be an unhandled rejection.
   */
  constructor(
    readonly clock: Clock,
    private readonly onError: (err: unknown, job: string, tick: EpochMs) => void = (err) => {
      throw err;
    },
  ) {}

  every(name: string, everyMs: number, task: Task, opts: EveryOptions = {}): Job {
    if (!(everyMs > 0)) throw new Error(`job ${name}: interval must be > 0`);
    const run = new JobRun(name, task, { onError: (err, tick) => this.onError(err, name, tick), ...opts });
    const entry: { run: JobRun; timer?: NodeJS.Timeout } = { run };
    this.jobs.add(entry);
    const offset = opts.offsetMs ?? 0;
    const arm = (due: EpochMs): void => {
      if (run.isCancelled) return;
      const delay = Math.max(0, (due - this.clock.now()) / this.clock.rate);
      entry.timer = setTimeout(() => {
        const now = this.clock.now();
        // Ticks between `due` and the latest one that is already due were missed while we were late.
        const latest = nextTick(now, everyMs, offset) - everyMs;
        for (let t = due; t < latest; t += everyMs) opts.onSkip?.(t);
        void run.fire(Math.max(due, latest));
        arm(nextTick(Math.max(due, latest), everyMs, offset));
      }, delay);
      entry.timer.unref();
    };
    arm(nextTick(this.clock.now(), everyMs, offset));
    return {
      name,
      cancel: () => {
        run.cancel();
        clearTimeout(entry.timer);
        this.jobs.delete(entry);
      },
      idle: () => run.idle(),
    };
  }

  cron(name: string, expression: string, task: Task, opts: CronOptions = {}): Job {
    return scheduleCron(this, name, expression, task, opts);
  }

  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    const entries = [...this.jobs];
    for (const e of entries) {
      e.run.cancel();
      clearTimeout(e.timer);
      if (opts.abort) e.run.abortRun();
    }
    this.jobs.clear();
    await Promise.all(entries.map((e) => e.run.idle()));
  }
}
