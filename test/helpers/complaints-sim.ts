/**
 * Complaint matching against the simulator's ground truth: precision and recall of "explained",
 * hot-spot precision, and whether the figures hold in every arrival order. Shared by
 * test/complaints-accuracy.test.ts (a small network, thresholds asserted) and
 * bench/cases/complaints-accuracy.ts (a simulated month, figures reported).
 *
 * The window source is a parameter: `truthWindows` builds one window per affected cell spanning each
 * incident (what a perfect detector would report); the detection core's windows replace it later.
 */
import { CellInventory } from '../../config/inventory.js';
import { analyzeDetailed, SampleColumns, settingsWith } from '../../correlator/index.js';
import {
  ComplaintCorrelator,
  type CorrelatorOptions,
  type Hotspot,
  type HotspotEvent,
} from '../../correlator/complaints/index.js';
import type {
  Cause,
  Complaint,
  ComplaintCorrelation,
  EpochMs,
  LinkSample,
  Window,
  WindowEvent,
} from '../../model/index.js';
import type { ComplaintTruth, SimNetwork } from '../../sim/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type WindowSource = (net: SimNetwork, from: EpochMs, to: EpochMs) => Window[];

/** Incident severity 0.3..1 → window severity 0.5..1 (every incident gave users a bad experience). */
export function incidentSeverity(s: number): number {
  return Math.round((0.5 + (0.5 * (Math.min(1, Math.max(0.3, s)) - 0.3)) / 0.7) * 1000) / 1000;
}

export const truthWindows: WindowSource = (net, from, to) => {
  const out: Window[] = [];
  for (const inc of net.groundTruth(from, to).incidents) {
    const cause: Cause = inc.kind === 'sleeping' ? 'silent-failure' : inc.kind;
    for (const cell of inc.affectedCells) {
      const c = net.cells.find((x) => x.id === cell);
      const w: Window = {
        id: `W-${inc.id}-${cell}`,
        cell,
        stream: 'counters',
        start: inc.start,
        end: inc.end,
        lastBad: inc.end,
        cause,
        severity: incidentSeverity(inc.severity),
        usersAffected: 0,
        userMinutes: inc.affectedUserMinutes,
        worst: {},
        evidence: { kpis: [], badIntervals: 0, goodIntervals: 0, unknownIntervals: 0 },
        remediation: '',
      };
      if (inc.kind === 'backhaul' && inc.linkDown) w.evidence.link = { link: `bh-${inc.site}:1`, operUp: false };
      if (c) {
        w.site = c.site;
        w.region = c.region;
      }
      out.push(w);
    }
  }
  return out.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
};

export interface DetectorOptions {
  /** Minutes between samples: the poll interval (the collectors' default is 1). */
  stepMin: number;
  /** History fed before the windows' range so that baselines exist from its first day. */
  historyDays: number;
  historyStepMin: number;
  timezone: string;
}

/**
 * The windows the detector finds in the simulator's samples — the path of `cellwatch analyze`
 * (analyzeDetailed over samples and backhaul link samples, every cell polled each `stepMin`), after
 * `historyDays` of coarser samples for the baselines. Only windows reaching into [from, to] are kept.
 */
export function detectorWindows(o: DetectorOptions): WindowSource {
  return (net, from, to) => {
    // Columns, not sample objects: a month of every cell each minute fits in memory.
    const samples = new SampleColumns(1 << 20);
    const links: LinkSample[] = [];
    // As a collector polling every `stepMin` stores them: the last minute's gauges, the whole interval's
    // volumes (one minute's volumes labelled as the interval's made the traffic a fraction of itself).
    const poll = (t: number, stepMin: number) => {
      const batch = net.intervalSamples(t, stepMin * 60_000);
      for (const s of batch.samples) samples.append(s);
      for (const l of batch.links) links.push(l);
    };
    const hStep = o.historyStepMin * 60_000;
    for (let t = from - o.historyDays * DAY + hStep; t <= from; t += hStep) poll(t, o.historyStepMin);
    const step = o.stepMin * 60_000;
    for (let t = from + step; t <= to; t += step) poll(t, o.stepMin);
    const { windows } = analyzeDetailed({
      samples,
      links,
      inventory: CellInventory.of(net.cells),
      settings: settingsWith({ timezone: o.timezone }),
    });
    return windows
      .filter((w) => (w.end ?? Infinity) >= from && w.start <= to)
      .sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  };
}

export type ArrivalOrder = 'windows-first' | 'complaints-first' | 'live';

export interface AccuracyFigures {
  order: ArrivalOrder;
  complaints: number;
  truePositive: number;
  falsePositive: number;
  falseNegative: number;
  trueNegative: number;
  precision: number;
  recall: number;
  hotspots: number;
  hotspotPrecision: number;
  silent: number;
  /** Largest number of complaints the correlator held at once (live order, with finalize every hour). */
  peakHeld: number;
  explained: Map<string, ComplaintCorrelation>;
}

export interface AccuracyInput {
  net: SimNetwork;
  from: EpochMs;
  to: EpochMs;
  windows?: WindowSource;
  options?: Partial<CorrelatorOptions>;
}

export interface Simulation {
  complaints: Complaint[];
  truth: Map<string, ComplaintTruth>;
  windows: Window[];
  inventory: CellInventory;
}

export function simulate(input: AccuracyInput): Simulation {
  const { net, from, to } = input;
  const truthList = net.groundTruth(from, to).complaints.filter((t) => t.category === 'network');
  const truth = new Map(truthList.map((t) => [t.id, t]));
  const complaints = net
    .complaints(from, to)
    .filter((c) => c.category === 'network')
    .map(({ cause: _cause, ...c }) => c);
  // Windows of incidents that complaints in [from, to) can still be about.
  const windows = (input.windows ?? truthWindows)(net, from - 3 * DAY, to + 2 * HOUR);
  return { complaints, truth, windows, inventory: CellInventory.of(net.cells) };
}

/** Runs the correlator over the simulated complaints in one arrival order and scores the result. */
export function measure(input: AccuracyInput, order: ArrivalOrder, sim: Simulation = simulate(input)): AccuracyFigures {
  const { complaints, truth, windows, inventory } = sim;
  const cor = new ComplaintCorrelator(inventory, input.options);
  const result = new Map<string, ComplaintCorrelation>();
  const hotspots = new Map<string, Hotspot>();
  let peakHeld = 0;
  // A hot spot taken into a larger one (or re-keyed) is not one of its own.
  const noteHotspots = (evs: HotspotEvent[]) => {
    for (const e of evs)
      if (e.superseded) hotspots.delete(e.hotspot.id);
      else hotspots.set(e.hotspot.id, e.hotspot);
  };
  if (order === 'windows-first') {
    cor.addWindows(windows);
    cor.addComplaints(complaints);
    noteHotspots(cor.hotspotEvents());
  } else if (order === 'complaints-first') {
    cor.addComplaints(complaints);
    cor.addWindows(windows);
    noteHotspots(cor.hotspotEvents());
  } else {
    // As the daemon would see them: a window opens at its start and closes at its end, a complaint
    // arrives at receivedAt; finalize runs every simulated hour.
    type Step = { at: number; rank: number; run: () => void };
    const steps: Step[] = [];
    for (const w of windows) {
      const { end: _end, ...open } = w;
      const opened: WindowEvent = { change: 'opened', window: { ...open, lastBad: w.start }, at: w.start };
      const closed: WindowEvent = { change: 'closed', window: w, at: w.end ?? w.start };
      steps.push({ at: w.start, rank: 0, run: () => cor.applyWindowEvents([opened]) });
      steps.push({ at: w.end ?? w.start, rank: 0, run: () => cor.applyWindowEvents([closed]) });
    }
    for (const c of complaints)
      steps.push({
        at: c.receivedAt,
        rank: 1,
        run: () => {
          cor.addComplaints([c]);
          noteHotspots(cor.hotspotEvents());
        },
      });
    const first = Math.min(...steps.map((s) => s.at));
    const last = Math.max(...steps.map((s) => s.at));
    for (let t = Math.ceil(first / HOUR) * HOUR; t <= last + 5 * DAY; t += HOUR)
      steps.push({
        at: t,
        rank: 2,
        run: () => {
          peakHeld = Math.max(peakHeld, cor.size.complaints);
          const f = cor.finalize(t);
          for (const x of f.finalised) result.set(x.complaint.id, x.correlation);
          noteHotspots(f.hotspots);
        },
      });
    steps.sort((a, b) => a.at - b.at || a.rank - b.rank);
    for (const s of steps) s.run();
  }
  for (const c of complaints) {
    const corr = cor.correlation(c.id);
    if (corr) result.set(c.id, corr);
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const c of complaints) {
    const t = truth.get(c.id)!;
    const real = t.cause !== null || t.badAtIssue;
    const said = result.get(c.id)?.explained ?? false;
    if (real && said) tp++;
    else if (real) fn++;
    else if (said) fp++;
    else tn++;
  }
  let trueHotspots = 0;
  let silent = 0;
  for (const h of hotspots.values()) {
    const real = h.complaints.filter((id) => {
      const t = truth.get(id);
      return t !== undefined && (t.cause !== null || t.badAtIssue);
    }).length;
    if (real * 2 >= h.complaints.length) trueHotspots++;
    if (h.kind === 'silent-degradation') silent++;
  }
  return {
    order,
    complaints: complaints.length,
    truePositive: tp,
    falsePositive: fp,
    falseNegative: fn,
    trueNegative: tn,
    precision: tp / Math.max(1, tp + fp),
    recall: tp / Math.max(1, tp + fn),
    hotspots: hotspots.size,
    hotspotPrecision: hotspots.size === 0 ? 1 : trueHotspots / hotspots.size,
    silent,
    peakHeld,
    explained: result,
  };
}
