/**
 * Good, bad or unknown: what one sample says about its users' experience.
 *
 * The rules, in order:
 * - `available === false` is bad, whatever else the sample says (a down cell serves nobody);
 * - otherwise only the experience KPIs *present* are judged (dlMbps ≥ dl, ulMbps ≥ ul,
 *   latencyMs ≤ latency): any failing → bad; all present passing → good; none present → unknown;
 * - a missing `available` with KPIs present means available (the KPIs were measured);
 * - unknown is never good and never bad: it only lowers data coverage.
 *
 * Depth says how bad a bad sample is, 0..1, for severity: 1 for a down cell, else the largest
 * shortfall of a failing KPI (1 − dl/threshold, 1 − ul/threshold, 1 − threshold/latency).
 * How many users a sample stands for is interval.ts's business (it needs the baselines).
 */
import type { Experience, Sample } from '../model/index.js';
import type { ExperienceThresholds } from './settings.js';

export interface ExperienceVerdict {
  experience: Experience;
  /** 0 unless bad; 1 for a down cell. */
  depth: number;
}

const GOOD: ExperienceVerdict = { experience: 'good', depth: 0 };
const UNKNOWN: ExperienceVerdict = { experience: 'unknown', depth: 0 };
const DOWN: ExperienceVerdict = { experience: 'bad', depth: 1 };

export function classifyExperience(s: Sample, th: ExperienceThresholds): ExperienceVerdict {
  if (s.available === false) return DOWN;
  let known = false;
  let depth = 0;
  if (s.dlMbps !== undefined) {
    known = true;
    if (s.dlMbps < th.dlMbps) depth = Math.max(depth, 1 - Math.max(0, s.dlMbps) / th.dlMbps);
  }
  if (s.ulMbps !== undefined) {
    known = true;
    if (s.ulMbps < th.ulMbps) depth = Math.max(depth, 1 - Math.max(0, s.ulMbps) / th.ulMbps);
  }
  if (s.latencyMs !== undefined) {
    known = true;
    if (s.latencyMs > th.latencyMs) depth = Math.max(depth, 1 - th.latencyMs / s.latencyMs);
  }
  if (!known) return UNKNOWN;
  // A KPI exactly one ulp below its threshold still fails, with a depth that rounds to zero.
  const failing =
    (s.dlMbps !== undefined && s.dlMbps < th.dlMbps) ||
    (s.ulMbps !== undefined && s.ulMbps < th.ulMbps) ||
    (s.latencyMs !== undefined && s.latencyMs > th.latencyMs);
  return failing ? { experience: 'bad', depth } : GOOD;
}
