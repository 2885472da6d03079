import {
  Detector,
  LocalClock,
  dayString,
  type CellView,
  type DetectionSettings,
  type DetectorSnapshot,
  type HourlyMean,
} from '../correlator/index.js';
import type { EpochMs, Inventory, TargetResult, WindowEvent } from '../model/index.js';
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
/** Changed days' targets are written this often (clock time), and at stop. */
const PERSIST_EVERY_MS = 60_000;
/** The detector's own state is snapshotted this often (clock time), and at stop. */
const SNAPSHOT_EVERY_MS = 5 * 60_000;
/** The detector's state record (the demo's clock resumes from it: daemon/simulation.ts). */
export const SNAPSHOT_NAME = 'detector';

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
 * (open windows' hysteresis, lateness buffers, day sums) is snapshotted and restored, and baselines are
 * rebuilt from the store's hourly rollups — a restart resumes open windows with no duplicate and no
 * lost one. Thresholds, peak hours and window rules reload live; the time zone needs a restart.
 */
export async function startDetection(
  h: House,
  needs: { records: RecordDb; reader: SeriesReader; inventory: () => Inventory },
): Promise<Detection> {
  const log = h.logFor('detector');
  let settings: DetectionSettings = detectionSettings(h.config);
  const windows = new WindowRecords(needs.records.db);
  const targetRecords = new TargetRecords(needs.records.db);
  const state = new StateRecords(needs.records.db);
  const saved = state.load<DetectorSnapshot>(SNAPSHOT_NAME);
  const deps = { inventory: needs.inventory() };
  let detector: Detector;
  let seedUntil = h.clock.now();
  if (saved && saved.value.timezone === settings.timezone) {
    detector = Detector.restore(settings, deps, saved.value);
    // Hours the snapshot's buffers still hold are added as they settle: seeding them too would count them twice.
    if (saved.value.watermark !== null)
      seedUntil = Math.min(seedUntil, saved.value.watermark - settings.rules.latenessMs);
    log.info({ savedAt: saved.at, open: detector.openWindows().length }, 'detector resumed from its snapshot');
  } else {
    if (saved) log.warn('detector snapshot from another time zone ignored; starting afresh');
    detector = new Detector(settings, deps);
  }
  // A store that cannot be read now (InfluxDB down at start) must not keep the daemon from running:
  // baselines then grow from live data, and the store's alert says why.
  const history = await needs.reader
    .hourly(seedUntil - HISTORY_MS, Math.floor(seedUntil / 3_600_000) * 3_600_000)
    .catch((err: unknown) => {
      log.warn({ err }, 'hourly rollups could not be read; baselines start from live data');
      return [];
    });
  detector.seedHourly(history.map(hourlyMean));
  log.info({ hours: history.length }, 'baselines rebuilt from the hourly rollups');

  const publish = (events: readonly WindowEvent[]) => {
    if (events.length === 0) return;
    windows.apply(events);
    h.bus.emit('windows', { at: Math.max(...events.map((e) => e.at)), events });
  };
  h.bus.on('samples', 'detector', (e) => publish(detector.addSamples(e.samples).windows));
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
  const snapshot = (at: EpochMs) => state.save(SNAPSHOT_NAME, at, detector.snapshot());
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
  h.routes((api) => registerWindowRoutes(api, { windows }));
  h.routes((api) => registerTargetRoutes(api, { today, list: (q) => detection.targets(q) }));
  log.info({ open: detector.openWindows().length, timezone: settings.timezone }, 'detection started');
  return detection;
}
