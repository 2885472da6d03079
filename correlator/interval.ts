/**
 * One sample judged as an interval: bad, good or unknown, why, how badly, and for how many users.
 *
 * The rules (DESIGN.md's, with the refinements of docs/decisions.md):
 * - a sample at `ts` covers [ts − intervalS, ts);
 * - **absolute breaches**: bad experience (unavailable, or a present experience KPI failing);
 *   RSRP < `rsrpDbm`; SINR < `sinrDb`; PRB ≥ `prbUtilPct` with per-user DL below `prbDlFactor` × the
 *   DL threshold (default 1×: a full cell whose users still get 5–10 Mbit/s is a capacity warning
 *   for planners, not a degradation — 2× makes it one);
 * - **relative breaches** against the cell's baseline (counter streams only — a probe's speed test
 *   is not the per-user throughput counters measure): robust z below −z for DL, RSRP and SINR,
 *   above +z for latency, and the silent-failure test: available, radio fine, and users AND traffic
 *   both below `silentShare` of their medians ("collapsed") and below −z — or, when one interval's z
 *   cannot tell (a cell expecting 4 users that has 0.6: z ≈ −2.3 against the one-user MAD floor),
 *   collapsed on end for `silentSustainMs` on a cell expecting ≥ `silentMinUsers`, each interval
 *   below −z against the hour's spread without the one-user floor (`runMad`): a sleeping cell is
 *   a sustained absence, which one interval of a small cell cannot show and an hour of them does;
 * - bad = any breach; good = known experience and no breach; unknown otherwise (neutral);
 * - the **local cause** of a bad interval (links are judged later, see causes.ts), first match wins:
 *   outage (unavailable) → coverage (RSRP absolute or relative) → interference (SINR, RSRP fine) →
 *   congestion (PRB high and many users) → silent-failure → unknown;
 * - **users**: reported active users; a down cell, or a sample without users, stands for the users
 *   its baseline expects (see experience.ts). A silent failure's users who could not attach
 *   (expected − actual) count as users with a bad experience, so the target sees them like an outage's;
 * - **depth** (experience-bad) and **drift** (KPI-only) grade the interval for severity;
 * - **transport**: the interval's badness is one a saturated or down site link can explain — users'
 *   experience (absolute, or DL/latency against the baseline) or vanished traffic — not a radio KPI.
 */
import type { Cause, Experience, KpiEvidence, Sample } from '../model/index.js';
import { robustZ, type Baselines, type KpiBaseline } from './baseline.js';
import { classifyExperience } from './experience.js';
import type { DetectionRules, ExperienceThresholds } from './settings.js';

export type Verdict = 'bad' | 'good' | 'unknown';
export type EvidenceKpi = KpiEvidence['kpi'];

export interface Breach {
  kpi: EvidenceKpi;
  value: number;
  threshold?: number;
  baseline?: number;
  z?: number;
}

export interface Interval {
  sample: Sample;
  ts: number;
  start: number;
  intervalS: number;
  verdict: Verdict;
  experience: Experience;
  available: boolean;
  /** Users the interval stands for (reported, or expected when down or unreported). */
  users: number;
  /** Users with a bad experience: all of them when experience is bad, the missing ones in a silent failure. */
  badUsers: number;
  /** User-seconds with known experience, and of them good. */
  knownWeight: number;
  goodWeight: number;
  /** 0..1 shortfall of the users with a bad experience (1 = no service). */
  depth: number;
  /** 0..1 strength of KPI-only breaches. */
  drift: number;
  /** Available, radio fine, users and traffic below `silentShare` of their medians (silent failure or not yet). */
  collapsed: boolean;
  localCause: Cause;
  /** The interval's badness is one a saturated or down transport link explains (experience or traffic). */
  transport: boolean;
  breaches: readonly Breach[];
}

export interface AssessContext {
  experience: ExperienceThresholds;
  rules: DetectionRules;
  /** Load-KPI baselines of the hour and radio levels of the day; empty for probes and new cells. */
  hourly: Baselines;
  level: Baselines;
  /** The cell's recent mean users (NaN when unknown): the last fallback for a down cell's users. */
  recentUsers: number;
  /**
   * Start of the run of collapsed intervals just before this one (ms; NaN or absent when the last
   * interval was not collapsed): the track keeps it, for the sustained silent-failure test.
   */
  collapsedSince?: number;
}

const NO_BREACHES: readonly Breach[] = [];

/** Users a down (or user-less) sample stands for: hour-of-week, else hour-of-day baseline, else recent mean, else 1. */
export function expectedUsers(ctx: Pick<AssessContext, 'hourly' | 'recentUsers'>): number {
  const b = ctx.hourly.activeUsers?.median;
  if (b !== undefined && b > 0) return b;
  return Number.isFinite(ctx.recentUsers) && ctx.recentUsers > 0 ? ctx.recentUsers : 1;
}

/** Carried traffic as a rate, Mbit/s; undefined without volumes. */
export function trafficMbps(s: Sample, intervalS: number): number | undefined {
  if (s.dlVolumeMB === undefined && s.ulVolumeMB === undefined) return undefined;
  return (((s.dlVolumeMB ?? 0) + (s.ulVolumeMB ?? 0)) * 8) / intervalS;
}

/** The sample's values in BASELINE_KPIS order (baseline.ts) (NaN = missing), for the hourly history. */
export function baselineValues(s: Sample, intervalS: number, out: Float64Array): Float64Array {
  const traffic = trafficMbps(s, intervalS);
  const up = s.available !== false;
  // A down cell's users are not a measurement of its demand: its baseline (what an outage's users are
  // counted from) and its busy hour stay those of the cell at work, as the store's rollups hold them.
  out[0] = up && s.activeUsers !== undefined ? s.activeUsers : Number.NaN;
  out[1] = traffic ?? Number.NaN;
  out[2] = up && s.dlMbps !== undefined ? s.dlMbps : Number.NaN;
  out[3] = up && s.ulMbps !== undefined ? s.ulMbps : Number.NaN;
  out[4] = up && s.latencyMs !== undefined ? s.latencyMs : Number.NaN;
  out[5] = up && s.rsrpDbm !== undefined ? s.rsrpDbm : Number.NaN;
  out[6] = up && s.sinrDb !== undefined ? s.sinrDb : Number.NaN;
  out[7] = up && s.prbUtilPct !== undefined ? s.prbUtilPct : Number.NaN;
  return out;
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Robust z against the hour's spread without the per-sample absolute floor (see `runMad`). */
const runZ = (x: number, b: KpiBaseline) => (0.6745 * (x - b.median)) / (b.runMad ?? b.mad);

export function assessInterval(s: Sample, intervalS: number, ctx: AssessContext): Interval {
  const { experience: th, rules: r, hourly, level } = ctx;
  const exp = classifyExperience(s, th);
  const available = s.available !== false;
  const users = available && s.activeUsers !== undefined && s.activeUsers >= 0 ? s.activeUsers : expectedUsers(ctx);
  let breaches: Breach[] | undefined;
  const add = (b: Breach) => (breaches ??= []).push(b);
  let drift = 0;
  let coverage = false;
  let interference = false;
  let silent = false;
  let collapsed = false;
  /** A relative drop of DL or rise of latency: what a busy transport link does to users still above the thresholds. */
  let throughputDrift = false;
  let missing = 0;

  if (!available) {
    add({ kpi: 'available', value: 0 });
  } else {
    if (s.dlMbps !== undefined && s.dlMbps < th.dlMbps) add({ kpi: 'dlMbps', value: s.dlMbps, threshold: th.dlMbps });
    if (s.ulMbps !== undefined && s.ulMbps < th.ulMbps) add({ kpi: 'ulMbps', value: s.ulMbps, threshold: th.ulMbps });
    if (s.latencyMs !== undefined && s.latencyMs > th.latencyMs)
      add({ kpi: 'latencyMs', value: s.latencyMs, threshold: th.latencyMs });
    if (s.rsrpDbm !== undefined) {
      if (s.rsrpDbm < r.rsrpDbm) {
        add({ kpi: 'rsrpDbm', value: s.rsrpDbm, threshold: r.rsrpDbm });
        coverage = true;
        drift = Math.max(drift, clamp01((r.rsrpDbm - s.rsrpDbm) / 10));
      } else if (level.rsrpDbm) {
        const z = robustZ(s.rsrpDbm, level.rsrpDbm);
        if (z < -r.zThreshold) {
          add({ kpi: 'rsrpDbm', value: s.rsrpDbm, baseline: level.rsrpDbm.median, z });
          coverage = true;
          drift = Math.max(drift, clamp01(-z / 10));
        }
      }
    }
    if (s.sinrDb !== undefined) {
      if (s.sinrDb < r.sinrDb) {
        add({ kpi: 'sinrDb', value: s.sinrDb, threshold: r.sinrDb });
        interference = !coverage;
        drift = Math.max(drift, clamp01((r.sinrDb - s.sinrDb) / 10));
      } else if (level.sinrDb) {
        const z = robustZ(s.sinrDb, level.sinrDb);
        if (z < -r.zThreshold) {
          add({ kpi: 'sinrDb', value: s.sinrDb, baseline: level.sinrDb.median, z });
          interference = !coverage;
          drift = Math.max(drift, clamp01(-z / 10));
        }
      }
    }
    const prbHigh = s.prbUtilPct !== undefined && s.prbUtilPct >= r.prbUtilPct;
    if (prbHigh && s.dlMbps !== undefined && s.dlMbps < r.prbDlFactor * th.dlMbps) {
      add({ kpi: 'prbUtilPct', value: s.prbUtilPct!, threshold: r.prbUtilPct });
      drift = Math.max(drift, clamp01((s.prbUtilPct! - r.prbUtilPct) / (100 - r.prbUtilPct || 1)));
    }
    if (s.dlMbps !== undefined && s.dlMbps >= th.dlMbps && hourly.dlMbps) {
      const z = robustZ(s.dlMbps, hourly.dlMbps);
      if (z < -r.zThreshold) {
        add({ kpi: 'dlMbps', value: s.dlMbps, baseline: hourly.dlMbps.median, z });
        drift = Math.max(drift, clamp01(-z / 10));
        throughputDrift = true;
      }
    }
    if (s.latencyMs !== undefined && s.latencyMs <= th.latencyMs && hourly.latencyMs) {
      const z = robustZ(s.latencyMs, hourly.latencyMs);
      if (z > r.zThreshold) {
        add({ kpi: 'latencyMs', value: s.latencyMs, baseline: hourly.latencyMs.median, z });
        drift = Math.max(drift, clamp01(z / 10));
        throughputDrift = true;
      }
    }
    // Silent failure: the cell says it is fine and its radio is, but its users and traffic vanished.
    // (The traffic baseline is asked only once users collapsed: most hours never need it.)
    const ub = !coverage && !interference && s.activeUsers !== undefined ? hourly.activeUsers : undefined;
    if (ub && s.activeUsers! < r.silentShare * ub.median) {
      const users = s.activeUsers!;
      const traffic = trafficMbps(s, intervalS);
      const tb = traffic !== undefined ? hourly.trafficMbps : undefined;
      if (tb && traffic! < r.silentShare * tb.median) {
        collapsed = true;
        const zu = robustZ(users, ub);
        const zt = robustZ(traffic!, tb);
        const since = Number.isFinite(ctx.collapsedSince) ? ctx.collapsedSince! : s.ts - intervalS * 1000;
        const sustained =
          s.ts - since >= r.silentSustainMs &&
          ub.median >= r.silentMinUsers &&
          runZ(users, ub) < -r.zThreshold &&
          runZ(traffic!, tb) < -r.zThreshold;
        if ((zu < -r.zThreshold && zt < -r.zThreshold) || sustained) {
          silent = true;
          missing = Math.max(0, ub.median - users);
          add({ kpi: 'activeUsers', value: users, baseline: ub.median, z: zu });
          add({ kpi: 'trafficMbps', value: traffic!, baseline: tb.median, z: zt });
        }
      }
    }
  }

  const expBad = exp.experience === 'bad';
  const bad = breaches !== undefined;
  const verdict: Verdict = bad ? 'bad' : exp.experience === 'good' ? 'good' : 'unknown';
  let localCause: Cause = 'unknown';
  if (bad) {
    const prbHigh = s.prbUtilPct !== undefined && s.prbUtilPct >= r.prbUtilPct;
    const manyUsers =
      s.activeUsers !== undefined &&
      (s.activeUsers >= r.congestionMinUsers || (hourly.activeUsers && s.activeUsers >= hourly.activeUsers.median));
    if (!available) localCause = 'outage';
    else if (coverage) localCause = 'coverage';
    else if (interference) localCause = 'interference';
    else if (prbHigh && manyUsers) localCause = 'congestion';
    else if (silent) localCause = 'silent-failure';
  }
  const weight = users * intervalS;
  // With the attached users' experience unknown, a silent failure's missing users are still known bad.
  const knownWeight = (exp.experience === 'unknown' ? missing : users + missing) * intervalS;
  const goodWeight = exp.experience === 'good' ? users * intervalS : 0;
  return {
    sample: s,
    ts: s.ts,
    start: s.ts - intervalS * 1000,
    intervalS,
    verdict,
    experience: exp.experience,
    available,
    users,
    // A silent failure with slow users too: the attached ones and the missing ones were both served badly.
    badUsers: expBad ? users + missing : missing,
    knownWeight: expBad ? weight + missing * intervalS : knownWeight,
    goodWeight,
    depth: expBad ? (users * exp.depth + missing) / (users + missing || 1) : silent ? 1 : 0,
    drift: expBad || silent ? 0 : drift,
    collapsed,
    localCause,
    transport: expBad || silent || throughputDrift,
    breaches: breaches ?? NO_BREACHES,
  };
}
