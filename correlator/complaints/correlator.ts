/**
 * The incremental complaint correlator: complaints and windows arrive in any order, and every
 * complaint's correlation is always the one its pairs with the current windows give.
 *
 *   addComplaints ──> locate ──> candidate places ──> windows index ──> score pairs ──> correlation
 *                                       │                                                  │
 *                                       └──> complaints index <── applyWindowEvents        └──> hot spots
 *
 * - Both indexes are keyed by *place*: a site (the cells of one mast share a location, so one
 *   spatial answer serves all of them), or a cell the inventory does not know. Windows are kept
 *   time-sorted by start per place; complaints by the start of their candidate range.
 * - A complaint is scored against the windows of every candidate place that overlap its range; a
 *   window event rescores only the complaints whose range overlaps the window's old and new spans at
 *   its place. Each pair is scored by the same pure functions (place.ts, scoring.ts), so the result is
 *   a function of the set of complaints and windows, never of their order.
 * - Window events apply by event time: per window id the event with the latest `at` wins (ties:
 *   opened < changed < closed < retracted), and a retraction is remembered, so a late 'changed' cannot
 *   resurrect a retracted window.
 * - Memory: `finalize(now)` hands back complaints whose range ended more than `settleMs` ago and drops
 *   them; windows that ended more than `windowRetentionMs` before `now` are dropped too. A complaint
 *   received so long ago that its windows were dropped must be correlated with them re-added (the
 *   caller has them in the record store).
 */
import type {
  Complaint,
  ComplaintCorrelation,
  ComplaintMatch,
  EpochMs,
  Inventory,
  Window,
  WindowChange,
  WindowEvent,
} from '../../model/index.js';
import { HotspotBook, type Hotspot, type HotspotEntry, type HotspotEvent, type HotspotOptions } from './hotspots.js';
import { QUERY_MARGIN_KM, byWeight, locate, spatialWeight, type Candidate, type ComplaintPlace } from './place.js';
import { DEFAULT_MATCH_OPTIONS, HOUR_MS, candidateRange, reasonFor, scorePair, type MatchOptions } from './scoring.js';

type Located = Extract<ComplaintPlace, { ok: true }>;

export interface CorrelatorOptions extends MatchOptions {
  /** Windows that ended more than this before `now` are dropped by finalize(). */
  windowRetentionMs: number;
  hotspots: Partial<HotspotOptions>;
}

export const DEFAULT_CORRELATOR_OPTIONS: CorrelatorOptions = {
  ...DEFAULT_MATCH_OPTIONS,
  windowRetentionMs: DEFAULT_MATCH_OPTIONS.lookbackMs + DEFAULT_MATCH_OPTIONS.afterMs + DEFAULT_MATCH_OPTIONS.settleMs,
  hotspots: {},
};

export type ComplaintOutcome =
  | { id: string; status: 'added'; correlation: ComplaintCorrelation }
  | { id: string; status: 'duplicate' }
  | { id: string; status: 'ignored'; reason: 'not-network' }
  | {
      id: string;
      status: 'rejected';
      reason: 'unknown-cell' | 'no-location' | 'bad-coordinates' | 'bad-time';
      field: string;
      message: string;
    };

export interface CorrelationChange {
  complaint: string;
  correlation: ComplaintCorrelation;
  /** Whether the complaint went from unexplained to explained or back. */
  explainedChanged: boolean;
}

export interface FinalCorrelation {
  complaint: Complaint;
  correlation: ComplaintCorrelation;
}

interface WindowEntry {
  w: Window;
  key: string;
  end: number;
  /** "19:05–21:40" / "since 19:05", built once per window version. */
  span?: string;
}

interface Match {
  entry: WindowEntry;
  where: Candidate;
  score: number;
  reason?: string;
}

interface Held {
  c: Complaint;
  place: Located;
  from: number;
  to: number;
  keys: string[];
  matches: Match[];
  correlation: ComplaintCorrelation;
  anchor?: { cell: string; site?: string; region?: string };
  dropped: boolean;
}

/** Time-sorted windows of one place. */
class PlaceWindows {
  closed: WindowEntry[] = [];
  open: WindowEntry[] = [];
  private sorted = true;
  private maxSpan = 0;

  add(e: WindowEntry): void {
    if (e.end === Infinity) {
      this.open.push(e);
      return;
    }
    const last = this.closed[this.closed.length - 1];
    if (last && byStart(last, e) > 0) this.sorted = false;
    this.closed.push(e);
    this.maxSpan = Math.max(this.maxSpan, e.end - e.w.start);
  }

  remove(e: WindowEntry): void {
    const list = e.end === Infinity ? this.open : this.closed;
    const i = list.indexOf(e);
    if (i >= 0) list.splice(i, 1);
  }

  /** Calls fn for every window overlapping [from, to]. */
  overlapping(from: number, to: number, fn: (e: WindowEntry) => void): void {
    for (const e of this.open) if (e.w.start <= to) fn(e);
    const list = this.closed;
    if (list.length === 0) return;
    if (!this.sorted) {
      list.sort(byStart);
      this.sorted = true;
    }
    // Last window starting at or before `to`, walking back while a window could still reach `from`.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.w.start <= to) lo = mid + 1;
      else hi = mid;
    }
    const stop = from - this.maxSpan;
    for (let i = lo - 1; i >= 0; i--) {
      const e = list[i]!;
      if (e.w.start < stop) break;
      if (e.end >= from) fn(e);
    }
  }

  dropEndedBefore(t: number): WindowEntry[] {
    const gone = this.closed.filter((e) => e.end < t);
    if (gone.length > 0) this.closed = this.closed.filter((e) => e.end >= t);
    return gone;
  }

  get size(): number {
    return this.closed.length + this.open.length;
  }
}

const byStart = (a: WindowEntry, b: WindowEntry) =>
  a.w.start - b.w.start || (a.w.id < b.w.id ? -1 : a.w.id > b.w.id ? 1 : 0);

/** Complaints of one place, by the start of their candidate range. */
class PlaceComplaints {
  items: Held[] = [];
  private sorted = true;
  dropped = 0;

  add(h: Held): void {
    const last = this.items[this.items.length - 1];
    if (last && last.from > h.from) this.sorted = false;
    this.items.push(h);
  }

  /** Calls fn for every held complaint whose range overlaps [from, to]; maxLen bounds a range's length. */
  overlapping(from: number, to: number, maxLen: number, fn: (h: Held) => void): void {
    if (this.dropped > 64 && this.dropped * 2 > this.items.length) {
      this.items = this.items.filter((h) => !h.dropped);
      this.dropped = 0;
    }
    if (!this.sorted) {
      this.items.sort((a, b) => a.from - b.from);
      this.sorted = true;
    }
    const list = this.items;
    let lo = 0;
    let hi = list.length;
    const first = from - maxLen;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.from < first) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < list.length; i++) {
      const h = list[i]!;
      if (h.from > to) break;
      if (!h.dropped && h.to >= from) fn(h);
    }
  }
}

const EVENT_RANK: Record<WindowChange, number> = { opened: 0, changed: 1, closed: 2, retracted: 3 };
const NO_MATCHES: ComplaintCorrelation = Object.freeze({
  explained: false,
  score: 0,
  windows: [],
});

export class ComplaintCorrelator {
  readonly options: Readonly<CorrelatorOptions>;
  private readonly held = new Map<string, Held>();
  private readonly windowsByKey = new Map<string, PlaceWindows>();
  private readonly complaintsByKey = new Map<string, PlaceComplaints>();
  private readonly windows = new Map<string, WindowEntry>();
  /** Per window id, the `at` and rank of the event that set its current state (retractions included). */
  private readonly versions = new Map<string, { at: number; rank: number; end: number }>();
  private readonly hotspotBook: HotspotBook;
  /** Candidate places of a cell-located complaint, per cell; of an address, per ~300 m tile. */
  private readonly cellPlaces = new Map<string, string[]>();
  private readonly tilePlaces = new Map<string, string[]>();
  private maxRange = 0;

  constructor(
    readonly inventory: Inventory,
    options: Partial<CorrelatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_CORRELATOR_OPTIONS, ...options };
    this.hotspotBook = new HotspotBook(this.options.hotspots);
  }

  get size(): { complaints: number; windows: number } {
    return { complaints: this.held.size, windows: this.windows.size };
  }

  /** Adds complaints (duplicates by id and non-network ones are reported, not added) and correlates them. */
  addComplaints(cs: readonly Complaint[]): { outcomes: ComplaintOutcome[]; hotspots: HotspotEvent[] } {
    const outcomes: ComplaintOutcome[] = [];
    const notes: HotspotEntry[] = [];
    for (const c of cs) {
      if (this.held.has(c.id)) {
        outcomes.push({ id: c.id, status: 'duplicate' });
        continue;
      }
      if (c.category !== 'network') {
        outcomes.push({ id: c.id, status: 'ignored', reason: 'not-network' });
        continue;
      }
      if (!Number.isFinite(c.receivedAt)) {
        outcomes.push({ id: c.id, status: 'rejected', reason: 'bad-time', field: 'receivedAt', message: 'not a time' });
        continue;
      }
      const place = locate(c, this.inventory);
      if (!place.ok) {
        outcomes.push({
          id: c.id,
          status: 'rejected',
          reason: place.reason,
          field: place.field,
          message: place.message,
        });
        continue;
      }
      const [from, to] = candidateRange(c, this.options);
      const h: Held = {
        c,
        place,
        from,
        to,
        keys: this.placesFor(place),
        matches: [],
        correlation: NO_MATCHES,
        dropped: false,
      };
      this.maxRange = Math.max(this.maxRange, to - from);
      this.matchAll(h);
      const anchor = this.anchorOf(h);
      if (anchor) h.anchor = anchor;
      h.correlation = this.build(h);
      this.held.set(c.id, h);
      for (const key of h.keys) {
        let pc = this.complaintsByKey.get(key);
        if (!pc) this.complaintsByKey.set(key, (pc = new PlaceComplaints()));
        pc.add(h);
      }
      outcomes.push({ id: c.id, status: 'added', correlation: h.correlation });
      const note = this.noteFor(h);
      if (note) notes.push(note);
    }
    return { outcomes, hotspots: notes.length > 0 ? this.hotspotBook.note(notes) : [] };
  }

  /** Convenience for windows read back from the store: each as an 'opened' (open) or 'closed' event at its lastBad. */
  addWindows(ws: readonly Window[]): { correlations: CorrelationChange[]; hotspots: HotspotEvent[] } {
    return this.applyWindowEvents(
      ws.map((w) => ({
        change: w.end === undefined || w.end === null ? 'opened' : 'closed',
        window: w,
        at: w.lastBad,
      })),
    );
  }

  /** Applies window updates; returns the complaints whose correlation changed. */
  applyWindowEvents(events: readonly WindowEvent[]): { correlations: CorrelationChange[]; hotspots: HotspotEvent[] } {
    const affected = new Map<Held, ComplaintCorrelation>();
    for (const ev of events) {
      const id = ev.window.id;
      const rank = EVENT_RANK[ev.change] ?? 1;
      const at = Number.isFinite(ev.at) ? ev.at : -Infinity;
      const seen = this.versions.get(id);
      if (seen && (at < seen.at || (at === seen.at && rank < seen.rank))) continue;
      const old = this.windows.get(id);
      const next = ev.change === 'retracted' ? undefined : this.entryFor(ev.window);
      this.versions.set(id, { at, rank, end: next?.end ?? old?.end ?? ev.window.end ?? Infinity });
      if (old) {
        this.windowsByKey.get(old.key)?.remove(old);
        this.windows.delete(id);
      }
      if (next) {
        let pw = this.windowsByKey.get(next.key);
        if (!pw) this.windowsByKey.set(next.key, (pw = new PlaceWindows()));
        pw.add(next);
        this.windows.set(id, next);
      }
      const visit = (e: WindowEntry) =>
        this.complaintsByKey.get(e.key)?.overlapping(e.w.start, e.end, this.maxRange, (h) => {
          if (!affected.has(h)) affected.set(h, h.correlation);
          this.rematch(h, id, next);
        });
      if (old) visit(old);
      if (next && (!old || old.key !== next.key || old.w.start !== next.w.start || old.end !== next.end)) visit(next);
    }
    const correlations: CorrelationChange[] = [];
    const notes: HotspotEntry[] = [];
    for (const [h, before] of affected) {
      const after = this.build(h);
      if (sameCorrelation(before, after)) continue;
      h.correlation = after;
      correlations.push({
        complaint: h.c.id,
        correlation: after,
        explainedChanged: before.explained !== after.explained,
      });
      const note = this.noteFor(h);
      if (note) notes.push(note);
    }
    correlations.sort((a, b) => (a.complaint < b.complaint ? -1 : a.complaint > b.complaint ? 1 : 0));
    return { correlations, hotspots: notes.length > 0 ? this.hotspotBook.note(notes) : [] };
  }

  correlation(id: string): ComplaintCorrelation | undefined {
    return this.held.get(id)?.correlation;
  }

  complaint(id: string): Complaint | undefined {
    return this.held.get(id)?.c;
  }

  /** Hot spots as of `now`, newest first. */
  hotspots(now: EpochMs, filter: { open?: boolean } = {}): Hotspot[] {
    return this.hotspotBook.list(now, filter);
  }

  /**
   * Moves to `now`: closes hot spots whose 72 h passed, hands back the complaints whose correlation is
   * final (their range ended more than settleMs ago) and drops them and the windows nothing can need.
   */
  finalize(now: EpochMs): { finalised: FinalCorrelation[]; hotspots: HotspotEvent[] } {
    const finalised: FinalCorrelation[] = [];
    for (const [id, h] of this.held) {
      if (h.to + this.options.settleMs > now) continue;
      finalised.push({ complaint: h.c, correlation: h.correlation });
      h.dropped = true;
      for (const key of h.keys) {
        const pc = this.complaintsByKey.get(key);
        if (pc) pc.dropped++;
      }
      this.held.delete(id);
    }
    const horizon = now - this.options.windowRetentionMs;
    for (const [key, pw] of this.windowsByKey) {
      for (const e of pw.dropEndedBefore(horizon)) this.windows.delete(e.w.id);
      if (pw.size === 0) this.windowsByKey.delete(key);
    }
    for (const [id, v] of this.versions) if (v.end < horizon && !this.windows.has(id)) this.versions.delete(id);
    for (const [key, pc] of this.complaintsByKey) {
      if (pc.dropped === pc.items.length) this.complaintsByKey.delete(key);
    }
    finalised.sort(
      (a, b) => a.complaint.receivedAt - b.complaint.receivedAt || (a.complaint.id < b.complaint.id ? -1 : 1),
    );
    return { finalised, hotspots: this.hotspotBook.advance(now) };
  }

  // -------------------------------------------------------------------------------------------

  private placeKey(cell: string): string {
    const site = this.inventory.cell(cell)?.site;
    return site !== undefined ? `s:${site}` : `c:${cell}`;
  }

  private entryFor(w: Window): WindowEntry {
    return { w, key: this.placeKey(w.cell), end: w.end === undefined || w.end === null ? Infinity : w.end };
  }

  /**
   * Places whose cells may be candidates: a superset is fine (the pair function decides), a missing
   * one is not. A cell-located complaint's places are memoised per cell; an address's per tile of
   * about 300 m, queried with the tile's half-diagonal added to the radius.
   */
  private placesFor(place: Located): string[] {
    const keys = new Set<string>();
    if (place.ownId !== undefined) keys.add(this.placeKey(place.ownId));
    if (place.own) for (const n of place.own.neighbours) if (this.inventory.has(n)) keys.add(this.placeKey(n));
    const r = this.options.radiusKm + QUERY_MARGIN_KM;
    if (place.pointFrom === 'cell' && place.ownId !== undefined) {
      let near = this.cellPlaces.get(place.ownId);
      if (!near) {
        near = this.sitesWithin(place.point.lat, place.point.lon, r);
        this.cellPlaces.set(place.ownId, near);
      }
      for (const k of near) keys.add(k);
    } else {
      const TILE_DEG = 0.0027; // ~300 m of latitude
      const i = Math.floor(place.point.lat / TILE_DEG);
      const lonDeg = TILE_DEG / Math.max(0.05, Math.cos(((i + 0.5) * TILE_DEG * Math.PI) / 180));
      const j = Math.floor(place.point.lon / lonDeg);
      const tile = `${i}:${j}`;
      let near = this.tilePlaces.get(tile);
      if (!near) {
        const halfDiagonalKm = 0.25;
        near = this.sitesWithin((i + 0.5) * TILE_DEG, (j + 0.5) * lonDeg, r + halfDiagonalKm);
        this.tilePlaces.set(tile, near);
      }
      for (const k of near) keys.add(k);
    }
    return [...keys];
  }

  private sitesWithin(lat: number, lon: number, km: number): string[] {
    const keys = new Set<string>();
    for (const n of this.inventory.within(lat, lon, km)) keys.add(`s:${n.cell.site}`);
    return [...keys];
  }

  /** Scores the complaint against every window at its places. */
  private matchAll(h: Held): void {
    const seen = new Map<string, Candidate | null>();
    for (const key of h.keys) {
      this.windowsByKey.get(key)?.overlapping(h.from, h.to, (e) => {
        let where = seen.get(e.w.cell);
        if (where === undefined) {
          where = spatialWeight(h.place, e.w.cell, this.inventory, this.options.radiusKm) ?? null;
          seen.set(e.w.cell, where);
        }
        if (!where || where.weight < this.options.minScore) return;
        const s = scorePair(h.c, e.w, where);
        if (s.score >= this.options.minScore) h.matches.push({ entry: e, where, score: s.score });
      });
    }
  }

  /** Replaces the complaint's match with window `id` by its score against `next` (none when retracted). */
  private rematch(h: Held, id: string, next: WindowEntry | undefined): void {
    const i = h.matches.findIndex((m) => m.entry.w.id === id);
    if (i >= 0) h.matches.splice(i, 1);
    if (!next || next.w.start > h.to || next.end < h.from || !h.keys.includes(next.key)) return;
    const where = spatialWeight(h.place, next.w.cell, this.inventory, this.options.radiusKm);
    if (!where || where.weight < this.options.minScore) return;
    const s = scorePair(h.c, next.w, where);
    if (s.score >= this.options.minScore) h.matches.push({ entry: next, where, score: s.score });
  }

  private build(h: Held): ComplaintCorrelation {
    if (h.matches.length === 0) return NO_MATCHES;
    h.matches.sort(byScore);
    const best = h.matches[0]!.score;
    const windows: ComplaintMatch[] = [];
    const n = Math.min(this.options.maxMatches, h.matches.length);
    for (let i = 0; i < n; i++) {
      const m = h.matches[i]!;
      m.reason ??= reasonFor(h.c, m.entry.w, m.where, h.place.ownId, this.options.formatTime);
      windows.push({ window: m.entry.w.id, cell: m.entry.w.cell, score: m.score, reason: m.reason });
    }
    return { explained: best >= this.options.explainAt, score: best, windows };
  }

  /**
   * The cell a complaint is anchored to for hot spots: the one it names, or its best candidate (the
   * cells of its candidate places hold every candidate, so no second spatial query is needed).
   */
  private anchorOf(h: Held): Held['anchor'] {
    let cell = h.place.ownId;
    if (cell === undefined) {
      let best: Candidate | undefined;
      for (const key of h.keys) {
        if (!key.startsWith('s:')) continue;
        for (const c of this.inventory.cellsOfSite(key.slice(2))) {
          const where = spatialWeight(h.place, c.id, this.inventory, this.options.radiusKm);
          if (where && (!best || byWeight(where, best) < 0)) best = where;
        }
      }
      if (!best) return undefined;
      cell = best.cell;
    }
    const known = this.inventory.cell(cell);
    const anchor: NonNullable<Held['anchor']> = { cell };
    if (known) {
      anchor.site = known.site;
      anchor.region = known.region;
    }
    return anchor;
  }

  private noteFor(h: Held): HotspotEntry | undefined {
    if (!h.anchor) return undefined;
    const e: HotspotEntry = {
      id: h.c.id,
      receivedAt: h.c.receivedAt,
      cell: h.anchor.cell,
      explained: h.correlation.explained,
      windows: h.matches.filter((m) => m.score >= this.options.explainAt).map((m) => m.entry.w.id),
    };
    if (h.anchor.site !== undefined) e.site = h.anchor.site;
    if (h.anchor.region !== undefined) e.region = h.anchor.region;
    return e;
  }
}

function byScore(a: Match, b: Match): number {
  return b.score - a.score || (a.entry.w.id < b.entry.w.id ? -1 : a.entry.w.id > b.entry.w.id ? 1 : 0);
}

function sameCorrelation(a: ComplaintCorrelation, b: ComplaintCorrelation): boolean {
  if (a.explained !== b.explained || a.score !== b.score || a.windows.length !== b.windows.length) return false;
  return a.windows.every((m, i) => {
    const o = b.windows[i]!;
    return m.window === o.window && m.score === o.score && m.reason === o.reason;
  });
}

export { HOUR_MS };
