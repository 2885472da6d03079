/**
 * The hot-spot book evaluates incrementally (an insert touches one episode per centre; only what it
 * can change is judged again; descriptions are kept up to date entry by entry, and entries are
 * forgotten once nothing listed depends on them). This checks it against a from-scratch evaluation
 * of the same rules (test/helpers/hotspots-reference.ts) over random inputs: random neighbourhoods
 * over a handful of sites and unknown cells, complaints arriving roughly in time with late ones and
 * updates (explained, anchor cell, moved to another site, another time), and random flushes, time
 * steps and listings. Every event and every listing must be the same.
 */
import t from 'tap';
import { HotspotBook, type HotspotEntry, type HotspotOptions } from '../correlator/complaints/index.js';
import { ReferenceHotspotBook } from './helpers/hotspots-reference.js';
import { mulberry32 as rng } from '../sim/seeded.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-28T12:00:00Z');

/** A random symmetric neighbourhood over sites S1..Sn: each site, plus random links (more between close numbers). */
function neighbourhoods(n: number, r: () => number): (site: string) => readonly string[] {
  const links = new Map<string, Set<string>>();
  for (let i = 1; i <= n; i++) links.set(`S${i}`, new Set([`S${i}`]));
  for (let i = 1; i <= n; i++)
    for (let j = i + 1; j <= n; j++)
      if (r() < (j - i === 1 ? 0.7 : 0.15)) {
        links.get(`S${i}`)!.add(`S${j}`);
        links.get(`S${j}`)!.add(`S${i}`);
      }
  return (site) => [...(links.get(site) ?? [site])];
}

interface Mode {
  spec: string;
  /** Complaints received long before they reach the book, and updates of any complaint. */
  late: boolean;
  /** Compare with a reference that never forgets (pruning must then be invisible). */
  keepAll: boolean;
}

const modes: Mode[] = [
  { spec: 'late complaints and updates of any complaint, both forgetting', late: true, keepAll: false },
  { spec: 'in time, against a reference that forgets nothing: forgetting is invisible', late: false, keepAll: true },
];

for (const mode of modes)
  void t.test(`incremental hot spots equal a from-scratch evaluation: ${mode.spec}`, async (t) => {
    let events = 0;
    let listed = 0;
    let renamed = 0;
    let pruned = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const sites = 3 + Math.floor(r() * 6);
      const options: Partial<HotspotOptions> = {
        minComplaints: pick([2, 3, 3, 4]),
        windowMs: (mode.late ? pick([72, 72, 12]) : 72) * HOUR,
        keepClosedMs: (mode.late ? pick([72, 24, 0]) : pick([72, 24])) * HOUR,
        silentBelow: pick([0, 0, 0.5]),
        neighbourhood: r() < 0.8 ? neighbourhoods(sites, r) : undefined,
      };
      const book = new HotspotBook(options);
      const ref = new ReferenceHotspotBook(options, mode.keepAll);
      const held: HotspotEntry[] = [];
      let clock = T0;
      let n = 0;
      const fresh = (): HotspotEntry => {
        const unknown = r() < 0.1;
        const site = `S${1 + Math.floor(r() * sites)}`;
        // Mostly in time; now and then a late one (received days before it reaches the book).
        const late = mode.late && r() < 0.08 ? r() * 120 * HOUR : r() * 3 * HOUR;
        const e: HotspotEntry = {
          id: `K${String(++n).padStart(4, '0')}`,
          receivedAt: Math.round(clock - late),
          cell: unknown ? `X${1 + Math.floor(r() * 2)}` : `${site}-${1 + Math.floor(r() * 3)}`,
          explained: false,
          windows: [],
        };
        if (!unknown) e.site = site;
        if (r() < 0.9) e.region = r() < 0.8 ? `R${site.slice(1)}` : 'R0';
        if (r() < 0.3) {
          e.explained = true;
          e.windows = [...new Set([pick(['W1', 'W2', 'W3', 'W4']), pick(['W1', 'W2', 'W3', 'W4'])])];
        }
        return e;
      };
      const changed = (e: HotspotEntry): HotspotEntry => {
        const x = r();
        if (x < 0.5) {
          const explained = !e.explained;
          return { ...e, explained, windows: explained ? [pick(['W1', 'W2', 'W3'])] : [] };
        }
        if (x < 0.7 && e.site !== undefined) return { ...e, cell: `${e.site}-${1 + Math.floor(r() * 3)}` };
        if (x < 0.85) {
          const site = `S${1 + Math.floor(r() * sites)}`;
          return { ...e, site, cell: `${site}-1` };
        }
        return { ...e, receivedAt: e.receivedAt + Math.round((r() - 0.5) * 20 * HOUR) };
      };
      for (let step = 0; step < 160; step++) {
        const x = r();
        if (x < 0.45) {
          const batch = Array.from({ length: 1 + Math.floor(r() * 4) }, fresh);
          held.push(...batch);
          book.note(batch);
          ref.note(batch);
          clock += r() < 0.1 ? r() * 100 * HOUR : r() * 8 * HOUR;
        } else if (x < 0.6 && held.length > 0) {
          const i = Math.floor(r() * held.length);
          // In time, only complaints still being correlated change (as in the correlator).
          if (!mode.late && held[i]!.receivedAt < clock - 48 * HOUR) continue;
          const e = changed(held[i]!);
          held[i] = e;
          book.note([e]);
          ref.note([e]);
        } else if (x < 0.75) {
          const got = book.flush();
          t.strictSame(got, ref.flush(), `seed ${seed}, step ${step}: flush`);
          events += got.length;
          renamed += got.filter((e) => e.superseded).length;
        } else if (x < 0.9) {
          const now = clock - r() * 10 * HOUR;
          const before = book.held;
          const got = book.advance(now);
          t.strictSame(got, ref.advance(now), `seed ${seed}, step ${step}: advance`);
          events += got.length;
          pruned += before - book.held;
        } else {
          const now = clock + (r() - 0.7) * 100 * HOUR;
          const filter = pick([{}, { open: true }, { open: false }]);
          const got = book.list(now, filter);
          t.strictSame(got, ref.list(now, filter), `seed ${seed}, step ${step}: list`);
          listed += got.length;
        }
      }
    }
    // The property is only as good as what it exercised.
    t.ok(events > 500, `${events} events compared`);
    t.ok(listed > 200, `${listed} listed hot spots compared`);
    t.ok(renamed > 5, `${renamed} hot spots superseded (re-keyed, covered, renamed)`);
    t.ok(pruned > 100, `${pruned} complaints forgotten along the way`);
  });
