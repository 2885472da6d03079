/**
 * Where a complaint is, and which cells may have served the customer there. Pure: the inventory is an
 * argument, nothing is read or cached behind the caller's back.
 *
 * The rules, in the order they are applied:
 * - A complaint is located by its address (`lat`/`lon`, both or neither) or, failing that, by the
 *   coordinates of its cell. A cell id the inventory does not know, with no address, cannot be
 *   located: `unknown-cell` (the intake rejects it). Neither a cell nor an address: `no-location`.
 * - An unknown cell id *with* an address is kept as the complaint's own cell (a window the detector
 *   found on that id still explains it), and the address finds the cells around it.
 * - Candidates are the own cell, the inventory's neighbours of the own cell, and every cell within
 *   the radius (default 1.5 km) of the point.
 * - Spatial weight: the own cell 1. Any other cell: a base for how it relates to the customer, times a
 *   distance factor, times an aim factor:
 *   - base 0.9 when the complaint names no cell (the address is all we know, and the nearest mast
 *     most likely served it); when it names one, another cell is weaker evidence: 0.8 for a cell on
 *     the own cell's sector (same site, azimuth within 30°: a capacity layer on the same antenna),
 *     0.6 for a neighbour, 0.5 for a cell that is merely near;
 *   - distance factor 1 up to 300 m (a geocoded address is that imprecise, and the mast is where the
 *     cell is indexed, not where it serves), then 1 / (1 + ((d − 0.3) / 0.7)²): ½ at 1 km, ¼ at 1.5 km.
 *     For an address with no cell, d counts beyond the nearest mast within the radius: where the
 *     nearest mast stands 1.2 km away (a suburb, the countryside) it still most likely served the
 *     customer, and a mast 0.3 km further weighs as one 0.3 km away in town;
 *   - aim factor, only when the inventory gives the cell's azimuth and the point is ≥ 50 m away: 1 when
 *     the sector points within 60° of the point, ½ when it points more than 120° away, linear between
 *     (the cells of one site share a mast, so distance alone cannot tell which sector serves an address).
 * Weights are rounded to 3 decimals so that the same pair gives the same number on every path.
 */
import type { Cell, Complaint, Inventory } from '../../model/index.js';

export interface GeoPoint {
  lat: number;
  lon: number;
}

export type Relation = 'own' | 'same-sector' | 'neighbour' | 'nearby';

export type ComplaintPlace =
  | {
      ok: true;
      /** The address, or the own cell's coordinates when the complaint gives no address. */
      point: GeoPoint;
      pointFrom: 'address' | 'cell';
      /** The cell id the complaint names, known to the inventory or not. */
      ownId?: string;
      own?: Cell;
      /**
       * An address with no cell: how far the nearest mast within the radius is (km). Distance counts
       * beyond it: the nearest mast most likely served the customer, however far it is.
       */
      nearestKm?: number;
    }
  | {
      ok: false;
      reason: 'unknown-cell' | 'no-location' | 'bad-coordinates';
      field: 'cell' | 'lat' | 'lon';
      message: string;
    };

export interface Candidate {
  cell: string;
  relation: Relation;
  /** Distance from the complaint's point to the cell, km (absent for an own cell the inventory does not know). */
  km?: number;
  weight: number;
}

export const DEFAULT_RADIUS_KM = 1.5;

/** The weight base of any cell for a complaint that names no cell: the most a nearby cell can weigh. */
export const ADDRESS_BASE = 0.9;
const BASE_SAME_SECTOR = 0.8;
const BASE_NEIGHBOUR = 0.6;
const BASE_NEARBY = 0.5;
const SAME_SECTOR_DEG = 30;
const FLAT_KM = 0.3;
const HALF_KM = 0.7;
const AIM_MIN_KM = 0.05;
const AIM_FULL_DEG = 60;
const AIM_NONE_DEG = 120;
const AIM_FLOOR = 0.5;
/** Margin added to spatial-index queries so that the exact distance below decides, not the index's. */
export const QUERY_MARGIN_KM = 0.05;

const EARTH_KM = 6371.0088;
const RAD = Math.PI / 180;
/** Km per degree of latitude on that sphere: flat-earth distances, for filters that a haversine then decides. */
export const FLAT_KM_PER_DEG = EARTH_KM * RAD;

/** Great-circle distance (haversine), km. */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Initial bearing from the first point to the second, degrees clockwise from north in [0, 360). */
export function bearingDeg(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const y = Math.sin((lon2 - lon1) * RAD) * Math.cos(lat2 * RAD);
  const x =
    Math.cos(lat1 * RAD) * Math.sin(lat2 * RAD) -
    Math.sin(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.cos((lon2 - lon1) * RAD);
  return (((Math.atan2(y, x) / RAD) % 360) + 360) % 360;
}

/** Smallest angle between two directions, degrees in [0, 180]. */
export function angleBetween(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * `nearest` finds the distance to the nearest mast within the radius of an address (the same value
 * as nearestKm below); the correlator answers it from the masts it already keeps per tile.
 */
export function locate(
  c: Pick<Complaint, 'cell' | 'lat' | 'lon'>,
  inventory: Inventory,
  radiusKm = DEFAULT_RADIUS_KM,
  nearest: (p: GeoPoint) => number | undefined = (p) => nearestKm(p, inventory, radiusKm),
): ComplaintPlace {
  const hasLat = c.lat !== undefined && c.lat !== null;
  const hasLon = c.lon !== undefined && c.lon !== null;
  if (hasLat !== hasLon) {
    const field = hasLat ? 'lon' : 'lat';
    return { ok: false, reason: 'bad-coordinates', field, message: 'lat and lon must be given together' };
  }
  let address: GeoPoint | undefined;
  if (hasLat) {
    const lat = c.lat!;
    const lon = c.lon!;
    if (!(Number.isFinite(lat) && lat >= -90 && lat <= 90))
      return { ok: false, reason: 'bad-coordinates', field: 'lat', message: 'expected a latitude in [-90, 90]' };
    if (!(Number.isFinite(lon) && lon >= -180 && lon <= 180))
      return { ok: false, reason: 'bad-coordinates', field: 'lon', message: 'expected a longitude in [-180, 180]' };
    address = { lat, lon };
  }
  const ownId = c.cell !== undefined && c.cell !== '' ? c.cell : undefined;
  const own = ownId !== undefined ? inventory.cell(ownId) : undefined;
  if (ownId !== undefined && !own && !address)
    return {
      ok: false,
      reason: 'unknown-cell',
      field: 'cell',
      message: `cell "${ownId}" is not in the inventory and the complaint has no lat/lon to locate it`,
    };
  if (!address && !own)
    return { ok: false, reason: 'no-location', field: 'cell', message: 'a complaint needs a cell or lat/lon' };
  const point = address ?? { lat: own!.lat, lon: own!.lon };
  const place: ComplaintPlace = { ok: true, point, pointFrom: address ? 'address' : 'cell' };
  if (ownId !== undefined) place.ownId = ownId;
  if (own) place.own = own;
  if (ownId === undefined) {
    const km = nearest(point);
    if (km !== undefined) place.nearestKm = km;
  }
  return place;
}

/** The distance to the nearest cell within the radius (a small query first: most addresses have a mast close by). */
export function nearestKm(p: GeoPoint, inventory: Inventory, radiusKm: number): number | undefined {
  let near = inventory.within(p.lat, p.lon, Math.min(0.5, radiusKm));
  if (near.length === 0) near = inventory.within(p.lat, p.lon, radiusKm + QUERY_MARGIN_KM);
  let best: number | undefined;
  // The index's order decides which masts to look at; the exact distance decides the value.
  for (const n of near.slice(0, 8)) {
    const km = haversineKm(p.lat, p.lon, n.cell.lat, n.cell.lon);
    if (km <= radiusKm && (best === undefined || km < best)) best = km;
  }
  return best === undefined ? undefined : round3(best);
}

/**
 * nearestKm over a list of masts known to hold every cell within the radius of the point (a superset
 * is fine: the exact distance decides). The index is then not asked at all.
 */
export function nearestAmong(p: GeoPoint, masts: readonly GeoPoint[], radiusKm: number): number | undefined {
  // A flat-earth distance first (no trigonometry): within 1 % of the haversine's at these few km, so
  // only masts within 1 % (and a metre) of the flat nearest can be the nearest; the haversine decides.
  const kmPerLon = FLAT_KM_PER_DEG * Math.cos(p.lat * RAD);
  let flatMin = Infinity;
  for (const m of masts) {
    const dy = (m.lat - p.lat) * FLAT_KM_PER_DEG;
    const dx = (m.lon - p.lon) * kmPerLon;
    const d = dx * dx + dy * dy;
    if (d < flatMin) flatMin = d;
  }
  const bound = Math.sqrt(flatMin) * 1.01 + 0.001;
  let best = Infinity;
  for (const m of masts) {
    const dy = (m.lat - p.lat) * FLAT_KM_PER_DEG;
    const dx = (m.lon - p.lon) * kmPerLon;
    if (dx * dx + dy * dy > bound * bound) continue;
    const km = haversineKm(p.lat, p.lon, m.lat, m.lon);
    if (km <= radiusKm && km < best) best = km;
  }
  return best === Infinity ? undefined : round3(best);
}

export type Located = Extract<ComplaintPlace, { ok: true }>;

const TILE_DEG = 0.0027; // ~300 m of latitude
/** Tile keys i · TILE_ROW + j are unique: |j| ≤ 180° / TILE_DEG < TILE_ROW / 2. */
const TILE_ROW = 200_000;
/** A tile's half-diagonal and then some: the cells within r of any point of a tile are within r + this of its centre. */
export const TILE_HALF_DIAGONAL_KM = 0.25;

/**
 * The ~300 m tile holding a point, by key (or row and column: small integers, where the key is not),
 * and the tile's centre: the matchers answer an address's
 * spatial questions (places within reach, its nearest mast) once per tile, asked at the centre with
 * TILE_HALF_DIAGONAL_KM added.
 */
export function tileOf(point: GeoPoint): { key: number; row: number; column: number; lat: number; lon: number } {
  const i = Math.floor(point.lat / TILE_DEG);
  const lonDeg = TILE_DEG / Math.max(0.05, Math.cos(((i + 0.5) * TILE_DEG * Math.PI) / 180));
  const j = Math.floor(point.lon / lonDeg);
  return { key: i * TILE_ROW + j, row: i, column: j, lat: (i + 0.5) * TILE_DEG, lon: (j + 0.5) * lonDeg };
}

/**
 * The spatial weight of one cell for one located complaint, or undefined when the cell is not a
 * candidate. This pair function is the definition: candidate lists and the incremental index only
 * decide which pairs to ask about.
 */
export function spatialWeight(
  place: Located,
  cellId: string,
  inventory: Inventory,
  radiusKm = DEFAULT_RADIUS_KM,
): Candidate | undefined {
  if (cellId === place.ownId) {
    const own: Candidate = { cell: cellId, relation: 'own', weight: 1 };
    if (place.own) own.km = round3(haversineKm(place.point.lat, place.point.lon, place.own.lat, place.own.lon));
    return own;
  }
  const cell = inventory.cell(cellId);
  if (!cell) return undefined;
  const km = haversineKm(place.point.lat, place.point.lon, cell.lat, cell.lon);
  const relation = relate(place, cell, km, radiusKm);
  if (!relation) return undefined;
  return { cell: cellId, relation, km: round3(km), weight: weighRelated(place, cell, relation, km, NaN) };
}

/**
 * How a cell other than the own one relates to a located complaint at `km` from its point, or
 * undefined when it is no candidate. Split from the weight so that the correlator's inner loop can
 * reuse one distance per mast; both paths run this same arithmetic.
 */
export function relate(place: Located, cell: Cell, km: number, radiusKm: number): Exclude<Relation, 'own'> | undefined {
  const own = place.own;
  const neighbour = own !== undefined && own.neighbours.includes(cell.id);
  if (!neighbour && km > radiusKm) return undefined;
  if (place.ownId === undefined) return 'nearby';
  if (
    own &&
    cell.site === own.site &&
    cell.azimuth !== undefined &&
    own.azimuth !== undefined &&
    angleBetween(cell.azimuth, own.azimuth) <= SAME_SECTOR_DEG
  )
    return 'same-sector';
  return neighbour ? 'neighbour' : 'nearby';
}

/** The weight of a related cell; `bearing` from the cell to the point, or NaN to compute it here. */
export function weighRelated(place: Located, cell: Cell, relation: Relation, km: number, bearing: number): number {
  const base =
    relation === 'own'
      ? 1
      : place.ownId === undefined
        ? ADDRESS_BASE
        : relation === 'same-sector'
          ? BASE_SAME_SECTOR
          : relation === 'neighbour'
            ? BASE_NEIGHBOUR
            : BASE_NEARBY;
  let aim = 1;
  const counted = place.ownId === undefined && place.nearestKm !== undefined ? Math.max(0, km - place.nearestKm) : km;
  if (cell.azimuth !== undefined && km >= AIM_MIN_KM) {
    const b = Number.isNaN(bearing) ? bearingDeg(cell.lat, cell.lon, place.point.lat, place.point.lon) : bearing;
    aim = aimFromOffset(angleBetween(cell.azimuth, b));
  }
  return round3(base * distanceFactor(counted) * aim);
}

/**
 * One located complaint's distance and bearing to each mast, worked out once per mast: the cells of a
 * site share a point, and the matchers weigh them one after another. `reset()` for each complaint, or
 * `seed()` with a mast whose distance is already known.
 */
export class MastMeasure {
  private lat = NaN;
  private lon = NaN;
  private bearing = NaN;
  /** After weigh(): the cell's distance (km), and its relation when it is a candidate. */
  km = 0;
  relation: Exclude<Relation, 'own'> | undefined;

  reset(): void {
    this.lat = NaN;
  }

  seed(at: GeoPoint, km: number): void {
    this.lat = at.lat;
    this.lon = at.lon;
    this.km = km;
    this.bearing = NaN;
  }

  /** relate() and weighRelated() for a cell other than the named one; 0 when it is no candidate. */
  weigh(place: Located, cell: Cell, radiusKm: number): number {
    if (cell.lat !== this.lat || cell.lon !== this.lon) {
      this.lat = cell.lat;
      this.lon = cell.lon;
      this.km = haversineKm(place.point.lat, place.point.lon, cell.lat, cell.lon);
      this.bearing = NaN;
    }
    this.relation = relate(place, cell, this.km, radiusKm);
    if (!this.relation) return 0;
    if (this.bearing !== this.bearing && cell.azimuth !== undefined)
      this.bearing = bearingDeg(cell.lat, cell.lon, place.point.lat, place.point.lon);
    return weighRelated(place, cell, this.relation, this.km, this.bearing);
  }
}

/** 1 up to 300 m, ½ at 1 km, ¼ at 1.5 km. */
export function distanceFactor(km: number): number {
  const x = Math.max(0, km - FLAT_KM) / HALF_KM;
  return 1 / (1 + x * x);
}

/** How well a cell's sector points at the point: 1 within 60°, ½ beyond 120°, 1 when unknown. */
export function aimFactor(cell: Cell, point: GeoPoint, km: number): number {
  if (cell.azimuth === undefined || km < AIM_MIN_KM) return 1;
  return aimFromOffset(angleBetween(cell.azimuth, bearingDeg(cell.lat, cell.lon, point.lat, point.lon)));
}

function aimFromOffset(off: number): number {
  if (off <= AIM_FULL_DEG) return 1;
  if (off >= AIM_NONE_DEG) return AIM_FLOOR;
  return 1 - ((1 - AIM_FLOOR) * (off - AIM_FULL_DEG)) / (AIM_NONE_DEG - AIM_FULL_DEG);
}

/**
 * Every candidate cell of a located complaint, best weight first (then id). The spatial index is
 * asked with a small margin and the exact distance decides, so this list and `spatialWeight` agree.
 */
export function candidateCells(place: Located, inventory: Inventory, radiusKm = DEFAULT_RADIUS_KM): Candidate[] {
  const ids = new Set<string>();
  if (place.ownId !== undefined) ids.add(place.ownId);
  if (place.own) for (const n of place.own.neighbours) ids.add(n);
  for (const near of inventory.within(place.point.lat, place.point.lon, radiusKm + QUERY_MARGIN_KM))
    ids.add(near.cell.id);
  const out: Candidate[] = [];
  for (const id of ids) {
    const c = spatialWeight(place, id, inventory, radiusKm);
    if (c) out.push(c);
  }
  return out.sort(byWeight);
}

export function byWeight(a: Candidate, b: Candidate): number {
  return b.weight - a.weight || (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0);
}
