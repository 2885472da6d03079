/**
 * The probe collector: active tests that say what a user got, where counters say what a cell carried.
 * Each configured probe (config `probes:`, docs/probes.md) is a target of one `CollectorInput` on the
 * RunningCollector, which owns its schedule, deadline, gaps, status and metrics; this folder only
 * resolves a probe and runs its test once:
 * - `http-download`: throughput from the first byte on, capped in bytes and duration → `dlMbps`;
 * - `http-ttfb`: connect + time until the response head (name lookup excluded) → `latencyMs`;
 * - `tcp-connect`: the TCP handshake (name lookup excluded) → `latencyMs`;
 * - `dns`: one resolution through node:dns, against a configured resolver or the host's → `latencyMs`.
 *
 * Every result is a `source: 'probe'` Sample stamped with the tick, `available: true`, for the probe's
 * cell or for every inventory cell of its site. A failed test is a **bad** sample
 * (`dlMbps: 0`, verdicts.ts has the rules) with the reason in the target's status and the log; a
 * probe host that cannot test (its resolver silent, no route out, or a health check failing beside
 * the test) gives no sample and a `probe-host` collection gap: unknown, never bad.
 *
 * Tests share the probe host's link through a lane (lane.ts): a download runs alone, latency tests
 * run beside each other but never beside a download, whose queue they would measure instead.
 *
 * Waits are real time through the injected Timers and AbortSignals, never raw timers; intervals are
 * clock time like every collector's.
 */
import type { Logger } from 'pino';
import type { Scheduler, Timers } from '../../clock/index.js';
import type { Inventory, Metrics } from '../../model/index.js';

export interface ProbeCollectorDeps {
  scheduler: Scheduler;
  /** Test timeouts and poll deadlines are real time; default the real timers. */
  timers?: Timers;
  log: Logger;
  metrics: Metrics;
  /** The cells of a site probe's site. May be empty when every probe names its cell. */
  inventory: Inventory;
}

/** What one test is run with. */
export interface TestContext {
  /** Aborts when the test is no longer wanted (stop, target removed): the test rejects, no verdict. */
  signal: AbortSignal;
  /** Aborts at the poll's deadline: the test ends as timed out (a download keeps what it measured). */
  deadline: AbortSignal;
  /** The longest wait for anything (connection, answer, next read), real ms. */
  timeoutMs: number;
  timers: Timers;
}

export { ProbeCollector, resolveProbe, type ProbeTarget } from './collector.js';
export { probeVerdict, classifyFailure, PROBE_KPI, type ProbeVerdict, type TestResult } from './verdicts.js';
export { ProbeLane } from './lane.js';
export type { ReloadResult, TargetStatus } from '../index.js';
