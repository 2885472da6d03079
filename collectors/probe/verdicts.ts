/**
 * What a probe test means for the experience ratio, without I/O or clocks: every rule that turns a
 * test's result into a sample, a bad sample or an unknown lives here, so it can be table-tested with
 * plain values (test/probe-collector.test.ts, test/fixtures/probe-verdicts/).
 *
 * The rules, in the order they are applied:
 * - a test that measured gives its one KPI: a download `dlMbps`, every other kind `latencyMs`;
 * - a failure *of the probe host* is unknown (no sample) and a `probe-host` gap: its resolver gives
 *   no answer at all (timeout, refused, temporary failure), or it has no route out (network down,
 *   unreachable, no source address). The user behind the cell may be fine; we cannot tell;
 * - a failure *of the probe's configuration* is unknown and an `error` gap: an HTTP status that is
 *   neither success nor a server error (3xx, 4xx: the URL is wrong or the test server refuses us),
 *   or a download too small to time. Fix the probe, not the network;
 * - every other failure is a failed test — refused, reset, timed out, stalled, 5xx, a name that does
 *   not resolve (NXDOMAIN, SERVFAIL), a TLS error: the user would have failed too, so it is a **bad**
 *   sample (`available: true, dlMbps: 0`, whatever the kind: 0 Mbit/s is bad under any positive
 *   `experience.dlMbps`) —
 * - unless one of the probe's health checks fails as well: then the probe host itself is unhealthy
 *   (its uplink, its gateway, its resolver), and the result is unknown with a `probe-host` gap.
 */
import type { GapReason } from '../index.js';

export type ProbeKind = 'http-download' | 'http-ttfb' | 'tcp-connect' | 'dns';

/** Where a test was when it failed. */
export type TestPhase = 'lookup' | 'connect' | 'first-byte' | 'body' | 'resolve';

export interface TestFailure {
  phase: TestPhase;
  /**
   * `timeout` (our own timer), `http` (a status, see `status`), `too-small` (a download without a
   * measurable duration), or the error code Node reports (ECONNREFUSED, ECONNRESET, ENOTFOUND,
   * ETIMEOUT, ESERVFAIL, CERT_HAS_EXPIRED, …).
   */
  code: string;
  status?: number;
  /** What happened, for a person: "connection refused", "HTTP 503 Service Unavailable". */
  message: string;
}

export type TestResult =
  | {
      ok: true;
      /** Download throughput from the first byte on, Mbit/s (http-download). */
      mbps?: number;
      /** Connect time, time to first byte or resolution time, ms (every other kind). */
      ms?: number;
      /** What else was measured, for the target's status: bytes, ttfbMs, connectMs, stoppedBy. */
      details?: Record<string, string | number>;
    }
  | { ok: false; failure: TestFailure; details?: Record<string, string | number> };

export interface HealthResult {
  /** e.g. `tcp-connect 192.168.1.1:80`. */
  check: string;
  ok: boolean;
  message?: string;
}

/** What a failed test says about whom. */
export type FailureClass = 'network' | 'probe-host' | 'config';

/** Codes with which the probe host's own resolver says it cannot answer at all (c-ares and getaddrinfo). */
const RESOLVER_SILENT = new Set(['ETIMEOUT', 'ECONNREFUSED', 'ECANCELLED', 'timeout', 'EAI_AGAIN']);
/** Codes that say the probe host has no way out: no route, no interface, no source address. */
const NO_ROUTE = new Set(['ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL']);

export function classifyFailure(f: TestFailure): FailureClass {
  if (NO_ROUTE.has(f.code)) return 'probe-host';
  // The resolver is the probe host's own: silence from it says nothing about the user's network.
  if (f.phase === 'resolve' && RESOLVER_SILENT.has(f.code)) return 'probe-host';
  if (f.phase === 'lookup' && f.code === 'EAI_AGAIN') return 'probe-host';
  if (f.code === 'too-small') return 'config';
  if (f.code === 'http' && f.status !== undefined && !(f.status >= 500 && f.status <= 599)) return 'config';
  return 'network';
}

export type ProbeVerdict =
  /** A sample with the measured KPI. */
  | { verdict: 'measured'; fields: { available: true; dlMbps?: number; latencyMs?: number } }
  /** A bad sample: the user would have failed too. */
  | { verdict: 'failed'; fields: { available: true; dlMbps: 0 }; failure: string }
  /** No sample, a collection gap. */
  | { verdict: 'unknown'; reason: GapReason; detail: string };

/** The one KPI each kind reports. */
export const PROBE_KPI: Record<ProbeKind, 'dlMbps' | 'latencyMs'> = {
  'http-download': 'dlMbps',
  'http-ttfb': 'latencyMs',
  'tcp-connect': 'latencyMs',
  dns: 'latencyMs',
};

/**
 * The verdict on one test. `health` holds the health checks run after a failed test (none when the
 * test passed or the probe has none configured).
 */
export function probeVerdict(kind: ProbeKind, result: TestResult, health: readonly HealthResult[] = []): ProbeVerdict {
  if (result.ok) {
    const value = PROBE_KPI[kind] === 'dlMbps' ? result.mbps : result.ms;
    if (value === undefined || !Number.isFinite(value) || value < 0) {
      return { verdict: 'unknown', reason: 'error', detail: `${kind} test reported no usable value` };
    }
    return { verdict: 'measured', fields: { available: true, [PROBE_KPI[kind]]: round(value) } };
  }
  const f = result.failure;
  switch (classifyFailure(f)) {
    case 'probe-host':
      return { verdict: 'unknown', reason: 'probe-host', detail: `the probe host cannot test: ${f.message}` };
    case 'config':
      return { verdict: 'unknown', reason: 'error', detail: `probe misconfigured: ${f.message}` };
    case 'network': {
      const sick = health.find((h) => !h.ok);
      if (sick) {
        return {
          verdict: 'unknown',
          reason: 'probe-host',
          detail: `test failed (${f.message}) but so did health check ${sick.check}${sick.message ? ` (${sick.message})` : ''}: the probe host itself is unhealthy`,
        };
      }
      return { verdict: 'failed', fields: { available: true, dlMbps: 0 }, failure: f.message };
    }
  }
}

/** Three decimals: a microsecond, or a kilobit per second. */
function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
