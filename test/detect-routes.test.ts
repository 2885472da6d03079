/**
 * The detection routes over real record stores (SQLite in a temp dir): `/windows` with each filter and
 * `/windows/:id`, `/targets` for a day, a scope or several, one id, and a history range — and the 400s
 * for what they refuse.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { parseConfig } from '../config/index.js';
import { mountApi } from '../daemon/api/index.js';
import { registerTargetRoutes, type TargetQuery } from '../daemon/api/targets.js';
import { registerWindowRoutes } from '../daemon/api/windows.js';
import { Authenticator } from '../daemon/auth.js';
import { createHttpServer } from '../daemon/http.js';
import type { TargetResult, Window } from '../model/index.js';
import { RecordDb, TargetRecords, WindowRecords } from '../store/index.js';
import { makeTempDir } from './helpers/service.js';

const H = 3_600_000;
const T0 = Date.parse('2026-03-04T12:00:00Z');

function win(
  id: string,
  cell: string,
  region: string,
  start: number,
  end: number | undefined,
  cause: Window['cause'],
): Window {
  const w: Window = {
    id,
    cell,
    site: cell.slice(0, 2),
    region,
    stream: 'counters',
    start,
    lastBad: end ?? start + H,
    cause,
    severity: 0.8,
    usersAffected: 10,
    userMinutes: 100,
    worst: { dlMbps: 2 },
    evidence: {
      kpis: [{ kpi: 'dlMbps', worst: 2, threshold: 5, intervals: 5 }],
      badIntervals: 5,
      goodIntervals: 0,
      unknownIntervals: 0,
    },
    remediation: 'r',
  };
  if (end !== undefined) w.end = end;
  return w;
}

function target(day: string, scope: TargetResult['scope'], id: string, ratio: number): TargetResult {
  return {
    day,
    scope,
    id,
    ratio,
    goal: 0.95,
    users: 20,
    coverage: 1,
    interval: [ratio - 0.01, ratio + 0.01],
    status: ratio >= 0.95 ? 'met' : 'missed',
    final: true,
    cells: 1,
  };
}

async function server() {
  const dir = await makeTempDir('cellwatch-routes-');
  const db = RecordDb.open(join(dir, 'data'), pino({ level: 'silent' }));
  const windows = new WindowRecords(db.db);
  const targets = new TargetRecords(db.db);
  windows.apply([
    { change: 'closed', window: win('W1', 'S1-1', 'R1', T0, T0 + H, 'outage'), at: T0 + H },
    { change: 'opened', window: win('W2', 'S1-2', 'R1', T0 + 2 * H, undefined, 'congestion'), at: T0 + 2 * H },
    { change: 'closed', window: win('W3', 'S2-1', 'R2', T0 + 3 * H, T0 + 4 * H, 'coverage'), at: T0 + 4 * H },
    { change: 'opened', window: win('W4', 'S2-1', 'R2', T0 - 30 * H, undefined, 'unknown'), at: T0 },
    { change: 'retracted', window: win('W4', 'S2-1', 'R2', T0 - 30 * H, undefined, 'unknown'), at: T0 },
  ]);
  const rows: TargetResult[] = [];
  for (const day of ['2026-03-03', '2026-03-04'])
    rows.push(
      target(day, 'network', 'network', 0.96),
      target(day, 'region', 'R1', 0.97),
      target(day, 'region', 'R2', 0.9),
      target(day, 'cell', 'S1-1', 0.8),
      target(day, 'cell', 'S2-1', 0.99),
    );
  targets.save(rows);
  const cfg = parseConfig({});
  const app = createHttpServer({
    cfg: cfg.http,
    auth: new Authenticator(cfg.auth),
    log: pino({ level: 'silent' }),
    registry: new Registry(),
    isReady: () => true,
  });
  mountApi(app, [
    (api) => registerWindowRoutes(api, { windows }),
    (api) => registerTargetRoutes(api, { today: () => '2026-03-04', list: (q: TargetQuery) => targets.list(q) }),
  ]);
  await app.ready();
  t.teardown(async () => {
    await app.close();
    db.close();
  });
  return app;
}

void t.test('GET /windows: filters combine; a retracted window is gone; /windows/:id', async (t) => {
  const app = await server();
  const ids = async (q: string) =>
    (await app.inject({ url: `/api/v1/windows${q}` })).json<{ windows: Window[] }>().windows.map((w) => w.id);
  const cases: [string, string, string[]][] = [
    ['everything, oldest first (the retracted W4 is gone)', '', ['W1', 'W2', 'W3']],
    ['one cell', '?cell=S2-1', ['W3']],
    ['one region', '?region=R1', ['W1', 'W2']],
    ['open ones', '?open=true', ['W2']],
    ['closed ones', '?open=false', ['W1', 'W3']],
    ['by cause', '?cause=outage', ['W1']],
    ['overlapping [from, to): W1 ends at from, so it is out', `?from=${T0 + H}&to=${T0 + 3 * H + 1}`, ['W2', 'W3']],
    ['from as RFC 3339', `?from=${new Date(T0 + 3.5 * H).toISOString()}`, ['W2', 'W3']],
    ['limit', '?limit=1', ['W1']],
  ];
  for (const [spec, q, want] of cases) t.same(await ids(q), want, spec);
  for (const bad of ['?cause=gremlins', '?open=yes', '?from=tomorrow', '?colour=red', '?limit=0'])
    t.equal((await app.inject({ url: `/api/v1/windows${bad}` })).statusCode, 400, `${bad}: 400`);
  const one = (await app.inject({ url: '/api/v1/windows/W3' })).json<Window>();
  t.match(one, { id: 'W3', cause: 'coverage', end: T0 + 4 * H }, 'one window by id');
  t.equal((await app.inject({ url: '/api/v1/windows/W4' })).statusCode, 404, 'a retracted window: 404');
});

void t.test('GET /targets: today, a day, scopes, one id, history, refusals', async (t) => {
  const app = await server();
  const get = async (q: string) =>
    (await app.inject({ url: `/api/v1/targets${q}` })).json<{
      scope: string;
      from: string;
      to: string;
      results: TargetResult[];
    }>();
  const keys = async (q: string) => (await get(q)).results.map((r) => `${r.day} ${r.scope} ${r.id}`);
  const cases: [string, string, string[]][] = [
    ['default: today, the network', '', ['2026-03-04 network network']],
    ['a day, the regions', '?day=2026-03-03&scope=region', ['2026-03-03 region R1', '2026-03-03 region R2']],
    ['one cell', '?scope=cell&id=S1-1', ['2026-03-04 cell S1-1']],
    [
      'several scopes, network first',
      '?scope=region,network',
      ['2026-03-04 network network', '2026-03-04 region R1', '2026-03-04 region R2'],
    ],
    [
      'history of a region',
      '?from=2026-03-03&to=2026-03-04&scope=region&id=R2',
      ['2026-03-03 region R2', '2026-03-04 region R2'],
    ],
    ['from alone: until today', '?from=2026-03-03', ['2026-03-03 network network', '2026-03-04 network network']],
  ];
  for (const [spec, q, want] of cases) t.same(await keys(q), want, spec);
  t.match(
    (await get('?scope=cell&id=S1-1')).results[0],
    { ratio: 0.8, goal: 0.95, users: 20, coverage: 1, status: 'missed', interval: [0.79, 0.81] },
    'a result carries ratio, goal, users, coverage, interval and status',
  );
  t.same((await get('?scope=network,region')).scope, 'network,region', 'the answer names its scopes');
  for (const bad of [
    '?day=2026-3-4',
    '?scope=planet',
    '?id=S1-1',
    '?scope=region,cell&id=R1',
    '?day=2026-03-04&from=2026-03-01',
    '?colour=red',
  ])
    t.equal((await app.inject({ url: `/api/v1/targets${bad}` })).statusCode, 400, `${bad}: 400`);
});
