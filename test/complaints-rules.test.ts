/**
 * The matching and hot-spot rules as the issue and DESIGN.md state them, one scenario per sentence
 * (a table with a one-line spec each): the candidate time range [issueAt or receivedAt − 72 h,
 * receivedAt + 2 h], the candidate cells (own cell, neighbours, 1.5 km), score = where × when × how
 * bad (× symptom fit), explained at ≥ 0.5, "a window found later still explains", hot spots of three
 * network complaints on one cell or a cluster of nearby cells within 72 h, silent degradations, and
 * only network complaints correlated. Every scenario runs twice — windows first, and complaints
 * first — and must give the same answer.
 */
import t from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  ComplaintCorrelator,
  candidateCells,
  locate,
  type Hotspot,
  type HotspotKind,
} from '../correlator/complaints/index.js';
import type { Cell, Complaint, Window } from '../model/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T = Date.parse('2026-11-28T12:00:00Z');
const LAT = 31.2;
const LON = 121.4;
const kmLat = (km: number) => km / 111.2;
const kmLon = (km: number) => km / (111.2 * Math.cos((LAT * Math.PI) / 180));

/**
 * A: three sectors at the origin. B: 0.6 km north (B-1 faces A and is A-1's listed neighbour).
 * C: 1.2 km east. D: 1.6 km west (beyond the radius). E: 3 km south (E-1 a listed neighbour of
 * A-2). F: 10 km east.
 */
const cell = (id: string, north: number, east: number, over: Partial<Cell> = {}): Cell => ({
  id,
  site: id.split('-')[0]!,
  region: 'R1',
  lat: LAT + kmLat(north),
  lon: LON + kmLon(east),
  neighbours: [],
  ...over,
});
const inventory = CellInventory.of([
  cell('A-1', 0, 0, { azimuth: 0, neighbours: ['A-2', 'A-3', 'B-1'] }),
  cell('A-2', 0, 0, { azimuth: 120, neighbours: ['A-1', 'A-3', 'E-1'] }),
  cell('A-3', 0, 0, { azimuth: 240, neighbours: ['A-1', 'A-2'] }),
  cell('B-1', 0.6, 0, { azimuth: 180, neighbours: ['A-1'] }),
  cell('B-2', 0.6, 0, { azimuth: 0 }),
  cell('C-1', 0, 1.2),
  cell('D-1', 0, -1.6),
  cell('E-1', -3, 0, { azimuth: 0, neighbours: ['A-2'] }),
  cell('F-1', 0, 10, { region: 'R2' }),
]);

const window = (cellId: string, start: number, end: number | undefined, over: Partial<Window> = {}): Window => {
  const w: Window = {
    id: over.id ?? `W-${cellId}-${start}`,
    cell: cellId,
    stream: 'counters',
    start,
    lastBad: end ?? start,
    cause: 'outage',
    severity: 1,
    usersAffected: 10,
    userMinutes: 100,
    worst: {},
    evidence: { kpis: [], badIntervals: 2, goodIntervals: 0, unknownIntervals: 0 },
    remediation: '',
    ...over,
  };
  if (end !== undefined) w.end = end;
  return w;
};
const complaint = (over: Partial<Complaint> = {}): Complaint => ({
  id: 'K',
  receivedAt: T,
  channel: 'hotline',
  category: 'network',
  cell: 'A-1',
  ...over,
});
/** The address 200 m north of A: A-1 faces it. */
const nearA = { lat: LAT + kmLat(0.2), lon: LON };

interface MatchRow {
  spec: string;
  complaint: Complaint;
  windows: Window[];
  explained: boolean;
  /** Whether the window is listed among the matches (a candidate that scores at least 0.1). */
  listed: boolean;
}

const rows: MatchRow[] = [
  {
    spec: 'own cell, window ongoing when the complaint came in: explained',
    complaint: complaint(),
    windows: [window('A-1', T - 2 * HOUR, undefined)],
    explained: true,
    listed: true,
  },
  {
    spec: 'own cell, window ended 3 h before the complaint: explained',
    complaint: complaint(),
    windows: [window('A-1', T - 5 * HOUR, T - 3 * HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'own cell, window ended 71 h before: a candidate (inside receivedAt − 72 h), too long ago to explain',
    complaint: complaint(),
    windows: [window('A-1', T - 73 * HOUR, T - 71 * HOUR)],
    explained: false,
    listed: true,
  },
  {
    spec: 'own cell, window ended 73 h before: outside [receivedAt − 72 h, …], no candidate',
    complaint: complaint(),
    windows: [window('A-1', T - 75 * HOUR, T - 73 * HOUR)],
    explained: false,
    listed: false,
  },
  {
    spec: 'own cell, window starting 30 min after the complaint (the customer noticed first): explained',
    complaint: complaint(),
    windows: [window('A-1', T + 30 * MIN, T + 3 * HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'own cell, window starting 1 h 50 min after: a candidate (inside receivedAt + 2 h), not explained',
    complaint: complaint(),
    windows: [window('A-1', T + 110 * MIN, T + 3 * HOUR)],
    explained: false,
    listed: true,
  },
  {
    spec: 'own cell, window starting 2 h 10 min after: outside [… , receivedAt + 2 h], no candidate',
    complaint: complaint(),
    windows: [window('A-1', T + 130 * MIN, T + 4 * HOUR)],
    explained: false,
    listed: false,
  },
  {
    spec: 'stated time 4 days before the complaint, window then: explained (the range starts at issueAt − 72 h)',
    complaint: complaint({ issueAt: T - 96 * HOUR }),
    windows: [window('A-1', T - 97 * HOUR, T - 95 * HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'stated time given, window ended 80 h before it: outside [issueAt − 72 h, …], no candidate',
    complaint: complaint({ issueAt: T - 10 * HOUR }),
    windows: [window('A-1', T - 92 * HOUR, T - 90 * HOUR)],
    explained: false,
    listed: false,
  },
  {
    spec: 'stated time inside a window on the own cell that ended a day before the complaint: explained',
    complaint: complaint({ issueAt: T - 30 * HOUR }),
    windows: [window('A-1', T - 31 * HOUR, T - 29 * HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'address 200 m from A, the sector facing it down at the time: explained',
    complaint: complaint({ cell: undefined, ...nearA }),
    windows: [window('A-1', T - HOUR, T + HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'address with no mast nearer than 1.2 km (C), C down: the nearest mast most likely served it, explained',
    complaint: complaint({ cell: undefined, lat: LAT, lon: LON + kmLon(2.4) }),
    windows: [window('C-1', T - HOUR, T + HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'address near A, a cell 1.8 km away (outside the 1.5 km radius, not a neighbour): no candidate',
    complaint: complaint({ cell: undefined, ...nearA }),
    windows: [window('D-1', T - HOUR, T + HOUR)],
    explained: false,
    listed: false,
  },
  {
    spec: 'named cell, a co-sited neighbour down with users hurt (severity 1): explained',
    complaint: complaint(),
    windows: [window('A-2', T - HOUR, T + HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'named cell, its listed neighbour 0.6 km away (facing it) down: a candidate',
    complaint: complaint(),
    windows: [window('B-1', T - HOUR, T + HOUR)],
    explained: true,
    listed: true,
  },
  {
    spec: 'named cell, a cell 10 km away down at the same time: no candidate',
    complaint: complaint(),
    windows: [window('F-1', T - HOUR, T + HOUR)],
    explained: false,
    listed: false,
  },
  {
    spec: 'own cell, a KPI drift only (severity 0.3, no user hurt): listed, never explains alone',
    complaint: complaint(),
    windows: [window('A-1', T - HOUR, T + HOUR, { severity: 0.3 })],
    explained: false,
    listed: true,
  },
  {
    spec: 'symptom fits the cause: slow data on the own cell congested: explained',
    complaint: complaint({ symptom: 'slow-data' }),
    windows: [window('A-1', T - HOUR, T + HOUR, { cause: 'congestion' })],
    explained: true,
    listed: true,
  },
  {
    spec: 'symptom does not fit: no signal at all, the own cell merely congested (0.4): listed, not explained',
    complaint: complaint({ symptom: 'no-signal' }),
    windows: [window('A-1', T - HOUR, T + HOUR, { cause: 'congestion' })],
    explained: false,
    listed: true,
  },
];

void t.test('matching rules (table): each scenario in both arrival orders', async (t) => {
  for (const row of rows) {
    const windowsFirst = new ComplaintCorrelator(inventory);
    windowsFirst.addWindows(row.windows);
    windowsFirst.addComplaints([row.complaint]);
    const complaintsFirst = new ComplaintCorrelator(inventory);
    complaintsFirst.addComplaints([row.complaint]);
    complaintsFirst.addWindows(row.windows);
    const a = windowsFirst.correlation(row.complaint.id)!;
    const b = complaintsFirst.correlation(row.complaint.id)!;
    t.equal(a.explained, row.explained, `${row.spec} (score ${a.score})`);
    t.equal(a.windows.length > 0, row.listed, `${row.spec}: ${row.listed ? 'listed' : 'not listed'}`);
    t.strictSame(b, a, `${row.spec}: a window found after the complaint gives the same answer`);
    if (a.explained) t.ok(a.score >= 0.5, `${row.spec}: explained means a best score ≥ 0.5`);
    else t.ok(a.score < 0.5, `${row.spec}: unexplained means a best score < 0.5`);
  }
});

void t.test('candidate cells: own, listed neighbours at any distance, cells within 1.5 km', async (t) => {
  const place = locate(complaint({ cell: 'A-2' }), inventory);
  if (!place.ok) throw new Error('A-2 is in the inventory');
  const ids = candidateCells(place, inventory).map((c) => c.cell);
  t.ok(ids.includes('A-2'), 'the own cell');
  t.ok(ids.includes('E-1'), 'a listed neighbour 3 km away');
  t.ok(ids.includes('B-1') && ids.includes('B-2') && ids.includes('C-1'), 'cells within 1.5 km');
  t.notOk(ids.includes('D-1'), 'a cell 1.6 km away that is no neighbour');
  t.notOk(ids.includes('F-1'), 'a cell 10 km away');
  const unknown = locate(complaint({ cell: 'X-9' }), inventory);
  t.match(unknown, { ok: false, reason: 'unknown-cell', field: 'cell' }, 'an unknown cell without lat/lon');
  t.match(
    locate(complaint({ cell: 'X-9', ...nearA }), inventory),
    { ok: true, ownId: 'X-9', pointFrom: 'address' },
    'an unknown cell with lat/lon is located by the address',
  );
});

void t.test('only network complaints are correlated; the others are recorded, never explained', async (t) => {
  const cor = new ComplaintCorrelator(inventory);
  cor.addWindows([window('A-1', T - HOUR, undefined)]);
  const out = cor.addComplaints(
    (['network', 'billing', 'efficiency', 'attitude'] as const).map((category) =>
      complaint({ id: category, category }),
    ),
  ).outcomes;
  t.strictSame(
    out.map((o) => [o.id, o.status]),
    [
      ['network', 'added'],
      ['billing', 'ignored'],
      ['efficiency', 'ignored'],
      ['attitude', 'ignored'],
    ],
  );
  t.equal(cor.correlation('network')?.explained, true);
  t.equal(cor.correlation('billing'), undefined, 'a billing complaint on the cell of an outage is not matched');
});

interface HotRow {
  spec: string;
  complaints: Complaint[];
  windows?: Window[];
  want: { kind: HotspotKind; complaints: number; sites?: string[] }[];
}

const on = (id: string, cellId: string, hours: number, over: Partial<Complaint> = {}) =>
  complaint({ id, cell: cellId, receivedAt: T + hours * HOUR, ...over });

const hotRows: HotRow[] = [
  {
    spec: 'three network complaints on one cell within 72 h, no window: a silent degradation',
    complaints: [on('h1', 'A-1', 0), on('h2', 'A-1', 30), on('h3', 'A-1', 71)],
    want: [{ kind: 'silent-degradation', complaints: 3 }],
  },
  {
    spec: 'two complaints are not a hot spot',
    complaints: [on('h1', 'A-1', 0), on('h2', 'A-1', 1)],
    want: [],
  },
  {
    spec: 'three on one cell spread over more than 72 h: no hot spot',
    complaints: [on('h1', 'A-1', 0), on('h2', 'A-1', 40), on('h3', 'A-1', 80)],
    want: [],
  },
  {
    spec: 'three on the three cells of one site: one hot spot',
    complaints: [on('h1', 'A-1', 0), on('h2', 'A-2', 1), on('h3', 'A-3', 2)],
    want: [{ kind: 'silent-degradation', complaints: 3, sites: ['A'] }],
  },
  {
    spec: 'three on nearby cells of two sites 0.6 km apart: one hot spot (a cluster of nearby cells)',
    complaints: [on('h1', 'A-1', 0), on('h2', 'B-1', 1), on('h3', 'B-2', 2)],
    want: [{ kind: 'silent-degradation', complaints: 3, sites: ['B', 'A'] }],
  },
  {
    spec: 'three by address around one mast: one hot spot',
    complaints: [
      on('h1', 'A-1', 0, { cell: undefined, ...nearA }),
      on('h2', 'A-1', 5, { cell: undefined, lat: nearA.lat + kmLat(0.05), lon: nearA.lon }),
      on('h3', 'A-1', 9, { cell: undefined, lat: nearA.lat, lon: nearA.lon + kmLon(0.05) }),
    ],
    want: [{ kind: 'silent-degradation', complaints: 3, sites: ['A'] }],
  },
  {
    spec: 'two near A and one 10 km away: no hot spot',
    complaints: [on('h1', 'A-1', 0), on('h2', 'A-2', 1), on('h3', 'F-1', 2)],
    want: [],
  },
  {
    spec: 'three near A and three 10 km away: two hot spots',
    complaints: [
      on('h1', 'A-1', 0),
      on('h2', 'A-2', 1),
      on('h3', 'A-3', 2),
      on('f1', 'F-1', 3),
      on('f2', 'F-1', 4),
      on('f3', 'F-1', 5),
    ],
    want: [
      { kind: 'silent-degradation', complaints: 3, sites: ['F'] },
      { kind: 'silent-degradation', complaints: 3, sites: ['A'] },
    ],
  },
  {
    spec: 'three on one cell, a window explains one of them: a hot spot the network explains, not silent',
    complaints: [on('h1', 'A-1', 0), on('h2', 'A-1', 20), on('h3', 'A-1', 40)],
    windows: [window('A-1', T + 39 * HOUR, T + 41 * HOUR)],
    want: [{ kind: 'hotspot', complaints: 3 }],
  },
  {
    spec: 'three billing complaints on one cell: only network complaints make hot spots',
    complaints: [
      on('h1', 'A-1', 0, { category: 'billing' }),
      on('h2', 'A-1', 1, { category: 'billing' }),
      on('h3', 'A-1', 2, { category: 'billing' }),
    ],
    want: [],
  },
];

const shape = (hs: Hotspot[]) => hs.map((h) => ({ kind: h.kind, complaints: h.complaints.length, sites: h.sites }));

void t.test('hot spots (table): each scenario in both arrival orders', async (t) => {
  const now = T + 90 * HOUR;
  for (const row of hotRows) {
    const a = new ComplaintCorrelator(inventory);
    a.addWindows(row.windows ?? []);
    a.addComplaints(row.complaints);
    const b = new ComplaintCorrelator(inventory);
    b.addComplaints([...row.complaints].reverse());
    b.addWindows(row.windows ?? []);
    const got = a.hotspots(now);
    t.match(shape(got), row.want, row.spec);
    t.equal(got.length, row.want.length, `${row.spec}: ${row.want.length} hot spot(s)`);
    t.strictSame(b.hotspots(now), got, `${row.spec}: the same in the other order`);
  }
});

void t.test('hot spot events: silent, then explained by a window found later, then closed', async (t) => {
  const cor = new ComplaintCorrelator(inventory);
  cor.addComplaints([on('h1', 'A-1', 0), on('h2', 'B-1', 1)]);
  t.same(cor.hotspotEvents(), [], 'two complaints: nothing yet');
  cor.addComplaints([on('h3', 'A-2', 2)]);
  const opened = cor.hotspotEvents();
  t.match(
    opened.map((e) => [e.change, e.hotspot.kind, e.at]),
    [['opened', 'silent-degradation', T + 2 * HOUR]],
    'the third complaint opens a silent degradation, at its receivedAt',
  );
  const id = opened[0]!.hotspot.id;
  t.equal(id, 'HS-A-20261128T1200Z', 'named after the first complaint’s site and time');
  cor.applyWindowEvents([{ change: 'closed', window: window('A-1', T - HOUR, T + HOUR), at: T + HOUR }]);
  t.match(
    cor.hotspotEvents().map((e) => [e.change, e.hotspot.id, e.hotspot.kind]),
    [['changed', id, 'hotspot']],
    'a window found later explains a complaint: no longer silent',
  );
  cor.addComplaints([on('h4', 'B-2', 3)]);
  t.match(
    cor.hotspotEvents().map((e) => [e.change, e.hotspot.id, e.hotspot.complaints.length]),
    [['changed', id, 4]],
    'a fourth complaint nearby joins it under the same id',
  );
  const { hotspots } = cor.finalize(T + 3 * HOUR + 72 * HOUR);
  t.match(
    hotspots.map((e) => [e.change, e.hotspot.id, e.at]),
    [['closed', id, T + 75 * HOUR]],
    'closed 72 h after the last complaint',
  );
});
