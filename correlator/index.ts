/**
 * cellwatch's detection core: from samples to "is the network good for its users at peak hours, and
 * where is it not, since when, and why". Pure: imports `model/` only, no I/O, no clock, no timers —
 * time is the samples' own (event time), and `now` is an argument where a read needs one.
 *
 * The model, in the order data flows (docs/detection.md explains it for a newcomer):
 *
 * 1. **Interval** (interval.ts, experience.ts): a sample at `ts` covers [ts − intervalS, ts). Its
 *    experience is good, bad or unknown under the thresholds (dl ≥ 5, ul ≥ 1 Mbit/s, latency ≤ 100 ms
 *    where present; down = bad). It weighs its users × seconds; a down cell weighs the users its
 *    baseline expects. It is *bad* on an absolute breach (bad experience, RSRP < −110, SINR < 0,
 *    PRB ≥ 80 with per-user DL < 2× the threshold) or a relative one against the cell's baseline
 *    (robust z < −3.5 for DL, RSRP, SINR; > 3.5 for latency; users and traffic both collapsed while
 *    the cell says it is fine: a silent failure); *good* with known experience and no breach;
 *    otherwise *unknown*, which is neutral everywhere.
 * 2. **Baselines** (baseline.ts): per cell, hourly means kept 9 weeks in typed arrays; median and
 *    MAD at the same local hour of week over the previous 1..8 weeks (≥ 3 values), else the same hour
 *    over the previous 14 days of the same kind, weekend or working day (≥ 3), else none; RSRP/SINR
 *    use one level over the previous 7 days.
 * 3. **Windows** (windows.ts): per (cell, stream) — `counters` (snmp, sim, push, import) or `probes` —
 *    open after 2 consecutive bad intervals, close after 3 good, re-open within 15 min of the end;
 *    deterministic id, severity, users, evidence. Events: opened, changed, closed, retracted.
 * 4. **Causes** (causes.ts): per bad interval, first match: outage → backhaul (the site's link down
 *    or ≥ 90%) → coverage → interference → congestion → silent-failure → unknown; the window's cause
 *    is the first of them explaining ≥ 1/4 of its bad intervals (unknown only when none has a cause),
 *    with a remediation text.
 * 5. **Event time** (track.ts): order-independent within `lateness` (2 h per cell): late samples are
 *    inserted and the buffer recomputed; older ones are counted; duplicates ignored.
 * 6. **Targets** (targets.ts, peak.ts, localtime.ts): user-weighted good ratio over the peak samples
 *    per cell, region and network, per local day, with users, coverage, a Wilson interval on the
 *    Kish effective n, and a status; peak = a local window or each cell's busy hour.
 *
 * The live entry point is `Detector`; offline analysis (`analyze`) feeds the same Detector sorted
 * columns and builds the report.
 */
export {
  AnalysisPart,
  SampleColumns,
  allDays,
  analyze,
  analyzeDetailed,
  assembleReport,
  planAnalysis,
  reportWindow,
  runTakenParts,
  type AnalysisInput,
  type AnalysisPlan,
  type ColumnsState,
  type PartResult,
  type AnalysisReport,
  type AnalysisResult,
  type ReportCell,
  type ReportSettings,
  type ReportWindow,
} from './analysis.js';
export {
  BASELINE_KPIS,
  robustZ,
  type BaselineKind,
  type BaselineKpi,
  type HourlyMean,
  type KpiBaseline,
} from './baseline.js';
export { CAUSE_PRIORITY, REMEDIATION, type LinkTrouble } from './causes.js';
export { Detector, type CellView, type DetectionOutput, type DetectorDeps, type DetectorSnapshot } from './detector.js';
export { classifyExperience, type ExperienceVerdict } from './experience.js';
export { assessInterval, trafficMbps, type Breach, type Interval, type Verdict } from './interval.js';
export { LocalClock, dayString, parseDay } from './localtime.js';
export { busyHour, peakSeconds, peakSlot, type BusyHour } from './peak.js';
export {
  ABSOLUTE_MAD_FLOOR,
  DEFAULT_DETECTION_SETTINGS,
  settingsWith,
  type BaselineSettings,
  type DeepPartial,
  type DetectionRules,
  type DetectionSettings,
  type ExperienceThresholds,
  type PeakSetting,
  type PeakWindow,
  type TargetSettings,
} from './settings.js';
export { kishN, wilson, type TargetResult, type TargetScope, type TargetStatus } from './targets.js';
export { windowId } from './windows.js';
