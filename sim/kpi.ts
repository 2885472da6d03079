/**
 * The KPI model: from load and radio to what a cell reports for one minute. Everything is computed per
 * site (backhaul couples a site's cells) and is a pure function of (seed, topology, incidents, minute).
 * sim/README.md has the formulas; the constants are named here.
 */
import type { EpochMs } from '../model/index.js';
import type { CellState, Incident, LinkState } from './index.js';
import { DIURNAL, type LocalTime } from './load.js';
import { STREAM, normal, unit } from './seeded.js';
import { TECH, type CellModel, type Topology } from './topology.js';

export const MINUTE_MS = 60_000;

/** Mean downlink / uplink demand of one active user, Mbit/s (streaming-heavy smartphone mix). */
export const USER_DL_DEMAND_MBPS = 2.5;
export const USER_UL_DEMAND_MBPS = 0.25;
/** Share of the cell's capacity one user's transfer reaches on an idle cell (TCP, scheduling, UE class). */
const UE_SHARE = 0.6;
/** Shannon with an implementation gap, capped at the highest MCS. */
const SHANNON_FACTOR = 0.6;
const MAX_EFFICIENCY = 4.4;
/** The busiest a queue gets before latency is capped. */
const RHO_CAP = 0.985;

export function spectralEfficiency(sinrDb: number): number {
  return Math.min(MAX_EFFICIENCY, SHANNON_FACTOR * Math.log2(1 + 10 ** (sinrDb / 10)));
}

/** One site over one minute: its cells, its link, and what the ground truth needs besides. */
export interface SiteState {
  t: EpochMs;
  cells: CellState[];
  /** Users each cell would have served without incidents (an outage's users still count as affected). */
  baselineUsers: number[];
  link: LinkState;
  dlOctets: number[];
  ulOctets: number[];
  linkInOctets: number;
  linkOutOctets: number;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
/** Octets carried in one minute at `mbps`. */
export const minuteOctets = (mbps: number) => Math.round((mbps * 1e6 * 60) / 8);

const DOWN: CellState = {
  available: false,
  activeUsers: 0,
  dlMbps: 0,
  ulMbps: 0,
  latencyMs: 0,
  rsrpDbm: 0,
  rsrqDb: 0,
  sinrDb: 0,
  prbUtilPct: 0,
  dlVolumeMB: 0,
  ulVolumeMB: 0,
};

export class KpiModel {
  /** Neighbour utilisation without incidents, per minute (a few minutes kept: agents and ground truth interleave). */
  private readonly baseRho = new Map<number, Float64Array>();
  private readonly nominalCapacity: Float64Array;

  constructor(
    private readonly seed: number,
    private readonly topo: Topology,
    private readonly local: LocalTime,
  ) {
    this.nominalCapacity = Float64Array.from(topo.models, (m) => dlCapacity(m, m.sinr0));
  }

  /** Smooth noise: standard-normal knots every 30 min, cosine-interpolated (so minutes stay independent). */
  private smooth(stream: number, key: number, minute: number): number {
    const k = Math.floor(minute / 30);
    const f = (minute - k * 30) / 30;
    const a = normal(this.seed, stream, key, k);
    const b = normal(this.seed, stream, key, k + 1);
    return a + ((b - a) * (1 - Math.cos(Math.PI * f))) / 2;
  }

  /** Active users without incidents. */
  baselineUsers(m: CellModel, t: EpochMs): number {
    const minute = Math.floor(t / MINUTE_MS);
    const mid = t - MINUTE_MS / 2;
    const day = this.local.localDay(mid);
    const diurnal = DIURNAL[m.area][this.local.minuteOfWeek(mid)]!;
    const dayFactor = Math.exp(
      0.06 * normal(this.seed, STREAM.loadDay, m.idx, day) +
        0.04 * normal(this.seed, STREAM.regionDay, m.regionIdx, day),
    );
    const noise = Math.exp(
      0.12 * this.smooth(STREAM.loadSmooth, m.idx, minute) + 0.05 * normal(this.seed, STREAM.loadJitter, m.idx, minute),
    );
    return m.peakUsers * diurnal * dayFactor * noise;
  }

  /** Downlink utilisation each cell would have without incidents: what its neighbours hear. */
  private neighbourRho(t: EpochMs): Float64Array {
    let cache = this.baseRho.get(t);
    if (!cache) {
      cache = new Float64Array(this.topo.models.length).fill(Number.NaN);
      if (this.baseRho.size >= 8) this.baseRho.delete(this.baseRho.keys().next().value!);
      this.baseRho.set(t, cache);
    }
    return cache;
  }

  private rhoOf(cache: Float64Array, idx: number, t: EpochMs): number {
    let v = cache[idx]!;
    if (Number.isNaN(v)) {
      const m = this.topo.models[idx]!;
      v = Math.min(1, (this.baselineUsers(m, t) * USER_DL_DEMAND_MBPS) / this.nominalCapacity[idx]!);
      cache[idx] = v;
    }
    return v;
  }

  /** The site's state for the minute interval ending at t, given the incidents active in it. */
  site(siteIdx: number, t: EpochMs, active: readonly Incident[]): SiteState {
    const topo = this.topo;
    const cellIdx = topo.siteCells[siteIdx]!;
    const site = topo.sites[siteIdx]!;
    const minute = Math.floor(t / MINUTE_MS);
    const rhoCache = this.neighbourRho(t);
    const n = cellIdx.length;

    let linkDown = false;
    let cross = 0; // share of the link taken by transit traffic during a saturation
    for (const inc of active) {
      if (inc.kind !== 'backhaul') continue;
      if (inc.linkDown) linkDown = true;
      else cross = Math.max(cross, 0.75 + 0.2 * inc.severity);
    }

    const baselineUsers = new Array<number>(n);
    const available = new Array<boolean>(n).fill(!linkDown);
    const users = new Array<number>(n);
    const rsrp = new Array<number>(n);
    const sinr = new Array<number>(n);
    const capDl = new Array<number>(n);
    const capUl = new Array<number>(n);
    const demandDl = new Array<number>(n);
    const demandUl = new Array<number>(n);

    for (let i = 0; i < n; i++) {
      const m = topo.models[cellIdx[i]!]!;
      const base = this.baselineUsers(m, t);
      baselineUsers[i] = base;
      let u = base;
      let interf = 0;
      for (const j of m.interferers) interf += this.rhoOf(rhoCache, j, t);
      if (m.interferers.length > 0) interf /= m.interferers.length;
      let r = m.rsrp0 + 1.2 * this.smooth(STREAM.radioJitter, m.idx * 2, minute);
      let s =
        m.sinr0 -
        m.interfDb * interf +
        0.8 * this.smooth(STREAM.radioJitter, m.idx * 2 + 1, minute) +
        0.3 * normal(this.seed, STREAM.radioJitter, m.idx, minute, 7);
      let congestion: Incident | undefined;
      for (const inc of active) {
        if (!inc.cells.includes(m.cell.id)) continue;
        switch (inc.kind) {
          case 'outage':
            available[i] = false;
            break;
          case 'coverage':
            // Antenna/feeder fault or tilt: the signal drops, interference does not; users who can
            // reselect to a neighbour do.
            r -= 15 + 10 * inc.severity;
            s -= 4 + 8 * inc.severity;
            u *= 1 - 0.3 * inc.severity;
            break;
          case 'interference':
            // An external interferer: RSRP untouched, SINR below zero.
            s = Math.min(s, -1 - 9 * inc.severity + 0.4 * normal(this.seed, STREAM.radioJitter, m.idx, minute, 8));
            s = Math.min(s, -0.5);
            break;
          case 'congestion':
            congestion = inc;
            break;
          case 'backhaul':
            break;
          case 'sleeping':
            // A silent failure: the cell stays on air and says it is fine, but only 5–20% of its users
            // manage to attach (the rest see no service); those who do are served normally.
            u *= sleepingShare(inc.severity);
            break;
        }
      }
      rsrp[i] = r;
      sinr[i] = s;
      capDl[i] = dlCapacity(m, s);
      capUl[i] = ulCapacity(m, Math.min(s + 2, r + 115));
      if (congestion) {
        // A crowd (event, stadium, rerouted traffic) arrives: users ×2–4, and at least enough to
        // ask more than the cell can give.
        const sev = congestion.severity;
        u = Math.max(u * (2 + 2 * sev), ((1 + 0.5 * sev) * capDl[i]!) / USER_DL_DEMAND_MBPS);
      }
      users[i] = u;
      demandDl[i] = u * USER_DL_DEMAND_MBPS;
      demandUl[i] = u * USER_UL_DEMAND_MBPS;
    }

    // Backhaul: the cells' downlink shares what transit traffic leaves of the link.
    const speed = site.linkSpeedMbps;
    const effDl = capDl.slice();
    let offered = 0;
    for (let i = 0; i < n; i++) if (available[i]) offered += Math.min(demandDl[i]!, 0.98 * capDl[i]!);
    const left = Math.max(0.01 * speed, speed * (0.985 - cross) - 0.3) / 1.03;
    if (cross > 0 && offered > left) {
      const scale = left / offered;
      for (let i = 0; i < n; i++)
        effDl[i] = Math.min(capDl[i]!, (Math.min(demandDl[i]!, 0.98 * capDl[i]!) * scale) / 0.98);
    }

    const cells = new Array<CellState>(n);
    const dlOctets = new Array<number>(n).fill(0);
    const ulOctets = new Array<number>(n).fill(0);
    let sumDl = 0;
    let sumUl = 0;
    for (let i = 0; i < n; i++) {
      if (!available[i]) {
        cells[i] = DOWN;
        continue;
      }
      const m = topo.models[cellIdx[i]!]!;
      const u = users[i]!;
      const perUserShare = 1 / Math.max(u, 1);
      const rhoDl = demandDl[i]! / effDl[i]!;
      const rhoUl = demandUl[i]! / capUl[i]!;
      const carriedDl = Math.min(demandDl[i]!, 0.98 * effDl[i]!);
      const carriedUl = Math.min(demandUl[i]!, 0.98 * capUl[i]!);
      const dl = UE_SHARE * effDl[i]! * Math.max(1 - rhoDl, perUserShare);
      const ul = UE_SHARE * capUl[i]! * Math.max(1 - rhoUl, perUserShare);
      const q = Math.min(rhoDl, RHO_CAP);
      const latency =
        m.latency0 +
        (6 * q) / (1 - q) +
        Math.max(0, 3 - sinr[i]!) * 2.5 +
        1.5 * normal(this.seed, STREAM.radioJitter, m.idx, minute, 9);
      const prb = Math.min(
        100,
        3 + 97 * (carriedDl / capDl[i]!) + 1.5 * normal(this.seed, STREAM.radioJitter, m.idx, minute, 10),
      );
      const alpha = 0.17 + 0.83 * (prb / 100);
      const rsrq = Math.max(-19.5, Math.min(-3, -10 * Math.log10(12 * (alpha + 1 / 10 ** (sinr[i]! / 10)))));
      dlOctets[i] = minuteOctets(carriedDl);
      ulOctets[i] = minuteOctets(carriedUl);
      sumDl += carriedDl;
      sumUl += carriedUl;
      cells[i] = {
        available: true,
        activeUsers: r2(u),
        dlMbps: r3(dl),
        ulMbps: r3(ul),
        latencyMs: r1(Math.max(5, latency)),
        rsrpDbm: r2(rsrp[i]!),
        rsrqDb: r2(rsrq),
        sinrDb: r2(sinr[i]!),
        prbUtilPct: r1(Math.max(0, prb)),
        dlVolumeMB: dlOctets[i]! / 1e6,
        ulVolumeMB: ulOctets[i]! / 1e6,
      };
    }

    const errChance = site.linkKind === 'microwave' ? 0.05 : 0.01;
    const errors = (dir: number) => {
      const u = unit(this.seed, STREAM.linkErrors, siteIdx, minute, dir);
      return u < errChance ? 1 + Math.floor((u / errChance) * 4) : 0;
    };
    const inMbps = linkDown ? 0 : r3(Math.min(speed, 1.03 * sumDl + 0.3 + cross * speed));
    const outMbps = linkDown ? 0 : r3(Math.min(speed, 1.03 * sumUl + 0.15 + 0.1 * cross * speed));
    const link: LinkState = {
      operUp: !linkDown,
      speedMbps: speed,
      inMbps,
      outMbps,
      inErrors: linkDown ? 0 : errors(0),
      outErrors: linkDown ? 0 : errors(1),
    };
    return {
      t,
      cells,
      baselineUsers,
      link,
      dlOctets,
      ulOctets,
      linkInOctets: minuteOctets(inMbps),
      linkOutOctets: minuteOctets(outMbps),
    };
  }
}

/** Share of its users a sleeping cell still serves: 20% at severity 0, 5% at severity 1. */
export function sleepingShare(severity: number): number {
  return 0.2 - 0.15 * severity;
}

export function dlCapacity(m: CellModel, sinrDb: number): number {
  const t = TECH[m.tech];
  return t.bwMHz * t.dlShare * t.mimoDl * spectralEfficiency(sinrDb);
}

export function ulCapacity(m: CellModel, sinrDb: number): number {
  const t = TECH[m.tech];
  return Math.max(0.05, t.bwMHz * t.ulShare * t.mimoUl * spectralEfficiency(sinrDb));
}
