/**
 * Record kinds on the shared cellwatch.db handle: windows as the detector last published them, daily
 * targets, component snapshots — each survives a reopen.
 */
import { pino } from 'pino';
import t from 'tap';
import type { TargetResult, Window, WindowEvent } from '../model/index.js';
import { RecordDb, StateRecords, TargetRecords, WindowRecords, type WindowQuery } from '../store/records/index.js';
import { makeTempDir } from './helpers/service.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 10, 30, 11, 0, 0);
const MIN = 60_000;

function win(id: string, cell: string, start: number, end?: number, over: Partial<Window> = {}): Window {
  return {
    id,
    cell,
    site: cell.split('-')[0]!,
    region: 'R1',
    stream: 'counters',
    start,
    ...(end !== undefined ? { end } : {}),
    lastBad: end ?? start + 2 * MIN,
    cause: 'congestion',
    severity: 0.8,
    usersAffected: 40,
    userMinutes: 400,
    worst: { dlMbps: 1.2 },
    evidence: { kpis: [], badIntervals: 3, goodIntervals: 0, unknownIntervals: 0 },
    remediation: 'balance the load',
    ...over,
  };
}

void t.test('windows: events upsert and retract, queries by cell, region, overlap, openness, cause', async (t) => {
  const dir = await makeTempDir('cellwatch-records-');
  const db = RecordDb.open(dir, log);
  const windows = new WindowRecords(db.db);
  const ev = (change: WindowEvent['change'], window: Window): WindowEvent => ({ change, window, at: window.lastBad });
  windows.apply([
    ev('opened', win('W1', 'A-1', T0)),
    ev('opened', win('W2', 'A-2', T0 + 10 * MIN, undefined, { cause: 'outage', region: 'R2' })),
    ev('opened', win('W3', 'B-1', T0 - 60 * MIN, T0 - 30 * MIN)),
    ev('opened', win('W4', 'B-1', T0 + 5 * MIN)),
  ]);
  windows.apply([ev('closed', win('W1', 'A-1', T0, T0 + 20 * MIN)), ev('retracted', win('W4', 'B-1', T0 + 5 * MIN))]);
  const ids = (ws: Window[]) => ws.map((w) => w.id);
  const cases: [string, Window[], string[]][] = [
    ['everything, oldest start first', windows.list(), ['W3', 'W1', 'W2']],
    ['a retracted window is gone', windows.list({ cell: 'B-1' }), ['W3']],
    ['by several cells', windows.list({ cells: ['A-1', 'A-2'] }), ['W1', 'W2']],
    ['no cells, no windows', windows.list({ cells: [] }), []],
    ['by region', windows.list({ region: 'R2' }), ['W2']],
    ['open only', windows.list({ open: true }), ['W2']],
    ['closed only', windows.list({ open: false }), ['W3', 'W1']],
    ['by cause', windows.list({ cause: 'outage' }), ['W2']],
    [
      'overlapping [T0+25m, T0+30m): the open one only',
      windows.list({ from: T0 + 25 * MIN, to: T0 + 30 * MIN }),
      ['W2'],
    ],
    ['overlapping [T0−40m, T0+1m)', windows.list({ from: T0 - 40 * MIN, to: T0 + MIN }), ['W3', 'W1']],
    ['a window ending at `from` does not overlap', windows.list({ from: T0 - 30 * MIN, to: T0 }), []],
    ['the store of open windows', windows.open(), ['W2']],
  ];
  for (const [spec, got, want] of cases) t.same(ids(got), want, spec);
  t.equal(windows.get('W1')?.end, T0 + 20 * MIN, 'a closed window keeps its end');
  t.same(windows.get('W1'), win('W1', 'A-1', T0, T0 + 20 * MIN), 'the whole window round-trips');
  db.close();
  const again = new WindowRecords(RecordDb.open(dir, log).db);
  t.same(ids(again.open()), ['W2'], 'an open window survives a restart');
});

void t.test('windows: overlap queries answer as a scan of every window would', async (t) => {
  // list() seeks closed windows from `from` less the longest closed one, and open ones by their own
  // index: checked against a plain filter over windows of 1 minute to 3 days, open ones, retractions.
  const dir = await makeTempDir('cellwatch-records-');
  const db = RecordDb.open(dir, log);
  const windows = new WindowRecords(db.db);
  let seed = 11;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const cells = ['A-1', 'A-2', 'B-1', 'C-1', 'C-2'];
  const held = new Map<string, Window>();
  for (let k = 0; k < 600; k++) {
    const cell = pick(cells);
    const start = T0 + Math.floor(rnd() * 30 * 24 * 60) * MIN;
    const length = rnd() < 0.05 ? Math.floor(rnd() * 3 * 24 * 60) * MIN : Math.floor(1 + rnd() * 120) * MIN;
    const w = win(`W${k}`, cell, start, rnd() < 0.1 ? undefined : start + length, {
      region: cell.startsWith('C') ? 'R2' : 'R1',
      cause: rnd() < 0.5 ? 'outage' : 'congestion',
    });
    windows.apply([{ change: w.end === undefined ? 'opened' : 'closed', window: w, at: w.end ?? start }]);
    held.set(w.id, w);
    if (rnd() < 0.05) {
      windows.apply([{ change: 'retracted', window: w, at: start }]);
      held.delete(w.id);
    }
  }
  const overlaps = (w: Window, from?: number, to?: number) =>
    (to === undefined || w.start < to) && (from === undefined || w.end === undefined || w.end > from);
  let compared = 0;
  for (let i = 0; i < 300; i++) {
    const from = rnd() < 0.8 ? T0 + Math.floor(rnd() * 32 * 24 * 60) * MIN : undefined;
    const to = rnd() < 0.7 ? (from ?? T0) + Math.floor(rnd() * 4 * 24 * 60) * MIN : undefined;
    const q: WindowQuery = {
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(rnd() < 0.3 ? { cells: cells.filter(() => rnd() < 0.5) } : rnd() < 0.3 ? { cell: pick(cells) } : {}),
      ...(rnd() < 0.2 ? { region: pick(['R1', 'R2']) } : {}),
      ...(rnd() < 0.2 ? { open: rnd() < 0.5 } : {}),
      ...(rnd() < 0.1 ? { cause: 'outage' as const } : {}),
      ...(rnd() < 0.2 ? { limit: Math.floor(rnd() * 20) } : {}),
    };
    const want = [...held.values()]
      .filter(
        (w) =>
          overlaps(w, q.from, q.to) &&
          (q.cell === undefined || w.cell === q.cell) &&
          (q.cells === undefined || q.cells.includes(w.cell)) &&
          (q.region === undefined || w.region === q.region) &&
          (q.open === undefined || (w.end === undefined) === q.open) &&
          (q.cause === undefined || w.cause === q.cause),
      )
      .sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1))
      .slice(0, q.limit ?? 10_000)
      .map((w) => w.id);
    const got = windows.list(q).map((w) => w.id);
    if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, `query ${JSON.stringify(q)}`);
    else compared += want.length;
  }
  t.ok(compared > 1000, `the queries found windows to compare (${compared})`);
  db.close();
});

void t.test('daily targets and component snapshots survive a reopen', async (t) => {
  const dir = await makeTempDir('cellwatch-records-');
  const db = RecordDb.open(dir, log);
  const targets = new TargetRecords(db.db);
  const result = (day: string, scope: TargetResult['scope'], id: string, ratio: number): TargetResult => ({
    day,
    scope,
    id,
    ratio,
    goal: 0.95,
    users: 120,
    coverage: 0.98,
    interval: [ratio - 0.01, ratio + 0.01],
    status: ratio >= 0.95 ? 'met' : 'missed',
    final: true,
    cells: 3,
  });
  targets.save([result('2026-11-29', 'network', 'network', 0.97), result('2026-11-30', 'network', 'network', 0.93)]);
  targets.save([result('2026-11-30', 'network', 'network', 0.94), result('2026-11-30', 'region', 'R1', 0.9)]);
  targets.save([result('2026-11-30', 'network', 'network', 0.5)], 'probes');
  t.same(
    targets.list({ scope: 'network' }).map((r) => [r.day, r.ratio]),
    [
      ['2026-11-29', 0.97],
      ['2026-11-30', 0.94],
    ],
    'one row per day and scope, the last update wins; probe results apart',
  );
  t.same(
    targets.list({ from: '2026-11-30', to: '2026-11-30' }).map((r) => r.id),
    ['network', 'R1'],
  );
  t.same(
    targets.list({ stream: 'probes' }).map((r) => r.ratio),
    [0.5],
  );
  const state = new StateRecords(db.db);
  state.save('detector', T0, { version: 1, open: ['W2'] });
  state.save('detector', T0 + MIN, { version: 1, open: ['W3'] });
  db.close();
  const reopened = RecordDb.open(dir, log);
  t.same(new StateRecords(reopened.db).load('detector'), { at: T0 + MIN, value: { version: 1, open: ['W3'] } });
  t.equal(new StateRecords(reopened.db).load('nobody'), undefined);
  t.equal(new TargetRecords(reopened.db).list().length, 3);
  reopened.close();
});
