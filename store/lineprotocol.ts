import type { Point } from './index.js';

/*
 * InfluxDB line protocol, written by hand because it is the hot path: the issue asks for ≥ 1M
 * points/s on one core, and node-influx's serialiser costs about 20% of a write (TOOLCHAIN.md).
 *
 * Rules (InfluxDB 1.x and 2.x agree on them):
 * - measurement: `,` and space are escaped; tag keys, tag values, field keys: `,`, `=` and space;
 *   string field values are double-quoted with `"` and `\` escaped.
 * - numbers are always written without the `i` suffix, so InfluxDB stores every number as a float:
 *   a field never flips between integer and float from one write to the next (InfluxDB would reject
 *   the second write of the shard with "field type conflict").
 * - booleans are `t` / `f`; timestamps are epoch milliseconds, sent with `precision=ms`.
 * - newlines cannot be carried in names or tag values, and a trailing backslash would escape the
 *   separator after it: `pointProblem` rejects those before a point reaches the encoder.
 */

const MEASUREMENT_SPECIAL = /[, ]/;
const KEY_SPECIAL = /[,= ]/;
const STRING_SPECIAL = /["\\]/;

function escapeMeasurement(s: string): string {
  return MEASUREMENT_SPECIAL.test(s) ? s.replace(/[, ]/g, '\\$&') : s;
}

function escapeKey(s: string): string {
  return KEY_SPECIAL.test(s) ? s.replace(/[,= ]/g, '\\$&') : s;
}

function quoteString(s: string): string {
  return STRING_SPECIAL.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

/**
 * Escaped `measurement,tag=value,...` prefixes, keyed by the raw strings. Collectors send the same
 * few thousand series every interval, so most points hit the cache and skip escaping entirely. The
 * cache is bounded: beyond `SERIES_CACHE_MAX` it is cleared and refilled (no unbounded memory).
 */
const SERIES_CACHE_MAX = 100_000;
const seriesCache = new Map<string, string>();

function seriesKey(p: Point): string {
  // A cheap raw key: the parts joined with a separator that cannot occur in valid names (\n is rejected).
  let raw = p.measurement;
  for (const k in p.tags) raw += '\n' + k + '\n' + p.tags[k];
  let key = seriesCache.get(raw);
  if (key === undefined) {
    key = escapeMeasurement(p.measurement);
    for (const k in p.tags) {
      const v = p.tags[k]!;
      if (v === '') continue; // line protocol has no empty tag values: an empty tag is an absent tag
      key += ',' + escapeKey(k) + '=' + escapeKey(v);
    }
    if (seriesCache.size >= SERIES_CACHE_MAX) seriesCache.clear();
    seriesCache.set(raw, key);
  }
  return key;
}

const fieldKeyCache = new Map<string, string>();
function fieldKey(k: string): string {
  let e = fieldKeyCache.get(k);
  if (e === undefined) {
    e = escapeKey(k);
    if (fieldKeyCache.size < 10_000) fieldKeyCache.set(k, e);
  }
  return e;
}

/** One point as one line, without the trailing newline. The point must have passed `pointProblem`. */
export function encodeLine(p: Point): string {
  let line = seriesKey(p);
  let sep = ' ';
  for (const k in p.fields) {
    const v = p.fields[k];
    let text: string;
    if (typeof v === 'number') text = String(v);
    else if (typeof v === 'boolean') text = v ? 't' : 'f';
    else if (typeof v === 'string') text = quoteString(v);
    else continue;
    line += sep + fieldKey(k) + '=' + text;
    sep = ',';
  }
  return line + ' ' + p.ts;
}

/** A batch as a line-protocol body (newline-terminated lines). */
export function encodeLines(points: readonly Point[]): string {
  let body = '';
  for (let i = 0; i < points.length; i++) body += encodeLine(points[i]!) + '\n';
  return body;
}

function nameProblem(what: string, s: string): string | undefined {
  if (s.length === 0) return `${what} is empty`;
  if (s.includes('\n') || s.includes('\r')) return `${what} ${JSON.stringify(s)} contains a line break`;
  if (s.endsWith('\\')) return `${what} ${JSON.stringify(s)} ends with a backslash, which line protocol cannot carry`;
  return undefined;
}

/**
 * Why a point cannot be written, or undefined when it can. Checked before a point enters a batch, so
 * one bad value is dead-lettered with a clear reason instead of failing the request it would ride in.
 * (The server can still refuse a valid line — a field type conflict with older data — which the
 * pipeline finds by bisection.)
 */
export function pointProblem(p: Point): string | undefined {
  if (typeof p.measurement !== 'string') return 'measurement is not a string';
  const m = nameProblem('measurement', p.measurement);
  if (m) return m;
  if (!Number.isSafeInteger(p.ts)) return `timestamp ${String(p.ts)} is not an integer of epoch milliseconds`;
  for (const k in p.tags) {
    const v = p.tags[k];
    const problem = nameProblem('tag key', k) ?? (typeof v !== 'string' ? `tag ${k} is not a string` : v === '' ? undefined : nameProblem(`tag ${k}`, v));
    if (problem) return problem;
  }
  let fields = 0;
  for (const k in p.fields) {
    const v = p.fields[k];
    const problem = nameProblem('field key', k);
    if (problem) return problem;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `field ${k} is ${String(v)}, not a finite number`;
    } else if (typeof v === 'string') {
      if (v.length > 64 * 1024) return `field ${k} is a string of ${v.length} characters (limit 64 KiB)`;
    } else if (typeof v !== 'boolean') {
      return `field ${k} has unsupported type ${v === null ? 'null' : typeof v}`;
    }
    fields++;
  }
  if (fields === 0) return 'point has no fields';
  return undefined;
}
