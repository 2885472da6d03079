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

/** A char scan: cheaper than a regex on the short tag values that almost never need escaping. */
function escapeTagValue(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 44 /* , */ || c === 61 /* = */ || c === 32 /* space */) return s.replace(/[,= ]/g, '\\$&');
  }
  return s;
}

function quoteString(s: string): string {
  return STRING_SPECIAL.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

/*
 * Measurements, tag keys and field keys come from the schema: a handful of strings, escaped once and
 * kept with their separators (`,key=`, `key=`). Plain dictionaries, bounded so that arbitrary keys
 * cannot grow them without limit; tag values are scanned per point (caching them would cost a hash
 * of a freshly built string per point, which measured slower than the scan).
 */
const CACHE_MAX = 10_000;
type Dict = Record<string, string>;
const measurementCache: Dict = Object.create(null) as Dict;
const tagKeyCache: Dict = Object.create(null) as Dict;
const fieldKeyCache: Dict = Object.create(null) as Dict;
let cached = 0;

function cache(dict: Dict, k: string, make: (k: string) => string): string {
  let e = dict[k];
  if (e === undefined) {
    e = make(k);
    if (cached < CACHE_MAX) {
      dict[k] = e;
      cached++;
    }
  }
  return e;
}

const tagKeyPart = (k: string) => ',' + escapeKey(k) + '=';
const fieldKeyPart = (k: string) => escapeKey(k) + '=';

/** One point as one line, without the trailing newline. The point must have passed `pointProblem`. */
export function encodeLine(p: Point): string {
  let line = cache(measurementCache, p.measurement, escapeMeasurement);
  const tags = p.tags;
  for (const k in tags) {
    const v = tags[k]!;
    if (v === '') continue; // line protocol has no empty tag values: an empty tag is an absent tag
    line += cache(tagKeyCache, k, tagKeyPart) + escapeTagValue(v);
  }
  let first = true;
  const fields = p.fields;
  for (const k in fields) {
    const v = fields[k];
    let text: string;
    if (typeof v === 'number') text = '' + v;
    else if (typeof v === 'boolean') text = v ? 't' : 'f';
    else if (typeof v === 'string') text = quoteString(v);
    else continue;
    line += (first ? ' ' : ',') + cache(fieldKeyCache, k, fieldKeyPart) + text;
    first = false;
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
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) return `${what} ${JSON.stringify(s)} contains a line break`;
  }
  if (s.charCodeAt(s.length - 1) === 92 /* \\ */)
    return `${what} ${JSON.stringify(s)} ends with a backslash, which line protocol cannot carry`;
  return undefined;
}

/** Names (measurements, tag and field keys) already found valid: a few schema strings, checked once. */
const validNames = new Set<string>();
function checkName(what: string, s: string): string | undefined {
  if (validNames.has(s)) return undefined;
  const problem = nameProblem(what, s);
  if (!problem && validNames.size < CACHE_MAX) validNames.add(s);
  return problem;
}

/**
 * Why a point cannot be written, or undefined when it can. Checked before a point enters a batch, so
 * one bad value is dead-lettered with a clear reason instead of failing the request it would ride in.
 * (The server can still refuse a valid line — a field type conflict with older data — which the
 * pipeline finds by bisection.)
 */
export function pointProblem(p: Point): string | undefined {
  if (typeof p.measurement !== 'string') return 'measurement is not a string';
  const m = checkName('measurement', p.measurement);
  if (m) return m;
  if (!Number.isSafeInteger(p.ts)) return `timestamp ${String(p.ts)} is not an integer of epoch milliseconds`;
  const tags = p.tags;
  for (const k in tags) {
    const v = tags[k];
    const problem =
      checkName('tag key', k) ??
      (typeof v !== 'string' ? `tag ${k} is not a string` : v === '' ? undefined : nameProblem(`tag ${k}`, v));
    if (problem) return problem;
  }
  let n = 0;
  const fields = p.fields;
  for (const k in fields) {
    const v = fields[k];
    if (typeof v === 'number') {
      if (v - v !== 0) return `field ${k} is ${String(v)}, not a finite number`; // NaN and ±Infinity
    } else if (typeof v === 'string') {
      if (v.length > 64 * 1024) return `field ${k} is a string of ${v.length} characters (limit 64 KiB)`;
    } else if (typeof v !== 'boolean') {
      return `field ${k} has unsupported type ${v === null ? 'null' : typeof v}`;
    }
    const problem = checkName('field key', k);
    if (problem) return problem;
    n++;
  }
  if (n === 0) return 'point has no fields';
  return undefined;
}
