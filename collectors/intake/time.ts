import type { EpochMs } from '../../model/index.js';

/*
 * Timestamps as integrators send them. The rules:
 * - a number is epoch milliseconds; a fraction of a millisecond is cut off (floor);
 * - a string is RFC 3339: `2026-11-28T20:15:00Z`, `2026-11-28T20:15:00.250+08:00` ("t", "z" and a space
 *   instead of "T" are allowed, as RFC 3339 §5.6 permits; seconds may be left out; `+0800` is taken too);
 * - a string without a zone is refused unless the caller names an IANA time zone (CRM exports write
 *   local wall-clock times): it is then that zone's local time, a repeated hour (DST end) meaning its
 *   first occurrence and a skipped one (DST start) moving forward by the gap, as Temporal's "compatible";
 *   such local times may also be written day first with dots, `28.11.2026 20:15` (German, Russian,
 *   Turkish… exports — unambiguous, unlike 11/28 vs 28/11, which is refused);
 * - a number or digit string far outside 2000–2100 is refused with a hint at its unit: 1.7e9 is seconds,
 *   1.7e18 nanoseconds — the commonest mistake when a script pushes samples.
 * Verdicts are values: `{ ok: true, ms }` or `{ ok: false, error }`, never exceptions.
 */

export type TimeVerdict = { ok: true; ms: EpochMs } | { ok: false; error: string };

/** 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: the span of plausible event times. */
export const MIN_EVENT_MS = 946_684_800_000;
export const MAX_EVENT_MS = 4_102_444_800_000;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DOTTED = /^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?$/;

const EXAMPLE = 'e.g. 2026-11-28T20:15:00Z or 2026-11-28T20:15:00+08:00';

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Why an epoch-ms figure is implausible, with a guess at the unit it was really in. */
export function epochProblem(ms: number): string | undefined {
  if (ms >= MIN_EVENT_MS && ms < MAX_EVENT_MS) return undefined;
  const abs = Math.abs(ms);
  if (abs >= MIN_EVENT_MS / 1000 && abs < MAX_EVENT_MS / 1000) return 'looks like epoch seconds: send milliseconds';
  if (abs >= MIN_EVENT_MS * 1000 && abs < MAX_EVENT_MS * 1000)
    return 'looks like epoch microseconds: send milliseconds';
  if (abs >= MIN_EVENT_MS * 1e6 && abs < MAX_EVENT_MS * 1e6) return 'looks like epoch nanoseconds: send milliseconds';
  return 'is outside 2000–2100';
}

/** An epoch-ms number, floored, within 2000–2100. */
export function epochMs(v: number): TimeVerdict {
  if (!Number.isFinite(v)) return { ok: false, error: `${String(v)} is not a time` };
  const ms = Math.floor(v);
  const problem = epochProblem(ms);
  return problem ? { ok: false, error: `epoch milliseconds ${v} ${problem}` } : { ok: true, ms };
}

/**
 * The UTC offset (ms, local − UTC) of a zone at an instant. Intl is slow (microseconds per call), so
 * offsets are cached per zone and UTC quarter hour: every real zone changes offset on such a boundary.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();
const OFFSET_CACHE_MAX = 100_000;

function zoneOffset(timeZone: string, at: number): number {
  const slot = Math.floor(at / 900_000);
  const key = timeZone + '\u0000' + slot;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  const probe = slot * 900_000;
  const p = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of fmt.formatToParts(probe)) if (part.type in p) p[part.type as keyof typeof p] = Number(part.value);
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const offset = local - probe;
  if (offsetCache.size >= OFFSET_CACHE_MAX) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/** Wall-clock time in a zone → epoch ms ("compatible" disambiguation, see the header). */
export function zonedToEpoch(wall: number, timeZone: string): number {
  // The offsets in force a day either side cover any transition near `wall` (none is longer than a day).
  const before = zoneOffset(timeZone, wall - 86_400_000);
  const after = zoneOffset(timeZone, wall + 86_400_000);
  const early = wall - before;
  const late = wall - after;
  const earlyOk = zoneOffset(timeZone, early) === before;
  const lateOk = zoneOffset(timeZone, late) === after;
  if (earlyOk && lateOk) return Math.min(early, late);
  if (earlyOk) return early;
  if (lateOk) return late;
  // In a gap (clocks jumped forward): the wall time read with the offset before the jump lands after it.
  return early;
}

export interface TimeOptions {
  /** IANA zone for strings without an offset; without it such strings are refused. */
  timeZone?: string;
}

/** [_, year, month, day, hour, minute, second?, fraction?, zone?] of a time string, or undefined. */
function fieldsOf(text: string, dotted: boolean): (string | undefined)[] | undefined {
  const m = RFC3339.exec(text);
  if (m) return m;
  const d = dotted ? DOTTED.exec(text) : null;
  return d ? ['', d[3], d[2], d[1], d[4], d[5], d[6], d[7], undefined] : undefined;
}

/** An RFC 3339 string (or, with `timeZone`, a zone-less local time) → epoch ms. */
export function parseTimeString(s: string, opts: TimeOptions = {}): TimeVerdict {
  const text = s.trim();
  const m = fieldsOf(text, opts.timeZone !== undefined);
  if (!m) {
    if (DATE_ONLY.test(text)) return { ok: false, error: `"${s}" is a date without a time of day (${EXAMPLE})` };
    if (/^-?\d+(\.\d+)?$/.test(text)) return epochMs(Number(text));
    return { ok: false, error: `"${s}" is not an RFC 3339 time (${EXAMPLE})` };
  }
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  const frac = m[7] === undefined ? 0 : Number((m[7] + '00').slice(0, 3));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60)
    return { ok: false, error: `"${s}" is not a valid calendar time` };
  // A leap second (23:59:60) is the instant that follows 23:59:59.999; Date.UTC rolls it over.
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec, frac);
  const zone = m[8];
  let ms: number;
  if (zone === undefined) {
    if (!opts.timeZone)
      return { ok: false, error: `"${s}" has no time zone: add Z or an offset such as +08:00 (${EXAMPLE})` };
    ms = zonedToEpoch(wall, opts.timeZone);
  } else if (zone === 'Z' || zone === 'z') {
    ms = wall;
  } else {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return { ok: false, error: `"${s}" has an invalid offset ${zone}` };
    ms = wall - sign * (oh * 3_600_000 + om * 60_000);
  }
  const problem = epochProblem(ms);
  return problem ? { ok: false, error: `"${s}" ${problem}` } : { ok: true, ms };
}

/** A timestamp as JSON carries it: epoch ms number or an RFC 3339 string. */
export function parseTime(v: unknown, opts: TimeOptions = {}): TimeVerdict {
  if (typeof v === 'number') return epochMs(v);
  if (typeof v === 'string') return parseTimeString(v, opts);
  return { ok: false, error: `expected epoch milliseconds or an RFC 3339 string, got ${describe(v)}` };
}

/** A value's type as an integrator would name it, for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string "${v.slice(0, 40)}…"` : `a string "${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${v}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}
