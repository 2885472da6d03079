import {
  Detector,
  LocalClock,
  dayString,
  type CellView,
  type DetectionSettings,
  type DetectorSnapshot,
  type HourlyMean,
} from '../correlator/index.js';
import type { Logger } from 'pino';
import type { EpochMs, Inventory, Sample, TargetResult, Window, WindowEvent } from '../model/index.js';
import {
  StateRecords,
  TargetRecords,
  WindowRecords,
  type RecordDb,
  type SeriesBucket,
  type SeriesReader,
} from '../store/index.js';
import { registerTargetRoutes, type TargetQuery } from './api/targets.js';
import { registerWindowRoutes } from './api/windows.js';
import { detectionSettings } from './detection-settings.js';
import type { House } from './house/index.js';

/** How far back the baselines reach (8 weeks plus the week being compared). */
const HISTORY_MS = 9 * 7 * 86_400_000;
const HOUR_MS = 3_600_000;
/**
 * Changed days' targets are written and published this often (clock time), and at stop: the alerts'
 * burn-rate rules read the network's and regions' figures per minute (their shortest window is 2 min).
 */
const PERSIST_EVERY_MS = 60_000;
/**
 * The detector's own state is saved this often (clock time), at stop, and — in the same transaction
 * as window events — whenever windows change and the last save is older than SNAPSHOT_MIN_GAP_MS: an
 * unclean stop then rarely leaves a window the restored detector does not know (those are closed at
 * start, see reconcile), and loses at most a few minutes of target sums. A save costs a few ms at
 * 2,000 cells (up to ~50 ms in the two hours after the peak, whose buffered intervals it folds in).
 */
const SNAPSHOT_EVERY_MS = 5 * 60_000;
const SNAPSHOT_MIN_GAP_MS = 30_000;
const SNAPSHOT_NAME = 'detector';
/** Late samples are logged at most this often (they are counted in the metrics every time). */
const LATE_LOG_EVERY_MS = 60_000;

export interface Detection {
  detector: Detector;
  windows: WindowRecords;
  /** Today's local day in the configured zone. */
  today(): string;
  /** Stored history with the detector's live days over it. */
  targets(q: TargetQuery): TargetResult[];
  cellView(cell: string): CellView;
}

/** A store rollup bucket as the detector's hourly mean (traffic from volumes over the interval). */
export function hourlyMean(b: SeriesBucket): HourlyMean {
  const m: HourlyMean = { cell: b.cell, hour: b.ts, count: b.count };
  const interval = b.intervalS;
  if ((b.dlVolumeMB !== undefined || b.ulVolumeMB !== undefined) && interval) {
    m.trafficMbps = (((b.dlVolumeMB ?? 0) + (b.ulVolumeMB ?? 0)) * 8) / interval;
  }
  for (const k of ['activeUsers', 'dlMbps', 'ulMbps', 'latencyMs', 'rsrpDbm', 'sinrDb', 'prbUtilPct'] as const) {
    const v = b[k];
    if (v !== undefined) m[k] = v;
  }
  return m;
}

/**
 * The detection part: every accepted sample and link sample flows through the Detector; window
 * events are committed to the record store (one transaction per batch) before they are published on
 * the bus, so what the alerts and the API see is what a restart finds. The detector's run state
 * (each track's hysteresis and open window, the day sums not yet final) is snapshotted and restored,
 * and baselines are rebuilt from the store's hourly rollups — a restart resumes open windows with no
 * duplicate and no lost one. Late samples are counted (`cellwatch_detector_late_samples_total`) and
 * logged at most once a minute. Thresholds, peak hours and window rules reload live; the time zone
 * needs a restart.
 */
export async function startDetection(
  h: House,
  needs: {
    records: RecordDb;
    reader: SeriesReader;
    inventory: () => Inventory;
    /** History from before the store's (the demo's simulated past); the store's rollups replace its hours. */
    past?: (until: EpochMs) => HourlyMean[];
  },
): Promise<Detection> {
  const log = h.logFor('detector');
  let settings: DetectionSettings = detectionSettings(h.config);
  const windows = new WindowRecords(needs.records.db);
  const targetRecords = new TargetRecords(needs.records.db);
  const state = new StateRecords(needs.records.db);
  const saved = state.load<DetectorSnapshot>(SNAPSHOT_NAME);
  const deps = { inventory: needs.inventory() };
  let detector: Detector | undefined;
  if (saved && saved.value.timezone !== settings.timezone) {
    log.warn('detector snapshot from another time zone ignored; starting afresh');
  } else if (saved) {
    try {
      detector = Detector.restore(settings, deps, saved.value);
      log.info({ savedAt: saved.at, open: detector.openWindows().length }, 'detector resumed from its snapshot');
    } catch (err) {
      log.warn({ err }, 'detector snapshot unreadable; starting afresh (open windows are closed below)');
    }
  }
  detector ??= new Detector(settings, deps);
  // Every hour the store holds, the current one included: the snapshot has no history, and samples
  // that were still in the lateness buffers at the stop are in these rollups.
  const now = h.clock.now();
  if (needs.past) {
    const past = needs.past(now);
    detector.seedHourly(past);
    if (past.length > 0) log.info({ hours: past.length }, 'baselines seeded with the simulated network’s past');
  }
  // A store that cannot be read now (InfluxDB down at start) must not keep the daemon from running:
  // baselines then grow from live data, and the store's alert says why.
  const history = await needs.reader
    .hourly(now - HISTORY_MS, (Math.floor(now / HOUR_MS) + 1) * HOUR_MS)
    .catch((err: unknown) => {
      log.warn({ err }, 'hourly rollups could not be read; baselines start from live data');
      return [];
    });
  detector.seedHourly(history.map(hourlyMean));
  log.info({ hours: history.length }, 'baselines rebuilt from the hourly rollups');
  reconcile(detector, windows, log);

  const metrics = {
    late: h.metrics.counter({
      name: 'cellwatch_detector_late_samples_total',
      help: 'Samples older than detection.lateness behind their cell’s newest: stored, not folded into windows or targets',
    }),
    duplicates: h.metrics.counter({
      name: 'cellwatch_detector_duplicate_samples_total',
      help: 'Samples the detector had already seen (same cell, stream and ts): ignored',
    }),
    events: h.metrics.counter({
      name: 'cellwatch_window_events_total',
      help: 'Degradation window events published, by change',
      labelNames: ['change'],
    }),
  };
  let lastLateLog = -Infinity;
  let lateSinceLog = 0;
  const noteLate = (late: number, duplicates: number, oldest: { cell: string; ts: EpochMs } | undefined) => {
    if (duplicates > 0) metrics.duplicates.inc(duplicates);
    if (late === 0) return;
    metrics.late.inc(late);
    lateSinceLog += late;
    const at = h.clock.now();
    if (at - lastLateLog < LATE_LOG_EVERY_MS) return;
    log.warn(
      { late: lateSinceLog, latenessMs: settings.rules.latenessMs, oldestInBatch: oldest },
      'samples arrived later than detection.lateness: stored, not folded into windows or targets',
    );
    lastLateLog = at;
    lateSinceLog = 0;
  };

  let lastSnapshot = h.clock.now();
  const snapshot = (at: EpochMs) => {
    state.save(SNAPSHOT_NAME, at, detector.snapshot());
    lastSnapshot = at;
  };
  const commit = needs.records.db.transaction((events: readonly WindowEvent[], at: EpochMs, withSnapshot: boolean) => {
    windows.apply(events);
    if (withSnapshot) snapshot(at);
  });
  const publish = (events: readonly WindowEvent[]) => {
    if (events.length === 0) return;
    const at = h.clock.now();
    commit(events, at, at - lastSnapshot >= SNAPSHOT_MIN_GAP_MS);
    for (const e of events) metrics.events.inc({ change: e.change });
    h.bus.emit('windows', { at: Math.max(...events.map((e) => e.at)), events });
  };
  h.bus.on('samples', 'detector', (e) => {
    const out = detector.addSamples(e.samples);
    if (out.late > 0 || out.duplicates > 0) noteLate(out.late, out.duplicates, oldestOf(e.samples));
    publish(out.windows);
  });
  h.bus.on('links', 'detector', (e) => publish(detector.addLinks(e.links).windows));
  h.bus.on('inventory', 'detector', (e) => detector.setInventory(e.inventory));

  const local = () => new LocalClock(settings.timezone);
  const persistTargets = (at: EpochMs) => {
    const results: TargetResult[] = [];
    for (const day of detector.takeChangedDays()) results.push(...detector.targets(day));
    if (results.length === 0) return;
    targetRecords.save(results);
    h.bus.emit('targets', { at, results: results.filter((r) => r.scope !== 'cell') });
  };
  const persistJob = h.scheduler.every('detector:targets', PERSIST_EVERY_MS, (tick) => persistTargets(tick));
  const snapshotJob = h.scheduler.every('detector:snapshot', SNAPSHOT_EVERY_MS, (tick) => snapshot(tick));
  h.defer('detection', () => {
    persistJob.cancel();
    snapshotJob.cancel();
    const now = h.clock.now();
    persistTargets(now);
    snapshot(now);
  });

  // Every knob of detection reloads live except what reshapes the day accumulators (zone, peak mode,
  // baseline weeks): the detector says which, and those wait for a restart.
  for (const section of ['experience', 'target', 'detection'] as const) {
    h.onReload(section, (_next, _prev, cfg) => {
      const next = detectionSettings(cfg);
      const { restartNeeded } = detector.updateSettings(next);
      if (restartNeeded.length > 0) return { applied: false, why: restartNeeded.join(', ') };
      settings = next;
      return { applied: true };
    });
  }

  const today = () => dayString(local().day(h.clock.now()));
  const detection: Detection = {
    detector,
    windows,
    today,
    targets: (q) => {
      const stored = targetRecords.list({
        from: q.from,
        to: q.to,
        ...(q.scope ? { scope: q.scope } : {}),
        ...(q.id ? { id: q.id } : {}),
      });
      // The detector's days are fresher than the last write; they replace the stored rows they cover.
      const live = new Map<string, TargetResult>();
      for (const day of detector.targetDays()) {
        if (day < q.from || day > q.to) continue;
        for (const r of detector.targets(day, q.scope, q.id)) live.set(`${r.day}|${r.scope}|${r.id}`, r);
      }
      const merged = new Map(stored.map((r) => [`${r.day}|${r.scope}|${r.id}`, r]));
      for (const [k, r] of live) merged.set(k, r);
      // Each result carries both ratios; `stream=probes` keeps those the probes measured.
      const results = q.stream === 'probes' ? [...merged.values()].filter((r) => r.probes) : [...merged.values()];
      return results.sort((a, b) => a.day.localeCompare(b.day) || a.id.localeCompare(b.id));
    },
    cellView: (cell) => detector.cellView(cell, h.clock.now()),
  };
  // An open window's record is its last *material* change (alerts are not told of every bad minute);
  // the API shows it as the detector sees it now. Closed windows' records are final.
  const current = (w: Window): Window => (w.end === undefined ? (detector.window(w.id) ?? w) : w);
  h.routes((api) =>
    registerWindowRoutes(api, {
      windows: {
        list: (q) => windows.list(q).map(current),
        get: (id) => {
          const w = windows.get(id);
          return w && current(w);
        },
      },
    }),
  );
  h.routes((api) => registerTargetRoutes(api, { today, list: (q) => detection.targets(q) }));
  log.info({ open: detector.openWindows().length, timezone: settings.timezone }, 'detection started');
  return detection;
}

/** The oldest sample of a batch, for the log line about late ones. */
function oldestOf(samples: readonly Sample[]): { cell: string; ts: EpochMs } | undefined {
  let oldest: Sample | undefined;
  for (const s of samples) if (!oldest || s.ts < oldest.ts) oldest = s;
  return oldest && { cell: oldest.cell, ts: oldest.ts };
}

/**
 * At start, the record store and the restored detector agree on open windows. A window the records
 * hold open but the detector does not know was opened after its last snapshot, before an unclean
 * stop: it is closed at its last bad interval (a continuing degradation opens a new window). One the
 * detector holds that the records lack or show otherwise is written as the detector has it.
 */
function reconcile(detector: Detector, records: WindowRecords, log: Logger): void {
  const events: WindowEvent[] = [];
  const known = new Map(detector.recentWindows().map((w) => [w.id, w]));
  let orphans = 0;
  for (const w of records.open()) {
    const mine = known.get(w.id);
    if (mine) {
      if (mine.end !== undefined) events.push({ change: 'closed', window: mine, at: mine.end });
      continue;
    }
    orphans++;
    events.push({ change: 'closed', window: { ...w, end: w.lastBad }, at: w.lastBad });
  }
  for (const w of detector.openWindows()) {
    const stored = records.get(w.id);
    if (!stored || stored.end !== undefined)
      events.push({ change: stored ? 'changed' : 'opened', window: w, at: w.lastBad });
  }
  if (events.length === 0) return;
  records.apply(events);
  if (orphans > 0)
    log.warn(
      { windows: orphans },
      'open windows the detector did not know (opened after its last snapshot, before an unclean stop) closed at their last bad interval',
    );
}
