/**
 * The correlator's indexes (places per cell and per tile, an address's nearest mast read from its
 * tile, per-cell weight memos, the time-sorted window and complaint lists) only decide which pairs to
 * score. Property: on random networks and complaints, every correlation equals the one built from
 * scratch — every (complaint, window) pair scored by the pure functions (locate with the k-d index,
 * spatialWeight, scorePair), best first, the top five with their reasons — whether the windows come
 * first or arrive while the complaints are held — and the bulk matcher (analyze --complaints) gives
 * the same outcomes as the correlator, complaint by complaint.
 */
import t from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  ComplaintCorrelator,
  DEFAULT_CORRELATOR_OPTIONS,
  BULK_RANGE,
  BulkCorrelations,
  matchInBulk,
  planBulk,
  readComplaints,
  candidateRange,
  haversineKm,
  locate,
  nearestAmong,
  reasonFor,
  scorePair,
  spatialWeight,
  utcClock,
} from '../correlator/complaints/index.js';
import type { MatchJob, MatchMessage } from '../daemon/bulk-match-part.js';
import { matchInThreads } from '../daemon/bulk-match.js';
import { PartWorker } from '../daemon/part-worker.js';
import type { Test } from './helpers/service.js';
import type { Cause, Cell, Complaint, ComplaintCorrelation, Window } from '../model/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-28T12:00:00Z');

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A jittered 6×6 grid of sites 0.6–1.2 km apart; some sectors without an azimuth, and on some sites a
 * remote radio head standing apart from the mast (a cell whose point is not its site's).
 */
function randomInventory(r: () => number): CellInventory {
  const step = 0.6 + 0.6 * r();
  const cells: Cell[] = [];
  for (let i = 0; i < 6; i++)
    for (let j = 0; j < 6; j++) {
      const site = `S${i}${j}`;
      const lat = 31 + (i + (r() - 0.5) * 0.5) * (step / 111.2);
      const lon = 121 + (j + (r() - 0.5) * 0.5) * (step / 95.2);
      const n = 1 + Math.floor(r() * 4);
      for (let k = 0; k < n; k++) {
        const remote = k === 3 && r() < 0.5;
        const cell: Cell = {
          id: `${site}-${k + 1}`,
          site,
          region: i < 3 ? 'R1' : 'R2',
          lat: remote ? lat + 0.004 : lat,
          lon: remote ? lon - 0.003 : lon,
          neighbours: [`S${Math.min(5, i + 1)}${j}-1`, `S${i}${Math.max(0, j - 1)}-1`],
        };
        if (r() < 0.85) cell.azimuth = (k * 120 + Math.floor(r() * 40)) % 360;
        cells.push(cell);
      }
    }
  return CellInventory.of(cells);
}

const CAUSES: Cause[] = ['outage', 'backhaul', 'coverage', 'interference', 'congestion', 'silent-failure', 'unknown'];
const SYMPTOMS = [undefined, 'no-signal', 'slow-data', 'call-drop', 'voice-quality', 'other'] as const;

function randomWindows(inv: CellInventory, r: () => number, n: number): Window[] {
  const out: Window[] = [];
  for (let k = 0; k < n; k++) {
    // Some windows on a cell the inventory does not know (complaints may name it too).
    const cell = r() < 0.05 ? 'X-1' : inv.cells[Math.floor(r() * inv.cells.length)]!.id;
    const start = T0 + Math.floor(r() * 6 * DAY);
    const end = start + Math.floor(10 + r() * 400) * MIN;
    const w: Window = {
      id: `W${k}`,
      cell,
      stream: 'counters',
      start,
      end,
      lastBad: end,
      cause: CAUSES[Math.floor(r() * CAUSES.length)]!,
      severity: Math.round(r() * 100) / 100,
      usersAffected: 0,
      userMinutes: 0,
      worst: {},
      evidence: { kpis: [], badIntervals: 0, goodIntervals: 0, unknownIntervals: 0 },
      remediation: '',
    };
    if (w.cause === 'backhaul' && r() < 0.5) w.evidence.link = { link: 'ge-0/0/1', operUp: false };
    out.push(w);
  }
  return out;
}

/** Complaints crowd on a few cells (so per-cell memos are reused) and spread as addresses over the area. */
function randomComplaints(inv: CellInventory, r: () => number, n: number): Complaint[] {
  const busy = inv.cells.filter(() => r() < 0.2);
  const out: Complaint[] = [];
  for (let k = 0; k < n; k++) {
    const cell = r() < 0.5 && busy.length > 0 ? busy[Math.floor(r() * busy.length)]! : inv.cells[k % inv.size]!;
    const receivedAt = T0 + Math.floor(r() * 7 * DAY);
    const c: Complaint = { id: `C${k}`, receivedAt, channel: 'app', category: 'network' };
    const where = r();
    if (where < 0.65) c.cell = where < 0.03 ? 'X-1' : cell.id;
    if (where >= 0.35 || c.cell === 'X-1') {
      c.lat = cell.lat + (r() - 0.5) * 0.03;
      c.lon = cell.lon + (r() - 0.5) * 0.03;
    }
    if (r() < 0.5) c.issueAt = receivedAt - Math.floor(r() * 40 * HOUR);
    const s = SYMPTOMS[Math.floor(r() * SYMPTOMS.length)];
    if (s) c.symptom = s;
    out.push(c);
  }
  return out;
}

/** The correlation by definition: every pair scored, no index. */
function fromScratch(inv: CellInventory, c: Complaint, windows: readonly Window[]): ComplaintCorrelation {
  const o = DEFAULT_CORRELATOR_OPTIONS;
  const place = locate(c, inv, o.radiusKm);
  if (!place.ok) throw new Error(`${c.id} not located`);
  const [from, to] = candidateRange(c, o);
  const matches: { w: Window; score: number; reason: string }[] = [];
  for (const w of windows) {
    if (w.start > to || (w.end ?? Infinity) < from) continue;
    const where = spatialWeight(place, w.cell, inv, o.radiusKm);
    if (!where || where.weight < o.minScore) continue;
    const score = scorePair(c, w, where).score;
    if (score < o.minScore) continue;
    matches.push({ w, score, reason: reasonFor(c, w, where, place.ownId, utcClock) });
  }
  if (matches.length === 0) return { explained: false, score: 0, windows: [] };
  matches.sort((a, b) => b.score - a.score || (a.w.id < b.w.id ? -1 : 1));
  return {
    explained: matches[0]!.score >= o.explainAt,
    score: matches[0]!.score,
    windows: matches
      .slice(0, o.maxMatches)
      .map((m) => ({ window: m.w.id, cell: m.w.cell, score: m.score, reason: m.reason })),
  };
}

void t.test('property: the indexed correlator gives what scoring every pair from scratch gives', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = rng(seed);
    const inv = randomInventory(r);
    const windows = randomWindows(inv, r, 400);
    const complaints = randomComplaints(inv, r, 600).sort((a, b) => a.receivedAt - b.receivedAt);
    const want = complaints.map((c) => fromScratch(inv, c, windows));
    t.ok(
      want.filter((x) => x.explained).length > 20 && want.filter((x) => x.windows.length > 1).length > 20,
      `seed ${seed}: many complaints are explained, many by more than one window (the property is not vacuous)`,
    );

    const replay = new ComplaintCorrelator(inv);
    replay.addWindows(windows);
    for (let i = 0; i < complaints.length; i += 50) replay.addComplaints(complaints.slice(i, i + 50));
    t.strictSame(
      complaints.map((c) => replay.correlation(c.id)),
      want,
      `seed ${seed}: windows first, then the complaints`,
    );

    // Windows as they close, complaints in batches between them: the window-event path rescores.
    const live = new ComplaintCorrelator(inv);
    const byEnd = [...windows].sort((a, b) => a.end! - b.end!);
    let w = 0;
    for (let i = 0; i < complaints.length; i += 50) {
      const part = complaints.slice(i, i + 50);
      live.addComplaints(part);
      const until = part[part.length - 1]!.receivedAt;
      const ws: Window[] = [];
      for (; w < byEnd.length && byEnd[w]!.end! <= until; w++) ws.push(byEnd[w]!);
      live.addWindows(ws);
    }
    live.addWindows(byEnd.slice(w));
    t.strictSame(
      complaints.map((c) => live.correlation(c.id)),
      want,
      `seed ${seed}: windows arriving while the complaints are held`,
    );
  }
});

void t.test("property: the bulk matcher gives the live correlator's outcome for every complaint", async (t) => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const r = rng(seed);
    const inv = randomInventory(r);
    // Some windows still open, one id given twice (the newer version wins), one with no lastBad.
    const windows = randomWindows(inv, r, 400).map((w, k) => (k % 17 === 0 ? { ...w, end: undefined } : w));
    windows.push({ ...windows[5]!, lastBad: windows[5]!.lastBad + 1, severity: 0.95, cause: 'outage' });
    windows.push({ ...windows[9]!, lastBad: windows[9]!.lastBad - 1, severity: 0.99 });
    const complaints = randomComplaints(inv, r, 600);
    // A repeated id, a complaint that is not about the network, and three that cannot be located.
    complaints.push({ ...complaints[3]! }, { ...complaints[4]!, id: 'N1', category: 'billing' });
    complaints.push({ id: 'U1', receivedAt: T0, channel: 'app', category: 'network', cell: 'nowhere' });
    complaints.push({ id: 'U2', receivedAt: T0, channel: 'app', category: 'network', lat: 31 });
    complaints.push({ id: 'U3', receivedAt: NaN, channel: 'app', category: 'network', cell: inv.cells[0]!.id });
    // A cell the inventory does not know and no window names, with an address: located there.
    const { lat, lon } = inv.cells[0]!;
    complaints.push({ id: 'U4', receivedAt: T0 + 3 * DAY, channel: 'app', category: 'network', cell: 'Y-9', lat, lon });
    // Odd seeds: an address complaint's id again later, named by a cell alone — once not about the
    // network, once about it: both duplicates of the added one, whatever they are.
    if (seed % 2 === 1) {
      const addr = complaints.find((c) => c.lat !== undefined && c.cell === undefined)!;
      const again = { receivedAt: addr.receivedAt, channel: 'app', id: addr.id } as const;
      complaints.push({ ...again, category: 'billing', cell: inv.cells[1]!.id });
      complaints.push({ ...again, category: 'network', cell: inv.cells[2]!.id });
      // And a cell-alone complaint first, its id again later with an address.
      const named = complaints.find((c) => c.lat === undefined && c.cell !== undefined && c.cell !== 'X-1')!;
      complaints.push({ ...named, lat: 31.001, lon: 121.001, cell: undefined });
    }
    const bulk = matchInBulk(inv, windows, complaints);
    const live = new ComplaintCorrelator(inv);
    live.addWindows(windows);
    const want = live.addComplaints(complaints).outcomes;
    t.equal(bulk.size, complaints.length);
    t.strictSame(
      complaints.map((_, i) => bulk.outcome(i)),
      want,
      `seed ${seed}: every outcome, correlation and reason equal`,
    );
    if (seed % 2 === 1)
      t.strictSame(
        want.slice(-3).map((x) => x.status),
        ['duplicate', 'duplicate', 'duplicate'],
        `seed ${seed}: the repeated ids are duplicates, the one not about the network too`,
      );
    const u4 = want[complaints.findIndex((c) => c.id === 'U4')]!;
    t.ok(u4.status === 'added' && u4.correlation.windows.length > 0, `seed ${seed}: an unknown cell with an address`);
    const explained = want.filter((x) => x.status === 'added' && x.correlation.explained).length;
    t.ok(explained > 20, `seed ${seed}: not vacuous (${explained} explained)`);
    t.equal(bulk.explainedCount, explained, `seed ${seed}: the explained count`);
    t.strictSame(
      complaints.map((_, i) => bulk.explained(i)),
      want.map((x) => x.status === 'added' && x.correlation.explained),
      `seed ${seed}: explained, complaint by complaint`,
    );
  }
});

void t.test(
  'property: nearestAmong (flat filter, then haversine) is the nearest mast by haversine, to the metre',
  async (t) => {
    const r = rng(7);
    let found = 0;
    for (const lat0 of [0.5, 31, 52, 69.5, -45]) {
      const masts = Array.from({ length: 40 }, () => ({
        lat: lat0 + (r() - 0.5) * 0.03,
        lon: 20 + (r() - 0.5) * 0.06,
      }));
      for (let k = 0; k < 500; k++) {
        const p = { lat: lat0 + (r() - 0.5) * 0.03, lon: 20 + (r() - 0.5) * 0.06 };
        const radius = 0.2 + r() * 1.5;
        let best = Infinity;
        for (const m of masts) best = Math.min(best, haversineKm(p.lat, p.lon, m.lat, m.lon));
        const want = best <= radius ? Math.round(best * 1000) / 1000 : undefined;
        if (want !== undefined) found++;
        if (nearestAmong(p, masts, radius) !== want) {
          t.fail(`lat ${lat0}, point ${p.lat},${p.lon}, radius ${radius}: ${nearestAmong(p, masts, radius)} ≠ ${want}`);
          return;
        }
      }
    }
    t.ok(found > 1000, `2,500 points at five latitudes agree (${found} with a mast within the radius)`);
  },
);

void t.test('two threads give every complaint the outcome one thread gives it', async (t) => {
  const r = rng(21);
  const inv = randomInventory(r);
  const windows = randomWindows(inv, r, 1500);
  // Past BULK_RANGE, so that there are ranges to share; out of time order (the scan's per-site
  // search starts from where the site's last complaint left it, forwards or back).
  const complaints = randomComplaints(inv, r, 2 * BULK_RANGE + 500);
  // A duplicate, a rejection and a complaint not about the network in the last range.
  complaints.push({ ...complaints[7]! }, { ...complaints[8]!, id: 'N1', category: 'billing' });
  complaints.push({ id: 'U1', receivedAt: T0, channel: 'app', category: 'network', cell: 'nowhere' });
  const one = matchInBulk(inv, windows, complaints);
  const same = (t: Test, other: BulkCorrelations, what: string) => {
    let differ = 0;
    let first = '';
    for (let i = 0; i < complaints.length; i++) {
      const a = JSON.stringify(one.outcome(i));
      if (a !== JSON.stringify(other.outcome(i)) && differ++ === 0) first = ` (first differing, ${i}: ${a})`;
    }
    t.equal(differ, 0, `${what}: ${complaints.length} outcomes equal${first}`);
    t.equal(other.explainedCount, one.explainedCount, `${what}: the explained count`);
  };
  t.ok(one.explainedCount > 1000, `not vacuous (${one.explainedCount} explained)`);

  // The worker thread alone (this thread only reads, takes no range): given the plan before the
  // complaints are read, it scans each range once it is read, over the shared columns.
  const prepared = planBulk(inv, windows, complaints.length, {}, true);
  const worker = new PartWorker('bulk-match-part');
  const next = new Int32Array(new SharedArrayBuffer(4));
  worker.post({ plan: prepared.plan, cells: inv.cells, size: complaints.length, next } satisfies MatchJob);
  readComplaints(prepared, inv, complaints);
  const scanned = await worker.next<Extract<MatchMessage, { kind: 'scanned' }>>('scanned');
  await worker.terminate();
  t.equal(scanned.ranges.length, 3, 'the worker took every range');
  const ranges = scanned.ranges.sort((a, b) => a.r - b.r).map((x) => x.listed);
  same(t, new BulkCorrelations(complaints, prepared, ranges, inv), 'the worker thread alone');

  // Both threads, as analyze runs them: however the ranges fall, the same outcomes.
  const two = await matchInThreads(inv, windows, complaints, {}, 2);
  same(t, two, 'two threads');
  t.strictSame(
    [complaints.length - 3, complaints.length - 2, complaints.length - 1].map((i) => two.outcome(i).status),
    ['duplicate', 'ignored', 'rejected'],
  );
});
