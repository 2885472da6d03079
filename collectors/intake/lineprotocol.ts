import type { EpochMs } from '../../model/index.js';
import type { Rejection } from './index.js';

/*
 * InfluxDB line protocol, read the way InfluxDB 1.6 reads it: a port of models/points.go
 * (ParsePointsWithPrecision, scanLine, scanKey, scanFields, scanNumber, scanBoolean, scanTime and the
 * field iterator), so that what `/write` accepts and refuses, and the values it stores, are the same as
 * the real server's. test/intake-lineprotocol-influxdb.test.ts posts every case of
 * test/fixtures/intake-lineprotocol/cases.json to a throwaway influxd and compares.
 *
 * What 1.6 does, and so this parser:
 * - lines end at `\n` outside a quoted string value (a string field may span lines); a backslash
 *   escapes the next byte; leading spaces/tabs are skipped; `#` starts a comment line; blank lines are
 *   skipped; a line with a bad point refuses that point only (the others are written);
 * - measurement: `\,` `\ ` escaped; tag keys/values and field keys: `\,` `\ ` `\=`; a backslash before
 *   any other character stays literally; string values: `\"` and `\\`;
 * - numbers: float (`1`, `-1.5`, `.5`, `1.`, `1e9`, `1.5E-3`), integer `1i` within int64; unsigned `1u`
 *   is refused (1.6 has uint64 support switched off); NaN and Inf are refused; booleans t T true True
 *   TRUE f F false False FALSE;
 * - timestamp: an optional signed integer in the request's precision, within InfluxDB's range
 *   (±9223372036854775806 ns); only spaces may follow it; missing = the caller's "now", truncated to
 *   the precision (as 1.6's SetPrecision does);
 * - a duplicate tag key refuses the point; a duplicate field key: the last value wins, and two
 *   different types refuse the point ("field type conflict"); a field or tag named `time` refuses it;
 * - a series key (measurement + tags + field key) over 65,535 bytes refuses the point.
 *
 * Where cellwatch knowingly differs (docs/intake.md):
 * - a type conflict *across* points and writes (float earlier, integer now) is the database's business
 *   and not checked: cellwatch stores every number as a float;
 * - timestamps are kept in milliseconds (the model's unit): sub-millisecond digits are cut off;
 *   integers beyond 2^53 keep JavaScript's nearest double;
 * - `precision=us` means microseconds (1.6 silently takes any unknown precision, `us` included, as
 *   nanoseconds), and an unknown precision is refused by `parsePrecision` rather than read as ns.
 */

/** The `precision` query parameter, InfluxDB 1.x spelling. */
export type Precision = 'n' | 'u' | 'ms' | 's' | 'm' | 'h';

export type FieldValue = number | boolean | string;

/** One parsed point. Shaped like the store's Point, so an accepted point can be written as it is. */
export interface LinePoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** Epoch milliseconds (finer digits cut off toward zero, as InfluxDB's epoch=ms reads do). */
  ts: EpochMs;
}

export type LineVerdict = { ok: true; point: LinePoint } | { ok: false; error: string };

export interface LineOptions {
  precision?: Precision;
  /** Time for lines without a timestamp (epoch ms); InfluxDB uses its clock, cellwatch takes it as an argument. */
  now: EpochMs;
}

/**
 * The `precision` query parameter → Precision, or undefined for an unknown one. Absent or empty means
 * nanoseconds, as in InfluxDB; `ns`, `us` and `µs` are taken as InfluxDB 2.x spells them.
 */
export function parsePrecision(q: string | null | undefined): Precision | undefined {
  switch (q) {
    case undefined:
    case null:
    case '':
    case 'n':
    case 'ns':
      return 'n';
    case 'u':
    case 'us':
    case 'µ':
    case 'µs':
      return 'u';
    case 'ms':
    case 's':
    case 'm':
    case 'h':
      return q;
    default:
      return undefined;
  }
}

const MAX_KEY_LENGTH = 65535;
const SP = 32;
const COMMA = 44;
const EQ = 61;
const QUOTE = 34;
const BSL = 92;
const NL = 10;

/** 1.6 treats NUL as whitespace too. */
function isWhitespace(c: number): boolean {
  return c === SP || c === 9 || c === 0;
}

function skipWhitespace(buf: string, i: number): number {
  while (i < buf.length && isWhitespace(buf.charCodeAt(i))) i++;
  return i;
}

class LineError {
  constructor(
    readonly message: string,
    readonly pos: number,
  ) {}
}

function isNumeric(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46;
}

// ---------------------------------------------------------------------------------------------------
// The key: measurement[,tag=value...]

/** Returns the end of the measurement, and whether tags follow. */
function scanMeasurement(buf: string, i: number): { tags: boolean; i: number } | LineError {
  if (i >= buf.length || buf.charCodeAt(i) === COMMA) return new LineError('missing measurement', i);
  for (;;) {
    i++;
    if (i >= buf.length) return new LineError('missing fields', i);
    if (buf.charCodeAt(i - 1) === BSL) continue;
    const c = buf.charCodeAt(i);
    if (c === COMMA) return { tags: true, i: i + 1 };
    if (c === SP) return { tags: false, i };
  }
}

function scanTagsKey(buf: string, i: number): number | LineError {
  const c0 = buf.charCodeAt(i);
  if (i >= buf.length || c0 === SP || c0 === COMMA || c0 === EQ) return new LineError('missing tag key', i);
  for (;;) {
    i++;
    const c = buf.charCodeAt(i);
    if (i >= buf.length || ((c === SP || c === COMMA) && buf.charCodeAt(i - 1) !== BSL))
      return new LineError('missing tag value', i);
    if (c === EQ && buf.charCodeAt(i - 1) !== BSL) return i + 1;
  }
}

/** Returns the position after the value and whether another tag follows (else the fields do). */
function scanTagsValue(buf: string, i: number): { more: boolean; i: number } | LineError {
  const c0 = buf.charCodeAt(i);
  if (i >= buf.length || c0 === COMMA || c0 === SP) return new LineError('missing tag value', i);
  for (;;) {
    i++;
    if (i >= buf.length) return new LineError('missing fields', i);
    const c = buf.charCodeAt(i);
    const escaped = buf.charCodeAt(i - 1) === BSL;
    if (c === EQ && !escaped) return new LineError('invalid tag format', i);
    if (c === COMMA && !escaped) return { more: true, i: i + 1 };
    if (c === SP && !escaped) return { more: false, i };
  }
}

interface Key {
  end: number;
  measurement: string;
  tags: Record<string, string>;
  /** Length of the series key in bytes (measurement and tags as written). */
  bytes: number;
}

/** Measurements and field keys (1.6's escape.Unescape): `\,` `\"` `\ ` `\=`, left to right. */
function unescapeName(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BSL && i + 1 < s.length) {
      const n = s.charCodeAt(i + 1);
      if (n === COMMA || n === SP || n === EQ || n === QUOTE) {
        out += s[i + 1];
        i++;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

/** Tag keys and values: 1.6 replaces `\,`, then `\ `, then `\=` over the whole string, in that order. */
function unescapeTag(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  if (s.includes(',')) s = s.replaceAll('\\,', ',');
  if (s.includes(' ')) s = s.replaceAll('\\ ', ' ');
  if (s.includes('=')) s = s.replaceAll('\\=', '=');
  return s;
}

/** Scans to `stop` not preceded by a backslash (points.go scanTo). */
function scanTo(buf: string, i: number, stop: number, end = buf.length): number {
  while (i < end) {
    if (buf.charCodeAt(i) === stop && (i === 0 || buf.charCodeAt(i - 1) !== BSL)) break;
    i++;
  }
  return i;
}

function byteLength(s: string): number {
  // Only strings that could be near the limit are measured in bytes; ASCII-only is the common case.
  return s.length * 3 < MAX_KEY_LENGTH ? s.length : Buffer.byteLength(s);
}

function scanKey(buf: string, start: number): Key | LineError {
  const m = scanMeasurement(buf, start);
  if (m instanceof LineError) return m;
  let i = m.i;
  const tagStarts: number[] = [];
  if (m.tags) {
    for (;;) {
      tagStarts.push(i);
      const k = scanTagsKey(buf, i);
      if (k instanceof LineError) return k;
      const v = scanTagsValue(buf, k);
      if (v instanceof LineError) return v;
      i = v.i;
      if (!v.more) break;
    }
  }
  const end = i;
  const nameEnd = tagStarts.length > 0 ? tagStarts[0]! - 1 : end;
  const tags: Record<string, string> = {};
  if (tagStarts.length > 0) {
    for (let t = 0; t < tagStarts.length; t++) {
      const ts = tagStarts[t]!;
      const te = t + 1 < tagStarts.length ? tagStarts[t + 1]! - 1 : end;
      const eq = scanTo(buf, ts, EQ, te);
      // Unescaping cannot make two different keys equal (`,` ` ` `=` only occur escaped in a key), so
      // a repeated key shows in the unescaped tags as in 1.6's raw comparison.
      const key = unescapeTag(buf.slice(ts, eq));
      if (Object.hasOwn(tags, key)) return new LineError('duplicate tags', ts);
      if (key === '__proto__') return new LineError('a tag may not be called "__proto__"', ts);
      tags[key] = unescapeTag(buf.slice(eq + 1, te));
    }
  }
  const measurement = unescapeName(buf.slice(start, nameEnd));
  return { end, measurement, tags, bytes: byteLength(buf.slice(start, end)) };
}

// ---------------------------------------------------------------------------------------------------
// Fields

const ERR_NUMBER = 'invalid number';

function scanNumber(buf: string, i: number): number | LineError {
  const start = i;
  let isInt = false;
  let isUnsigned = false;
  if (i < buf.length && buf.charCodeAt(i) === 45) {
    i++;
    if (i === buf.length) return new LineError(ERR_NUMBER, i);
  }
  let decimal = false;
  let scientific = false;
  for (;;) {
    if (i >= buf.length) break;
    const c = buf.charCodeAt(i);
    if (c === COMMA || c === SP) break;
    if (c === 105 /* i */ && i > start && !(isInt || isUnsigned)) {
      isInt = true;
      i++;
      continue;
    } else if (c === 117 /* u */ && i > start && !(isInt || isUnsigned)) {
      isUnsigned = true;
      i++;
      continue;
    }
    if (c === 46) {
      if (decimal) return new LineError(ERR_NUMBER, i);
      decimal = true;
    }
    if (i > start && (c === 101 || c === 69)) {
      scientific = true;
      i++;
      continue;
    }
    if (c === 43 || c === 45) {
      const p = buf.charCodeAt(i - 1);
      if (p === 101 || p === 69) {
        i++;
        continue;
      }
    }
    if (i + 2 < buf.length && (c === 78 || c === 110)) return new LineError(ERR_NUMBER, i);
    if (!isNumeric(c)) return new LineError(ERR_NUMBER, i);
    i++;
  }
  if ((isInt || isUnsigned) && (decimal || scientific)) return new LineError(ERR_NUMBER, i);
  let digits = i - start;
  if (isInt) digits--;
  if (decimal) digits--;
  if (buf.charCodeAt(start) === 45) digits--;
  if (digits === 0) return new LineError(ERR_NUMBER, i);
  if (isInt) {
    if (buf.charCodeAt(i - 1) !== 105) return new LineError(ERR_NUMBER, i);
    const text = buf.slice(start, i - 1);
    if (text.length >= 19 && !int64InRange(text))
      return new LineError(`unable to parse integer ${text}: value out of range`, start);
  } else if (isUnsigned) {
    // 1.6 is built without uint64 support: every `u` value is refused.
    return new LineError(ERR_NUMBER, i);
  } else if (scientific || i - start >= 25) {
    // strconv.ParseFloat and Number() agree on what scanNumber lets through ("1e" fails both).
    if (!Number.isFinite(Number(buf.slice(start, i)))) return new LineError('invalid float', start);
  }
  return i;
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';

/** Whether a decimal integer string (optionally with a leading '-') fits int64. */
function int64InRange(text: string): boolean {
  const neg = text.charCodeAt(0) === 45;
  let digits = neg ? text.slice(1) : text;
  let z = 0;
  while (z < digits.length - 1 && digits.charCodeAt(z) === 48) z++;
  digits = digits.slice(z);
  const limit = neg ? INT64_MIN_ABS : INT64_MAX;
  if (digits.length !== limit.length) return digits.length < limit.length;
  return digits <= limit;
}

function scanBoolean(buf: string, i: number): number | LineError {
  const start = i;
  const c0 = buf.charCodeAt(i);
  if (i < buf.length && c0 !== 116 && c0 !== 102 && c0 !== 84 && c0 !== 70) return new LineError('invalid boolean', i);
  i++;
  for (;;) {
    if (i >= buf.length) break;
    const c = buf.charCodeAt(i);
    if (c === COMMA || c === SP) break;
    i++;
  }
  const n = i - start;
  if (n === 1) return i;
  const word = buf.slice(start, i);
  const valid =
    word === 'true' || word === 'True' || word === 'TRUE' || word === 'false' || word === 'False' || word === 'FALSE';
  return valid ? i : new LineError('invalid boolean', start);
}

/** Returns the end of the field set. */
function scanFields(buf: string, start: number): number | LineError {
  let i = skipWhitespace(buf, start);
  let quoted = false;
  let equals = 0;
  let commas = 0;
  for (;;) {
    if (i >= buf.length) break;
    const c = buf.charCodeAt(i);
    if (c === BSL && i + 1 < buf.length) {
      i += 2;
      continue;
    }
    if (c === QUOTE && equals > commas) {
      quoted = !quoted;
      i++;
      continue;
    }
    if (c === EQ && !quoted) {
      equals++;
      const p1 = buf.charCodeAt(i - 1);
      const p2 = buf.charCodeAt(i - 2);
      if (p1 === SP && p2 !== BSL) return new LineError('missing field key', i);
      if (p1 === COMMA && p2 !== BSL) return new LineError('missing field key', i);
      if (i + 1 >= buf.length) return new LineError('missing field value', i);
      const n = buf.charCodeAt(i + 1);
      if (n === COMMA || n === SP) return new LineError('missing field value', i);
      if (isNumeric(n) || n === 45 || n === 78 || n === 110) {
        const r = scanNumber(buf, i + 1);
        if (r instanceof LineError) return r;
        i = r;
        continue;
      }
      if (n !== QUOTE) {
        const r = scanBoolean(buf, i + 1);
        if (r instanceof LineError) return r;
        i = r;
        continue;
      }
    }
    if (c === COMMA && !quoted) commas++;
    if (c === SP && !quoted) break;
    i++;
  }
  if (quoted) return new LineError('unbalanced quotes', i);
  if (equals === 0 || commas !== equals - 1) return new LineError('invalid field format', i);
  return i;
}

/** points.go scanFieldValue: to the next unquoted comma; only `\"` and `\\` escape here. */
function scanFieldValue(buf: string, i: number, end: number): number {
  let quoted = false;
  while (i < end) {
    const c = buf.charCodeAt(i);
    if (c === BSL && i + 1 < end) {
      const n = buf.charCodeAt(i + 1);
      if (n === QUOTE || n === BSL) {
        i += 2;
        continue;
      }
    }
    if (c === QUOTE) {
      i++;
      quoted = !quoted;
      continue;
    }
    if (c === COMMA && !quoted) break;
    i++;
  }
  return i;
}

function unescapeStringField(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BSL && i + 1 < s.length) {
      const n = s.charCodeAt(i + 1);
      if (n === BSL || n === QUOTE) {
        out += s[i + 1];
        i++;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

type FieldType = 'float' | 'integer' | 'string' | 'boolean';

/** The field iterator of points.go over [start, end): key, type, value. */
/** Field keys of the last lines by position (plain keys without escapes only). */
const KEY_MEMO_SIZE = 32;
const keyMemo: (string | undefined)[] = new Array<string | undefined>(KEY_MEMO_SIZE).fill(undefined);

function readFields(
  buf: string,
  start: number,
  end: number,
  keyBytes: number,
): { fields: Record<string, FieldValue> } | LineError {
  const fields: Record<string, FieldValue> = {};
  // Integer field keys, kept only to tell an integer from a float when a key repeats (rare).
  let ints: string[] | undefined;
  let i = start;
  for (let n = 0; i < end; n++) {
    // The n-th key is usually the n-th key of the line before (a sender writes its fields in one
    // order): reusing that string skips a slice and the property-key lookup a fresh string costs.
    const memo = n < KEY_MEMO_SIZE ? keyMemo[n] : undefined;
    let eq: number;
    let rawKey: string;
    let key: string;
    if (memo !== undefined && buf.charCodeAt(i + memo.length) === EQ && buf.startsWith(memo, i)) {
      eq = i + memo.length;
      rawKey = key = memo;
    } else {
      eq = scanTo(buf, i, EQ, end);
      rawKey = buf.slice(i, eq);
      key = unescapeName(rawKey);
      // Only keys that read as written: a memo is matched as raw text.
      if (n < KEY_MEMO_SIZE && key === rawKey && rawKey.length <= 64) keyMemo[n] = key;
    }
    const size = keyBytes + 4 + byteLength(rawKey);
    if (size > MAX_KEY_LENGTH) return new LineError(`max key length exceeded: ${size} > ${MAX_KEY_LENGTH}`, i);
    const vEnd = scanFieldValue(buf, eq + 1, end);
    i = vEnd + 1;
    if (key === '' || vEnd === eq + 1) continue;
    let type: FieldType;
    let value: FieldValue;
    const c = buf.charCodeAt(eq + 1);
    if (c === QUOTE) {
      type = 'string';
      value = unescapeStringField(buf.slice(eq + 2, vEnd - 1));
    } else if (startsNumber(c)) {
      const integer = buf.charCodeAt(vEnd - 1) === 105; /* i */
      type = integer ? 'integer' : 'float';
      value = Number(buf.slice(eq + 1, integer ? vEnd - 1 : vEnd));
      if (!Number.isFinite(value)) return new LineError(`unable to parse field ${key}: invalid number`, eq + 1);
    } else {
      type = 'boolean';
      value = c === 116 || c === 84; // t T true True TRUE; scanBoolean allowed nothing else
    }
    if (key === 'time') return new LineError('invalid field name: a field may not be called "time"', eq);
    if (key === '__proto__') return new LineError('a field may not be called "__proto__"', eq);
    if (Object.hasOwn(fields, key)) {
      const prev = typeOf(fields[key]!, ints !== undefined && ints.includes(key));
      if (prev !== type) return new LineError(`field type conflict: field ${key} is both ${prev} and ${type}`, eq);
    }
    if (type === 'integer') (ints ??= []).push(key);
    fields[key] = value;
  }
  return { fields };
}

/** points.go's test for a numeric field value: its first byte is one of `0123456789-.nNiIu`. */
function startsNumber(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 110 || c === 78 || c === 105 || c === 73 || c === 117;
}

function typeOf(v: FieldValue, integer: boolean): FieldType {
  return typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : integer ? 'integer' : 'float';
}

// ---------------------------------------------------------------------------------------------------
// Time

const PRECISION_MS: Record<Precision, number> = { n: 1e-6, u: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/**
 * The largest |timestamp| per precision: InfluxDB keeps time as int64 nanoseconds within
 * ±9223372036854775806, so ⌊9223372036854775806 / unit⌋. Compared as digit strings, never as doubles.
 */
const PRECISION_LIMIT: Record<Precision, string> = {
  n: '9223372036854775806',
  u: '9223372036854775',
  ms: '9223372036854',
  s: '9223372036',
  m: '153722867',
  h: '2562047',
};
const TIME_RANGE = 'time outside range -9223372036854775806 - 9223372036854775806';

/** Returns the end of the timestamp token (after skipping whitespace) and its start. */
function scanTime(buf: string, i: number): { start: number; end: number } | LineError {
  const start = skipWhitespace(buf, i);
  i = start;
  for (;;) {
    if (i >= buf.length) break;
    const c = buf.charCodeAt(i);
    if (c === NL || c === SP) break;
    if (i === start && c === 45) {
      i++;
      continue;
    }
    if (c < 48 || c > 57) return new LineError('bad timestamp', i);
    i++;
  }
  return { start, end: i };
}

/** A timestamp token in `precision` → epoch ms, or why not. Exact for every int64 input. */
export function timestampMs(text: string, precision: Precision): number | string {
  const neg = text.charCodeAt(0) === 45;
  let digits = neg ? text.slice(1) : text;
  if (digits.length === 0) return `bad timestamp "${text}"`;
  if (digits.length > 1 && digits.charCodeAt(0) === 48) {
    let z = 0;
    while (z < digits.length - 1 && digits.charCodeAt(z) === 48) z++;
    digits = digits.slice(z);
  }
  if (!int64InRange(text)) return `unable to parse timestamp "${text}": value out of range`;
  const limit = PRECISION_LIMIT[precision];
  if (digits.length > limit.length || (digits.length === limit.length && digits > limit)) return TIME_RANGE;
  // Nanoseconds and microseconds: cut the sub-millisecond digits off the string (a double could not
  // hold a 19-digit nanosecond figure) — toward zero, as InfluxDB's own epoch=ms reads do, so a point
  // re-imported from an export has the time cellwatch's InfluxDB reader saw.
  const cut = precision === 'n' ? 6 : precision === 'u' ? 3 : 0;
  if (cut > 0) {
    const ms = digits.length > cut ? Number(digits.slice(0, digits.length - cut)) : 0;
    return neg && ms !== 0 ? -ms : ms;
  }
  const v = Number(digits) * PRECISION_MS[precision];
  return neg ? -v : v;
}

function truncateNow(now: number, precision: Precision): number {
  const unit = PRECISION_MS[precision];
  return unit <= 1 ? now : Math.floor(now / unit) * unit;
}

// ---------------------------------------------------------------------------------------------------
// Points and lines

/**
 * One line (a block as scanLine delimits it, without its newline) → a point, or why not, or null for a
 * blank or comment line.
 */
export function parseLine(block: string, opts: LineOptions): LineVerdict | null {
  const start = skipWhitespace(block, 0);
  if (start >= block.length || block.charCodeAt(start) === 35 /* # */) return null;
  const r = parsePoint(block, start, opts.precision ?? 'n', opts.now);
  return r instanceof LineError ? { ok: false, error: r.message } : { ok: true, point: r };
}

function parsePoint(buf: string, start: number, precision: Precision, now: number): LinePoint | LineError {
  const key = scanKey(buf, start);
  if (key instanceof LineError) return key;
  if (key.end === start) return new LineError('missing measurement', start);
  if (key.bytes > MAX_KEY_LENGTH) return new LineError(`max key length exceeded: ${key.bytes} > ${MAX_KEY_LENGTH}`, 0);
  const fStart = skipWhitespace(buf, key.end);
  const fEnd = scanFields(buf, key.end);
  if (fEnd instanceof LineError) return fEnd;
  if (fEnd === fStart) return new LineError('missing fields', fStart);
  if ('time' in key.tags) return new LineError('invalid tag key: a tag may not be called "time"', start);
  const f = readFields(buf, fStart, fEnd, key.bytes);
  if (f instanceof LineError) return f;
  const t = scanTime(buf, fEnd);
  if (t instanceof LineError) return t;
  let ts: number;
  if (t.end === t.start) ts = truncateNow(now, precision);
  else {
    const ms = timestampMs(buf.slice(t.start, t.end), precision);
    if (typeof ms === 'string') return new LineError(ms, t.start);
    ts = ms;
    for (let p = t.end; p < buf.length; p++)
      if (buf.charCodeAt(p) !== SP) return new LineError('point is invalid: only spaces may follow the timestamp', p);
  }
  return { measurement: key.measurement, tags: key.tags, fields: f.fields, ts };
}

/**
 * Splits text into line-protocol lines as 1.6's scanLine does — across chunks. A newline inside a
 * quoted string field value does not end the line; a backslash skips the byte after it. Each block is
 * reported with the 1-based line number where it starts.
 */
export class LineScanner {
  private buf = '';
  /** Line number of buf[0]. */
  private line = 1;

  constructor(private readonly onBlock: (block: string, line: number) => void) {}

  /** Feeds text; `final` marks the end of the input (the last block needs no newline). */
  push(chunk: string, final = false): void {
    const buf = this.buf.length === 0 ? chunk : this.buf + chunk;
    const n = buf.length;
    let pos = 0;
    let line = this.line;
    // The next quote and backslash at or after pos (−1: none): a line holding neither ends at the next
    // newline, which is most lines; only the others need 1.6's scan.
    let quote = buf.indexOf('"');
    let bsl = buf.indexOf('\\');
    while (pos < n) {
      const nl = buf.indexOf('\n', pos);
      const stop = nl < 0 ? n : nl;
      if (quote >= 0 && quote < pos) quote = buf.indexOf('"', pos);
      if (bsl >= 0 && bsl < pos) bsl = buf.indexOf('\\', pos);
      const simple = (quote < 0 || quote >= stop) && (bsl < 0 || bsl >= stop);
      let end: number;
      if (simple) {
        if (nl < 0 && !final) break;
        end = stop;
      } else {
        const e = scanLineEnd(buf, pos, final);
        if (e < 0) break;
        end = e;
      }
      this.onBlock(buf.slice(pos, end), line);
      // Only a quoted string can hold a newline inside a block.
      if (!simple) for (let k = pos; k < end; k++) if (buf.charCodeAt(k) === NL) line++;
      line++;
      pos = end + 1;
    }
    this.buf = pos >= n ? '' : buf.slice(pos);
    this.line = line;
  }
}

/**
 * points.go scanLine from `start`: the index of the newline ending the line (or the end of the text
 * when `final`), or −1 when the line may continue past the text seen so far.
 */
function scanLineEnd(buf: string, start: number, final: boolean): number {
  const n = buf.length;
  let i = start;
  let quoted = false;
  let fields = false;
  let equals = 0;
  let commas = 0;
  for (;;) {
    if (i >= n) return final ? n : -1;
    const c = buf.charCodeAt(i);
    // 1.6 skips a backslash's next byte only when two more bytes follow in the whole body; mid-stream
    // that cannot be told yet.
    if (c === BSL) {
      if (i + 2 < n) {
        i += 2;
        continue;
      }
      if (!final) return -1;
    }
    if (c === SP) fields = true;
    if (fields) {
      if (!quoted && c === EQ) {
        i++;
        equals++;
        continue;
      } else if (!quoted && c === COMMA) {
        i++;
        commas++;
        continue;
      } else if (c === QUOTE && equals > commas) {
        i++;
        quoted = !quoted;
        continue;
      }
    }
    if (c === NL && !quoted) return i;
    i++;
  }
}

export interface ParsedLines {
  points: LinePoint[];
  /** Each with its index among the non-blank lines and its line number. */
  rejected: Rejection[];
  /** Non-blank, non-comment lines seen. */
  lines: number;
}

/** A whole body (a `/write` request, a small file) → points and rejections. */
export function parseLines(text: string, opts: LineOptions): ParsedLines {
  const points: LinePoint[] = [];
  const rejected: Rejection[] = [];
  let index = 0;
  new LineScanner((block, line) => {
    const v = parseLine(block, opts);
    if (v === null) return;
    if (v.ok) points.push(v.point);
    else rejected.push({ index, line, error: v.error });
    index++;
  }).push(text, true);
  return { points, rejected, lines: index };
}
