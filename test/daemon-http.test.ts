import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ManualClock } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import {
  mountApi,
  registerAdminRoutes,
  registerCellRoutes,
  registerSessionRoutes,
  type CellRoutesContext,
} from '../daemon/api/index.js';
import { cellStatus, seriesStep } from '../daemon/api/cells.js';
import { BOARD_CSP } from '../daemon/board.js';
import { Authenticator } from '../daemon/auth.js';
import { createHttpServer, planListen } from '../daemon/http.js';
import { LatestSamples } from '../daemon/latest.js';
import { IngestMetrics } from '../daemon/ingest.js';
import { PromMetrics } from '../daemon/metrics.js';
import { CellInventory } from '../config/inventory.js';
import type { Cell, Sample } from '../model/index.js';
import type { SeriesReader } from '../store/index.js';

const NOW = Date.UTC(2026, 10, 30, 20, 0, 0);
const TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  ingest: 'ingest-token-0123456789',
  admin: 'admin-token-0123456789',
};

const cells: Cell[] = [
  { id: 'S1-1', site: 'S1', region: 'R1', lat: 31.2, lon: 121.4, neighbours: ['S1-2'] },
  { id: 'S1-2', site: 'S1', region: 'R1', lat: 31.2, lon: 121.4, neighbours: ['S1-1'] },
  { id: 'S2-1', site: 'S2', region: 'R2', lat: 31.3, lon: 121.5, neighbours: [] },
];
const samples: Sample[] = [
  { cell: 'S1-1', ts: NOW - 60_000, source: 'snmp', intervalS: 60, dlMbps: 22.5, available: true },
  { cell: 'S1-2', ts: NOW - 60_000, source: 'snmp', intervalS: 60, dlMbps: 0, available: false },
  { cell: 'S2-1', ts: NOW - 600_000, source: 'snmp', intervalS: 60, dlMbps: 30, available: true },
  { cell: 'X9-9', ts: NOW - 60_000, source: 'snmp', intervalS: 60, dlMbps: 12, available: true },
];

/** What the series route asked the reader for, newest last. */
const seriesCalls: { cell: string; from: number; to: number; step: number }[] = [];

/** A SeriesReader over plain arrays: `latest`, and `series` answering one bucket per call. */
const reader: SeriesReader = {
  latest: async (ids) => samples.filter((s) => !ids || ids.includes(s.cell)),
  latestLinks: async () => [],
  series: async (cell, from, to, step) => {
    seriesCalls.push({ cell, from, to, step });
    return [{ cell, ts: Math.floor(from / step) * step, count: 1, dlMbps: 21 }];
  },
  hourly: async () => [],
};

async function server(tokens: boolean) {
  const cfg = parseConfig(
    tokens ? { auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role, token })) } } : {},
  );
  let reloads = 0;
  const auth = new Authenticator(cfg.auth);
  const app = createHttpServer({
    cfg: cfg.http,
    auth,
    log: pino({ level: 'silent' }),
    registry: new Registry(),
    isReady: () => true,
  });
  const ctx: CellRoutesContext = {
    clock: new ManualClock(NOW),
    inventory: () => CellInventory.of(cells),
    latest: (ids) => reader.latest(ids),
    collection: () => [{ target: 'S1-cells', collector: 'snmp', site: 'S1', state: 'ok', lastSuccess: NOW - 60_000 }],
  };
  ctx.series = (cell, from, to, step) => reader.series(cell, from, to, step);
  mountApi(app, [
    (api) => registerCellRoutes(api, ctx),
    (api) => registerAdminRoutes(api, { reload: async () => ++reloads }),
    (api) => registerSessionRoutes(api, { auth, config: () => cfg }),
  ]);
  await app.ready();
  return app;
}

void t.test('roles decide who may do what', async (t) => {
  const app = await server(true);
  t.teardown(() => app.close());
  const cases: {
    spec: string;
    method: 'GET' | 'POST';
    url: string;
    token?: keyof typeof TOKENS | 'bogus';
    status: number;
  }[] = [
    { spec: 'health is public', method: 'GET', url: '/healthz', status: 200 },
    { spec: 'readiness is public', method: 'GET', url: '/readyz', status: 200 },
    { spec: 'no token → 401', method: 'GET', url: '/api/v1/cells', status: 401 },
    { spec: 'unknown token → 401', method: 'GET', url: '/api/v1/cells', token: 'bogus', status: 401 },
    { spec: 'viewer reads cells', method: 'GET', url: '/api/v1/cells', token: 'viewer', status: 200 },
    { spec: 'viewer reads metrics', method: 'GET', url: '/metrics', token: 'viewer', status: 200 },
    { spec: 'metrics need a token when tokens exist', method: 'GET', url: '/metrics', status: 401 },
    { spec: 'ingest cannot read', method: 'GET', url: '/api/v1/cells', token: 'ingest', status: 403 },
    { spec: 'operator cannot reload', method: 'POST', url: '/api/v1/admin/reload', token: 'operator', status: 403 },
    { spec: 'admin reloads', method: 'POST', url: '/api/v1/admin/reload', token: 'admin', status: 200 },
    { spec: 'unknown route is a JSON 404', method: 'GET', url: '/api/v1/nothing', token: 'admin', status: 404 },
  ];
  for (const c of cases) {
    const headers: Record<string, string> = c.token
      ? { authorization: `Bearer ${c.token === 'bogus' ? 'x'.repeat(24) : TOKENS[c.token]}` }
      : {};
    const res = await app.inject({ method: c.method, url: c.url, headers });
    t.equal(res.statusCode, c.status, c.spec);
  }
});

void t.test('without tokens the API is open and the daemon listens on loopback only', async (t) => {
  const app = await server(false);
  t.teardown(() => app.close());
  t.equal((await app.inject({ url: '/api/v1/cells' })).statusCode, 200, 'open without tokens');
  const plans: { spec: string; listen: string; tokens: boolean; host: string; warns: boolean }[] = [
    { spec: 'loopback kept', listen: '127.0.0.1:8080', tokens: false, host: '127.0.0.1', warns: false },
    { spec: 'IPv6 loopback kept', listen: '[::1]:8080', tokens: false, host: '::1', warns: false },
    { spec: 'wildcard replaced without tokens', listen: '0.0.0.0:8080', tokens: false, host: '127.0.0.1', warns: true },
    { spec: 'wildcard kept with tokens', listen: '0.0.0.0:8080', tokens: true, host: '0.0.0.0', warns: false },
  ];
  for (const p of plans) {
    const cfg = parseConfig({
      http: { listen: p.listen },
      ...(p.tokens ? { auth: { tokens: [{ name: 'a', role: 'viewer', token: TOKENS.viewer }] } } : {}),
    });
    const plan = planListen(cfg.http, cfg.auth);
    t.equal(plan.host, p.host, p.spec);
    t.equal(Boolean(plan.warning), p.warns, `${p.spec}: warning`);
  }
});

void t.test('cells: status from the newest sample, filters, unknown ids', async (t) => {
  const app = await server(false);
  t.teardown(() => app.close());
  const list = (await app.inject({ url: '/api/v1/cells' })).json<{
    count: number;
    cells: { id: string; status: string; site?: string }[];
  }>();
  t.strictSame(
    list.cells.map((c) => [c.id, c.status]),
    [
      ['S1-1', 'up'],
      ['S1-2', 'down'],
      ['S2-1', 'stale'],
      ['X9-9', 'up'],
    ],
    'inventory cells plus a reporting cell missing from the inventory',
  );
  const r1 = (await app.inject({ url: '/api/v1/cells?region=R1&status=up' })).json<{ cells: { id: string }[] }>();
  t.strictSame(
    r1.cells.map((c) => c.id),
    ['S1-1'],
    'filters combine',
  );
  t.equal((await app.inject({ url: '/api/v1/cells?colour=red' })).statusCode, 400, 'unknown query parameter is a 400');
  const one = (await app.inject({ url: '/api/v1/cells/S1-1' })).json<{
    latest: Sample;
    collection: unknown[];
    site: string;
  }>();
  t.equal(one.latest.dlMbps, 22.5);
  t.equal(one.site, 'S1');
  t.equal(one.collection.length, 1, 'the site’s collection state comes with the cell');
  t.equal((await app.inject({ url: '/api/v1/cells/nope' })).statusCode, 404);
});

void t.test('a cell’s series: default range and step, explicit ones, bad ranges, unknown cells', async (t) => {
  const app = await server(false);
  t.teardown(() => app.close());
  const HOUR = 3_600_000;
  const def = (await app.inject({ url: '/api/v1/cells/S1-1/series' })).json<{
    from: number;
    to: number;
    stepMs: number;
    buckets: { dlMbps: number }[];
  }>();
  t.strictSame([def.from, def.to, def.stepMs], [NOW - 24 * HOUR, NOW, 5 * 60_000], 'last 24 h in 5-minute buckets');
  t.equal(def.buckets[0]?.dlMbps, 21, 'the reader’s buckets are returned');
  const explicit = await app.inject({ url: `/api/v1/cells/S1-1/series?from=${NOW - HOUR}&to=${NOW}&step=60000` });
  t.equal(explicit.statusCode, 200);
  t.strictSame(
    seriesCalls.at(-1),
    { cell: 'S1-1', from: NOW - HOUR, to: NOW, step: 60_000 },
    'range and step passed on',
  );
  const cases: { spec: string; url: string; status: number }[] = [
    { spec: 'from after to', url: `/api/v1/cells/S1-1/series?from=${NOW}&to=${NOW - HOUR}`, status: 400 },
    { spec: 'more than 31 days', url: `/api/v1/cells/S1-1/series?from=${NOW - 32 * 24 * HOUR}&to=${NOW}`, status: 400 },
    { spec: 'a step that is not whole minutes', url: '/api/v1/cells/S1-1/series?step=90000', status: 400 },
    { spec: 'an unknown parameter', url: '/api/v1/cells/S1-1/series?resolution=1m', status: 400 },
    { spec: 'an unknown cell', url: '/api/v1/cells/nope/series', status: 404 },
    { spec: 'a cell only the data knows', url: '/api/v1/cells/X9-9/series', status: 200 },
  ];
  for (const c of cases) t.equal((await app.inject({ url: c.url })).statusCode, c.status, c.spec);
  const steps: [number, number][] = [
    [HOUR, 60_000],
    [24 * HOUR, 5 * 60_000],
    [7 * 24 * HOUR, 15 * 60_000],
    [31 * 24 * HOUR, 180 * 60_000],
  ];
  for (const [range, step] of steps)
    t.equal(seriesStep(range), step, `${range / HOUR} h → ${step / 60_000} min buckets`);
});

void t.test('session: what the presented token may do, and how the board should draw', async (t) => {
  const open = await server(false);
  t.teardown(() => open.close());
  const anonymous = (await open.inject({ url: '/api/v1/session' })).json<{
    authRequired: boolean;
    permissions: string[];
    display: { timezone: string; goal: number; peak: unknown };
  }>();
  t.equal(anonymous.authRequired, false, 'no tokens: nothing to sign in to');
  t.strictSame(anonymous.permissions, ['read', 'operate', 'ingest', 'admin'], 'loopback without tokens may do all');
  t.strictSame(anonymous.display.peak, { fromMinute: 19 * 60, toMinute: 22 * 60 }, 'peak hours as minutes');
  t.equal(anonymous.display.goal, 0.95);
  const app = await server(true);
  t.teardown(() => app.close());
  const as = (role: keyof typeof TOKENS) =>
    app.inject({ url: '/api/v1/session', headers: { authorization: `Bearer ${TOKENS[role]}` } });
  const roles: { role: keyof typeof TOKENS; status: number; permissions?: string[] }[] = [
    { role: 'viewer', status: 200, permissions: ['read'] },
    { role: 'operator', status: 200, permissions: ['read', 'operate'] },
    { role: 'admin', status: 200, permissions: ['read', 'operate', 'ingest', 'admin'] },
    { role: 'ingest', status: 403 },
  ];
  for (const r of roles) {
    const res = await as(r.role);
    t.equal(res.statusCode, r.status, `${r.role}: ${r.status}`);
    if (r.permissions) {
      const body = res.json<{ principal: string; permissions: string[]; authRequired: boolean }>();
      t.strictSame([body.principal, body.permissions, body.authRequired], [r.role, r.permissions, true], r.role);
    }
  }
  t.equal((await app.inject({ url: '/api/v1/session' })).statusCode, 401, 'no token: sign in');
});

void t.test(
  'the board: its page under a self-only CSP, its files by exact name, uPlot from node_modules',
  async (t) => {
    const app = await server(true);
    t.teardown(() => app.close());
    const page = await app.inject({ url: '/' });
    t.equal(page.statusCode, 200, 'the page needs no token (its API calls do)');
    t.match(page.body, /<title>cellwatch<\/title>/);
    t.equal(page.headers['content-security-policy'], BOARD_CSP);
    t.match(BOARD_CSP, /script-src 'self';/, 'no inline or foreign scripts');
    t.notMatch(page.body, /https?:\/\//, 'the page loads nothing from another origin');
    const uplot = await app.inject({ url: '/board/vendor/uplot.js' });
    t.equal(uplot.statusCode, 200, 'uPlot is served by the daemon');
    t.match(uplot.headers['content-type'], /text\/javascript/);
    t.match(uplot.body, /export \{ uPlot as default \}|export default/, 'as an ES module');
    t.equal((await app.inject({ url: '/board/board.css' })).statusCode, 200, 'the stylesheet');
    for (const url of ['/board/../package.json', '/board/%2e%2e/package.json', '/board/nothing.js', '/board/'])
      t.equal((await app.inject({ url })).statusCode, 404, `${url} is not a board file`);
  },
);

void t.test('cellStatus', async (t) => {
  const cases: { spec: string; s?: Partial<Sample>; age: number; want: string }[] = [
    { spec: 'no sample', age: 0, want: 'unknown' },
    { spec: 'fresh and available', s: { available: true }, age: 60_000, want: 'up' },
    { spec: 'fresh and down', s: { available: false }, age: 60_000, want: 'down' },
    { spec: 'availability unknown counts as up', s: {}, age: 60_000, want: 'up' },
    { spec: 'older than three intervals', s: { available: true, intervalS: 60 }, age: 181_000, want: 'stale' },
    { spec: 'longer intervals stay fresh longer', s: { available: true, intervalS: 300 }, age: 600_000, want: 'up' },
  ];
  for (const c of cases) {
    const sample: Sample | undefined = c.s ? { cell: 'c', source: 'snmp', ts: NOW - c.age, ...c.s } : undefined;
    t.equal(cellStatus(sample, NOW), c.want, c.spec);
  }
});

void t.test('LatestSamples: seeded from the store, newest wins, late data does not go back in time', async (t) => {
  const latest = new LatestSamples();
  await latest.seed(reader);
  t.strictSame(
    latest.latest().map((s) => s.cell),
    ['S1-1', 'S1-2', 'S2-1', 'X9-9'],
    'seeded, sorted by cell',
  );
  latest.update([
    { cell: 'S1-1', ts: NOW, source: 'snmp', dlMbps: 3 },
    { cell: 'S2-1', ts: NOW - 3_600_000, source: 'snmp', dlMbps: 99 }, // a late replay, older than what is known
    { cell: 'N1-1', ts: NOW, source: 'probe', dlMbps: 7 },
  ]);
  t.equal(latest.latest(['S1-1'])[0]?.dlMbps, 3, 'a newer sample replaces the known one');
  t.equal(latest.latest(['S2-1'])[0]?.dlMbps, 30, 'an older one does not');
  t.strictSame(
    latest.latest(['N1-1', 'nope']).map((s) => s.cell),
    ['N1-1'],
    'new cells appear; unknown ids are left out',
  );
});

void t.test('ingest metrics can be built twice on one registry (a restart inside one process)', async (t) => {
  const registry = new Registry();
  const a = new IngestMetrics(new PromMetrics(registry));
  const b = new IngestMetrics(new PromMetrics(registry));
  a.samples.inc({ source: 'snmp' }, 2);
  b.samples.inc({ source: 'snmp' }, 3);
  t.match(await registry.metrics(), /cellwatch_samples_total\{source="snmp"\} 5/, 'both count into the one series');
});
