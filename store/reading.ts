import type { Point } from './index.js';

/*
 * What the three series readers (embedded, InfluxDB v1, InfluxDB v2) share: how a result row becomes
 * a Point, how cell lists are split into queries of bounded size, and the order answers come in.
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
export function rowPoint(row: Readonly<Record<string, unknown>>, measurement: string, fields: readonly string[], ts: number): Point {
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
export const byCellThenTime = (a: { cell: string; ts: number }, b: { cell: string; ts: number }) => compare(a.cell, b.cell) || a.ts - b.ts;
