import type { EpochMs } from '../model/index.js';
import type { Clock, CronOptions, EveryOptions, Job, Scheduler, Task } from './index.js';
import { JobRun, nextTick, scheduleCron } from './job.js';

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  readonly rate = 1;
  constructor(private t: EpochMs = 0) {}
  now(): EpochMs {
    return this.t;
  }
  set(t: EpochMs): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

interface ManualEntry {
  run: JobRun;
  everyMs: number;
  offsetMs: number;
  next: EpochMs;
}

/**
 * Runs jobs as a ManualClock is advanced, in tick order, each run awaited before the next starts:
 * the deterministic scheduler of tests and offline replays. `advanceTo(t)` moves the clock to every
 * due tick in turn, so a task sees `clock.now() === tick`.
 */
export class ManualScheduler implements Scheduler {
  private readonly entries = new Set<ManualEntry>();

  constructor(readonly clock: ManualClock) {}

  every(name: string, everyMs: number, task: Task, opts: EveryOptions = {}): Job {
    if (!(everyMs > 0)) throw new Error(`job ${name}: interval must be > 0`);
    const offsetMs = opts.offsetMs ?? 0;
    const entry: ManualEntry = {
      run: new JobRun(name, task, opts),
      everyMs,
      offsetMs,
      next: nextTick(this.clock.now(), everyMs, offsetMs),
    };
    this.entries.add(entry);
    return {
      name,
      cancel: () => {
        entry.run.cancel();
        this.entries.delete(entry);
      },
      idle: () => entry.run.idle(),
    };
  }

  cron(name: string, expression: string, task: Task, opts: CronOptions = {}): Job {
    return scheduleCron(this, name, expression, task, opts);
  }

  /** Advances the clock to `t`, running every tick due on the way, earliest first. */
  async advanceTo(t: EpochMs): Promise<void> {
    for (;;) {
      let due: ManualEntry | undefined;
      for (const e of this.entries) if (e.next <= t && (!due || e.next < due.next)) due = e;
      if (!due) break;
      this.clock.set(due.next);
      const tick = due.next;
      due.next = nextTick(tick, due.everyMs, due.offsetMs);
      await due.run.fire(tick);
    }
    this.clock.set(t);
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.clock.now() + ms);
  }

  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    const entries = [...this.entries];
    for (const e of entries) {
      e.run.cancel();
      if (opts.abort) e.run.abortRun();
    }
    this.entries.clear();
    await Promise.all(entries.map((e) => e.run.idle()));
  }
}
