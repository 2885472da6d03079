/**
 * Offline analysis: the whole detector over samples from files, as one report.
 *
 * The rules:
 * - the input may come in any order; it is held in compact columns (`SampleColumns`: typed arrays,
 *   cell ids interned, NaN = missing — a file reader appends to it, so millions of samples never
 *   exist as objects at once), sorted by (cell, ts) through an index, and fed to the same `Detector`
 *   the daemon runs, cell after cell in time order (`ordered`: no lateness buffer needed);
 * - links are fed first, so every bad interval meets its site's link trouble;
 * - the report is deterministic: windows by start then id, targets by day then scope then id,
 *   cells by id; times are RFC 3339 strings (epoch ms inside cellwatch);
 * - two samples of one cell with the same ts: the first is kept, the rest are duplicates.
 */
import type {
  Cause,
  EpochMs,
  Inventory,
  LinkSample,
  Sample,
  SampleNumericField,
  SampleSource,
  Window,
  WindowEvidence,
} from '../model/index.js';
import type { BaselineKind, HourlyMean } from './baseline.js';
import { CAUSE_PRIORITY } from './causes.js';
import { Detector, aggregateTargets, type DaySums } from './detector.js';
import { DAY_MS, LocalClock, dayString, parseDay } from './localtime.js';
import { ABSOLUTE_MAD_FLOOR, type DetectionSettings, type PeakSetting } from './settings.js';
import type { TargetResult } from './targets.js';

const SOURCES: readonly SampleSource[] = ['snmp', 'probe', 'push', 'sim', 'import'];
const SOURCE_INDEX = new Map(SOURCES.map((s, i) => [s, i]));

/** A column's value at row i; undefined for a missing value (NaN) or column. */
function present(col: Float64Array | undefined, i: number): number | undefined {
  if (col === undefined) return undefined;
  const v = col[i]!;
  return v === v ? v : undefined;
}

/** SampleColumns as plain data over shared buffers. */
export interface ColumnsState {
  length: number;
  cellIds: string[];
  ts: Float64Array;
  cell: Uint32Array;
  source: Uint8Array;
  available: Uint8Array;
  interval?: Float64Array;
  fields: [SampleNumericField, Float64Array][];
}

/** Samples as columns: what a file reader appends to (≈ 100 bytes per sample with every KPI). */
export class SampleColumns {
  length = 0;
  private capacity: number;
  private ts: Float64Array;
  private cell: Uint32Array;
  private source: Uint8Array;
  /** 0 missing, 1 down, 2 up. */
  private available: Uint8Array;
  private interval: Float64Array | undefined;
  private readonly fields = new Map<SampleNumericField, Float64Array>();
  /** The same columns by name, for the hot path. */
  private cols: Partial<Record<SampleNumericField, Float64Array>> = {};
  private readonly cellIndex = new Map<string, number>();
  readonly cellIds: string[] = [];

  /**
   * `shared`: the columns live in SharedArrayBuffers, so that an analysis split into parts can read
   * them from other threads without a copy (see `state`).
   */
  constructor(
    capacity = 1024,
    private readonly shared = false,
  ) {
    this.capacity = Math.max(16, capacity);
    this.ts = this.alloc(Float64Array, this.capacity);
    this.cell = this.alloc(Uint32Array, this.capacity);
    this.source = this.alloc(Uint8Array, this.capacity);
    this.available = this.alloc(Uint8Array, this.capacity);
  }

  private alloc<T extends Float64Array | Uint32Array | Uint8Array>(
    type: { new (n: number): T; new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
    n: number,
  ): T {
    return this.shared ? new type(new SharedArrayBuffer(n * type.BYTES_PER_ELEMENT)) : new type(n);
  }

  /** The columns as plain data over their shared buffers, for another thread (`fromState`). */
  state(): ColumnsState {
    if (!this.shared) throw new Error('SampleColumns.state: the columns are not shared');
    return {
      length: this.length,
      cellIds: this.cellIds,
      ts: this.ts,
      cell: this.cell,
      source: this.source,
      available: this.available,
      ...(this.interval ? { interval: this.interval } : {}),
      fields: [...this.fields],
    };
  }

  /** Read-only columns over another thread's shared buffers. */
  static fromState(st: ColumnsState): SampleColumns {
    const c = new SampleColumns(16);
    c.length = st.length;
    c.capacity = st.ts.length;
    c.ts = st.ts;
    c.cell = st.cell;
    c.source = st.source;
    c.available = st.available;
    if (st.interval) c.interval = st.interval;
    for (const [f, col] of st.fields) {
      c.fields.set(f, col);
      c.cols[f] = col;
    }
    st.cellIds.forEach((id, i) => {
      c.cellIds.push(id);
      c.cellIndex.set(id, i);
    });
    return c;
  }

  static from(samples: Iterable<Sample>): SampleColumns {
    const c = new SampleColumns(Array.isArray(samples) ? samples.length : 1024);
    for (const s of samples) c.append(s);
    return c;
  }

  append(s: Sample): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    let ci = this.cellIndex.get(s.cell);
    if (ci === undefined) {
      ci = this.cellIds.length;
      this.cellIds.push(s.cell);
      this.cellIndex.set(s.cell, ci);
    }
    this.cell[i] = ci;
    this.ts[i] = s.ts;
    this.source[i] = SOURCE_INDEX.get(s.source) ?? 0;
    this.available[i] = s.available === undefined ? 0 : s.available ? 2 : 1;
    if (s.intervalS !== undefined) (this.interval ?? this.column('interval'))[i] = s.intervalS;
    else if (this.interval) this.interval[i] = Number.NaN;
    // Field by field, like sample(): a loop over names costs a Map lookup and a keyed read each.
    const f = this.cols;
    if (s.dlMbps !== undefined) (f.dlMbps ?? this.column('dlMbps'))[i] = s.dlMbps;
    else if (f.dlMbps) f.dlMbps[i] = Number.NaN;
    if (s.ulMbps !== undefined) (f.ulMbps ?? this.column('ulMbps'))[i] = s.ulMbps;
    else if (f.ulMbps) f.ulMbps[i] = Number.NaN;
    if (s.latencyMs !== undefined) (f.latencyMs ?? this.column('latencyMs'))[i] = s.latencyMs;
    else if (f.latencyMs) f.latencyMs[i] = Number.NaN;
    if (s.rsrpDbm !== undefined) (f.rsrpDbm ?? this.column('rsrpDbm'))[i] = s.rsrpDbm;
    else if (f.rsrpDbm) f.rsrpDbm[i] = Number.NaN;
    if (s.rsrqDb !== undefined) (f.rsrqDb ?? this.column('rsrqDb'))[i] = s.rsrqDb;
    else if (f.rsrqDb) f.rsrqDb[i] = Number.NaN;
    if (s.sinrDb !== undefined) (f.sinrDb ?? this.column('sinrDb'))[i] = s.sinrDb;
    else if (f.sinrDb) f.sinrDb[i] = Number.NaN;
    if (s.prbUtilPct !== undefined) (f.prbUtilPct ?? this.column('prbUtilPct'))[i] = s.prbUtilPct;
    else if (f.prbUtilPct) f.prbUtilPct[i] = Number.NaN;
    if (s.activeUsers !== undefined) (f.activeUsers ?? this.column('activeUsers'))[i] = s.activeUsers;
    else if (f.activeUsers) f.activeUsers[i] = Number.NaN;
    if (s.dlVolumeMB !== undefined) (f.dlVolumeMB ?? this.column('dlVolumeMB'))[i] = s.dlVolumeMB;
    else if (f.dlVolumeMB) f.dlVolumeMB[i] = Number.NaN;
    if (s.ulVolumeMB !== undefined) (f.ulVolumeMB ?? this.column('ulVolumeMB'))[i] = s.ulVolumeMB;
    else if (f.ulVolumeMB) f.ulVolumeMB[i] = Number.NaN;
  }

  /**
   * Appends another set of columns' rows after these, as if each of its samples were appended in
   * order (cell ids interned here, columns this side lacks added): how the rows a second thread read
   * from the second half of a file join those of the first.
   */
  appendColumns(other: SampleColumns): void {
    const n = other.length;
    const at = this.length;
    while (this.capacity < at + n) this.grow();
    const ids = new Uint32Array(other.cellIds.length);
    other.cellIds.forEach((id, k) => {
      let ci = this.cellIndex.get(id);
      if (ci === undefined) {
        ci = this.cellIds.length;
        this.cellIds.push(id);
        this.cellIndex.set(id, ci);
      }
      ids[k] = ci;
    });
    const cell = this.cell;
    const theirs = other.cell;
    for (let i = 0; i < n; i++) cell[at + i] = ids[theirs[i]!]!;
    this.ts.set(other.ts.subarray(0, n), at);
    this.source.set(other.source.subarray(0, n), at);
    this.available.set(other.available.subarray(0, n), at);
    if (other.interval) this.column('interval').set(other.interval.subarray(0, n), at);
    else this.interval?.fill(Number.NaN, at, at + n);
    for (const [f, col] of other.fields) this.column(f).set(col.subarray(0, n), at);
    for (const [f, col] of this.fields) if (!other.fields.has(f)) col.fill(Number.NaN, at, at + n);
    this.length = at + n;
  }

  /** The sample at row i, as an object (only what it had). */
  sample(i: number): Sample {
    // Written out field by field: every sample then gets its properties in one order, so V8 keeps
    // them as fast objects (a loop over field names made them dictionaries: 5 µs per sample).
    const s: Sample = { cell: this.cellIds[this.cell[i]!]!, ts: this.ts[i]!, source: SOURCES[this.source[i]!]! };
    let v = this.interval ? this.interval[i]! : Number.NaN;
    if (v === v) s.intervalS = v;
    const a = this.available[i]!;
    if (a !== 0) s.available = a === 2;
    const f = this.cols;
    if (f.dlMbps) {
      v = f.dlMbps[i]!;
      if (v === v) s.dlMbps = v;
    }
    if (f.ulMbps) {
      v = f.ulMbps[i]!;
      if (v === v) s.ulMbps = v;
    }
    if (f.latencyMs) {
      v = f.latencyMs[i]!;
      if (v === v) s.latencyMs = v;
    }
    if (f.rsrpDbm) {
      v = f.rsrpDbm[i]!;
      if (v === v) s.rsrpDbm = v;
    }
    if (f.rsrqDb) {
      v = f.rsrqDb[i]!;
      if (v === v) s.rsrqDb = v;
    }
    if (f.sinrDb) {
      v = f.sinrDb[i]!;
      if (v === v) s.sinrDb = v;
    }
    if (f.prbUtilPct) {
      v = f.prbUtilPct[i]!;
      if (v === v) s.prbUtilPct = v;
    }
    if (f.activeUsers) {
      v = f.activeUsers[i]!;
      if (v === v) s.activeUsers = v;
    }
    if (f.dlVolumeMB) {
      v = f.dlVolumeMB[i]!;
      if (v === v) s.dlVolumeMB = v;
    }
    if (f.ulVolumeMB) {
      v = f.ulVolumeMB[i]!;
      if (v === v) s.ulVolumeMB = v;
    }
    return s;
  }

  /**
   * The sample at row i for the Detector: every field of a Sample present, the missing ones
   * `undefined` — one object literal, so every row of every file gets the same hidden class and the
   * Detector's reads of it stay monomorphic. Nothing downstream enumerates a sample's keys (an
   * absent field and an undefined one read the same); `sample(i)` is the exact object.
   */
  row(i: number): Sample {
    const f = this.cols;
    const a = this.available[i]!;
    return {
      cell: this.cellIds[this.cell[i]!]!,
      ts: this.ts[i]!,
      source: SOURCES[this.source[i]!]!,
      intervalS: present(this.interval, i),
      available: a === 0 ? undefined : a === 2,
      dlMbps: present(f.dlMbps, i),
      ulMbps: present(f.ulMbps, i),
      latencyMs: present(f.latencyMs, i),
      rsrpDbm: present(f.rsrpDbm, i),
      rsrqDb: present(f.rsrqDb, i),
      sinrDb: present(f.sinrDb, i),
      prbUtilPct: present(f.prbUtilPct, i),
      activeUsers: present(f.activeUsers, i),
      dlVolumeMB: present(f.dlVolumeMB, i),
      ulVolumeMB: present(f.ulVolumeMB, i),
    };
  }

  /** Row order by (cell id, ts, arrival) and where each cell's rows begin: counting sort, then ts per cell. */
  sortedByCell(): { order: Uint32Array; cells: { id: string; from: number; to: number }[] } {
    const n = this.length;
    const ids = this.cellIds.map((id, i) => ({ id, i })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const rank = new Uint32Array(ids.length);
    ids.forEach((x, r) => (rank[x.i] = r));
    const start = new Uint32Array(ids.length + 1);
    for (let i = 0; i < n; i++) start[rank[this.cell[i]!]! + 1]!++;
    for (let r = 0; r < ids.length; r++) start[r + 1]! += start[r]!;
    const next = start.slice(0, ids.length);
    const order = this.alloc(Uint32Array, n);
    for (let i = 0; i < n; i++) order[next[rank[this.cell[i]!]!]!++] = i;
    const ts = this.ts;
    const cells = ids.map((x, r) => ({ id: x.id, from: start[r]!, to: start[r + 1]! }));
    for (const c of cells) {
      let sorted = true;
      for (let k = c.from + 1; k < c.to && sorted; k++) if (ts[order[k]!]! < ts[order[k - 1]!]!) sorted = false;
      if (sorted) continue;
      const slice = Array.from(order.subarray(c.from, c.to)).sort((a, b) => ts[a]! - ts[b]! || a - b);
      order.set(slice, c.from);
    }
    return { order, cells };
  }

  /** Smallest and largest ts. */
  span(): { from: EpochMs; to: EpochMs } | undefined {
    if (this.length === 0) return undefined;
    let from = Infinity;
    let to = -Infinity;
    for (let i = 0; i < this.length; i++) {
      const t = this.ts[i]!;
      if (t < from) from = t;
      if (t > to) to = t;
    }
    return { from, to };
  }

  private column(f: SampleNumericField | 'interval'): Float64Array {
    if (f === 'interval') return (this.interval ??= this.alloc(Float64Array, this.capacity).fill(Number.NaN));
    let col = this.fields.get(f);
    if (!col) {
      this.fields.set(f, (col = this.alloc(Float64Array, this.capacity).fill(Number.NaN)));
      this.cols[f] = col;
    }
    return col;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const widen = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, fill?: number): T => {
      const b = this.alloc(a.constructor as unknown as Parameters<typeof this.alloc<T>>[0], cap);
      if (fill !== undefined) b.fill(fill, a.length);
      b.set(a);
      return b;
    };
    this.ts = widen(this.ts);
    this.cell = widen(this.cell);
    this.source = widen(this.source);
    this.available = widen(this.available);
    if (this.interval) this.interval = widen(this.interval, Number.NaN);
    for (const [f, col] of this.fields) {
      const wide = widen(col, Number.NaN);
      this.fields.set(f, wide);
      this.cols[f] = wide;
    }
    this.capacity = cap;
  }
}

export interface AnalysisInput {
  samples: Iterable<Sample> | SampleColumns;
  links?: Iterable<LinkSample>;
  inventory?: Inventory;
  settings: DetectionSettings;
  /** Hourly means from before the samples (a store export), for baselines from day one. */
  history?: readonly HourlyMean[];
  /** Stamped into the report when given (the report is otherwise a pure function of its input). */
  generatedAt?: EpochMs;
}

export interface ReportWindow {
  id: string;
  cell: string;
  site?: string;
  region?: string;
  stream: Window['stream'];
  start: string;
  /** Absent while the window was still open at the end of the data. */
  end?: string;
  cause: Cause;
  severity: number;
  usersAffected: number;
  userMinutes: number;
  worst: Window['worst'];
  evidence: WindowEvidence;
  remediation: string;
}

export interface ReportCell {
  id: string;
  site?: string;
  region?: string;
  /** Time-consistent busy hour as of the last day of data (local clock hour). */
  busyHour: number | null;
  bouncingBusyHour: number | null;
  baseline: BaselineKind;
  windows: number;
  /** Lowest daily peak ratio (null when no day had known experience), and its day. */
  worstRatio: number | null;
  worstDay: string | null;
}

export interface AnalysisReport {
  generatedAt?: string;
  settings: ReportSettings;
  input: {
    samples: number;
    links: number;
    cells: number;
    from: string | null;
    to: string | null;
    late: number;
    duplicates: number;
  };
  windows: ReportWindow[];
  targets: TargetResult[];
  cells: ReportCell[];
  summary: {
    windowsByCause: Record<Cause, number>;
    worstCells: { id: string; ratio: number; day: string }[];
  };
  /** Added by complaint correlation (issue 9). */
  complaints?: unknown[];
}

/** The settings as the report prints them: peak hours as HH:MM, durations in minutes. */
export interface ReportSettings {
  timezone: string;
  experience: DetectionSettings['experience'];
  target: { ratio: number; peak: { from: string; to: string } | 'busy-hour'; minUsers: number; minCoverage: number };
  rules: Omit<DetectionSettings['rules'], 'mergeGapMs' | 'latenessMs'> & { mergeGapMin: number; latenessMin: number };
  baseline: DetectionSettings['baseline'];
}

const rfc3339 = (ms: EpochMs) => new Date(ms).toISOString();
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

function reportSettings(s: DetectionSettings): ReportSettings {
  const peak: PeakSetting = s.target.peak;
  const { mergeGapMs, latenessMs, ...rules } = s.rules;
  return {
    timezone: s.timezone,
    experience: { ...s.experience },
    target: { ...s.target, peak: peak === 'busy-hour' ? peak : { from: hhmm(peak.from), to: hhmm(peak.to) } },
    rules: { ...rules, mergeGapMin: mergeGapMs / 60_000, latenessMin: latenessMs / 60_000 },
    baseline: { ...s.baseline, madFloor: { ...ABSOLUTE_MAD_FLOOR, ...s.baseline.madFloor } },
  };
}

export function reportWindow(w: Window): ReportWindow {
  const r: ReportWindow = {
    id: w.id,
    cell: w.cell,
    stream: w.stream,
    start: rfc3339(w.start),
    cause: w.cause,
    severity: w.severity,
    usersAffected: w.usersAffected,
    userMinutes: w.userMinutes,
    worst: w.worst,
    evidence: w.evidence,
    remediation: w.remediation,
  };
  if (w.site !== undefined) r.site = w.site;
  if (w.region !== undefined) r.region = w.region;
  if (w.end !== undefined) r.end = rfc3339(w.end);
  // Key order fixed for diffs of reports.
  return {
    id: r.id,
    cell: r.cell,
    ...(r.site !== undefined ? { site: r.site } : {}),
    ...(r.region !== undefined ? { region: r.region } : {}),
    stream: r.stream,
    start: r.start,
    ...(r.end !== undefined ? { end: r.end } : {}),
    cause: r.cause,
    severity: r.severity,
    usersAffected: r.usersAffected,
    userMinutes: r.userMinutes,
    worst: r.worst,
    evidence: r.evidence,
    remediation: r.remediation,
  };
}

/** What analysis produced before it is printed: windows with epoch times, and the detector for reads. */
export interface AnalysisResult {
  report: AnalysisReport;
  /** Final windows, by start then id (epoch ms). */
  windows: Window[];
}

export function analyze(input: AnalysisInput): AnalysisReport {
  return analyzeDetailed(input).report;
}

export function analyzeDetailed(input: AnalysisInput): AnalysisResult {
  const plan = planAnalysis(input);
  const part = new AnalysisPart(plan, 0, plan.cells.length);
  const run = part.run();
  return assembleReport(plan, [part.finish(run.days, run.newest)]);
}

/**
 * What every part of an analysis reads: the columns and their order by (cell, ts), the settings as
 * offline analysis runs them, the links in order. An analysis can be split into parts by cell (each
 * part a Detector over a range of cells, in its own thread): a cell's windows, sums and busy hour
 * depend on that cell and the links only, and the parts' results are put together in cell-id order,
 * so the report is the same to the byte as one Detector's over every cell.
 */
export interface AnalysisPlan {
  input: AnalysisInput;
  cols: SampleColumns;
  span: { from: EpochMs; to: EpochMs } | undefined;
  settings: DetectionSettings;
  links: LinkSample[];
  order: Uint32Array;
  /** The cells with samples, by id, and their rows in `order`. */
  cells: { id: string; from: number; to: number }[];
}

export function planAnalysis(input: AnalysisInput): AnalysisPlan {
  const cols = input.samples instanceof SampleColumns ? input.samples : SampleColumns.from(input.samples);
  const span = cols.span();
  const spanDays = span ? Math.ceil((span.to - span.from) / DAY_MS) + 2 : 0;
  // Offline, every day of the input is kept (the live detector keeps `historyDays`).
  const settings: DetectionSettings = {
    ...input.settings,
    rules: { ...input.settings.rules, historyDays: Math.max(input.settings.rules.historyDays, spanDays) },
  };
  const links = [...(input.links ?? [])].sort((a, b) => (a.link < b.link ? -1 : a.link > b.link ? 1 : a.ts - b.ts));
  const { order, cells } = cols.sortedByCell();
  return { input, cols, span, settings, links, order, cells };
}

/** A part's cell in the report, without what the whole report adds (inventory place, windows, worst day). */
export interface PartCell {
  id: string;
  busyHour: number | null;
  bouncingBusyHour: number | null;
  baseline: BaselineKind;
}

/** What a part of an analysis found: plain data (it may cross threads). */
export interface PartResult {
  /** Whether this part counts the links' late and duplicate ones (the first part does). */
  first: boolean;
  late: number;
  duplicates: number;
  /** The part's final windows (any order). */
  windows: Window[];
  days: DaySums[];
  cells: PartCell[];
  newest: number;
}

/**
 * Runs ranges of cells — range i is `plan.cells[bounds[i]..bounds[i + 1])` — taking the next one from
 * a counter the threads share (`next`, through Atomics) until none is left: a slower thread takes fewer.
 */
export function runTakenParts(
  plan: AnalysisPlan,
  bounds: readonly number[],
  next: Int32Array,
): { i: number; part: AnalysisPart; days: string[]; newest: number }[] {
  const taken: { i: number; part: AnalysisPart; days: string[]; newest: number }[] = [];
  for (let i = Atomics.add(next, 0, 1); i < bounds.length - 1; i = Atomics.add(next, 0, 1)) {
    const part = new AnalysisPart(plan, bounds[i]!, bounds[i + 1]!);
    taken.push({ i, part, ...part.run() });
  }
  return taken;
}

/**
 * The Detector over the cells `plan.cells[from..to)` (and, for cells without samples, the ids
 * between them): first `run` the samples, then — once every part's days are known — `finish`.
 */
export class AnalysisPart {
  private readonly detector: Detector;
  private readonly owns: ((cell: string) => boolean) | undefined;
  private late = 0;
  private duplicates = 0;
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly plan: AnalysisPlan,
    private readonly from: number,
    private readonly to: number,
  ) {
    const { input, settings, cells } = plan;
    // Ids from this part's first cell up to the next part's: every id has one owner, in order.
    const lo = from > 0 ? cells[from]?.id : undefined;
    const hi = to < cells.length ? cells[to]?.id : undefined;
    this.owns =
      lo === undefined && hi === undefined
        ? undefined
        : (id) => (lo === undefined || id >= lo) && (hi === undefined || id < hi);
    this.detector = new Detector(settings, {
      ...(input.inventory ? { inventory: input.inventory } : {}),
      ordered: true,
    });
    const owns = this.owns;
    if (input.history) this.detector.seedHourly(owns ? input.history.filter((m) => owns(m.cell)) : input.history);
  }

  /** Feeds the links, then the part's cells one after the other; the days with sums and the newest sample. */
  run(): { days: string[]; newest: number } {
    const { detector, windows, plan } = this;
    const take = (events: readonly { change: string; window: Window }[]) => {
      for (const e of events) {
        if (e.change === 'retracted') windows.delete(e.window.id);
        else windows.set(e.window.id, e.window);
      }
    };
    const lo = detector.addLinks(plan.links);
    if (this.from === 0) {
      this.late += lo.late;
      this.duplicates += lo.duplicates;
    }
    const { cols, order } = plan;
    const batch: Sample[] = [];
    // A cell's samples in batches of a few hundred, not all at once: objects that die before the
    // next batch stay in the young generation (a whole cell's were promoted, then collected again).
    for (let c = this.from; c < this.to; c++) {
      const cell = plan.cells[c]!;
      for (let k0 = cell.from; k0 < cell.to; k0 += BATCH) {
        batch.length = 0;
        const k1 = Math.min(cell.to, k0 + BATCH);
        for (let k = k0; k < k1; k++) batch.push(cols.row(order[k]!));
        const out = detector.addSamples(batch);
        this.late += out.late;
        this.duplicates += out.duplicates;
        take(out.windows);
      }
    }
    // Windows still open: their current state (changes that were not news were not emitted).
    for (const id of windows.keys()) {
      const now = detector.window(id);
      if (now) windows.set(id, now);
    }
    return { days: detector.targetDays(), newest: detector.newest };
  }

  /** The part's sums of every day of the whole analysis, and its cells' busy hours and baselines. */
  finish(days: readonly string[], newest: number): PartResult {
    const { detector, plan, owns } = this;
    const clock = new LocalClock(plan.settings.timezone);
    const lastDay = plan.span ? clock.day(plan.span.to) : undefined;
    const ids = new Set<string>();
    for (let c = this.from; c < this.to; c++) ids.add(plan.cells[c]!.id);
    for (const c of plan.input.inventory?.cells ?? []) if (!owns || owns(c.id)) ids.add(c.id);
    const cells = [...ids].sort().map((id): PartCell => {
      const view =
        lastDay === undefined ? undefined : detector.cellProfile(id, clock.dayStart(lastDay) + 12 * 3_600_000);
      return {
        id,
        busyHour: view?.busyHour ?? null,
        bouncingBusyHour: view?.bouncingBusyHour ?? null,
        baseline: view?.baseline ?? 'none',
      };
    });
    const sums: DaySums[] = [];
    for (const day of days) sums.push(detector.daySums(parseDay(day)!, undefined, undefined, owns));
    return {
      first: this.from === 0,
      late: this.late,
      duplicates: this.duplicates,
      windows: [...this.windows.values()],
      days: sums,
      cells,
      newest,
    };
  }
}

const BATCH = 256;

/** The days of every part, in order: what each part's `finish` sums. */
export function allDays(parts: readonly { days: readonly string[] }[]): string[] {
  const days = new Set<string>();
  for (const p of parts) for (const d of p.days) days.add(d);
  return [...days].sort();
}

/** The report from the parts' results (in cell order: part 0 holds the first cells). */
export function assembleReport(plan: AnalysisPlan, parts: readonly PartResult[]): AnalysisResult {
  const { input, cols, span, settings, links } = plan;
  let late = 0;
  let duplicates = 0;
  let newest = -Infinity;
  const all: Window[] = [];
  for (const p of parts) {
    late += p.late;
    duplicates += p.duplicates;
    newest = Math.max(newest, p.newest);
    all.push(...p.windows);
  }
  const finalWindows = all.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));

  // Finality from the newest sample of all parts, as one Detector over every cell would have it.
  const judge = new Detector(settings, { ordered: true });
  const rule = judge.targetRule();
  const targets: TargetResult[] = [];
  const days = parts[0]?.days.map((d) => d.day) ?? [];
  days.forEach((day, i) => {
    const whole: DaySums = { day, cells: [], probes: [], probeCells: [] };
    for (const p of parts) {
      const d = p.days[i]!;
      whole.cells.push(...d.cells);
      whole.probes.push(...d.probes);
      whole.probeCells.push(...d.probeCells);
    }
    targets.push(...aggregateTargets(whole, rule, judge.dayFinal(parseDay(day)!, newest)));
  });

  const windowsPerCell = new Map<string, number>();
  for (const w of finalWindows) windowsPerCell.set(w.cell, (windowsPerCell.get(w.cell) ?? 0) + 1);
  const worst = new Map<string, { ratio: number; day: string }>();
  for (const t of targets) {
    if (t.scope !== 'cell' || t.ratio === null) continue;
    const w = worst.get(t.id);
    if (!w || t.ratio < w.ratio) worst.set(t.id, { ratio: t.ratio, day: t.day });
  }
  const reportCells: ReportCell[] = parts
    .flatMap((p) => p.cells)
    .map((c) => {
      const inv = input.inventory?.cell(c.id);
      const w = worst.get(c.id);
      return {
        id: c.id,
        ...(inv ? { site: inv.site, region: inv.region } : {}),
        busyHour: c.busyHour,
        bouncingBusyHour: c.bouncingBusyHour,
        baseline: c.baseline,
        windows: windowsPerCell.get(c.id) ?? 0,
        worstRatio: w?.ratio ?? null,
        worstDay: w?.day ?? null,
      };
    });

  const windowsByCause = Object.fromEntries(CAUSE_PRIORITY.map((c) => [c, 0])) as Record<Cause, number>;
  for (const w of finalWindows) windowsByCause[w.cause]++;
  // The cells that missed the goal, each at its worst day (a cell that met it every day is not "worst").
  const judged = targets.filter((t) => t.scope === 'cell' && t.ratio !== null && t.status === 'missed');
  const worstCells: { id: string; ratio: number; day: string }[] = [];
  const seen = new Set<string>();
  for (const t of judged.sort(
    (a, b) => a.ratio! - b.ratio! || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.day < b.day ? -1 : 1),
  )) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    worstCells.push({ id: t.id, ratio: t.ratio!, day: t.day });
    if (worstCells.length === 10) break;
  }

  const report: AnalysisReport = {
    ...(input.generatedAt !== undefined ? { generatedAt: rfc3339(input.generatedAt) } : {}),
    settings: reportSettings(input.settings),
    input: {
      samples: cols.length,
      links: links.length,
      cells: cols.cellIds.length,
      from: span ? rfc3339(span.from) : null,
      to: span ? rfc3339(span.to) : null,
      late,
      duplicates,
    },
    windows: finalWindows.map(reportWindow),
    targets,
    cells: reportCells,
    summary: { windowsByCause, worstCells },
  };
  return { report, windows: finalWindows };
}

export { dayString };
