/**
 * Flap detection, Nagios' algorithm (base/flapping.c): keep the last 21 states of a condition, count
 * the state changes between consecutive entries weighted from 0.75 (oldest) to 1.25 (newest), and
 * express the sum as a percentage of the 20 possible changes. Flapping starts when that percentage
 * reaches the high threshold (20 %) and stops when it falls below the low one (5 %); between them
 * the previous verdict holds (hysteresis).
 *
 * What a "state" is here: a condition's value (active or clear) sampled at every *change* and once per
 * `sampleMs` while it stays the same — so the figure depends on how often the problem comes and goes
 * per unit of time, not on how chatty its producer is. With a 2-minute sample a problem that cycles
 * faster than about every 16 minutes is flapping. A new condition starts with 21 clear samples (the
 * problem did not exist before), so one activation alone reads 6.25 %.
 */

export const FLAP_HISTORY = 21;
const LOW_WEIGHT = 0.75;
const HIGH_WEIGHT = 1.25;

/** Oldest first; true = active. */
export type FlapHistory = readonly boolean[];

export function emptyHistory(): boolean[] {
  return new Array<boolean>(FLAP_HISTORY).fill(false);
}

/** Appends one sample, keeping the last 21. */
export function pushSample(history: FlapHistory, active: boolean): boolean[] {
  const next = [...history, active];
  return next.length > FLAP_HISTORY ? next.slice(next.length - FLAP_HISTORY) : next;
}

/** Nagios' curved percent state change over the history (0..100). */
export function percentStateChange(history: FlapHistory): number {
  const h =
    history.length >= FLAP_HISTORY
      ? history.slice(-FLAP_HISTORY)
      : [...emptyHistory().slice(history.length), ...history];
  let changes = 0;
  for (let x = 1; x < FLAP_HISTORY; x++) {
    if (h[x] !== h[x - 1]) changes += ((x - 1) * (HIGH_WEIGHT - LOW_WEIGHT)) / (FLAP_HISTORY - 2) + LOW_WEIGHT;
  }
  return (changes * 100) / (FLAP_HISTORY - 1);
}

/** The flapping verdict after a new percentage, with Nagios' hysteresis. */
export function flapVerdict(wasFlapping: boolean, percent: number, lowPct: number, highPct: number): boolean {
  if (!wasFlapping && percent >= highPct) return true;
  if (wasFlapping && percent < lowPct) return false;
  return wasFlapping;
}
