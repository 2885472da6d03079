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
  /** The entries it was described from: the same ones (by reference) describe it the same way. */
  es: readonly HotspotEntry[];
}

const byTime = (a: HotspotEntry, b: HotspotEntry) =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const keyOf = (e: Pick<HotspotEntry, 'site' | 'cell'>) => (e.site !== undefined ? `s:${e.site}` : `c:${e.cell}`);

export function hotspotId(label: string, firstAt: EpochMs): string {
  const iso = new Date(firstAt).toISOString();
  return `HS-${label}-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

/**
 * One evaluation's memo: each centre's candidates, those no rival covers, and who its rivals are,
 * worked out once however many neighbours ask.
 */
interface Candidates {
  all: Map<string, Episode[]>;
  kept: Map<string, Episode[]>;
  rivals: Map<string, string[]>;
}

/** A candidate before it is worth describing: which complaints, when. */
interface Episode {
  centre: string;
  es: HotspotEntry[];
  complaints: string[];
  id: string;
  firstAt: EpochMs;
  lastAt: EpochMs;
  openedAt: EpochMs;
}
const newMemo = (): Candidates => ({ all: new Map(), kept: new Map(), rivals: new Map() });

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
    const judged = this.judgedFor(this.dirty);
    this.dirty.clear();
    return this.refresh(judged, this.now).sort(byEvent);
  }

  /** The centres whose hot spots a change to these members can change: theirs, and their rivals'. */
  private judgedFor(members: ReadonlySet<string>): Set<string> {
    const touched = new Set<string>();
    for (const d of members) for (const c of this.near(d)) touched.add(c);
    const judged = new Set<string>();
    for (const c of touched) for (const x of this.near(c)) for (const y of this.near(x)) judged.add(y);
    return judged;
  }

  /** Closes hot spots whose quiet 72 h ran out by `now`, and forgets what is no longer needed. */
  advance(now: EpochMs): HotspotEvent[] {
    this.now = Math.max(this.now, now);
    now = this.now;
    // Time alone changes a hot spot only by closing it: the open ones that ran out, plus whatever
    // came in since the last flush.
    const judged = this.judgedFor(this.dirty);
    this.dirty.clear();
    for (const r of this.reported.values())
      if (r.hotspot.status === 'open' && r.hotspot.closesAt <= now) judged.add(r.centre);
    const events = this.refresh(judged, now);
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
    const memo = newMemo();
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
    const memo = newMemo();
    const current = new Map<string, Reported>();
    for (const c of centres) for (const r of this.currentWith(c, now, memo)) current.set(r.hotspot.id, r);
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

  /** The centres whose neighbourhoods overlap this one's (it excluded), sorted. */
  private rivalsOf(key: string, memo: Candidates): string[] {
    let out = memo.rivals.get(key);
    if (!out) {
      const set = new Set<string>();
      for (const x of this.near(key)) for (const y of this.near(x)) if (y !== key) set.add(y);
      out = [...set].sort();
      memo.rivals.set(key, out);
    }
    return out;
  }

  /**
   * A centre's candidates that no overlapping centre's candidate covers (see the rules). Ids come from
   * the first complaint, so a burst that grows towards a neighbour keeps its id; should two reported
   * hot spots side by side start with the same complaint, all but the largest (then the lowest
   * centre) are told apart by their centre.
   */
  private current(key: string, now: EpochMs, memo: Candidates): Hotspot[] {
    return this.currentWith(key, now, memo).map((r) => r.hotspot);
  }

  private currentWith(key: string, now: EpochMs, memo: Candidates): Reported[] {
    const kept = this.kept(key, now, memo);
    if (kept.length === 0) return [];
    return kept.map((h) => {
      let id = h.id;
      search: for (const r of this.rivalsOf(key, memo))
        for (const o of this.kept(r, now, memo)) {
          if (o.id !== h.id) continue;
          const n = o.complaints.length - h.complaints.length;
          if (n > 0 || (n === 0 && r < key)) {
            id = `${h.id}~${key.slice(2)}`;
            break search;
          }
        }
      return { centre: key, hotspot: this.describe(h, now, id), es: h.es };
    });
  }

  private kept(key: string, now: EpochMs, memo: Candidates): Episode[] {
    let out = memo.kept.get(key);
    if (!out) {
      const mine = this.candidates(key, now, memo);
      out = mine.length === 0 ? mine : mine.filter((h) => !this.dominated(h, key, now, memo));
      memo.kept.set(key, out);
    }
    return out;
  }

  private dominated(h: Episode, key: string, now: EpochMs, memo: Candidates): boolean {
    for (const r of this.rivalsOf(key, memo))
      for (const o of this.candidates(r, now, memo)) {
        if (o.complaints.length < h.complaints.length || o.firstAt > h.firstAt || o.lastAt < h.lastAt) continue;
        if (!within(h.es, o.es)) continue;
        if (o.complaints.length > h.complaints.length) return true;
        const ownHere = this.ownCount(h.es, key);
        const ownThere = this.ownCount(h.es, r);
        if (ownThere > ownHere || (ownThere === ownHere && r < key)) return true;
      }
    return false;
  }

  private ownCount(es: readonly HotspotEntry[], key: string): number {
    let n = 0;
    for (const e of es) if (keyOf(e) === key) n++;
    return n;
  }

  private candidates(key: string, now: EpochMs, memo: Candidates): Episode[] {
    let out = memo.all.get(key);
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
        const h = this.episode(key, es, i, j);
        if (h) out.push(h);
        i = j;
      }
    }
    memo.all.set(key, out);
    return out;
  }

  /** es[i..j) as a candidate, when three of them fall within 72 h. */
  private episode(key: string, all: HotspotEntry[], i: number, j: number): Episode | undefined {
    const k = this.o.minComplaints - 1;
    let openedAt: number | undefined;
    for (let x = i + k; x < j; x++) {
      if (all[x]!.receivedAt - all[x - k]!.receivedAt <= this.o.windowMs) {
        openedAt = all[x]!.receivedAt;
        break;
      }
    }
    if (openedAt === undefined) return undefined;
    const es = all.slice(i, j);
    const first = es[0]!;
    return {
      centre: key,
      es,
      complaints: es.map((e) => e.id),
      id: hotspotId(first.site ?? first.cell, first.receivedAt),
      firstAt: first.receivedAt,
      lastAt: es[es.length - 1]!.receivedAt,
      openedAt,
    };
  }

  /** The hot spot an episode is, as reported and listed; the last description when nothing in it changed. */
  private describe(ep: Episode, now: EpochMs, id: string): Hotspot {
    const before = this.reported.get(id);
    if (before && before.centre === ep.centre && sameEntries(before.es, ep.es)) {
      const status = now >= before.hotspot.closesAt ? 'closed' : 'open';
      return status === before.hotspot.status ? before.hotspot : { ...before.hotspot, status };
    }
    const { es, centre: key, openedAt } = ep;
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
      id,
      kind: silent ? 'silent-degradation' : 'hotspot',
      sites: [...sites]
        .map(([id, complaints]) => ({ id, complaints }))
        .sort(byCount)
        .map((s) => s.id),
      cells: [...cells]
        .map(([id, complaints]) => ({ id, complaints }))
        .sort(byCount)
        .map((c) => ({ cell: c.id, complaints: c.complaints })),
      complaints: ep.complaints,
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
    // Amortised: only once a member holds a whole span of stale entries.
    if (m.entries.length === 0 || m.entries[0]!.receivedAt >= horizon - this.o.windowMs) return;
    const around = new Set<string>();
    for (const c of this.near(m.key)) for (const x of this.near(c)) around.add(x);
    // Only the stretch up to one span past the horizon can hold the gap that ends an old episode.
    const until = horizon + this.o.windowMs;
    const times: number[] = [];
    let later = false;
    for (const k of around) {
      const es = this.members.get(k)?.entries ?? [];
      const n = upTo(es, until);
      for (let i = 0; i < n; i++) times.push(es[i]!.receivedAt);
      if (n < es.length || (n > 0 && es[n - 1]!.receivedAt >= horizon)) later = true;
    }
    times.sort((a, b) => a - b);
    let cut = -Infinity;
    if (!later && (times.length === 0 || times[times.length - 1]! < horizon)) cut = Infinity;
    else {
      for (let i = 1; i < times.length && times[i - 1]! < horizon; i++)
        if (times[i]! - times[i - 1]! > this.o.windowMs) cut = times[i - 1]!;
      // Nothing between the horizon and a span past it: the next entry is more than a span later.
      const last = times.length > 0 ? times[times.length - 1]! : Infinity;
      if (last < horizon) cut = last;
    }
    if (cut === -Infinity) return;
    const keep: HotspotEntry[] = [];
    for (const e of m.entries) {
      if (e.receivedAt <= cut) this.where.delete(e.id);
      else keep.push(e);
    }
    m.entries = keep;
  }
}

/** How many of the (receivedAt-sorted) entries come before `t`. */
function upTo(es: readonly HotspotEntry[], t: number): number {
  let lo = 0;
  let hi = es.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (es[mid]!.receivedAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether every entry of `a` is in `b`; both in (receivedAt, id) order, entries shared by reference. */
function within(a: readonly HotspotEntry[], b: readonly HotspotEntry[]): boolean {
  let j = 0;
  for (const e of a) {
    while (j < b.length && b[j] !== e && byTime(b[j]!, e) < 0) j++;
    if (j >= b.length || b[j] !== e) return false;
    j++;
  }
  return true;
}

function sameEntries(a: readonly HotspotEntry[], b: readonly HotspotEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
