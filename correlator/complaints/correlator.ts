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
 * - Hot spots: intake and window updates only mark the sites they touch; `hotspotEvents()` (after
 *   each batch) and `finalize(now)` evaluate them and report the events.
 * - Memory: `finalize(now)` hands back complaints whose range ended more than `settleMs` ago and drops
 *   them; windows that ended more than `windowRetentionMs` before `now` are dropped too. A complaint
 *   received so long ago that its windows were dropped must be correlated with them re-added (the
 *   caller has them in the record store).
 */
import type {
  Cell,
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
import {
  ADDRESS_BASE,
  MastMeasure,
  QUERY_MARGIN_KM,
  TILE_HALF_DIAGONAL_KM,
  byWeight,
  distanceFactor,
  haversineKm,
  locate,
  nearestAmong,
  spatialWeight,
  tileOf,
  type Candidate,
  type ComplaintPlace,
  type GeoPoint,
} from './place.js';
import {
  DEFAULT_MATCH_OPTIONS,
  HOUR_MS,
  candidateRange,
  combine,
  reasonFor,
  severityWeight,
  statedTime,
  statedTolerance,
  symptomFit,
  timeWeightAt,
  windowSpan,
  type MatchOptions,
} from './scoring.js';

type Located = Extract<ComplaintPlace, { ok: true }>;

export interface CorrelatorOptions extends MatchOptions {
  /** Windows that ended more than this before `now` are dropped by finalize(). */
  windowRetentionMs: number;
  hotspots: Partial<Omit<HotspotOptions, 'neighbourhood'>> & {
    /** Sites within this distance of a site are in its hot-spot cluster (km; 0: the site alone). */
    clusterKm?: number;
    /** The sites of a site's cells' inventory neighbours are in its cluster too (default true). */
    clusterNeighbours?: boolean;
  };
}

/** Sites within this distance of one another are "nearby cells" for hot spots (default). */
export const DEFAULT_CLUSTER_KM = 1;

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
  /** The window's cell in the inventory (undefined for a cell it does not know). */
  cell: Cell | undefined;
  key: string;
  end: number;
  /** "19:05–21:40" / "since 19:05", built once per window version. */
  span?: string;
}

interface Match {
  /** The window's id (read here, not through entry → window, when window events look for it). */
  id: string;
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
  /** statedTime and statedTolerance, worked out once. */
  issue: number | undefined;
  tau: number;
  /**
   * Candidate places (a superset: the pair function decides): those within reach of its point, or
   * holding its cell or a neighbour. It is listed in their complaints, for window events to find.
   */
  places: readonly Place[];
  matches: Match[];
  correlation: ComplaintCorrelation;
  anchor?: { cell: string; site?: string; region?: string };
  /** The entry last handed to the hot-spot book. */
  noted?: HotspotEntry;
  /** A complaint located by its cell alone: what is the same for every complaint naming that cell. */
  spots?: CellSpots;
  dropped: boolean;
}

/**
 * For complaints located by their cell alone (no address), everything spatial depends on the cell
 * only: the places within reach, and each window cell's Candidate (null: none, or under minScore).
 */
interface CellSpots {
  places: Place[];
  where: Map<string, Candidate | null>;
}

/**
 * Time-sorted windows of one place. Starts and ends are kept in plain number arrays beside the
 * entries: the binary search then reads contiguous numbers instead of chasing entry → window → start
 * (at a million lookups that pointer chase, not the arithmetic, was the cost).
 */
class PlaceWindows {
  closed: WindowEntry[] = [];
  starts: number[] = [];
  ends: number[] = [];
  open: WindowEntry[] = [];
  private sorted = true;
  maxSpan = 0;

  add(e: WindowEntry): void {
    if (e.end === Infinity) {
      this.open.push(e);
      return;
    }
    const last = this.closed[this.closed.length - 1];
    if (last && byStart(last, e) > 0) this.sorted = false;
    this.closed.push(e);
    this.starts.push(e.w.start);
    this.ends.push(e.end);
    this.maxSpan = Math.max(this.maxSpan, e.end - e.w.start);
  }

  remove(e: WindowEntry): void {
    if (e.end === Infinity) {
      const i = this.open.indexOf(e);
      if (i >= 0) this.open.splice(i, 1);
      return;
    }
    const i = this.closed.indexOf(e);
    if (i < 0) return;
    this.closed.splice(i, 1);
    this.starts.splice(i, 1);
    this.ends.splice(i, 1);
  }

  /** Index just past the last closed window starting at or before `to` (sorting first when needed). */
  upTo(to: number): number {
    if (!this.sorted) this.sort();
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= to) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private sort(): void {
    this.closed.sort(byStart);
    this.starts = this.closed.map((e) => e.w.start);
    this.ends = this.closed.map((e) => e.end);
    this.sorted = true;
  }

  dropEndedBefore(t: number): WindowEntry[] {
    if (!this.ends.some((end) => end < t)) return NO_ENTRIES;
    const gone = this.closed.filter((e) => e.end < t);
    if (gone.length > 0) {
      this.closed = this.closed.filter((e) => e.end >= t);
      this.starts = this.closed.map((e) => e.w.start);
      this.ends = this.closed.map((e) => e.end);
    }
    return gone;
  }

  get size(): number {
    return this.closed.length + this.open.length;
  }
}

const NO_ENTRIES: WindowEntry[] = [];

const byStart = (a: WindowEntry, b: WindowEntry) =>
  a.w.start - b.w.start || (a.w.id < b.w.id ? -1 : a.w.id > b.w.id ? 1 : 0);

/**
 * Complaints of one place, bucketed by the start of their candidate range (6 h buckets): a window
 * event reads the buckets its span can reach, and complaints arriving in any order are filed without
 * sorting. (A sorted list had to be re-sorted after every intake batch: at a million complaints that
 * sorting was seconds.)
 */
class PlaceComplaints {
  private readonly buckets = new Map<number, Held[]>();
  private held = 0;
  dropped = 0;

  get size(): number {
    return this.held - this.dropped;
  }

  add(h: Held): void {
    const k = Math.floor(h.from / COMPLAINT_BUCKET_MS);
    let b = this.buckets.get(k);
    if (!b) this.buckets.set(k, (b = []));
    b.push(h);
    this.held++;
  }

  /** Forgets finalised complaints once they are most of the list. */
  compact(): void {
    if (this.dropped > 0 && (this.dropped * 2 > this.held || this.dropped === this.held)) {
      for (const [k, b] of this.buckets) {
        const kept = b.filter((h) => !h.dropped);
        if (kept.length === 0) this.buckets.delete(k);
        else if (kept.length !== b.length) this.buckets.set(k, kept);
      }
      this.held -= this.dropped;
      this.dropped = 0;
    }
  }

  /** Calls fn for every held complaint whose range overlaps [from, to]; maxLen bounds a range's length. */
  overlapping(from: number, to: number, maxLen: number, fn: (h: Held) => void): void {
    if (this.dropped > 64) this.compact();
    const first = Math.floor((from - maxLen) / COMPLAINT_BUCKET_MS);
    const last = Math.floor(to / COMPLAINT_BUCKET_MS);
    const visit = (b: Held[]) => {
      for (const h of b) if (!h.dropped && h.from <= to && h.to >= from) fn(h);
    };
    if (!(last - first <= this.buckets.size)) {
      for (const b of this.buckets.values()) visit(b);
      return;
    }
    for (let k = first; k <= last; k++) {
      const b = this.buckets.get(k);
      if (b) visit(b);
    }
  }
}

const COMPLAINT_BUCKET_MS = 6 * 3_600_000;

/**
 * One place (a site, or a cell the inventory does not know): its windows, the complaints that may be
 * about it, and where its cells are (their first cell's point and how far the farthest sits from it).
 * Site places live as long as the correlator (the inventory bounds them), so caches may hold them.
 */
interface Place {
  key: string;
  windows: PlaceWindows;
  complaints: PlaceComplaints;
  at?: { lat: number; lon: number; spreadKm: number };
}

const EVENT_RANK: Record<WindowChange, number> = { opened: 0, changed: 1, closed: 2, retracted: 3 };
const NO_MATCHES: ComplaintCorrelation = Object.freeze({
  explained: false,
  score: 0,
  windows: [],
});

/**
 * A ~300 m tile: the places within the radius (plus the tile's half-diagonal) of its centre, the
 * points of their cells (an address's nearest mast is among them), and per named cell the places
 * with that cell's own ones added.
 */
interface Tile {
  near: Place[];
  masts: GeoPoint[];
  withOwn: Map<string, readonly Place[]>;
}

export class ComplaintCorrelator {
  readonly options: Readonly<CorrelatorOptions>;
  private readonly held = new Map<string, Held>();
  private readonly places = new Map<string, Place>();
  private readonly windows = new Map<string, WindowEntry>();
  /** Per window id, the `at` and rank of the event that set its current state (retractions included). */
  private readonly versions = new Map<string, { at: number; rank: number; end: number }>();
  /**
   * (end, id) of every version set, so that finalize() finds those ended before its horizon without
   * reading them all; an entry whose version changed since is skipped when it comes up.
   */
  private versionEnds: { end: number; id: string }[] = [];
  private versionEndsSorted = true;
  /** versionEnds[0, versionHead) are done with. */
  private versionHead = 0;
  private readonly hotspotBook: HotspotBook;
  /** Candidate places of a cell-located complaint, per cell; of an address, per ~300 m tile. */
  private readonly cellPlaces = new Map<string, Place[]>();
  private readonly cellSpots = new Map<string, CellSpots>();
  private readonly tiles = new Map<number, Tile>();
  /** Distances from the complaint being scored to the masts of its places' cells. */
  private readonly mast = new MastMeasure();
  private readonly ownKeys = new Map<string, Set<Place>>();
  private maxRange = 0;

  constructor(
    readonly inventory: Inventory,
    options: Partial<CorrelatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_CORRELATOR_OPTIONS, ...options };
    const { clusterKm = DEFAULT_CLUSTER_KM, clusterNeighbours = true, ...book } = this.options.hotspots;
    this.hotspotBook = new HotspotBook({
      ...book,
      neighbourhood: siteNeighbourhood(inventory, clusterKm, clusterNeighbours),
    });
  }

  get size(): { complaints: number; windows: number } {
    return { complaints: this.held.size, windows: this.windows.size };
  }

  /** Adds complaints (duplicates by id and non-network ones are reported, not added) and correlates them. */
  addComplaints(cs: readonly Complaint[]): { outcomes: ComplaintOutcome[] } {
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
      const place = locate(c, this.inventory, this.options.radiusKm, this.nearestMast);
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
        issue: statedTime(c),
        tau: statedTolerance(c),
        places: this.placesFor(place),
        matches: [],
        correlation: NO_MATCHES,
        dropped: false,
      };
      if (place.pointFrom === 'cell') h.spots = this.spotsFor(place, h.places);
      this.maxRange = Math.max(this.maxRange, to - from);
      const nearest = this.matchAll(h);
      h.places = nearest.reach;
      const anchor = this.anchorOf(h, nearest);
      if (anchor) h.anchor = anchor;
      h.correlation = this.build(h);
      this.held.set(c.id, h);
      for (const p of h.places) p.complaints.add(h);
      outcomes.push({ id: c.id, status: 'added', correlation: h.correlation });
      const note = this.noteFor(h);
      if (note) notes.push(note);
    }
    if (notes.length > 0) this.hotspotBook.note(notes);
    return { outcomes };
  }

  /** The window is held (read back or live, not yet dropped by `finalize`). */
  holdsWindow(id: string): boolean {
    return this.windows.has(id);
  }

  /** Convenience for windows read back from the store: each as an 'opened' (open) or 'closed' event at its lastBad. */
  addWindows(ws: readonly Window[]): { correlations: CorrelationChange[] } {
    return this.applyWindowEvents(
      ws.map((w) => ({
        change: w.end === undefined || w.end === null ? 'opened' : 'closed',
        window: w,
        at: w.lastBad,
      })),
    );
  }

  /** Applies window updates; returns the complaints whose correlation changed. */
  applyWindowEvents(events: readonly WindowEvent[]): { correlations: CorrelationChange[] } {
    const affected = new Map<Held, ComplaintCorrelation>();
    for (const ev of events) {
      const id = ev.window.id;
      const rank = EVENT_RANK[ev.change] ?? 1;
      const at = Number.isFinite(ev.at) ? ev.at : -Infinity;
      const seen = this.versions.get(id);
      if (seen && (at < seen.at || (at === seen.at && rank < seen.rank))) continue;
      const old = this.windows.get(id);
      const next = ev.change === 'retracted' ? undefined : this.entryFor(ev.window);
      const end = next?.end ?? old?.end ?? ev.window.end ?? Infinity;
      this.versions.set(id, { at, rank, end });
      if (end !== Infinity) {
        const q = this.versionEnds;
        if (q.length > 0 && q[q.length - 1]!.end > end) this.versionEndsSorted = false;
        q.push({ end, id });
      }
      if (old) {
        this.places.get(old.key)?.windows.remove(old);
        this.windows.delete(id);
      }
      if (next) {
        this.place(next.key).windows.add(next);
        this.windows.set(id, next);
      }
      const visit = (e: WindowEntry) =>
        this.places.get(e.key)?.complaints.overlapping(e.w.start, e.end, this.maxRange, (h) => {
          // h.correlation is only replaced below, so it is still the one from before the events.
          if (this.rematch(h, id, next, e.key === next?.key) && !affected.has(h)) affected.set(h, h.correlation);
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
    if (notes.length > 0) this.hotspotBook.note(notes);
    return { correlations };
  }

  correlation(id: string): ComplaintCorrelation | undefined {
    return this.held.get(id)?.correlation;
  }

  complaint(id: string): Complaint | undefined {
    return this.held.get(id)?.c;
  }

  /**
   * Hot spot events for what changed since the last call (complaints added, explanations gained or
   * lost). Call it after each intake batch or window update, or on a cadence; finalize() calls it too.
   */
  hotspotEvents(): HotspotEvent[] {
    return this.hotspotBook.flush();
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
      for (const p of h.places) p.complaints.dropped++;
      this.held.delete(id);
    }
    const horizon = now - this.options.windowRetentionMs;
    for (const [key, p] of this.places) {
      for (const e of p.windows.dropEndedBefore(horizon)) this.windows.delete(e.w.id);
      p.complaints.compact();
      // Sites stay (the inventory bounds them, and caches hold them); unknown cells go when empty.
      if (key.startsWith('c:') && p.windows.size === 0 && p.complaints.size === 0) this.places.delete(key);
    }
    this.forgetVersions(horizon);
    finalised.sort(
      (a, b) => a.complaint.receivedAt - b.complaint.receivedAt || (a.complaint.id < b.complaint.id ? -1 : 1),
    );
    return { finalised, hotspots: [...this.hotspotBook.flush(), ...this.hotspotBook.advance(now)] };
  }

  // -------------------------------------------------------------------------------------------

  /** Forgets the versions of windows that ended before `horizon` and are no longer held. */
  private forgetVersions(horizon: number): void {
    if (!this.versionEndsSorted) {
      this.versionEnds = this.versionEnds.slice(this.versionHead).sort((a, b) => a.end - b.end);
      this.versionHead = 0;
      this.versionEndsSorted = true;
    }
    const q = this.versionEnds;
    let n = this.versionHead;
    const kept: { end: number; id: string }[] = [];
    for (; n < q.length && q[n]!.end < horizon; n++) {
      const { id, end } = q[n]!;
      const v = this.versions.get(id);
      if (!v || v.end !== end) continue; // changed since: a later entry speaks for it
      if (this.windows.has(id)) kept.push(q[n]!);
      else this.versions.delete(id);
    }
    // Entries still held stay in front, in order (they ended before the rest).
    for (let i = kept.length - 1; i >= 0; i--) q[--n] = kept[i]!;
    this.versionHead = n;
    if (n > 1024 && n * 2 > q.length) {
      this.versionEnds = q.slice(n);
      this.versionHead = 0;
    }
  }

  private placeKey(cell: string): string {
    const site = this.inventory.cell(cell)?.site;
    return site !== undefined ? `s:${site}` : `c:${cell}`;
  }

  private place(key: string): Place {
    let p = this.places.get(key);
    if (!p) {
      p = { key, windows: new PlaceWindows(), complaints: new PlaceComplaints() };
      const cells = key.startsWith('s:') ? this.inventory.cellsOfSite(key.slice(2)) : [];
      if (cells.length > 0) {
        const lat = cells[0]!.lat;
        const lon = cells[0]!.lon;
        p.at = { lat, lon, spreadKm: Math.max(...cells.map((c) => haversineKm(lat, lon, c.lat, c.lon))) };
      }
      this.places.set(key, p);
    }
    return p;
  }

  private entryFor(w: Window): WindowEntry {
    const cell = this.inventory.cell(w.cell);
    return {
      w,
      cell,
      key: cell ? `s:${cell.site}` : `c:${w.cell}`,
      end: w.end === undefined || w.end === null ? Infinity : w.end,
    };
  }

  /**
   * Places whose cells may be candidates: a superset is fine (the pair function decides), a missing
   * one is not. A cell-located complaint's places are memoised per cell; an address's per tile of
   * about 300 m, queried with the tile's half-diagonal added to the radius.
   */
  private placesFor(place: Located): readonly Place[] {
    const r = this.options.radiusKm + QUERY_MARGIN_KM;
    if (place.pointFrom === 'cell' && place.ownId !== undefined) {
      let list = this.cellPlaces.get(place.ownId);
      if (!list) {
        const set = new Set(this.placesWithin(place.point.lat, place.point.lon, r));
        for (const p of this.ownPlaceSet(place)) set.add(p);
        list = [...set];
        this.cellPlaces.set(place.ownId, list);
      }
      return list;
    }
    const tile = this.tileAt(place.point);
    const near = tile.near;
    if (place.ownId === undefined) return near;
    let list = tile.withOwn.get(place.ownId);
    if (!list) {
      const own = this.ownPlaceSet(place);
      list = [...own].every((p) => near.includes(p)) ? near : [...new Set([...near, ...own])];
      tile.withOwn.set(place.ownId, list);
    }
    return list;
  }

  private tileAt(point: GeoPoint): Tile {
    const { key, lat, lon } = tileOf(point);
    let tile = this.tiles.get(key);
    if (!tile) {
      const r = this.options.radiusKm + QUERY_MARGIN_KM;
      const near = this.placesWithin(lat, lon, r + TILE_HALF_DIAGONAL_KM);
      const masts = new Map<string, GeoPoint>();
      for (const p of near)
        for (const c of this.inventory.cellsOfSite(p.key.slice(2))) masts.set(`${c.lat},${c.lon}`, c);
      tile = { near, masts: [...masts.values()], withOwn: new Map() };
      this.tiles.set(key, tile);
    }
    return tile;
  }

  /** place.ts's nearestKm, answered from the address's tile: its masts hold every cell within the radius. */
  private readonly nearestMast = (point: GeoPoint): number | undefined =>
    nearestAmong(point, this.tileAt(point).masts, this.options.radiusKm);

  private placesWithin(lat: number, lon: number, km: number): Place[] {
    const keys = new Set<string>();
    for (const n of this.inventory.within(lat, lon, km)) keys.add(`s:${n.cell.site}`);
    return [...keys].map((k) => this.place(k));
  }

  /** The places of the named cell and of its neighbours (a neighbour may sit beyond the radius), memoised per cell. */
  private ownPlaceSet(place: Located): Set<Place> {
    const id = place.ownId!;
    let set = this.ownKeys.get(id);
    if (!set) {
      set = new Set([this.place(this.placeKey(id))]);
      if (place.own)
        for (const n of place.own.neighbours) if (this.inventory.has(n)) set.add(this.place(this.placeKey(n)));
      this.ownKeys.set(id, set);
    }
    return set;
  }

  /**
   * Scores the complaint against every window at its places. The inner loop is the pair function
   * (spatialWeight × scorePair) unrolled: the time factors first, as an upper bound (spatial ≤ 1), then
   * one distance and bearing per mast, and a Candidate only for a pair that is listed. Returns the
   * nearest site place and its distance, which the hot-spot anchor of an address starts from.
   */
  private matchAll(h: Held): { places: { place: Place; km: number }[]; reach: readonly Place[] } {
    if (h.spots) {
      for (const p of h.spots.places) if (p.windows.size > 0) this.scan(h, p, NaN);
      return { places: [], reach: h.spots.places };
    }
    const { radiusKm } = this.options;
    const place = h.place;
    const ownId = place.ownId;
    const near = ownId !== undefined ? this.ownPlaceSet(place) : undefined;
    const located: { place: Place; km: number }[] = [];
    const reach: Place[] = [];
    const plat = place.point.lat;
    const plon = place.point.lon;
    for (const p of h.places) {
      let placeKm = NaN;
      if (p.at) {
        placeKm = haversineKm(plat, plon, p.at.lat, p.at.lon);
        // A mast beyond the radius holds no candidate unless the named cell or one of its neighbours is there.
        if (placeKm - p.at.spreadKm > radiusKm + QUERY_MARGIN_KM && !near?.has(p)) continue;
        if (ownId === undefined) located.push({ place: p, km: placeKm });
      }
      reach.push(p);
      if (p.windows.size > 0) this.scan(h, p, placeKm);
    }
    return { places: located, reach };
  }

  /** Scores the complaint against the place's windows that overlap its range. */
  private scan(h: Held, p: Place, placeKm: number): void {
    const pw = p.windows;
    // The place's point is the mast of most of its cells, and its distance is known.
    if (p.at && !Number.isNaN(placeKm)) this.mast.seed(p.at, placeKm);
    else this.mast.reset();
    for (const e of pw.open) if (e.w.start <= h.to) this.pair(h, e);
    if (pw.closed.length === 0) return;
    const last = pw.upTo(h.to) - 1; // first: it may sort, replacing the arrays read below
    const starts = pw.starts;
    const ends = pw.ends;
    const stop = h.from - pw.maxSpan;
    for (let i = last; i >= 0 && starts[i]! >= stop; i--) if (ends[i]! >= h.from) this.pair(h, pw.closed[i]!);
  }

  /** The places within reach of a cell-located complaint, and its window cells' weights (filled as met). */
  private spotsFor(place: Located, places: readonly Place[]): CellSpots {
    const id = place.ownId!;
    let spots = this.cellSpots.get(id);
    if (!spots) {
      const { radiusKm } = this.options;
      const near = this.ownPlaceSet(place);
      const reach = places.filter(
        (p) =>
          !p.at ||
          haversineKm(place.point.lat, place.point.lon, p.at.lat, p.at.lon) - p.at.spreadKm <=
            radiusKm + QUERY_MARGIN_KM ||
          near.has(p),
      );
      spots = { places: reach, where: new Map() };
      this.cellSpots.set(id, spots);
    }
    return spots;
  }

  /**
   * Scores one pair and lists it when it reaches minScore. This is the pair function (spatialWeight ×
   * scorePair) unrolled: the time factors first, as an upper bound (spatial ≤ 1), then the spatial
   * weight — remembered per window cell for a complaint located by its cell alone, else with one
   * distance and bearing per mast (this.mast, reset or seeded by the caller for each complaint and place).
   */
  private pair(h: Held, e: WindowEntry): boolean {
    const { minScore } = this.options;
    const c = h.c;
    const w = e.w;
    const time = timeWeightAt(h.issue, h.tau, c.receivedAt, w.start, e.end);
    const severity = severityWeight(w.severity);
    const fit = symptomFit(c.symptom, w);
    if (combine(1, time, severity, fit) < minScore) return false;
    let where: Candidate | undefined | null;
    const spots = h.spots;
    if (spots) {
      where = spots.where.get(w.cell);
      if (where === undefined) {
        where = this.candidate(h, e) ?? null;
        spots.where.set(w.cell, where);
      }
    } else where = this.candidate(h, e);
    if (!where) return false;
    const score = combine(where.weight, time, severity, fit);
    if (score < minScore) return false;
    h.matches.push({ id: e.w.id, entry: e, where, score });
    return true;
  }

  /** The window's cell as a candidate for the complaint, or undefined (none, or under minScore). */
  private candidate(h: Held, e: WindowEntry): Candidate | undefined {
    const { minScore, radiusKm } = this.options;
    const place = h.place;
    const w = e.w;
    let where: Candidate | undefined;
    if (w.cell === place.ownId) {
      where = spatialWeight(place, w.cell, this.inventory, radiusKm);
    } else {
      const cell = e.cell;
      if (!cell) return undefined;
      const weight = this.mast.weigh(place, cell, radiusKm);
      const relation = this.mast.relation;
      if (!relation || weight < minScore) return undefined;
      where = { cell: cell.id, relation, km: Math.round(this.mast.km * 1000) / 1000, weight };
    }
    return where && where.weight >= minScore ? where : undefined;
  }

  /**
   * Replaces the complaint's match with window `id` by its score against `next` (none when retracted).
   * `atPlace`: the complaint was found at next's place, so next's place is one of its candidates.
   * Returns whether its matches changed (a pair that stays unlisted leaves the correlation as it was).
   */
  private rematch(h: Held, id: string, next: WindowEntry | undefined, atPlace: boolean): boolean {
    const ms = h.matches;
    let removed = false;
    for (let i = 0; i < ms.length; i++)
      if (ms[i]!.id === id) {
        ms.splice(i, 1);
        removed = true;
        break;
      }
    if (!next || next.w.start > h.to || next.end < h.from) return removed;
    if (!atPlace && !h.places.some((p) => p.key === next.key)) return removed;
    this.mast.reset();
    return this.pair(h, next) || removed;
  }

  private build(h: Held): ComplaintCorrelation {
    if (h.matches.length === 0) return NO_MATCHES;
    if (h.matches.length > 1) h.matches.sort(byScore);
    const best = h.matches[0]!.score;
    const windows: ComplaintMatch[] = [];
    const n = Math.min(this.options.maxMatches, h.matches.length);
    for (let i = 0; i < n; i++) {
      const m = h.matches[i]!;
      m.entry.span ??= windowSpan(m.entry.w, this.options.formatTime);
      m.reason ??= reasonFor(h.c, m.entry.w, m.where, h.place.ownId, m.entry.span);
      windows.push({ window: m.entry.w.id, cell: m.entry.w.cell, score: m.score, reason: m.reason });
    }
    return { explained: best >= this.options.explainAt, score: best, windows };
  }

  /**
   * The cell a complaint is anchored to for hot spots: the one it names, or its best candidate. For an
   * address, masts are tried nearest first, skipping those too far to outweigh the best so far.
   */
  private anchorOf(h: Held, matched: { places: { place: Place; km: number }[] }): Held['anchor'] {
    let cell = h.place.ownId;
    if (cell === undefined) {
      const sites = matched.places.sort((a, b) => a.km - b.km);
      let best: Candidate | undefined;
      for (const { place, km } of sites) {
        const spread = place.at?.spreadKm ?? 0;
        const beyond = km - spread - QUERY_MARGIN_KM - (h.place.nearestKm ?? 0);
        if (best && ADDRESS_BASE * distanceFactor(Math.max(0, beyond)) < best.weight) continue;
        for (const c of this.inventory.cellsOfSite(place.key.slice(2))) {
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
    // A score that moved without changing what the book counts (explained, and by which windows) is
    // no news to it: re-noting would only make it judge the complaint's hot spots again.
    const last = h.noted;
    if (
      last &&
      this.hotspotBook.entry(e.id) === last &&
      last.explained === e.explained &&
      last.windows.length === e.windows.length &&
      last.windows.every((w, i) => w === e.windows[i])
    )
      return undefined;
    h.noted = e;
    return e;
  }
}

/**
 * A site's hot-spot cluster: itself, the sites within `km` of any of its cells, and (with
 * `neighbours`) the sites of its cells' inventory neighbours and of the cells that list its cells as
 * neighbours — symmetric, as the hot-spot book needs. Worked out per site on first use.
 */
export function siteNeighbourhood(
  inventory: Inventory,
  km: number,
  neighbours: boolean,
): (site: string) => readonly string[] {
  let listedBy: Map<string, Set<string>> | undefined;
  const linked = (): Map<string, Set<string>> => {
    if (listedBy) return listedBy;
    listedBy = new Map();
    const link = (a: string, b: string) => {
      if (a === b) return;
      let set = listedBy!.get(a);
      if (!set) listedBy!.set(a, (set = new Set()));
      set.add(b);
    };
    for (const c of inventory.cells)
      for (const n of inventory.neighbours(c.id)) {
        link(c.site, n.site);
        link(n.site, c.site);
      }
    return listedBy;
  };
  const cache = new Map<string, readonly string[]>();
  return (site) => {
    let out = cache.get(site);
    if (out) return out;
    const set = new Set<string>([site]);
    if (km > 0) {
      const spots = new Set<string>();
      for (const c of inventory.cellsOfSite(site)) {
        const spot = `${c.lat},${c.lon}`;
        if (spots.has(spot)) continue;
        spots.add(spot);
        // The exact distance decides; the index is asked with a margin (as for candidate cells).
        for (const n of inventory.within(c.lat, c.lon, km + QUERY_MARGIN_KM))
          if (haversineKm(c.lat, c.lon, n.cell.lat, n.cell.lon) <= km) set.add(n.cell.site);
      }
    }
    if (neighbours) for (const s of linked().get(site) ?? []) set.add(s);
    out = [...set].sort();
    cache.set(site, out);
    return out;
  };
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
