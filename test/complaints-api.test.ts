/**
 * The complaints API as integrators and care agents use it, against a daemon in this process (real
 * HTTP on loopback, embedded store in a temp dir, a manual clock): intake of JSON and CSV with the
 * 202 answer, every kind of bad input (malformed JSON and CSV, wrong types, huge bodies, unknown
 * cells), idempotency also under concurrent posts, CSV as operators export it, the ingest role,
 * correlation with windows the detector finds from pushed samples (before and after the complaint),
 * handling events and stats, hot spots, the agent's context and proactive notices in CAMARA's
 * conventions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import { parseAgentTime } from '../daemon/api/complaints.js';
import { Daemon } from '../daemon/daemon.js';
import type { Test } from './helpers/service.js';
import { makeTempDir } from './helpers/service.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 20:00 in Shanghai. */
const T0 = Date.parse('2026-11-28T12:00:00Z');
const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  ingest: 'ingest-token-0123456789abcdef',
  viewer: 'viewer-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
};
type Role = keyof typeof TOKENS;

/** A (three sectors), B 0.6 km north, F 10 km east in another region. */
const INVENTORY = [
  'id,site,region,lat,lon,azimuth,neighbours',
  'A-1,A,R1,31.2,121.4,0,A-2;A-3;B-1',
  'A-2,A,R1,31.2,121.4,120,A-1;A-3',
  'A-3,A,R1,31.2,121.4,240,A-1;A-2',
  'B-1,B,R1,31.205396,121.4,180,A-1',
  'F-1,F,R2,31.2,121.505,0,',
].join('\n');

interface Api {
  url: string;
  daemon: Daemon;
  scheduler: ManualScheduler;
  request(
    method: string,
    path: string,
    opts?: { role?: Role | 'none'; body?: unknown; csv?: string | Buffer; type?: string },
    // The answers are read as the JSON they are; a type per route would only restate the assertions.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; body: any; text: string }>;
}

async function startDaemon(
  t: Test,
  extra: Record<string, unknown> = {},
  at: { dir?: string; now?: number } = {},
): Promise<Api & { dir: string }> {
  const dir = at.dir ?? (await makeTempDir('cellwatch-complaints-api-'));
  const inventory = join(dir, 'cells.csv');
  writeFileSync(inventory, INVENTORY + '\n');
  const cfg = parseConfig(
    {
      timezone: 'Asia/Shanghai',
      http: { listen: '127.0.0.1:0' },
      dataDir: join(dir, 'data'),
      inventory,
      auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role, token })) },
      ...extra,
    },
    { env: {} },
  );
  const scheduler = new ManualScheduler(new ManualClock(at.now ?? T0));
  const daemon = new Daemon(cfg, { scheduler, log: pino({ level: 'silent' }), registry: new Registry() });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const url = daemon.url!;
  return {
    dir,
    url,
    daemon,
    scheduler,
    async request(method, path, opts = {}) {
      const role = opts.role ?? 'admin';
      const headers: Record<string, string> = role === 'none' ? {} : { authorization: `Bearer ${TOKENS[role]}` };
      let body: string | Buffer | undefined;
      if (opts.csv !== undefined) {
        headers['content-type'] = opts.type ?? 'text/csv';
        body = opts.csv;
      } else if (opts.body !== undefined) {
        headers['content-type'] = opts.type ?? 'application/json';
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      }
      const res = await fetch(`${url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text };
    },
  };
}

const complaint = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  receivedAt: new Date(T0 - 30 * MIN).toISOString(),
  channel: 'hotline',
  category: 'network',
  cell: 'A-1',
  ...over,
});

/** 5-minute samples of one cell from `from`: `bad` of them with 1 Mbit/s, then `good` with 30. */
function samples(cell: string, from: number, bad: number, good: number) {
  const out = [];
  for (let i = 0; i < bad + good; i++)
    out.push({
      cell,
      ts: from + i * 5 * MIN,
      intervalS: 300,
      dlMbps: i < bad ? 1 : 30,
      ulMbps: 2,
      latencyMs: 30,
      activeUsers: 20,
      available: true,
    });
  return out;
}

/** Samples through the API, then the windows the detector found. */
async function pushSamples(api: Api, list: unknown[]): Promise<{ id: string; cell: string; end?: number }[]> {
  const r = await api.request('POST', '/samples', { role: 'ingest', body: list });
  if (r.status !== 202) throw new Error(`samples: ${r.status} ${r.text}`);
  for (let i = 0; i < 50; i++) {
    const w = await api.request('GET', '/windows');
    if (w.body.count > 0) return w.body.windows;
    await new Promise((res) => setImmediate(res));
  }
  return [];
}

void t.test('intake: one object, an array or CSV; 202 {accepted, duplicates, rejected}; the ingest role', async (t) => {
  const api = await startDaemon(t);
  const one = await api.request('POST', '/complaints', { role: 'ingest', body: complaint('J1') });
  t.equal(one.status, 202, 'one JSON object');
  t.strictSame(one.body, { accepted: 1, duplicates: 0, rejected: [], rejectedCount: 0 });
  const many = await api.request('POST', '/complaints', {
    role: 'ingest',
    body: [complaint('J2'), complaint('J3', { category: 'billing', channel: 'App' })],
  });
  t.strictSame(many.body, { accepted: 2, duplicates: 0, rejected: [], rejectedCount: 0 }, 'an array');
  const csv = await api.request('POST', '/complaints', {
    role: 'ingest',
    csv: 'id,receivedAt,channel,category,cell\nJ4,2026-11-28T11:00:00Z,online,network,A-2\n',
  });
  t.strictSame(csv.body, { accepted: 1, duplicates: 0, rejected: [], rejectedCount: 0 }, 'text/csv');

  const roles: [Role | 'none', number, string][] = [
    ['none', 401, 'no token: 401'],
    ['viewer', 403, 'a viewer may not post complaints'],
    ['operator', 403, 'an operator may not post complaints'],
    ['ingest', 202, 'the ingest role posts'],
    ['admin', 202, 'an admin posts'],
  ];
  for (const [role, status, spec] of roles)
    t.equal((await api.request('POST', '/complaints', { role, body: complaint(`R-${role}`) })).status, status, spec);
  t.equal((await api.request('GET', '/complaints', { role: 'ingest' })).status, 403, 'ingest cannot read them back');
  const list = await api.request('GET', '/complaints', { role: 'viewer' });
  t.equal(list.status, 200, 'a viewer reads them');
  t.same(
    list.body.complaints.map((c: { id: string }) => c.id).sort(),
    ['J1', 'J2', 'J3', 'J4', 'R-admin', 'R-ingest'],
    'everything accepted is stored, every category',
  );
  const j3 = await api.request('GET', '/complaints/J3', { role: 'viewer' });
  t.match(j3.body, { id: 'J3', category: 'billing', channel: 'app' }, 'recorded as validated (channel lower-cased)');
  t.notOk('correlation' in j3.body, 'a billing complaint is recorded, not correlated');
  const j1 = await api.request('GET', '/complaints/J1', { role: 'viewer' });
  t.match(j1.body, {
    id: 'J1',
    receivedAt: T0 - 30 * MIN,
    locatedCell: 'A-1',
    region: 'R1',
    correlation: { explained: false, score: 0, windows: [] },
    events: [],
  });
  t.equal((await api.request('GET', '/complaints/NOPE', { role: 'viewer' })).status, 404, 'unknown id: 404');
});

void t.test('bad input gets a clear error and loses nothing else', async (t) => {
  const api = await startDaemon(t, { complaints: { maxBody: '64KiB' } });
  const post = (opts: Parameters<Api['request']>[2]) => api.request('POST', '/complaints', { role: 'ingest', ...opts });

  const broken = await post({ body: '[{"id": "X1", "receivedAt": ' });
  t.equal(broken.status, 400, 'malformed JSON: 400');
  t.match(broken.body, { error: /JSON/ }, 'saying the body is not JSON');
  t.match(
    (await post({ body: 'null' })).body,
    { accepted: 0, rejected: [{ index: 0, error: /expected a complaint object, got null/ }] },
    'JSON null: a record that is no complaint',
  );

  const mixed = await post({
    body: [
      complaint('G1'),
      complaint('B1', { receivedAt: true }),
      complaint('B2', { lat: 'north', lon: 121.4, cell: undefined }),
      complaint('B3', { channel: 'pigeon' }),
      { receivedAt: new Date(T0).toISOString(), channel: 'app', category: 'network', cell: 'A-1' },
      complaint('B5', { cell: 'X-9' }),
      complaint('B6', { cell: 17 }),
      complaint('B7', { issueAt: new Date(T0 + 5 * HOUR).toISOString() }),
      complaint('B8', { receivedAt: new Date(T0 + 5 * HOUR).toISOString() }),
      complaint('B9', { symptom: 'sneezing' }),
      'not an object',
      complaint('B11', { text: 'x'.repeat(4001) }),
      complaint('G2', { cell: 'X-9', lat: 31.2, lon: 121.4 }),
    ],
  });
  t.equal(mixed.status, 202, 'a batch with bad records: 202 for the good ones');
  t.equal(mixed.body.accepted, 2, 'the two good ones are kept');
  t.equal(mixed.body.rejectedCount, 11);
  const why = Object.fromEntries(
    mixed.body.rejected.map((r: { index: number; field?: string; error: string }) => [r.index, [r.field, r.error]]),
  );
  const expect: [number, string | undefined, RegExp, string][] = [
    [1, 'receivedAt', /boolean/, 'receivedAt of the wrong type'],
    [2, 'lat', /number of degrees/, 'lat as text'],
    [3, 'channel', /one of hotline, online, social, app/, 'an unknown channel'],
    [4, 'id', /required/, 'no id'],
    [5, 'cell', /not in the inventory/, 'an unknown cell without lat/lon'],
    [6, 'cell', /string/, 'a cell id as a number'],
    [7, 'issueAt', /after receivedAt/, 'issueAt after receivedAt'],
    [8, 'receivedAt', /future/, 'receivedAt in the future'],
    [9, 'symptom', /one of no-signal/, 'an unknown symptom'],
    [10, undefined, /expected a complaint object/, 'not an object'],
    [11, 'text', /at most 4000/, 'a text too long'],
  ];
  for (const [index, field, error, spec] of expect) {
    t.equal(why[index]?.[0], field, `${spec}: field`);
    t.match(why[index]?.[1], error, `${spec}: reason`);
  }
  const stored = await api.request('GET', '/complaints', { role: 'viewer' });
  t.same(stored.body.complaints.map((c: { id: string }) => c.id).sort(), ['G1', 'G2'], 'only the good ones stored');

  const huge = await post({
    body: [complaint('H1', { text: 'y'.repeat(3000) })].concat(
      Array.from({ length: 40 }, (_, i) => complaint(`H${i + 2}`, { text: 'y'.repeat(3000) })),
    ),
  });
  t.equal(huge.status, 413, 'a JSON body over complaints.maxBody: 413');
  t.match(huge.body, { error: /too large/ });
  const hugeCsv = await post({
    csv:
      'id,receivedAt,channel,category,cell,text\n' + `Z1,2026-11-28T11:00:00Z,app,network,A-1,${'z'.repeat(70_000)}\n`,
  });
  t.equal(hugeCsv.status, 413, 'a CSV body over complaints.maxBody: 413');
  t.equal((await api.request('GET', '/complaints/H1', { role: 'viewer' })).status, 404, 'nothing of it stored');

  const noHeader = await post({ csv: 'J9,2026-11-28T11:00:00Z,app,network,A-1\n' });
  t.equal(noHeader.status, 400, 'CSV without a header row: 400');
  t.match(noHeader.body, { error: /header has no id, receivedAt, channel, category columns/ });
  const badRows = await post({
    csv: [
      'id,receivedAt,channel,category,cell,text',
      'C1,2026-11-28T11:00:00Z,app,network,A-1,fine',
      'C2,2026-11-28T11:00:00Z,app,network,A-1,one,field,too,many',
      'C3,yesterday,app,network,A-1,bad time',
      'C4,2026-11-28T11:00:00Z,app,network,A-1,"never closed',
    ].join('\n'),
  });
  t.equal(badRows.status, 202, 'a CSV with bad rows: 202 for the good ones');
  t.equal(badRows.body.accepted, 1);
  t.match(
    badRows.body.rejected,
    [
      { index: 1, error: /the row has 9 fields, the header 6/ },
      { index: 2, field: 'receivedAt' },
      { index: 3, error: /unreadable CSV/ },
    ],
    'each bad row with its index and reason',
  );
  const plain = await post({ body: 'id=1', type: 'text/plain' });
  t.equal(plain.status, 415, 'text/plain: 415');
  t.match(plain.body, { error: /application\/json or text\/csv/ });
});

void t.test('idempotent by id: repeats and concurrent posts of the same id are stored once', async (t) => {
  const api = await startDaemon(t);
  const first = await api.request('POST', '/complaints', {
    role: 'ingest',
    body: [complaint('D1'), complaint('D1', { text: 'again in the same request' }), complaint('D2')],
  });
  t.strictSame(first.body, { accepted: 2, duplicates: 1, rejected: [], rejectedCount: 0 }, 'a repeat in one request');
  const again = await api.request('POST', '/complaints', { role: 'ingest', body: [complaint('D1'), complaint('D3')] });
  t.strictSame(again.body, { accepted: 1, duplicates: 1, rejected: [], rejectedCount: 0 }, 'a repeat later');
  const d1 = await api.request('GET', '/complaints/D1', { role: 'viewer' });
  t.notOk('text' in d1.body, 'the first version is kept');

  const batch = Array.from({ length: 200 }, (_, i) => complaint(`P${i}`));
  const answers = await Promise.all(
    Array.from({ length: 12 }, () => api.request('POST', '/complaints', { role: 'ingest', body: batch })),
  );
  t.ok(
    answers.every((a) => a.status === 202),
    'twelve concurrent posts of the same 200 ids all answered 202',
  );
  t.equal(
    answers.reduce((n, a) => n + (a.body.accepted as number), 0),
    200,
    'each id accepted exactly once across them',
  );
  t.equal(
    answers.reduce((n, a) => n + (a.body.duplicates as number), 0),
    200 * 11,
    'every other post of it counted as a duplicate',
  );
  const csvTwice = await Promise.all(
    [0, 1].map(() =>
      api.request('POST', '/complaints', {
        role: 'ingest',
        csv: 'id,receivedAt,channel,category,cell\nQ1,2026-11-28T11:00:00Z,app,network,A-1\n',
      }),
    ),
  );
  t.same(csvTwice.map((a) => a.body.accepted).sort(), [0, 1], 'the same CSV row posted twice at once: stored once');
  const all = await api.request('GET', '/complaints?limit=5000', { role: 'viewer' });
  t.equal(all.body.count, 3 + 200 + 1, 'no id stored twice');
});

void t.test('CSV as operators export it: BOM, CRLF, quoted commas and newlines, non-ASCII, `;`', async (t) => {
  const api = await startDaemon(t);
  const rows = [
    'Ticket,id,receivedAt,channel,category,symptom,cell,lat,lon,text',
    'T-1,E1,2026-11-28T19:30:00+08:00,Hotline,Network,slow data,A-1,,,"Slow, very slow, since 7 pm"',
    'T-2,E2,2026-11-28T19:31:00+08:00,online,network,,,31.2018,121.4,"Line one',
    'line two: the ""5G"" icon is gone"',
    'T-3,E3,2026-11-28 19:32,app,network,no-signal,A-2,,,网络很慢，信号差 — Überall schlecht',
  ];
  const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rows.join('\r\n') + '\r\n', 'utf8')]);
  const r = await api.request('POST', '/complaints', { role: 'ingest', csv: body, type: 'text/csv; charset=utf-8' });
  t.equal(r.status, 202);
  t.match(
    r.body,
    { accepted: 3, duplicates: 0, rejected: [], ignoredFields: { Ticket: 3 } },
    'unknown columns counted',
  );
  const e1 = (await api.request('GET', '/complaints/E1', { role: 'viewer' })).body;
  t.match(e1, {
    id: 'E1',
    channel: 'hotline',
    category: 'network',
    symptom: 'slow-data',
    text: 'Slow, very slow, since 7 pm',
  });
  const e2 = (await api.request('GET', '/complaints/E2', { role: 'viewer' })).body;
  t.equal(e2.text, 'Line one\nline two: the "5G" icon is gone', 'a quoted newline and quotes, CRLF folded');
  t.match(e2, { lat: 31.2018, lon: 121.4, locatedCell: 'A-1' }, 'an address located to the sector facing it');
  const e3 = (await api.request('GET', '/complaints/E3', { role: 'viewer' })).body;
  t.equal(e3.text, '网络很慢，信号差 — Überall schlecht', 'non-ASCII text intact');
  t.equal(e3.receivedAt, Date.parse('2026-11-28T11:32:00Z'), 'a time without offset is the configured zone’s');

  const excel = 'id;receivedAt;channel;category;lat;lon\r\nE4;2026-11-28T11:00:00Z;app;network;31,2;121,4\r\n';
  const semi = await api.request('POST', '/complaints', { role: 'ingest', csv: excel });
  t.match(semi.body, { accepted: 1, rejected: [] }, 'German Excel: `;` and decimal commas');
  t.match((await api.request('GET', '/complaints/E4', { role: 'viewer' })).body, { lat: 31.2, lon: 121.4 });
});

void t.test('correlation: windows from pushed samples explain complaints, also found later', async (t) => {
  const api = await startDaemon(t);
  // The complaint first, then the samples whose window explains it.
  await api.request('POST', '/complaints', {
    role: 'ingest',
    body: [complaint('K1'), complaint('K2', { cell: 'F-1' }), complaint('K3', { category: 'billing' })],
  });
  t.match((await api.request('GET', '/complaints/K1', { role: 'viewer' })).body.correlation, {
    explained: false,
    windows: [],
  });
  const windows = await pushSamples(api, samples('A-1', T0 - 2 * HOUR, 16, 6));
  t.equal(windows.length, 1, 'the detector found one window on A-1');
  const k1 = (await api.request('GET', '/complaints/K1', { role: 'viewer' })).body;
  t.match(
    k1.correlation,
    {
      explained: true,
      windows: [{ id: windows[0]!.id, cell: 'A-1', reason: /^cell A-1 .* the complaint's own cell/ }],
    },
    'a window found after the complaint explains it, with a reason',
  );
  t.ok(k1.correlation.score >= 0.5, `score ${k1.correlation.score}`);
  t.match((await api.request('GET', '/complaints/K2', { role: 'viewer' })).body.correlation, { explained: false });

  const later = await api.request('POST', '/complaints', { role: 'ingest', body: complaint('K4', { cell: 'A-2' }) });
  t.equal(later.status, 202);
  t.match(
    (await api.request('GET', '/complaints/K4', { role: 'viewer' })).body.correlation,
    { explained: true, windows: [{ cell: 'A-1' }] },
    'a complaint after the window: explained at once (a co-sited neighbour)',
  );

  const q = async (qs: string) =>
    (await api.request('GET', `/complaints?${qs}`, { role: 'viewer' })).body.complaints.map(
      (c: { id: string }) => c.id,
    );
  t.same((await q('explained=true')).sort(), ['K1', 'K4'], 'explained=true');
  t.same(await q('explained=false'), ['K2'], 'explained=false: network complaints not explained');
  t.same((await q('cell=A-1')).sort(), ['K1', 'K3'], 'cell=');
  t.same(await q(`from=${encodeURIComponent('2026-11-28T11:40:00Z')}&to=${T0}`), [], 'from/to: received in [from, to)');
  t.same((await q(`from=${T0 - HOUR}&to=${T0}`)).sort(), ['K1', 'K2', 'K3', 'K4']);
  t.equal((await api.request('GET', '/complaints?explained=perhaps', { role: 'viewer' })).status, 400, 'a bad filter');
});

void t.test(
  'complaints filed long after their problem are matched against the stored windows of their time',
  async (t) => {
    // Day 0: the detector finds a window on A-1; it is stored.
    const first = await startDaemon(t);
    const windows = await pushSamples(first, samples('A-1', T0 - 2 * HOUR, 16, 6));
    t.equal(windows.length, 1, 'the detector found one window on A-1');
    await first.daemon.stop();
    // Ten days on (a restart: the correlator holds the last ~4 days' windows only), last month's
    // complaints are imported, and one arrives today about a problem ten days ago.
    const DAYS10 = 240 * HOUR;
    const api = await startDaemon(t, {}, { dir: first.dir, now: T0 + DAYS10 });
    const r = await api.request('POST', '/complaints', {
      role: 'ingest',
      body: [
        complaint('OLD1'),
        complaint('OLD2', { cell: 'F-1' }),
        complaint('LATE1', {
          receivedAt: new Date(T0 + DAYS10 - HOUR).toISOString(),
          issueAt: new Date(T0 - HOUR).toISOString(),
          cell: 'A-2',
        }),
        complaint('NOW1', { receivedAt: new Date(T0 + DAYS10 - HOUR).toISOString() }),
      ],
    });
    t.match(r.body, { accepted: 4, rejected: [] });
    const get = async (id: string) => (await api.request('GET', `/complaints/${id}`, { role: 'viewer' })).body;
    t.match(
      (await get('OLD1')).correlation,
      {
        explained: true,
        windows: [{ id: windows[0]!.id, cell: 'A-1', reason: /^cell A-1 .* the complaint's own cell/ }],
      },
      'a complaint received ten days ago: explained by the window of its time, read back from the store',
    );
    t.match((await get('OLD2')).correlation, { explained: false }, 'one far from that window: not explained');
    t.match(
      (await get('LATE1')).correlation,
      { explained: true, windows: [{ id: windows[0]!.id }] },
      'received today, its issueAt ten days back: explained by that window',
    );
    t.match(
      (await get('NOW1')).correlation,
      { explained: false, windows: [] },
      'a complaint of today: not by that window',
    );
    // The next housekeeping finalises the old complaints (as correlated) and forgets the old window again.
    await api.scheduler.advanceTo(T0 + DAYS10 + 2 * MIN);
    t.match((await get('OLD1')).correlation, { explained: true, windows: [{ id: windows[0]!.id }] }, 'kept when final');
  },
);

void t.test('handling: events, stats against 100 / 90 / 85 %, weakest groups', async (t) => {
  const api = await startDaemon(t);
  const day = 24 * HOUR;
  const at = (ms: number) => new Date(ms).toISOString();
  // Ten days ago: long enough for every verdict to be decided.
  const old = T0 - 10 * day;
  const list = Array.from({ length: 10 }, (_, i) =>
    complaint(`S${i}`, { receivedAt: at(old + i * MIN), channel: i < 5 ? 'hotline' : 'app' }),
  );
  await api.request('POST', '/complaints', { role: 'ingest', body: list });
  const ev = (id: string, body: Record<string, unknown>) =>
    api.request('POST', `/complaints/${id}/events`, { role: 'ingest', body });
  for (let i = 0; i < 10; i++) {
    // Hotline answers within a day; the app desk answers S8 and S9 after four days.
    const late = i >= 8;
    t.equal((await ev(`S${i}`, { type: 'responded', at: at(old + (late ? 4 * day : HOUR)) })).status, 201);
    if (i !== 9) await ev(`S${i}`, { type: 'resolved', at: at(old + 5 * day) });
    if (i < 8)
      await ev(`S${i}`, { type: 'feedback', at: at(old + 6 * day), satisfied: i !== 0, score: i === 0 ? 2 : 9 });
  }
  t.equal((await ev('NOPE', { type: 'responded' })).status, 404, 'an event for an unknown complaint: 404');
  t.equal((await ev('S0', { type: 'called' })).status, 400, 'an unknown event type: 400');
  t.equal((await ev('S0', { type: 'feedback' })).status, 400, 'feedback without satisfied: 400');
  t.equal(
    (await api.request('POST', '/complaints/S0/events', { role: 'viewer', body: { type: 'responded' } })).status,
    403,
    'a viewer may not record events',
  );
  const stats = await api.request('GET', `/complaints/stats?from=${old - day}&to=${T0}&by=channel`, { role: 'viewer' });
  t.equal(stats.status, 200);
  t.match(stats.body, {
    complaints: 10,
    firstResponse: { met: 8, counted: 10, share: 0.8, target: 1, onTarget: false },
    resolution: { met: 9, counted: 10, share: 0.9, target: 0.9, onTarget: true },
    satisfaction: { met: 7, counted: 8, share: 0.875, target: 0.85, onTarget: true },
  });
  t.match(
    stats.body.groups,
    [
      { group: 'app', firstResponse: { share: 0.6 } },
      { group: 'hotline', firstResponse: { share: 1 }, satisfaction: { share: 0.8 } },
    ],
    'per channel',
  );
  t.match(
    stats.body.weakest,
    [
      { metric: 'firstResponse', group: 'app', share: 0.6 },
      { metric: 'resolution', group: 'app', share: 0.8 },
      { metric: 'satisfaction', group: 'hotline', share: 0.8 },
    ],
    'the weakest groups named, largest shortfall first',
  );
  t.match((await api.request('GET', '/complaints/S9', { role: 'viewer' })).body, {
    events: [{ kind: 'responded' }],
    handling: { firstResponse: 'missed', resolution: 'missed' },
  });
  t.equal((await api.request('GET', '/complaints/stats?by=colour', { role: 'viewer' })).status, 400);
});

void t.test('hot spots: three network complaints near each other within 72 h', async (t) => {
  const api = await startDaemon(t);
  const at = (h: number) => new Date(T0 - h * HOUR).toISOString();
  await api.request('POST', '/complaints', {
    role: 'ingest',
    body: [
      complaint('H1', { cell: 'A-1', receivedAt: at(30) }),
      complaint('H2', { cell: 'B-1', receivedAt: at(20) }),
      complaint('H3', { cell: 'A-2', receivedAt: at(10) }),
      complaint('H4', { cell: 'F-1', receivedAt: at(9) }),
      complaint('H5', { cell: 'A-1', receivedAt: at(8), category: 'billing' }),
    ],
  });
  const r = await api.request('GET', '/hotspots', { role: 'viewer' });
  t.equal(r.status, 200);
  t.equal(r.body.count, 1, 'one hot spot: F-1 is 10 km away and billing complaints do not count');
  t.match(r.body.hotspots[0], {
    kind: 'silent-degradation',
    status: 'open',
    complaints: ['H1', 'H2', 'H3'],
    sites: ['A', 'B'],
    explained: 0,
  });
  await pushSamples(api, samples('A-2', T0 - 11 * HOUR, 6, 6));
  t.match(
    (await api.request('GET', '/hotspots?open=true', { role: 'viewer' })).body.hotspots,
    [{ kind: 'hotspot', explained: 1 }],
    'a window found later explains one: no longer silent',
  );
});

void t.test('the agent’s context and proactive notices', async (t) => {
  const api = await startDaemon(t);
  // A-1 bad since 17:55 local (the first 5-minute interval ends at 18:00) and still bad at 20:00.
  const windows = await pushSamples(api, samples('A-1', T0 - 2 * HOUR, 25, 0));
  t.equal(windows.length, 1);
  t.equal(windows[0]!.end, undefined, 'the window is ongoing');
  await api.request('POST', '/complaints', {
    role: 'ingest',
    body: [complaint('X1'), complaint('X2', { cell: 'A-2' }), complaint('X3', { cell: 'F-1' })],
  });
  const ctx = await api.request('GET', `/context?cell=A-1&at=${encodeURIComponent('2026-11-28 19:30')}`, {
    role: 'viewer',
  });
  t.equal(ctx.status, 200);
  t.match(ctx.body, {
    ok: true,
    at: T0 - 30 * MIN,
    atTime: '2026-11-28T11:30:00.000Z',
    windows: [{ id: windows[0]!.id, cell: 'A-1', status: 'ongoing', customerImpact: true }],
    complaintCount: 2,
  });
  t.match(
    ctx.body.summary,
    /^We are aware of a problem .* in this area since 5:55 pm today; engineers are working on it\./,
  );
  t.notMatch(ctx.body.summary, /A-1|A-2|cell|sector|PRB|RSRP|SINR|dlMbps|X1|X2/i, 'no ids, jargon or other customers');
  t.match(ctx.body.summary, /Other customers in this area have reported it too\./, 'others, as a count only');

  const byComplaint = await api.request('GET', '/context?complaint=X2', { role: 'viewer' });
  t.match(
    byComplaint.body,
    { at: T0 - 30 * MIN, complaintCount: 1 },
    'by complaint: its place and time, itself not counted',
  );
  const byPlace = await api.request('GET', `/context?lat=31.2018&lon=121.4&at=${T0}`, { role: 'viewer' });
  t.match(byPlace.body, { windows: [{ cell: 'A-1' }] }, 'by lat/lon');
  const far = await api.request('GET', `/context?cell=F-1&at=${T0}`, { role: 'viewer' });
  t.equal(far.body.summary, 'We found no network problem in this area at that time.');
  // The open alerts on the area come with the lookup (the route asks the manager for the area's only).
  t.match(ctx.body.alerts, [{ kind: 'cell_degraded', state: 'firing', labels: { cell: 'A-1' } }], 'the alert on A-1');
  t.equal(ctx.body.alerts.length, 1);
  t.match(byPlace.body.alerts, [{ labels: { cell: 'A-1' } }], 'by lat/lon too');
  t.same(far.body.alerts, [], 'none 10 km away');
  const cases: [string, number, string][] = [
    ['/context?cell=NOPE', 404, 'an unknown cell'],
    ['/context?complaint=NOPE', 404, 'an unknown complaint'],
    ['/context?cell=A-1&at=teatime', 400, 'a time that is no time'],
    ['/context?lat=31.2', 400, 'lat without lon'],
    ['/context', 400, 'no place'],
  ];
  for (const [path, status, spec] of cases)
    t.equal((await api.request('GET', path, { role: 'viewer' })).status, status, spec);

  const notices = await api.request('GET', '/notices', { role: 'viewer' });
  t.equal(notices.status, 200);
  t.match(notices.body.notices, [
    {
      status: 'ongoing',
      start: '2026-11-28T09:55:00.000Z',
      area: { cells: ['A-1'], sites: ['A'], regions: ['R1'], centre: { lat: 31.2, lon: 121.4 } },
      windows: [windows[0]!.id],
      text: /^We are aware of a problem with .* in this area since 5:55 pm today\. Engineers are working on it\./,
      expectedFix: /\w/,
    },
  ]);
  t.ok(notices.body.notices[0].area.radiusKm >= 1, 'a radius around the centre');
  t.notMatch(notices.body.notices[0].text, /A-1|cell|site|\bA\b/, 'the text names no cell or site');
  t.same((await api.request('GET', '/notices?region=R2', { role: 'viewer' })).body.notices, [], 'by region');
  t.equal((await api.request('GET', '/notices?cell=A-1', { role: 'viewer' })).body.notices.length, 1, 'by cell');
  const camara: [string, Role | 'none', number, string][] = [
    ['/notices?cell=NOPE', 'viewer', 404, 'NOT_FOUND'],
    ['/notices?colour=red', 'viewer', 400, 'INVALID_ARGUMENT'],
    ['/notices', 'none', 401, 'UNAUTHENTICATED'],
    ['/notices', 'ingest', 403, 'PERMISSION_DENIED'],
  ];
  for (const [path, role, status, code] of camara) {
    const r = await api.request('GET', path, { role });
    t.equal(r.status, status, `${path} as ${role}: ${status}`);
    t.match(r.body, { status, code, message: /\w/ }, `${path} as ${role}: CAMARA's {status, code, message}`);
    t.same(Object.keys(r.body).sort(), ['code', 'message', 'status'], 'nothing else');
  }
});

void t.test("the agent's --at: local time in the daemon's zone, RFC 3339 or epoch ms", async (t) => {
  const cases: { spec: string; text: string; zone: string; want: number | undefined }[] = [
    {
      spec: 'local wall time in Shanghai',
      text: '2026-11-28 20:15',
      zone: 'Asia/Shanghai',
      want: Date.parse('2026-11-28T12:15:00Z'),
    },
    {
      spec: 'T separator and seconds',
      text: '2026-11-28T20:15:30',
      zone: 'Asia/Shanghai',
      want: Date.parse('2026-11-28T12:15:30Z'),
    },
    {
      spec: 'an offset wins over the zone',
      text: '2026-11-28T20:15:00+01:00',
      zone: 'Asia/Shanghai',
      want: Date.parse('2026-11-28T19:15:00Z'),
    },
    { spec: 'epoch ms', text: '1795865200000', zone: 'Asia/Shanghai', want: 1795865200000 },
    {
      spec: 'Berlin after the autumn change (CET)',
      text: '2026-10-25 12:00',
      zone: 'Europe/Berlin',
      want: Date.parse('2026-10-25T11:00:00Z'),
    },
    {
      spec: 'Berlin before it (CEST)',
      text: '2026-10-24 12:00',
      zone: 'Europe/Berlin',
      want: Date.parse('2026-10-24T10:00:00Z'),
    },
    { spec: 'not a time', text: 'yesterday evening', zone: 'Asia/Shanghai', want: undefined },
    { spec: 'a date alone is not a moment', text: '2026-11-28', zone: 'Asia/Shanghai', want: undefined },
  ];
  for (const c of cases) t.equal(parseAgentTime(c.text, c.zone), c.want, c.spec);
});
