/**
 * Peak hours: which samples count for a day's target, and each cell's busy hour.
 *
 * The rules:
 * - a configured window `{from, to}` (minutes of the local day): a sample counts when its own `ts`
 *   falls in [from, to) local time; a window crossing midnight (22:00–01:00) belongs to the day it
 *   starts on; its length in seconds is measured on the real timeline, so 01:00–04:00 lasts 2 h on
 *   the spring DST day and 4 h on the autumn one (the repeated hour counts twice);
 * - `busy-hour`: per cell, the time-consistent busy hour of day D is the local clock hour with the
 *   highest *mean* traffic over the 28 local days ending with D (D included, so a finished day's
 *   result is final); traffic is the carried rate when the cell reports volumes, else its users;
 *   hours without data are left out of the mean, never taken as zero; ties go to the earlier hour;
 * - beside it, day D's own (bouncing) busy hour: the same over day D alone;
 * - the hour of a UTC hour, for busy hours as for baselines, is the local hour of its start.
 */
import type { EpochMs } from '../model/index.js';
import type { BaselineStore } from './baseline.js';
import { HOUR_MS, type LocalClock } from './localtime.js';
import type { PeakSetting } from './settings.js';

export const BUSY_HOUR_DAYS = 28;

export interface PeakSlot {
  /** The local day whose target the sample counts for. */
  day: number;
  /** 0 for a configured window; the local clock hour for busy-hour mode. */
  slot: number;
}

/** Slots per day accumulator: one for a window, 24 clock hours for busy-hour mode. */
export function peakSlots(peak: PeakSetting): number {
  return peak === 'busy-hour' ? 24 : 1;
}

/** Where a sample at ts counts, or undefined when it is outside the peak window. */
export function peakSlot(clock: LocalClock, peak: PeakSetting, ts: EpochMs): PeakSlot | undefined {
  const day = clock.day(ts);
  const minute = clock.minuteOfDay(ts);
  if (peak === 'busy-hour') return { day, slot: Math.floor(minute / 60) };
  if (peak.from < peak.to) return minute >= peak.from && minute < peak.to ? { day, slot: 0 } : undefined;
  if (minute >= peak.from) return { day, slot: 0 };
  if (minute < peak.to) return { day: day - 1, slot: 0 };
  return undefined;
}

/** Real seconds of the peak window of `day` (for busy-hour mode: of local hour `slot`). */
export function peakSeconds(clock: LocalClock, peak: PeakSetting, day: number, slot = 0): number {
  if (peak === 'busy-hour') return (clock.utcOf(day, (slot + 1) * 60) - clock.utcOf(day, slot * 60)) / 1000;
  const end = peak.from < peak.to ? clock.utcOf(day, peak.to) : clock.utcOf(day + 1, peak.to);
  return (end - clock.utcOf(day, peak.from)) / 1000;
}

export interface BusyHour {
  /** The time-consistent busy hour over the 28 days ending with the day. */
  hour: number | undefined;
  /** The day's own busiest hour. */
  bouncing: number | undefined;
  /** What "traffic" was: carried rate, or users when the cell reports no volumes. */
  by: 'traffic' | 'users' | 'none';
}

/** The busy hours of a cell for local day `day`, from its hourly history. */
export function busyHour(history: BaselineStore, clock: LocalClock, cell: string, day: number): BusyHour {
  const from = Math.ceil(clock.dayStart(day - BUSY_HOUR_DAYS + 1) / HOUR_MS);
  const dayFrom = Math.ceil(clock.dayStart(day) / HOUR_MS);
  const to = Math.ceil(clock.dayStart(day + 1) / HOUR_MS);
  const sums = { traffic: new Float64Array(24), users: new Float64Array(24) };
  const counts = { traffic: new Float64Array(24), users: new Float64Array(24) };
  const daySums = { traffic: new Float64Array(24), users: new Float64Array(24) };
  const dayCounts = { traffic: new Float64Array(24), users: new Float64Array(24) };
  for (let h = from; h < to; h++) {
    const local = clock.hourOfDay(h * HOUR_MS);
    for (const kind of ['traffic', 'users'] as const) {
      const m = history.hourSum(cell, h, kind === 'traffic' ? 'trafficMbps' : 'activeUsers');
      if (m.count === 0) continue;
      sums[kind][local]! += m.sum;
      counts[kind][local]! += m.count;
      if (h >= dayFrom) {
        daySums[kind][local]! += m.sum;
        dayCounts[kind][local]! += m.count;
      }
    }
  }
  const by = counts.traffic.some((c) => c > 0) ? 'traffic' : counts.users.some((c) => c > 0) ? 'users' : 'none';
  if (by === 'none') return { hour: undefined, bouncing: undefined, by };
  return { hour: argmaxMean(sums[by], counts[by]), bouncing: argmaxMean(daySums[by], dayCounts[by]), by };
}

function argmaxMean(sums: Float64Array, counts: Float64Array): number | undefined {
  let best: number | undefined;
  let bestMean = -Infinity;
  for (let h = 0; h < 24; h++) {
    if (counts[h]! === 0) continue;
    const mean = sums[h]! / counts[h]!;
    if (mean > bestMean) {
      bestMean = mean;
      best = h;
    }
  }
  return best;
}
