/**
 * The care agent's lookup ("was there a network problem where and when this customer says, what was
 * it, is it fixed?") and proactive notices, in words a customer can be read. Pure: windows, alerts,
 * counts, `now` and the time-zone words are arguments.
 *
 * The rules:
 * - "This area" is the cells whose spatial weight for the place (place.ts: the named cell, its sector
 *   and neighbours, cells near the address) is at least 0.5.
 * - Only windows in which users had a bad experience (severity ≥ 0.5) are a "network problem" to a
 *   customer; KPI drifts are listed for the agent but never read out.
 * - The summary speaks of one problem: an ongoing one first (start, "engineers are working on it" and
 *   the usual time to fix its cause), else the worst one overlapping the asked time ± 1 h ("Yes —
 *   there was …, it has been fixed"), else "no network problem at that time", naming the nearest other
 *   problem within ± 72 h if there was one.
 * - Customer-safe: plain words only. No cell or site ids, no KPI or vendor terms, no cause names as the
 *   system spells them, no figures other than times and dates, nothing about other customers but that
 *   others reported it too.
 */
import type { Alert, Cause, EpochMs, Inventory, Window } from '../../model/index.js';
import { haversineKm, locate, spatialWeight, type GeoPoint } from './place.js';
import { DAY_MS, HOUR_MS } from './scoring.js';

/** Time words in the operator's time zone; `day` numbers local calendar days so "today" can be said. */
export interface TimeWords {
  /** "7:05 pm" */
  time(ms: EpochMs): string;
  /** "Monday 24 November" */
  date(ms: EpochMs): string;
  /** Local calendar day as a consecutive integer. */
  day(ms: EpochMs): number;
}

/** Formatters are costly to build (~0.1 ms each) and a lookup needs three: one set per zone and locale. */
const WORDS = new Map<string, TimeWords>();

/** TimeWords through Intl for an IANA zone (en-GB: "7:05 pm", "Monday 24 November"). */
export function intlTimeWords(timeZone: string, locale = 'en-GB'): TimeWords {
  const key = `${timeZone}|${locale}`;
  let words = WORDS.get(key);
  if (!words) WORDS.set(key, (words = buildTimeWords(timeZone, locale)));
  return words;
}

function buildTimeWords(timeZone: string, locale: string): TimeWords {
  // hourCycle h12, not hour12: en-GB's hour12 clock is h11 and says "0:00 pm" at noon.
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: 'numeric', minute: '2-digit', hourCycle: 'h12' });
  const date = new Intl.DateTimeFormat(locale, { timeZone, weekday: 'long', day: 'numeric', month: 'long' });
  const ymd = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
  return {
    time: (ms) => time.format(ms).replace(/\u202f/g, ' '),
    date: (ms) => date.format(ms).replace(',', ''),
    day: (ms) => {
      const p: Record<string, number> = {};
      for (const part of ymd.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
      return Math.round(Date.UTC(p.year!, p.month! - 1, p.day) / DAY_MS);
    },
  };
}

export type WindowStatus = 'ongoing' | 'resolved';

export interface ContextWindow {
  id: string;
  cell: string;
  cause: Cause;
  severity: number;
  start: EpochMs;
  end?: EpochMs;
  status: WindowStatus;
  /** Users had a bad experience in it (severity ≥ 0.5): a network problem to a customer. */
  customerImpact: boolean;
  /** Where it stands against the asked time. */
  when: 'at-the-time' | 'before' | 'after';
}

export interface ContextQuery {
  cell?: string;
  lat?: number;
  lon?: number;
  at: EpochMs;
}

export interface ContextOptions {
  inventory: Inventory;
  now: EpochMs;
  words: TimeWords;
  /** Open alerts; those on the area's cells or sites are returned. */
  alerts?: readonly Alert[];
  /** Other complaints about the area around that time (counted by the caller). */
  complaintCount?: number;
  radiusKm?: number;
  /** Windows within ± this of `at` are listed (default 72 h). */
  spanMs?: number;
  /** A window within ± this of `at` was "at that time" (default 1 h). */
  nearMs?: number;
  /** Cells at least this weight form the area (default AREA_WEIGHT). */
  areaWeight?: number;
}

export type OutageContext =
  | {
      ok: true;
      at: EpochMs;
      cells: string[];
      windows: ContextWindow[];
      alerts: Alert[];
      complaintCount: number;
      summary: string;
    }
  | { ok: false; reason: 'unknown-cell' | 'no-location' | 'bad-coordinates'; message: string };

const IMPACT = 0.5;

/** The default `areaWeight`: cells weighing at least this for the place are "this area". */
export const AREA_WEIGHT = 0.5;

/** The customer's view of a cause: what was wrong, what it did, and how long fixing it usually takes. */
const PLAIN: Record<Cause, { problem: string; effect: string; fix: string }> = {
  outage: {
    problem: 'the mobile service',
    effect: 'the mobile network was down, so calls and data did not work',
    fix: 'It is usually fixed within a few hours.',
  },
  backhaul: {
    problem: 'mobile data and calls',
    effect: 'a fault in our network made data very slow or unavailable',
    fix: 'It is usually fixed within a few hours.',
  },
  coverage: {
    problem: 'the mobile signal',
    effect: 'the mobile signal was weak',
    fix: 'It can take a few days to fix completely.',
  },
  interference: {
    problem: 'calls and mobile data',
    effect: 'calls and data were unreliable because of radio disturbance',
    fix: 'It is usually fixed within a day.',
  },
  congestion: {
    problem: 'mobile data speeds',
    effect: 'the network was overloaded and data was slow',
    fix: 'It usually eases after the busiest hours of the day.',
  },
  'silent-failure': {
    problem: 'the mobile service',
    effect: 'some phones could not use the network properly',
    fix: 'It is usually fixed within a few hours.',
  },
  unknown: {
    problem: 'the mobile network',
    effect: 'the network did not work as well as it should',
    fix: 'We will share more as soon as we know it.',
  },
};

const plain = (c: Cause) => PLAIN[c] ?? PLAIN.unknown;

/** "2:10 pm today", "7:05 pm yesterday", "7:05 pm on Monday 24 November". */
export function momentWords(ms: EpochMs, now: EpochMs, words: TimeWords): string {
  return `${words.time(ms)} ${dayWords(ms, now, words)}`;
}

function dayWords(ms: EpochMs, now: EpochMs, words: TimeWords): string {
  const d = words.day(now) - words.day(ms);
  if (d === 0) return 'today';
  if (d === 1) return 'yesterday';
  if (d === -1) return 'tomorrow';
  return `on ${words.date(ms)}`;
}

/** "yesterday from 7:05 pm to 9:40 pm", or "from 11:30 pm yesterday to 1:10 am today" across midnight. */
export function spanWordsFor(start: EpochMs, end: EpochMs, now: EpochMs, words: TimeWords): string {
  if (words.day(start) === words.day(end))
    return `${dayWords(start, now, words)} from ${words.time(start)} to ${words.time(end)}`;
  return `from ${momentWords(start, now, words)} to ${momentWords(end, now, words)}`;
}

const isOpen = (w: Window) => w.end === undefined || w.end === null;

export function contextFor(query: ContextQuery, windows: readonly Window[], o: ContextOptions): OutageContext {
  const radius = o.radiusKm ?? 1.5;
  const place = locate(
    {
      ...(query.cell !== undefined ? { cell: query.cell } : {}),
      ...(query.lat !== undefined ? { lat: query.lat } : {}),
      ...(query.lon !== undefined ? { lon: query.lon } : {}),
    },
    o.inventory,
    radius,
  );
  if (!place.ok) return { ok: false, reason: place.reason, message: place.message };
  const span = o.spanMs ?? 72 * HOUR_MS;
  const near = o.nearMs ?? HOUR_MS;
  const areaWeight = o.areaWeight ?? AREA_WEIGHT;
  const inArea = new Map<string, boolean>();
  const isInArea = (cell: string) => {
    let v = inArea.get(cell);
    if (v === undefined) {
      v = (spatialWeight(place, cell, o.inventory, radius)?.weight ?? 0) >= areaWeight;
      inArea.set(cell, v);
    }
    return v;
  };
  const listed: ContextWindow[] = [];
  for (const w of windows) {
    if (w.start > query.at + span || (!isOpen(w) && w.end! < query.at - span) || w.start > o.now) continue;
    if (!isInArea(w.cell)) continue;
    const end = isOpen(w) ? Infinity : w.end!;
    const cw: ContextWindow = {
      id: w.id,
      cell: w.cell,
      cause: w.cause,
      severity: w.severity,
      start: w.start,
      status: isOpen(w) ? 'ongoing' : 'resolved',
      customerImpact: w.severity >= IMPACT,
      when: end < query.at - near ? 'before' : w.start > query.at + near ? 'after' : 'at-the-time',
    };
    if (!isOpen(w)) cw.end = w.end!;
    listed.push(cw);
  }
  listed.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  const cells = [...inArea].filter(([, v]) => v).map(([c]) => c);
  const areaCells = new Set(cells);
  const areaSites = new Set(cells.map((c) => o.inventory.cell(c)?.site).filter((s): s is string => s !== undefined));
  if (place.own) {
    areaCells.add(place.own.id);
    areaSites.add(place.own.site);
  }
  const alerts = (o.alerts ?? []).filter(
    (a) =>
      a.state !== 'resolved' &&
      ((a.labels.cell !== undefined && areaCells.has(a.labels.cell)) ||
        (a.labels.site !== undefined && areaSites.has(a.labels.site))),
  );
  const complaintCount = o.complaintCount ?? 0;
  return {
    ok: true,
    at: query.at,
    cells: [...areaCells].sort(),
    windows: listed,
    alerts,
    complaintCount,
    summary: contextSummary(listed, query.at, o.now, o.words, complaintCount),
  };
}

/** The sentence(s) an agent reads out; see the rules in the file header. */
export function contextSummary(
  windows: readonly ContextWindow[],
  at: EpochMs,
  now: EpochMs,
  words: TimeWords,
  complaintCount = 0,
): string {
  const impact = windows.filter((w) => w.customerImpact);
  const worst = (ws: ContextWindow[]) =>
    [...ws].sort((a, b) => b.severity - a.severity || a.start - b.start || (a.id < b.id ? -1 : 1))[0];
  const ongoing = impact.filter((w) => w.status === 'ongoing');
  const atTime = worst(impact.filter((w) => w.when === 'at-the-time' && w.status === 'resolved'));
  const parts: string[] = [];
  if (ongoing.length > 0) {
    const main = worst(ongoing)!;
    const since = Math.min(...ongoing.map((w) => w.start));
    parts.push(
      `We are aware of a problem with ${plain(main.cause).problem} in this area since ${momentWords(since, now, words)}; engineers are working on it.`,
      plain(main.cause).fix,
    );
    if (atTime)
      parts.push(
        `Earlier there was also a network problem in this area ${spanWordsFor(atTime.start, atTime.end!, now, words)}: ${plain(atTime.cause).effect}; that has been fixed.`,
      );
  } else if (atTime) {
    parts.push(
      `Yes — there was a network problem in this area ${spanWordsFor(atTime.start, atTime.end!, now, words)}: ${plain(atTime.cause).effect}. It has been fixed.`,
    );
  } else {
    parts.push('We found no network problem in this area at that time.');
    const other = [...impact].sort(
      (a, b) => distance(a, at) - distance(b, at) || b.severity - a.severity || (a.id < b.id ? -1 : 1),
    )[0];
    if (other)
      parts.push(
        `There was one ${spanWordsFor(other.start, other.end!, now, words)}: ${plain(other.cause).effect}; it has been fixed.`,
      );
  }
  const problem = ongoing.length > 0 || atTime !== undefined;
  if (complaintCount > 0 && problem) parts.push('Other customers in this area have reported it too.');
  else if (complaintCount > 1 && !problem)
    parts.push('Other customers in this area have reported problems too, and we have asked our engineers to check.');
  return parts.join(' ');
}

function distance(w: ContextWindow, at: EpochMs): number {
  const end = w.end ?? Infinity;
  return at < w.start ? w.start - at : at > end ? at - end : 0;
}

// ---------------------------------------------------------------------------------------------
// Proactive notices

export interface Notice {
  /** `N-<first site>-<start, UTC minute>`: stable while the problem lasts. */
  id: string;
  area: { cells: string[]; sites: string[]; regions: string[]; centre: GeoPoint; radiusKm: number };
  start: EpochMs;
  status: WindowStatus;
  resolvedAt?: EpochMs;
  /** The cause of the worst window (for the operator's own routing; not part of the text). */
  cause: Cause;
  windows: string[];
  /** What customers are told. */
  text: string;
  /** The usual time to fix this cause, in words. */
  expectedFix: string;
}

export interface NoticeOptions {
  inventory: Inventory;
  now: EpochMs;
  words: TimeWords;
  /** How far a cell serves beyond its mast, added to the area's radius (default 1 km). */
  servingKm?: number;
}

/**
 * One notice for windows in one area (the caller chose the area: a site, a cell, a region), or
 * undefined when none of them affected customers. Windows on cells the inventory does not know are
 * left out: a notice must say where.
 */
export function noticeFor(windows: readonly Window[], o: NoticeOptions): Notice | undefined {
  const located = windows
    .filter((w) => w.severity >= IMPACT && w.start <= o.now)
    .map((w) => ({ w, cell: o.inventory.cell(w.cell) }))
    .filter((x): x is { w: Window; cell: NonNullable<typeof x.cell> } => x.cell !== undefined);
  if (located.length === 0) return undefined;
  const cells = [...new Set(located.map((x) => x.cell.id))].sort();
  const sites = [...new Set(located.map((x) => x.cell.site))].sort();
  const regions = [...new Set(located.map((x) => x.cell.region))].sort();
  const points = [...new Map(located.map((x) => [`${x.cell.lat},${x.cell.lon}`, x.cell])).values()];
  const centre = {
    lat: round5(points.reduce((a, c) => a + c.lat, 0) / points.length),
    lon: round5(points.reduce((a, c) => a + c.lon, 0) / points.length),
  };
  const reach = Math.max(0, ...points.map((c) => haversineKm(centre.lat, centre.lon, c.lat, c.lon)));
  const radiusKm = Math.round((reach + (o.servingKm ?? 1)) * 10) / 10;
  const start = Math.min(...located.map((x) => x.w.start));
  const open = located.filter((x) => isOpen(x.w));
  const worst = [...(open.length > 0 ? open : located)].sort(
    (a, b) => b.w.severity - a.w.severity || a.w.start - b.w.start || (a.w.id < b.w.id ? -1 : 1),
  )[0]!.w;
  const words = plain(worst.cause);
  const notice: Notice = {
    id: `N-${sites[0]}-${compactMinute(start)}`,
    area: { cells, sites, regions, centre, radiusKm },
    start,
    status: open.length > 0 ? 'ongoing' : 'resolved',
    cause: worst.cause,
    windows: located.map((x) => x.w.id).sort(),
    text: '',
    expectedFix: words.fix,
  };
  if (open.length > 0) {
    notice.text = `We are aware of a problem with ${words.problem} in this area since ${momentWords(start, o.now, o.words)}. Engineers are working on it. ${words.fix}`;
  } else {
    const end = Math.max(...located.map((x) => x.w.end!));
    notice.resolvedAt = end;
    notice.text = `The problem with ${words.problem} in this area ${spanWordsFor(start, end, o.now, o.words)} has been fixed. We are sorry for the trouble.`;
  }
  return notice;
}

/**
 * Notices for a set of windows, one per site (the cells of one mast are one area to a customer):
 * ongoing problems by default, and problems resolved within `resolvedWithinMs` when that is given.
 */
export function notices(windows: readonly Window[], o: NoticeOptions & { resolvedWithinMs?: number }): Notice[] {
  const bySite = new Map<string, Window[]>();
  for (const w of windows) {
    const site = o.inventory.cell(w.cell)?.site;
    if (site === undefined) continue;
    const recent = isOpen(w) || (o.resolvedWithinMs !== undefined && w.end! >= o.now - o.resolvedWithinMs);
    if (!recent) continue;
    let list = bySite.get(site);
    if (!list) bySite.set(site, (list = []));
    list.push(w);
  }
  const out: Notice[] = [];
  for (const ws of bySite.values()) {
    const n = noticeFor(ws, o);
    if (n) out.push(n);
  }
  return out.sort(
    (a, b) =>
      (a.status === b.status ? 0 : a.status === 'ongoing' ? -1 : 1) || b.start - a.start || (a.id < b.id ? -1 : 1),
  );
}

const round5 = (x: number) => Math.round(x * 1e5) / 1e5;

function compactMinute(ms: EpochMs): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}
