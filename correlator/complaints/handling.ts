/**
 * Complaint-handling targets: first response within 72 h (target 100%), resolution (90%), customer
 * satisfaction (85%), and the share of network complaints the network explains. Pure: the complaints
 * with their lifecycle events and `now` are arguments.
 *
 * The rules:
 * - A complaint counts for the period its `receivedAt` falls in, [from, to). Events after `now` are
 *   not seen (event time: a replay up to `now` gives the figures of `now`).
 * - First response: the first `responded` — or `resolved`, which cannot happen without contacting the
 *   customer — within 72 h of receivedAt is met; later, or none by receivedAt + 72 h ≤ now, is missed.
 *   A complaint still unanswered and younger than 72 h is *pending*: not counted either way, so a
 *   fresh complaint never drags the rate down before it could have been missed.
 * - Resolution: resolved by `now` is met; open past its due time (default 7 days after receivedAt) is
 *   missed; open and younger is pending, as above.
 * - Satisfaction: complaints with feedback; the latest feedback counts; share satisfied.
 * - Explained by the network: network complaints whose correlation is known; share explained.
 * - Groups by category, channel or region ("unknown" when the complaint has none). The weakest groups
 *   are those under a target with at least `minGroupSize` counted complaints, largest shortfall first.
 * - SLA risk: a complaint without a first response by `now` whose 72 h end within `warnBefore`
 *   (default 12 h) is `at-risk`; past it, `overdue`.
 */
import type { Complaint, EpochMs } from '../../model/index.js';
import { DAY_MS, HOUR_MS } from './scoring.js';

export type HandlingEvent =
  | { kind: 'responded'; at: EpochMs }
  | { kind: 'resolved'; at: EpochMs }
  | { kind: 'feedback'; at: EpochMs; satisfied: boolean; score?: number };

export interface HandledComplaint {
  complaint: Complaint;
  events: readonly HandlingEvent[];
  /** The region of the complaint's place, when the caller knows it (inventory). */
  region?: string;
  /** Network complaints: whether the network explains it (from the correlator). */
  explained?: boolean;
}

export interface HandlingTargets {
  firstResponse: number;
  resolution: number;
  satisfaction: number;
}

export const DEFAULT_HANDLING_TARGETS: HandlingTargets = { firstResponse: 1, resolution: 0.9, satisfaction: 0.85 };

export type HandlingGroupBy = 'category' | 'channel' | 'region';

export interface HandlingOptions {
  from: EpochMs;
  to: EpochMs;
  now: EpochMs;
  by?: HandlingGroupBy;
  responseWithinMs?: number;
  resolutionDueMs?: number;
  targets?: Partial<HandlingTargets>;
  minGroupSize?: number;
}

export interface Rate {
  met: number;
  /** met + missed. */
  counted: number;
  /** Not yet decided (see the rules). */
  pending: number;
  /** met / counted; null when nothing is counted. */
  share: number | null;
  target: number;
  onTarget: boolean | null;
}

export interface HandlingFigures {
  complaints: number;
  firstResponse: Rate;
  resolution: Rate;
  satisfaction: Rate;
  explainedByNetwork: { network: number; known: number; explained: number; share: number | null };
}

export type HandlingMetric = 'firstResponse' | 'resolution' | 'satisfaction';

export interface WeakGroup {
  metric: HandlingMetric;
  group: string;
  share: number;
  target: number;
  counted: number;
}

export interface HandlingStats extends HandlingFigures {
  from: EpochMs;
  to: EpochMs;
  by?: HandlingGroupBy;
  groups: ({ group: string } & HandlingFigures)[];
  weakest: WeakGroup[];
}

const RESPONSE_WITHIN = 72 * HOUR_MS;
const RESOLUTION_DUE = 7 * DAY_MS;

type Verdict = 'met' | 'missed' | 'pending';

/** One complaint's first-response verdict as of `now`. */
export function firstResponseVerdict(h: HandledComplaint, now: EpochMs, within = RESPONSE_WITHIN): Verdict {
  const due = h.complaint.receivedAt + within;
  let first = Infinity;
  for (const e of h.events)
    if ((e.kind === 'responded' || e.kind === 'resolved') && e.at <= now) first = Math.min(first, e.at);
  if (first <= due) return 'met';
  if (first < Infinity || now >= due) return 'missed';
  return 'pending';
}

export function resolutionVerdict(h: HandledComplaint, now: EpochMs, due = RESOLUTION_DUE): Verdict {
  if (h.events.some((e) => e.kind === 'resolved' && e.at <= now)) return 'met';
  return now >= h.complaint.receivedAt + due ? 'missed' : 'pending';
}

/** The latest feedback by `now` (ties: the later in the list), or undefined. */
export function latestFeedback(
  h: HandledComplaint,
  now: EpochMs,
): Extract<HandlingEvent, { kind: 'feedback' }> | undefined {
  let best: Extract<HandlingEvent, { kind: 'feedback' }> | undefined;
  for (const e of h.events) if (e.kind === 'feedback' && e.at <= now && (!best || e.at >= best.at)) best = e;
  return best;
}

function rate(target: number): Rate {
  return { met: 0, counted: 0, pending: 0, share: null, target, onTarget: null };
}

function tally(r: Rate, v: Verdict): void {
  if (v === 'pending') r.pending++;
  else {
    r.counted++;
    if (v === 'met') r.met++;
  }
}

function close(r: Rate): Rate {
  if (r.counted > 0) {
    r.share = Math.round((r.met / r.counted) * 10000) / 10000;
    r.onTarget = r.share >= r.target;
  }
  return r;
}

function figures(
  items: readonly HandledComplaint[],
  o: Required<Omit<HandlingOptions, 'by'>> & { targets: HandlingTargets },
): HandlingFigures {
  const f: HandlingFigures = {
    complaints: items.length,
    firstResponse: rate(o.targets.firstResponse),
    resolution: rate(o.targets.resolution),
    satisfaction: rate(o.targets.satisfaction),
    explainedByNetwork: { network: 0, known: 0, explained: 0, share: null },
  };
  for (const h of items) {
    tally(f.firstResponse, firstResponseVerdict(h, o.now, o.responseWithinMs));
    tally(f.resolution, resolutionVerdict(h, o.now, o.resolutionDueMs));
    const fb = latestFeedback(h, o.now);
    if (fb) tally(f.satisfaction, fb.satisfied ? 'met' : 'missed');
    if (h.complaint.category === 'network') {
      f.explainedByNetwork.network++;
      if (h.explained !== undefined) {
        f.explainedByNetwork.known++;
        if (h.explained) f.explainedByNetwork.explained++;
      }
    }
  }
  close(f.firstResponse);
  close(f.resolution);
  close(f.satisfaction);
  const e = f.explainedByNetwork;
  if (e.known > 0) e.share = Math.round((e.explained / e.known) * 10000) / 10000;
  return f;
}

export function groupOf(h: HandledComplaint, by: HandlingGroupBy): string {
  if (by === 'region') return h.region ?? 'unknown';
  return h.complaint[by] ?? 'unknown';
}

export function handlingStats(all: readonly HandledComplaint[], opts: HandlingOptions): HandlingStats {
  const o = {
    from: opts.from,
    to: opts.to,
    now: opts.now,
    responseWithinMs: opts.responseWithinMs ?? RESPONSE_WITHIN,
    resolutionDueMs: opts.resolutionDueMs ?? RESOLUTION_DUE,
    targets: { ...DEFAULT_HANDLING_TARGETS, ...opts.targets },
    minGroupSize: opts.minGroupSize ?? 5,
  };
  const items = all.filter(
    (h) => h.complaint.receivedAt >= o.from && h.complaint.receivedAt < o.to && h.complaint.receivedAt <= o.now,
  );
  const stats: HandlingStats = { from: o.from, to: o.to, ...figures(items, o), groups: [], weakest: [] };
  if (!opts.by) return stats;
  stats.by = opts.by;
  const groups = new Map<string, HandledComplaint[]>();
  for (const h of items) {
    const g = groupOf(h, opts.by);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(h);
  }
  stats.groups = [...groups]
    .map(([group, list]) => ({ group, ...figures(list, o) }))
    .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  const metrics: HandlingMetric[] = ['firstResponse', 'resolution', 'satisfaction'];
  for (const g of stats.groups) {
    for (const m of metrics) {
      const r = g[m];
      if (r.share !== null && r.share < r.target && r.counted >= o.minGroupSize)
        stats.weakest.push({ metric: m, group: g.group, share: r.share, target: r.target, counted: r.counted });
    }
  }
  stats.weakest.sort(
    (a, b) => b.target - b.share - (a.target - a.share) || b.counted - a.counted || (a.group < b.group ? -1 : 1),
  );
  return stats;
}

export interface SlaRisk {
  complaint: string;
  receivedAt: EpochMs;
  dueAt: EpochMs;
  /** Time left until the 72 h run out (negative once overdue). */
  remainingMs: number;
  state: 'at-risk' | 'overdue';
  channel: Complaint['channel'];
  category: Complaint['category'];
  region?: string;
}

export function slaAtRisk(
  all: readonly HandledComplaint[],
  now: EpochMs,
  opts: { warnBeforeMs?: number; responseWithinMs?: number; overdueForMs?: number } = {},
): SlaRisk[] {
  const within = opts.responseWithinMs ?? RESPONSE_WITHIN;
  const warn = opts.warnBeforeMs ?? 12 * HOUR_MS;
  // Overdue complaints stay listed for a while (the alert keeps firing until answered), not forever.
  const overdueFor = opts.overdueForMs ?? 7 * DAY_MS;
  const out: SlaRisk[] = [];
  for (const h of all) {
    const c = h.complaint;
    if (c.receivedAt > now) continue;
    const dueAt = c.receivedAt + within;
    if (now < dueAt - warn || now > dueAt + overdueFor) continue;
    if (h.events.some((e) => (e.kind === 'responded' || e.kind === 'resolved') && e.at <= now)) continue;
    const r: SlaRisk = {
      complaint: c.id,
      receivedAt: c.receivedAt,
      dueAt,
      remainingMs: dueAt - now,
      state: now >= dueAt ? 'overdue' : 'at-risk',
      channel: c.channel,
      category: c.category,
    };
    if (h.region !== undefined) r.region = h.region;
    out.push(r);
  }
  return out.sort((a, b) => a.dueAt - b.dueAt || (a.complaint < b.complaint ? -1 : 1));
}
