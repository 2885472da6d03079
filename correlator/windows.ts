/**
 * Degradation windows: a hysteresis over one (cell, stream)'s intervals, in time order.
 *
 * The rules:
 * - idle → open after `openAfter` consecutive bad intervals; open → closed after `closeAfter`
 *   consecutive good ones; unknown intervals neither open nor close a window, nor break a run;
 *   a run of bad intervals is broken by a good one, or by a gap longer than `mergeGap` (a collector
 *   silent for an hour does not make two bad minutes "consecutive");
 * - `start` = start of the first bad interval, `end` = end of the last bad one (set when closed);
 * - a window opening within `mergeGap` of the previous one's end on the same (cell, stream) re-opens
 *   that window: same id, the good intervals between count as its good intervals;
 * - id = `W-<cell>-<c|p>-<start in base36>`: the same samples give the same id in any order;
 * - severity: a window in which users had a bad experience (bad experience, down, or users who
 *   could not attach) is 0.5 + 0.5 × badShare × depth — badShare = bad user-seconds over the
 *   user-seconds of known experience in the window, depth = their user-weighted shortfall (1 down);
 *   a window of KPI drift only stays below 0.5: 0.1 + 0.3 × its strongest drift (0..1);
 * - usersAffected = the most users with a bad experience in one interval (for drift only: the most
 *   users in one bad interval); userMinutes = user-minutes of bad experience.
 * The machine is a plain value (cloned for recomputation); `stepWindow` returns the windows it touched.
 */
import type { Cause, KpiEvidence, SampleNumericField, SampleStream, Window, WindowEvidence } from '../model/index.js';
import {
  CAUSE_INDEX,
  CAUSE_PRIORITY,
  REMEDIATION,
  intervalCause,
  dominantCause,
  type LinkTimeline,
  type LinkTrouble,
} from './causes.js';
import type { EvidenceKpi, Interval } from './interval.js';
import type { DetectionRules } from './settings.js';

interface EvidenceAcc {
  worst: number;
  threshold?: number;
  baseline?: number;
  z?: number;
  intervals: number;
}

/** A window being built: counts and sums over its intervals, plus each bad interval for the cause. */
export interface WindowAcc {
  id: string;
  cell: string;
  stream: SampleStream;
  start: number;
  lastBad: number;
  end?: number;
  bad: number;
  good: number;
  unknown: number;
  /** Good/unknown intervals after the last bad one: inside the window only if another bad follows. */
  tailGood: number;
  tailUnknown: number;
  tailKnown: number;
  knownWeight: number;
  badWeight: number;
  depthWeight: number;
  drift: number;
  maxBadUsers: number;
  maxUsers: number;
  worst: Partial<Record<SampleNumericField, number>>;
  evidence: Partial<Record<EvidenceKpi, EvidenceAcc>>;
  /** Per bad interval: start, end, flags (1 transport, 2 available), local cause index, cause index. */
  ivStart: number[];
  ivEnd: number[];
  ivFlags: number[];
  ivLocal: number[];
  ivCause: number[];
  causeCounts: number[];
  link?: LinkTrouble;
}

export interface MachineState {
  /** Bad intervals in a row while no window is open. */
  pending: Interval[];
  open?: WindowAcc;
  goodRun: number;
  /** The last closed window while a re-opening may still merge into it. */
  lastClosed?: WindowAcc;
  /** Intervals since lastClosed closed (its closing run included): they join it if it re-opens. */
  idleGood: number;
  idleUnknown: number;
  idleKnown: number;
}

export function newMachine(): MachineState {
  return { pending: [], goodRun: 0, idleGood: 0, idleUnknown: 0, idleKnown: 0 };
}

function cloneAcc(a: WindowAcc): WindowAcc {
  const evidence: WindowAcc['evidence'] = {};
  for (const [k, v] of Object.entries(a.evidence)) evidence[k as EvidenceKpi] = { ...v };
  return {
    ...a,
    worst: { ...a.worst },
    evidence,
    ivStart: a.ivStart.slice(),
    ivEnd: a.ivEnd.slice(),
    ivFlags: a.ivFlags.slice(),
    ivLocal: a.ivLocal.slice(),
    ivCause: a.ivCause.slice(),
    causeCounts: a.causeCounts.slice(),
  };
}

export function cloneMachine(m: MachineState): MachineState {
  const out: MachineState = { ...m, pending: m.pending.slice() };
  if (m.open) out.open = cloneAcc(m.open);
  if (m.lastClosed) out.lastClosed = m.lastClosed === m.open ? out.open : cloneAcc(m.lastClosed);
  return out;
}

export function windowId(cell: string, stream: SampleStream, start: number): string {
  return `W-${cell}-${stream === 'probes' ? 'p' : 'c'}-${start.toString(36)}`;
}

export interface StepContext {
  rules: DetectionRules;
  cell: string;
  stream: SampleStream;
  site: string | undefined;
  links: LinkTimeline;
}

/** Which way is worse for each KPI in `worst` and in the evidence. */
const HIGHER_IS_WORSE = new Set<string>(['latencyMs', 'prbUtilPct']);
const WORST_FIELDS: readonly SampleNumericField[] = [
  'dlMbps',
  'ulMbps',
  'latencyMs',
  'rsrpDbm',
  'rsrqDb',
  'sinrDb',
  'prbUtilPct',
  'activeUsers',
];

function openAcc(first: Interval, ctx: StepContext): WindowAcc {
  return {
    id: windowId(ctx.cell, ctx.stream, first.start),
    cell: ctx.cell,
    stream: ctx.stream,
    start: first.start,
    lastBad: first.ts,
    bad: 0,
    good: 0,
    unknown: 0,
    tailGood: 0,
    tailUnknown: 0,
    tailKnown: 0,
    knownWeight: 0,
    badWeight: 0,
    depthWeight: 0,
    drift: 0,
    maxBadUsers: 0,
    maxUsers: 0,
    worst: {},
    evidence: {},
    ivStart: [],
    ivEnd: [],
    ivFlags: [],
    ivLocal: [],
    ivCause: [],
    causeCounts: CAUSE_PRIORITY.map(() => 0),
  };
}

function addBad(acc: WindowAcc, iv: Interval, ctx: StepContext): void {
  acc.good += acc.tailGood;
  acc.unknown += acc.tailUnknown;
  acc.knownWeight += acc.tailKnown;
  acc.tailGood = acc.tailUnknown = acc.tailKnown = 0;
  acc.bad++;
  acc.lastBad = Math.max(acc.lastBad, iv.ts);
  acc.knownWeight += iv.knownWeight;
  const badW = iv.badUsers * iv.intervalS;
  acc.badWeight += badW;
  acc.depthWeight += badW * iv.depth;
  acc.drift = Math.max(acc.drift, iv.drift);
  acc.maxBadUsers = Math.max(acc.maxBadUsers, iv.badUsers);
  acc.maxUsers = Math.max(acc.maxUsers, iv.users);
  const s = iv.sample;
  if (iv.available)
    for (const f of WORST_FIELDS) {
      const v = s[f];
      if (v === undefined) continue;
      const w = acc.worst[f];
      if (w === undefined || (HIGHER_IS_WORSE.has(f) ? v > w : v < w)) acc.worst[f] = v;
    }
  for (const b of iv.breaches) {
    let e = acc.evidence[b.kpi];
    if (!e) acc.evidence[b.kpi] = e = { worst: b.value, intervals: 0 };
    e.intervals++;
    if (HIGHER_IS_WORSE.has(b.kpi) ? b.value > e.worst : b.value < e.worst) e.worst = b.value;
    if (b.threshold !== undefined) e.threshold = b.threshold;
    if (b.z !== undefined && (e.z === undefined || Math.abs(b.z) > Math.abs(e.z))) {
      e.z = b.z;
      e.baseline = b.baseline;
    }
  }
  const flags = (iv.transport ? 1 : 0) | (iv.available ? 2 : 0);
  const local = CAUSE_INDEX[iv.localCause];
  const trouble = ctx.links.at(ctx.site, iv.start, iv.ts);
  const cause = CAUSE_INDEX[intervalCause(iv, trouble)];
  if (cause === CAUSE_INDEX.backhaul && trouble) acc.link = worseLink(acc.link, trouble);
  acc.ivStart.push(iv.start);
  acc.ivEnd.push(iv.ts);
  acc.ivFlags.push(flags);
  acc.ivLocal.push(local);
  acc.ivCause.push(cause);
  acc.causeCounts[cause]!++;
}

function worseLink(a: LinkTrouble | undefined, b: LinkTrouble): LinkTrouble {
  if (!a) return b;
  if ((a.operUp === false) !== (b.operUp === false)) return a.operUp === false ? a : b;
  return (b.utilPct ?? 0) > (a.utilPct ?? 0) ? b : a;
}

/** Re-judges every bad interval's cause against the links known now; true when anything changed. */
export function recountCauses(acc: WindowAcc, site: string | undefined, links: LinkTimeline): boolean {
  let changed = false;
  let link: LinkTrouble | undefined;
  acc.causeCounts.fill(0);
  for (let i = 0; i < acc.ivStart.length; i++) {
    const flags = acc.ivFlags[i]!;
    const trouble = links.at(site, acc.ivStart[i]!, acc.ivEnd[i]!);
    const cause =
      CAUSE_INDEX[
        intervalCause(
          { localCause: CAUSE_PRIORITY[acc.ivLocal[i]!]!, transport: (flags & 1) !== 0, available: (flags & 2) !== 0 },
          trouble,
        )
      ];
    if (cause === CAUSE_INDEX.backhaul && trouble) link = worseLink(link, trouble);
    if (cause !== acc.ivCause[i]) changed = true;
    acc.ivCause[i] = cause;
    acc.causeCounts[cause]!++;
  }
  if (link?.link !== acc.link?.link || link?.utilPct !== acc.link?.utilPct || link?.operUp !== acc.link?.operUp)
    changed = true;
  if (link) acc.link = link;
  else delete acc.link;
  return changed;
}

/**
 * Advances the machine by one interval (in time order). Returns the windows opened, extended,
 * re-opened or closed by it.
 */
/** What most steps touch (shared: a step per sample must not allocate for nothing). */
const NONE: readonly WindowAcc[] = Object.freeze([]);

export function stepWindow(m: MachineState, iv: Interval, ctx: StepContext): readonly WindowAcc[] {
  const r = ctx.rules;
  if (m.lastClosed && !m.open && iv.start - m.lastClosed.end! > r.mergeGapMs && m.pending.length === 0) {
    m.lastClosed = undefined;
  }
  if (m.open) {
    const acc = m.open;
    if (iv.verdict === 'bad') {
      m.goodRun = 0;
      addBad(acc, iv, ctx);
      return [acc];
    }
    if (iv.verdict === 'unknown') {
      acc.tailUnknown++;
      return NONE;
    }
    acc.tailGood++;
    acc.tailKnown += iv.knownWeight;
    if (++m.goodRun < r.closeAfter) return NONE;
    acc.end = acc.lastBad;
    m.idleGood = acc.tailGood;
    m.idleUnknown = acc.tailUnknown;
    m.idleKnown = acc.tailKnown;
    acc.tailGood = acc.tailUnknown = acc.tailKnown = 0;
    m.open = undefined;
    m.lastClosed = acc;
    m.goodRun = 0;
    return [acc];
  }
  if (iv.verdict === 'good') {
    m.pending.length = 0;
    m.idleGood++;
    m.idleKnown += iv.knownWeight;
    return NONE;
  }
  if (iv.verdict === 'unknown') {
    m.idleUnknown++;
    return NONE;
  }
  const prev = m.pending[m.pending.length - 1];
  if (prev && iv.start - prev.ts > r.mergeGapMs) m.pending.length = 0;
  m.pending.push(iv);
  if (m.pending.length < r.openAfter) return NONE;
  const first = m.pending[0]!;
  let acc: WindowAcc;
  if (m.lastClosed && first.start - m.lastClosed.end! <= r.mergeGapMs) {
    acc = m.lastClosed;
    delete acc.end;
    // What happened between the two stretches belongs to the window now; the bad intervals of the
    // pending run are not idle ones.
    acc.tailGood = m.idleGood;
    acc.tailUnknown = m.idleUnknown;
    acc.tailKnown = m.idleKnown;
  } else {
    acc = openAcc(first, ctx);
  }
  for (const p of m.pending) addBad(acc, p, ctx);
  m.pending.length = 0;
  m.open = acc;
  m.lastClosed = undefined;
  m.goodRun = 0;
  m.idleGood = m.idleUnknown = m.idleKnown = 0;
  return [acc];
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function windowCause(acc: WindowAcc): Cause {
  return dominantCause(acc.causeCounts);
}

export function windowSeverity(acc: WindowAcc): number {
  if (acc.badWeight > 0) {
    const share = acc.knownWeight > 0 ? Math.min(1, acc.badWeight / acc.knownWeight) : 1;
    const depth = acc.depthWeight / acc.badWeight;
    return round(0.5 + 0.5 * share * depth, 3);
  }
  return round(0.1 + 0.3 * acc.drift, 3);
}

/** The window as the rest of cellwatch sees it. */
export function toWindow(acc: WindowAcc, place: { site?: string; region?: string }): Window {
  const cause = windowCause(acc);
  const kpis: KpiEvidence[] = Object.entries(acc.evidence)
    .map(([kpi, e]) => {
      const k: KpiEvidence = { kpi: kpi as EvidenceKpi, worst: round(e.worst, 3), intervals: e.intervals };
      if (e.threshold !== undefined) k.threshold = e.threshold;
      if (e.baseline !== undefined) k.baseline = round(e.baseline, 3);
      if (e.z !== undefined) k.z = round(e.z, 2);
      return k;
    })
    .sort((a, b) => b.intervals - a.intervals || (a.kpi < b.kpi ? -1 : 1));
  const evidence: WindowEvidence = {
    kpis,
    badIntervals: acc.bad,
    goodIntervals: acc.good,
    unknownIntervals: acc.unknown,
  };
  if (acc.link && cause === 'backhaul') {
    const l: NonNullable<WindowEvidence['link']> = { link: acc.link.link };
    if (acc.link.operUp !== undefined) l.operUp = acc.link.operUp;
    if (acc.link.utilPct !== undefined) l.utilPct = round(acc.link.utilPct, 1);
    evidence.link = l;
  }
  const worst: Window['worst'] = {};
  for (const f of WORST_FIELDS) if (acc.worst[f] !== undefined) worst[f] = round(acc.worst[f], 3);
  const w: Window = {
    id: acc.id,
    cell: acc.cell,
    stream: acc.stream,
    start: acc.start,
    lastBad: acc.lastBad,
    cause,
    severity: windowSeverity(acc),
    usersAffected: round(acc.badWeight > 0 ? acc.maxBadUsers : acc.maxUsers, 1),
    userMinutes: round(acc.badWeight / 60, 1),
    worst,
    evidence,
    remediation: REMEDIATION[cause],
  };
  if (place.site !== undefined) w.site = place.site;
  if (place.region !== undefined) w.region = place.region;
  if (acc.end !== undefined) w.end = acc.end;
  return w;
}

/** What decides whether a window's change is news: cheap to take from a build or a window. */
export interface WindowGist {
  cause: Cause;
  severity: number;
  usersAffected: number;
  kpis: readonly string[];
  link: string | undefined;
}

export function accGist(acc: WindowAcc): WindowGist {
  const cause = windowCause(acc);
  return {
    cause,
    severity: windowSeverity(acc),
    usersAffected: round(acc.badWeight > 0 ? acc.maxBadUsers : acc.maxUsers, 1),
    kpis: Object.keys(acc.evidence),
    link: cause === 'backhaul' ? acc.link?.link : undefined,
  };
}

export function windowGist(w: Window): WindowGist {
  return {
    cause: w.cause,
    severity: w.severity,
    usersAffected: w.usersAffected,
    kpis: w.evidence.kpis.map((k) => k.kpi),
    link: w.evidence.link?.link,
  };
}

/**
 * Whether an open window changed enough to tell the alerts again: its cause, its severity by 0.1
 * (or across 0.5, where complaints start to match), its users by a quarter (and at least 2), or a
 * KPI newly in its evidence. Growing by one more bad minute is not news.
 */
export function materialChange(prev: WindowGist, next: WindowGist): string | undefined {
  if (prev.cause !== next.cause) return `cause ${prev.cause} → ${next.cause}`;
  if (Math.abs(prev.severity - next.severity) >= 0.1 || prev.severity < 0.5 !== next.severity < 0.5)
    return `severity ${prev.severity} → ${next.severity}`;
  const du = next.usersAffected - prev.usersAffected;
  if (Math.abs(du) >= 2 && Math.abs(du) >= 0.25 * Math.max(prev.usersAffected, 1))
    return `users ${prev.usersAffected} → ${next.usersAffected}`;
  const added = next.kpis.find((k) => !prev.kpis.includes(k));
  if (added) return `new evidence ${added}`;
  if (prev.link !== next.link) return 'link';
  return undefined;
}
