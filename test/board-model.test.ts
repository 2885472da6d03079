/**
 * The board's pure logic (board/model.ts) under Node: what is live, how incidents group, what the
 * filters keep, a cell's state on the map, the projection, and time in the daemon's zone.
 */
import t from 'tap';
import {
  AlertBook,
  OpenWindows,
  alertRows,
  cellState,
  dayBefore,
  duration,
  fitProjection,
  headlineResult,
  localBands,
  localDateTime,
  probeSummary,
  silenceMatchers,
  targetAlertKey,
  usersAffected,
  zonedToEpoch,
  type AlertFilter,
  type AlertView,
  type CellView,
  type TargetView,
  type WindowView,
} from '../board/model.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0);
const MIN = 60_000;

function alert(id: string, over: Partial<AlertView> & { labels?: Record<string, string> } = {}): AlertView {
  return {
    id,
    fingerprint: id,
    kind: 'cell_degraded',
    state: 'firing',
    severity: 'minor',
    scope: 'cell',
    labels: {},
    annotations: {},
    summary: id,
    startsAt: T0,
    ...over,
  };
}

function win(id: string, cell: string, cause: WindowView['cause'], severity: number, end?: number): WindowView {
  return {
    id,
    cell,
    start: T0,
    lastBad: T0,
    cause,
    severity,
    usersAffected: 10,
    ...(end !== undefined ? { end } : {}),
  };
}

void t.test('alert rows: incidents grouped under their parent, the rest alone, most severe then newest', async (t) => {
  const outage = alert('site', {
    kind: 'site_outage',
    severity: 'critical',
    scope: 'site',
    labels: { site: 'S1', incident: 'S1', region: 'R1' },
    annotations: { usersAffected: '120' },
  });
  const c1 = alert('c1', {
    labels: { cell: 'S1-1', incident: 'S1', region: 'R1' },
    annotations: { usersAffected: '50' },
  });
  const c2 = alert('c2', {
    severity: 'major',
    labels: { cell: 'S1-2', incident: 'S1', region: 'R1' },
    annotations: { usersAffected: '70' },
  });
  const lone = alert('c9', { severity: 'major', startsAt: T0 + MIN, labels: { cell: 'S9-1', region: 'R2' } });
  const gap = alert('gap', {
    kind: 'collection_gap',
    severity: 'minor',
    startsAt: T0 + 2 * MIN,
    labels: { target: 'x' },
  });
  // Two cells of a site whose parent has not fired yet (the incident group wait): still one row.
  const b1 = alert('b1', { labels: { cell: 'S2-1', incident: 'S2' } });
  const b2 = alert('b2', { labels: { cell: 'S2-2', incident: 'S2' } });
  // One cell alert with an incident label and no sibling: a row of its own.
  const single = alert('s1', { startsAt: T0 - MIN, labels: { cell: 'S3-1', incident: 'S3' } });
  const all = [c1, gap, lone, outage, c2, b1, b2, single];
  const cases: { spec: string; filter: AlertFilter; want: [string, string[]][] }[] = [
    {
      spec: 'everything',
      filter: {},
      want: [
        ['incident:S1', ['c2', 'c1']],
        ['c9', ['c9']],
        ['gap', ['gap']],
        ['incident:S2', ['b1', 'b2']],
        ['s1', ['s1']],
      ],
    },
    {
      spec: 'a region keeps the group whose alerts are in it',
      filter: { region: 'R1' },
      want: [['incident:S1', ['c2', 'c1']]],
    },
    {
      spec: 'major and above: the group shows only what passes',
      filter: { minSeverity: 'major' },
      want: [
        ['incident:S1', ['c2']],
        ['c9', ['c9']],
      ],
    },
    { spec: 'by kind', filter: { kind: 'collection_gap' }, want: [['gap', ['gap']]] },
    { spec: 'by site, through the incident label', filter: { site: 'S2' }, want: [['incident:S2', ['b1', 'b2']]] },
  ];
  for (const c of cases) {
    const rows = alertRows(all, c.filter);
    t.strictSame(
      rows.map((r) => [r.key, r.members.map((m) => m.id)]),
      c.want,
      c.spec,
    );
  }
  const [s1] = alertRows(all);
  t.equal(s1!.head?.id, 'site', 'the site outage heads its incident');
  t.equal(s1!.severity, 'critical', 'an incident is as severe as its worst alert');
  t.equal(usersAffected(s1!), 120, "the parent's count, not the sum over its cells");
  const s2 = alertRows(all).find((r) => r.key === 'incident:S2')!;
  t.equal(s2.head, undefined, 'no parent yet');
  t.equal(usersAffected(s2), undefined, 'no counts known');
  t.equal(usersAffected({ key: 'x', members: [c1, c2], severity: 'major', startsAt: T0 }), 120, 'sum without a parent');
});

void t.test('the alert book: resolved alerts leave, an older answer never rolls back a newer event', async (t) => {
  const book = new AlertBook();
  book.reset([alert('a', { updatedAt: 5 }), alert('b', { state: 'resolved' }), alert('c')]);
  t.strictSame(
    book.all().map((a) => a.id),
    ['a', 'c'],
    'a snapshot keeps the live ones',
  );
  const steps: { spec: string; a: AlertView; changed: boolean; ids: string[] }[] = [
    { spec: 'a new alert fires', a: alert('d', { updatedAt: 1 }), changed: true, ids: ['a', 'c', 'd'] },
    { spec: 'an ack updates it', a: alert('a', { updatedAt: 6, ackedBy: 'noc' }), changed: true, ids: ['a', 'c', 'd'] },
    { spec: 'a stale copy is ignored', a: alert('a', { updatedAt: 4 }), changed: false, ids: ['a', 'c', 'd'] },
    { spec: 'resolved leaves', a: alert('c', { state: 'resolved' }), changed: true, ids: ['a', 'd'] },
    {
      spec: 'resolving an unknown one changes nothing',
      a: alert('z', { state: 'resolved' }),
      changed: false,
      ids: ['a', 'd'],
    },
  ];
  for (const s of steps) {
    const before = book.version;
    t.equal(book.apply(s.a), s.changed, s.spec);
    t.equal(book.version > before, s.changed, `${s.spec}: version`);
    t.strictSame(
      book.all().map((a) => a.id),
      s.ids,
      `${s.spec}: what is live`,
    );
  }
  t.equal(book.get('a')?.ackedBy, 'noc');
});

void t.test('silence matchers name exactly the problem', async (t) => {
  const cases: { spec: string; a: AlertView; want: string[] }[] = [
    {
      spec: 'a cell alert',
      a: alert('x', {
        labels: { alertname: 'cell_degraded', cell: 'S1-1', region: 'R1', scope: 'cell', cause: 'outage' },
      }),
      want: ['alertname=cell_degraded', 'cell=S1-1', 'region=R1', 'scope=cell'],
    },
    {
      spec: 'a collection gap',
      a: alert('y', {
        kind: 'collection_gap',
        labels: { alertname: 'collection_gap', target: 'cells-S1', site: 'S1' },
      }),
      want: ['alertname=collection_gap', 'site=S1', 'target=cells-S1'],
    },
    { spec: 'no labels: the kind', a: alert('z', { kind: 'store_backlog' }), want: ['alertname=store_backlog'] },
  ];
  for (const c of cases)
    t.strictSame(
      silenceMatchers(c.a).map((m) => `${m.name}${m.op}${m.value}`),
      c.want,
      c.spec,
    );
});

void t.test("a cell's state on the map", async (t) => {
  const cases: { spec: string; status: CellView['status']; open: WindowView[]; want: string }[] = [
    { spec: 'up, no window', status: 'up', open: [], want: 'good' },
    { spec: 'says it is down', status: 'down', open: [], want: 'down' },
    { spec: 'an outage window', status: 'up', open: [win('w', 'c', 'outage', 1)], want: 'down' },
    {
      spec: 'the most severe window names the cause',
      status: 'up',
      open: [win('w1', 'c', 'congestion', 0.6), win('w2', 'c', 'coverage', 0.9)],
      want: 'degraded:coverage',
    },
    {
      spec: 'no data beats a window (the collector is blind)',
      status: 'stale',
      open: [win('w', 'c', 'congestion', 1)],
      want: 'no-data',
    },
    { spec: 'never heard of', status: 'unknown', open: [], want: 'no-data' },
  ];
  for (const c of cases) {
    const s = cellState(c.status, c.open);
    t.equal(s.kind === 'degraded' ? `degraded:${s.cause}` : s.kind, c.want, c.spec);
  }
  const open = new OpenWindows();
  open.reset([win('a', 'c1', 'congestion', 0.7), win('b', 'c2', 'coverage', 0.7, T0 + MIN)]);
  t.strictSame(
    open.of('c1').map((w) => w.id),
    ['a'],
    'open windows from the snapshot',
  );
  t.equal(open.of('c2').length, 0, 'closed ones are left out');
  open.apply('opened', win('c', 'c2', 'interference', 0.8));
  open.apply('closed', win('a', 'c1', 'congestion', 0.7, T0 + 2 * MIN));
  t.strictSame([open.of('c1').length, open.of('c2').map((w) => w.id), open.cells], [0, ['c'], 1], 'events apply');
  open.apply('retracted', win('c', 'c2', 'interference', 0.8));
  t.equal(open.cells, 0, 'a retracted window is gone');
});

void t.test('projection: fits the box, keeps north up and the aspect of the place', async (t) => {
  const pts = [
    { lat: 31.0, lon: 121.0 },
    { lat: 31.2, lon: 121.4 },
  ];
  const p = fitProjection(pts, 400, 300, 10);
  for (const q of pts) {
    t.ok(p.x(q.lon) >= 10 && p.x(q.lon) <= 390, `x inside the margin (${p.x(q.lon)})`);
    t.ok(p.y(q.lat) >= 10 && p.y(q.lat) <= 290, `y inside the margin (${p.y(q.lat)})`);
  }
  t.ok(p.y(31.2) < p.y(31.0), 'north is up');
  const dx = p.x(121.4) - p.x(121.0);
  const dy = p.y(31.0) - p.y(31.2);
  t.ok(Math.abs(dx / dy - (0.4 * Math.cos((31.1 * Math.PI) / 180)) / 0.2) < 1e-6, 'longitudes shrink by cos(latitude)');
  const one = fitProjection([{ lat: 1, lon: 1 }], 100, 100);
  t.ok(Number.isFinite(one.x(1)) && Number.isFinite(one.y(1)), 'a single point does not divide by zero');
});

void t.test('time in the daemon’s zone', async (t) => {
  const tz = 'Asia/Shanghai'; // UTC+8, no DST
  t.equal(localDateTime(T0, tz), '2026-11-30 20:00');
  t.equal(zonedToEpoch('2026-11-30 20:00', tz), T0, 'wall time back to epoch');
  t.equal(zonedToEpoch('2026-11-30T20:00', tz), T0, 'as a datetime-local input gives it');
  t.equal(zonedToEpoch('yesterday', tz), undefined, 'other text is refused');
  // Europe/Berlin's spring change: 2026-03-29 02:00 → 03:00; 03:30 local is 01:30 UTC.
  t.equal(zonedToEpoch('2026-03-29 03:30', 'Europe/Berlin'), Date.UTC(2026, 2, 29, 1, 30), 'across a DST change');
  const cases: { spec: string; from: number; to: number; band: [number, number]; want: [string, string][] }[] = [
    {
      spec: 'the peak 19:00–22:00 in a day',
      from: Date.UTC(2026, 10, 30, 0),
      to: Date.UTC(2026, 11, 1, 0),
      band: [19 * 60, 22 * 60],
      want: [['2026-11-30 19:00', '2026-11-30 22:00']],
    },
    {
      spec: 'a band across midnight, cut by the range',
      from: Date.UTC(2026, 10, 30, 12), // 20:00 local
      to: Date.UTC(2026, 10, 30, 20), // 04:00 local
      band: [23 * 60, 1 * 60],
      want: [['2026-11-30 23:00', '2026-12-01 01:00']],
    },
    {
      spec: 'a range starting inside the band',
      from: Date.UTC(2026, 10, 30, 12, 10), // 20:10 local
      to: Date.UTC(2026, 10, 30, 13), // 21:00 local
      band: [19 * 60, 22 * 60],
      want: [['2026-11-30 20:10', '2026-11-30 21:00']],
    },
  ];
  for (const c of cases)
    t.strictSame(
      localBands(c.from, c.to, c.band[0], c.band[1], tz).map(([a, b]) => [localDateTime(a, tz), localDateTime(b, tz)]),
      c.want,
      c.spec,
    );
  t.equal(dayBefore('2026-03-01', 1), '2026-02-28', 'calendar days');
  t.equal(dayBefore('2026-01-05', 13), '2025-12-23');
  const durations: [number, string][] = [
    [0, '0 min'],
    [59 * MIN, '59 min'],
    [65 * MIN, '1 h 05 min'],
    [50 * 60 * MIN, '2 d 2 h'],
    [-5 * MIN, '0 min'],
  ];
  for (const [ms, want] of durations) t.equal(duration(ms), want, `${ms / MIN} min → ${want}`);
});

function target(day: string, over: Partial<TargetView> = {}): TargetView {
  return {
    day,
    scope: 'region',
    id: 'R1',
    ratio: 0.97,
    goal: 0.95,
    users: 120,
    coverage: 1,
    interval: [0.95, 0.98],
    status: 'met',
    cells: 12,
    ...over,
  };
}

void t.test("a target card's day: today once its peak has data, else the latest day with a verdict", async (t) => {
  const today = '2026-11-30';
  const nothingToday = target(today, { ratio: null, coverage: 0, interval: null, status: 'insufficient-data' });
  const cases: { spec: string; results: TargetView[]; want: [string | undefined, string] }[] = [
    { spec: 'today has a verdict', results: [target('2026-11-29'), target(today)], want: [today, 'today'] },
    {
      spec: 'today has a ratio but too little coverage yet: still today (the peak is on)',
      results: [target('2026-11-29'), target(today, { coverage: 0.2, status: 'insufficient-data' })],
      want: [today, 'today'],
    },
    {
      spec: 'before the peak: yesterday leads',
      results: [target('2026-11-28'), target('2026-11-29'), nothingToday],
      want: ['2026-11-29', 'yesterday'],
    },
    {
      spec: 'yesterday without a verdict: the latest day that has one, by date',
      results: [target('2026-11-27'), target('2026-11-29', { status: 'insufficient-data' }), nothingToday],
      want: ['2026-11-27', '2026-11-27'],
    },
    { spec: 'no earlier verdict: today, empty', results: [nothingToday], want: [today, 'today'] },
    { spec: 'no results at all', results: [], want: [undefined, 'today'] },
  ];
  for (const c of cases) {
    const h = headlineResult(c.results, today);
    t.strictSame([h.result?.day, h.label], c.want, c.spec);
  }
});

void t.test('the probe line of a target card, in words', async (t) => {
  const probes = (over: Partial<NonNullable<TargetView['probes']>>) => ({
    ratio: 0.25,
    tests: 36,
    good: 9,
    interval: [0.14, 0.41] as [number, number],
    status: 'missed' as const,
    cells: 1,
    ...over,
  });
  const cases: { spec: string; r: TargetView | undefined; want: Record<string, unknown> }[] = [
    {
      spec: 'no probe tested the scope',
      r: target('d'),
      want: { status: 'none', text: 'no probe data', verdict: '', disagreement: false },
    },
    { spec: 'no result at all', r: undefined, want: { status: 'none', text: 'no probe data' } },
    {
      spec: 'counters met, probes missed: a disagreement, in words',
      r: target('d', { probes: probes({}), disagreement: true }),
      want: { status: 'missed', text: 'probes 25.0 % of 36 tests', verdict: '✗ missed', disagreement: true },
    },
    {
      spec: 'both met',
      r: target('d', { probes: probes({ ratio: 1, good: 36, status: 'met' }), disagreement: false }),
      want: { status: 'met', text: 'probes 100.0 % of 36 tests', verdict: '✓ met', disagreement: false },
    },
    {
      spec: 'too few tests to judge',
      r: target('d', { probes: probes({ ratio: 1, tests: 1, good: 1, status: 'insufficient-data' }) }),
      want: { status: 'insufficient-data', text: 'probes 100.0 % of 1 test', verdict: '? too few tests' },
    },
    {
      spec: 'only unknown tests (a sick probe host): no probe data',
      r: target('d', { probes: probes({ ratio: null, tests: 0, good: 0, status: 'insufficient-data' }) }),
      want: { status: 'none', text: 'no probe data' },
    },
  ];
  for (const c of cases) t.match(probeSummary(c.r), c.want, c.spec);
});

void t.test('target alerts as one key: the cards are read again when it changes', async (t) => {
  const risk = alert('r', { kind: 'target_at_risk', updatedAt: 1 });
  const cell = alert('c', { kind: 'cell_degraded', updatedAt: 1 });
  const base = targetAlertKey([risk, cell]);
  const cases: { spec: string; alerts: AlertView[]; changed: boolean }[] = [
    { spec: 'the same alerts in another order', alerts: [cell, risk], changed: false },
    { spec: 'a cell alert changes', alerts: [risk, { ...cell, updatedAt: 2 }], changed: false },
    { spec: 'the target alert is updated', alerts: [{ ...risk, updatedAt: 2 }, cell], changed: true },
    {
      spec: 'a probe disagreement fires',
      alerts: [risk, cell, alert('p', { kind: 'probe_disagreement' })],
      changed: true,
    },
    { spec: 'the target alert resolves (leaves the book)', alerts: [cell], changed: true },
  ];
  for (const c of cases) t.equal(targetAlertKey(c.alerts) !== base, c.changed, c.spec);
});
