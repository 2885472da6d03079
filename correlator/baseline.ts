/**
 * What is normal for a cell: robust baselines from its own hourly means.
 *
 * The rules:
 * - history is one mean per cell and UTC hour and KPI (the store's hourly rollups hold the same),
 *   kept for `weeks + 1` weeks in typed arrays per cell; older hours are overwritten (bounded memory);
 * - sums are kept in fixed point (1/100 of the unit) as integers, so a mean is the same whatever
 *   order its samples arrived in;
 * - load-driven KPIs (users, traffic, DL, UL, latency, PRB) follow the week: the baseline of hour H is
 *   the median and MAD of the means at the same local hour of week in the previous 1..`weeks` weeks
 *   (strictly earlier weeks: a baseline in use never changes with late data), needing `minWeeks`
 *   values; otherwise the same local hour of the previous `fallbackDays` days of the same kind — weekend
 *   or working day (`weekendDays`): a business district's Saturday morning is not a silent failure of
 *   its weekday crowd — needing `minDays` values;
 *   otherwise there is none (`no-history`, absolute rules only);
 * - radio KPIs (RSRP, SINR) have no weekly rhythm, so they get one level: the hourly means of the
 *   `levelDays` local days before the sample's day, ending `lateness` before it (hours a live detector
 *   has surely settled), ≥ `minLevelHours` values — more values, and a
 *   fault that started last week does not hide in an hour-of-week median;
 * - the MAD is floored at max(`madFloorShare` × |median|, an absolute floor per KPI): hourly means
 *   vary far less than single samples, and a MAD near zero would turn noise into z-scores of 50;
 *   RSRP and SINR (dBm, dB: logarithmic, with an arbitrary zero) get the absolute floor only;
 * - robust z = 0.6745 · (x − median) / MAD.
 * The hour a UTC hour belongs to locally is the local hour of its start.
 */
import { medianSorted, quickselect } from 'simple-statistics';
import type { EpochMs } from '../model/index.js';
import { HOUR_MS, type LocalClock } from './localtime.js';
import { ABSOLUTE_MAD_FLOOR, type BaselineSettings } from './settings.js';

export const BASELINE_KPIS = [
  'activeUsers',
  'trafficMbps',
  'dlMbps',
  'ulMbps',
  'latencyMs',
  'rsrpDbm',
  'sinrDb',
  'prbUtilPct',
] as const;
export type BaselineKpi = (typeof BASELINE_KPIS)[number];
const K = BASELINE_KPIS.length;
export const KPI_INDEX: Record<BaselineKpi, number> = Object.fromEntries(BASELINE_KPIS.map((k, i) => [k, i])) as Record<
  BaselineKpi,
  number
>;
const LEVEL_KPIS: readonly BaselineKpi[] = ['rsrpDbm', 'sinrDb'];

/**
 * Hours per page of a cell's ring. A fresh cell has a few hours of history, not `weeks + 1` weeks: a
 * whole ring was ~78 KB per cell (390 MB at 5,000 cells) allocated in one burst when the cells' first
 * samples settled; a day is ~1 KB.
 */
const PAGE = 24;
/** Where KPI k of a slot sits in its page. */
const offset = (slot: number, k: number): number => (slot % PAGE) * K + k;

/** Fixed-point scale of the sums: 1/100 of each KPI's unit. */
const SCALE = 100;
/** A count beyond this in one hour is not a collection interval any more; the rest are not summed. */
const MAX_COUNT = 60_000;

/**
 * One hourly mean per cell and UTC hour, as the store's rollups hold it (the lead converts
 * `SeriesBucket`s). `trafficMbps` = (dlVolumeMB + ulVolumeMB) · 8 / intervalS, the carried rate.
 * Means should come from the counter sources (not probes).
 */
export type HourlyMean = {
  cell: string;
  hour: EpochMs;
  /** Samples in the hour. */
  count: number;
  /** Per KPI, when it differs from `count` (a down cell's samples carry no DL): exact merges. */
  counts?: Partial<Record<BaselineKpi, number>>;
} & Partial<Record<BaselineKpi, number>>;

export type BaselineKind = 'none' | 'hour-of-day' | 'hour-of-week' | 'level';

export interface KpiBaseline {
  kind: Exclude<BaselineKind, 'none'>;
  median: number;
  /** Floored MAD. */
  mad: number;
  /**
   * The MAD floored at the share only, without the per-sample absolute floor: the spread to judge a
   * sustained run by (an hour of samples resolves less than one user), where it was found.
   */
  runMad?: number;
  /** Values the median was taken over. */
  n: number;
}

export type Baselines = Partial<Record<BaselineKpi, KpiBaseline>>;

/** 0.6745 · (x − median) / MAD. */
export function robustZ(x: number, b: KpiBaseline): number {
  return (0.6745 * (x - b.median)) / b.mad;
}

/** Sorts a small typed array in place (insertion sort: baselines take 3–14 values, level ones ~168). */
function sortSmall(a: Float64Array): Float64Array {
  if (a.length > 32) return a.sort();
  for (let i = 1; i < a.length; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

const devScratch = new Float64Array(4096);

/**
 * The median of some values, reordering them: a few are sorted (simple-statistics' median of sorted
 * values); many — a level's 168 hours — are partitioned by simple-statistics' quickselect, 8× faster
 * than a sort and the same number (for an even count, the mean of the two middle values).
 */
function medianInPlace(a: Float64Array): number {
  const n = a.length;
  if (n <= 32) return medianSorted(sortSmall(a) as unknown as number[]);
  const k = n >> 1;
  quickselect(a as unknown as number[], k);
  const hi = a[k]!;
  if (n % 2 === 1) return hi;
  let lo = -Infinity;
  for (let i = 0; i < k; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/**
 * Median and floored MAD of some values (reordered in place). Written without allocation: it runs
 * once per cell, hour and KPI.
 */
export function medianMad(
  values: Float64Array,
  floorShare: number,
  floorAbs: number,
): { median: number; mad: number; runMad: number } {
  const median = medianInPlace(values);
  const dev = devScratch.subarray(0, values.length);
  for (let i = 0; i < values.length; i++) dev[i] = Math.abs(values[i]! - median);
  const raw = medianInPlace(dev);
  const runMad = Math.max(raw, floorShare * Math.abs(median));
  return { median, mad: Math.max(runMad, floorAbs), runMad };
}

/** One cell's hourly history: a ring of UTC hours, each with fixed-point sums and counts per KPI. */
class CellHistory {
  readonly tags: Int32Array;
  /** Sums and counts by day of the ring (PAGE slots × K), each allocated when its first hour is. */
  private readonly sumPages: (Int32Array | undefined)[];
  private readonly countPages: (Uint16Array | undefined)[];
  /** The baselines of the hour (and day) asked last: samples arrive hour after hour. */
  hourKey = Number.NaN;
  hour: Baselines = {};
  dayKey = Number.NaN;
  day: Baselines = {};

  constructor(readonly slots: number) {
    this.tags = new Int32Array(slots).fill(-1);
    const pages = Math.ceil(slots / PAGE);
    this.sumPages = Array.from({ length: pages }, () => undefined);
    this.countPages = Array.from({ length: pages }, () => undefined);
  }

  /** The slot for UTC hour h, cleared if it held an older hour; undefined if h is older than the ring. */
  slotFor(h: number): number | undefined {
    const slot = h % this.slots;
    const tag = this.tags[slot]!;
    if (tag === h) return slot;
    if (tag > h) return undefined;
    this.tags[slot] = h;
    const p = (slot / PAGE) | 0;
    const sums = this.sumPages[p];
    if (sums) {
      const at = (slot - p * PAGE) * K;
      sums.fill(0, at, at + K);
      this.countPages[p]!.fill(0, at, at + K);
    } else {
      this.sumPages[p] = new Int32Array(PAGE * K);
      this.countPages[p] = new Uint16Array(PAGE * K);
    }
    return slot;
  }

  /** The sums of the day holding `slot`, a slot `slotFor` returned; index with `offset`. */
  sums(slot: number): Int32Array {
    return this.sumPages[(slot / PAGE) | 0]!;
  }

  counts(slot: number): Uint16Array {
    return this.countPages[(slot / PAGE) | 0]!;
  }

  mean(h: number, k: number): number {
    const slot = h % this.slots;
    if (this.tags[slot] !== h) return Number.NaN;
    const i = offset(slot, k);
    const n = this.counts(slot)[i]!;
    return n === 0 ? Number.NaN : this.sums(slot)[i]! / SCALE / n;
  }

  invalidate(): void {
    this.hourKey = Number.NaN;
    this.dayKey = Number.NaN;
  }
}

/**
 * The load-KPI baselines of one cell and hour, each found on first use: users, DL and latency are
 * asked for on most samples, traffic only when users collapsed, UL and PRB by nothing yet.
 */
class HourBaselines implements Baselines {
  private memo: (KpiBaseline | undefined | null)[] = [null, null, null, null, null, null, null, null];

  constructor(
    private readonly store: BaselineStore,
    private readonly hist: CellHistory,
    private readonly weekly: HourList,
    private readonly daily: HourList,
  ) {}

  private of(kpi: BaselineKpi): KpiBaseline | undefined {
    const k = KPI_INDEX[kpi];
    let b = this.memo[k];
    if (b === null) {
      const s = this.store.settingsNow;
      b =
        this.store.fromHours(this.hist, this.weekly, k, s.minWeeks, 'hour-of-week', kpi) ??
        this.store.fromHours(this.hist, this.daily, k, s.minDays, 'hour-of-day', kpi);
      this.memo[k] = b;
    }
    return b;
  }

  get activeUsers() {
    return this.of('activeUsers');
  }
  get trafficMbps() {
    return this.of('trafficMbps');
  }
  get dlMbps() {
    return this.of('dlMbps');
  }
  get ulMbps() {
    return this.of('ulMbps');
  }
  get latencyMs() {
    return this.of('latencyMs');
  }
  get prbUtilPct() {
    return this.of('prbUtilPct');
  }
}

/**
 * UTC hours a baseline reads, with their slots in every cell's ring (the rings are the same size):
 * found once for all cells, so the scan of a cell's hours does no division.
 */
interface HourList {
  hours: readonly number[];
  slots: readonly number[];
}

/** Per-cell hourly histories and the baselines drawn from them. */
export class BaselineStore {
  private readonly cells = new Map<string, CellHistory>();
  private readonly slots: number;
  private readonly scratch = new Float64Array(2048);
  /** Per UTC hour, the hours its baselines look at: the same for every cell, so found once. */
  private readonly lookback = new Map<number, { weekly: HourList; daily: HourList }>();

  constructor(
    private settings: BaselineSettings,
    private readonly clock: LocalClock,
  ) {
    this.slots = (settings.weeks + 1) * 168;
  }

  private guard = 0;

  /** How far before a day its level baseline stops: the lateness. */
  get guardMs(): number {
    return this.guard;
  }

  set guardMs(ms: number) {
    this.guard = ms;
    this.levelHours = undefined;
  }

  get settingsNow(): BaselineSettings {
    return this.settings;
  }

  setSettings(s: BaselineSettings): void {
    // The ring's size follows `weeks` as built; a longer look-back needs a restart.
    this.settings = s;
    this.lookback.clear();
    this.levelHours = undefined;
    for (const c of this.cells.values()) c.invalidate();
  }

  private history(cell: string): CellHistory {
    let h = this.cells.get(cell);
    if (!h) {
      h = new CellHistory(this.slots);
      this.cells.set(cell, h);
    }
    return h;
  }

  /** Adds one sample's values (NaN = missing) to its UTC hour. */
  add(cell: string, ts: EpochMs, values: ArrayLike<number>): void {
    const hist = this.history(cell);
    const h = Math.floor(ts / HOUR_MS);
    const slot = hist.slotFor(h);
    if (slot === undefined) return;
    const sums = hist.sums(slot);
    const counts = hist.counts(slot);
    for (let k = 0; k < K; k++) {
      const v = values[k]!;
      if (Number.isNaN(v)) continue;
      const i = offset(slot, k);
      if (counts[i]! >= MAX_COUNT) continue;
      sums[i]! += Math.round(v * SCALE);
      counts[i]! += 1;
    }
    // No invalidation: settled samples land in hours no baseline in use reads (they are ≥ lateness
    // old, baselines read hours ≥ a day old); late-dropped samples invalidate explicitly.
  }

  /** History from the store's rollups: each given hour replaces what the ring held for it. */
  seed(means: readonly HourlyMean[]): void {
    for (const m of means) {
      const hist = this.history(m.cell);
      const h = Math.floor(m.hour / HOUR_MS);
      const slot = hist.slotFor(h);
      if (slot === undefined || !(m.count > 0)) continue;
      const sums = hist.sums(slot);
      const counts = hist.counts(slot);
      BASELINE_KPIS.forEach((kpi, k) => {
        const v = m[kpi];
        const i = offset(slot, k);
        const n = Math.min(m.counts?.[kpi] ?? m.count, MAX_COUNT);
        if (v === undefined || !Number.isFinite(v) || !(n > 0)) {
          sums[i] = 0;
          counts[i] = 0;
        } else {
          sums[i] = Math.round(v * SCALE * n);
          counts[i] = n;
        }
      });
      hist.invalidate();
    }
  }

  /** The history as hourly means (what the store's rollups would hold), by cell then hour. */
  means(): HourlyMean[] {
    const out: HourlyMean[] = [];
    for (const cell of [...this.cells.keys()].sort()) {
      const hist = this.cells.get(cell)!;
      const hours = [...hist.tags].filter((h) => h >= 0).sort((a, b) => a - b);
      for (const h of hours) {
        const slot = h % hist.slots;
        const m: HourlyMean = { cell, hour: h * HOUR_MS, count: 0, counts: {} };
        BASELINE_KPIS.forEach((kpi, k) => {
          const n = hist.counts(slot)[offset(slot, k)]!;
          if (n === 0) return;
          m[kpi] = hist.sums(slot)[offset(slot, k)]! / SCALE / n;
          m.counts![kpi] = n;
          m.count = Math.max(m.count, n);
        });
        if (m.count > 0) out.push(m);
      }
    }
    return out;
  }

  has(cell: string): boolean {
    return this.cells.has(cell);
  }

  /** Forget cached baselines of a cell (its history changed under a sample being recomputed). */
  invalidate(cell: string): void {
    this.cells.get(cell)?.invalidate();
  }

  /** Baselines of the load KPIs for the UTC hour containing ts. */
  hourly(cell: string, ts: EpochMs): Baselines {
    const hist = this.cells.get(cell);
    if (!hist) return {};
    const h = Math.floor(ts / HOUR_MS);
    if (hist.hourKey === h) return hist.hour;
    const { weekly, daily } = this.lookbackOf(h);
    const out = new HourBaselines(this, hist, weekly, daily);
    hist.hourKey = h;
    hist.hour = out;
    return out;
  }

  /** Baselines of the radio KPIs for the local day containing ts. */
  level(cell: string, ts: EpochMs): Baselines {
    const hist = this.cells.get(cell);
    if (!hist) return {};
    const day = this.clock.day(ts);
    if (hist.dayKey === day) return hist.day;
    const s = this.settings;
    const hours = this.levelHoursOf(day);
    const out: Baselines = {};
    for (const kpi of LEVEL_KPIS) {
      const b = this.fromHours(hist, hours, KPI_INDEX[kpi], s.minLevelHours, 'level', kpi);
      if (b) out[kpi] = b;
    }
    hist.dayKey = day;
    hist.day = out;
    return out;
  }

  /** The UTC hours a day's level reads: the same for every cell, so found once per day. */
  private levelHoursOf(day: number): HourList {
    if (this.levelHours?.day === day) return this.levelHours.hours;
    const from = Math.ceil(this.clock.dayStart(day - this.settings.levelDays) / HOUR_MS);
    // Up to `guard` before the day: the hours a live detector has surely settled by then, so live
    // and sorted input see the same history.
    const to = Math.floor((this.clock.dayStart(day) - this.guard) / HOUR_MS);
    const hours: number[] = [];
    for (let h = from; h < to; h++) hours.push(h);
    const list = this.hourList(hours);
    this.levelHours = { day, hours: list };
    return list;
  }

  private levelHours: { day: number; hours: HourList } | undefined;

  private hourList(hours: number[]): HourList {
    return { hours, slots: hours.map((h) => h % this.slots) };
  }

  private lookbackOf(h: number): { weekly: HourList; daily: HourList } {
    let l = this.lookback.get(h);
    if (l) return l;
    const s = this.settings;
    const how = this.clock.hourOfWeek(h * HOUR_MS);
    const weekly: number[] = [];
    for (let k = 1; k <= s.weeks; k++) {
      const c = this.matching(h - 168 * k, (x) => this.clock.hourOfWeek(x * HOUR_MS) === how);
      if (c !== undefined) weekly.push(c);
    }
    const day = this.clock.day(h * HOUR_MS);
    const hod = this.clock.hourOfDay(h * HOUR_MS);
    const weekend = (d: number) => s.weekendDays.includes((((d + 3) % 7) + 7) % 7);
    const kind = weekend(day);
    const daily: number[] = [];
    for (let k = 1; k <= s.fallbackDays; k++) {
      const want = day - k;
      if (weekend(want) !== kind) continue;
      const c = this.matching(
        h - 24 * k,
        (x) => this.clock.day(x * HOUR_MS) === want && this.clock.hourOfDay(x * HOUR_MS) === hod,
      );
      if (c !== undefined) daily.push(c);
    }
    if (this.lookback.size > 10_000) this.lookback.clear();
    this.lookback.set(h, (l = { weekly: this.hourList(weekly), daily: this.hourList(daily) }));
    return l;
  }

  /** The hour h, or the one beside it when a DST change moved the local hour wanted. */
  private matching(h: number, ok: (h: number) => boolean): number | undefined {
    if (ok(h)) return h;
    if (ok(h - 1)) return h - 1;
    if (ok(h + 1)) return h + 1;
    return undefined;
  }

  /** @internal */
  fromHours(
    hist: CellHistory,
    list: HourList,
    k: number,
    min: number,
    kind: KpiBaseline['kind'],
    kpi: BaselineKpi,
  ): KpiBaseline | undefined {
    // hist.mean(h, k) written out: this loop reads every look-back hour of every cell-hour and KPI.
    const { tags } = hist;
    const { hours, slots } = list;
    const scratch = this.scratch;
    let n = 0;
    for (let j = 0; j < hours.length && n < scratch.length; j++) {
      const slot = slots[j]!;
      if (tags[slot] !== hours[j]) continue;
      const i = offset(slot, k);
      const c = hist.counts(slot)[i]!;
      if (c !== 0) scratch[n++] = hist.sums(slot)[i]! / SCALE / c;
    }
    if (n < min) return undefined;
    const { median, mad, runMad } = medianMad(
      this.scratch.subarray(0, n),
      // dBm and dB are logarithmic with an arbitrary zero: 10% of −85 dBm would be a floor of 8.5 dB,
      // hiding a 20 dB antenna fault. Their floor is absolute only.
      LEVEL_KPIS.includes(kpi) ? 0 : this.settings.madFloorShare,
      this.settings.madFloor?.[kpi] ?? ABSOLUTE_MAD_FLOOR[kpi],
    );
    return runMad > 0 ? { kind, median, mad, n, runMad } : { kind, median, mad, n };
  }

  /** The fixed-point sum (1/100 units) and count of a KPI in UTC hour h (busy hours merge them exactly). */
  hourSum(cell: string, h: number, kpi: BaselineKpi): { sum: number; count: number } {
    const hist = this.cells.get(cell);
    const k = KPI_INDEX[kpi];
    if (!hist || hist.tags[h % hist.slots] !== h) return { sum: 0, count: 0 };
    const slot = h % hist.slots;
    return { sum: hist.sums(slot)[offset(slot, k)]!, count: hist.counts(slot)[offset(slot, k)]! };
  }

  /** Cells with any history. */
  cellIds(): IterableIterator<string> {
    return this.cells.keys();
  }

  /** Drop a cell's history (it left the inventory and sends nothing). */
  forget(cell: string): void {
    this.cells.delete(cell);
  }
}
