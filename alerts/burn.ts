/**
 * Error-budget burn for the good-experience target, in the SRE workbook's multi-window style, rescaled
 * to cellwatch's budget: the goal is a share of users (95 %), the budget is the 5 % of users who may
 * have a bad experience, and the budget period is one day's peak hours (default 19:00–22:00, 3 h).
 *
 * The burn rate over a window is (bad users ÷ users in the window) ÷ (1 − goal): 1× spends the budget
 * exactly by the end of the peak. With a 95 % goal the largest possible burn is 20× (every user bad),
 * so the workbook's 14.4× page would mean 72 % of users bad: far too late. The levels below fire when
 * both a long and a short window burn at least the rate (the long one proves it matters, the short one
 * that it is still happening, so a recovered problem stops alerting within minutes):
 *
 * | severity | long window | short window | burn ≥ | users bad | budget of a 3 h peak spent in the long window |
 * |----------|-------------|--------------|--------|-----------|-----------------------------------------------|
 * | critical | 10 min      | 2 min        | 10×    | 50 %      | 56 %                                           |
 * | major    | 20 min      | 5 min        | 5×     | 25 %      | 56 %                                           |
 * | minor    | 60 min      | 10 min       | 2×     | 10 %      | 67 %                                           |
 *
 * Windows are of event time and only peak samples move the figures, so outside the peak nothing burns.
 */
import type { AlertSeverity, EpochMs } from '../model/index.js';

const MIN = 60_000;

export interface BurnLevel {
  severity: AlertSeverity;
  longMs: number;
  shortMs: number;
  rate: number;
}

export const BURN_LEVELS: readonly BurnLevel[] = [
  { severity: 'critical', longMs: 10 * MIN, shortMs: 2 * MIN, rate: 10 },
  { severity: 'major', longMs: 20 * MIN, shortMs: 5 * MIN, rate: 5 },
  { severity: 'minor', longMs: 60 * MIN, shortMs: 10 * MIN, rate: 2 },
];

/** How many times faster than sustainable the budget burns; undefined without users or with a goal of 1. */
export function burnRate(badUsers: number, users: number, goal: number): number | undefined {
  if (!(users > 0) || !(goal < 1) || !(badUsers >= 0)) return undefined;
  return badUsers / users / (1 - goal);
}

/** Today's cumulative figures at one moment: users counted so far and how many of them were not good. */
export interface TargetSnapshot {
  at: EpochMs;
  users: number;
  bad: number;
}

/**
 * The burn over [now − windowMs, now] from cumulative snapshots (oldest first, one day): the
 * difference between the newest snapshot and the last one at or before the window's start (the day's
 * zero when there is none).
 */
export function windowBurn(
  snapshots: readonly TargetSnapshot[],
  now: EpochMs,
  windowMs: number,
  goal: number,
): number | undefined {
  let latest: TargetSnapshot | undefined;
  let base: TargetSnapshot = { at: -Infinity, users: 0, bad: 0 };
  for (const s of snapshots) {
    if (s.at > now) break;
    latest = s;
    if (s.at <= now - windowMs) base = s;
  }
  if (!latest || latest === base) return undefined;
  return burnRate(latest.bad - base.bad, latest.users - base.users, goal);
}

export interface BurnVerdict {
  /** The most severe level whose two windows both burn at its rate. */
  level?: BurnLevel;
  /** Burn per window length used, for the annotations. */
  rates: { windowMs: number; rate: number }[];
}

/**
 * The levels checked most severe first. `provided` (burn rates the producer computed itself, per
 * window length) take precedence over rates derived from the snapshots.
 */
export function burnVerdict(
  snapshots: readonly TargetSnapshot[],
  now: EpochMs,
  goal: number,
  levels: readonly BurnLevel[] = BURN_LEVELS,
  provided: readonly { windowMs: number; rate: number }[] = [],
): BurnVerdict {
  const cache = new Map<number, number | undefined>();
  const rateOver = (ms: number): number | undefined => {
    if (!cache.has(ms))
      cache.set(ms, provided.find((p) => p.windowMs === ms)?.rate ?? windowBurn(snapshots, now, ms, goal));
    return cache.get(ms);
  };
  let level: BurnLevel | undefined;
  for (const l of levels) {
    const long = rateOver(l.longMs);
    const short = rateOver(l.shortMs);
    if (!level && long !== undefined && short !== undefined && long >= l.rate && short >= l.rate) level = l;
  }
  const rates = [...cache.entries()]
    .filter((e): e is [number, number] => e[1] !== undefined)
    .map(([windowMs, rate]) => ({ windowMs, rate }))
    .sort((a, b) => a.windowMs - b.windowMs);
  return level ? { level, rates } : { rates };
}
