/**
 * How well one degradation window explains one complaint: score = spatial weight × time weight ×
 * severity weight × symptom fit, each in 0..1 and rounded to 3 decimals (the same pair gives the same
 * score on every path, so matches never depend on the order things arrived in).
 *
 * The rules:
 * - Candidate windows overlap the complaint's time range: without `issueAt`,
 *   [receivedAt − lookback (72 h), receivedAt + after (2 h)]; with it, the part of
 *   [issueAt − reach, receivedAt + after] where a window can still reach the listing threshold.
 * - Time weight with `issueAt` (customers' stated times are vague: ±15 min × (1 + days late), rounded
 *   to 5 min): 1 when the stated time falls inside the window widened by that tolerance τ; beyond it
 *   1 / (1 + ((gap − τ) / τ)²), so ½ one τ further out and falling with a long tail (a stated time is
 *   sometimes simply wrong, so there is no hard cut).
 * - Time weight without `issueAt`, against `receivedAt`: 1 when the window is ongoing then or ended
 *   within the hour before; then 1 / (1 + (h / 36 h)^1.5) for a window that ended h hours before that
 *   hour (complaint delays are heavy-tailed, median ~3 h, a tenth after a day: 0.65 a day back, ½ a
 *   day and a half back, ~0.27 at three days); a window starting `lead` after `receivedAt` (the customer noticed before the
 *   monitor did: a problem builds up, the first users suffer before a cell's averages cross a
 *   threshold) weighs 1 up to 15 min, then 1 / (1 + ((lead − 15 min) / 45 min)²): ½ when it starts an
 *   hour after the complaint, 0.27 at 1½ h, 0.16 at the 2 h edge of the candidate range.
 * - Severity weight: the window's severity is ≥ 0.5 when users had a bad experience in it; such a
 *   window weighs 0.75 + 0.5 · (severity − 0.5), i.e. 0.75..1. Below 0.5 (only KPIs drifted) it weighs
 *   the severity itself, so a KPI drift alone can never explain a complaint.
 * - Symptom fit, when the complaint says what the customer noticed: SYMPTOM_FIT below (no symptom, or
 *   `other`: 1). A backhaul window whose link was down is an outage to the customer.
 * - Explained when the best score ≥ 0.5; matches under `minScore` (0.1) are not listed.
 */
import type { Cause, Complaint, ComplaintSymptom, EpochMs, Window } from '../../model/index.js';
import type { Candidate } from './place.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export interface MatchOptions {
  /** Cells within this distance of the complaint's point are candidates (km). */
  radiusKm: number;
  /** Without issueAt, windows up to this long before receivedAt are candidates. */
  lookbackMs: number;
  /** Windows starting up to this long after receivedAt are candidates. */
  afterMs: number;
  /** Explained when the best score reaches this. */
  explainAt: number;
  /** Matches below this score are not listed (and are not worth indexing). */
  minScore: number;
  /** At most this many matches are listed per complaint (all above minScore are kept internally). */
  maxMatches: number;
  /**
   * A complaint's correlation is final this long after its range ends (receivedAt + afterMs): windows
   * still changing later than that no longer change it, and the correlator may drop it.
   */
  settleMs: number;
  /** Clock time for the reasons, in the configured time zone, e.g. "19:05" or "Sat 19:05". */
  formatTime: (epochMs: EpochMs) => string;
}

const YEAR_0_MS = -62_167_219_200_000;
const YEAR_10000_MS = 253_402_300_800_000;

/** Compact UTC "HH:MM", so that a correlator built without a formatter still explains itself. */
export const utcClock = (ms: EpochMs): string => {
  // Arithmetic, not Date: a reason is built per listed match. Beyond four-digit years the ISO form
  // shifts (and out of range Date throws): Date decides there.
  if (!(ms >= YEAR_0_MS && ms < YEAR_10000_MS)) return new Date(ms).toISOString().slice(11, 16);
  const t = Math.trunc(ms); // as Date takes it
  const minutes = Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
};

export const DEFAULT_MATCH_OPTIONS: MatchOptions = {
  radiusKm: 1.5,
  lookbackMs: 72 * HOUR_MS,
  afterMs: 2 * HOUR_MS,
  explainAt: 0.5,
  minScore: 0.1,
  maxMatches: 5,
  settleMs: 24 * HOUR_MS,
  formatTime: utcClock,
};

const ONGOING_GRACE_MS = HOUR_MS;
const LATE_HALF_MS = 36 * HOUR_MS;
const AHEAD_FLAT_MS = 15 * MINUTE_MS;
const AHEAD_HALF_MS = 45 * MINUTE_MS;
const STATED_BASE_MS = 15 * MINUTE_MS;
const ROUNDING_MS = 5 * MINUTE_MS;

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The times of a complaint, all that its time range and time weights read. */
export type ComplaintTimes = Pick<Complaint, 'receivedAt' | 'issueAt'>;

/** The customer's stated time, never after the complaint itself (a later one is a typo or a zone slip). */
export function statedTime(c: ComplaintTimes): EpochMs | undefined {
  return c.issueAt === undefined || c.issueAt === null ? undefined : Math.min(c.issueAt, c.receivedAt);
}

/** τ: how vague a stated time is, ±15 min × (1 + days late), rounded up to 5 min. */
export function statedTolerance(c: ComplaintTimes): number {
  const issue = statedTime(c);
  if (issue === undefined) return 0;
  const daysLate = (c.receivedAt - issue) / DAY_MS;
  return Math.ceil((STATED_BASE_MS * (1 + daysLate)) / ROUNDING_MS) * ROUNDING_MS;
}

/** The window interval [start, end), an open window running on. */
const windowEnd = (w: Pick<Window, 'end'>): number => (w.end === undefined || w.end === null ? Infinity : w.end);

export function timeWeight(c: Complaint, w: Pick<Window, 'start' | 'end'>): number {
  return timeWeightAt(statedTime(c), statedTolerance(c), c.receivedAt, w.start, windowEnd(w));
}

/** timeWeight with the complaint's stated time and tolerance worked out once (the correlator's inner loop). */
export function timeWeightAt(
  issue: EpochMs | undefined,
  tau: number,
  receivedAt: EpochMs,
  start: EpochMs,
  end: number,
): number {
  if (issue !== undefined) {
    const gap = issue < start ? start - issue : issue > end ? issue - end : 0;
    if (gap <= tau) return 1;
    const x = (gap - tau) / tau;
    return 1 / (1 + x * x);
  }
  if (start > receivedAt) {
    const x = Math.max(0, start - receivedAt - AHEAD_FLAT_MS) / AHEAD_HALF_MS;
    return 1 / (1 + x * x);
  }
  const since = receivedAt - end - ONGOING_GRACE_MS;
  if (since <= 0) return 1;
  const x = since / LATE_HALF_MS;
  return 1 / (1 + x * Math.sqrt(x)); // x^1.5: a square root is cheaper than pow
}

/**
 * The time range whose windows are worth scoring for a complaint: outside it the time weight alone is
 * below minScore. Without issueAt it is exactly [receivedAt − lookback, receivedAt + after].
 */
export function candidateRange(
  c: ComplaintTimes,
  o: Pick<MatchOptions, 'lookbackMs' | 'afterMs' | 'minScore'>,
): [EpochMs, EpochMs] {
  const issue = statedTime(c);
  const to = c.receivedAt + o.afterMs;
  if (issue === undefined) return [c.receivedAt - o.lookbackMs, to];
  const tau = statedTolerance(c);
  const reach = tau * (1 + Math.sqrt(Math.max(0, 1 / Math.max(o.minScore, 1e-6) - 1)));
  return [issue - reach, Math.min(to, issue + reach)];
}

export function severityWeight(severity: number): number {
  const s = Math.min(1, Math.max(0, Number.isFinite(severity) ? severity : 0));
  return s >= 0.5 ? 0.75 + 0.5 * (s - 0.5) : s;
}

/**
 * How well what the customer noticed fits the window's cause. No signal fits an outage, a cut
 * backhaul and weak coverage; slow data fits congestion, backhaul saturation and interference, and an
 * outage only partly (the phone falls back to a weaker cell); dropped calls fit coverage and
 * interference; a full cell rarely takes the signal away.
 */
export const SYMPTOM_FIT: Record<Cause, Record<Exclude<ComplaintSymptom, 'other'>, number>> = {
  outage: { 'no-signal': 1, 'slow-data': 0.7, 'call-drop': 0.9, 'voice-quality': 0.6 },
  backhaul: { 'no-signal': 0.8, 'slow-data': 1, 'call-drop': 0.7, 'voice-quality': 0.8 },
  coverage: { 'no-signal': 1, 'slow-data': 0.8, 'call-drop': 1, 'voice-quality': 0.9 },
  interference: { 'no-signal': 0.6, 'slow-data': 1, 'call-drop': 1, 'voice-quality': 1 },
  congestion: { 'no-signal': 0.4, 'slow-data': 1, 'call-drop': 0.6, 'voice-quality': 0.7 },
  'silent-failure': { 'no-signal': 0.9, 'slow-data': 0.9, 'call-drop': 0.9, 'voice-quality': 0.8 },
  unknown: { 'no-signal': 0.8, 'slow-data': 0.8, 'call-drop': 0.8, 'voice-quality': 0.8 },
};

export function symptomFit(symptom: ComplaintSymptom | undefined, w: Pick<Window, 'cause' | 'evidence'>): number {
  if (symptom === undefined || symptom === null || symptom === 'other') return 1;
  return SYMPTOM_FIT[feltCause(w)]?.[symptom] ?? 1;
}

/** A backhaul window whose link was down: the cell was cut off. */
export function linkCut(w: Pick<Window, 'cause' | 'evidence'>): boolean {
  return w.cause === 'backhaul' && w.evidence?.link?.operUp === false;
}

/** The window's cause as the customer felt it: a cut-off cell is an outage to them. */
export function feltCause(w: Pick<Window, 'cause' | 'evidence'>): Cause {
  return linkCut(w) ? 'outage' : w.cause;
}

export interface PairScore {
  score: number;
  spatial: number;
  time: number;
  severity: number;
  fit: number;
}

export function scorePair(c: Complaint, w: Window, where: Candidate): PairScore {
  const time = timeWeight(c, w);
  const severity = severityWeight(w.severity);
  const fit = symptomFit(c.symptom, w);
  return { score: combine(where.weight, time, severity, fit), spatial: where.weight, time, severity, fit };
}

/** The one place the factors are multiplied, so that every path rounds the same product. */
export function combine(spatial: number, time: number, severity: number, fit: number): number {
  return round3(spatial * time * severity * fit);
}

// ---------------------------------------------------------------------------------------------
// Reasons: one sentence an engineer (or an agent reading over their shoulder) can check.

const CAUSE_PHRASE: Record<Cause, string> = {
  outage: 'down',
  backhaul: 'with its backhaul saturated',
  coverage: 'with weak coverage',
  interference: 'with interference',
  congestion: 'congested',
  'silent-failure': 'silently failing (traffic gone, KPIs fine)',
  unknown: 'degraded',
};

/** "40 min", "3 h", "2 d": the precision a person wants for "how long before". */
export function spanWords(ms: number): string {
  const m = Math.round(Math.abs(ms) / MINUTE_MS);
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** "19:05–21:40", or "since 19:05" for an open window. */
export function windowSpan(w: Pick<Window, 'start' | 'end'>, fmt: (ms: EpochMs) => string): string {
  return w.end === undefined || w.end === null ? `since ${fmt(w.start)}` : `${fmt(w.start)}–${fmt(w.end)}`;
}

export function reasonFor(
  c: Complaint,
  w: Window,
  where: Candidate,
  ownCell: string | undefined,
  fmt: ((ms: EpochMs) => string) | string,
): string {
  const linkDown = linkCut(w);
  const what = `cell ${w.cell} ${linkDown ? 'cut off (backhaul link down)' : (CAUSE_PHRASE[w.cause] ?? 'degraded')}`;
  const span = typeof fmt === 'string' ? fmt : windowSpan(w, fmt);
  const parts = [`${what} ${span}`, placePhrase(c, where, ownCell), timePhrase(c, w)];
  return parts.join(', ');
}

function placePhrase(c: Complaint, where: Candidate, ownCell: string | undefined): string {
  const hasAddress = c.lat !== undefined && c.lat !== null;
  if (where.relation === 'own')
    return hasAddress && where.km !== undefined
      ? `the complaint's own cell, ${kmWords(where.km)} from the address`
      : "the complaint's own cell";
  if (hasAddress && where.km !== undefined) return `${kmWords(where.km)} from the address`;
  if (where.relation === 'same-sector') return `on the same sector as ${ownCell}`;
  if (where.relation === 'neighbour') return `a neighbour of ${ownCell}`;
  return `${kmWords(where.km ?? 0)} from ${ownCell}`;
}

const kmWords = (km: number) => (km < 0.1 ? 'under 100 m' : `${km.toFixed(1)} km`);

function timePhrase(c: Complaint, w: Window): string {
  const issue = statedTime(c);
  const end = windowEnd(w);
  if (issue !== undefined) {
    if (issue >= w.start && issue <= end) return 'at the time the customer gave';
    if (issue < w.start) return `starting ${spanWords(w.start - issue)} after the time the customer gave`;
    return `ended ${spanWords(issue - end)} before the time the customer gave`;
  }
  const at = c.receivedAt;
  if (w.start > at) return `starting ${spanWords(w.start - at)} after the complaint`;
  if (end >= at) return 'ongoing when the complaint came in';
  return `${spanWords(at - end)} before the complaint`;
}
