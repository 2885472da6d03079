/**
 * The live detector: samples and links in, window events and daily targets out — synchronous, no
 * I/O, no clock. It composes the parts that hold state, each with its own job:
 *
 * ```
 *  addSamples ─► Track per (cell, stream) ─► window events
 *                 │  lateness buffer, window machine (track.ts, windows.ts)
 *                 ├─► BaselineStore: hourly history per cell (baseline.ts)
 *                 └─► DayBook: target sums per local day and cell (targets.ts); probe tracks
 *                     feed a second DayBook, one count per test (the probe ratio beside the target)
 *  addLinks ───► LinkTimeline per site (causes.ts) ─► re-judged causes of overlapping windows
 *  WindowHistory: which track holds a window, and recently closed ones
 * ```
 * Memory stays flat: hourly history is a fixed ring per cell, day sums are kept `historyDays`,
 * tracks keep `lateness` of intervals, and closed windows leave after a day (the record store keeps
 * window history, not the detector).
 */
import type {
  Cell,
  EpochMs,
  Inventory,
  LinkSample,
  Sample,
  SampleStream,
  Window,
  WindowEvent,
} from '../model/index.js';
import { BaselineStore, type BaselineKind, type HourlyMean } from './baseline.js';
import { LinkTimeline, linkTrouble, type LinkTrouble } from './causes.js';
import { baselineValues, type Interval } from './interval.js';
import { DAY_MS, HOUR_MS, LocalClock, dayString, parseDay } from './localtime.js';
import { busyHour, peakSeconds, peakSlot, peakSlots } from './peak.js';
import type { DetectionSettings } from './settings.js';
import {
  DAY_FIELDS,
  DayBook,
  accumulate,
  accumulateTest,
  addSlot,
  disagrees,
  emptySums,
  probeResult,
  targetResult,
  type TargetResult,
  type TargetRule,
  type TargetScope,
  type TargetSums,
} from './targets.js';
import { Track, type TrackServices, type TrackSnapshot } from './track.js';

export interface DetectionOutput {
  windows: WindowEvent[];
  /** Samples (or links) older than `lateness` behind their cell's newest: counted, not folded in. */
  late: number;
  duplicates: number;
}

export interface DetectorDeps {
  inventory?: Inventory;
  /**
   * The caller feeds each (cell, stream) in time order (offline analysis, after sorting): the
   * lateness buffer is skipped. Results are the same as unordered input within lateness.
   */
  ordered?: boolean;
}

export interface CellView {
  cell: string;
  busyHour: number | undefined;
  bouncingBusyHour: number | undefined;
  todayRatio: number | null;
  baseline: BaselineKind;
  openWindows: Window[];
}

/**
 * What a restart needs, small enough to save with every batch of window events (a few MB at 2,000
 * cells): each track's state after its newest sample, the day sums of the days not yet final (final
 * days are in the record store) with the lateness buffers folded in, and the link trouble. Hourly
 * history is not in it: the store's rollups rebuild it.
 */
export interface DetectorSnapshot {
  version: 2;
  timezone: string;
  watermark: number | null;
  late: number;
  duplicates: number;
  tracks: TrackSnapshot[];
  days: { day: number; cell: string; values: number[] }[];
  /** Probe test sums (absent in snapshots from before the probe ratio). */
  probeDays?: { day: number; cell: string; values: number[] }[];
  links: LinkTrouble[];
  linkNewest: [string, number][];
  changedDays: string[];
}

/** Where windows are: published in a track, or closed and kept for a day for lookups. */
class WindowHistory {
  private readonly where = new Map<string, Track>();
  private readonly recent = new Map<string, Window>();

  note(events: readonly WindowEvent[], track: Track): void {
    for (const e of events) {
      if (e.change === 'retracted') {
        this.where.delete(e.window.id);
        this.recent.delete(e.window.id);
      } else {
        this.where.set(e.window.id, track);
      }
    }
  }

  retire(w: Window): void {
    this.where.delete(w.id);
    this.recent.set(w.id, w);
  }

  track(id: string): Track | undefined {
    return this.where.get(id);
  }

  closed(id: string): Window | undefined {
    return this.recent.get(id);
  }

  recentWindows(): Window[] {
    return [...this.recent.values()];
  }

  /** Closed windows leave a day after their end, and never more than `cap` are kept. */
  prune(before: EpochMs, cap = 50_000): void {
    for (const [id, w] of this.recent) {
      if ((w.end ?? w.lastBad) >= before && this.recent.size <= cap) break;
      this.recent.delete(id);
    }
  }
}

const numOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export class Detector {
  private settings: DetectionSettings;
  private inventory: Inventory | undefined;
  private readonly clock: LocalClock;
  private readonly baselines: BaselineStore;
  private readonly links = new LinkTimeline();
  private readonly linkNewest = new Map<string, number>();
  private readonly tracks = new TrackIndex();
  private readonly days: DayBook;
  private readonly probeDays: DayBook;
  private readonly history = new WindowHistory();
  private readonly ordered: boolean;
  private readonly svc: TrackServices;
  private watermark = -Infinity;
  private counts = { late: 0, duplicates: 0 };
  private changed = new Set<number>();
  /** Days up to this one have been reported final. */
  private finalThrough = -Infinity;
  private lastTrack: Track | undefined;

  constructor(settings: DetectionSettings, deps: DetectorDeps = {}) {
    this.settings = settings;
    this.inventory = deps.inventory;
    this.ordered = deps.ordered ?? false;
    this.clock = new LocalClock(settings.timezone);
    this.baselines = new BaselineStore(settings.baseline, this.clock);
    this.baselines.guardMs = settings.rules.latenessMs;
    this.days = new DayBook(peakSlots(settings.target.peak));
    this.probeDays = new DayBook(peakSlots(settings.target.peak));
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.svc = {
      get settings() {
        return self.settings;
      },
      baselines: this.baselines,
      links: this.links,
      place: (cell) => this.place(cell),
      settle: (track, iv) => this.settle(track, iv),
      retire: (w) => this.history.retire(w),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Input

  addSamples(samples: readonly Sample[]): DetectionOutput {
    const out: WindowEvent[] = [];
    let late = 0;
    let duplicates = 0;
    for (const s of samples) {
      const stream: SampleStream = s.source === 'probe' ? 'probes' : 'counters';
      let track = this.lastTrack;
      if (!track || track.cell !== s.cell || track.stream !== stream) {
        track = this.tracks.get(stream, s.cell);
        if (!track) this.tracks.set((track = new Track(s.cell, stream, this.ordered)));
        this.lastTrack = track;
      }
      const before = out.length;
      const verdict = track.accept(s, this.svc, out);
      if (verdict === 'late') late++;
      else if (verdict === 'duplicate') duplicates++;
      else {
        if (out.length > before) this.history.note(out.slice(before), track);
        if (s.ts > this.watermark) this.advance(s.ts);
        this.markChanged(s.ts);
        // The day exists (for targetDays and coverage) as soon as a sample of it arrives, not when it settles.
        if (!this.ordered) (stream === 'counters' ? this.days : this.probeDays).touch(this.clock.day(s.ts), s.cell);
      }
    }
    this.counts.late += late;
    this.counts.duplicates += duplicates;
    return { windows: out, late, duplicates };
  }

  addLinks(links: readonly LinkSample[]): DetectionOutput {
    const out: WindowEvent[] = [];
    let late = 0;
    let duplicates = 0;
    const r = this.settings.rules;
    for (const l of links) {
      const newest = this.linkNewest.get(l.link) ?? -Infinity;
      if (l.ts < newest - (this.ordered ? Infinity : r.latenessMs)) {
        late++;
        continue;
      }
      if (l.ts > newest) this.linkNewest.set(l.link, l.ts);
      const trouble = linkTrouble(l, r.backhaulUtilPct, r.defaultIntervalS);
      if (!trouble) continue;
      if (!this.links.add(trouble)) {
        duplicates++;
        continue;
      }
      for (const cell of this.cellsOfSite(l.site)) {
        for (const stream of STREAMS) {
          const track = this.tracks.get(stream, cell);
          if (!track) continue;
          const before = out.length;
          track.relink(this.svc, trouble.start, trouble.end, l.ts, out);
          if (out.length > before) this.history.note(out.slice(before), track);
        }
      }
    }
    this.counts.late += late;
    this.counts.duplicates += duplicates;
    return { windows: out, late, duplicates };
  }

  /**
   * History from the store's hourly rollups (at start, before samples flow; after `restore` too: the
   * snapshot holds no history, and its buffers' samples are in the rollups).
   */
  seedHourly(means: readonly HourlyMean[]): void {
    this.baselines.seed(means);
  }

  /** The hourly history the detector holds (settled samples), as the store's rollups would. */
  hourlyMeans(): HourlyMean[] {
    return this.baselines.means();
  }

  /** A reload: new thresholds apply to samples from now on. Time zone and peak mode need a restart. */
  updateSettings(settings: DetectionSettings): { restartNeeded: string[] } {
    const restartNeeded: string[] = [];
    if (settings.timezone !== this.settings.timezone) restartNeeded.push('timezone');
    if (peakSlots(settings.target.peak) !== peakSlots(this.settings.target.peak)) restartNeeded.push('target.peak');
    if (settings.baseline.weeks !== this.settings.baseline.weeks) restartNeeded.push('detection.baselineWeeks');
    this.settings = {
      ...settings,
      timezone: this.settings.timezone,
      target: restartNeeded.includes('target.peak')
        ? { ...settings.target, peak: this.settings.target.peak }
        : settings.target,
      baseline: { ...settings.baseline, weeks: this.settings.baseline.weeks },
    };
    this.baselines.setSettings(this.settings.baseline);
    this.baselines.guardMs = this.settings.rules.latenessMs;
    return { restartNeeded };
  }

  setInventory(inventory: Inventory | undefined): void {
    this.inventory = inventory;
    this.places.clear();
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  openWindows(): Window[] {
    const out: Window[] = [];
    for (const t of this.sortedTracks()) for (const w of t.windows(this.svc)) if (w.end === undefined) out.push(w);
    return out;
  }

  /** Open windows and windows closed in the last day or so, by start then id. */
  recentWindows(): Window[] {
    const all = [...this.history.recentWindows()];
    for (const t of this.sortedTracks()) all.push(...t.windows(this.svc));
    return all.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  }

  window(id: string): Window | undefined {
    return this.history.track(id)?.window(id, this.svc) ?? this.history.closed(id);
  }

  /** Days with target sums, YYYY-MM-DD ascending. */
  targetDays(): string[] {
    const days = new Set([...this.days.dayNumbers(), ...this.probeDays.dayNumbers()]);
    return [...days].sort((a, b) => a - b).map(dayString);
  }

  /** Days whose targets changed (or became final) since the last call. */
  takeChangedDays(): string[] {
    const out = [...this.changed].sort((a, b) => a - b).map(dayString);
    this.changed.clear();
    return out;
  }

  targets(day: string, scope?: TargetScope, id?: string): TargetResult[] {
    const d = parseDay(day);
    if (d === undefined) return [];
    return aggregateTargets(this.daySums(d, scope, id), this.targetRule(), this.isFinal(d), scope, id);
  }

  /** The goal and the insufficient-data limits of the targets. */
  targetRule(): TargetRule & { minProbeTests: number } {
    const t = this.settings.target;
    return { goal: t.ratio, minUsers: t.minUsers, minCoverage: t.minCoverage, minProbeTests: t.minProbeTests };
  }

  /** Whether day d's targets can no longer change once samples reached `watermark` (default: this detector's). */
  dayFinal(d: number, watermark = this.watermark): boolean {
    return this.dayEnd(d) + this.settings.rules.latenessMs <= watermark;
  }

  /** Newest sample time (event time) taken so far; -Infinity before any. */
  get newest(): number {
    return this.watermark;
  }

  /**
   * Day d's sums per cell, before any scope adds them up: the counters' cells (with data that day,
   * and the inventory's), and the probes' cells with tests at peak, each by id. `owns` keeps only
   * some cells (a part of an analysis split by cell: the parts' lists, in order, are the whole's).
   */
  daySums(d: number, scope?: TargetScope, id?: string, owns?: (cell: string) => boolean): DaySums {
    const peak = this.settings.target.peak;
    const cellIds = new Set<string>();
    const probeIds = new Set<string>();
    if (scope === 'cell' && id) {
      // One cell asked for (the cell view): do not sum the whole network for it.
      if (this.days.get(d, id) || this.inventory?.has(id)) cellIds.add(id);
      if (this.probeDays.get(d, id)) probeIds.add(id);
    } else {
      for (const c of this.days.cells(d)) cellIds.add(c);
      for (const c of this.inventory?.cells ?? []) cellIds.add(c.id);
      for (const c of this.probeDays.cells(d)) probeIds.add(c);
    }
    if (owns) {
      for (const c of cellIds) if (!owns(c)) cellIds.delete(c);
      for (const c of probeIds) if (!owns(c)) probeIds.delete(c);
    }
    const pendingByCell = this.pendingSums(d, 'counters', scope === 'cell' && id ? id : undefined);
    const cells: CellDaySums[] = [];
    for (const id of [...cellIds].sort()) {
      const sums = emptySums();
      const acc = pendingByCell.get(id) ?? this.days.get(d, id);
      if (peak === 'busy-hour') {
        const bh = busyHour(this.baselines, this.clock, id, d).hour;
        addSlot(
          sums,
          bh === undefined ? undefined : acc,
          bh ?? 0,
          bh === undefined ? 3600 : peakSeconds(this.clock, peak, d, bh),
        );
        cells.push({
          id,
          region: this.inventory?.cell(id)?.region,
          sums,
          ...(bh !== undefined ? { busyHour: bh } : {}),
        });
      } else {
        addSlot(sums, acc, 0, peakSeconds(this.clock, peak, d));
        cells.push({ id, region: this.inventory?.cell(id)?.region, sums });
      }
    }
    return { day: dayString(d), cells, probes: this.probeSums(d, probeIds), probeCells: [...probeIds].sort() };
  }

  /**
   * Probe test sums of day d per cell with tests at peak, by id, over the same peak as the counters
   * (in busy-hour mode, each cell's busy hour from its counters' history).
   */
  private probeSums(d: number, cells: ReadonlySet<string>): CellDaySums[] {
    const out: CellDaySums[] = [];
    if (cells.size === 0) return out;
    const peak = this.settings.target.peak;
    const pending = this.pendingSums(d, 'probes');
    for (const cell of [...cells].sort()) {
      const acc = pending.get(cell) ?? this.probeDays.get(d, cell);
      const sums = emptySums();
      if (peak === 'busy-hour') {
        const bh = busyHour(this.baselines, this.clock, cell, d).hour;
        addSlot(sums, bh === undefined ? undefined : acc, bh ?? 0, 0);
      } else {
        addSlot(sums, acc, 0, 0);
      }
      if (sums.intervals === 0) continue;
      out.push({ id: cell, region: this.inventory?.cell(cell)?.region, sums });
    }
    return out;
  }

  cellView(cell: string, now: EpochMs): CellView {
    const today = this.clock.day(now);
    const profile = this.cellProfile(cell, now);
    const openWindows: Window[] = [];
    for (const stream of STREAMS)
      for (const w of this.tracks.get(stream, cell)?.windows(this.svc) ?? [])
        if (w.end === undefined) openWindows.push(w);
    return {
      cell,
      busyHour: profile.busyHour,
      bouncingBusyHour: profile.bouncingBusyHour,
      // (The cell's target sums every cell of the day: an offline report of thousands of cells
      // asks for the profile only.)
      todayRatio: this.targets(dayString(today), 'cell', cell)[0]?.ratio ?? null,
      baseline: profile.baseline,
      openWindows,
    };
  }

  /** A cell's busy hour as of `now`'s local day, and the kind of its load baseline at `now`. */
  cellProfile(
    cell: string,
    now: EpochMs,
  ): { busyHour: number | undefined; bouncingBusyHour: number | undefined; baseline: BaselineKind } {
    const bh = busyHour(this.baselines, this.clock, cell, this.clock.day(now));
    const hourly = this.baselines.hourly(cell, now);
    return {
      busyHour: bh.hour,
      bouncingBusyHour: bh.bouncing,
      baseline: hourly.activeUsers?.kind ?? hourly.dlMbps?.kind ?? 'none',
    };
  }

  /** Counters of late and duplicate samples since start. */
  stats(): { late: number; duplicates: number; tracks: number; watermark: number | null } {
    return { ...this.counts, tracks: this.tracks.size, watermark: numOrNull(this.watermark) };
  }

  // ------------------------------------------------------------------------------------------
  // Persistence

  /**
   * The run state for a restart (see DetectorSnapshot). It shares objects with the live detector:
   * serialise it before feeding more samples.
   */
  snapshot(): DetectorSnapshot {
    const peak = this.settings.target.peak;
    // Days that can still change, plus any day an unsettled interval counts for; the buffers' sums
    // are added to a copy in time order, as settling them would.
    const days = new DayBook(this.days.slots);
    const probeDays = new DayBook(this.probeDays.slots);
    // (A day final but not yet taken by takeChangedDays is kept too: its result is still to be saved.)
    const keep = (d: number) => !Number.isFinite(this.finalThrough) || d > this.finalThrough || this.changed.has(d);
    const copier = (from: DayBook, to: DayBook) => (d: number, cell: string) => {
      if (!to.get(d, cell)) {
        const acc = to.touch(d, cell);
        const had = from.get(d, cell);
        if (had) acc.set(had);
      }
      return to.get(d, cell)!;
    };
    const copy = { counters: copier(this.days, days), probes: copier(this.probeDays, probeDays) };
    for (const d of this.days.dayNumbers()) if (keep(d)) for (const cell of this.days.cells(d)) copy.counters(d, cell);
    for (const d of this.probeDays.dayNumbers())
      if (keep(d)) for (const cell of this.probeDays.cells(d)) copy.probes(d, cell);
    // (Every cell's day with data is in the book already: samples touch it as they arrive.) Only
    // buffered intervals at peak count, and most of the day no buffer reaches a peak.
    let oldest = Infinity;
    for (const t of this.tracks.values()) oldest = Math.min(oldest, t.pending()[0]?.iv.ts ?? Infinity);
    const ranges = Number.isFinite(oldest)
      ? this.peakRanges(this.clock.day(oldest) - 1, this.clock.day(this.watermark))
      : [];
    const slots = new Map<number, ReturnType<typeof peakSlot>>();
    for (const t of this.sortedTracks()) {
      const add = t.stream === 'counters' ? accumulate : accumulateTest;
      this.pendingAtPeak(t, ranges, (iv) => {
        const minute = Math.floor(iv.ts / 60_000);
        let p = slots.get(minute);
        if (p === undefined && !slots.has(minute)) slots.set(minute, (p = peakSlot(this.clock, peak, iv.ts)));
        if (p) add(copy[t.stream](p.day, t.cell), p.slot, iv);
      });
    }
    return {
      version: 2,
      timezone: this.settings.timezone,
      watermark: numOrNull(this.watermark),
      late: this.counts.late,
      duplicates: this.counts.duplicates,
      tracks: this.sortedTracks().map((t) => t.snapshot()),
      days: days.snapshot(),
      probeDays: probeDays.snapshot(),
      links: this.links.all(),
      linkNewest: [...this.linkNewest],
      changedDays: [...this.changed].sort((a, b) => a - b).map(dayString),
    };
  }

  static restore(settings: DetectionSettings, deps: DetectorDeps, snap: DetectorSnapshot): Detector {
    if (snap.version !== 2) throw new Error(`detector snapshot version ${String(snap.version)} is not supported`);
    const d = new Detector(settings, deps);
    d.watermark = snap.watermark ?? -Infinity;
    d.counts = { late: snap.late, duplicates: snap.duplicates };
    for (const t of snap.links) d.links.add(t);
    for (const [l, ts] of snap.linkNewest) d.linkNewest.set(l, ts);
    d.days.restore(snap.days);
    d.probeDays.restore(snap.probeDays ?? []);
    for (const ts of snap.tracks) {
      const track = Track.restore(ts, d.ordered);
      d.tracks.set(track);
      d.history.note(
        track.windows(d.svc).map((w) => ({ change: 'opened', window: w, at: w.start })),
        track,
      );
    }
    for (const day of snap.changedDays) {
      const n = parseDay(day);
      if (n !== undefined) d.changed.add(n);
    }
    d.finalThrough = Number.isFinite(d.watermark) ? d.lastFinalDay() : -Infinity;
    return d;
  }

  // ------------------------------------------------------------------------------------------

  /** Each cell's site and region, found once per inventory (asked for every sample). */
  private readonly places = new Map<string, { site?: string; region?: string }>();

  private place(cell: string): { site?: string; region?: string } {
    let p = this.places.get(cell);
    if (!p) {
      const c: Cell | undefined = this.inventory?.cell(cell);
      p = c ? { site: c.site, region: c.region } : {};
      this.places.set(cell, p);
    }
    return p;
  }

  private cellsOfSite(site: string): string[] {
    return (this.inventory?.cellsOfSite(site) ?? []).map((c) => c.id);
  }

  private sortedTracks(): Track[] {
    return [...this.tracks.values()].sort((a, b) =>
      a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0,
    );
  }

  /** An interval left its track's buffer: the cell's hourly history and day sums take it. */
  private settle(track: Track, iv: Interval): void {
    if (track.stream === 'probes') {
      this.probeDays.touch(this.clock.day(iv.ts), track.cell);
      const p = peakSlot(this.clock, this.settings.target.peak, iv.ts);
      if (p) accumulateTest(this.probeDays.touch(p.day, track.cell), p.slot, iv);
      return;
    }
    this.baselines.add(track.cell, iv.ts, baselineValues(iv.sample, iv.intervalS, this.scratch));
    this.days.touch(this.clock.day(iv.ts), track.cell);
    const p = peakSlot(this.clock, this.settings.target.peak, iv.ts);
    if (p) accumulate(this.days.touch(p.day, track.cell), p.slot, iv);
  }

  private readonly scratch = new Float64Array(8);

  /** Sums of cells with unsettled intervals on day d: settled sums plus the buffer, in time order. */
  private pendingSums(d: number, stream: SampleStream, onlyCell?: string): Map<string, Float64Array> {
    const out = new Map<string, Float64Array>();
    if (this.ordered) return out;
    const peak = this.settings.target.peak;
    const book = stream === 'counters' ? this.days : this.probeDays;
    const add = stream === 'counters' ? accumulate : accumulateTest;
    const ranges = this.peakRanges(d, d);
    const slots = new Map<number, ReturnType<typeof peakSlot>>();
    const tracks = onlyCell === undefined ? this.tracks.values() : [this.tracks.get(stream, onlyCell)];
    for (const t of tracks) {
      if (!t || t.stream !== stream) continue;
      this.pendingAtPeak(t, ranges, (iv) => {
        // The buffers cover the same minutes: each minute's peak slot is found once.
        const minute = Math.floor(iv.ts / 60_000);
        let p = slots.get(minute);
        if (p === undefined && !slots.has(minute)) slots.set(minute, (p = peakSlot(this.clock, peak, iv.ts)));
        if (!p || p.day !== d) return;
        let acc = out.get(t.cell);
        if (!acc) {
          const settled = book.get(d, t.cell);
          acc = settled ? settled.slice() : new Float64Array(peakSlots(peak) * DAY_FIELDS);
          out.set(t.cell, acc);
        }
        add(acc, p.slot, iv);
      });
    }
    return out;
  }

  /**
   * UTC stretches holding every peak instant of local days d0..d1, an hour wider each side (DST days
   * move them; peakSlot decides membership, these only spare it the rest of the day), merged.
   */
  private peakRanges(d0: number, d1: number): [number, number][] {
    const peak = this.settings.target.peak;
    const raw: [number, number][] = [];
    for (let d = d0; d <= d1; d++) {
      const [a, b] =
        peak === 'busy-hour'
          ? [this.clock.dayStart(d), this.clock.dayStart(d + 1)]
          : [this.clock.utcOf(d, peak.from), this.clock.utcOf(peak.from < peak.to ? d : d + 1, peak.to)];
      raw.push([a - HOUR_MS, b + HOUR_MS]);
    }
    const out: [number, number][] = [];
    for (const r of raw.sort((x, y) => x[0] - y[0])) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else out.push([r[0], r[1]]);
    }
    return out;
  }

  /** A track's unsettled intervals inside the ranges, in time order (its buffer is sorted by ts). */
  private pendingAtPeak(t: Track, ranges: readonly [number, number][], fn: (iv: Interval) => void): void {
    const b = t.pending();
    if (b.length === 0) return;
    for (const [lo, hi] of ranges) {
      if (hi <= b[0]!.iv.ts || lo > b[b.length - 1]!.iv.ts) continue;
      let i = 0;
      let j = b.length;
      while (i < j) {
        const mid = (i + j) >> 1;
        if (b[mid]!.iv.ts < lo) i = mid + 1;
        else j = mid;
      }
      for (; i < b.length && b[i]!.iv.ts < hi; i++) fn(b[i]!.iv);
    }
  }

  private markChanged(ts: EpochMs): void {
    // Peak membership changes at most every minute; most samples repeat the last answer.
    const minute = Math.floor(ts / 60_000);
    if (minute === this.lastMarkedMinute) return;
    this.lastMarkedMinute = minute;
    const p = peakSlot(this.clock, this.settings.target.peak, ts);
    if (p) this.changed.add(p.day);
  }

  private lastMarkedMinute = Number.NaN;

  /** The end (UTC) after which a day's sums can no longer change. */
  private dayEnd(d: number): EpochMs {
    const peak = this.settings.target.peak;
    const end = this.clock.dayStart(d + 1);
    return peak !== 'busy-hour' && peak.to <= peak.from ? Math.max(end, this.clock.utcOf(d + 1, peak.to)) : end;
  }

  private isFinal(d: number): boolean {
    return this.dayFinal(d);
  }

  private lastFinalDay(): number {
    let d = this.clock.day(this.watermark) - 1;
    while (!this.isFinal(d)) d--;
    return d;
  }

  private advance(ts: EpochMs): void {
    const hourBefore = Math.floor(this.watermark / HOUR_MS);
    this.watermark = ts;
    if (Math.floor(ts / HOUR_MS) === hourBefore) return;
    // Once an hour of event time: newly final days, and what falls out of memory.
    const lastFinal = this.lastFinalDay();
    if (Number.isFinite(this.finalThrough))
      for (let d = this.finalThrough + 1; d <= lastFinal; d++) this.changed.add(d);
    this.finalThrough = lastFinal;
    const today = this.clock.day(ts);
    this.days.prune(today - this.settings.rules.historyDays);
    this.probeDays.prune(today - this.settings.rules.historyDays);
    // Offline, links are all fed first: they must stay for every cell.
    if (!this.ordered) this.links.prune(ts - 8 * DAY_MS);
    this.history.prune(ts - DAY_MS);
  }
}

/** One cell's target sums of a day (and its busy hour, in busy-hour mode). */
export interface CellDaySums {
  id: string;
  region: string | undefined;
  sums: TargetSums;
  busyHour?: number;
}

/** A day's sums per cell, counters and probes, each list by cell id. */
export interface DaySums {
  day: string;
  cells: CellDaySums[];
  /** Cells with probe tests at peak. */
  probes: CellDaySums[];
  /** Every cell with probe tests that day, peak or not. */
  probeCells: string[];
}

/**
 * A day's targets from its per-cell sums: the network, each region, each cell (the scopes asked
 * for), with the probe ratio beside each where probes tested. Sums are added in cell-id order, so
 * the numbers are the same to the last bit however the cells' sums were found.
 */
export function aggregateTargets(
  sums: DaySums,
  rule: TargetRule & { minProbeTests: number },
  final: boolean,
  scope?: TargetScope,
  id?: string,
): TargetResult[] {
  const { day, cells: perCell } = sums;
  const head = (s: TargetScope, i: string) => ({ day, scope: s, id: i, final });
  const out: TargetResult[] = [];
  const merge = (into: TargetSums, from: TargetSums) => {
    into.good += from.good;
    into.known += from.known;
    into.w2 += from.w2;
    into.knownS += from.knownS;
    into.intervals += from.intervals;
    into.peakS += from.peakS;
    into.users += from.users;
    into.cells += from.cells;
  };
  if (!scope || scope === 'network') {
    if (!id || id === 'network') {
      const net = emptySums();
      for (const c of perCell) merge(net, c.sums);
      out.push(targetResult(net, rule, head('network', 'network')));
    }
  }
  if (!scope || scope === 'region') {
    const regions = new Map<string, TargetSums>();
    for (const c of perCell) {
      if (c.region === undefined || (id && c.region !== id)) continue;
      let r = regions.get(c.region);
      if (!r) regions.set(c.region, (r = emptySums()));
      merge(r, c.sums);
    }
    for (const [r, s] of [...regions].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
      out.push(targetResult(s, rule, head('region', r)));
  }
  if (!scope || scope === 'cell') {
    const cellIds = new Set<string>();
    for (const c of perCell) {
      cellIds.add(c.id);
      if (id && c.id !== id) continue;
      const t = targetResult(c.sums, rule, head('cell', c.id));
      if (c.busyHour !== undefined) t.busyHour = c.busyHour;
      out.push(t);
    }
    // A cell only probes report on (not in the inventory, no counters): its probe ratio still shows;
    // its empty counter figures are not added to any other scope.
    for (const c of sums.probeCells) {
      if (cellIds.has(c) || (id && c !== id)) continue;
      const s = emptySums();
      addSlot(s, undefined, 0, 0);
      out.push(targetResult(s, rule, head('cell', c)));
    }
  }
  const probesByScope = new Map<string, TargetSums>();
  const add = (key: string, from: TargetSums) => {
    let into = probesByScope.get(key);
    if (!into) probesByScope.set(key, (into = emptySums()));
    into.good += from.good;
    into.known += from.known;
    into.knownS += from.knownS;
    into.intervals += from.intervals;
    into.cells += from.cells;
  };
  for (const p of sums.probes) {
    add('network\u0000network', p.sums);
    if (p.region !== undefined) add(`region\u0000${p.region}`, p.sums);
    add(`cell\u0000${p.id}`, p.sums);
  }
  for (const r of out) {
    const s = probesByScope.get(`${r.scope}\u0000${r.id}`);
    if (!s || s.intervals === 0) continue;
    r.probes = probeResult(s, rule.goal, rule.minProbeTests);
    r.disagreement = disagrees(r.status, r.probes.status);
  }
  return out;
}

const STREAMS: readonly SampleStream[] = ['counters', 'probes'];

/**
 * The tracks by stream and cell: a map per stream keyed by the cell id itself, so that finding a
 * sample's track builds no key string (pushed batches change cell at every sample).
 */
class TrackIndex {
  private readonly counters = new Map<string, Track>();
  private readonly probes = new Map<string, Track>();

  get size(): number {
    return this.counters.size + this.probes.size;
  }

  get(stream: SampleStream, cell: string): Track | undefined {
    return (stream === 'probes' ? this.probes : this.counters).get(cell);
  }

  set(track: Track): void {
    (track.stream === 'probes' ? this.probes : this.counters).set(track.cell, track);
  }

  *values(): IterableIterator<Track> {
    yield* this.counters.values();
    yield* this.probes.values();
  }
}
