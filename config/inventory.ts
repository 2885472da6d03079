import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { around, distance } from 'geokdbush';
import KDBush from 'kdbush';
import type { Cell, Inventory, NearbyCell } from '../model/index.js';

/**
 * The cell inventory: which cells exist, where they are, which site and region they belong to, who
 * their neighbours are. A CSV with a header row:
 *
 *   id,site,region,lat,lon,neighbours,tech,snmpIndex,azimuth
 *   S0001-1,S0001,R1,31.2304,121.4737,S0001-2;S0001-3;S0002-1,LTE1800,1,120
 *
 * `neighbours` is ";"-separated; `tech`, `snmpIndex` and `azimuth` (degrees from north) are optional. A bad row is reported with its
 * line and field and the rest are kept — an inventory export with one broken line must not blind the
 * monitor to the whole network.
 */
export interface InventoryLoad {
  cells: Cell[];
  problems: string[];
}

const REQUIRED = ['id', 'site', 'region', 'lat', 'lon'] as const;

export function parseInventory(text: string, source = 'inventory'): InventoryLoad {
  const problems: string[] = [];
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, comment: '#' });
  } catch (err) {
    return { cells: [], problems: [`${source}: not valid CSV: ${(err as Error).message}`] };
  }
  const header = rows[0] ? Object.keys(rows[0]) : [];
  const missing = REQUIRED.filter((c) => rows.length > 0 && !header.includes(c));
  if (missing.length > 0) return { cells: [], problems: [`${source}: missing column(s) ${missing.join(', ')}`] };

  const cells: Cell[] = [];
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const line = i + 2; // header is line 1
    const bad = (field: string, message: string) => problems.push(`${source}:${line}: ${field}: ${message}`);
    const id = row.id ?? '';
    const lat = Number(row.lat);
    const lon = Number(row.lon);
    const snmpIndex = row.snmpIndex ? Number(row.snmpIndex) : undefined;
    const azimuth = row.azimuth ? Number(row.azimuth) : undefined;
    if (!id) return bad('id', 'empty');
    if (seen.has(id)) return bad('id', `duplicate cell id "${id}"`);
    if (!row.site) return bad('site', 'empty');
    if (!row.region) return bad('region', 'empty');
    if (!Number.isFinite(lat) || lat < -90 || lat > 90)
      return bad('lat', `expected a latitude in [-90, 90], got "${row.lat}"`);
    if (!Number.isFinite(lon) || lon < -180 || lon > 180)
      return bad('lon', `expected a longitude in [-180, 180], got "${row.lon}"`);
    if (snmpIndex !== undefined && !(Number.isInteger(snmpIndex) && snmpIndex >= 0))
      return bad('snmpIndex', `expected a non-negative integer, got "${row.snmpIndex}"`);
    if (azimuth !== undefined && !(Number.isFinite(azimuth) && azimuth >= 0 && azimuth < 360)) {
      return bad('azimuth', `expected degrees in [0, 360), got "${row.azimuth}"`);
    }
    seen.add(id);
    const cell: Cell = {
      id,
      site: row.site,
      region: row.region,
      lat,
      lon,
      neighbours: (row.neighbours ?? '')
        .split(';')
        .map((n) => n.trim())
        .filter(Boolean),
    };
    if (row.tech) cell.tech = row.tech;
    if (snmpIndex !== undefined) cell.snmpIndex = snmpIndex;
    if (azimuth !== undefined) cell.azimuth = azimuth;
    cells.push(cell);
  });
  return { cells, problems };
}

export function loadInventoryFile(file: string): InventoryLoad {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return {
      cells: [],
      problems: [`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`],
    };
  }
  return parseInventory(text, file);
}

const EMPTY: readonly Cell[] = Object.freeze([]);

/**
 * The inventory value (see model's `Inventory`). Sites are the points of a static k-d tree
 * (kdbush, queried on the sphere with geokdbush): the cells of a site share its mast, and there are
 * 3–6 times fewer sites than cells to index. A cell that sits apart from its site (a remote radio
 * head) is indexed as a point of its own.
 */
export class CellInventory implements Inventory {
  readonly cells: readonly Cell[];
  readonly sites: readonly string[];
  readonly regions: readonly string[];
  private readonly byId: ReadonlyMap<string, Cell>;
  private readonly bySite: ReadonlyMap<string, readonly Cell[]>;
  private readonly siteRegion: ReadonlyMap<string, string>;
  /** The cells at each indexed point, in kd-tree id order. */
  private readonly points: (readonly Cell[])[] = [];
  private readonly index?: KDBush;

  private constructor(cells: readonly Cell[]) {
    this.cells = Object.freeze([...cells].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    this.byId = new Map(this.cells.map((c) => [c.id, c]));
    const bySite = new Map<string, Cell[]>();
    const siteRegion = new Map<string, string>();
    for (const c of this.cells) {
      let list = bySite.get(c.site);
      if (!list) bySite.set(c.site, (list = []));
      list.push(c);
      if (!siteRegion.has(c.site)) siteRegion.set(c.site, c.region);
    }
    for (const list of bySite.values()) {
      list.sort((a, b) => (a.snmpIndex ?? Infinity) - (b.snmpIndex ?? Infinity) || (a.id < b.id ? -1 : 1));
    }
    this.bySite = bySite;
    this.siteRegion = siteRegion;
    this.sites = Object.freeze([...bySite.keys()].sort());
    this.regions = Object.freeze([...new Set(siteRegion.values())].sort());
    const at = new Map<string, Cell[]>();
    for (const c of this.cells) {
      const key = `${c.lat},${c.lon}`;
      let list = at.get(key);
      if (!list) at.set(key, (list = []));
      list.push(c);
    }
    this.points = [...at.values()];
    if (this.points.length > 0) {
      const index = new KDBush(this.points.length);
      for (const p of this.points) index.add(p[0]!.lon, p[0]!.lat);
      index.finish();
      this.index = index;
    }
  }

  static of(cells: readonly Cell[]): CellInventory {
    return new CellInventory(cells);
  }

  static readonly empty: CellInventory = new CellInventory([]);

  get size(): number {
    return this.cells.length;
  }

  cell(id: string): Cell | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  cellsOfSite(site: string): readonly Cell[] {
    return this.bySite.get(site) ?? EMPTY;
  }

  regionOfSite(site: string): string | undefined {
    return this.siteRegion.get(site);
  }

  neighbours(id: string): readonly Cell[] {
    const cell = this.byId.get(id);
    if (!cell) return EMPTY;
    return cell.neighbours.map((n) => this.byId.get(n)).filter((c): c is Cell => c !== undefined);
  }

  within(lat: number, lon: number, km: number): NearbyCell[] {
    if (!this.index || !(km >= 0)) return [];
    const out: NearbyCell[] = [];
    for (const i of around(this.index, lon, lat, Infinity, km)) {
      const cells = this.points[i]!;
      const d = distanceKm(lat, lon, cells[0]!.lat, cells[0]!.lon);
      for (const cell of cells) out.push({ cell, km: d });
    }
    return out;
  }
}

/** Great-circle distance, km (argument order lat, lon as everywhere in cellwatch; geokdbush takes lon first). */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  return distance(lon1, lat1, lon2, lat2);
}
