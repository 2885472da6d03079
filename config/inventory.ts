import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Cell } from '../model/index.js';

/**
 * The cell inventory: which cells exist, where they are, which site and region they belong to, who
 * their neighbours are. A CSV with a header row:
 *
 *   id,site,region,lat,lon,neighbours,tech,snmpIndex
 *   S0001-1,S0001,R1,31.2304,121.4737,S0001-2;S0001-3;S0002-1,LTE1800,1
 *
 * `neighbours` is ";"-separated; `tech` and `snmpIndex` are optional. A bad row is reported with its
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
