/**
 * Complaint hot spots: where customers complain together, with or without a window to show for it.
 *
 * The rules:
 * - Each network complaint is anchored to one cell: the cell it names, or else its best candidate
 *   (highest spatial weight, then id). Complaints are grouped by the anchor's *site* (cells of one
 *   mast cover one neighbourhood, and a site or backhaul failure hits all of them), or by the cell
 *   itself when the inventory does not know it.
 * - A group's complaints, by (receivedAt, id), form episodes: a complaint more than 72 h after the
 *   previous one starts a new episode. An episode is a hot spot once three of its complaints fall
 *   within 72 h; it opens at the third one's receivedAt.
 * - A hot spot is a *silent degradation* while fewer than half of its complaints are explained by a
 *   window (the network looks fine, the customers say otherwise).
 * - It closes when 72 h pass after its last complaint with no new one.
 * - Its id is `HS-<site>-<first complaint's receivedAt, UTC, to the minute>`: the same complaints give
 *   the same id in any order. A complaint that arrives late but was received before the episode's
 *   first re-keys it: the old id closes and the new one opens.
 * Events are {change: 'opened' | 'changed' | 'closed', hotspot, at}; `at` is event time (the
 * complaint that caused it, or the moment the 72 h ran out).
 */
import type { EpochMs } from '../../model/index.js';

export type HotspotKind = 'hotspot' | 'silent-degradation';

export interface Hotspot {
  id: string;
  kind: HotspotKind;
  /** The site the complaints are anchored on (or the cell, for a cell the inventory does not know). */
  site?: string;
  cell?: string;
  region?: string;
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
  /** A hot spot is silent while its explained share is below this. */
  silentBelow: number;
  /** Closed hot spots stay listed this long after closing. */
  keepClosedMs: number;
}

export const DEFAULT_HOTSPOT_OPTIONS: HotspotOptions = {
  windowMs: 72 * 3_600_000,
  minComplaints: 3,
  silentBelow: 0.5,
  keepClosedMs: 72 * 3_600_000,
};

interface Group {
  key: string;
  site?: string;
  cell?: string;
  region?: string;
  entries: HotspotEntry[];
  sorted: boolean;
  /** Hot spots as last reported, by id. */
  reported: Map<string, Hotspot>;
}

const byTime = (a: HotspotEntry, b: HotspotEntry) =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function hotspotId(label: string, firstAt: EpochMs): string {
  const iso = new Date(firstAt).toISOString();
  return `HS-${label}-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

export class HotspotBook {
  private readonly groups = new Map<string, Group>();
  /** complaint id → group key, so an update finds its entry. */
  private readonly where = new Map<string, string>();
  private readonly o: HotspotOptions;
  /** The latest `now` seen by advance(): updates in between are judged as of then. */
  private now = -Infinity;
  private readonly dirty = new Set<Group>();

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
      const key = e.site !== undefined ? `s:${e.site}` : `c:${e.cell}`;
      const prevKey = this.where.get(e.id);
      if (prevKey !== undefined && prevKey !== key) {
        const old = this.groups.get(prevKey);
        if (old) {
          old.entries = old.entries.filter((x) => x.id !== e.id);
          this.dirty.add(old);
        }
      }
      let g = this.groups.get(key);
      if (!g) {
        g = { key, entries: [], sorted: true, reported: new Map() };
        if (e.site !== undefined) g.site = e.site;
        else g.cell = e.cell;
        if (e.region !== undefined) g.region = e.region;
        this.groups.set(key, g);
      }
      if (prevKey === key) {
        const i = g.entries.findIndex((x) => x.id === e.id);
        if (i >= 0) g.entries[i] = e;
        else g.entries.push(e);
        g.sorted = false;
      } else {
        const last = g.entries[g.entries.length - 1];
        if (last && byTime(last, e) > 0) g.sorted = false;
        g.entries.push(e);
      }
      this.where.set(e.id, key);
      this.dirty.add(g);
    }
  }

  /** Evaluates the sites touched since the last flush and returns the hot spot events. */
  flush(): HotspotEvent[] {
    const events: HotspotEvent[] = [];
    for (const g of this.dirty) events.push(...this.refresh(g, this.now));
    this.dirty.clear();
    return events.sort(byEvent);
  }

  /** Closes hot spots whose quiet 72 h ran out by `now`, and forgets what is no longer needed. */
  advance(now: EpochMs): HotspotEvent[] {
    this.now = Math.max(this.now, now);
    now = this.now;
    this.dirty.clear();
    const events: HotspotEvent[] = [];
    for (const g of this.groups.values()) {
      events.push(...this.refresh(g, now));
      this.prune(g, now);
      if (g.entries.length === 0 && g.reported.size === 0) this.groups.delete(g.key);
    }
    return events.sort(byEvent);
  }

  /** Hot spots as of `now` (open and recently closed; `open: true` for open ones only), newest first. Pure: reports nothing. */
  list(now: EpochMs, filter: { open?: boolean } = {}): Hotspot[] {
    const out: Hotspot[] = [];
    for (const g of this.groups.values()) {
      for (const h of this.compute(g, now)) {
        if (h.openedAt > now) continue;
        if (filter.open === true && h.status !== 'open') continue;
        if (filter.open === false && h.status !== 'closed') continue;
        out.push(h);
      }
    }
    return out.sort((a, b) => b.openedAt - a.openedAt || (a.id < b.id ? -1 : 1));
  }

  /** Recomputes a group's hot spots and reports the difference from what was last reported. */
  private refresh(g: Group, now: EpochMs): HotspotEvent[] {
    const current = new Map(this.compute(g, now).map((h) => [h.id, h]));
    const events: HotspotEvent[] = [];
    for (const [id, old] of g.reported) {
      const cur = current.get(id);
      if (!cur) {
        // Re-keyed by a late, earlier complaint: the old identity ends here.
        events.push({ change: 'closed', hotspot: { ...old, status: 'closed' }, at: old.lastAt });
        g.reported.delete(id);
      } else if (cur.status === 'closed' && old.status === 'open') {
        events.push({ change: 'closed', hotspot: cur, at: cur.closesAt });
        g.reported.set(id, cur);
      } else if (!sameHotspot(old, cur)) {
        events.push({ change: 'changed', hotspot: cur, at: cur.lastAt });
        g.reported.set(id, cur);
      }
    }
    for (const [id, cur] of current) {
      if (g.reported.has(id)) continue;
      events.push({ change: 'opened', hotspot: cur, at: cur.openedAt });
      if (cur.status === 'closed') events.push({ change: 'closed', hotspot: cur, at: cur.closesAt });
      g.reported.set(id, cur);
    }
    return events;
  }

  private compute(g: Group, now: EpochMs): Hotspot[] {
    if (!g.sorted) {
      g.entries.sort(byTime);
      g.sorted = true;
    }
    const out: Hotspot[] = [];
    const es = g.entries;
    let i = 0;
    while (i < es.length) {
      let j = i + 1;
      while (j < es.length && es[j]!.receivedAt - es[j - 1]!.receivedAt <= this.o.windowMs) j++;
      const h = this.episode(g, es.slice(i, j), now);
      if (h) out.push(h);
      i = j;
    }
    return out;
  }

  private episode(g: Group, es: HotspotEntry[], now: EpochMs): Hotspot | undefined {
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
    const counts = new Map<string, number>();
    const windows = new Set<string>();
    let explained = 0;
    for (const e of es) {
      counts.set(e.cell, (counts.get(e.cell) ?? 0) + 1);
      if (e.explained) explained++;
      for (const w of e.windows) windows.add(w);
    }
    const closesAt = last.receivedAt + this.o.windowMs;
    const h: Hotspot = {
      id: hotspotId(g.site ?? g.cell ?? g.key, first.receivedAt),
      kind: explained < this.o.silentBelow * es.length ? 'silent-degradation' : 'hotspot',
      cells: [...counts]
        .map(([cell, complaints]) => ({ cell, complaints }))
        .sort((a, b) => b.complaints - a.complaints || (a.cell < b.cell ? -1 : 1)),
      complaints: es.map((e) => e.id),
      explained,
      windows: [...windows].sort(),
      firstAt: first.receivedAt,
      lastAt: last.receivedAt,
      openedAt,
      closesAt,
      status: now >= closesAt ? 'closed' : 'open',
    };
    if (g.site !== undefined) h.site = g.site;
    if (g.cell !== undefined) h.cell = g.cell;
    if (g.region !== undefined) h.region = g.region;
    return h;
  }

  /** Entries of episodes that closed more than keepClosedMs ago can go: nothing can reopen them in order. */
  private prune(g: Group, now: EpochMs): void {
    const horizon = now - this.o.windowMs - this.o.keepClosedMs;
    if (g.entries.length > 0 && g.entries[g.entries.length - 1]!.receivedAt < horizon) {
      for (const e of g.entries) this.where.delete(e.id);
      g.entries = [];
    } else if (g.entries.length > 0) {
      // Drop whole episodes that ended before the horizon (the group keeps its newer ones).
      let cut = 0;
      for (let i = 1; i < g.entries.length; i++) {
        const gap = g.entries[i]!.receivedAt - g.entries[i - 1]!.receivedAt;
        if (gap > this.o.windowMs && g.entries[i - 1]!.receivedAt < horizon) cut = i;
      }
      if (cut > 0) {
        for (const e of g.entries.slice(0, cut)) this.where.delete(e.id);
        g.entries = g.entries.slice(cut);
      }
    }
    for (const [id, h] of g.reported)
      if (h.status === 'closed' && h.closesAt + this.o.keepClosedMs < now) g.reported.delete(id);
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
