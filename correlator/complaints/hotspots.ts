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
 *   (`superseded`) and the new one opens. Hot spots of overlapping neighbourhoods that start with the
 *   same complaint: the largest (then the lowest centre) keeps the id, the others get `~<centre>`.
 * - Closed hot spots stay listed `keepClosedMs`; those starting with the same complaint are forgotten
 *   together (when the last of them is), so forgetting one never renames another.
 * Events are {change: 'opened' | 'changed' | 'closed', hotspot, at}; `at` is event time (the
 * complaint that caused it, or the moment the 72 h ran out).
 *
 * Evaluation is incremental, so a neighbourhood that never goes quiet for 72 h (a busy downtown: one
 * episode all year) costs per complaint, not per complaint held: each centre keeps its episodes as
 * ends, size and opening (the complaints stay in per-site lists, counted by binary search); a new
 * complaint grows, joins or starts one episode per centre holding its site; a flush judges only the
 * episodes that changed and the rivals' episodes overlapping them; a description is kept up to date
 * complaint by complaint. Complaints are forgotten once nothing listed can depend on them, and
 * test/complaints-hotspots.test.ts checks the whole against a from-scratch evaluation
 * (test/helpers/hotspots-reference.ts), including that forgetting is invisible for complaints that
 * arrive in time. A complaint received before everything around it was forgotten is judged with what
 * is still held.
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

/** The complaints anchored on one site (or one cell the inventory does not know), by (receivedAt, id). */
interface Member {
  key: string;
  entries: HotspotEntry[];
  /** The receivedAt of its entries per anchor cell and per region, sorted: counted by binary search over a span. */
  cells: Map<string, number[]>;
  regions: Map<string, number[]>;
  /** The centres whose neighbourhoods hold it. */
  centres: readonly Centre[];
}

/** A possible centre: its neighbourhood, the centres it competes with, and its episodes. */
interface Centre {
  key: string;
  /** Member keys of its neighbourhood, itself included, sorted. */
  near: readonly string[];
  nearSet: ReadonlySet<string>;
  /** Centres whose neighbourhoods overlap this one's (it excluded), worked out on first use. */
  rivals?: readonly string[];
  rivalSet?: ReadonlySet<string>;
  /** Disjoint, by time. */
  eps: Ep[];
  /** The start of its first episode not yet forgotten, as last used for pruning. */
  liveFrom: number;
}

/**
 * What a description needs beyond the members' counts, kept up to date entry by entry once built:
 * the complaint ids in order, and the explanations.
 */
interface Tally {
  ids: string[];
  explained: number;
  windows: Map<string, number>;
  /** The keys of `windows`, sorted. */
  windowList: string[];
}

/**
 * An episode of one centre: its complaints by time with no gap over 72 h. Only its ends, size and
 * opening are kept; the complaints stay in the members and are counted by binary search.
 */
interface Ep {
  centre: Centre;
  first: HotspotEntry;
  last: HotspotEntry;
  count: number;
  /** The receivedAt of the complaint that made three within 72 h; undefined: not a candidate. */
  openedAt: number | undefined;
  /** Bumped by every change; `shape` only when its complaints change (not their explanations). */
  version: number;
  shape: number;
  /** The id its first complaint gives it. */
  base: string;
  /** A candidate no rival covers: the base it is grouped under with those sharing its first complaint. */
  group: string | undefined;
  /** Kept, and its group not forgotten: a hot spot, reported as `id`. */
  visible: boolean;
  id: string | undefined;
  tally: Tally | undefined;
  /** The last description, reused while nothing in it changed. */
  shown: { version: number; id: string; hotspot: Hotspot } | undefined;
  dead: boolean;
}

interface Reported {
  ep: Ep;
  shape: number;
  hotspot: Hotspot;
}

const byTime = (a: HotspotEntry, b: HotspotEntry) =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const keyOf = (e: Pick<HotspotEntry, 'site' | 'cell'>) => (e.site !== undefined ? `s:${e.site}` : `c:${e.cell}`);

export function hotspotId(label: string, firstAt: EpochMs): string {
  const iso = new Date(firstAt).toISOString();
  return `HS-${label}-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

const baseOf = (first: HotspotEntry) => hotspotId(first.site ?? first.cell, first.receivedAt);

export class HotspotBook {
  private readonly members = new Map<string, Member>();
  private readonly centres = new Map<string, Centre>();
  /** Every complaint held, by id (its current entry). */
  private readonly byId = new Map<string, HotspotEntry>();
  private readonly o: HotspotOptions;
  private readonly k: number;
  /** The latest `now` seen by advance(): updates in between are judged as of then. */
  private now = -Infinity;
  private readonly nearCache = new Map<string, readonly string[]>();
  /** Members given complaints since the last prune: a late one may be forgotten already. */
  private readonly lately = new Set<string>();

  // What changed since the last settle(): episodes grown or new, episodes gone, explanations changed.
  private readonly grown = new Set<Ep>();
  private readonly gone: Ep[] = [];
  private readonly retold = new Set<Ep>();
  /** Hot spots (kept episodes of groups not forgotten) and the ids they go by. */
  private readonly visible = new Set<Ep>();
  private readonly byHotspotId = new Map<string, Ep>();
  /** Kept episodes by the id their first complaint gives: those sharing one are told apart, and forgotten together. */
  private readonly sameBase = new Map<string, Set<Ep>>();
  /** Ids whose hot spot may differ from the one last reported. */
  private readonly touched = new Set<string>();
  /** Hot spots as last reported, by id (an id outlives a move of its centre). */
  private readonly reported = new Map<string, Reported>();

  constructor(options: Partial<HotspotOptions> = {}) {
    this.o = { ...DEFAULT_HOTSPOT_OPTIONS, ...options };
    this.k = Math.max(0, this.o.minComplaints - 1);
  }

  /** The entry the book holds for a complaint (the one last noted, until it is forgotten). */
  entry(id: string): HotspotEntry | undefined {
    return this.byId.get(id);
  }

  /** How many complaints the book holds (it forgets them once nothing listed depends on them). */
  get held(): number {
    return this.byId.size;
  }

  /**
   * Adds or updates complaints (e.g. when a window starts explaining one). Each centre's episodes
   * follow at once (an entry touches only the episode it falls in); whether they are hot spots is
   * judged by flush(), advance() or list() — a burst of a thousand complaints on one site is one
   * evaluation and one event, not a thousand.
   */
  note(entries: readonly HotspotEntry[]): void {
    for (const e of entries) {
      const old = this.byId.get(e.id);
      if (old) {
        if (keyOf(old) === keyOf(e) && old.receivedAt === e.receivedAt) {
          this.replace(old, e);
          continue;
        }
        this.remove(old);
      }
      this.insert(e);
    }
  }

  /** Evaluates what changed since the last flush and returns the hot spot events. */
  flush(): HotspotEvent[] {
    return this.report().sort(byEvent);
  }

  /** Closes hot spots whose quiet 72 h ran out by `now`, and forgets what is no longer needed. */
  advance(now: EpochMs): HotspotEvent[] {
    const events = this.report();
    if (now > this.now) {
      this.now = now;
      // Time alone changes a hot spot only by closing it, and later by forgetting it (which may
      // give a hot spot that shared its first complaint its plain id back).
      for (const [id, r] of this.reported) {
        const h = r.hotspot;
        if (h.status !== 'open' || h.closesAt > now) continue;
        const closed: Hotspot = { ...h, status: 'closed' };
        r.hotspot = closed;
        if (r.ep.shown?.id === id && r.ep.shown.hotspot === h) r.ep.shown.hotspot = closed;
        events.push({ change: 'closed', hotspot: closed, at: h.closesAt });
      }
      const regroup = new Set<string>();
      for (const ep of this.visible) if (this.forgotten(ep)) regroup.add(ep.group!);
      for (const base of regroup) this.name(base);
      events.push(...this.diff());
    }
    this.prune();
    return events.sort(byEvent);
  }

  /** Hot spots as of `now` (open and recently closed; `open: true` for open ones only), newest first. Reports nothing. */
  list(now: EpochMs, filter: { open?: boolean } = {}): Hotspot[] {
    this.settle();
    const out: Hotspot[] = [];
    for (const ep of this.visible) {
      if (ep.openedAt! > now) continue;
      const h = this.describe(ep, now);
      if (filter.open === true && h.status !== 'open') continue;
      if (filter.open === false && h.status !== 'closed') continue;
      out.push(h);
    }
    return out.sort((a, b) => b.openedAt - a.openedAt || (a.id < b.id ? -1 : 1));
  }

  // ---------------------------------------------------------------------------------------------
  // Entries and episodes

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

  private centre(key: string): Centre {
    let c = this.centres.get(key);
    if (!c) {
      const near = this.near(key);
      c = { key, near, nearSet: new Set(near), eps: [], liveFrom: -Infinity };
      this.centres.set(key, c);
    }
    return c;
  }

  private rivalsOf(c: Centre): readonly string[] {
    if (!c.rivals) {
      const set = new Set<string>();
      for (const x of c.near) for (const y of this.near(x)) if (y !== c.key) set.add(y);
      c.rivals = [...set].sort();
      c.rivalSet = set;
    }
    return c.rivals;
  }

  private member(key: string): Member {
    let m = this.members.get(key);
    if (!m) {
      // The neighbourhoods holding this member are those of the centres it holds (they are symmetric).
      const centres = this.near(key).map((c) => this.centre(c));
      this.members.set(key, (m = { key, entries: [], cells: new Map(), regions: new Map(), centres }));
    }
    return m;
  }

  private insert(e: HotspotEntry): void {
    const m = this.member(keyOf(e));
    const es = m.entries;
    if (es.length === 0 || byTime(es[es.length - 1]!, e) < 0) es.push(e);
    else es.splice(lowerEntry(es, e), 0, e);
    addTime(m.cells, e.cell, e.receivedAt);
    if (e.region !== undefined) addTime(m.regions, e.region, e.receivedAt);
    this.byId.set(e.id, e);
    this.lately.add(m.key);
    for (const c of m.centres) this.place(c, e);
  }

  /** The same complaint, same place and time, with another explanation or anchor cell. */
  private replace(old: HotspotEntry, e: HotspotEntry): void {
    const m = this.members.get(keyOf(e))!;
    m.entries[lowerEntry(m.entries, old)] = e;
    if (old.cell !== e.cell) {
      dropTime(m.cells, old.cell, old.receivedAt);
      addTime(m.cells, e.cell, e.receivedAt);
    }
    if (old.region !== e.region) {
      if (old.region !== undefined) dropTime(m.regions, old.region, old.receivedAt);
      if (e.region !== undefined) addTime(m.regions, e.region, e.receivedAt);
    }
    this.byId.set(e.id, e);
    for (const c of m.centres) {
      const ep = this.episodeAt(c, e.receivedAt)!;
      if (ep.first === old) ep.first = e;
      if (ep.last === old) ep.last = e;
      if (ep.tally) {
        tallyEntry(ep.tally, old, -1);
        tallyEntry(ep.tally, e, 1);
      }
      ep.version++;
      this.retold.add(ep);
    }
  }

  /** Takes a complaint out (it moved to another site or time): its episodes are cut again where it was. */
  private remove(old: HotspotEntry): void {
    const key = keyOf(old);
    const m = this.members.get(key)!;
    m.entries.splice(lowerEntry(m.entries, old), 1);
    dropTime(m.cells, old.cell, old.receivedAt);
    if (old.region !== undefined) dropTime(m.regions, old.region, old.receivedAt);
    if (m.entries.length === 0) this.members.delete(key);
    this.byId.delete(old.id);
    for (const c of m.centres) this.recut(c, this.episodeAt(c, old.receivedAt)!);
  }

  /** The episode of `c` whose span holds `t`, if any. */
  private episodeAt(c: Centre, t: number): Ep | undefined {
    const i = lastStartingBy(c.eps, t);
    const ep = i >= 0 ? c.eps[i] : undefined;
    return ep && ep.last.receivedAt >= t ? ep : undefined;
  }

  /** Puts a new entry into a centre's episodes: it grows one, joins two, or starts one. */
  private place(c: Centre, e: HotspotEntry): void {
    const t = e.receivedAt;
    const eps = c.eps;
    let i = eps.length - 1;
    if (i >= 0 && eps[i]!.first.receivedAt > t) i = lastStartingBy(eps, t);
    const ep = i >= 0 ? eps[i] : undefined;
    if (ep && t <= ep.last.receivedAt) return this.grow(ep, e);
    const next = eps[i + 1];
    const joinsPrev = ep !== undefined && t - ep.last.receivedAt <= this.o.windowMs;
    const joinsNext = next !== undefined && next.first.receivedAt - t <= this.o.windowMs;
    if (joinsPrev && joinsNext) {
      // The new complaint bridges a gap: one episode from two.
      ep.count += next.count;
      ep.last = next.last;
      ep.openedAt = ep.openedAt ?? next.openedAt;
      ep.tally = undefined;
      eps.splice(i + 1, 1);
      this.kill(next);
      return this.grow(ep, e);
    }
    if (joinsPrev) return this.grow(ep, e);
    if (joinsNext) return this.grow(next, e);
    const fresh = this.episode(c, [e]);
    eps.splice(i + 1, 0, fresh);
    this.grown.add(fresh);
  }

  private grow(ep: Ep, e: HotspotEntry): void {
    const t = e.receivedAt;
    ep.count++;
    ep.version++;
    ep.shape++;
    if (ep.tally) {
      const rank = byTime(e, ep.last) > 0 ? ep.count - 1 : byTime(e, ep.first) < 0 ? 0 : this.rank(ep, e);
      if (rank === ep.count - 1) ep.tally.ids.push(e.id);
      else ep.tally.ids.splice(rank, 0, e.id);
      tallyEntry(ep.tally, e, 1);
    }
    if (byTime(e, ep.first) < 0) {
      ep.first = e;
      ep.base = baseOf(e);
    }
    if (byTime(e, ep.last) > 0) ep.last = e;
    // A new complaint only adds runs of three within 72 h, and only runs it is part of.
    if (ep.count > this.k && (ep.openedAt === undefined || t < ep.openedAt)) {
      const at = this.openedAround(ep.centre, e);
      if (at !== undefined && (ep.openedAt === undefined || at < ep.openedAt)) ep.openedAt = at;
    }
    this.grown.add(ep);
  }

  /** How many of the episode's complaints come before `e` (already in its member). */
  private rank(ep: Ep, e: HotspotEntry): number {
    let n = 0;
    for (const k of ep.centre.near) {
      const es = this.members.get(k)?.entries;
      if (es) n += lowerEntry(es, e) - lowerTime(es, ep.first.receivedAt);
    }
    return n;
  }

  /**
   * The earliest receivedAt closing a run of `minComplaints` within 72 h that holds `e`, among the
   * complaints of the centre's neighbourhood: the k before and the k after it are enough.
   */
  private openedAround(c: Centre, e: HotspotEntry): number | undefined {
    const k = this.k;
    if (k === 0) return e.receivedAt;
    const before: HotspotEntry[] = [];
    const after: HotspotEntry[] = [];
    for (const key of c.near) {
      const es = this.members.get(key)?.entries;
      if (!es) continue;
      const i = lowerEntry(es, e);
      for (let j = i - 1; j >= 0 && j >= i - k; j--) before.push(es[j]!);
      let j = i < es.length && es[i] === e ? i + 1 : i;
      for (const stop = j + k; j < es.length && j < stop; j++) after.push(es[j]!);
    }
    before.sort(byTime);
    after.sort(byTime);
    const run = [...before.slice(Math.max(0, before.length - k)), e, ...after.slice(0, k)];
    const at = Math.min(k, before.length);
    for (let x = Math.max(k, at); x < run.length && x <= at + k; x++)
      if (run[x]!.receivedAt - run[x - k]!.receivedAt <= this.o.windowMs) return run[x]!.receivedAt;
    return undefined;
  }

  /** A new episode of these entries (sorted, no gap over 72 h). */
  private episode(c: Centre, es: readonly HotspotEntry[]): Ep {
    const k = this.k;
    let openedAt: number | undefined;
    for (let x = k; x < es.length; x++)
      if (es[x]!.receivedAt - es[x - k]!.receivedAt <= this.o.windowMs) {
        openedAt = es[x]!.receivedAt;
        break;
      }
    const first = es[0]!;
    return {
      centre: c,
      first,
      last: es[es.length - 1]!,
      count: es.length,
      openedAt,
      version: 0,
      shape: 0,
      base: baseOf(first),
      group: undefined,
      visible: false,
      id: undefined,
      tally: undefined,
      shown: undefined,
      dead: false,
    };
  }

  private kill(ep: Ep): void {
    ep.dead = true;
    this.gone.push(ep);
  }

  /** Cuts an episode again from the entries now in its span (one went, or was pruned). */
  private recut(c: Centre, ep: Ep): void {
    const es = this.gather(c, ep.first.receivedAt, ep.last.receivedAt);
    const fresh: Ep[] = [];
    for (let i = 0; i < es.length;) {
      let j = i + 1;
      while (j < es.length && es[j]!.receivedAt - es[j - 1]!.receivedAt <= this.o.windowMs) j++;
      fresh.push(this.episode(c, es.slice(i, j)));
      i = j;
    }
    c.eps.splice(c.eps.indexOf(ep), 1, ...fresh);
    this.kill(ep);
    for (const f of fresh) this.grown.add(f);
  }

  /** The centre's entries in [a, b], by (receivedAt, id). */
  private gather(c: Centre, a: number, b: number): HotspotEntry[] {
    let out: HotspotEntry[] = [];
    let parts = 0;
    for (const key of c.near) {
      const es = this.members.get(key)?.entries;
      if (!es) continue;
      const i = lowerTime(es, a);
      const j = upperTime(es, b);
      if (j <= i) continue;
      out = parts === 0 ? es.slice(i, j) : out.concat(es.slice(i, j));
      parts++;
    }
    return parts > 1 ? out.sort(byTime) : out;
  }

  private countIn(key: string, a: number, b: number): number {
    const es = this.members.get(key)?.entries;
    return es ? upperTime(es, b) - lowerTime(es, a) : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Judging: which episodes are hot spots, under which ids

  private forgotten(ep: Ep): boolean {
    return ep.last.receivedAt + this.o.windowMs + this.o.keepClosedMs < this.now;
  }

  /**
   * Judges what changed since the last settle: an episode that grew, came or went can change whether
   * it, and the rivals' episodes overlapping it, are covered; an id can change for the episodes that
   * share its first complaint. Only those are looked at.
   */
  private settle(): void {
    if (this.grown.size === 0 && this.gone.length === 0 && this.retold.size === 0) return;
    const judge = new Set<Ep>();
    for (const ep of this.grown) {
      if (ep.dead) continue;
      judge.add(ep);
      this.around(ep, judge);
    }
    const regroup = new Set<string>();
    for (const ep of this.gone) {
      this.around(ep, judge);
      if (ep.group !== undefined) regroup.add(this.leave(ep));
    }
    for (const ep of judge) {
      if (ep.dead) continue;
      const kept = ep.openedAt !== undefined && !this.covered(ep);
      // Gone, or its first complaint changed: it leaves the group it was in.
      if (ep.group !== undefined && (!kept || ep.group !== ep.base)) regroup.add(this.leave(ep));
      if (!kept) continue;
      if (ep.group === undefined) this.join(ep);
      regroup.add(ep.base);
      if (this.grown.has(ep) && ep.id !== undefined) this.touched.add(ep.id);
    }
    for (const ep of this.retold) if (ep.visible && !ep.dead && ep.id !== undefined) this.touched.add(ep.id);
    for (const base of regroup) this.name(base);
    this.grown.clear();
    this.gone.length = 0;
    this.retold.clear();
  }

  /** Adds the rivals' episodes overlapping this one's span. */
  private around(ep: Ep, out: Set<Ep>): void {
    const a = ep.first.receivedAt;
    const b = ep.last.receivedAt;
    for (const r of this.rivalsOf(ep.centre)) {
      const eps = this.centres.get(r)?.eps;
      if (!eps || eps.length === 0) continue;
      for (let i = firstEndingFrom(eps, a); i < eps.length && eps[i]!.first.receivedAt <= b; i++) out.add(eps[i]!);
    }
  }

  /**
   * Whether another centre's candidate holds all of this one's complaints and more, or the same ones
   * with more of them anchored at that centre (then the lower site id). Such a candidate spans this
   * one, so it is the rival episode holding this one's first complaint; it holds all of this one's
   * complaints when every member they are anchored on is in the rival's neighbourhood.
   */
  private covered(h: Ep): boolean {
    const a = h.first.receivedAt;
    const b = h.last.receivedAt;
    let used: string[] | undefined;
    for (const r of this.rivalsOf(h.centre)) {
      const rc = this.centres.get(r);
      if (!rc) continue;
      const o = this.episodeAt(rc, a);
      if (!o || o.openedAt === undefined || o.count < h.count || o.last.receivedAt < b) continue;
      used ??= h.centre.near.filter((m) => this.countIn(m, a, b) > 0);
      if (!used.every((m) => rc.nearSet.has(m))) continue;
      if (o.count > h.count) return true;
      const ownHere = this.countIn(h.centre.key, a, b);
      const ownThere = h.centre.nearSet.has(r) ? this.countIn(r, a, b) : 0;
      if (ownThere > ownHere || (ownThere === ownHere && r < h.centre.key)) return true;
    }
    return false;
  }

  private join(ep: Ep): void {
    ep.group = ep.base;
    let g = this.sameBase.get(ep.base);
    if (!g) this.sameBase.set(ep.base, (g = new Set()));
    g.add(ep);
  }

  /** Takes a kept episode out of its group (no longer kept, or another first complaint); returns the group. */
  private leave(ep: Ep): string {
    const base = ep.group!;
    const g = this.sameBase.get(base)!;
    g.delete(ep);
    if (g.size === 0) this.sameBase.delete(base);
    ep.group = undefined;
    this.unlist(ep);
    return base;
  }

  private unlist(ep: Ep): void {
    if (!ep.visible) return;
    ep.visible = false;
    this.visible.delete(ep);
    if (this.byHotspotId.get(ep.id!) === ep) this.byHotspotId.delete(ep.id!);
    this.touched.add(ep.id!);
    ep.id = undefined;
  }

  /**
   * Lists a group's hot spots, or forgets them all once every one of them closed more than
   * keepClosedMs ago (together, so that forgetting one never renames another). Ids: the largest
   * (then the lowest centre) keeps the plain id, rivals sharing it get `~<centre>`.
   */
  private name(base: string): void {
    const g = this.sameBase.get(base);
    if (!g) return;
    let listed = false;
    for (const h of g) if (!this.forgotten(h)) listed = true;
    for (const h of g) {
      if (!listed) {
        this.unlist(h);
        continue;
      }
      let id = base;
      this.rivalsOf(h.centre);
      const rivals = h.centre.rivalSet!;
      for (const o of g) {
        if (o === h || !rivals.has(o.centre.key)) continue;
        if (o.count > h.count || (o.count === h.count && o.centre.key < h.centre.key)) {
          id = `${base}~${h.centre.key.slice(2)}`;
          break;
        }
      }
      if (h.visible && h.id === id) continue;
      if (h.visible) {
        if (this.byHotspotId.get(h.id!) === h) this.byHotspotId.delete(h.id!);
        this.touched.add(h.id!);
      }
      h.visible = true;
      this.visible.add(h);
      h.id = id;
      this.byHotspotId.set(id, h);
      this.touched.add(id);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reporting

  /** Settles, then reports the difference from what was last reported for the ids touched. */
  private report(): HotspotEvent[] {
    this.settle();
    return this.diff();
  }

  /**
   * An id found at another centre than before has moved (a burst grew towards a neighbour): one hot
   * spot, changed, not one closed and another opened.
   */
  private diff(): HotspotEvent[] {
    const events: HotspotEvent[] = [];
    for (const id of this.touched) {
      const old = this.reported.get(id);
      const ep = this.byHotspotId.get(id);
      if (!ep) {
        if (!old) continue;
        // Re-keyed (a late, earlier complaint) or taken into a hot spot that holds more: this identity ends.
        if (old.hotspot.status === 'open')
          events.push({
            change: 'closed',
            hotspot: { ...old.hotspot, status: 'closed' },
            at: old.hotspot.lastAt,
            superseded: true,
          });
        this.reported.delete(id);
        continue;
      }
      const h = this.describe(ep, this.now);
      this.reported.set(id, { ep, shape: ep.shape, hotspot: h });
      if (!old) {
        events.push({ change: 'opened', hotspot: h, at: h.openedAt });
        if (h.status === 'closed') events.push({ change: 'closed', hotspot: h, at: h.closesAt });
      } else if (h.status === 'closed' && old.hotspot.status === 'open') {
        events.push({ change: 'closed', hotspot: h, at: h.closesAt });
      } else if (!sameHotspot(old, ep, h)) {
        events.push({ change: 'changed', hotspot: h, at: h.lastAt });
      }
    }
    this.touched.clear();
    return events;
  }

  /** The hot spot an episode is, as reported and listed; the last description when nothing in it changed. */
  private describe(ep: Ep, now: EpochMs): Hotspot {
    const id = ep.id!;
    const closesAt = ep.last.receivedAt + this.o.windowMs;
    const status = now >= closesAt ? 'closed' : 'open';
    const shown = ep.shown;
    if (shown && shown.version === ep.version && shown.id === id)
      return shown.hotspot.status === status ? shown.hotspot : { ...shown.hotspot, status };
    const t = this.tallyOf(ep);
    const key = ep.centre.key;
    const a = ep.first.receivedAt;
    const b = ep.last.receivedAt;
    // Sites, cells and regions: counted in the members over the episode's span.
    const sites: [string, number][] = [];
    const cells = new Map<string, number>();
    const regions = new Map<string, number>();
    for (const k of ep.centre.near) {
      const m = this.members.get(k);
      if (!m) continue;
      const n = upperTime(m.entries, b) - lowerTime(m.entries, a);
      if (n === 0) continue;
      if (k.startsWith('s:')) sites.push([k.slice(2), n]);
      for (const [cell, ts] of m.cells) {
        const x = countTimes(ts, a, b);
        if (x > 0) cells.set(cell, (cells.get(cell) ?? 0) + x);
      }
      for (const [region, ts] of m.regions) {
        const x = countTimes(ts, a, b);
        if (x > 0) regions.set(region, (regions.get(region) ?? 0) + x);
      }
    }
    const byCount = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1);
    const silent = t.explained === 0 || t.explained < this.o.silentBelow * ep.count;
    const h: Hotspot = {
      id,
      kind: silent ? 'silent-degradation' : 'hotspot',
      sites: sites.sort(byCount).map((s) => s[0]),
      cells: [...cells].sort(byCount).map(([cell, complaints]) => ({ cell, complaints })),
      complaints: t.ids.slice(),
      explained: t.explained,
      windows: t.windowList.slice(),
      firstAt: ep.first.receivedAt,
      lastAt: ep.last.receivedAt,
      openedAt: ep.openedAt!,
      closesAt,
      status,
    };
    if (key.startsWith('s:')) h.site = key.slice(2);
    else h.cell = key.slice(2);
    // The centre's region (its first complaint's that names one); a centre with no complaint of its
    // own takes the region most of them are in.
    const region = this.ownRegion(ep) ?? [...regions].sort(byCount)[0]?.[0];
    if (region !== undefined) h.region = region;
    ep.shown = { version: ep.version, id, hotspot: h };
    return h;
  }

  private ownRegion(ep: Ep): string | undefined {
    const es = this.members.get(ep.centre.key)?.entries;
    if (!es) return undefined;
    for (let i = lowerTime(es, ep.first.receivedAt); i < es.length && es[i]!.receivedAt <= ep.last.receivedAt; i++)
      if (es[i]!.region !== undefined) return es[i]!.region;
    return undefined;
  }

  /** The episode's running counts, built once from its entries and then kept up to date. */
  private tallyOf(ep: Ep): Tally {
    if (ep.tally) return ep.tally;
    const es = this.gather(ep.centre, ep.first.receivedAt, ep.last.receivedAt);
    const t: Tally = {
      ids: es.map((e) => e.id),
      explained: 0,
      windows: new Map(),
      windowList: [],
    };
    for (const e of es) tallyEntry(t, e, 1);
    ep.tally = t;
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Forgetting

  /**
   * Entries can go once nothing listed or reported can depend on them: at every centre holding them
   * they come before the first episode that is not forgotten (closed more than keepClosedMs ago) —
   * and before every episode holding the first complaint of a listed hot spot. Those decide the
   * hot spot's id and whether it is covered; kept whole, what remains elsewhere can never turn
   * into a hot spot of its own (a forgotten remnant is never listed).
   */
  private prune(): void {
    const horizon = this.now - this.o.windowMs - this.o.keepClosedMs;
    const pins = new Map<Centre, number>();
    for (const h of this.visible) {
      const f = h.first;
      if (f.receivedAt >= horizon) continue; // held anyway
      for (const x of this.near(keyOf(f))) {
        const c = this.centres.get(x)!;
        const at = this.episodeAt(c, f.receivedAt)!.first.receivedAt;
        pins.set(c, Math.min(pins.get(c) ?? Infinity, at));
      }
    }
    const cut = new Set<string>(this.lately);
    this.lately.clear();
    for (const c of this.centres.values()) {
      let i = 0;
      while (i < c.eps.length && c.eps[i]!.last.receivedAt < horizon) i++;
      const live = Math.min(i < c.eps.length ? c.eps[i]!.first.receivedAt : Infinity, pins.get(c) ?? Infinity);
      if (live === c.liveFrom) continue;
      c.liveFrom = live;
      for (const m of c.near) cut.add(m);
    }
    const recount = new Set<Centre>();
    for (const key of cut) {
      const m = this.members.get(key);
      if (!m) continue;
      let until = Infinity;
      for (const c of this.near(key)) until = Math.min(until, this.centres.get(c)?.liveFrom ?? Infinity);
      const n = lowerTime(m.entries, until);
      if (n === 0) continue;
      for (const e of m.entries.splice(0, n)) this.byId.delete(e.id);
      dropBefore(m.cells, until);
      dropBefore(m.regions, until);
      if (m.entries.length === 0) this.members.delete(key);
      for (const c of m.centres) recount.add(c);
    }
    for (const c of recount) {
      for (const ep of c.eps.filter((x) => x.last.receivedAt < c.liveFrom)) {
        let left = 0;
        for (const k of c.near) left += this.countIn(k, ep.first.receivedAt, ep.last.receivedAt);
        if (left === ep.count) continue;
        if (left === 0) {
          c.eps.splice(c.eps.indexOf(ep), 1);
          this.kill(ep);
        } else this.recut(c, ep);
      }
    }
  }
}

/** Adds (sign 1) or takes out (−1) one entry's explanation from a tally; ids are placed by the caller. */
function tallyEntry(t: Tally, e: HotspotEntry, sign: 1 | -1): void {
  if (e.explained) t.explained += sign;
  for (const w of e.windows) {
    const n = (t.windows.get(w) ?? 0) + sign;
    if (n === 0) {
      t.windows.delete(w);
      t.windowList.splice(lowerString(t.windowList, w), 1);
    } else {
      if (n === 1 && sign === 1) t.windowList.splice(lowerString(t.windowList, w), 0, w);
      t.windows.set(w, n);
    }
  }
}

function addTime(m: Map<string, number[]>, key: string, t: number): void {
  const ts = m.get(key);
  if (!ts) m.set(key, [t]);
  else if (ts[ts.length - 1]! <= t) ts.push(t);
  else ts.splice(lowerNumber(ts, t), 0, t);
}

function dropTime(m: Map<string, number[]>, key: string, t: number): void {
  const ts = m.get(key)!;
  ts.splice(lowerNumber(ts, t), 1);
  if (ts.length === 0) m.delete(key);
}

function dropBefore(m: Map<string, number[]>, t: number): void {
  for (const [key, ts] of m) {
    const n = lowerNumber(ts, t);
    if (n === ts.length) m.delete(key);
    else if (n > 0) ts.splice(0, n);
  }
}

/** How many of the sorted numbers fall in [a, b]. */
function countTimes(ts: readonly number[], a: number, b: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= b) lo = mid + 1;
    else hi = mid;
  }
  return lo - lowerNumber(ts, a);
}

/** How many of the sorted numbers are below `t`. */
function lowerNumber(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first entry not before `e` in (receivedAt, id) order. */
function lowerEntry(es: readonly HotspotEntry[], e: HotspotEntry): number {
  let lo = 0;
  let hi = es.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byTime(es[mid]!, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the (receivedAt-sorted) entries come before `t`. */
function lowerTime(es: readonly HotspotEntry[], t: number): number {
  let lo = 0;
  let hi = es.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (es[mid]!.receivedAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the (receivedAt-sorted) entries come at or before `t`. */
function upperTime(es: readonly HotspotEntry[], t: number): number {
  let lo = 0;
  let hi = es.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (es[mid]!.receivedAt <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerString(xs: readonly string[], s: string): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last episode starting at or before `t` (−1: none). */
function lastStartingBy(eps: readonly Ep[], t: number): number {
  let lo = 0;
  let hi = eps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (eps[mid]!.first.receivedAt <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first episode ending at or after `t` (episodes are disjoint, so their ends are sorted too). */
function firstEndingFrom(eps: readonly Ep[], t: number): number {
  let lo = 0;
  let hi = eps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (eps[mid]!.last.receivedAt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a new description says what the reported one said (its complaints compared only when they may differ). */
function sameHotspot(old: Reported, ep: Ep, b: Hotspot): boolean {
  const a = old.hotspot;
  return (
    a.kind === b.kind &&
    a.status === b.status &&
    a.explained === b.explained &&
    a.openedAt === b.openedAt &&
    a.lastAt === b.lastAt &&
    a.complaints.length === b.complaints.length &&
    ((old.ep === ep && old.shape === ep.shape) || a.complaints.every((c, i) => c === b.complaints[i])) &&
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
