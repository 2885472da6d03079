/**
 * Counters to deltas and rates, without I/O or clocks: every rule about wraps, resets and impossible
 * values lives here so it can be table-tested with plain numbers (test/snmp-counters.test.ts).
 *
 * The rules, in the order they are applied:
 * - the first reading of a counter gives no delta (there is nothing to subtract);
 * - a target-level discontinuity (agent reboot seen through sysUpTime, or a changed
 *   ifCounterDiscontinuityTime for one row) gives no delta, whatever the values say;
 * - Counter64 never wraps in practice (2^64 octets is 585 years at 1 Tbit/s): going down is a reset;
 * - Counter32 going down is taken as exactly one wrap (RFC 2578: it wraps at 2^32);
 * - a delta above the physical cap (ifHighSpeed × elapsed) is impossible, so it is a discontinuity
 *   the agent did not announce (a Counter32 that wrapped twice, or a reboot between polls),
 *   never a spike.
 * In every "no delta" case the caller records a gap; a negative or impossible figure never leaves here.
 */

export type CounterKind = 'counter32' | 'counter64';

export const TWO_32 = 2n ** 32n;
/** sysUpTime and TimeStamp are TimeTicks: hundredths of a second, modulo 2^32 (≈ 497.1 days). */
export const TIMETICKS_MODULO = 2 ** 32;

export type DeltaVerdict =
  | { ok: true; delta: bigint; wrapped: boolean }
  | { ok: false; reason: 'first' | 'discontinuity' | 'reset' | 'over-cap' };

export interface DeltaOptions {
  /** The agent or row announced a discontinuity since the previous reading. */
  discontinuity?: boolean;
  /** The largest delta physically possible over the elapsed time (e.g. link speed × seconds ÷ 8). */
  maxDelta?: bigint;
}

/** The increase of a counter between two readings, or why there is none. */
export function counterDelta(
  prev: bigint | undefined,
  cur: bigint,
  kind: CounterKind,
  opts: DeltaOptions = {},
): DeltaVerdict {
  if (prev === undefined) return { ok: false, reason: 'first' };
  if (opts.discontinuity) return { ok: false, reason: 'discontinuity' };
  let delta: bigint;
  let wrapped = false;
  if (cur >= prev) {
    delta = cur - prev;
  } else if (kind === 'counter32' && prev < TWO_32 && cur < TWO_32) {
    delta = cur + TWO_32 - prev;
    wrapped = true;
  } else {
    return { ok: false, reason: 'reset' };
  }
  if (opts.maxDelta !== undefined && delta > opts.maxDelta) return { ok: false, reason: 'over-cap' };
  return { ok: true, delta, wrapped };
}

export type UptimeVerdict = 'first' | 'continuous' | 'wrapped' | 'reboot';

/**
 * How much time passed between two sysUpTime readings, as a range: by the injected clock and by the
 * real clock scaled to clock rate. They agree in production; under a manual clock (tests) or an agent
 * whose uptime runs on a different time base they differ, and the verdict must hold for both.
 */
export interface Elapsed {
  minMs: number;
  maxMs: number;
}

/**
 * Slack allowed between the agent's uptime advance and ours: request latency, agents that update
 * sysUpTime coarsely, scheduling jitter. 2 s or 5 % of the elapsed time, whichever is more.
 */
export function uptimeTolerance(elapsedMs: number): number {
  return Math.max(2000, 0.05 * elapsedMs);
}

/**
 * Did the agent restart between two readings of sysUpTime (centiseconds, TimeTicks)? Uptime advancing
 * *less* than the time that surely passed means it restarted from zero in between. A lower value
 * that is one 2^32-tick wrap (≈ 497.1 days) ahead by the elapsed time is the counter's own wrap.
 */
export function uptimeVerdict(prevTicks: number | undefined, curTicks: number, elapsed: Elapsed): UptimeVerdict {
  if (prevTicks === undefined) return 'first';
  const tol = uptimeTolerance(Math.abs(elapsed.maxMs));
  if (curTicks >= prevTicks) {
    const advancedMs = (curTicks - prevTicks) * 10;
    return advancedMs < elapsed.minMs - tol ? 'reboot' : 'continuous';
  }
  const advancedMs = (curTicks + TIMETICKS_MODULO - prevTicks) * 10;
  return advancedMs >= elapsed.minMs - tol && advancedMs <= elapsed.maxMs + tol ? 'wrapped' : 'reboot';
}

export interface RateOptions {
  /** Link speed, Mbit/s (ifHighSpeed); 0 or absent means unknown, and then there is no cap. */
  speedMbps?: number;
  discontinuity?: boolean;
}

export type RateVerdict =
  | { ok: true; mbps: number; wrapped: boolean; clamped: boolean }
  | { ok: false; reason: 'first' | 'discontinuity' | 'reset' | 'over-cap' | 'no-time' };

/**
 * Headroom over the nominal speed before a rate is impossible: tick stamps are aligned, real reads
 * jitter by up to a request's latency, so a saturated link can look a few percent faster than itself.
 * Rates inside the headroom are clamped to the speed.
 */
const RATE_HEADROOM = 0.05;

/** Octet counter readings → Mbit/s over `elapsedS`, capped at the link speed. */
export function octetRate(
  prev: bigint | undefined,
  cur: bigint,
  kind: CounterKind,
  elapsedS: number,
  opts: RateOptions = {},
): RateVerdict {
  if (prev !== undefined && !(elapsedS > 0)) return { ok: false, reason: 'no-time' };
  const speed = opts.speedMbps !== undefined && opts.speedMbps > 0 ? opts.speedMbps : undefined;
  const maxDelta =
    speed === undefined ? undefined : BigInt(Math.ceil((speed * 1e6 * elapsedS * (1 + RATE_HEADROOM)) / 8));
  const d = counterDelta(prev, cur, kind, {
    ...(opts.discontinuity ? { discontinuity: true } : {}),
    ...(maxDelta !== undefined ? { maxDelta } : {}),
  });
  if (!d.ok) return d;
  const mbps = (Number(d.delta) * 8) / elapsedS / 1e6;
  if (speed !== undefined && mbps > speed) return { ok: true, mbps: speed, wrapped: d.wrapped, clamped: true };
  return { ok: true, mbps, wrapped: d.wrapped, clamped: false };
}
