/**
 * The push intake inside a daemon, over real HTTP on loopback: `POST /api/v1/samples` (JSON and line
 * protocol), the InfluxDB-v1-compatible `/write` and `/ping`, tokens, size limits, gzip, per-token
 * rate limits with Retry-After — and what was accepted is what the store and the detector hold.
 * The full-spool 503 and the real `influx` CLI are in intake-http.int.test.ts (they need influxd).
 */
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { PushLimiter } from '../daemon/intake.js';
import type { Sample } from '../model/index.js';
import { makeTempDir } from './helpers/service.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const TOKENS = {
  ingest: 'ingest-token-0123456789',
  device: 'device-token-0123456789',
  viewer: 'viewer-token-0123456789',
};
const silent = pino({ level: 'silent' });

async function daemon(t: Test, intake: Record<string, unknown> = {}) {
  const dir = await makeTempDir('cellwatch-intake-http-');
  const cfg = parseConfig(
    {
      http: { listen: '127.0.0.1:0' },
      dataDir: join(dir, 'data'),
      auth: {
        tokens: [
          { name: 'pusher', role: 'ingest', token: TOKENS.ingest },
          { name: 'device', role: 'ingest', token: TOKENS.device },
          { name: 'noc', role: 'viewer', token: TOKENS.viewer },
        ],
      },
      intake,
    },
    { env: {} },
  );
  const d = new Daemon(cfg, {
    scheduler: new ManualScheduler(new ManualClock(T0)),
    log: silent,
    registry: new Registry(),
  });
  await d.start();
  t.teardown(() => d.stop());
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}, token = TOKENS.ingest) =>
    fetch(`${d.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body,
    });
  const latest = async (cell: string) => {
    const r = await fetch(`${d.url}/api/v1/cells/${cell}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    return ((await r.json()) as { latest?: Sample }).latest;
  };
  return { d, post, latest };
}

const json = { 'content-type': 'application/json' };
const text = { 'content-type': 'text/plain' };

void t.test('POST /api/v1/samples: JSON and line protocol, bad items rejected by index, the rest kept', async (t) => {
  const { d, post, latest } = await daemon(t);
  const r = await post(
    '/api/v1/samples',
    JSON.stringify([
      { cell: 'S1-1', ts: T0 - 60_000, source: 'probe', dlMbps: 23.4, available: true },
      { cell: 'S1-2', ts: T0 - 60_000, dlMbps: -3 },
      { cell: 'S1-3', ts: T0 + 3_600_000, dlMbps: 10 },
      { ts: T0, dlMbps: 1 },
      { cell: 'S1-4', ts: T0 - 30_000, latencyMs: 41, dlMpbs: 2 },
    ]),
    json,
  );
  t.equal(r.status, 202);
  const body = (await r.json()) as { accepted: number; rejected: { index: number; field?: string; error: string }[] };
  t.match(body, {
    accepted: 2,
    rejectedCount: 3,
    rejected: [
      { index: 1, field: 'dlMbps', error: /outside/ },
      { index: 2, field: 'ts', error: /future/ },
      { index: 3, field: 'cell', error: /required/ },
    ],
    ignoredFields: { dlMpbs: 1 },
  });
  t.match(await latest('S1-1'), { source: 'probe', dlMbps: 23.4, ts: T0 - 60_000 }, 'the accepted sample is stored');
  t.match(await latest('S1-4'), { source: 'push', latencyMs: 41 }, 'source defaults to push');
  t.equal(await latest('S1-2'), undefined, 'the rejected one is not');

  const lp = await post(
    '/api/v1/samples',
    [
      `cell_kpi,cell=S2-1,source=probe dlMbps=12.5,available=t ${T0 - 60_000}000000`,
      'cpu,host=a usage=1',
      `cell_kpi,cell=S2-2 latencyMs=30i ${T0 - 60_000}000000`,
      `cell_kpi,cell=S2-3 dlMbps="fast" ${T0 - 60_000}000000`,
    ].join('\n'),
    text,
  );
  t.equal(lp.status, 202);
  t.match(await lp.json(), {
    accepted: 2,
    rejected: [
      { index: 1, line: 2, error: /unknown measurement "cpu"/ },
      { index: 3, line: 4, field: 'dlMbps' },
    ],
  });
  t.match(await latest('S2-1'), { source: 'probe', dlMbps: 12.5, available: true });
  const ms = await post('/api/v1/samples?precision=ms', `cell_kpi,cell=S2-4 dlMbps=7 ${T0 - 1000}`, text);
  t.match(await ms.json(), { accepted: 1 }, 'precision applies to line protocol on /samples too');
  t.match(await latest('S2-4'), { ts: T0 - 1000 });

  const metrics = await (
    await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })
  ).text();
  t.match(metrics, /cellwatch_samples_total\{source="probe"\} 2/, 'pushed samples are counted by source');
});

void t.test('POST /api/v1/samples: refusals of the whole request', async (t) => {
  const { post } = await daemon(t, { maxBody: '64KiB' });
  const ok = JSON.stringify([{ cell: 'S1-1', ts: T0, dlMbps: 1 }]);
  const big = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ cell: `C${i}`, ts: T0, dlMbps: 1 })));
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
  const cases: { spec: string; status: number; error?: RegExp; send: () => Promise<Response> }[] = [
    { spec: 'no token', status: 401, send: () => post('/api/v1/samples', ok, json, '') },
    { spec: 'a viewer may not push', status: 403, send: () => post('/api/v1/samples', ok, json, TOKENS.viewer) },
    { spec: 'a body over intake.maxBody', status: 413, send: () => post('/api/v1/samples', big, json) },
    {
      spec: 'a gzip body that unpacks beyond maxBody (line protocol)',
      status: 413,
      error: /larger than 65536 bytes once unpacked/,
      send: () => post('/api/v1/samples', bomb, { ...text, 'content-encoding': 'gzip' }),
    },
    {
      spec: 'a gzip body that unpacks beyond maxBody (JSON)',
      status: 413,
      error: /larger than 65536 bytes once unpacked/,
      send: () => post('/api/v1/samples', bomb, { ...json, 'content-encoding': 'gzip' }),
    },
    {
      spec: 'content-encoding gzip on a body that is not',
      status: 400,
      error: /not gzip/,
      send: () => post('/api/v1/samples', ok, { ...json, 'content-encoding': 'gzip' }),
    },
    { spec: 'JSON that does not parse', status: 400, send: () => post('/api/v1/samples', '[{"cell":', json) },
    {
      spec: 'a content type that is neither JSON nor line protocol',
      status: 415,
      error: /JSON array of samples .* or line protocol/,
      send: () => post('/api/v1/samples', 'cell,ts\nS1-1,1\n', { 'content-type': 'text/csv' }),
    },
  ];
  for (const c of cases) {
    const r = await c.send();
    t.equal(r.status, c.status, c.spec);
    const body = (await r.json()) as { error: string };
    t.ok(typeof body.error === 'string' && body.error.length > 0, `${c.spec}: says why`);
    if (c.error) t.match(body.error, c.error, c.spec);
  }
  const gz = await post('/api/v1/samples', gzipSync(ok), { ...json, 'content-encoding': 'gzip' });
  const gzBody = await gz.text();
  t.match(JSON.parse(gzBody), { accepted: 1 }, `a gzip JSON body within the limit is read: ${gzBody}`);
});

void t.test(
  'per-token rate limits: 429 with Retry-After, tokens counted apart, nothing kept of a refusal',
  async (t) => {
    const { post, latest } = await daemon(t, { ratePerToken: 100, burst: 500 });
    const batch = (n: number, prefix: string) =>
      JSON.stringify(Array.from({ length: n }, (_, i) => ({ cell: `${prefix}-${i}`, ts: T0, dlMbps: 1 })));
    t.equal((await post('/api/v1/samples', batch(400, 'A'), json)).status, 202, 'within the burst');
    const over = await post('/api/v1/samples', batch(300, 'B'), json);
    t.equal(over.status, 429, 'beyond the burst');
    const wait = Number(over.headers.get('retry-after'));
    // 100 left, 300 wanted at 100/s: about 2 s (the bucket refills while the request is read).
    t.ok(wait >= 1 && wait <= 3, `Retry-After says when it would fit (${wait} s)`);
    t.match(await over.json(), { error: /rate limit: 100 samples\/s per token \(burst 500\)/ });
    t.equal(await latest('B-0'), undefined, 'a refused request keeps nothing: the sender retries it whole');
    const other = await post('/api/v1/samples', batch(300, 'C'), json, TOKENS.device);
    t.equal(other.status, 202, 'another token has its own bucket');
    const lines = Array.from({ length: 300 }, (_, i) => `cell_kpi,cell=D-${i} dlMbps=1 ${T0}000000`).join('\n');
    const write = await post('/write?db=x', lines, text);
    t.equal(write.status, 429, '/write shares the token’s bucket');
    t.ok(Number(write.headers.get('retry-after')) >= 1);
  },
);

void t.test('PushLimiter: a token bucket per token', async (t) => {
  let now = 0;
  const limiter = new PushLimiter(1000, 2000, () => now);
  t.equal(limiter.take('a', 2000), 0, 'a full bucket takes the burst');
  t.equal(limiter.take('a', 1), 1, 'then 1 ms for one more');
  now += 500;
  t.equal(limiter.take('a', 500), 0, 'half a second refills 500');
  t.equal(limiter.take('a', 5000), 2000, 'a request over the burst waits for a full bucket, then passes');
  now += 2000;
  t.equal(limiter.take('a', 5000), 0);
  t.equal(limiter.take('b', 2000), 0, 'tokens do not share buckets');
});

void t.test('/write and /ping as InfluxDB 1.x clients use them', async (t) => {
  const { d, post, latest } = await daemon(t);
  const ping = await fetch(`${d.url}/ping`);
  t.equal(ping.status, 204, '/ping needs no token, as InfluxDB');
  t.match(ping.headers.get('x-influxdb-version'), /^1\./, 'a 1.x version header: clients pick their protocol by it');
  const line = `cell_kpi,cell=W-1,source=probe dlMbps=9.5 ${T0 - 60_000}`;
  const auths: [string, string][] = [
    ['Bearer', `Bearer ${TOKENS.ingest}`],
    ['Token (InfluxDB 2 style)', `Token ${TOKENS.ingest}`],
    [
      'Basic, token as password (Telegraf, the influx CLI)',
      `Basic ${Buffer.from(`any:${TOKENS.ingest}`).toString('base64')}`,
    ],
  ];
  for (const [spec, authorization] of auths) {
    const r = await fetch(`${d.url}/write?db=cellwatch&precision=ms`, {
      method: 'POST',
      headers: { authorization },
      body: line,
    });
    t.equal(r.status, 204, spec);
  }
  t.match(await latest('W-1'), { source: 'probe', dlMbps: 9.5, ts: T0 - 60_000 });
  const basicBad = `Basic ${Buffer.from('any:wrong-token-0123456789').toString('base64')}`;
  const denied = await fetch(`${d.url}/write`, { method: 'POST', headers: { authorization: basicBad }, body: line });
  t.equal(denied.status, 401, 'a wrong password is a 401');

  // curl's default form content type, and no content type at all: InfluxDB reads both.
  const form = await post('/write?precision=s', `cell_kpi,cell=W-2 dlMbps=1 ${(T0 - 60_000) / 1000}`, {
    'content-type': 'application/x-www-form-urlencoded',
  });
  t.equal(form.status, 204, 'any content type');
  t.match(await latest('W-2'), { ts: T0 - 60_000 }, 'precision=s');
  const gz = await post('/write?precision=ms', gzipSync(`cell_kpi,cell=W-3 dlMbps=2 ${T0 - 60_000}`), {
    'content-encoding': 'gzip',
  });
  t.equal(gz.status, 204, 'gzip, as Telegraf sends with content_encoding = "gzip"');

  const partial = await post(
    '/write?precision=ms',
    [`cell_kpi,cell=W-4 dlMbps=3 ${T0 - 60_000}`, 'cpu usage=1', `cell_kpi,cell=W-5 dlMbps=t ${T0 - 60_000}`].join(
      '\n',
    ),
  );
  t.equal(partial.status, 400, 'a partly bad batch: 400, as InfluxDB answers a partial write');
  const answer = (await partial.json()) as { error: string; rejected: unknown[] };
  t.match(answer.error, /^partial write: line 2: unknown measurement "cpu" \(mapped: cell_kpi, link\) dropped=2$/);
  t.match(
    answer.rejected,
    [
      { index: 1, line: 2 },
      { index: 2, line: 3, field: 'dlMbps' },
    ],
    'every refusal, with its line',
  );
  t.match(await latest('W-4'), { dlMbps: 3 }, 'the good line of a partial write is kept');

  const badPrecision = await post('/write?precision=rfc3339', line);
  t.equal(badPrecision.status, 400);
  t.match(await badPrecision.json(), { error: /invalid precision "rfc3339"/ });
});

void t.test('mappings from the config: Telegraf ping and http_response through /write', async (t) => {
  const { post, latest } = await daemon(t, {
    mappings: [
      {
        measurement: 'ping',
        cell: { tag: 'url', map: { '10.1.0.1': 'P-1', 'probe.s2.example': 'P-2' } },
        source: 'probe',
        fields: { average_response_ms: { to: 'latencyMs' } },
        failure: [
          { field: 'result_code', ne: 0 },
          { field: 'percent_packet_loss', ge: 100 },
        ],
      },
      {
        measurement: 'http_response',
        cell: { tag: 'server', map: { 'https://probe.s1.example/10MB': 'H-1' } },
        source: 'probe',
        fields: { response_time: { to: 'latencyMs', scale: 1000 } },
        failure: [{ field: 'result_type', ne: 'success' }],
      },
    ],
  });
  const ns = `${T0 - 60_000}000000`;
  // Lines as Telegraf 1.x writes them (inputs.ping, inputs.http_response).
  const body = [
    `ping,host=probe-s1,url=10.1.0.1 average_response_ms=23.4,maximum_response_ms=30.1,minimum_response_ms=20.2,packets_received=5i,packets_transmitted=5i,percent_packet_loss=0,result_code=0i,standard_deviation_ms=3.1,ttl=63i ${ns}`,
    `ping,host=probe-s1,url=probe.s2.example packets_received=0i,packets_transmitted=5i,percent_packet_loss=100,result_code=1i ${ns}`,
    `http_response,host=probe-s1,method=GET,result=success,server=https://probe.s1.example/10MB,status_code=200 content_length=10485760i,http_response_code=200i,response_time=0.231,result_code=0i,result_type="success" ${ns}`,
    `ping,host=probe-s1,url=10.9.9.9 average_response_ms=5 ${ns}`,
    `mem,host=probe-s1 used_percent=40 ${ns}`,
  ].join('\n');
  const r = await post('/write', body);
  t.equal(r.status, 400, 'two lines cannot be mapped: a partial write');
  t.match(await r.json(), {
    rejected: [
      { line: 4, error: /url.*10\.9\.9\.9/ },
      { line: 5, error: /unknown measurement "mem" \(mapped: cell_kpi, link, ping, http_response\)/ },
    ],
  });
  t.match(await latest('P-1'), { source: 'probe', latencyMs: 23.4, available: true });
  t.match(
    await latest('P-2'),
    { source: 'probe', available: true, dlMbps: 0 },
    'a failed ping is a bad sample, not an outage',
  );
  t.match(await latest('H-1'), { source: 'probe', latencyMs: 231, available: true }, 'seconds scaled to ms');
});
