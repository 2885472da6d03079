import type { Cell, EpochMs, LinkSample, Sample } from '../model/index.js';
import { ComplaintBook } from './complaints.js';
import { DEFAULT_INCIDENT_RATE, IncidentBook } from './incidents.js';
import type {
  CellState,
  GroundTruth,
  Incident,
  IncidentTruth,
  LinkState,
  SimComplaint,
  SimOptions,
  SimRegion,
  SimSite,
} from './index.js';
import { KpiModel, MINUTE_MS, type SiteState } from './kpi.js';
import { LocalTime } from './load.js';
import { buildTopology, type Topology } from './topology.js';

/**
 * A seeded mobile network: topology, KPIs, incidents, complaints and ground truth. No I/O and no
 * clock: every answer is a function of the options, the injected incidents and the time asked about.
 */
export class SimNetwork {
  readonly cells: Cell[];
  readonly sites: SimSite[];
  readonly regions: SimRegion[];
  readonly options: Readonly<Required<SimOptions>>;

  private readonly topo: Topology;
  private readonly kpi: KpiModel;
  private readonly book: IncidentBook;
  private readonly complaintBook: ComplaintBook;
  private readonly cellIndex = new Map<string, number>();
  private readonly siteIndex = new Map<string, number>();
  /** The last minute computed per site: agents, tests and ground truth ask for the same minute repeatedly. */
  private readonly siteCache: (SiteState | undefined)[];

  static create(opts: SimOptions): SimNetwork {
    return new SimNetwork(opts);
  }

  private constructor(opts: SimOptions) {
    const problems: string[] = [];
    const int = (name: keyof SimOptions, lo: number, hi: number) => {
      const v = opts[name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
        problems.push(`${name}: must be an integer within ${lo}..${hi}, got ${String(v)}`);
    };
    int('seed', -(2 ** 31), 2 ** 32 - 1);
    int('regions', 1, 50);
    int('sites', 1, 8000);
    if (!Number.isFinite(opts.start)) problems.push(`start: must be epoch milliseconds, got ${String(opts.start)}`);
    if (opts.incidents !== undefined && opts.incidents !== 'auto' && opts.incidents !== 'none')
      problems.push(`incidents: must be 'auto' or 'none', got ${String(opts.incidents)}`);
    const rate = opts.incidentRatePerSiteDay ?? DEFAULT_INCIDENT_RATE;
    if (!(rate >= 0 && rate <= 50)) problems.push(`incidentRatePerSiteDay: must be within 0..50, got ${String(rate)}`);
    let local: LocalTime | undefined;
    try {
      local = new LocalTime(opts.timezone);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (opts.sites < opts.regions)
      problems.push(`sites: need at least one site per region (${opts.regions} regions, ${opts.sites} sites)`);
    if (problems.length > 0 || !local) throw new RangeError(`invalid simulator options: ${problems.join('; ')}`);

    this.options = {
      seed: opts.seed,
      regions: opts.regions,
      sites: opts.sites,
      start: opts.start,
      timezone: opts.timezone,
      incidents: opts.incidents ?? 'auto',
      incidentRatePerSiteDay: rate,
    };
    this.topo = buildTopology(opts.seed, opts.regions, opts.sites, opts.timezone);
    this.cells = this.topo.cells;
    this.sites = this.topo.sites;
    this.regions = this.topo.regions;
    this.cells.forEach((c, i) => this.cellIndex.set(c.id, i));
    this.sites.forEach((s, i) => this.siteIndex.set(s.id, i));
    this.siteCache = new Array<SiteState | undefined>(this.sites.length);
    this.kpi = new KpiModel(opts.seed, this.topo, local);
    this.book = new IncidentBook(opts.seed, opts.start, rate, this.options.incidents === 'auto', this.topo, local);
    this.complaintBook = new ComplaintBook(opts.seed, opts.start, this.topo, local, this.siteIndex, (s, t) =>
      this.siteState(s, t),
    );
  }

  /** The KPIs of the 60-s interval that ends at t (rounded down to the minute). */
  cellState(cell: string, t: EpochMs): CellState {
    const idx = this.cellIndex.get(cell);
    if (idx === undefined) throw new Error(`unknown cell "${cell}"`);
    const m = this.topo.models[idx]!;
    const state = this.siteState(m.siteIdx, t);
    return { ...state.cells[this.topo.siteCells[m.siteIdx]!.indexOf(idx)]! };
  }

  /** The site's backhaul link over the interval that ends at t. */
  linkState(site: string, t: EpochMs): LinkState {
    return { ...this.siteState(this.siteIdx(site), t).link };
  }

  /**
   * The cell's interval as a model Sample (what a perfect collector would store). A cell that is
   * down reports only `available: false`: its radio KPIs are unknown, not zero.
   */
  sample(cell: string, t: EpochMs): Sample {
    const ts = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const s = this.cellState(cell, ts);
    if (!s.available) return { cell, ts, source: 'sim', intervalS: 60, available: false, activeUsers: 0 };
    return { cell, ts, source: 'sim', intervalS: 60, ...s };
  }

  /** The site's backhaul interval as a model LinkSample, named like the SNMP target (`bh-<site>:1`). */
  linkSample(site: string, t: EpochMs): LinkSample {
    const ts = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const l = this.linkState(site, ts);
    return {
      link: `bh-${site}:1`,
      site,
      ts,
      source: 'sim',
      intervalS: 60,
      inMbps: l.inMbps,
      outMbps: l.outMbps,
      speedMbps: l.speedMbps,
      utilPct: Math.round((Math.max(l.inMbps, l.outMbps) / l.speedMbps) * 1000) / 10,
      operUp: l.operUp,
      inErrors: l.inErrors,
      outErrors: l.outErrors,
    };
  }

  /**
   * What a collector polling every `stepMs` would have stored for the interval ending at t (rounded down
   * to the minute), as the demo's SNMP agents serve it: per cell the gauges of the last minute and the
   * volumes of the whole interval; per site its backhaul link, rates averaged over the interval, errors
   * summed, up or down as at its end. The demo's history (daemon/simulation.ts) is made of these.
   */
  intervalSamples(t: EpochMs, stepMs: number): { samples: Sample[]; links: LinkSample[] } {
    if (!(stepMs >= MINUTE_MS) || stepMs % MINUTE_MS !== 0)
      throw new RangeError(`intervalSamples stepMs: must be a multiple of 60000, got ${stepMs}`);
    const ts = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const minutes = stepMs / MINUTE_MS;
    const intervalS = stepMs / 1000;
    const samples: Sample[] = [];
    const links: LinkSample[] = [];
    for (let si = 0; si < this.sites.length; si++) {
      const site = this.sites[si]!;
      const cells = this.topo.siteCells[si]!;
      const dl = new Array<number>(cells.length).fill(0);
      const ul = new Array<number>(cells.length).fill(0);
      let inMbps = 0;
      let outMbps = 0;
      let inErrors = 0;
      let outErrors = 0;
      // Oldest minute first, so the site cache ends on the interval's last minute (its gauges).
      let state = this.siteState(si, ts);
      for (let k = minutes - 1; k >= 0; k--) {
        state = this.siteState(si, ts - k * MINUTE_MS);
        state.cells.forEach((c, i) => {
          dl[i]! += c.dlVolumeMB;
          ul[i]! += c.ulVolumeMB;
        });
        inMbps += state.link.inMbps / minutes;
        outMbps += state.link.outMbps / minutes;
        inErrors += state.link.inErrors;
        outErrors += state.link.outErrors;
      }
      state.cells.forEach((c, i) => {
        const cell = this.cells[cells[i]!]!.id;
        if (!c.available) samples.push({ cell, ts, source: 'sim', intervalS, available: false, activeUsers: 0 });
        else
          samples.push({
            cell,
            ts,
            source: 'sim',
            intervalS,
            ...c,
            dlVolumeMB: Math.round(dl[i]! * 1e6) / 1e6,
            ulVolumeMB: Math.round(ul[i]! * 1e6) / 1e6,
          });
      });
      const l = state.link;
      links.push({
        link: `bh-${site.id}:1`,
        site: site.id,
        ts,
        source: 'sim',
        intervalS,
        inMbps: Math.round(inMbps * 1000) / 1000,
        outMbps: Math.round(outMbps * 1000) / 1000,
        speedMbps: l.speedMbps,
        utilPct: Math.round((Math.max(inMbps, outMbps) / l.speedMbps) * 1000) / 10,
        operUp: l.operUp,
        inErrors,
        outErrors,
      });
    }
    return { samples, links };
  }

  /**
   * Everything about one site for the interval ending at t, including the octets its counters carry.
   * The returned object is shared: treat it as read-only.
   */
  siteState(siteIdx: number, t: EpochMs): SiteState {
    const aligned = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const cached = this.siteCache[siteIdx];
    if (cached && cached.t === aligned) return cached;
    const state = this.kpi.site(siteIdx, aligned, this.book.activeAt(siteIdx, aligned));
    this.siteCache[siteIdx] = state;
    return state;
  }

  siteIdx(site: string): number {
    const idx = this.siteIndex.get(site);
    if (idx === undefined) throw new Error(`unknown site "${site}"`);
    return idx;
  }

  /** Users a cell would carry at t without incidents (what an outage takes away). */
  expectedUsers(cell: string, t: EpochMs): number {
    const idx = this.cellIndex.get(cell);
    if (idx === undefined) throw new Error(`unknown cell "${cell}"`);
    return this.kpi.baselineUsers(this.topo.models[idx]!, Math.floor(t / MINUTE_MS) * MINUTE_MS);
  }

  addIncident(i: Omit<Incident, 'id'> & { id?: string }): Incident {
    const inc = this.book.add(i);
    this.siteCache.fill(undefined);
    this.complaintBook.invalidate();
    return inc;
  }

  /** Incidents overlapping [from, to), by start. */
  incidents(from: EpochMs, to: EpochMs): Incident[] {
    return this.book.overlapping(from, to).map(copyIncident);
  }

  /** Complaints received in [from, to), by receivedAt then id. */
  complaints(from: EpochMs, to: EpochMs): SimComplaint[] {
    return this.complaintBook.collect(from, to, (a, b) => this.book.overlapping(a, b)).map((g) => ({ ...g.complaint }));
  }

  groundTruth(from: EpochMs, to: EpochMs): GroundTruth {
    const incidents: IncidentTruth[] = this.book
      .overlapping(from, to)
      .map((inc) => ({ ...copyIncident(inc), ...this.complaintBook.impact(inc).truth }));
    const complaints = this.complaintBook
      .collect(from, to, (a, b) => this.book.overlapping(a, b))
      .map((g) => ({ ...g.truth }));
    return { from, to, incidents, complaints };
  }

  inventoryCsv(): string {
    const lines = ['id,site,region,lat,lon,neighbours,tech,snmpIndex'];
    for (const c of this.cells)
      lines.push(
        [c.id, c.site, c.region, c.lat, c.lon, c.neighbours.join(';'), c.tech ?? '', c.snmpIndex ?? ''].join(','),
      );
    return lines.join('\n') + '\n';
  }
}

function copyIncident(i: Incident): Incident {
  return { ...i, cells: [...i.cells] };
}
