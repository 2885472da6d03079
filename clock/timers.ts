import type { EpochMs } from '../model/index.js';
import type { Clock } from './index.js';

/** Undoes a scheduled callback; idempotent. */
export type Cancel = () => void;

/**
 * Real-time waits, injected like the Clock: network timeouts, retry backoff, shutdown graces and poll
 * deadlines are real milliseconds whatever the clock's rate (a 5 s SNMP timeout is 5 s on the demo's
 * 60× clock too). Code outside clock/ never calls setTimeout itself (lint enforces it), so tests can
 * hand in ManualTimers and step through a backoff without waiting for it.
 */
export interface Timers {
  /** Runs `fn` once after `ms` real milliseconds; the returned function cancels it. Never keeps the process alive. */
  after(ms: number, fn: () => void): Cancel;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realTimers: Timers = {
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
  sleep(ms, signal) {
    return sleepWith(this, ms, signal);
  },
};

/**
 * Keeps the process running until the returned function is called. Every Timers wait and scheduler
 * timer is unref'd, so a process with no listening socket (probe mode) would otherwise exit at once.
 */
export function holdProcessOpen(): Cancel {
  const timer = setInterval(() => undefined, 2 ** 30);
  return () => clearInterval(timer);
}

function sleepWith(timers: Pick<Timers, 'after'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(abortReason(signal!));
    };
    const cancel = timers.after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

interface Pending {
  due: EpochMs;
  seq: number;
  fn: () => void;
}

/**
 * Timers that fire only when the test moves a ManualClock with `advance`/`advanceTo` here: the
 * deterministic twin of realTimers (rate 1: a timer of 5 000 ms fires when the clock has moved 5 000 ms).
 */
export class ManualTimers implements Timers {
  private pending: Pending[] = [];
  private seq = 0;

  constructor(private readonly clock: Clock & { set(t: EpochMs): void }) {}

  after(ms: number, fn: () => void): Cancel {
    const entry: Pending = { due: this.clock.now() + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(entry);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Timers not yet fired. */
  get size(): number {
    return this.pending.length;
  }

  /**
   * Moves the clock to `t`, firing every timer due on the way in due order (each at its own due time),
   * and lets the promise callbacks they trigger run before the next one fires.
   */
  async advanceTo(t: EpochMs): Promise<void> {
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending)
        if (p.due <= t && (!next || p.due < next.due || (p.due === next.due && p.seq < next.seq))) next = p;
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      if (next.due > this.clock.now()) this.clock.set(next.due);
      next.fn();
      await settle();
    }
    if (t > this.clock.now()) this.clock.set(t);
    await settle();
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.clock.now() + ms);
  }
}

/** Lets queued promise reactions (and what they queue in turn) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/**
 * Timers counted in the clock's milliseconds: a 10 s group wait on the demo's 60× clock is 10
 * simulated seconds, a sixtieth of a real one. For decisions made on event time (alert grouping and
 * hold-downs); network timeouts stay on real timers.
 */
export function onClock(clock: Clock, timers: Timers = realTimers): Timers {
  if (clock.rate === 1) return timers;
  return {
    after: (ms, fn) => timers.after(ms / clock.rate, fn),
    sleep: (ms, signal) => timers.sleep(ms / clock.rate, signal),
  };
}
