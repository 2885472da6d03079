/**
 * The SNMP collector: polls every configured target (a site's cell table, a transport link's IF-MIB,
 * or a vendor table mapped in a profile) on its own schedule and reports into an Accumulator:
 * - cell-table rows → `Sample` (source `snmp`, ts = the tick, `intervalS` = seconds since the target's
 *   previous successful poll — the configured interval on the first);
 * - IF-MIB rows → `LinkSample` (`<target>:<ifIndex>`, site from the target);
 * - a failed poll → `addGap` (timeout / unreachable / auth / error, with the cells the target last
 *   reported) and `addError`; never a sample of a degraded cell or zero throughput;
 * - a counter discontinuity (agent restart, counter going down, rate above the link speed) → a
 *   `counter-reset` gap for the rows concerned and no volume or rate for that interval.
 *
 * Isolation: every target is its own scheduler job (a tick whose previous poll still runs is skipped,
 * counted and raised as a gap); polls take a slot in one of two lanes of `snmp.concurrency` slots
 * (one slot = one poll = one UDP socket, so at most 2 × concurrency sockets): answering targets in
 * one, targets whose last poll failed in the other, where they get a single try. A target that
 * answered before gets a quick first try (4 × its slowest round trip, ≥ 250 ms); silent, it moves to
 * the other lane for its full-timeout retry, so a device that just died holds a live slot ~250 ms.
 * Every poll ends by 0.8 × its interval (its deadline), counted from the tick.
 *
 * Intervals are clock time (the demo's clock runs 60× faster); network timeouts are real time.
 * Scheduling, deadlines, one-poll-per-target, gaps, status and reload are the RunningCollector's
 * (collectors/running.ts); this folder only resolves a target and polls it once.
 */
import type { Logger } from 'pino';
import type { Scheduler, Timers } from '../../clock/index.js';
import type { Inventory, Metrics } from '../../model/index.js';

export interface SnmpCollectorDeps {
  scheduler: Scheduler;
  /** Poll deadlines are real time; default the real timers. */
  timers?: Timers;
  log: Logger;
  metrics: Metrics;
  /** Cells by site and snmpIndex. May be empty: then the table's cell-id column is the truth. */
  inventory: Inventory;
}

export type { ReloadResult, TargetState, TargetStatus } from '../index.js';
export { SnmpCollector, resolveTarget, type SnmpTarget } from './collector.js';
export { SnmpError } from './session.js';
