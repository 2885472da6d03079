/**
 * Time, injected. Nothing in cellwatch reads `Date.now()` or calls `setTimeout` for scheduling
 * directly: it is handed a Clock and a Scheduler. The daemon passes the wall clock; the simulator and
 * the demo pass an accelerated clock (one simulated minute per real second); tests pass a ManualClock
 * and drive a ManualScheduler tick by tick, so a day of polling runs in milliseconds, deterministically.
 */
import type { EpochMs } from '../model/index.js';

export interface Clock {
  /** Current clock time, epoch ms. */
  now(): EpochMs;
  /** Clock milliseconds per real millisecond: 1 for the wall clock, 60 for the demo's clock. */
  readonly rate: number;
}

/**
 * A periodic task. `tick` is the aligned clock time the run stands for (a multiple of the interval),
 * not the moment it started: a poll scheduled for 12:00:00 stamps its samples 12:00:00 even when the
 * event loop ran it 40 ms late. `signal` aborts when the scheduler stops with `abort`.
 */
export type Task = (tick: EpochMs, signal: AbortSignal) => Promise<void> | void;

export interface EveryOptions {
  /** Shift the aligned ticks by this much (spreads many targets across an interval). */
  offsetMs?: number;
  /** Called with the tick that was skipped because the previous run was still going. */
  onSkip?: (tick: EpochMs) => void;
  /** Called when a run throws or rejects; the schedule goes on. */
  onError?: (err: unknown, tick: EpochMs) => void;
}

export interface CronOptions {
  /** IANA time zone the expression is read in (peak hours and days are local time). */
  timezone?: string;
  onError?: (err: unknown, tick: EpochMs) => void;
}

export interface Job {
  readonly name: string;
  /** Stops future runs; a run in progress finishes. Idempotent. */
  cancel(): void;
  /** Resolves when no run of this job is in progress. */
  idle(): Promise<void>;
}

export interface Scheduler {
  readonly clock: Clock;
  /** Runs `task` at every multiple of `everyMs` (+ offset) of clock time. Never overlaps itself. */
  every(name: string, everyMs: number, task: Task, opts?: EveryOptions): Job;
  /**
   * Runs `task` when the node-cron expression (5 or 6 fields) matches clock time, checked once per
   * clock minute, so jobs follow the accelerated and manual clocks too. Seconds fields must be 0.
   */
  cron(name: string, expression: string, task: Task, opts?: CronOptions): Job;
  /** Cancels every job and waits for runs in progress; with `abort` their signals fire first. */
  stop(opts?: { abort?: boolean }): Promise<void>;
}

export { SystemClock, AcceleratedClock, TimerScheduler } from './system.js';
export { ManualClock, ManualScheduler } from './manual.js';
export { realTimers, onClock, ManualTimers, holdProcessOpen, type Timers, type Cancel } from './timers.js';
