/**
 * Complaints and the ground truth behind them. An incident's complaints follow from the user-minutes
 * of bad experience it caused (measured with the KPI model, minute by minute); noise — network
 * complaints with no incident behind them, and the other categories — arrives per clock hour. Both are
 * drawn from hashes of (seed, incident id | hour, k), so any window can be answered on its own.
 */
import type { ComplaintCategory, ComplaintChannel, EpochMs } from '../model/index.js';
import type { ComplaintTruth, Incident, IncidentKind, IncidentTruth, SimComplaint } from './index.js';
import { isGood } from './index.js';
import type { SiteState } from './kpi.js';
import { MINUTE_MS } from './kpi.js';
import type { LocalTime } from './load.js';
import { STREAM, hashString, normal, pickWeighted, poisson, unit } from './seeded.js';
import { shiftKm, type Topology } from './topology.js';

const HOUR_MS = 3_600_000;
/** Complaint delays: from a minute to two days. */
export const MIN_DELAY_MS = MINUTE_MS;
export const MAX_DELAY_MS = 48 * HOUR_MS;

/**
 * Expected complaints per user-minute of bad experience. With a typical active spell of ~5 minutes
 * this is ~0.75% of the distinct users affected.
 */
const COMPLAINTS_PER_BAD_USER_MINUTE = 0.0015;
/** An outright outage annoys more than a slow connection. */
const KIND_WEIGHT: Record<IncidentKind, number> = {
  outage: 1.5,
  backhaul: 1.2,
  coverage: 1,
  interference: 1,
  congestion: 0.5,
  sleeping: 1,
};
/** Background rates per site and day: network complaints with no incident, and other categories. */
const NOISE_NETWORK_PER_SITE_DAY = 0.065;
const OTHER_PER_SITE_DAY = 0.12;
/** When people get in touch, by local hour (mean 1). */
const CONTACT_HOURS = normalise([
  0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.3, 1.6, 1.7, 1.6, 1.4, 1.5, 1.5, 1.5, 1.4, 1.3, 1.3, 1.3, 1.3, 1.1, 0.8,
  0.4,
]);

const CHANNELS: [ComplaintChannel, number][] = [
  ['hotline', 0.4],
  ['app', 0.3],
  ['online', 0.2],
  ['social', 0.1],
];
const OTHER_CATEGORIES: [ComplaintCategory, number][] = [
  ['billing', 0.5],
  ['efficiency', 0.3],
  ['attitude', 0.2],
];
const TEXT: Record<IncidentKind | 'noise' | Exclude<ComplaintCategory, 'network'>, string[]> = {
  outage: ['No signal at all since this morning', 'No service, phone shows no bars', 'Cannot make calls or use data'],
  backhaul: ['Data extremely slow, pages time out', 'Full signal but nothing loads', 'Apps keep saying no connection'],
  coverage: [
    'Weak signal indoors, calls drop',
    'Signal keeps disappearing at home',
    'One bar only where it used to be fine',
  ],
  interference: [
    'Full bars but data barely works',
    'Calls break up and data stalls',
    'Signal looks fine but nothing works',
  ],
  congestion: ['Internet very slow in the evening', 'Videos keep buffering', 'Mobile data crawls at busy times'],
  sleeping: [
    'Full bars but cannot connect at all',
    'No data since yesterday, others nearby have it',
    'Phone says connected but nothing works',
  ],
  noise: ['Mobile data slow', 'Poor network quality in my area', 'Calls sometimes drop'],
  billing: ['Charged twice for my data pack', 'Bill higher than my plan', 'Refund not received'],
  efficiency: ['Still waiting for a reply to my last complaint', 'Ticket closed without a fix', 'Nobody called back'],
  attitude: ['Agent was rude on the phone', 'Shop staff refused to help', 'Was hung up on'],
};

function normalise(xs: number[]): number[] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.map((x) => x / mean);
}

interface Generated {
  complaint: SimComplaint;
  truth: ComplaintTruth;
}

export interface Impact {
  truth: Omit<IncidentTruth, keyof Incident>;
  complaints: Generated[];
}

export class ComplaintBook {
  private readonly impacts = new Map<string, Impact>();
  private readonly hours = new Map<number, Generated[]>();
  /** Cumulative peak users, to place noise where people are. */
  private readonly userCdf: Float64Array;

  constructor(
    private readonly seed: number,
    private readonly start: EpochMs,
    private readonly topo: Topology,
    private readonly local: LocalTime,
    private readonly siteIndex: ReadonlyMap<string, number>,
    private readonly siteState: (siteIdx: number, t: EpochMs) => SiteState,
  ) {
    let acc = 0;
    this.userCdf = Float64Array.from(topo.models, (m) => (acc += m.peakUsers));
  }

  /**
   * Incidents changed: everything measured from the KPI model may differ now — incident impacts, and
   * the background complaints' ground truth (`badAtIssue` reads the site's state at issue time).
   */
  invalidate(): void {
    this.impacts.clear();
    this.hours.clear();
  }

  /** What the incident did (over its whole duration) and the complaints it caused. Memoised. */
  impact(inc: Incident): Impact {
    let impact = this.impacts.get(inc.id);
    if (impact) return impact;
    const siteIdx = this.siteIndex.get(inc.site)!;
    const siteCells = this.topo.siteCells[siteIdx]!;
    const slots = inc.cells.map((c) => siteCells.findIndex((ci) => this.topo.models[ci]!.cell.id === c));
    // Minute intervals [t − 1 min, t) overlapping [start, end).
    const first = Math.floor(inc.start / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    const last = Math.ceil(inc.end / MINUTE_MS) * MINUTE_MS;
    const weights: number[] = [];
    const keys: [EpochMs, number][] = [];
    const affected = new Set<number>();
    let userMinutes = 0;
    let badCellMinutes = 0;
    for (let t = first; t <= last; t += MINUTE_MS) {
      const state = this.siteState(siteIdx, t);
      slots.forEach((slot, j) => {
        const cs = state.cells[slot]!;
        // A sleeping cell serves the few users who attach well: the ones it lost are the affected.
        const lost = inc.kind === 'sleeping' ? state.baselineUsers[slot]! - cs.activeUsers : 0;
        if (isGood(cs) && !(lost > 0)) return;
        const users = lost > 0 ? lost : cs.available ? cs.activeUsers : state.baselineUsers[slot]!;
        badCellMinutes++;
        affected.add(j);
        userMinutes += users;
        weights.push(users);
        keys.push([t, j]);
      });
    }
    const h = hashString(inc.id);
    const lambda = userMinutes * COMPLAINTS_PER_BAD_USER_MINUTE * KIND_WEIGHT[inc.kind] * (0.6 + 0.6 * inc.severity);
    const count = poisson(lambda, unit(this.seed, STREAM.complaintCount, h));
    const cdf: number[] = [];
    let acc = 0;
    for (const w of weights) cdf.push((acc += w));
    const complaints: Generated[] = [];
    for (let k = 0; k < count && acc > 0; k++) {
      const u = (field: number) => unit(this.seed, STREAM.complaint, h, k, field);
      const at = bisect(cdf, u(0) * acc);
      const [t, j] = keys[at]!;
      const issue = Math.max(inc.start, t - MINUTE_MS) + Math.floor(u(1) * MINUTE_MS);
      const cellIdx = siteCells[slots[j]!]!;
      complaints.push(
        this.make(
          `SIM-${inc.id}-${k + 1}`,
          inc.id,
          'network',
          cellIdx,
          issue,
          TEXT[inc.kind][Math.floor(u(2) * TEXT[inc.kind].length)]!,
          (f) => unit(this.seed, STREAM.complaint, h, k, 10 + f),
          (f) => normal(this.seed, STREAM.complaint, h, k, 10 + f),
        ),
      );
    }
    impact = {
      truth: {
        affectedCells: [...affected].sort((a, b) => a - b).map((j) => inc.cells[j]!),
        affectedUserMinutes: Math.round(userMinutes * 100) / 100,
        badCellMinutes,
        complaints: complaints.length,
      },
      complaints,
    };
    this.impacts.set(inc.id, impact);
    return impact;
  }

  /** Noise for one clock hour: network complaints without a cause, and the other categories. */
  private hour(hourIdx: number): Generated[] {
    let list = this.hours.get(hourIdx);
    if (list) return list;
    list = [];
    const t0 = hourIdx * HOUR_MS;
    if (t0 >= this.start) {
      const w = CONTACT_HOURS[this.local.hour(t0)]!;
      const sites = this.topo.sites.length;
      const nNet = poisson(
        (NOISE_NETWORK_PER_SITE_DAY * sites * w) / 24,
        unit(this.seed, STREAM.noiseCount, hourIdx, 0),
      );
      const nOther = poisson((OTHER_PER_SITE_DAY * sites * w) / 24, unit(this.seed, STREAM.noiseCount, hourIdx, 1));
      const total = this.userCdf[this.userCdf.length - 1]!;
      for (let k = 0; k < nNet + nOther; k++) {
        const u = (field: number) => unit(this.seed, STREAM.noise, hourIdx, k, field);
        const z = (field: number) => normal(this.seed, STREAM.noise, hourIdx, k, field);
        const cellIdx = Math.min(this.userCdf.length - 1, bisect(this.userCdf, u(0) * total));
        const receivedAt = t0 + Math.floor(u(1) * 3600) * 1000;
        const category: ComplaintCategory = k < nNet ? 'network' : pickWeighted(OTHER_CATEGORIES, u(2));
        const texts = category === 'network' ? TEXT.noise : TEXT[category];
        const text = texts[Math.floor(u(3) * texts.length)]!;
        const issue = receivedAt - delayMs(z(5), u(4));
        list.push(
          this.make(
            `SIM-H${hourIdx}-${k + 1}`,
            null,
            category,
            cellIdx,
            issue,
            text,
            (f) => u(10 + f),
            (f) => z(10 + f),
            receivedAt,
          ),
        );
      }
      list.sort(
        (a, b) => a.complaint.receivedAt - b.complaint.receivedAt || (a.complaint.id < b.complaint.id ? -1 : 1),
      );
    }
    if (this.hours.size > 20_000) this.hours.clear();
    this.hours.set(hourIdx, list);
    return list;
  }

  private make(
    id: string,
    cause: string | null,
    category: ComplaintCategory,
    cellIdx: number,
    issue: EpochMs,
    text: string,
    u: (f: number) => number,
    z: (f: number) => number,
    receivedAtGiven?: EpochMs,
  ): Generated {
    const m = this.topo.models[cellIdx]!;
    let receivedAt = receivedAtGiven ?? issue + delayMs(z(0), u(0));
    if (receivedAtGiven === undefined) {
      // Most people who notice at night get in touch in the morning.
      const h = this.local.hour(receivedAt);
      if (h < 7 && u(1) < 0.7) {
        const moved =
          receivedAt +
          (7 - h) * HOUR_MS +
          Math.floor(u(2) * 3 * 3600) * 1000 -
          (this.local.minuteOfWeek(receivedAt) % 60) * MINUTE_MS;
        if (moved - issue <= MAX_DELAY_MS) receivedAt = moved;
      }
      receivedAt = Math.floor(receivedAt / 1000) * 1000;
      if (receivedAt - issue < MIN_DELAY_MS) receivedAt = Math.ceil((issue + MIN_DELAY_MS) / 1000) * 1000;
    }
    const channel = pickWeighted(CHANNELS, u(3));
    const c: SimComplaint = { id, receivedAt, channel, category, cause };
    // About half say when it happened, roughly (rounded, and vaguer the longer ago it was).
    if (category === 'network' && u(4) < 0.5) {
      const vague = 15 * MINUTE_MS * (1 + (receivedAt - issue) / (24 * HOUR_MS));
      c.issueAt = Math.min(receivedAt, Math.round((issue + z(1) * vague) / (5 * MINUTE_MS)) * 5 * MINUTE_MS);
    }
    // Located by cell, by a (geocoded, jittered) address, or both.
    const where = u(5);
    if (where < 0.7) c.cell = m.cell.id;
    if (where >= 0.4 || category !== 'network') {
      const km = 0.1 + 0.5 * u(6);
      const bearing = ((m.azimuthDeg + (u(7) - 0.5) * 80) * Math.PI) / 180;
      const dy = km * Math.cos(bearing) + 0.15 * z(2);
      const dx = km * Math.sin(bearing) + 0.15 * z(3);
      const [lat, lon] = shiftKm(m.cell.lat, m.cell.lon, dy, dx);
      c.lat = Math.round(lat * 1e5) / 1e5;
      c.lon = Math.round(lon * 1e5) / 1e5;
      if (category !== 'network' && where < 0.7) delete c.cell;
    }
    c.text = text;
    const state = this.siteState(m.siteIdx, Math.floor(issue / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    const badAtIssue = !isGood(state.cells[this.topo.siteCells[m.siteIdx]!.indexOf(cellIdx)]!);
    return { complaint: c, truth: { id, cause, category, cell: m.cell.id, issueAt: issue, receivedAt, badAtIssue } };
  }

  /**
   * Complaints received in [from, to): from incidents that can still be heard from (every complaint
   * arrives within 48 h of a moment inside its incident, so those overlapping [from − 48 h, to)),
   * plus the hours' noise.
   */
  collect(from: EpochMs, to: EpochMs, overlapping: (from: EpochMs, to: EpochMs) => Incident[]): Generated[] {
    const out: Generated[] = [];
    for (const inc of overlapping(from - MAX_DELAY_MS, to)) {
      for (const g of this.impact(inc).complaints)
        if (g.complaint.receivedAt >= from && g.complaint.receivedAt < to) out.push(g);
    }
    for (let h = Math.floor(from / HOUR_MS); h * HOUR_MS < to; h++)
      for (const g of this.hour(h)) if (g.complaint.receivedAt >= from && g.complaint.receivedAt < to) out.push(g);
    return out.sort(
      (a, b) =>
        a.complaint.receivedAt - b.complaint.receivedAt ||
        (a.complaint.id < b.complaint.id ? -1 : a.complaint.id > b.complaint.id ? 1 : 0),
    );
  }
}

/**
 * Heavy-tailed delay: log-normal around 3 h. The few draws outside [1 min, 48 h] are redrawn
 * uniformly inside it rather than clamped, so no spike sits on either bound.
 */
function delayMs(z: number, u: number): number {
  let minutes = Math.exp(Math.log(180) + 1.6 * z);
  if (minutes < 1) minutes = 1 + 14 * u;
  else if (minutes > 2880) minutes = 60 + 2820 * u;
  return Math.round(minutes * MINUTE_MS);
}

/** Index of the first cumulative weight above x. */
function bisect(cdf: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
