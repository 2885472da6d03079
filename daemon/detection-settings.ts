/**
 * The parsed config as the detector's settings (correlator/ cannot import config/: it sees only this
 * plain object). Absolute MAD floors per KPI are not configurable: they are units, not policy
 * (correlator's ABSOLUTE_MAD_FLOOR).
 */
import type { DetectionSettings } from '../correlator/settings.js';
import type { Config } from '../config/index.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export function detectionSettings(cfg: Config): DetectionSettings {
  const d = cfg.detection;
  const peak = cfg.target.peak;
  return {
    timezone: cfg.timezone,
    experience: { ...cfg.experience },
    target: {
      ratio: cfg.target.ratio,
      peak: peak === 'busy-hour' ? peak : { from: peak.from, to: peak.to },
      minUsers: cfg.target.minUsers,
      minCoverage: cfg.target.minCoverage,
      minProbeTests: cfg.target.minProbeTests,
    },
    rules: {
      openAfter: d.openAfter,
      closeAfter: d.closeAfter,
      mergeGapMs: d.mergeGap,
      latenessMs: d.lateness,
      zThreshold: d.zThreshold,
      rsrpDbm: d.rsrpDbm,
      sinrDb: d.sinrDb,
      prbUtilPct: d.prbUtilPct,
      prbDlFactor: d.prbDlFactor,
      backhaulUtilPct: d.backhaulUtilPct,
      silentShare: d.silentShare,
      silentSustainMs: d.silentSustain,
      silentMinUsers: d.silentMinUsers,
      congestionMinUsers: d.congestionMinUsers,
      defaultIntervalS: cfg.snmp.defaults.interval / 1000,
      historyDays: d.historyDays,
    },
    baseline: {
      weeks: d.baselineWeeks,
      minWeeks: d.minBaselineWeeks,
      fallbackDays: d.fallbackDays,
      minDays: d.minFallbackDays,
      weekendDays: d.weekendDays.map((day) => WEEKDAYS.indexOf(day)),
      levelDays: d.levelDays,
      minLevelHours: d.minLevelHours,
      madFloorShare: d.madFloorShare,
    },
  };
}
