/**
 * The network's geography, drawn once from the seed: regions around plausible city centres, sites
 * denser downtown than at the edge, 3–6 cells per site (three sectors, plus a capacity layer), the
 * radio and load baseline of every cell, and neighbour lists from geometry.
 */
import type { Cell } from '../model/index.js';
import type { AreaType, Ring, SimRegion, SimSite } from './index.js';
import { Sequence, STREAM } from './seeded.js';

export type Tech = 'LTE1800' | 'LTE2600' | 'NR3500';

/** Carrier properties: capacity = bandwidth × dlShare × mimo × spectral efficiency(SINR). */
export const TECH: Record<
  Tech,
  {
    bwMHz: number;
    dlShare: number;
    ulShare: number;
    mimoDl: number;
    mimoUl: number;
    rsrpOffsetDb: number;
    sinrOffsetDb: number;
    usersFactor: number;
  }
> = {
  LTE1800: {
    bwMHz: 20,
    dlShare: 1,
    ulShare: 1,
    mimoDl: 1.5,
    mimoUl: 0.35,
    rsrpOffsetDb: 0,
    sinrOffsetDb: 0,
    usersFactor: 1,
  },
  LTE2600: {
    bwMHz: 20,
    dlShare: 1,
    ulShare: 1,
    mimoDl: 1.5,
    mimoUl: 0.35,
    rsrpOffsetDb: -3,
    sinrOffsetDb: -0.5,
    usersFactor: 0.85,
  },
  // TDD: ~74% of slots downlink, ~22% uplink; 4×4 MIMO.
  NR3500: {
    bwMHz: 100,
    dlShare: 0.74,
    ulShare: 0.22,
    mimoDl: 3,
    mimoUl: 1,
    rsrpOffsetDb: -6,
    sinrOffsetDb: -1,
    usersFactor: 2.2,
  },
};

/** Everything the KPI model needs about a cell, fixed for the network's life. */
export interface CellModel {
  idx: number;
  cell: Cell;
  siteIdx: number;
  regionIdx: number;
  sector: number;
  azimuthDeg: number;
  tech: Tech;
  ring: Ring;
  area: AreaType;
  /** Mean active users at this cell's own busiest hour on a typical weekday. */
  peakUsers: number;
  rsrp0: number;
  /** SINR with idle neighbours; neighbour load takes `interfDb` × their utilisation off it. */
  sinr0: number;
  interfDb: number;
  latency0: number;
  /** Other-site co-channel neighbours (indices), the interferers. */
  interferers: number[];
}

export interface Topology {
  regions: SimRegion[];
  sites: SimSite[];
  cells: Cell[];
  models: CellModel[];
  /** Cell indices per site. */
  siteCells: number[][];
}

// Plausible city centres for a few time zones; anything else starts from Shanghai's.
const CENTRES: Record<string, [number, number]> = {
  'Asia/Shanghai': [31.23, 121.47],
  'Asia/Hong_Kong': [22.32, 114.17],
  'Asia/Singapore': [1.35, 103.82],
  'Asia/Tokyo': [35.68, 139.69],
  'Asia/Kolkata': [19.08, 72.88],
  'Europe/London': [52.48, -1.9],
  'Europe/Berlin': [52.52, 13.4],
  'Europe/Paris': [45.76, 4.84],
  'America/New_York': [39.95, -75.17],
  'America/Chicago': [41.88, -87.63],
  'America/Los_Angeles': [34.05, -118.24],
  'America/Sao_Paulo': [-23.55, -46.63],
  'Africa/Lagos': [6.52, 3.38],
  'Australia/Sydney': [-33.87, 151.21],
  UTC: [51.51, -0.13],
};

const REGION_NAMES = [
  'Harbourside',
  'Northgate',
  'Riverbend',
  'Eastfield',
  'Westmoor',
  'Lakeview',
  'Hillcrest',
  'Southport',
  'Oakridge',
  'Stonebridge',
  'Fairhaven',
  'Brookdale',
  'Ironwood',
  'Silverton',
  'Maplewood',
  'Clearwater',
  'Redcliff',
  'Ashford',
  'Pinecrest',
  'Goldcoast',
];

const KM_PER_DEG_LAT = 110.574;
const kmPerDegLon = (lat: number) => 111.32 * Math.cos((lat * Math.PI) / 180);

export function distanceKm(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const dy = (aLat - bLat) * KM_PER_DEG_LAT;
  const dx = (aLon - bLon) * kmPerDegLon((aLat + bLat) / 2);
  return Math.hypot(dx, dy);
}

/** Bearing from a to b, degrees clockwise from north. */
function bearingDeg(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const dy = (bLat - aLat) * KM_PER_DEG_LAT;
  const dx = (bLon - aLon) * kmPerDegLon((aLat + bLat) / 2);
  return ((Math.atan2(dx, dy) * 180) / Math.PI + 360) % 360;
}

/** The point `northKm` north and `eastKm` east of (lat, lon), on the flat-earth approximation used throughout. */
export function shiftKm(lat: number, lon: number, northKm: number, eastKm: number): [number, number] {
  return [lat + northKm / KM_PER_DEG_LAT, lon + eastKm / kmPerDegLon(lat)];
}

function offset(lat: number, lon: number, km: number, bearing: number): [number, number] {
  const rad = (bearing * Math.PI) / 180;
  return shiftKm(lat, lon, km * Math.cos(rad), km * Math.sin(rad));
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const cosDeg = (d: number) => Math.cos((d * Math.PI) / 180);

export function buildTopology(seed: number, regionCount: number, siteCount: number, timezone: string): Topology {
  const rnd = new Sequence(seed, STREAM.topology);
  const regions = placeRegions(rnd, regionCount, CENTRES[timezone] ?? CENTRES['Asia/Shanghai']!);

  // Sites per region: roughly even, the first (capital) region a little bigger.
  const weights = regions.map((_, i) => (i === 0 ? 1.4 : 1) * rnd.range(0.75, 1.25));
  const totalW = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.floor((w / totalW) * siteCount));
  for (let i = 0, left = siteCount - counts.reduce((a, b) => a + b, 0); left > 0; i = (i + 1) % counts.length, left--)
    counts[i]!++;

  const sites: SimSite[] = [];
  const models: CellModel[] = [];
  const cells: Cell[] = [];
  const siteCells: number[][] = [];
  // Per-region scale L (km) of an exponential density: ISD(r) ≈ 0.5 km · e^(r / 2L), so the edge
  // (ISD ≈ 3 km) sits at r ≈ 3.6 L whatever the region's size.
  const regionSites: number[][] = regions.map(() => []);
  regions.forEach((region, ri) => {
    const n = counts[ri]!;
    const L = Math.max(0.6, Math.sqrt(n / 25));
    const placed: [number, number][] = [];
    for (let k = 0; k < n; k++) {
      let best: [number, number, number] | undefined;
      for (let attempt = 0; attempt < 30; attempt++) {
        let r = -L * (Math.log(1 - rnd.next()) + Math.log(1 - rnd.next()));
        if (r > 3.6 * L) r = rnd.range(0, 3.6 * L);
        const [lat, lon] = offset(region.lat, region.lon, r, rnd.range(0, 360));
        const isd = Math.min(3, 0.5 * Math.exp(r / (2 * L)));
        let nearest = Infinity;
        for (const [plat, plon] of placed) nearest = Math.min(nearest, distanceKm(lat, lon, plat, plon));
        if (nearest >= 0.6 * isd) {
          best = [lat, lon, r];
          break;
        }
        if (!best || nearest > best[2]) best = [lat, lon, r];
      }
      const [lat, lon] = best!;
      placed.push([lat, lon]);
      const r = distanceKm(lat, lon, region.lat, region.lon);
      const ring: Ring = r < 1.2 * L ? 'downtown' : r < 2.6 * L ? 'suburban' : 'edge';
      const siteIdx = sites.length;
      regionSites[ri]!.push(siteIdx);
      const site = makeSite(rnd, siteIdx, ri, region.id, round6(lat), round6(lon), ring, models, cells);
      sites.push(site);
      siteCells.push(site.cells.map((_, i) => models.length - site.cells.length + i));
    }
  });
  // Ids follow the order sites were placed in, which is region by region.
  linkNeighbours(regionSites, sites, siteCells, models);
  return { regions, sites, cells, models, siteCells };
}

function placeRegions(rnd: Sequence, n: number, centre: [number, number]): SimRegion[] {
  const regions: SimRegion[] = [];
  for (let i = 0; i < n; i++) {
    let lat = centre[0];
    let lon = centre[1];
    if (i > 0) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const from = rnd.pick(regions);
        [lat, lon] = offset(from.lat, from.lon, rnd.range(80, 250), rnd.range(0, 360));
        if (Math.abs(lat) > 70) continue;
        if (regions.every((r) => distanceKm(lat, lon, r.lat, r.lon) >= 60)) break;
      }
    }
    const name =
      REGION_NAMES[i % REGION_NAMES.length]! +
      (i >= REGION_NAMES.length ? ` ${Math.floor(i / REGION_NAMES.length) + 1}` : '');
    regions.push({ id: `R${i + 1}`, name, lat: round6(lat), lon: round6(lon) });
  }
  return regions;
}

function makeSite(
  rnd: Sequence,
  siteIdx: number,
  regionIdx: number,
  region: string,
  lat: number,
  lon: number,
  ring: Ring,
  models: CellModel[],
  cells: Cell[],
): SimSite {
  const id = `S${String(siteIdx + 1).padStart(4, '0')}`;
  const area = rnd.weighted<AreaType>(
    ring === 'downtown'
      ? { business: 0.55, mixed: 0.3, residential: 0.15 }
      : ring === 'suburban'
        ? { business: 0.1, mixed: 0.3, residential: 0.6 }
        : { business: 0, mixed: 0.2, residential: 0.8 },
  );
  const extra =
    ring === 'downtown'
      ? rnd.pick([1, 2, 3, 3])
      : ring === 'suburban'
        ? rnd.pick([0, 0, 1, 1, 2])
        : rnd.pick([0, 0, 0, 1]);
  const extraTech: Tech =
    ring === 'downtown'
      ? rnd.next() < 0.7
        ? 'NR3500'
        : 'LTE2600'
      : ring === 'suburban'
        ? rnd.next() < 0.2
          ? 'NR3500'
          : 'LTE2600'
        : 'LTE2600';
  const az0 = rnd.range(0, 120);
  const baseUsers = ring === 'downtown' ? 16 : ring === 'suburban' ? 12.5 : 8;
  const rsrpRange: [number, number] = ring === 'downtown' ? [-88, -75] : ring === 'suburban' ? [-96, -83] : [-104, -91];
  const sinrRange: [number, number] = ring === 'downtown' ? [10, 19] : ring === 'suburban' ? [9, 18] : [8, 16];
  const interfDb = ring === 'downtown' ? 4 : ring === 'suburban' ? 3 : 2;
  const ids: string[] = [];
  const plan: { tech: Tech; sector: number }[] = [0, 1, 2].map((s) => ({ tech: 'LTE1800', sector: s }));
  for (let k = 0; k < extra; k++) plan.push({ tech: extraTech, sector: k });
  let peakDemandMbps = 0;
  plan.forEach(({ tech, sector }, i) => {
    const t = TECH[tech];
    const offloaded = tech === 'LTE1800' && sector < extra ? 0.8 : 1;
    const peakUsers =
      baseUsers * (area === 'business' ? 1.15 : 1) * t.usersFactor * offloaded * Math.exp(0.36 * rnd.normal());
    const cellId = `${id}-${i + 1}`;
    ids.push(cellId);
    const cell: Cell = { id: cellId, site: id, region, lat, lon, neighbours: [], tech, snmpIndex: i + 1 };
    cells.push(cell);
    peakDemandMbps += peakUsers * 2.5;
    models.push({
      idx: models.length,
      cell,
      siteIdx,
      regionIdx,
      sector,
      azimuthDeg: (az0 + sector * 120) % 360,
      tech,
      ring,
      area,
      peakUsers,
      rsrp0: Math.min(-72, Math.max(-107, rnd.range(...rsrpRange) + t.rsrpOffsetDb)),
      sinr0: rnd.range(...sinrRange) + t.sinrOffsetDb,
      interfDb,
      latency0: 14 + rnd.range(0, 12) + (ring === 'edge' ? 6 : ring === 'suburban' ? 2 : 0),
      interferers: [],
    });
  });
  // Microwave only where it has at least twice the site's peak demand: a healthy network must not
  // saturate its own backhaul (that would be a degradation with no incident behind it).
  const fibreShare = ring === 'downtown' ? 0.85 : ring === 'suburban' ? 0.6 : 0.3;
  const microwave = rnd.next() >= fibreShare ? [300, 400, 500].find((s) => s >= 2 * peakDemandMbps) : undefined;
  return {
    id,
    region,
    lat,
    lon,
    cells: ids,
    linkSpeedMbps: microwave ?? 1000,
    linkKind: microwave ? 'microwave' : 'fibre',
    area,
    ring,
  };
}

/**
 * Neighbours: the site's other cells, then the best-facing cells of nearby sites (distance weighted
 * by how far each sector points away from the other), at most 12 in all. Co-channel ones among the
 * other-site neighbours are the cell's interferers.
 */
function linkNeighbours(regionSites: number[][], sites: SimSite[], siteCells: number[][], models: CellModel[]): void {
  for (const members of regionSites) {
    for (const si of members) {
      const a = sites[si]!;
      const dists: { sj: number; d: number; b: number }[] = [];
      for (const sj of members) {
        if (sj === si) continue;
        const b = sites[sj]!;
        dists.push({ sj, d: distanceKm(a.lat, a.lon, b.lat, b.lon), b: bearingDeg(a.lat, a.lon, b.lat, b.lon) });
      }
      dists.sort((x, y) => x.d - y.d);
      const reach = Math.max(2, 1.3 * (dists[0]?.d ?? 0));
      const near = dists.filter((x) => x.d <= reach).slice(0, 12);
      for (const ci of siteCells[si]!) {
        const m = models[ci]!;
        const own = siteCells[si]!.filter((x) => x !== ci);
        const scored: { cj: number; score: number }[] = [];
        for (const { sj, d, b } of near) {
          for (const cj of siteCells[sj]!) {
            const n = models[cj]!;
            const facing = cosDeg(m.azimuthDeg - b) + cosDeg(n.azimuthDeg - ((b + 180) % 360));
            scored.push({ cj, score: d * (2 - 0.5 * facing) });
          }
        }
        scored.sort((x, y) => x.score - y.score || x.cj - y.cj);
        const others = scored.slice(0, Math.max(0, 12 - own.length)).map((x) => x.cj);
        m.cell.neighbours = [...own, ...others].map((x) => models[x]!.cell.id);
        m.interferers = others.filter((x) => models[x]!.tech === m.tech);
      }
    }
  }
}
