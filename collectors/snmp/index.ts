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
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Scheduler } from '../../clock/index.js';
import type { Cell, EpochMs } from '../../model/index.js';

export interface SnmpCollectorDeps {
  scheduler: Scheduler;
  log: Logger;
  registry: Registry;
  /** Cell id → Cell (site, region, snmpIndex). May be empty: then the table's cell-id column is the truth. */
  inventory: ReadonlyMap<string, Cell>;
}

export type TargetState = 'ok' | 'timeout' | 'unreachable' | 'auth' | 'error' | 'pending';

// A type alias rather than an interface so it stays assignable to index-signature shapes (the API's TargetState).
export type TargetStatus = {
  target: string;
  host: string;
  port: number;
  profile: string;
  site?: string;
  state: TargetState;
  /** Tick of the last successful poll. */
  lastSuccess?: EpochMs;
  lastError?: string;
  lastDurationMs?: number;
  /** Rows in the table at the last successful poll. */
  rows?: number;
};

export interface ReloadResult {
  added: string[];
  removed: string[];
  /** Targets whose settings changed (restarted; counter state kept unless the device identity changed). */
  changed: string[];
  kept: string[];
}

export { SnmpCollector } from './collector.js';
export { SnmpError } from './session.js';
