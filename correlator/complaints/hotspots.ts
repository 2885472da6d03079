/**
 * Complaint hot spots: where customers complain together, with or without a window to show for it.
 *
 * The rules:
 * - Each network complaint is anchored to one cell: the cell it names, or else its best candidate
 *   (highest spatial weight, then id), and so to that cell's *site* (or to the cell itself when the
 *   inventory does not know it).
 * - A hot spot is "three or more network complaints on one cell, or one cluster of nearby cells,
 *   within 72 hours". The cluster around a site is its *neighbourhood*: the site itself, the sites
 *   within `clusterKm` (default 1 km) and the sites of its cells' inventory neighbours (the caller
 *   supplies it; without one a neighbourhood is the site alone). Every site is a possible centre.
 * - Per centre, the complaints anchored in its neighbourhood, by (receivedAt, id), form episodes: a
 *   complaint more than 72 h after the previous one starts a new episode. An episode is a candidate
 *   hot spot once three of its complaints fall within 72 h; it opens at the third one's receivedAt.
 * - Neighbourhoods overlap, so one burst is a candidate at several centres. A candidate is reported
 *   unless another centre's candidate holds all of its complaints and more — or the same complaints,
 *   with more of them anchored at that centre itself (then the lower site id). Two bursts side by side
 *   that share a complaint are two hot spots; one burst is one hot spot, centred where most of it is.
 *   A single linkage ("near something near something") would chain a dense downtown into one
 *   city-wide hot spot; a neighbourhood has a bounded size.
 * - A hot spot is a *silent degradation* while no window explains any of its complaints (the network
 *   looks fine, the customers say otherwise); `silentBelow` > 0 widens that to "while the explained
 *   share is below it".
 * - It closes when 72 h pass after its last complaint with no new one.
 * - Its id is `HS-<first complaint's site>-<its receivedAt, UTC, to the minute>`: the same complaints
 *   give the same id in any order, and a burst that grows towards a neighbouring site (its centre
 *   moves) keeps it. A late complaint received before the first one re-keys it: the old id closes
 *   (`superseded`) and the new one opens.
 * Events are {change: 'opened' | 'changed' | 'closed', hotspot, at}; `at` is event time (the
 * complaint that caused it, or the moment the 72 h ran out).
 */
import type { EpochMs } from '../../model/index.js';

export type HotspotKind = 'hotspot' | 'silent-degradation';

export interface Hotspot {
  id: string;
  kind: HotspotKind;
  /** The centre: the site the cluster is around (or the cell, for a cell the inventory does not know). */
  site?: string;
  cell?: string;
  region?: string;
  /** Sites the complaints are anchored on, most complaints first. */
  sites: string[];
  /** Anchor cells with their complaint counts, most first. */
  cells: { cell: string; complaints: number }[];
  /** Complaint ids, by receivedAt. */
  complaints: string[];
  explained: number;
  /** Windows that explain at least one of its complaints, sorted. */
  windows: string[];
  firstAt: EpochMs;
  lastAt: EpochMs;
  /** When it became a hot spot: the receivedAt of the complaint that made three within 72 h. */
  openedAt: EpochMs;
  /** lastAt + 72 h: when it closes unless another complaint arrives. */
  closesAt: EpochMs;
  status: 'open' | 'closed';
}

export type HotspotChange = 'opened' | 'changed' | 'closed';

export interface HotspotEvent {
  change: HotspotChange;
  hotspot: Hotspot;
  at: EpochMs;
  /** A 'closed' that is no ending: the complaints went on under another id (re-keyed, or taken into a larger hot spot). */
  superseded?: true;
}

/** What the book needs to know about one network complaint. */
export interface HotspotEntry {
  id: string;
  receivedAt: EpochMs;
  /** Anchor cell. */
  cell: string;
  site?: string;
  region?: string;
  explained: boolean;
  /** Ids of the windows explaining it (score ≥ explainAt). */
  windows: readonly string[];
}

export interface HotspotOptions {
  /** Span in which `minComplaints` complaints make a hot spot, and the quiet time that closes it. */
  windowMs: number;
  minComplaints: number;
  /**
   * A hot spot is silent while none of its complaints is explained; with a share here, also while
   * the explained share is below it.
   */
  silentBelow: number;
  /** Closed hot spots stay listed this long after closing. */
  keepClosedMs: number;
  /**
   * The sites of one cluster around a site, the site itself included; symmetric (if B is in A's,
   * A is in B's). Default: the site alone.
   */
  neighbourhood?: (site: string) => readonly string[];
}

export const DEFAULT_HOTSPOT_OPTIONS: HotspotOptions = {
  windowMs: 72 * 3_600_000,
  minComplaints: 3,
  silentBelow: 0,
  keepClosedMs: 72 * 3_600_000,
};

/** The complaints anchored on one site (or one cell the inventory does not know). */
interface Member {
  key: string;
  entries: HotspotEntry[];
  sorted: boolean;
}

/** A hot spot as last reported, with the centre it was reported at. */
interface Reported {
  centre: string;
  hotspot: Hotspot;
}

const byTime = (a: HotspotEntry, b: HotspotEntry) =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const keyOf = (e: Pick<HotspotEntry, 'site' | 'cell'>) => (e.site !== undefined ? `s:${e.site}` : `c:${e.cell}`);

export function hotspotId(label: string, firstAt: EpochMs): string {
  const iso = new Date(firstAt).toISOString();
  return `HS-${label}-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

/** Per evaluation: each centre's candidates, worked out once however many neighbours ask. */
type Candidates = Map<string, Hotspot[]>;

export class HotspotBook {
  private readonly members = new Map<string, Member>();
  /** Hot spots as last reported, by id (an id outlives a move of its centre). */
  private readonly reported = new Map<string, Reported>();
  /** complaint id → member key, so an update finds its entry. */
  private readonly where = new Map<string, string>();
  private readonly o: HotspotOptions;
  /** The latest `now` seen by advance(): updates in between are judged as of then. */
  private now = -Infinity;
  private readonly dirty = new Set<string>();
  private readonly nearCache = new Map<string, readonly string[]>();

  constructor(options: Partial<HotspotOptions> = {}) {
    this.o = { ...DEFAULT_HOTSPOT_OPTIONS, ...options };
  }

  /**
   * Adds or updates complaints (e.g. when a window starts explaining one). Nothing is evaluated here:
   * the sites touched are marked, and flush() or advance() reports what changed — a burst of a thousand
   * complaints on one site is one evaluation and one event, not a thousand.
   */
  note(entries: readonly HotspotEntry[]): void {
    for (const e of entries) {
      const key = keyOf(e);
      const prevKey = this.where.get(e.id);
      if (prevKey !== undefined && prevKey !== key) {
        const old = this.members.get(prevKey);
        if (old) {
          old.entries = old.entries.filter((x) => x.id !== e.id);
          this.dirty.add(prevKey);
        }
      }
      let m = this.members.get(key);
      if (!m) {
        m = { key, entries: [], sorted: true };
        this.members.set(key, m);
      }
      if (prevKey === key) {
        const i = m.entries.findIndex((x) => x.id === e.id);
        if (i >= 0) m.entries[i] = e;
        else m.entries.push(e);
        m.sorted = false;
      } else {
        const last = m.entries[m.entries.length - 1];
        if (last && byTime(last, e) > 0) m.sorted = false;
        m.entries.push(e);
      }
      this.where.set(e.id, key);
      this.dirty.add(key);
    }
  }

  /** Evaluates the neighbourhoods touched since the last flush and returns the hot spot events. */
  flush(): HotspotEvent[] {
    if (this.dirty.size === 0) return [];
    // A member's complaints count at every centre whose neighbourhood holds it; whether such a
    // centre's candidate is reported depends on the centres overlapping it.
    const touched = new Set<string>();
    for (const d of this.dirty) for (const c of this.near(d)) touched.add(c);
    const judged = new Set<string>();
    for (const c of touched) for (const x of this.near(c)) for (const y of this.near(x)) judged.add(y);
    this.dirty.clear();
    return this.refresh(judged, this.now).sort(byEvent);
  }

  /** Closes hot spots whose quiet 72 h ran out by `now`, and forgets what is no longer needed. */
  advance(now: EpochMs): HotspotEvent[] {
    this.now = Math.max(this.now, now);
    now = this.now;
    this.dirty.clear();
    const events = this.refresh(this.centreKeys(), now);
    for (const m of this.members.values()) {
      this.prune(m, now);
      if (m.entries.length === 0) this.members.delete(m.key);
    }
    for (const [id, r] of this.reported)
      if (r.hotspot.status === 'closed' && r.hotspot.closesAt + this.o.keepClosedMs < now) this.reported.delete(id);
    return events.sort(byEvent);
  }

  /** Hot spots as of `now` (open and recently closed; `open: true` for open ones only), newest first. Pure: reports nothing. */
  list(now: EpochMs, filter: { open?: boolean } = {}): Hotspot[] {
    const memo: Candidates = new Map();
    const out: Hotspot[] = [];
    for (const key of this.centreKeys()) {
      for (const h of this.current(key, now, memo)) {
        if (h.openedAt > now) continue;
        if (filter.open === true && h.status !== 'open') continue;
        if (filter.open === false && h.status !== 'closed') continue;
        out.push(h);
      }
    }
    return out.sort((a, b) => b.openedAt - a.openedAt || (a.id < b.id ? -1 : 1));
  }

  /** Every centre that may hold a hot spot: those near a member, and those with something reported. */
  private centreKeys(): Set<string> {
    const keys = new Set<string>();
    for (const r of this.reported.values()) keys.add(r.centre);
    for (const k of this.members.keys()) for (const c of this.near(k)) keys.add(c);
    return keys;
  }

  /** The member keys of a centre's neighbourhood (itself included); a cell the inventory does not know is alone. */
  private near(key: string): readonly string[] {
    let list = this.nearCache.get(key);
    if (!list) {
      const fn = this.o.neighbourhood;
      list = key.startsWith('s:') && fn ? [...new Set([key, ...fn(key.slice(2)).map((s) => `s:${s}`)])].sort() : [key];
      this.nearCache.set(key, list);
    }
    return list;
  }

  /**
   * Recomputes the hot spots of these centres and reports the difference from what was last
   * reported for them. An id found at another centre than before has moved (a burst grew towards a
   * neighbour): one hot spot, changed, not one closed and another opened.
   */
  private refresh(centres: ReadonlySet<string>, now: EpochMs): HotspotEvent[] {
    const memo: Candidates = new Map();
    const current = new Map<string, Reported>();
    for (const c of centres) for (const h of this.current(c, now, memo)) current.set(h.id, { centre: c, hotspot: h });
    const events: HotspotEvent[] = [];
    for (const [id, old] of this.reported) {
      if (!centres.has(old.centre) || current.has(id)) continue;
      // Re-keyed (a late, earlier complaint) or taken into a hot spot that holds more: this identity ends.
      if (old.hotspot.status === 'open')
        events.push({
          change: 'closed',
          hotspot: { ...old.hotspot, status: 'closed' },
          at: old.hotspot.lastAt,
          superseded: true,
        });
      this.reported.delete(id);
    }
    for (const [id, cur] of current) {
      const old = this.reported.get(id);
      this.reported.set(id, cur);
      const h = cur.hotspot;
      if (!old) {
        events.push({ change: 'opened', hotspot: h, at: h.openedAt });
        if (h.status === 'closed') events.push({ change: 'closed', hotspot: h, at: h.closesAt });
      } else if (h.status === 'closed' && old.hotspot.status === 'open') {
        events.push({ change: 'closed', hotspot: h, at: h.closesAt });
      } else if (!sameHotspot(old.hotspot, h)) {
        events.push({ change: 'changed', hotspot: h, at: h.lastAt });
      }
    }
    return events;
  }

  /**
   * A centre's candidates that no overlapping centre's candidate covers (see the rules). Ids come from
   * the first complaint, so a burst that grows towards a neighbour keeps its id; should two reported
   * hot spots side by side start with the same complaint, all but the largest (then the lowest
   * centre) are told apart by their centre.
   */
  private current(key: string, now: EpochMs, memo: Candidates): Hotspot[] {
    const mine = this.candidates(key, now, memo);
    if (mine.length === 0) return mine;
    const rivals = new Set<string>();
    for (const x of this.near(key)) for (const y of this.near(x)) if (y !== key) rivals.add(y);
    const kept = mine.filter((h) => !this.dominated(h, key, rivals, now, memo));
    return kept.map((h) => {
      for (const r of rivals) {
        if (r > key && !this.collides(h, r, now, memo, (o) => o.complaints.length > h.complaints.length)) continue;
        if (r < key && !this.collides(h, r, now, memo, (o) => o.complaints.length >= h.complaints.length)) continue;
        return { ...h, id: `${h.id}~${key.slice(2)}` };
      }
      return h;
    });
  }

  private dominated(h: Hotspot, key: string, rivals: ReadonlySet<string>, now: EpochMs, memo: Candidates): boolean {
    const ids = new Set(h.complaints);
    for (const r of rivals)
      for (const o of this.candidates(r, now, memo)) {
        if (o.complaints.length < h.complaints.length || o.lastAt < h.firstAt || o.firstAt > h.lastAt) continue;
        const theirs = new Set(o.complaints);
        if (!h.complaints.every((id) => theirs.has(id))) continue;
        if (o.complaints.length > h.complaints.length) return true;
        const ownHere = this.ownCount(ids, key);
        const ownThere = this.ownCount(ids, r);
        if (ownThere > ownHere || (ownThere === ownHere && r < key)) return true;
      }
    return false;
  }

  /** Whether a reported hot spot at centre `r` has h's id and wins it (`wins`). */
  private collides(h: Hotspot, r: string, now: EpochMs, memo: Candidates, wins: (o: Hotspot) => boolean): boolean {
    const rivals = new Set<string>();
    for (const x of this.near(r)) for (const y of this.near(x)) if (y !== r) rivals.add(y);
    return this.candidates(r, now, memo).some(
      (o) => o.id === h.id && wins(o) && !this.dominated(o, r, rivals, now, memo),
    );
  }

  private ownCount(ids: ReadonlySet<string>, key: string): number {
    let n = 0;
    for (const id of ids) if (this.where.get(id) === key) n++;
    return n;
  }

  private candidates(key: string, now: EpochMs, memo: Candidates): Hotspot[] {
    let out = memo.get(key);
    if (out) return out;
    out = [];
    const near = this.near(key);
    let es: HotspotEntry[] = [];
    for (const k of near) {
      const m = this.members.get(k);
      if (!m) continue;
      if (!m.sorted) {
        m.entries.sort(byTime);
        m.sorted = true;
      }
      es = es.length === 0 ? m.entries : es.concat(m.entries);
    }
    if (es.length >= this.o.minComplaints) {
      if (near.length > 1) es = [...es].sort(byTime);
      let i = 0;
      while (i < es.length) {
        let j = i + 1;
        while (j < es.length && es[j]!.receivedAt - es[j - 1]!.receivedAt <= this.o.windowMs) j++;
        const h = this.episode(key, es.slice(i, j), now);
        if (h) out.push(h);
        i = j;
      }
    }
    memo.set(key, out);
    return out;
  }

  private episode(key: string, es: HotspotEntry[], now: EpochMs): Hotspot | undefined {
    const k = this.o.minComplaints - 1;
    let openedAt: number | undefined;
    for (let i = k; i < es.length; i++) {
      if (es[i]!.receivedAt - es[i - k]!.receivedAt <= this.o.windowMs) {
        openedAt = es[i]!.receivedAt;
        break;
      }
    }
    if (openedAt === undefined) return undefined;
    const first = es[0]!;
    const last = es[es.length - 1]!;
    const cells = new Map<string, number>();
    const sites = new Map<string, number>();
    const regions = new Map<string, number>();
    const windows = new Set<string>();
    let explained = 0;
    let region: string | undefined;
    for (const e of es) {
      cells.set(e.cell, (cells.get(e.cell) ?? 0) + 1);
      if (e.site !== undefined) sites.set(e.site, (sites.get(e.site) ?? 0) + 1);
      if (e.region !== undefined) {
        regions.set(e.region, (regions.get(e.region) ?? 0) + 1);
        if (keyOf(e) === key) region ??= e.region;
      }
      if (e.explained) explained++;
      for (const w of e.windows) windows.add(w);
    }
    const byCount = <T extends { complaints: number }>(a: T & { id: string }, b: T & { id: string }) =>
      b.complaints - a.complaints || (a.id < b.id ? -1 : 1);
    const closesAt = last.receivedAt + this.o.windowMs;
    const silent = explained === 0 || explained < this.o.silentBelow * es.length;
    const label = key.slice(2);
    const h: Hotspot = {
      id: hotspotId(first.site ?? first.cell, first.receivedAt),
      kind: silent ? 'silent-degradation' : 'hotspot',
      sites: [...sites]
        .map(([id, complaints]) => ({ id, complaints }))
        .sort(byCount)
        .map((s) => s.id),
      cells: [...cells]
        .map(([id, complaints]) => ({ id, complaints }))
        .sort(byCount)
        .map((c) => ({ cell: c.id, complaints: c.complaints })),
      complaints: es.map((e) => e.id),
      explained,
      windows: [...windows].sort(),
      firstAt: first.receivedAt,
      lastAt: last.receivedAt,
      openedAt,
      closesAt,
      status: now >= closesAt ? 'closed' : 'open',
    };
    if (key.startsWith('s:')) h.site = label;
    else h.cell = label;
    // The centre's region; a centre with no complaint of its own takes the region most of them are in.
    region ??= [...regions].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    if (region !== undefined) h.region = region;
    return h;
  }

  /**
   * Entries of episodes that closed more than keepClosedMs ago can go: nothing can reopen them in
   * order. Episodes are cut at every centre holding the member, so the gap that ends one must be a gap
   * in all of them: it is looked for in the merged timeline of every member those centres hold.
   */
  private prune(m: Member, now: EpochMs): void {
    const horizon = now - this.o.windowMs - this.o.keepClosedMs;
    if (!m.sorted) {
      m.entries.sort(byTime);
      m.sorted = true;
    }
    if (m.entries.length === 0 || m.entries[0]!.receivedAt >= horizon) return;
    const around = new Set<string>();
    for (const c of this.near(m.key)) for (const x of this.near(c)) around.add(x);
    const times: number[] = [];
    for (const k of around) for (const e of this.members.get(k)?.entries ?? []) times.push(e.receivedAt);
    times.sort((a, b) => a - b);
    let cut = -Infinity;
    if (times[times.length - 1]! < horizon) cut = Infinity;
    else
      for (let i = 1; i < times.length && times[i - 1]! < horizon; i++)
        if (times[i]! - times[i - 1]! > this.o.windowMs) cut = times[i - 1]!;
    if (cut === -Infinity) return;
    const keep: HotspotEntry[] = [];
    for (const e of m.entries) {
      if (e.receivedAt <= cut) this.where.delete(e.id);
      else keep.push(e);
    }
    m.entries = keep;
  }
}

function sameHotspot(a: Hotspot, b: Hotspot): boolean {
  return (
    a.kind === b.kind &&
    a.status === b.status &&
    a.explained === b.explained &&
    a.openedAt === b.openedAt &&
    a.lastAt === b.lastAt &&
    a.complaints.length === b.complaints.length &&
    a.complaints.every((c, i) => c === b.complaints[i]) &&
    a.windows.length === b.windows.length &&
    a.windows.every((w, i) => w === b.windows[i])
  );
}

const CHANGE_RANK: Record<HotspotChange, number> = { opened: 0, changed: 1, closed: 2 };
function byEvent(a: HotspotEvent, b: HotspotEvent): number {
  return (
    a.at - b.at ||
    CHANGE_RANK[a.change] - CHANGE_RANK[b.change] ||
    (a.hotspot.id < b.hotspot.id ? -1 : a.hotspot.id > b.hotspot.id ? 1 : 0)
  );
}
