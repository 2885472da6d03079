import type { EpochMs } from '../model/index.js';
import type { Point, SeriesBucket } from './index.js';
import { CELL_FIELDS, type CellField } from './schema.js';

/*
 * What the three series readers (embedded, InfluxDB v1, InfluxDB v2) share: how a result row becomes
 * a Point, how cell lists are split into queries of bounded size, how rows become buckets, and the
 * order answers come in.
 */

export const HOUR_MS = 3_600_000;

/** Cells named in one query (an InfluxQL OR-list or a Flux predicate); keeps queries well under limits. */
export const CELLS_PER_QUERY = 200;

export function chunked<T>(items: readonly T[], size = CELLS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const TAGS = ['cell', 'link', 'site', 'region', 'source'] as const;

/** A query result row (InfluxQL or Flux) as a Point: known tags that are set, numeric fields that are present. */
export function rowPoint(
  row: Readonly<Record<string, unknown>>,
  measurement: string,
  fields: readonly string[],
  ts: number,
): Point {
  const p: Point = { measurement, tags: {}, fields: {}, ts };
  for (const k of TAGS) {
    const v = row[k];
    if (typeof v === 'string' && v !== '') p.tags[k] = v;
  }
  for (const f of fields) {
    const v = row[f];
    if (typeof v === 'number') p.fields[f] = v;
  }
  return p;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const byCell = (a: { cell: string }, b: { cell: string }) => compare(a.cell, b.cell);
export const byLink = (a: { link: string }, b: { link: string }) => compare(a.link, b.link);
export const byCellThenTime = (a: { cell: string; ts: number }, b: { cell: string; ts: number }) =>
  compare(a.cell, b.cell) || a.ts - b.ts;

/** A bucket from per-field means; `available` becomes the share of time up. */
export function bucket(cell: string, ts: EpochMs, count: number, mean: (f: CellField) => number | null): SeriesBucket {
  const b: SeriesBucket = { cell, ts, count };
  for (const f of CELL_FIELDS) {
    const v = mean(f);
    if (v === null || !Number.isFinite(v)) continue;
    if (f === 'available') b.availability = v;
    else b[f] = v;
  }
  return b;
}

/** Means of several rows for one cell and bucket, weighted by their sample counts. */
export class BucketSum {
  readonly sums = new Map<string, number>();
  readonly counts = new Map<string, number>();
  n = 0;
  constructor(
    readonly cell: string,
    readonly ts: EpochMs,
  ) {}
  /** Adds one row of per-field `mean_<f>` and `count_<f>` (a rollup, or an aggregate of raw rows). */
  add(r: Readonly<Record<string, unknown>>): void {
    let n = 0;
    for (const f of CELL_FIELDS) {
      const mean = r[`mean_${f}`];
      const count = r[`count_${f}`];
      if (typeof mean !== 'number' || typeof count !== 'number' || count <= 0) continue;
      this.sums.set(f, (this.sums.get(f) ?? 0) + mean * count);
      this.counts.set(f, (this.counts.get(f) ?? 0) + count);
      n = Math.max(n, count);
    }
    // Rows are per source, and a source's samples carry the same fields (SNMP: the profile's columns,
    // probes: their measurements), so the largest field count is the row's sample count.
    this.n += n;
  }
  bucket(): SeriesBucket {
    return bucket(this.cell, this.ts, this.n, (f) =>
      this.counts.has(f) ? this.sums.get(f)! / this.counts.get(f)! : null,
    );
  }
}
