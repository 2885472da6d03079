import { SAMPLE_NUMERIC_FIELDS, type Cell, type LinkSample, type Sample, type SampleSource } from '../model/index.js';
import type { Point } from './index.js';

/*
 * The measurement schema, documented in docs/schema.md. Every number is a float field (booleans too:
 * `available` and `operUp` are 1.0 / 0.0, so hourly means give availability directly and InfluxQL's
 * mean() works on them). Tags are bounded: cell, site, region, source for cells; link, site, region,
 * source for links — written in sorted key order, as InfluxDB prefers.
 */

export const CELL_MEASUREMENT = 'cell_kpi';
export const LINK_MEASUREMENT = 'link';
/** Hourly rollups of `cell_kpi` (InfluxDB continuous query target; the embedded store's `hourly` table). */
export const CELL_HOURLY_MEASUREMENT = 'cell_kpi_1h';

/** Float fields of `cell_kpi`, in a stable order. */
export const CELL_FIELDS = ['intervalS', ...SAMPLE_NUMERIC_FIELDS, 'available'] as const;
export type CellField = (typeof CELL_FIELDS)[number];

const LINK_NUMERIC_FIELDS = [
  'intervalS',
  'inMbps',
  'outMbps',
  'speedMbps',
  'utilPct',
  'inErrors',
  'outErrors',
] as const;
/** Float fields of `link`, in a stable order. */
export const LINK_FIELDS = [...LINK_NUMERIC_FIELDS, 'operUp'] as const;
export type LinkField = (typeof LINK_FIELDS)[number];

const SOURCES: readonly SampleSource[] = ['snmp', 'probe', 'push', 'sim', 'import'];

/** A cell sample as a `cell_kpi` point; site and region come from the inventory when the cell is known. */
export function samplePoint(s: Sample, cell?: Cell): Point {
  const tags: Record<string, string> = { cell: s.cell };
  if (cell?.region) tags.region = cell.region;
  if (cell?.site) tags.site = cell.site;
  tags.source = s.source;
  // Named reads and writes, in CELL_FIELDS order (a loop over the names is a keyed access per field:
  // this runs per pushed sample). test/store-embedded.test.ts checks it against CELL_FIELDS.
  const fields: Record<string, number> = {};
  if (s.intervalS !== undefined) fields.intervalS = s.intervalS;
  if (s.dlMbps !== undefined) fields.dlMbps = s.dlMbps;
  if (s.ulMbps !== undefined) fields.ulMbps = s.ulMbps;
  if (s.latencyMs !== undefined) fields.latencyMs = s.latencyMs;
  if (s.rsrpDbm !== undefined) fields.rsrpDbm = s.rsrpDbm;
  if (s.rsrqDb !== undefined) fields.rsrqDb = s.rsrqDb;
  if (s.sinrDb !== undefined) fields.sinrDb = s.sinrDb;
  if (s.prbUtilPct !== undefined) fields.prbUtilPct = s.prbUtilPct;
  if (s.activeUsers !== undefined) fields.activeUsers = s.activeUsers;
  if (s.dlVolumeMB !== undefined) fields.dlVolumeMB = s.dlVolumeMB;
  if (s.ulVolumeMB !== undefined) fields.ulVolumeMB = s.ulVolumeMB;
  if (s.available !== undefined) fields.available = s.available ? 1 : 0;
  return { measurement: CELL_MEASUREMENT, tags, fields, ts: s.ts };
}

/**
 * A `cell_kpi` point's fields into `out[at…]` in CELL_FIELDS order, null where absent: named reads, as
 * in samplePoint (the fields objects it builds share a few shapes, so these reads stay monomorphic).
 */
export function cellColumns(f: Point['fields'], out: (number | string | null)[], at: number): void {
  out[at] = (f.intervalS as number | undefined) ?? null;
  out[at + 1] = (f.dlMbps as number | undefined) ?? null;
  out[at + 2] = (f.ulMbps as number | undefined) ?? null;
  out[at + 3] = (f.latencyMs as number | undefined) ?? null;
  out[at + 4] = (f.rsrpDbm as number | undefined) ?? null;
  out[at + 5] = (f.rsrqDb as number | undefined) ?? null;
  out[at + 6] = (f.sinrDb as number | undefined) ?? null;
  out[at + 7] = (f.prbUtilPct as number | undefined) ?? null;
  out[at + 8] = (f.activeUsers as number | undefined) ?? null;
  out[at + 9] = (f.dlVolumeMB as number | undefined) ?? null;
  out[at + 10] = (f.ulVolumeMB as number | undefined) ?? null;
  out[at + 11] = (f.available as number | undefined) ?? null;
}

/** A transport-link sample as a `link` point. */
export function linkPoint(l: LinkSample, region?: string): Point {
  const tags: Record<string, string> = { link: l.link };
  if (region) tags.region = region;
  if (l.site) tags.site = l.site;
  tags.source = l.source;
  const fields: Record<string, number> = {};
  for (const f of LINK_NUMERIC_FIELDS) {
    const v = l[f];
    if (v !== undefined) fields[f] = v;
  }
  if (l.operUp !== undefined) fields.operUp = l.operUp ? 1 : 0;
  return { measurement: LINK_MEASUREMENT, tags, fields, ts: l.ts };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function flag(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v >= 0.5;
  return undefined;
}

function source(v: string | undefined): SampleSource {
  return SOURCES.includes(v as SampleSource) ? (v as SampleSource) : 'import';
}

/** The reverse of `samplePoint`, for readers. Unknown fields are ignored. */
export function pointSample(p: Point): Sample {
  const s: Sample = { cell: p.tags.cell ?? '', ts: p.ts, source: source(p.tags.source) };
  const interval = num(p.fields.intervalS);
  if (interval !== undefined) s.intervalS = interval;
  for (const f of SAMPLE_NUMERIC_FIELDS) {
    const v = num(p.fields[f]);
    if (v !== undefined) s[f] = v;
  }
  const available = flag(p.fields.available);
  if (available !== undefined) s.available = available;
  return s;
}

/** The reverse of `linkPoint`. */
export function pointLink(p: Point): LinkSample {
  const l: LinkSample = { link: p.tags.link ?? '', site: p.tags.site ?? '', ts: p.ts, source: source(p.tags.source) };
  for (const f of LINK_NUMERIC_FIELDS) {
    const v = num(p.fields[f]);
    if (v !== undefined) l[f] = v;
  }
  const up = flag(p.fields.operUp);
  if (up !== undefined) l.operUp = up;
  return l;
}

const CELL_FIELD_SET: ReadonlySet<string> = new Set(CELL_FIELDS);
const LINK_FIELD_SET: ReadonlySet<string> = new Set(LINK_FIELDS);

/**
 * Why a point does not fit the schema, or undefined. Only the embedded store enforces it (its tables
 * have a column per field); InfluxDB accepts any measurement, and the schema is what cellwatch writes.
 */
export function schemaProblem(p: Point): string | undefined {
  const allowed =
    p.measurement === CELL_MEASUREMENT
      ? CELL_FIELD_SET
      : p.measurement === LINK_MEASUREMENT
        ? LINK_FIELD_SET
        : undefined;
  if (!allowed) return `unknown measurement "${p.measurement}" (expected ${CELL_MEASUREMENT} or ${LINK_MEASUREMENT})`;
  const key = p.measurement === CELL_MEASUREMENT ? 'cell' : 'link';
  if (!p.tags[key]) return `${p.measurement} point without a ${key} tag`;
  for (const k in p.fields) {
    if (!allowed.has(k)) return `unknown field "${k}" for ${p.measurement}`;
    if (typeof p.fields[k] !== 'number') return `field ${k} must be a number (float), got ${typeof p.fields[k]}`;
  }
  return undefined;
}
