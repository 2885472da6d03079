/**
 * Local time in one IANA zone, fast enough to ask per sample (≥ 200,000 samples/s): Intl answers in
 * microseconds, so the UTC offset is asked once per UTC hour and cached.
 *
 * The rules:
 * - every zone changes its offset at most once in any UTC hour; the cache keeps, per UTC hour, the
 *   offset at its start and — when the offset at the next hour differs — the exact minute the change
 *   happens (found by bisection), so zones that switch at :30 (Australia/Lord_Howe) stay exact;
 * - a local day is numbered as days since 1970-01-01 local; `YYYY-MM-DD` only at the edges;
 * - hour of week: Monday 00 = 0 … Sunday 23 = 167, the local clock hour of the instant;
 * - on a DST change day the local day is 23 or 25 hours long; the repeated hour (Europe/Berlin
 *   2026-10-25 02:00–03:00) occurs twice and counts twice, the skipped one (2026-03-29 02:00) never;
 * - `utcOf(day, minute)` is the first instant whose local time is at or after that local time, so a
 *   skipped local time maps to the moment the clocks jump, and a repeated one to its first occurrence.
 */
import type { EpochMs } from '../model/index.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

interface HourOffset {
  /** Offset (local − UTC) in ms from the start of the UTC hour… */
  before: number;
  /** …until this instant (Infinity when the offset does not change inside the hour)… */
  changeAt: number;
  /** …and from it on. */
  after: number;
}

/** Days since 1970-01-01 → 'YYYY-MM-DD'. */
export function dayString(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** 'YYYY-MM-DD' → days since 1970-01-01; undefined when malformed. */
export function parseDay(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && dayString(ms / DAY_MS) === text ? ms / DAY_MS : undefined;
}

/**
 * Offsets by hour, per time zone, shared by every LocalClock of the zone: finding one takes two Intl
 * formats (~20 µs), and an analysis split by cell builds a Detector — and a clock — per range of cells.
 */
const ZONES = new Map<string, { fmt: Intl.DateTimeFormat; hours: Map<number, HourOffset> }>();

export class LocalClock {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly hours: Map<number, HourOffset>;
  private lastHour = Number.NaN;
  private last: HourOffset = { before: 0, changeAt: Infinity, after: 0 };

  constructor(readonly timezone: string) {
    const zone = ZONES.get(timezone);
    if (zone) {
      this.fmt = zone.fmt;
      this.hours = zone.hours;
      return;
    }
    try {
      this.fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new RangeError(`timezone: unknown IANA time zone "${timezone}"`);
    }
    this.hours = new Map();
    if (ZONES.size > 64) ZONES.clear();
    ZONES.set(timezone, { fmt: this.fmt, hours: this.hours });
  }

  /** Local minus UTC, ms, at instant t. */
  offsetMs(t: EpochMs): number {
    const h = Math.floor(t / HOUR_MS);
    if (h !== this.lastHour) {
      let entry = this.hours.get(h);
      if (!entry) {
        entry = this.hourOffset(h);
        // ~35 days of hours cover any analysis window many times over; a long-running daemon re-asks.
        if (this.hours.size > 20_000) this.hours.clear();
        this.hours.set(h, entry);
      }
      this.lastHour = h;
      this.last = entry;
    }
    return t < this.last.changeAt ? this.last.before : this.last.after;
  }

  /** Local wall-clock time of t as if it were UTC (ms). */
  localMs(t: EpochMs): number {
    return t + this.offsetMs(t);
  }

  /** Local day number (days since 1970-01-01 local). */
  day(t: EpochMs): number {
    return Math.floor(this.localMs(t) / DAY_MS);
  }

  /** Minute of the local day, 0..1439. */
  minuteOfDay(t: EpochMs): number {
    const l = this.localMs(t);
    return Math.floor((l - Math.floor(l / DAY_MS) * DAY_MS) / MINUTE_MS);
  }

  /** Local clock hour, 0..23. */
  hourOfDay(t: EpochMs): number {
    return Math.floor(this.minuteOfDay(t) / 60);
  }

  /** Hour of the local week, Monday 00 = 0 … Sunday 23 = 167. */
  hourOfWeek(t: EpochMs): number {
    const l = this.localMs(t);
    const day = Math.floor(l / DAY_MS);
    const hour = Math.floor((l - day * DAY_MS) / HOUR_MS);
    // 1970-01-01 was a Thursday, three days after a Monday.
    return ((((day + 3) % 7) + 7) % 7) * 24 + hour;
  }

  /** The first instant whose local time is at or after `minute` of local day `day` (minute may be ≥ 1440). */
  utcOf(day: number, minute: number): EpochMs {
    const wall = day * DAY_MS + minute * MINUTE_MS;
    // The offsets half a day either side give the candidates; the earlier one that lands on `wall`
    // is the answer (at fall-back both do: the first occurrence).
    const a = wall - this.offsetMs(wall - 14 * HOUR_MS);
    const b = wall - this.offsetMs(wall + 14 * HOUR_MS);
    let lo = Math.min(a, b);
    let hi = Math.max(a, b);
    for (const c of [lo, hi]) if (this.localMs(c) === wall) return c;
    // A skipped local time: the first minute after the jump.
    while (hi - lo > MINUTE_MS) {
      const mid = Math.floor((lo + hi) / 2 / MINUTE_MS) * MINUTE_MS;
      if (this.localMs(mid) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /** Start (UTC) of local day `day`. */
  dayStart(day: number): EpochMs {
    return this.utcOf(day, 0);
  }

  private intlOffset(t: EpochMs): number {
    const at = Math.floor(t / 1000) * 1000;
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute, p.second) - at;
  }

  private hourOffset(h: number): HourOffset {
    const start = h * HOUR_MS;
    const before = this.intlOffset(start);
    const after = this.intlOffset(start + HOUR_MS);
    if (before === after) return { before, changeAt: Infinity, after };
    let lo = start; // offset here is `before`
    let hi = start + HOUR_MS; // and here `after`
    while (hi - lo > MINUTE_MS) {
      const mid = Math.floor((lo + hi) / 2 / MINUTE_MS) * MINUTE_MS;
      if (this.intlOffset(mid) === before) lo = mid;
      else hi = mid;
    }
    return { before, changeAt: hi, after };
  }
}
