/**
 * Every knob of detection in one plain object, with the defaults DESIGN.md and docs/decisions.md
 * argue for. daemon/detection-settings.ts maps the parsed config onto it (`detectionSettings(cfg)`); tests build it by hand.
 */
import type { BaselineKpi } from './baseline.js';

export interface ExperienceThresholds {
  /** Per-user downlink at or above this is good, Mbit/s. */
  dlMbps: number;
  ulMbps: number;
  /** At or below this is good, ms. */
  latencyMs: number;
}

/** Minutes of the local day, `[from, to)`; `to <= from` crosses midnight (the window belongs to the day it starts on). */
export interface PeakWindow {
  from: number;
  to: number;
}

export type PeakSetting = PeakWindow | 'busy-hour';

export interface TargetSettings {
  /** The goal: share of users with a good experience at peak hours. */
  ratio: number;
  peak: PeakSetting;
  /** Below this many mean concurrent users counted at peak, a result is `insufficient-data`. */
  minUsers: number;
  /** Below this share of peak time covered by samples with known experience, `insufficient-data`. */
  minCoverage: number;
  /** Below this many probe tests at peak, the probe ratio is `insufficient-data`. */
  minProbeTests: number;
}

export interface DetectionRules {
  /** Consecutive bad intervals that open a window. */
  openAfter: number;
  /** Consecutive good intervals that close it. */
  closeAfter: number;
  /** A window opening this soon after the previous one on the same cell ended re-opens it (ms). */
  mergeGapMs: number;
  /** Samples up to this much older than the newest of their cell are folded in exactly (ms). */
  latenessMs: number;
  /** |robust z| beyond this is a relative breach. */
  zThreshold: number;
  /** Absolute breaches. */
  rsrpDbm: number;
  sinrDb: number;
  prbUtilPct: number;
  /** With PRB at or above `prbUtilPct`, per-user DL below this multiple of the DL threshold is a breach. */
  prbDlFactor: number;
  /** A site link at or above this utilisation (or down) makes bad intervals of its cells `backhaul`. */
  backhaulUtilPct: number;
  /** Silent failure: users and traffic below this share of their baseline median (and below −z). */
  silentShare: number;
  /**
   * …or below that share without a single interval's z for this long on end (ms), judged against the
   * hour's spread without the one-user floor — on a cell that expects at least `silentMinUsers` users.
   */
  silentSustainMs: number;
  silentMinUsers: number;
  /** Congestion needs at least this many users (or the cell's baseline users). */
  congestionMinUsers: number;
  /** Interval assumed when a sample has none and its cell's spacing says nothing, s. */
  defaultIntervalS: number;
  /** Day results kept, days. */
  historyDays: number;
}

export interface BaselineSettings {
  /** Hour-of-week baselines look back this many weeks… */
  weeks: number;
  /** …and need this many weekly values. */
  minWeeks: number;
  /** Hour-of-day fallback: previous days looked at (of the same kind: weekend or working day), and values needed. */
  fallbackDays: number;
  minDays: number;
  /** Local days of the weekend, 0 = Monday … 6 = Sunday. */
  weekendDays: readonly number[];
  /** Radio KPIs (RSRP, SINR): one level over the previous days, needing this many hourly means. */
  levelDays: number;
  minLevelHours: number;
  /** MAD floor: this share of |median|… */
  madFloorShare: number;
  /** …and at least this, per KPI in its unit (defaults: ABSOLUTE_MAD_FLOOR). */
  madFloor?: Partial<Record<BaselineKpi, number>>;
}

export interface DetectionSettings {
  timezone: string;
  experience: ExperienceThresholds;
  target: TargetSettings;
  rules: DetectionRules;
  baseline: BaselineSettings;
}

export const DEFAULT_DETECTION_SETTINGS: DetectionSettings = {
  timezone: 'UTC',
  experience: { dlMbps: 5, ulMbps: 1, latencyMs: 100 },
  target: { ratio: 0.95, peak: { from: 19 * 60, to: 22 * 60 }, minUsers: 10, minCoverage: 0.5, minProbeTests: 10 },
  rules: {
    openAfter: 2,
    closeAfter: 3,
    mergeGapMs: 15 * 60_000,
    latenessMs: 2 * 3_600_000,
    zThreshold: 3.5,
    rsrpDbm: -110,
    sinrDb: 0,
    prbUtilPct: 80,
    prbDlFactor: 1,
    backhaulUtilPct: 90,
    silentShare: 0.3,
    silentSustainMs: 30 * 60_000,
    silentMinUsers: 3,
    congestionMinUsers: 10,
    defaultIntervalS: 60,
    historyDays: 35,
  },
  baseline: {
    weeks: 8,
    minWeeks: 3,
    fallbackDays: 14,
    minDays: 3,
    weekendDays: [5, 6],
    levelDays: 7,
    minLevelHours: 24,
    madFloorShare: 0.1,
  },
};

/**
 * The smallest MAD taken seriously per KPI, in its unit: about the resolution at which a change is
 * real for one sample (a user, half a Mbit/s of traffic, 2 dB of RSRP…).
 */
export const ABSOLUTE_MAD_FLOOR: Readonly<Record<BaselineKpi, number>> = {
  activeUsers: 1,
  trafficMbps: 0.5,
  dlMbps: 1,
  ulMbps: 0.2,
  latencyMs: 5,
  rsrpDbm: 2,
  sinrDb: 1.5,
  prbUtilPct: 5,
};

/** Defaults overlaid with a partial object, one level deep per section (tests and the CLI use it). */
export function settingsWith(over: DeepPartial<DetectionSettings> = {}): DetectionSettings {
  const d = DEFAULT_DETECTION_SETTINGS;
  return {
    timezone: over.timezone ?? d.timezone,
    experience: { ...d.experience, ...over.experience },
    target: { ...d.target, ...(over.target as Partial<TargetSettings>) },
    rules: { ...d.rules, ...over.rules },
    baseline: { ...d.baseline, ...(over.baseline as Partial<BaselineSettings>) },
  };
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
