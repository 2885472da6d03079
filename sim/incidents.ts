/**
 * The incident book: a seeded schedule (a Poisson number of incidents per site and day, each drawn
 * from a hash of (seed, site, day, k) so any day is known without replaying the ones before it) plus
 * the incidents tests inject.
 */
import type { EpochMs } from '../model/index.js';
import type { Incident, IncidentKind } from './index.js';
import type { LocalTime } from './load.js';
import { MINUTE_MS } from './kpi.js';
import { STREAM, pickWeighted, poisson, unit } from './seeded.js';
import type { Topology } from './topology.js';

const DAY_MS = 86_400_000;
/** Longest scheduled incident: lookups only need the day before. */
export const MAX_AUTO_DURATION_MS = 6 * 3_600_000;
export const DEFAULT_INCIDENT_RATE = 0.06;

const KINDS: [IncidentKind, number][] = [
  ['outage', 0.2],
  ['coverage', 0.15],
  ['interference', 0.15],
  ['congestion', 0.3],
  ['backhaul', 0.2],
];
/** Kinds `addIncident` accepts: the scheduled ones plus those only tests inject (kept out of KINDS so the schedule stays as it was). */
const INJECTABLE: readonly IncidentKind[] = [...KINDS.map(([k]) => k), 'sleeping'];

export class IncidentBook {
  private readonly autoMemo = new Map<number, Incident[]>();
  private readonly manual: Incident[][];
  private readonly manualIds = new Set<string>();
  private manualCount = 0;
  /** Longest injected incident, so lookups know how far back to look. */
  private longestManualMs = 0;

  constructor(
    private readonly seed: number,
    private readonly start: EpochMs,
    private readonly rate: number,
    private readonly auto: boolean,
    private readonly topo: Topology,
    private readonly local: LocalTime,
  ) {
    this.manual = topo.sites.map(() => []);
  }

  /** The scheduled incidents of one site starting on day `d` after start (memoised, pure). */
  autoForSiteDay(siteIdx: number, d: number): Incident[] {
    if (!this.auto || d < 0) return [];
    const key = d * 8192 + siteIdx;
    let list = this.autoMemo.get(key);
    if (list) return list;
    list = [];
    const count = poisson(this.rate, unit(this.seed, STREAM.incidentCount, siteIdx, d));
    for (let k = 0; k < count; k++) list.push(this.draw(siteIdx, d, k));
    list.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
    if (this.autoMemo.size > 500_000) this.autoMemo.clear();
    this.autoMemo.set(key, list);
    return list;
  }

  private draw(siteIdx: number, d: number, k: number): Incident {
    const u = (field: number) => unit(this.seed, STREAM.incident, siteIdx, d, k, field);
    const site = this.topo.sites[siteIdx]!;
    const cellIdx = this.topo.siteCells[siteIdx]!;
    const models = cellIdx.map((i) => this.topo.models[i]!);
    const kind = pickWeighted(KINDS, u(0));
    const dayStart = this.start + d * DAY_MS;
    let start = dayStart + Math.floor(u(1) * 1440) * MINUTE_MS;
    if (kind === 'congestion') {
      // Crowds gather by day and in the evening, not at 4 a.m.
      for (let attempt = 0; attempt < 8; attempt++) {
        const h = this.local.hour(start);
        if (h >= 8 && h < 22) break;
        start = dayStart + Math.floor(u(10 + attempt) * 1440) * MINUTE_MS;
      }
    }
    const minMinutes = kind === 'congestion' ? 20 : 10;
    const minutes = Math.max(minMinutes, Math.round(Math.exp(Math.log(10) + u(2) * Math.log(36))));
    const severity = Math.round((0.3 + 0.7 * u(3)) * 100) / 100;
    const pickCell = () => models[Math.floor(u(4) * models.length)]!;
    const sectorOf = (sector: number) => models.filter((m) => m.sector === sector).map((m) => m.cell.id);
    let cells: string[];
    let linkDown: boolean | undefined;
    switch (kind) {
      case 'outage':
        cells = u(5) < 0.4 ? site.cells.slice() : [pickCell().cell.id];
        break;
      case 'coverage':
        cells = sectorOf(pickCell().sector);
        break;
      case 'congestion': {
        // A crowd in one sector swamps its LTE carriers; the NR layer (5× the capacity) rarely
        // congests, and handsets without NR cannot move to it.
        const lte = models.filter((m) => m.sector === pickCell().sector && m.tech !== 'NR3500').map((m) => m.cell.id);
        cells = lte.length > 0 ? lte : [pickCell().cell.id];
        break;
      }
      case 'interference': {
        const first = pickCell();
        // An external interferer often hits two sectors of the same band.
        const second =
          u(5) < 0.35 ? models.find((m) => m.tech === first.tech && m.sector === (first.sector + 1) % 3) : undefined;
        cells = second ? [first.cell.id, second.cell.id] : [first.cell.id];
        break;
      }
      case 'backhaul':
        cells = site.cells.slice();
        linkDown = u(5) < 0.25;
        break;
      case 'sleeping':
        // Never drawn (not in KINDS); only here so the switch stays exhaustive.
        cells = [pickCell().cell.id];
        break;
    }
    const inc: Incident = {
      id: `INC-${site.id}-${String(d).padStart(4, '0')}-${k + 1}`,
      kind,
      site: site.id,
      cells,
      start,
      end: start + minutes * MINUTE_MS,
      severity,
    };
    if (linkDown !== undefined) inc.linkDown = linkDown;
    return inc;
  }

  add(i: Omit<Incident, 'id'> & { id?: string }): Incident {
    const siteIdx = this.topo.sites.findIndex((s) => s.id === i.site);
    const where = `incident${i.id ? ` ${i.id}` : ''}`;
    if (siteIdx < 0) throw new Error(`${where}: unknown site "${i.site}"`);
    const site = this.topo.sites[siteIdx]!;
    if (!INJECTABLE.includes(i.kind))
      throw new Error(`${where}: unknown kind "${String(i.kind)}" (${INJECTABLE.join(', ')})`);
    if (!Number.isFinite(i.start) || !Number.isFinite(i.end) || !(i.end > i.start))
      throw new Error(`${where}: needs finite start < end, got ${i.start}..${i.end}`);
    if (!(i.severity >= 0 && i.severity <= 1))
      throw new Error(`${where}: severity must be within 0..1, got ${i.severity}`);
    const cells = i.cells.length > 0 ? [...i.cells] : site.cells.slice();
    const stranger = cells.find((c) => !site.cells.includes(c));
    if (stranger) throw new Error(`${where}: cell "${stranger}" is not on site ${site.id}`);
    let id = i.id;
    if (id === undefined) {
      do id = `INJ-${String(++this.manualCount).padStart(4, '0')}`;
      while (this.manualIds.has(id));
    }
    if (this.manualIds.has(id) || id.startsWith('INC-')) throw new Error(`incident ${id}: id already in use`);
    this.manualIds.add(id);
    const inc: Incident = { id, kind: i.kind, site: site.id, cells, start: i.start, end: i.end, severity: i.severity };
    if (i.linkDown !== undefined) inc.linkDown = i.linkDown;
    this.manual[siteIdx]!.push(inc);
    this.longestManualMs = Math.max(this.longestManualMs, inc.end - inc.start);
    return { ...inc, cells: [...inc.cells] };
  }

  /** Incidents of a site active in the minute interval ending at t. */
  activeAt(siteIdx: number, t: EpochMs): Incident[] {
    const from = t - MINUTE_MS;
    const d = Math.floor((t - this.start) / DAY_MS);
    const out: Incident[] = [];
    for (const list of [this.autoForSiteDay(siteIdx, d - 1), this.autoForSiteDay(siteIdx, d), this.manual[siteIdx]!]) {
      for (const inc of list) if (inc.start < t && inc.end > from) out.push(inc);
    }
    return out;
  }

  /** Every incident overlapping [from, to), by start then id. */
  overlapping(from: EpochMs, to: EpochMs): Incident[] {
    return this.startingIn(from - Math.max(MAX_AUTO_DURATION_MS, this.longestManualMs), to).filter(
      (i) => i.end > from && i.start < to,
    );
  }

  /** Every incident starting in [from, to), by start then id. */
  startingIn(from: EpochMs, to: EpochMs): Incident[] {
    const out: Incident[] = [];
    if (this.auto && to > this.start) {
      const d0 = Math.max(0, Math.floor((from - this.start) / DAY_MS));
      const d1 = Math.floor((to - 1 - this.start) / DAY_MS);
      for (let d = d0; d <= d1; d++) {
        for (let s = 0; s < this.topo.sites.length; s++)
          for (const inc of this.autoForSiteDay(s, d)) if (inc.start >= from && inc.start < to) out.push(inc);
      }
    }
    for (const list of this.manual) for (const inc of list) if (inc.start >= from && inc.start < to) out.push(inc);
    return out.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
