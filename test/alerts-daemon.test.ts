/**
 * The alerts as the daemon wires them, in process on a manual scheduler (nothing is polled), with a
 * real webhook receiver on loopback:
 * - a series backend that is down at start raises `store_backlog` (the store reports it before any
 *   other part listens), and the alert routes: the viewer reads, the operator acks and silences, with
 *   who, when and why kept, filters, and every refusal with its reason;
 * - the complaints each open window explains, counted for the window's alert;
 * - a restart keeps a complaint hot spot firing in the same episode and sends nothing again (the alerts
 *   resume after the complaints part can say which hot spots are open).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { verifySignature, signingKey } from '../alerts/sinks/webhook.js';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import { ExplainedCounts } from '../daemon/complaints.js';
import { Daemon } from '../daemon/daemon.js';
import { eventually, freePort, makeTempDir } from './helpers/service.js';
import { webhookReceiver } from './helpers/alerts.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const log = pino({ level: 'silent' });
const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
const CARE_DESK = 'ingest-token-0123456789abcdef';
const SECRET = 'whsec_' + Buffer.from('a-test-secret-of-32-bytes-length').toString('base64');

async function setup(prefix: string) {
  const dir = await makeTempDir(prefix);
  const inventory = join(dir, 'cells.csv');
  writeFileSync(inventory, 'id,site,region,lat,lon\nA-1,A,north,31,121\nA-2,A,north,31,121.001\nB-1,B,south,32,121\n');
  const hook = await webhookReceiver(() => ({ status: 200 }));
  const raw = {
    timezone: 'UTC',
    http: { listen: '127.0.0.1:0' },
    auth: {
      tokens: [
        { name: 'wall-screen', role: 'viewer', token: VIEWER },
        { name: 'noc-anna', role: 'operator', token: OPERATOR },
        { name: 'care-desk', role: 'ingest', token: CARE_DESK },
      ],
    },
    dataDir: join(dir, 'data'),
    inventory,
    alerts: { sinks: [{ kind: 'webhook', url: hook.url, secret: SECRET }] },
  };
  return { dir, hook, raw };
}

async function start(raw: Record<string, unknown>, scheduler: ManualScheduler): Promise<Daemon> {
  const daemon = new Daemon(parseConfig(raw, { env: {} }), { scheduler, log, registry: new Registry() });
  await daemon.start();
  return daemon;
}

/** The fields of the answers this test reads. */
interface ApiBody {
  count?: number;
  alerts?: { id: string; state: string; scope: string; summary: string; silencedBy?: string[] }[];
  transitions?: { type: string }[];
  acks?: unknown[];
  id?: string;
  problems?: string[];
}

function client(daemon: Daemon) {
  return async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${daemon.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as ApiBody };
  };
}

void t.test('a backend down at start alerts; the routes: viewer reads, operator acks and silences', async (t) => {
  const { hook, raw } = await setup('cw-alerts-daemon-api');
  t.teardown(() => hook.close());
  const closed = await freePort();
  const daemon = await start(
    { ...raw, store: { kind: 'influxdb-v1', url: `http://127.0.0.1:${closed}`, database: 'cw' } },
    new ManualScheduler(new ManualClock(T0)),
  );
  t.teardown(() => daemon.stop());
  const api = client(daemon);

  t.ok(
    await eventually(() => hook.hits.some((h) => h.body.includes('store_backlog')), 10_000),
    'the receiver got store_backlog',
  );
  const hit = hook.hits.find((h) => h.body.includes('store_backlog'))!;
  t.ok(
    verifySignature(
      signingKey(SECRET),
      {
        id: String(hit.headers['webhook-id']),
        timestamp: String(hit.headers['webhook-timestamp']),
        signature: String(hit.headers['webhook-signature']),
      },
      hit.body,
      Math.floor(Date.now() / 1000),
    ),
    'signed, with a timestamp on the wall clock (the daemon’s own clock is years away)',
  );
  const payload = JSON.parse(hit.body) as { version: string; alerts: { labels: Record<string, string> }[] };
  t.match(payload, { version: '4', status: 'firing', alerts: [{ labels: { problem: 'backlog', severity: 'major' } }] });

  const cases: { spec: string; method: string; path: string; token: string; body?: unknown; status: number }[] = [
    { spec: 'viewer lists alerts', method: 'GET', path: '/alerts', token: VIEWER, status: 200 },
    { spec: 'viewer lists silences', method: 'GET', path: '/silences', token: VIEWER, status: 200 },
    { spec: 'viewer may not ack', method: 'POST', path: '/alerts/x/ack', token: VIEWER, body: {}, status: 403 },
    {
      spec: 'viewer may not silence',
      method: 'POST',
      path: '/silences',
      token: VIEWER,
      body: { matchers: [{ name: 'region', value: 'north' }], durationMs: 60_000, comment: 'x' },
      status: 403,
    },
    { spec: 'viewer may not expire a silence', method: 'DELETE', path: '/silences/x', token: VIEWER, status: 403 },
    { spec: 'an unknown alert', method: 'GET', path: '/alerts/nope', token: VIEWER, status: 404 },
    {
      spec: 'ack of an unknown alert',
      method: 'POST',
      path: '/alerts/nope/ack',
      token: OPERATOR,
      body: {},
      status: 404,
    },
    { spec: 'a bad state filter', method: 'GET', path: '/alerts?state=burning', token: VIEWER, status: 400 },
    { spec: 'no token', method: 'GET', path: '/alerts', token: '', status: 401 },
  ];
  for (const c of cases) t.equal((await api(c.method, c.path, c.token, c.body)).status, c.status, c.spec);

  const listed = await api('GET', '/alerts?state=firing&kind=store_backlog', VIEWER);
  t.equal(listed.body.count, 1, 'filtered by state and kind');
  const alert = listed.body.alerts![0]!;
  t.match(alert, { scope: 'network', summary: /series backend is down/, remediation: /spool/ });
  t.equal((await api('GET', '/alerts?region=north', VIEWER)).body.count, 0, 'filtered by region');
  t.equal((await api('GET', `/alerts?from=${T0 + 3600_000}`, VIEWER)).body.count, 1, 'still open: in any later range');
  t.equal((await api('GET', `/alerts?to=${T0 - 3600_000}`, VIEWER)).body.count, 0, 'not before it began');

  const acked = await api('POST', `/alerts/${alert.id}/ack`, OPERATOR, { comment: 'influx team paged' });
  t.equal(acked.status, 200, 'operator acks');
  t.match(acked.body, { ackedBy: 'noc-anna', ackedAt: T0, ack: { comment: 'influx team paged' } }, 'who, when, why');
  const detail = await api('GET', `/alerts/${alert.id}`, VIEWER);
  t.same(
    (detail.body.transitions as { type: string }[]).map((x) => x.type),
    ['pending', 'firing', 'acked'],
    'the alert with its transitions',
  );
  t.match(detail.body.acks, [{ by: 'noc-anna', comment: 'influx team paged' }]);

  const bad = await api('POST', '/silences', OPERATOR, {
    matchers: [{ name: 'region', op: '=~', value: '.*' }],
    durationMs: 60_000,
    comment: 'everything',
  });
  t.equal(bad.status, 400, 'a silence that would mute everything is refused');
  t.match(bad.body.problems, [/must not match the empty string/]);
  const made = await api('POST', '/silences', OPERATOR, {
    matchers: [{ name: 'alertname', value: 'store_backlog' }],
    durationMs: 3600_000,
    comment: 'influx maintenance',
  });
  t.equal(made.status, 201, 'operator silences');
  t.match(made.body, { createdBy: 'noc-anna', startsAt: T0, endsAt: T0 + 3600_000, status: 'active' });
  const view = (await api('GET', `/alerts?active=true`, VIEWER)).body.alerts as { silencedBy?: string[] }[];
  t.same(view[0]?.silencedBy, [made.body.id], 'the board says why it is quiet');
  t.equal((await api('DELETE', `/silences/${made.body.id}`, OPERATOR)).status, 200, 'operator expires it');
  t.equal((await api('DELETE', `/silences/${made.body.id}`, OPERATOR)).status, 409, 'twice: already ended');
  t.equal((await api('DELETE', '/silences/nope', OPERATOR)).status, 404, 'unknown silence');
  t.match((await api('GET', '/silences', VIEWER)).body, { count: 1, silences: [{ status: 'expired' }] });
});

void t.test('a restart keeps a complaint hot spot firing in the same episode and sends nothing again', async (t) => {
  const { hook, raw } = await setup('cw-alerts-daemon-restart');
  t.teardown(() => hook.close());
  const clock = new ManualClock(T0);
  const scheduler1 = new ManualScheduler(clock);
  const first = await start(raw, scheduler1);
  const complaints = [1, 2, 3].map((n) => ({
    id: `c-${n}`,
    receivedAt: T0 - n * 3600_000,
    channel: 'hotline',
    category: 'network',
    cell: 'A-1',
  }));
  const posted = await client(first)('POST', '/complaints', CARE_DESK, complaints);
  t.match(posted, { status: 202, body: { accepted: 3 } }, 'three network complaints on one cell');
  // The complaints part's housekeeping (each minute) judges the hot spots as of its time.
  await scheduler1.advance(60_000);
  t.ok(
    await eventually(() => hook.hits.some((h) => h.body.includes('silent_degradation')), 10_000),
    'a hot spot no window explains goes out as a silent degradation',
  );
  const before = (await client(first)('GET', '/alerts?kind=silent_degradation', VIEWER)).body.alerts as {
    id: string;
    state: string;
  }[];
  t.match(before, [{ state: 'firing', generatorURL: `${first.url}/#/cell/A-1` }], 'firing, linked to the board');
  await first.stop();

  clock.set(T0 + 10 * 60_000);
  const sent = hook.hits.length;
  const second = await start(raw, new ManualScheduler(clock));
  t.teardown(() => second.stop());
  // Anything the restart would send goes out on the turns right after the start.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = (await client(second)('GET', '/alerts?kind=silent_degradation', VIEWER)).body.alerts as {
    id: string;
    state: string;
  }[];
  t.same(
    after.map((a) => [a.id, a.state]),
    before.map((a) => [a.id, 'firing']),
    'still firing, the same episode',
  );
  t.same(
    hook.hits.slice(sent).map((h) => (JSON.parse(h.body) as { status: string }).status),
    [],
    'nothing sent again, nothing resolved',
  );
});

void t.test('complaints explained per window, as the alerts are told', async (t) => {
  const c = new ExplainedCounts();
  const by = (complaint: string, window?: string) => ({
    complaint,
    correlation: {
      explained: window !== undefined,
      score: window !== undefined ? 0.8 : 0.1,
      windows: window !== undefined ? [{ window, cell: 'A-1', score: 0.8, reason: 'r' }] : [],
    },
  });
  const steps: { spec: string; changes: ReturnType<typeof by>[]; want: [string, number][] }[] = [
    { spec: 'two complaints explained by w1', changes: [by('c1', 'w1'), by('c2', 'w1')], want: [['w1', 2]] },
    { spec: 'the same again: no news', changes: [by('c1', 'w1')], want: [] },
    {
      spec: 'a better window takes c2',
      changes: [by('c2', 'w2')],
      want: [
        ['w1', 1],
        ['w2', 1],
      ],
    },
    { spec: 'c1 is no longer explained', changes: [by('c1')], want: [['w1', 0]] },
    { spec: 'unexplained complaints count nowhere', changes: [by('c3')], want: [] },
  ];
  for (const step of steps)
    t.same(
      c.update(step.changes).map((i) => (i.type === 'window-complaints' ? [i.window, i.complaints] : [])),
      step.want,
      step.spec,
    );
  t.same(
    c.inputs().map((i) => (i.type === 'window-complaints' ? i.window : '')),
    ['w2'],
    'what a restart re-asserts',
  );
  c.forget('w2');
  t.same(c.inputs(), [], 'a closed window is forgotten');
  t.same(c.update([by('c2', 'w2')]), [{ type: 'window-complaints', window: 'w2', cell: 'A-1', complaints: 1 }]);
});
