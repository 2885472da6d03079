/**
 * One (cell, stream) on event time: its samples in time order, whatever order they arrive in.
 *
 * ```
 *   settled ◄──────── checkpoint │ buffer (≤ lateness behind the newest ts) │ ◄── samples
 *   day sums, final              │ intervals, stepped into `state`          │
 * ```
 * The rules:
 * - a sample newer than the newest one (the usual case) is judged and stepped at once (fast path);
 * - one older than the newest but within `lateness` is inserted in order, and the buffer is
 *   recomputed from the checkpoint (the state before the buffer); the windows this gives are
 *   compared with those already published, and the differences are emitted (`opened`, `changed`,
 *   `closed`, and `retracted` for a window that no longer exists — e.g. it now starts earlier);
 * - one older than that is late: counted, not folded in (its values still reach the hourly history,
 *   as they reach the store's rollups);
 * - a second sample with the same ts is a duplicate (replays after a store outage): ignored;
 * - intervals leave the buffer when they fall `lateness` behind the newest ts: the checkpoint steps
 *   over them and their target sums are added — in time order, so sums are exact in any arrival order;
 * - `intervalS` missing: the spacing to the previous sample (up to an hour), else the previous
 *   interval, else the default.
 * With `ordered` (offline analysis, input sorted) the buffer is skipped: the checkpoint is the state.
 *
 * A snapshot (for a restart) is the state after every sample, without the buffer: the detector folds
 * the buffer's target sums into the days it saves, and the restored track's checkpoint is that state.
 * What the buffer was for — folding in samples older than the newest — ends at the restart: a sample
 * at or before the newest one seen before it is counted late. Keeping the buffer would cost 100 bytes
 * per sample of the last two hours of every cell (190 MB and 12 s at 2,000 cells), to be exact only
 * about out-of-order data that straddles a restart.
 */
import type { Cause, EpochMs, Sample, SampleStream, Window, WindowEvent } from '../model/index.js';
import type { BaselineStore } from './baseline.js';
import type { LinkTimeline } from './causes.js';
import { assessInterval, baselineValues, type AssessContext, type Interval } from './interval.js';
import type { DetectionRules, DetectionSettings } from './settings.js';
import {
  accGist,
  cloneMachine,
  materialChange,
  windowGist,
  newMachine,
  recountCauses,
  stepWindow,
  toWindow,
  type MachineState,
  type StepContext,
  type WindowAcc,
  type WindowGist,
} from './windows.js';

export interface TrackState {
  machine: MachineState;
  lastTs: number;
  lastIntervalS: number;
  /** Users over the last hour or so of available samples (an outage's fallback weight). */
  recentUsers: number;
  /** Start of the current run of collapsed intervals (NaN: the last interval was not collapsed). */
  collapsedSince: number;
}

export function newTrackState(): TrackState {
  return {
    machine: newMachine(),
    lastTs: Number.NaN,
    lastIntervalS: Number.NaN,
    recentUsers: Number.NaN,
    collapsedSince: Number.NaN,
  };
}

function cloneState(s: TrackState): TrackState {
  return { ...s, machine: cloneMachine(s.machine) };
}

/** What a track needs from the detector around it. */
export interface TrackServices {
  readonly settings: DetectionSettings;
  readonly baselines: BaselineStore;
  readonly links: LinkTimeline;
  place(cell: string): { site?: string; region?: string };
  /** An interval left the buffer, in time order: the hourly history and the target sums take it. */
  settle(track: Track, iv: Interval): void;
  /** A published window can no longer change here. */
  retire(w: Window): void;
}

export interface BufferedInterval {
  sample: Sample;
  iv: Interval;
}

export type Accepted = 'ok' | 'late' | 'duplicate';

const SETTLED_MEMORY = 512;
const numOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
const scratch = new Float64Array(8);

export class Track {
  /** The state after every interval seen; with `ordered`, also the checkpoint. */
  private state: TrackState;
  private checkpoint: TrackState;
  private buffer: BufferedInterval[] = [];
  /** Timestamps of recently settled intervals, ascending (duplicates of replays are found here). */
  private settled: number[] = [];
  private newest = -Infinity;
  /** Windows that may still change: what was last said about them, and their current build. */
  private readonly published = new Map<string, { shown: Window; gist: WindowGist; acc: WindowAcc }>();

  constructor(
    readonly cell: string,
    readonly stream: SampleStream,
    private readonly ordered: boolean,
    state?: TrackState,
  ) {
    this.checkpoint = state ?? newTrackState();
    this.state = ordered ? this.checkpoint : cloneState(this.checkpoint);
  }

  get watermark(): number {
    return this.newest;
  }

  accept(s: Sample, svc: TrackServices, out: WindowEvent[]): Accepted {
    const lateness = this.ordered ? 0 : svc.settings.rules.latenessMs;
    if (s.ts <= this.newest && this.isDuplicate(s.ts)) return 'duplicate';
    // The checkpoint has passed it (lateness, or a restart: see the header).
    if (s.ts < this.newest - lateness || (this.ordered && s.ts < this.newest) || s.ts <= this.checkpoint.lastTs) {
      if (this.stream === 'counters') {
        // Still real data for the cell's history (the store's rollups have it too).
        const intervalS = s.intervalS ?? svc.settings.rules.defaultIntervalS;
        svc.baselines.add(this.cell, s.ts, baselineValues(s, intervalS, scratch));
        svc.baselines.invalidate(this.cell);
      }
      return 'late';
    }
    if (s.ts > this.newest) {
      this.newest = s.ts;
      // Settle first: the hourly history then holds everything older than ts − lateness, as it
      // does when the same samples come sorted.
      if (!this.ordered) {
        this.settle(svc);
        this.keepTail(svc.settings.rules);
      }
      const iv = this.step(this.state, s, undefined, svc);
      const touched = this.touched;
      this.publish(touched, s.ts, svc, out);
      if (this.ordered) {
        svc.settle(this, iv);
        this.retireSettled(svc);
      } else {
        this.buffer.push({ sample: s, iv });
      }
    } else {
      this.recompute(s, svc, out);
    }
    return 'ok';
  }

  private isDuplicate(ts: number): boolean {
    if (ts === this.checkpoint.lastTs) return true;
    const b = this.buffer;
    for (let i = b.length - 1; i >= 0 && b[i]!.sample.ts >= ts; i--) if (b[i]!.sample.ts === ts) return true;
    if (this.ordered) return ts === this.state.lastTs;
    const st = this.settled;
    let lo = 0;
    let hi = st.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (st[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    return st[lo] === ts;
  }

  private ctx: StepContext | undefined;
  /** assessInterval's context, refilled per sample (it keeps no reference to it). */
  private readonly assess: AssessContext = {
    experience: { dlMbps: 0, ulMbps: 0, latencyMs: 0 },
    rules: undefined as unknown as DetectionRules,
    hourly: {},
    level: {},
    recentUsers: Number.NaN,
    collapsedSince: Number.NaN,
  };

  /** The window machine's context, kept while the rules and the cell's site stay the same. */
  private stepContext(svc: TrackServices): StepContext {
    const rules = svc.settings.rules;
    const site = svc.place(this.cell).site;
    const c = this.ctx;
    if (c && c.rules === rules && c.site === site && c.links === svc.links) return c;
    return (this.ctx = { rules, cell: this.cell, stream: this.stream, site, links: svc.links });
  }

  /** Judges a sample against the state before it and steps the window machine. */
  private step(st: TrackState, s: Sample, cached: Interval | undefined, svc: TrackServices): Interval {
    const set = svc.settings;
    let iv = cached;
    if (!iv) {
      const gap = (s.ts - st.lastTs) / 1000;
      const intervalS =
        s.intervalS ??
        (gap > 0 && gap <= 3600
          ? gap
          : Number.isFinite(st.lastIntervalS)
            ? st.lastIntervalS
            : set.rules.defaultIntervalS);
      const counters = this.stream === 'counters';
      const hourly = counters ? svc.baselines.hourly(this.cell, s.ts) : {};
      const level = counters ? svc.baselines.level(this.cell, s.ts) : {};
      const a = this.assess;
      a.experience = set.experience;
      a.rules = set.rules;
      a.hourly = hourly;
      a.level = level;
      a.recentUsers = st.recentUsers;
      a.collapsedSince = this.runSince(st, s.ts - intervalS * 1000, set.rules);
      iv = assessInterval(s, intervalS, a);
    }
    const touched = stepWindow(st.machine, iv, this.stepContext(svc));
    if (!iv.collapsed) st.collapsedSince = Number.NaN;
    else {
      const since = this.runSince(st, iv.start, set.rules);
      st.collapsedSince = Number.isNaN(since) ? iv.start : since;
    }
    st.lastTs = s.ts;
    st.lastIntervalS = iv.intervalS;
    if (iv.available && s.activeUsers !== undefined) {
      const a = Math.min(1, iv.intervalS / 3600);
      st.recentUsers = Number.isFinite(st.recentUsers)
        ? st.recentUsers + a * (s.activeUsers - st.recentUsers)
        : s.activeUsers;
    }
    this.touched = touched;
    return iv;
  }

  /**
   * The collapsed run an interval starting at `start` continues: broken by a gap longer than
   * `mergeGap`, as a window's run of bad intervals is (a collector silent for an hour proves nothing).
   */
  private runSince(st: TrackState, start: number, rules: DetectionRules): number {
    return Number.isFinite(st.collapsedSince) && start - st.lastTs <= rules.mergeGapMs ? st.collapsedSince : Number.NaN;
  }

  /** The windows the last `step` touched (a field, not a returned pair: a step runs per sample). */
  private touched: readonly WindowAcc[] = [];

  /**
   * The state before the newest sample was stepped, kept when it holds no window and nothing pending
   * and no window is published: then it is all numbers (`tail`, valid when `tailValid`).
   */
  private readonly tail = {
    lastTs: Number.NaN,
    lastIntervalS: Number.NaN,
    recentUsers: Number.NaN,
    collapsedSince: Number.NaN,
    goodRun: 0,
    idleGood: 0,
    idleUnknown: 0,
    idleKnown: 0,
  };
  private tailValid = false;
  /** The rules the tail was stepped under: after a reload the older intervals would step differently. */
  private tailRules: DetectionRules | undefined;

  private keepTail(rules: DetectionRules): void {
    const st = this.state;
    const m = st.machine;
    this.tailValid =
      m.open === undefined && m.lastClosed === undefined && m.pending.length === 0 && this.published.size === 0;
    if (!this.tailValid) return;
    this.tailRules = rules;
    const t = this.tail;
    t.lastTs = st.lastTs;
    t.lastIntervalS = st.lastIntervalS;
    t.recentUsers = st.recentUsers;
    t.collapsedSince = st.collapsedSince;
    t.goodRun = m.goodRun;
    t.idleGood = m.idleGood;
    t.idleUnknown = m.idleUnknown;
    t.idleKnown = m.idleKnown;
  }

  /** The kept tail as a state to step from. */
  private tailState(): TrackState {
    const t = this.tail;
    return {
      machine: {
        ...newMachine(),
        goodRun: t.goodRun,
        idleGood: t.idleGood,
        idleUnknown: t.idleUnknown,
        idleKnown: t.idleKnown,
      },
      lastTs: t.lastTs,
      lastIntervalS: t.lastIntervalS,
      recentUsers: t.recentUsers,
      collapsedSince: t.collapsedSince,
    };
  }

  /**
   * Inserts a late sample in order and recomputes the buffer from the checkpoint — or, when it goes
   * just before the newest sample (two pushes of consecutive intervals answered out of order) and the
   * state before that one was kept, from there: stepping the buffer's older intervals again would
   * give that very state, touching no window (none existed, none was published), so the two
   * recomputations are the same; this one costs two steps instead of up to `lateness` of them.
   */
  private recompute(s: Sample, svc: TrackServices, out: WindowEvent[]): void {
    const b = this.buffer;
    let i = b.length;
    while (i > 0 && b[i - 1]!.sample.ts > s.ts) i--;
    b.splice(i, 0, { sample: s, iv: undefined as unknown as Interval });
    const fromTail = this.tailValid && i === b.length - 2 && this.tailRules === svc.settings.rules;
    this.tailValid = false;
    const st = fromTail ? this.tailState() : cloneState(this.checkpoint);
    const seen = new Map<string, WindowAcc>();
    const note = (accs: readonly WindowAcc[]) => accs.forEach((a) => seen.set(a.id, a));
    if (st.machine.open) note([st.machine.open]);
    if (st.machine.lastClosed) note([st.machine.lastClosed]);
    for (let j = fromTail ? i : 0; j < b.length; j++) {
      const entry = b[j]!;
      const iv = this.step(st, entry.sample, j < i ? entry.iv : undefined, svc);
      const touched = this.touched;
      entry.iv = iv;
      note(touched);
    }
    this.state = st;
    for (const [id, p] of this.published)
      if (!seen.has(id)) {
        this.published.delete(id);
        out.push({ change: 'retracted', window: p.shown, at: s.ts });
      }
    this.publish(
      [...seen.values()].sort((x, y) => x.start - y.start),
      s.ts,
      svc,
      out,
    );
  }

  /** Emits what changed about the touched windows since they were last published. */
  private publish(touched: readonly WindowAcc[], at: EpochMs, svc: TrackServices, out: WindowEvent[]): void {
    for (const acc of touched) {
      const p = this.published.get(acc.id);
      if (!p) {
        const w = toWindow(acc, svc.place(this.cell));
        this.published.set(acc.id, { shown: w, gist: windowGist(w), acc });
        if (w.end === undefined) {
          out.push({ change: 'opened', window: w, at });
        } else {
          // Opened and closed by one recomputation: say both, so a consumer sees the whole life.
          const { end: _end, ...opened } = w;
          out.push({ change: 'opened', window: opened, at }, { change: 'closed', window: w, at });
        }
        continue;
      }
      p.acc = acc;
      const wasOpen = p.shown.end === undefined;
      const isOpen = acc.end === undefined;
      let change: WindowEvent['change'] | undefined;
      let w: Window | undefined;
      if (wasOpen && !isOpen) change = 'closed';
      else if (!wasOpen && isOpen) change = 'changed';
      else if (!isOpen) {
        // A closed window changes only through late data or links; its last event must be its
        // final state (the record store keeps it), so any difference is news.
        w = toWindow(acc, svc.place(this.cell));
        if (JSON.stringify(w) !== JSON.stringify(p.shown)) change = 'changed';
      } else if (materialChange(p.gist, accGist(acc))) change = 'changed';
      if (change) {
        w ??= toWindow(acc, svc.place(this.cell));
        p.shown = w;
        p.gist = windowGist(w);
        out.push({ change, window: w, at });
      }
    }
  }

  /** Moves intervals that fell `lateness` behind into the checkpoint and the target sums. */
  private settle(svc: TrackServices): void {
    const limit = this.newest - svc.settings.rules.latenessMs;
    const b = this.buffer;
    let k = 0;
    while (k < b.length && b[k]!.sample.ts < limit) {
      const { sample, iv } = b[k]!;
      this.step(this.checkpoint, sample, iv, svc);
      svc.settle(this, iv);
      this.settled.push(sample.ts);
      k++;
    }
    if (k === 0) return;
    b.splice(0, k);
    if (this.settled.length > 2 * SETTLED_MEMORY) this.settled.splice(0, this.settled.length - SETTLED_MEMORY);
    this.retireSettled(svc);
  }

  /** Published windows that closed before the checkpoint and cannot re-open leave for the detector's history. */
  private retireSettled(svc: TrackServices): void {
    const m = this.checkpoint.machine;
    for (const [id, p] of this.published) {
      if (p.acc.end === undefined || id === m.lastClosed?.id || id === m.open?.id) continue;
      // Not yet passed by the checkpoint: a recomputation may still change it.
      if (!(this.checkpoint.lastTs >= p.acc.lastBad)) continue;
      this.published.delete(id);
      svc.retire(toWindow(p.acc, svc.place(this.cell)));
    }
  }

  /** A link sample for this track's site arrived: re-judge the causes of windows it overlaps. */
  relink(svc: TrackServices, from: EpochMs, to: EpochMs, at: EpochMs, out: WindowEvent[]): void {
    const site = svc.place(this.cell).site;
    const overlaps = (a: WindowAcc) => a.start < to && (a.end ?? a.lastBad) > from - svc.settings.rules.mergeGapMs;
    for (const st of this.ordered ? [this.checkpoint] : [this.checkpoint, this.state]) {
      for (const a of [st.machine.open, st.machine.lastClosed]) if (a && overlaps(a)) recountCauses(a, site, svc.links);
    }
    const touched: WindowAcc[] = [];
    for (const p of this.published.values()) {
      if (!overlaps(p.acc)) continue;
      recountCauses(p.acc, site, svc.links);
      touched.push(p.acc);
    }
    this.publish(touched, at, svc, out);
  }

  /** Windows of this track as they are now (open first). */
  windows(svc: TrackServices): Window[] {
    return [...this.published.values()].map((p) => toWindow(p.acc, svc.place(this.cell)));
  }

  window(id: string, svc: TrackServices): Window | undefined {
    const p = this.published.get(id);
    return p ? toWindow(p.acc, svc.place(this.cell)) : undefined;
  }

  /** Intervals not settled yet (target reads add them, in time order, on top of the settled sums). */
  pending(): readonly BufferedInterval[] {
    return this.buffer;
  }

  /** The causes of this track's open window's bad intervals so far (for the cell view). */
  openCause(svc: TrackServices): Cause | undefined {
    const open = this.state.machine.open;
    return open ? toWindow(open, svc.place(this.cell)).cause : undefined;
  }

  /**
   * The state after every sample (the buffer's windows included; its target sums are the detector's
   * to fold in), as plain data with NaN as null. It shares objects with the live track: serialise it
   * before the track takes more samples.
   */
  snapshot(): TrackSnapshot {
    const c = this.state;
    const m = c.machine;
    const live = new Set([m.open?.id, m.lastClosed?.id]);
    return {
      cell: this.cell,
      stream: this.stream,
      state: {
        machine: m,
        lastTs: numOrNull(c.lastTs),
        lastIntervalS: numOrNull(c.lastIntervalS),
        recentUsers: numOrNull(c.recentUsers),
        collapsedSince: numOrNull(c.collapsedSince),
      },
      newest: numOrNull(this.newest),
      // Only windows that can still change: the open one, and the last closed while it may re-open.
      published: [...this.published.values()].filter((p) => live.has(p.shown.id)).map((p) => p.shown),
    };
  }

  static restore(snap: TrackSnapshot, ordered: boolean): Track {
    const st = snap.state;
    const state: TrackState = {
      machine: st.machine,
      lastTs: st.lastTs ?? Number.NaN,
      lastIntervalS: st.lastIntervalS ?? Number.NaN,
      recentUsers: st.recentUsers ?? Number.NaN,
      collapsedSince: st.collapsedSince ?? Number.NaN,
    };
    const t = new Track(snap.cell, snap.stream, ordered, state);
    t.newest = snap.newest ?? -Infinity;
    const m = t.state.machine;
    const accs = new Map<string, WindowAcc>();
    for (const a of [m.open, m.lastClosed]) if (a) accs.set(a.id, a);
    for (const w of snap.published) {
      const acc = accs.get(w.id);
      if (acc) t.published.set(w.id, { shown: w, gist: windowGist(w), acc });
    }
    return t;
  }
}

export interface TrackSnapshot {
  cell: string;
  stream: SampleStream;
  /** The state after every sample seen (numbers not known yet as null). */
  state: {
    machine: MachineState;
    lastTs: number | null;
    lastIntervalS: number | null;
    recentUsers: number | null;
    /** Absent in snapshots from before the sustained silent-failure test. */
    collapsedSince?: number | null;
  };
  newest: number | null;
  /** What was last published about each window that may still change. */
  published: Window[];
}
