/**
 * Hot spots evaluated from scratch: every call groups all the complaints held into each centre's
 * episodes again, judges every candidate against every rival and describes every hot spot. Slow on
 * purpose — it is the statement of the rules (correlator/complaints/hotspots.ts) that the
 * incremental HotspotBook must agree with, event for event (test/complaints-hotspots.test.ts).
 *
 * - Episodes: per centre, the complaints anchored in its neighbourhood by (receivedAt, id), cut
 *   where two are more than `windowMs` apart; a candidate once `minComplaints` fall within it.
 * - Kept: a candidate no rival's candidate covers (all its complaints and more, or the same with
 *   more anchored at the rival, then the lower key).
 * - Groups: kept episodes starting with the same complaint. Listed: kept, unless every episode of
 *   its group is forgotten (closed more than `keepClosedMs` before the book's `now`).
 * - Ids: from the first complaint; in a group, rival centres' hot spots: the largest (then the
 *   lowest centre) keeps it, the others get `~<centre>`.
 * - advance(now): what changed is reported first, then hot spots close by time, then what is
 *   forgotten goes; an entry goes once, at every centre holding it, it comes before the first
 *   episode not forgotten and before every episode holding the first complaint of a listed hot spot.
 */
import {
  DEFAULT_HOTSPOT_OPTIONS,
  hotspotId,
  type Hotspot,
  type HotspotChange,
  type HotspotEntry,
  type HotspotEvent,
  type HotspotOptions,
} from '../../correlator/complaints/index.js';

interface Episode {
  centre: string;
  es: HotspotEntry[];
  openedAt: number | undefined;
}

interface Listed {
  ep: Episode;
  id: string;
}

const byTime = (a: HotspotEntry, b: HotspotEntry) =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const keyOf = (e: HotspotEntry) => (e.site !== undefined ? `s:${e.site}` : `c:${e.cell}`);

export class ReferenceHotspotBook {
  private readonly o: HotspotOptions;
  private readonly entries = new Map<string, HotspotEntry>();
  private readonly reported = new Map<string, Hotspot>();
  private now = -Infinity;

  /** `keepAll`: never drop an entry (what pruning must be invisible against, when nothing comes late). */
  constructor(
    options: Partial<HotspotOptions> = {},
    private readonly keepAll = false,
  ) {
    this.o = { ...DEFAULT_HOTSPOT_OPTIONS, ...options };
  }

  note(entries: readonly HotspotEntry[]): void {
    for (const e of entries) this.entries.set(e.id, e);
  }

  flush(): HotspotEvent[] {
    return this.diff(this.evaluate().listed).sort(byEvent);
  }

  advance(now: number): HotspotEvent[] {
    const events = this.diff(this.evaluate().listed);
    if (now > this.now) {
      this.now = now;
      for (const [id, h] of this.reported) {
        if (h.status !== 'open' || h.closesAt > now) continue;
        const closed: Hotspot = { ...h, status: 'closed' };
        this.reported.set(id, closed);
        events.push({ change: 'closed', hotspot: closed, at: h.closesAt });
      }
      events.push(...this.diff(this.evaluate().listed));
    }
    if (!this.keepAll) this.prune();
    return events.sort(byEvent);
  }

  list(now: number, filter: { open?: boolean } = {}): Hotspot[] {
    const out: Hotspot[] = [];
    for (const l of this.evaluate().listed.values()) {
      if (l.ep.openedAt! > now) continue;
      const h = this.describe(l, now);
      if (filter.open === true && h.status !== 'open') continue;
      if (filter.open === false && h.status !== 'closed') continue;
      out.push(h);
    }
    return out.sort((a, b) => b.openedAt - a.openedAt || (a.id < b.id ? -1 : 1));
  }

  /** How many complaints are held (pruning is part of what is compared). */
  get size(): number {
    return this.entries.size;
  }

  private near(key: string): string[] {
    const fn = this.o.neighbourhood;
    return key.startsWith('s:') && fn ? [...new Set([key, ...fn(key.slice(2)).map((s) => `s:${s}`)])].sort() : [key];
  }

  private rivals(key: string): Set<string> {
    const out = new Set<string>();
    for (const x of this.near(key)) for (const y of this.near(x)) if (y !== key) out.add(y);
    return out;
  }

  private episodes(): Map<string, Episode[]> {
    const members = new Set([...this.entries.values()].map(keyOf));
    const centres = new Set<string>();
    for (const m of members) for (const c of this.near(m)) centres.add(c);
    const out = new Map<string, Episode[]>();
    const k = Math.max(0, this.o.minComplaints - 1);
    for (const c of [...centres].sort()) {
      const near = new Set(this.near(c));
      const es = [...this.entries.values()].filter((e) => near.has(keyOf(e))).sort(byTime);
      const eps: Episode[] = [];
      for (let i = 0; i < es.length;) {
        let j = i + 1;
        while (j < es.length && es[j]!.receivedAt - es[j - 1]!.receivedAt <= this.o.windowMs) j++;
        const part = es.slice(i, j);
        let openedAt: number | undefined;
        for (let x = k; x < part.length && openedAt === undefined; x++)
          if (part[x]!.receivedAt - part[x - k]!.receivedAt <= this.o.windowMs) openedAt = part[x]!.receivedAt;
        eps.push({ centre: c, es: part, openedAt });
        i = j;
      }
      out.set(c, eps);
    }
    return out;
  }

  /** Every centre's episodes, and the listed hot spots by id. */
  private evaluate(): { all: Map<string, Episode[]>; listed: Map<string, Listed> } {
    const all = this.episodes();
    const candidates = (c: string) => (all.get(c) ?? []).filter((e) => e.openedAt !== undefined);
    const own = (ep: Episode, key: string) => ep.es.filter((e) => keyOf(e) === key).length;
    const covered = (h: Episode) => {
      for (const r of this.rivals(h.centre))
        for (const o of candidates(r)) {
          if (o.es.length < h.es.length || !h.es.every((e) => o.es.includes(e))) continue;
          if (o.es.length > h.es.length) return true;
          const here = own(h, h.centre);
          const there = own(h, r);
          if (there > here || (there === here && r < h.centre)) return true;
        }
      return false;
    };
    const base = (ep: Episode) => hotspotId(ep.es[0]!.site ?? ep.es[0]!.cell, ep.es[0]!.receivedAt);
    const kept: Episode[] = [];
    for (const c of all.keys()) for (const ep of candidates(c)) if (!covered(ep)) kept.push(ep);
    const listed = new Map<string, Listed>();
    for (const h of kept) {
      const group = kept.filter((o) => base(o) === base(h));
      if (group.every((o) => this.forgotten(o))) continue;
      const rivals = this.rivals(h.centre);
      const loses = group.some(
        (o) =>
          o !== h &&
          rivals.has(o.centre) &&
          (o.es.length > h.es.length || (o.es.length === h.es.length && o.centre < h.centre)),
      );
      const id = loses ? `${base(h)}~${h.centre.slice(2)}` : base(h);
      listed.set(id, { ep: h, id });
    }
    return { all, listed };
  }

  private forgotten(ep: Episode): boolean {
    return ep.es[ep.es.length - 1]!.receivedAt + this.o.windowMs + this.o.keepClosedMs < this.now;
  }

  private diff(cur: Map<string, Listed>): HotspotEvent[] {
    const events: HotspotEvent[] = [];
    for (const [id, old] of this.reported) {
      if (cur.has(id)) continue;
      if (old.status === 'open')
        events.push({ change: 'closed', hotspot: { ...old, status: 'closed' }, at: old.lastAt, superseded: true });
      this.reported.delete(id);
    }
    for (const [id, l] of cur) {
      const h = this.describe(l, this.now);
      const old = this.reported.get(id);
      this.reported.set(id, h);
      if (!old) {
        events.push({ change: 'opened', hotspot: h, at: h.openedAt });
        if (h.status === 'closed') events.push({ change: 'closed', hotspot: h, at: h.closesAt });
      } else if (h.status === 'closed' && old.status === 'open') {
        events.push({ change: 'closed', hotspot: h, at: h.closesAt });
      } else if (!sameStory(old, h)) {
        events.push({ change: 'changed', hotspot: h, at: h.lastAt });
      }
    }
    return events;
  }

  private describe({ ep, id }: Listed, now: number): Hotspot {
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
    const byCount = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1);
    const closesAt = last.receivedAt + this.o.windowMs;
    const h: Hotspot = {
      id,
      kind: explained === 0 || explained < this.o.silentBelow * es.length ? 'silent-degradation' : 'hotspot',
      sites: [...sites].sort(byCount).map((s) => s[0]),
      cells: [...cells].sort(byCount).map(([cell, complaints]) => ({ cell, complaints })),
      complaints: es.map((e) => e.id),
      explained,
      windows: [...windows].sort(),
      firstAt: first.receivedAt,
      lastAt: last.receivedAt,
      openedAt: openedAt!,
      closesAt,
      status: now >= closesAt ? 'closed' : 'open',
    };
    if (key.startsWith('s:')) h.site = key.slice(2);
    else h.cell = key.slice(2);
    region ??= [...regions].sort(byCount)[0]?.[0];
    if (region !== undefined) h.region = region;
    return h;
  }

  private prune(): void {
    const horizon = this.now - this.o.windowMs - this.o.keepClosedMs;
    const { all, listed } = this.evaluate();
    const liveFrom = new Map<string, number>();
    for (const [c, eps] of all) {
      const live = eps.find((ep) => ep.es[ep.es.length - 1]!.receivedAt >= horizon);
      liveFrom.set(c, live ? live.es[0]!.receivedAt : Infinity);
    }
    // Every episode holding the first complaint of a listed hot spot stays whole.
    for (const { ep } of listed.values()) {
      const f = ep.es[0]!;
      for (const c of this.near(keyOf(f))) {
        const holder = all.get(c)!.find((x) => x.es.includes(f))!;
        liveFrom.set(c, Math.min(liveFrom.get(c)!, holder.es[0]!.receivedAt));
      }
    }
    for (const [id, e] of this.entries) {
      const cut = Math.min(...this.near(keyOf(e)).map((c) => liveFrom.get(c) ?? Infinity));
      if (e.receivedAt < cut) this.entries.delete(id);
    }
  }
}

/** What a 'changed' event is for: a hot spot that moved to another centre with the same complaints is not news. */
function sameStory(a: Hotspot, b: Hotspot): boolean {
  const pick = (h: Hotspot) => [h.kind, h.status, h.explained, h.openedAt, h.lastAt, h.complaints, h.windows];
  return JSON.stringify(pick(a)) === JSON.stringify(pick(b));
}

const CHANGE_RANK: Record<HotspotChange, number> = { opened: 0, changed: 1, closed: 2 };
function byEvent(a: HotspotEvent, b: HotspotEvent): number {
  return (
    a.at - b.at ||
    CHANGE_RANK[a.change] - CHANGE_RANK[b.change] ||
    (a.hotspot.id < b.hotspot.id ? -1 : a.hotspot.id > b.hotspot.id ? 1 : 0)
  );
}
