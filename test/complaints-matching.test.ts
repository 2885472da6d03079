/**
 * Complaint matching with plain values: golden cases (test/fixtures/complaints-match/: a complaint,
 * its windows, the expected correlation with reasons, hand-checked in each spec), the weights as
 * tables, the incremental correlator (late windows, retractions, stale events, finalisation), a
 * property test that shuffles and interleaves complaints and window events, and hot spots.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  ComplaintCorrelator,
  HotspotBook,
  aimFactor,
  candidateCells,
  candidateRange,
  distanceFactor,
  locate,
  severityWeight,
  spatialWeight,
  statedTolerance,
  symptomFit,
  timeWeight,
  utcClock,
  type HotspotEntry,
  type HotspotEvent,
} from '../correlator/complaints/index.js';
import type { Cause, Cell, Complaint, ComplaintCorrelation, Window, WindowEvent } from '../model/index.js';
import { mulberry32 as rng } from '../sim/seeded.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-28T12:00:00Z');

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/complaints-match/${name}`, import.meta.url), 'utf8')) as T;
const inventory = CellInventory.of(fixture<{ cells: Cell[] }>('inventory.json').cells);

type Iso = string | number;
const ms = (v: Iso) => (typeof v === 'string' ? Date.parse(v) : v);

interface WindowSpec {
  id: string;
  cell: string;
  start: Iso;
  end?: Iso;
  cause: Cause;
  severity: number;
  link?: { link: string; operUp?: boolean };
}

function win(s: WindowSpec): Window {
  const w: Window = {
    id: s.id,
    cell: s.cell,
    stream: 'counters',
    start: ms(s.start),
    lastBad: ms(s.end ?? s.start),
    cause: s.cause,
    severity: s.severity,
    usersAffected: 0,
    userMinutes: 0,
    worst: {},
    evidence: { kpis: [], badIntervals: 0, goodIntervals: 0, unknownIntervals: 0 },
    remediation: '',
  };
  if (s.end !== undefined) w.end = ms(s.end);
  if (s.link) w.evidence.link = s.link;
  return w;
}

type ComplaintSpec = Omit<Complaint, 'receivedAt' | 'issueAt'> & { receivedAt: Iso; issueAt?: Iso };
function complaint(s: ComplaintSpec): Complaint {
  const { receivedAt, issueAt, ...rest } = s;
  const c: Complaint = { ...rest, receivedAt: ms(receivedAt) };
  if (issueAt !== undefined) c.issueAt = ms(issueAt);
  return c;
}

void t.test('golden cases: complaint + windows → correlation with reasons', async (t) => {
  const cases = fixture<
    {
      spec: string;
      complaint: ComplaintSpec;
      windows: WindowSpec[];
      want: ComplaintCorrelation | { rejected: string; field: string };
    }[]
  >('cases.json');
  t.ok(cases.length >= 12, 'enough cases');
  for (const c of cases) {
    const cor = new ComplaintCorrelator(inventory, { formatTime: utcClock });
    cor.addWindows(c.windows.map(win));
    const [out] = cor.addComplaints([complaint(c.complaint)]).outcomes;
    if ('rejected' in c.want) {
      t.match(out, { status: 'rejected', reason: c.want.rejected, field: c.want.field }, c.spec);
      continue;
    }
    t.equal(out?.status, 'added', `${c.spec}: added`);
    if (out?.status === 'added') t.strictSame(out.correlation, c.want, c.spec);
    // The same answer when the windows come after the complaint.
    const late = new ComplaintCorrelator(inventory, { formatTime: utcClock });
    late.addComplaints([complaint(c.complaint)]);
    late.addWindows(c.windows.map(win));
    t.strictSame(late.correlation(c.complaint.id), c.want, `${c.spec}: windows after the complaint`);
  }
});

void t.test('time weight (table)', async (t) => {
  const c = (o: Partial<Complaint>): Complaint => ({
    id: 'x',
    receivedAt: T0,
    channel: 'hotline',
    category: 'network',
    ...o,
  });
  const rows: [string, Complaint, { start: number; end?: number }, number][] = [
    ['ongoing at receivedAt: 1', c({}), { start: T0 - HOUR }, 1],
    ['ended 59 min before: still within the hour of grace', c({}), { start: T0 - 3 * HOUR, end: T0 - 59 * MIN }, 1],
    ['ended 37 h before: half (36 h after the grace hour)', c({}), { start: T0 - 40 * HOUR, end: T0 - 37 * HOUR }, 0.5],
    ['starts 15 min after receivedAt: 1 (the customer noticed first)', c({}), { start: T0 + 15 * MIN }, 1],
    ['starts an hour after receivedAt: ½', c({}), { start: T0 + HOUR, end: T0 + 2 * HOUR }, 0.5],
    ['starts 2 h after: 1/(1 + (105/45)²)', c({}), { start: T0 + 2 * HOUR }, 1 / (1 + (105 / 45) ** 2)],
    ['stated time inside the window: 1', c({ issueAt: T0 - 2 * HOUR }), { start: T0 - 3 * HOUR, end: T0 - HOUR }, 1],
    [
      'stated time 20 min after the end, τ 20 min: 1',
      c({ issueAt: T0 - HOUR }),
      { start: T0 - 3 * HOUR, end: T0 - 80 * MIN },
      1,
    ],
    [
      'stated time 40 min after the end, τ 20 min: ½',
      c({ issueAt: T0 - HOUR }),
      { start: T0 - 3 * HOUR, end: T0 - 100 * MIN },
      0.5,
    ],
    [
      'stated time after receivedAt is taken as receivedAt',
      c({ issueAt: T0 + 5 * HOUR }),
      { start: T0 - HOUR, end: T0 + HOUR },
      1,
    ],
  ];
  for (const [spec, complaint, w, want] of rows) t.ok(Math.abs(timeWeight(complaint, w) - want) < 1e-9, spec);
  t.equal(statedTolerance(c({ issueAt: T0 - 10 * MIN })), 20 * MIN, 'τ: 15 min × (1 + 0.007 d), rounded up to 5 min');
  t.equal(statedTolerance(c({ issueAt: T0 - 2 * DAY })), 45 * MIN, 'τ: two days late → 45 min');
  t.same(candidateRange(c({}), { lookbackMs: 72 * HOUR, afterMs: 2 * HOUR, minScore: 0.1 }), [
    T0 - 72 * HOUR,
    T0 + 2 * HOUR,
  ]);
  t.same(
    candidateRange(c({ issueAt: T0 - 10 * HOUR }), { lookbackMs: 72 * HOUR, afterMs: 2 * HOUR, minScore: 0.1 }),
    [T0 - 10 * HOUR - 100 * MIN, T0 - 10 * HOUR + 100 * MIN],
    'with a stated time: ± τ·(1 + √9), where the time weight alone falls under minScore',
  );
});

void t.test('severity weight and symptom fit (table)', async (t) => {
  const sev: [number, number][] = [
    [1, 1],
    [0.5, 0.75],
    [0.49, 0.49],
    [0, 0],
    [1.7, 1],
    [NaN, 0],
  ];
  for (const [s, want] of sev) t.ok(Math.abs(severityWeight(s) - want) < 1e-9, `severity ${s} → ${want}`);
  const w = (cause: Cause, operUp?: boolean) =>
    win({
      id: 'w',
      cell: 'S0001-1',
      start: T0,
      cause,
      severity: 1,
      ...(operUp !== undefined ? { link: { link: 'l', operUp } } : {}),
    });
  t.equal(symptomFit(undefined, w('congestion')), 1, 'no symptom: no opinion');
  t.equal(symptomFit('other', w('congestion')), 1, "'other': no opinion");
  t.equal(symptomFit('no-signal', w('outage')), 1, 'no signal fits an outage');
  t.equal(symptomFit('no-signal', w('congestion')), 0.4, 'no signal hardly fits congestion');
  t.equal(symptomFit('slow-data', w('congestion')), 1, 'slow data fits congestion');
  t.equal(symptomFit('slow-data', w('interference')), 1, 'slow data fits interference');
  t.equal(symptomFit('no-signal', w('backhaul', false)), 1, 'a cut backhaul is an outage to the customer');
  t.equal(symptomFit('no-signal', w('backhaul', true)), 0.8, 'a saturated backhaul leaves the signal up');
});

void t.test('where: locating complaints and weighing cells (table)', async (t) => {
  const base = { id: 'x', receivedAt: T0, channel: 'hotline', category: 'network' } as const;
  t.match(locate({ ...base, cell: 'NOPE' }, inventory), { ok: false, reason: 'unknown-cell', field: 'cell' });
  t.match(locate({}, inventory), { ok: false, reason: 'no-location' });
  t.match(locate({ ...base, lat: 31.2 }, inventory), { ok: false, reason: 'bad-coordinates', field: 'lon' });
  t.match(locate({ ...base, lat: 95, lon: 121 }, inventory), { ok: false, reason: 'bad-coordinates', field: 'lat' });
  t.match(locate({ ...base, cell: 'S0001-2' }, inventory), { ok: true, pointFrom: 'cell', ownId: 'S0001-2' });
  t.match(locate({ ...base, cell: 'S0001-2', lat: 31.24, lon: 121.47 }, inventory), { ok: true, pointFrom: 'address' });

  const named = locate({ ...base, cell: 'S0001-1' }, inventory);
  if (!named.ok) throw new Error('fixture');
  const rel = (id: string) => spatialWeight(named, id, inventory);
  t.match(rel('S0001-1'), { relation: 'own', weight: 1 }, 'own cell 1');
  t.match(rel('S0001-4'), { relation: 'same-sector', weight: 0.8 }, 'capacity layer on the same sector 0.8');
  t.match(rel('S0001-2'), { relation: 'neighbour', weight: 0.6 }, 'co-sited neighbour 0.6');
  t.match(
    rel('S0002-2'),
    { relation: 'nearby', weight: 0.166 },
    'near, not a neighbour, sector 120° away: 0.5 × 0.662 × 0.5',
  );
  t.equal(rel('S0009-1'), undefined, 'far and not a neighbour: no candidate');
  t.match(
    rel('S0003-1'),
    { relation: 'neighbour', km: 2.497 },
    'a listed neighbour beyond the radius is still a candidate',
  );
  const ids = candidateCells(named, inventory).map((c) => c.cell);
  t.same(ids.slice(0, 2), ['S0001-1', 'S0001-4'], 'candidates best first');
  t.notOk(ids.includes('S0009-1'), 'far cells are not candidates');
  for (const c of candidateCells(named, inventory))
    t.same(spatialWeight(named, c.cell, inventory), c, `candidate list agrees with the pair function: ${c.cell}`);

  t.equal(distanceFactor(0.3), 1, 'flat to 300 m');
  t.equal(distanceFactor(1.0), 0.5, '½ at 1 km');
  t.ok(Math.abs(distanceFactor(1.5) - 0.254) < 0.001, '~¼ at 1.5 km');
  const cell = inventory.cell('S0001-1')!;
  t.equal(aimFactor(cell, { lat: 31.24, lon: 121.47 }, 1.1), 1, 'sector pointing at the point');
  t.equal(aimFactor(cell, { lat: 31.22, lon: 121.47 }, 1.1), 0.5, 'sector pointing away');
  t.equal(aimFactor(inventory.cell('S0009-1')!, { lat: 31.2, lon: 121.6 }, 1.1), 1, 'no azimuth: no opinion');
  t.equal(aimFactor(cell, { lat: 31.23, lon: 121.47 }, 0), 1, 'at the mast: no direction');
});

// ---------------------------------------------------------------------------------------------
// The incremental correlator

const network = (over: Partial<Complaint> = {}): Complaint => ({
  id: 'N1',
  receivedAt: T0,
  channel: 'hotline',
  category: 'network',
  cell: 'S0001-1',
  ...over,
});
const outage = (over: Partial<WindowSpec> = {}) =>
  win({ id: 'WX', cell: 'S0001-1', start: T0 - 2 * HOUR, end: T0 - HOUR, cause: 'outage', severity: 1, ...over });

void t.test('a window found after the complaint explains it; a retraction stops it', async (t) => {
  const cor = new ComplaintCorrelator(inventory);
  const added = cor.addComplaints([network()]);
  t.match(added.outcomes, [{ status: 'added', correlation: { explained: false, score: 0 } }]);
  const found = cor.applyWindowEvents([{ change: 'closed', window: outage(), at: T0 + HOUR }]);
  t.match(found.correlations, [
    { complaint: 'N1', explainedChanged: true, correlation: { explained: true, score: 1 } },
  ]);
  const again = cor.applyWindowEvents([{ change: 'closed', window: outage(), at: T0 + HOUR }]);
  t.same(again.correlations, [], 'the same event twice changes nothing');
  const weaker = cor.applyWindowEvents([{ change: 'changed', window: outage({ severity: 0.4 }), at: T0 + 2 * HOUR }]);
  t.match(weaker.correlations, [{ explainedChanged: true, correlation: { explained: false, score: 0.4 } }]);
  const stale = cor.applyWindowEvents([{ change: 'changed', window: outage({ severity: 1 }), at: T0 }]);
  t.same(stale.correlations, [], 'an event older than the one applied is ignored');
  const gone = cor.applyWindowEvents([{ change: 'retracted', window: outage(), at: T0 + 3 * HOUR }]);
  t.match(gone.correlations, [{ correlation: { explained: false, score: 0, windows: [] } }]);
  cor.applyWindowEvents([{ change: 'changed', window: outage(), at: T0 + 2.5 * HOUR }]);
  t.match(cor.correlation('N1'), { score: 0 }, 'a retraction is remembered: a late change cannot resurrect the window');
});

void t.test('intake outcomes: duplicates, other categories, rejections', async (t) => {
  const cor = new ComplaintCorrelator(inventory);
  const { outcomes } = cor.addComplaints([
    network(),
    network(),
    network({ id: 'B1', category: 'billing' }),
    network({ id: 'U1', cell: 'NOPE' }),
    network({ id: 'T1', receivedAt: NaN }),
  ]);
  t.same(
    outcomes.map((o) => o.status),
    ['added', 'duplicate', 'ignored', 'rejected', 'rejected'],
  );
  t.match(outcomes[3], { reason: 'unknown-cell', message: /not in the inventory/ });
  t.equal(cor.size.complaints, 1);
});

void t.test('finalize: correlations become final and memory is bounded', async (t) => {
  const cor = new ComplaintCorrelator(inventory);
  cor.addWindows([outage()]);
  cor.addComplaints([network(), network({ id: 'N2', receivedAt: T0 + 2 * DAY })]);
  const early = cor.finalize(T0 + 2 * HOUR + DAY - 1);
  t.same(early.finalised, [], 'not before receivedAt + 2 h + settle (24 h)');
  const f = cor.finalize(T0 + 2 * HOUR + DAY);
  t.same(
    f.finalised.map((x) => [x.complaint.id, x.correlation.explained]),
    [['N1', true]],
    'the first is final and explained',
  );
  t.equal(cor.size.complaints, 1, 'and no longer held');
  cor.finalize(T0 + 10 * DAY);
  t.same(cor.size, { complaints: 0, windows: 0 }, 'old windows dropped too');
});

function shuffle<T>(xs: T[], r: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** A grid of 5×5 sites, 0.7 km apart, three sectors each, neighbours = cells of adjacent sites. */
function gridInventory(): CellInventory {
  const cells: Cell[] = [];
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 5; j++) {
      const site = `G${i}${j}`;
      for (let k = 0; k < 3; k++)
        cells.push({
          id: `${site}-${k + 1}`,
          site,
          region: i < 3 ? 'R1' : 'R2',
          lat: 31 + i * 0.0063,
          lon: 121 + j * 0.0074,
          azimuth: k * 120,
          neighbours: [
            `${site}-${((k + 1) % 3) + 1}`,
            `G${Math.min(4, i + 1)}${j}-${k + 1}`,
            `G${i}${Math.max(0, j - 1)}-${k + 1}`,
          ],
        });
    }
  return CellInventory.of(cells);
}

void t.test(
  'property: any order and interleaving of complaints and window events gives the same matches',
  async (t) => {
    const inv = gridInventory();
    const causes: Cause[] = [
      'outage',
      'backhaul',
      'coverage',
      'interference',
      'congestion',
      'silent-failure',
      'unknown',
    ];
    const symptoms = [undefined, 'no-signal', 'slow-data', 'call-drop', 'voice-quality', 'other'] as const;
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const events: WindowEvent[] = [];
      for (let k = 0; k < 60; k++) {
        const cell = pick(inv.cells).id;
        const start = T0 + Math.floor(r() * 5 * DAY);
        const full = win({
          id: `W${k}`,
          cell,
          start,
          end: start + Math.floor(10 + r() * 300) * MIN,
          cause: pick(causes),
          severity: Math.round(r() * 100) / 100,
        });
        const { end: _end, ...open } = full;
        events.push({ change: 'opened', window: { ...open, severity: full.severity / 2 }, at: start + 10 * MIN });
        events.push({ change: 'closed', window: full, at: full.end! });
        if (r() < 0.15) events.push({ change: 'retracted', window: full, at: full.end! + HOUR });
      }
      const complaints: Complaint[] = [];
      for (let k = 0; k < 150; k++) {
        const cell = pick(inv.cells);
        const receivedAt = T0 + Math.floor(r() * 6 * DAY);
        const c: Complaint = { id: `C${k}`, receivedAt, channel: 'app', category: 'network' };
        const where = r();
        if (where < 0.7) c.cell = cell.id;
        if (where >= 0.4) {
          c.lat = cell.lat + (r() - 0.5) * 0.01;
          c.lon = cell.lon + (r() - 0.5) * 0.01;
        }
        if (r() < 0.5) c.issueAt = receivedAt - Math.floor(r() * 30 * HOUR);
        const s = pick(symptoms);
        if (s) c.symptom = s;
        complaints.push(c);
      }
      const reference = new ComplaintCorrelator(inv);
      reference.applyWindowEvents(events);
      reference.addComplaints(complaints);
      const want = complaints.map((c) => reference.correlation(c.id));
      t.ok(
        want.some((x) => x?.explained),
        `seed ${seed}: some complaints are explained (the property is not vacuous)`,
      );
      for (let round = 0; round < 4; round++) {
        const items: ({ kind: 'c'; c: Complaint } | { kind: 'w'; e: WindowEvent })[] = shuffle(
          [...complaints.map((c) => ({ kind: 'c' as const, c })), ...events.map((e) => ({ kind: 'w' as const, e }))],
          r,
        );
        const cor = new ComplaintCorrelator(inv);
        // Interleave in batches of random size, so both paths (add, apply) see partial states.
        for (let i = 0; i < items.length;) {
          const n = 1 + Math.floor(r() * 20);
          const batch = items.slice(i, i + n);
          i += n;
          cor.addComplaints(batch.flatMap((x) => (x.kind === 'c' ? [x.c] : [])));
          cor.applyWindowEvents(batch.flatMap((x) => (x.kind === 'w' ? [x.e] : [])));
        }
        const got = complaints.map((c) => cor.correlation(c.id));
        t.strictSame(got, want, `seed ${seed}, shuffle ${round}: same correlations`);
        t.strictSame(
          cor.hotspots(T0 + 20 * DAY),
          reference.hotspots(T0 + 20 * DAY),
          `seed ${seed}, shuffle ${round}: same hot spots`,
        );
      }
    }
  },
);

// ---------------------------------------------------------------------------------------------
// Hot spots

const entry = (id: string, hoursIn: number, over: Partial<HotspotEntry> = {}): HotspotEntry => ({
  id,
  receivedAt: T0 + hoursIn * HOUR,
  cell: 'S0001-1',
  site: 'S0001',
  region: 'R1',
  explained: false,
  windows: [],
  ...over,
});
const changes = (evs: HotspotEvent[]) => evs.map((e) => `${e.change} ${e.hotspot.id} ${e.hotspot.kind}`);

void t.test('hot spots (table)', async (t) => {
  const rows: {
    spec: string;
    entries: HotspotEntry[];
    now: number;
    want: { kind: string; complaints: number; status: string }[];
  }[] = [
    {
      spec: 'two complaints are not a hot spot',
      entries: [entry('a', 0), entry('b', 1)],
      now: T0 + 2 * HOUR,
      want: [],
    },
    {
      spec: 'three within 72 h on one site, none explained: a silent degradation',
      entries: [entry('a', 0), entry('b', 30, { cell: 'S0001-2' }), entry('c', 71)],
      now: T0 + 72 * HOUR,
      want: [{ kind: 'silent-degradation', complaints: 3, status: 'open' }],
    },
    {
      spec: 'three spread over more than 72 h: not a hot spot',
      entries: [entry('a', 0), entry('b', 40), entry('c', 80)],
      now: T0 + 81 * HOUR,
      want: [],
    },
    {
      spec: 'two of three explained: a hot spot the network explains',
      entries: [
        entry('a', 0, { explained: true, windows: ['W1'] }),
        entry('b', 1, { explained: true, windows: ['W1'] }),
        entry('c', 2),
      ],
      now: T0 + 3 * HOUR,
      want: [{ kind: 'hotspot', complaints: 3, status: 'open' }],
    },
    {
      spec: 'one of three explained: a window explains the hot spot, so it is not silent',
      entries: [entry('a', 0, { explained: true, windows: ['W1'] }), entry('b', 1), entry('c', 2)],
      now: T0 + 3 * HOUR,
      want: [{ kind: 'hotspot', complaints: 3, status: 'open' }],
    },
    {
      spec: 'closed once 72 h pass after the last complaint',
      entries: [entry('a', 0), entry('b', 1), entry('c', 2)],
      now: T0 + 74 * HOUR,
      want: [{ kind: 'silent-degradation', complaints: 3, status: 'closed' }],
    },
    {
      spec: 'three on different sites are not one hot spot',
      entries: [
        entry('a', 0),
        entry('b', 1, { site: 'S0002', cell: 'S0002-1' }),
        entry('c', 2, { site: 'S0002', cell: 'S0002-2' }),
      ],
      now: T0 + 3 * HOUR,
      want: [],
    },
  ];
  for (const row of rows) {
    const book = new HotspotBook();
    book.note(row.entries);
    t.match(
      book.list(row.now).map((h) => ({ kind: h.kind, complaints: h.complaints.length, status: h.status })),
      row.want,
      row.spec,
    );
    t.equal(book.list(row.now).length, row.want.length, `${row.spec}: count`);
  }
});

void t.test('hot spot events and ids', async (t) => {
  const book = new HotspotBook();
  book.note([entry('a', 0), entry('b', 1)]);
  t.same(book.flush(), [], 'nothing yet');
  book.note([entry('c', 2)]);
  const opened = book.flush();
  t.same(changes(opened), ['opened HS-S0001-20261128T1200Z silent-degradation'], 'opens on the third');
  t.equal(opened[0]!.at, T0 + 2 * HOUR, 'at the third complaint');
  book.note([entry('a', 0, { explained: true, windows: ['W1'] }), entry('b', 1, { explained: true, windows: ['W1'] })]);
  const explained = book.flush();
  t.same(changes(explained), ['changed HS-S0001-20261128T1200Z hotspot'], 'explained later: changed kind');
  t.same(book.flush(), [], 'flushed once: nothing more to report');
  t.same(book.advance(T0 + 60 * HOUR), [], 'not closed while quiet for less than 72 h');
  const closed = book.advance(T0 + 80 * HOUR);
  t.same(changes(closed), ['closed HS-S0001-20261128T1200Z hotspot']);
  t.equal(closed[0]!.at, T0 + 74 * HOUR, 'closed at the end of the quiet 72 h (event time)');
  t.same(book.list(T0 + 80 * HOUR, { open: true }), [], 'no longer listed as open');

  const other = new HotspotBook();
  other.note([entry('c', 2), entry('a', 0, { explained: true, windows: ['W1'] })]);
  other.note([entry('b', 1, { explained: true, windows: ['W1'] })]);
  t.strictSame(
    other.list(T0 + 5 * HOUR),
    book.list(T0 + 5 * HOUR),
    'the same complaints in another order: the same hot spot',
  );
});

void t.test('hot spots from the correlator: anchored by cell or by the best candidate', async (t) => {
  const cor = new ComplaintCorrelator(inventory);
  cor.addComplaints([
    network({ id: 'H1', cell: 'S0001-1' }),
    network({ id: 'H2', cell: 'S0001-3', receivedAt: T0 + HOUR }),
    { id: 'H3', receivedAt: T0 + 2 * HOUR, channel: 'app', category: 'network', lat: 31.231799, lon: 121.47 },
  ]);
  const out = cor.hotspotEvents();
  t.same(changes(out), ['opened HS-S0001-20261128T1200Z silent-degradation']);
  t.same(
    out[0]!.hotspot.cells,
    [
      { cell: 'S0001-1', complaints: 2 },
      { cell: 'S0001-3', complaints: 1 },
    ],
    'the address 200 m north anchors on the sector facing it',
  );
  cor.addWindows([outage({ start: T0 - HOUR, end: T0 + 3 * HOUR })]);
  t.same(
    changes(cor.hotspotEvents()),
    ['changed HS-S0001-20261128T1200Z hotspot'],
    'the outage explains two of three: no longer silent',
  );
  t.same(cor.hotspots(T0 + 3 * HOUR)[0]!.windows, ['WX']);
});
