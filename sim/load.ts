/**
 * Traffic load over the week in local time: a diurnal curve per area type and day type, interpolated
 * smoothly between hourly knots, read from precomputed minute-of-week tables so one lookup costs
 * nothing. Local time comes from the IANA zone via Intl, cached per quarter hour.
 */
import type { EpochMs } from '../model/index.js';
import type { AreaType } from './index.js';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
export const MINUTES_PER_WEEK = 7 * 1440;

/** Local-time lookups in one IANA zone. */
export class LocalTime {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(readonly timezone: string) {
    try {
      this.fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch {
      throw new RangeError(`timezone: unknown IANA time zone "${timezone}"`);
    }
  }

  /** Local-minus-UTC offset in ms at t. DST changes fall on quarter hours, so a quarter-hour cache is exact. */
  offsetMs(t: EpochMs): number {
    const q = Math.floor(t / QUARTER);
    let off = this.offsets.get(q);
    if (off === undefined) {
      const at = q * QUARTER;
      const p: Record<string, number> = {};
      for (const part of this.fmt.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
      off = Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute) - at;
      if (this.offsets.size > 50_000) this.offsets.clear();
      this.offsets.set(q, off);
    }
    return off;
  }

  /** Minute of the local week, Monday 00:00 = 0. */
  minuteOfWeek(t: EpochMs): number {
    const local = Math.floor((t + this.offsetMs(t)) / MINUTE);
    // 1970-01-01 was a Thursday: three days after a Monday.
    return (((local + 3 * 1440) % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK;
  }

  /** Local calendar day number (days since 1970-01-01 local). */
  localDay(t: EpochMs): number {
    return Math.floor((t + this.offsetMs(t)) / 86_400_000);
  }

  /** Local hour of day, 0..23. */
  hour(t: EpochMs): number {
    return Math.floor((this.minuteOfWeek(t) % 1440) / 60);
  }
}

// Hourly knots, 00:00 … 23:00, relative to the cell's busiest hour of a typical weekday (1.0).
// Residential: night trough ~04:00, morning ramp, evening peak 20–21 h. Business: office hours,
// lunch peak, quiet evenings and weekends.
const RESIDENTIAL_WEEKDAY = [
  0.42, 0.28, 0.18, 0.12, 0.09, 0.1, 0.16, 0.3, 0.45, 0.5, 0.52, 0.55, 0.62, 0.6, 0.56, 0.56, 0.6, 0.68, 0.78, 0.88,
  0.97, 1.0, 0.9, 0.68,
];
const RESIDENTIAL_FRIDAY = [
  0.42, 0.28, 0.18, 0.12, 0.09, 0.1, 0.16, 0.3, 0.45, 0.5, 0.52, 0.55, 0.62, 0.6, 0.56, 0.58, 0.63, 0.72, 0.82, 0.92,
  1.0, 1.03, 0.97, 0.8,
];
const RESIDENTIAL_SATURDAY = [
  0.55, 0.4, 0.27, 0.17, 0.11, 0.09, 0.11, 0.18, 0.3, 0.45, 0.58, 0.66, 0.72, 0.72, 0.7, 0.7, 0.72, 0.76, 0.82, 0.9,
  0.98, 1.02, 0.96, 0.78,
];
const RESIDENTIAL_SUNDAY = [
  0.55, 0.4, 0.27, 0.17, 0.11, 0.09, 0.1, 0.16, 0.28, 0.42, 0.56, 0.64, 0.7, 0.7, 0.68, 0.68, 0.7, 0.74, 0.8, 0.88,
  0.95, 0.96, 0.84, 0.6,
];
const BUSINESS_WEEKDAY = [
  0.16, 0.1, 0.07, 0.05, 0.05, 0.06, 0.1, 0.28, 0.62, 0.86, 0.95, 0.97, 1.0, 0.96, 0.95, 0.93, 0.88, 0.8, 0.66, 0.55,
  0.52, 0.5, 0.4, 0.26,
];
const BUSINESS_WEEKEND = [
  0.2, 0.14, 0.1, 0.07, 0.06, 0.06, 0.08, 0.12, 0.2, 0.3, 0.38, 0.42, 0.45, 0.45, 0.44, 0.43, 0.42, 0.4, 0.38, 0.36,
  0.35, 0.34, 0.3, 0.24,
];

function weekKnots(area: 'business' | 'residential'): number[] {
  if (area === 'residential')
    return [
      ...RESIDENTIAL_WEEKDAY,
      ...RESIDENTIAL_WEEKDAY,
      ...RESIDENTIAL_WEEKDAY,
      ...RESIDENTIAL_WEEKDAY,
      ...RESIDENTIAL_FRIDAY,
      ...RESIDENTIAL_SATURDAY,
      ...RESIDENTIAL_SUNDAY,
    ];
  return [
    ...BUSINESS_WEEKDAY,
    ...BUSINESS_WEEKDAY,
    ...BUSINESS_WEEKDAY,
    ...BUSINESS_WEEKDAY,
    ...BUSINESS_WEEKDAY,
    ...BUSINESS_WEEKEND,
    ...BUSINESS_WEEKEND,
  ];
}

/** Cosine interpolation between hourly knots (wrapping over the week): smooth, no overshoot. */
function minuteTable(knots: number[]): Float64Array {
  const out = new Float64Array(MINUTES_PER_WEEK);
  for (let m = 0; m < MINUTES_PER_WEEK; m++) {
    const h = Math.floor(m / 60);
    const f = (m % 60) / 60;
    const a = knots[h]!;
    const b = knots[(h + 1) % knots.length]!;
    out[m] = a + ((b - a) * (1 - Math.cos(Math.PI * f))) / 2;
  }
  return out;
}

const residential = minuteTable(weekKnots('residential'));
const business = minuteTable(weekKnots('business'));
const mixed = residential.map((v, i) => 0.5 * v + 0.5 * business[i]!);

/** Load relative to the area's weekday busy hour, by minute of the local week (Monday 00:00 = 0). */
export const DIURNAL: Record<AreaType, Float64Array> = { residential, business, mixed };
