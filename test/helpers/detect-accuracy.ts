/**
 * The simulator through `analyze`, scored against its ground truth: window recall, cause accuracy
 * and precision. Shared by test/correlator-accuracy.test.ts and bench/cases/detect-analyze.ts.
 *
 * - recall: share of incidents that really hurt someone (affectedCells non-empty) with ≥ 1 window
 *   on an affected cell overlapping the incident (± 10 min);
 * - cause accuracy: of those found, the share whose most-overlapping window has the incident's kind
 *   as its cause (sim kinds map 1:1; `sleeping` → silent-failure; backhaul link-down → backhaul);
 * - precision: share of windows overlapping some incident on its cells (± 10 min); windows elsewhere
 *   on a cell the simulator itself shows bad (load alone) are counted apart as "load" windows;
 * - incidents with no affected cell are listed apart: no window can be expected, relative drops may
 *   still find some.
 */
import { CellInventory } from '../../config/inventory.js';
import { analyzeDetailed, settingsWith, type DetectionSettings, type HourlyMean } from '../../correlator/index.js';
import { trafficMbps } from '../../correlator/interval.js';
import type { Cause, LinkSample, Sample, Window } from '../../model/index.js';
import { SimNetwork, isGood, type IncidentKind, type IncidentTruth } from '../../sim/index.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SLACK = 10 * MIN;

export const KIND_CAUSE: Record<IncidentKind, Cause> = {
  outage: 'outage',
  backhaul: 'backhaul',
  coverage: 'coverage',
  interference: 'interference',
  congestion: 'congestion',
  sleeping: 'silent-failure',
};

export interface AccuracyOptions {
  seed: number;
  sites: number;
  regions: number;
  /** Days analysed (after the history weeks). */
  days: number;
  /** Weeks of hourly history before them, fed as `history` (sampled every `historyStepMin`). */
  historyWeeks: number;
  historyStepMin?: number;
  /** Minutes between samples in the analysed days (1 = every interval the simulator has). */
  stepMin: number;
  /** Sleeping-cell incidents injected into the analysed days. */
  sleeping: number;
  timezone?: string;
  settings?: DetectionSettings;
}

export interface KindScore {
  incidents: number;
  found: number;
  rightCause: number;
}

export interface AccuracyResult {
  recall: number;
  causeAccuracy: number;
  precision: number;
  /** Precision counting windows on cells the simulator shows bad by load alone as right. */
  precisionWithLoad: number;
  windows: number;
  incidentWindows: number;
  loadWindows: number;
  strayWindows: Window[];
  byKind: Record<string, KindScore>;
  unaffected: { incidents: number; found: number };
  missed: IncidentTruth[];
  wrongCause: { incident: IncidentTruth; cause: Cause }[];
  samples: number;
  seconds: { simulate: number; analyze: number };
}

/** Monday 2026-03-02 00:00 in Shanghai (UTC+8, no DST). */
export const ACCURACY_START = Date.parse('2026-03-02T00:00:00+08:00');

export function simAccuracy(o: AccuracyOptions): AccuracyResult {
  const tz = o.timezone ?? 'Asia/Shanghai';
  const from = ACCURACY_START + o.historyWeeks * 7 * DAY;
  const to = from + o.days * DAY;
  const t0 = performance.now();
  const net = SimNetwork.create({
    seed: o.seed,
    regions: o.regions,
    sites: o.sites,
    start: ACCURACY_START,
    timezone: tz,
  });
  injectSleeping(net, o.seed, o.sleeping, from, to);

  const history: HourlyMean[] = [];
  const hStep = (o.historyStepMin ?? 10) * MIN;
  for (let h = ACCURACY_START; h < from; h += HOUR) {
    for (const c of net.cells) {
      const sums = {
        activeUsers: 0,
        trafficMbps: 0,
        dlMbps: 0,
        ulMbps: 0,
        latencyMs: 0,
        rsrpDbm: 0,
        sinrDb: 0,
        prbUtilPct: 0,
      };
      let n = 0;
      let up = 0;
      for (let t = h + hStep; t <= h + HOUR; t += hStep) {
        const s = net.sample(c.id, t);
        n++;
        // As the store's rollups hold it: a down cell's sample carries no users, volumes or KPIs.
        if (s.available === false) continue;
        up++;
        sums.activeUsers += s.activeUsers!;
        sums.trafficMbps += trafficMbps(s, 60) ?? 0;
        sums.dlMbps += s.dlMbps!;
        sums.ulMbps += s.ulMbps!;
        sums.latencyMs += s.latencyMs!;
        sums.rsrpDbm += s.rsrpDbm!;
        sums.sinrDb += s.sinrDb!;
        sums.prbUtilPct += s.prbUtilPct!;
      }
      const m: HourlyMean = { cell: c.id, hour: h, count: n };
      if (up > 0)
        Object.assign(m, {
          activeUsers: sums.activeUsers / up,
          trafficMbps: sums.trafficMbps / up,
          dlMbps: sums.dlMbps / up,
          ulMbps: sums.ulMbps / up,
          latencyMs: sums.latencyMs / up,
          rsrpDbm: sums.rsrpDbm / up,
          sinrDb: sums.sinrDb / up,
          prbUtilPct: sums.prbUtilPct / up,
        });
      history.push(m);
    }
  }

  const samples: Sample[] = [];
  const links: LinkSample[] = [];
  const step = o.stepMin * MIN;
  // As a collector polling every `step` stores them: the gauges of the last minute, the volumes of the
  // whole interval. (One minute's volumes labelled as five minutes' made every 5-minute sample's
  // traffic a fifth of its baseline, and the analysed weeks' traffic baselines a mix of both.)
  for (let t = from + step; t <= to; t += step) {
    const batch = net.intervalSamples(t, step);
    for (const s of batch.samples) samples.push(s);
    for (const l of batch.links) links.push(l);
  }
  const t1 = performance.now();
  const settings = o.settings ?? settingsWith({ timezone: tz });
  const { windows } = analyzeDetailed({ samples, links, inventory: CellInventory.of(net.cells), settings, history });
  const t2 = performance.now();

  const truth = net.groundTruth(from, to).incidents.filter((i) => i.start >= from && i.end <= to);
  const byCell = new Map<string, Window[]>();
  for (const w of windows) (byCell.get(w.cell) ?? byCell.set(w.cell, []).get(w.cell)!).push(w);
  const overlap = (w: Window, a: number, b: number) =>
    Math.max(0, Math.min(w.end ?? to, b + SLACK) - Math.max(w.start, a - SLACK));
  const byKind: Record<string, KindScore> = {};
  const missed: IncidentTruth[] = [];
  const wrongCause: { incident: IncidentTruth; cause: Cause }[] = [];
  let affected = 0;
  let found = 0;
  let right = 0;
  const unaffected = { incidents: 0, found: 0 };
  for (const inc of truth) {
    const candidates = (cells: string[]) =>
      cells.flatMap((c) => byCell.get(c) ?? []).filter((w) => overlap(w, inc.start, inc.end) > 0);
    if (inc.affectedCells.length === 0) {
      unaffected.incidents++;
      if (candidates(inc.cells).length > 0) unaffected.found++;
      continue;
    }
    const k = (byKind[inc.kind] ??= { incidents: 0, found: 0, rightCause: 0 });
    k.incidents++;
    affected++;
    const ws = candidates(inc.affectedCells);
    if (ws.length === 0) {
      missed.push(inc);
      continue;
    }
    k.found++;
    found++;
    const best = ws.sort((a, b) => overlap(b, inc.start, inc.end) - overlap(a, inc.start, inc.end))[0]!;
    if (best.cause === KIND_CAUSE[inc.kind]) {
      k.rightCause++;
      right++;
    } else wrongCause.push({ incident: inc, cause: best.cause });
  }
  let incidentWindows = 0;
  let loadWindows = 0;
  const strayWindows: Window[] = [];
  for (const w of windows) {
    if (truth.some((i) => i.cells.includes(w.cell) && overlap(w, i.start, i.end) > 0)) {
      incidentWindows++;
      continue;
    }
    let load = false;
    for (let t = Math.ceil(w.start / MIN) * MIN + MIN; t <= (w.end ?? to) && !load; t += MIN)
      if (!isGood(net.cellState(w.cell, t))) load = true;
    if (load) loadWindows++;
    else strayWindows.push(w);
  }
  const total = windows.length;
  return {
    recall: affected ? found / affected : 1,
    causeAccuracy: found ? right / found : 1,
    precision: total ? incidentWindows / total : 1,
    precisionWithLoad: total ? (incidentWindows + loadWindows) / total : 1,
    windows: total,
    incidentWindows,
    loadWindows,
    strayWindows,
    byKind,
    unaffected,
    missed,
    wrongCause,
    samples: samples.length,
    seconds: { simulate: (t1 - t0) / 1000, analyze: (t2 - t1) / 1000 },
  };
}

/** The murmur3 finaliser: every input bit flips about half of the output bits. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Sleeping cells at busy times of day (a sleeping cell at 4 a.m. has no users to lose). */
function injectSleeping(net: SimNetwork, seed: number, n: number, from: number, to: number): void {
  const days = Math.max(1, Math.floor((to - from) / DAY));
  for (let k = 0; k < n; k++) {
    // A full avalanche per input: a plain xor of products left k in the low bits only, and every
    // "different" sleeping cell was the same cell at the same minute.
    const h = (x: number) => mix32(mix32(mix32(seed + 1) ^ (k + 1)) ^ x) / 2 ** 32;
    const site = net.sites[Math.floor(h(1) * net.sites.length)]!;
    const cell = site.cells[Math.floor(h(2) * site.cells.length)]!;
    const day = Math.min(days - 1, Math.floor(h(3) * days));
    const start = from + day * DAY + Math.round((10 + h(4) * 9) * 60) * MIN;
    const dur = Math.round(60 + h(5) * 180) * MIN;
    net.addIncident({
      kind: 'sleeping',
      site: site.id,
      cells: [cell],
      start,
      end: start + dur,
      severity: Math.round(h(6) * 100) / 100,
    });
  }
}
