/**
 * InfluxDB 2 cannot run here, so this test talks to a *recording fake*: a local HTTP server that
 * records every request (method, URL, headers, decompressed body) and answers what each case
 * scripts. It checks the request shape of the influxdb-v2 backend and how it reads every error
 * answer — not InfluxDB 2's own behaviour.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ManualClock } from '../clock/index.js';
import { parseConfig, type StoreConfig } from '../config/index.js';
import type { Point } from '../store/index.js';
import { InfluxV2Backend } from '../store/influxv2.js';
import { openStores } from '../store/open.js';
import { samplePoint } from '../store/schema.js';
import { freePort, makeTempDir } from './helpers/service.js';
import { PromMetrics } from '../daemon/metrics.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 5, 10);

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** The recording fake InfluxDB 2 server. */
async function recordingFake(): Promise<{
  url: string;
  port: number;
  requests: Recorded[];
  answer: (r: Recorded) => Answer;
  server: Server;
}> {
  const port = await freePort();
  const fake = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: [] as Recorded[],
    answer: (_r: Recorded): Answer => ({ status: 204 }),
    server: undefined as unknown as Server,
  };
  fake.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      fake.requests.push(rec);
      const a = fake.answer(rec);
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(port, '127.0.0.1', resolve));
  return fake;
}

function backend(url: string, over: Partial<ConstructorParameters<typeof InfluxV2Backend>[0]> = {}): InfluxV2Backend {
  return new InfluxV2Backend({
    url,
    org: 'noc org',
    bucket: 'cell&kpi',
    token: 'secret-token-123',
    gzip: true,
    timeoutMs: 1000,
    maxInFlight: 2,
    log,
    ...over,
  });
}

const points = (n: number): Point[] =>
  Array.from({ length: n }, (_, i) =>
    samplePoint({ cell: `C${i}`, ts: T0 + i, source: 'snmp', dlMbps: i, available: true }),
  );

void t.test('recording fake: write request shape (URL, token, gzip, line protocol)', async (t) => {
  const fake = await recordingFake();
  t.teardown(() => fake.server.close());
  const b = backend(fake.url);
  t.same(await b.write(points(3)), { ok: true });
  t.equal(fake.requests.length, 1, 'one request per batch');
  const r = fake.requests[0]!;
  t.equal(r.method, 'POST');
  t.equal(
    r.url,
    '/api/v2/write?org=noc%20org&bucket=cell%26kpi&precision=ms',
    'org, bucket, precision=ms in the query string',
  );
  t.equal(r.headers.authorization, 'Token secret-token-123', 'the token as an Authorization header');
  t.equal(r.headers['content-encoding'], 'gzip', 'gzip body');
  t.match(r.headers['content-type'], /^text\/plain/);
  t.equal(
    r.body,
    'cell_kpi,cell=C0,source=snmp dlMbps=0,available=1 ' +
      T0 +
      '\ncell_kpi,cell=C1,source=snmp dlMbps=1,available=1 ' +
      (T0 + 1) +
      '\ncell_kpi,cell=C2,source=snmp dlMbps=2,available=1 ' +
      (T0 + 2),
    'line protocol from our encoder, ms timestamps',
  );
  const plain = backend(fake.url, { gzip: false });
  t.same(await plain.write(points(1)), { ok: true });
  t.equal(fake.requests[1]!.headers['content-encoding'], undefined, 'gzip off: plain body');
  // Several writes at once must not share a client buffer: each batch is its own request.
  fake.requests = [];
  await Promise.all([b.write(points(5)), b.write(points(7)), b.write(points(2))]);
  t.same(fake.requests.map((q) => q.body.split('\n').length).sort(), [2, 5, 7], 'concurrent batches stay separate');
  await b.close();
  t.match(
    await b.write(points(1)),
    { ok: false, retryable: true },
    'after close a write is refused retryably, never swallowed',
  );
  await plain.close();
});

void t.test('recording fake: error answers are classified for the pipeline', async (t) => {
  const fake = await recordingFake();
  t.teardown(() => fake.server.close());
  const b = backend(fake.url);
  t.teardown(() => b.close());
  const cases: {
    spec: string;
    answer: Answer;
    want: { ok: boolean; retryable?: boolean; status?: number; reason?: RegExp; retryAfterMs?: number };
  }[] = [
    {
      spec: '401: credentials — kept and retried, never dead-lettered',
      answer: {
        status: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'unauthorized', message: 'unauthorized access' }),
      },
      want: { ok: false, retryable: true, reason: /401: unauthorized access \(check the credentials\)/ },
    },
    {
      spec: '404: bucket not found — kept and retried',
      answer: {
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'not found', message: 'bucket "cell&kpi" not found' }),
      },
      want: { ok: false, retryable: true, reason: /404: bucket "cell&kpi" not found/ },
    },
    {
      spec: '413: too large — a content answer, the pipeline splits the batch',
      answer: {
        status: 413,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'request too large', message: 'unable to read data: points batch is too large' }),
      },
      want: { ok: false, retryable: false, status: 413 },
    },
    {
      spec: '400: bad line — content error, bisected and dead-lettered',
      answer: {
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'invalid', message: 'partial write: field type conflict' }),
      },
      want: { ok: false, retryable: false, status: 400, reason: /field type conflict/ },
    },
    {
      spec: '429 with Retry-After: retried no sooner',
      answer: { status: 429, headers: { 'retry-after': '7' }, body: '' },
      want: { ok: false, retryable: true, retryAfterMs: 7000 },
    },
    {
      spec: '500: retried',
      answer: {
        status: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'internal error', message: 'boom' }),
      },
      want: { ok: false, retryable: true, reason: /500/ },
    },
    {
      spec: '503 with Retry-After: retried no sooner',
      answer: { status: 503, headers: { 'retry-after': '2' }, body: 'overloaded' },
      want: { ok: false, retryable: true, retryAfterMs: 2000 },
    },
  ];
  for (const c of cases) {
    fake.answer = () => c.answer;
    const r = await b.write(points(2));
    t.match(r, c.want, c.spec);
  }
  t.equal(fake.requests.length, cases.length, 'no hidden retries inside the client (maxRetries 0)');
  const refusedPort = await freePort();
  const gone = backend(`http://127.0.0.1:${refusedPort}`);
  t.match(
    await gone.write(points(1)),
    { ok: false, retryable: true, reason: /unreachable: .*ECONNREFUSED/ },
    'connection refused: retried',
  );
  await gone.close();
});

void t.test(
  'recording fake: through the pipeline — 413 split until it fits, 400 dead-lettered, 503 spooled then replayed',
  async (t) => {
    const fake = await recordingFake();
    t.teardown(() => fake.server.close());
    const dir = await makeTempDir('cellwatch-v2-fake');
    const cfg = parseConfig(
      {
        store: {
          kind: 'influxdb-v2',
          url: fake.url,
          org: 'o',
          bucket: 'b',
          token: 'tok-1234567890',
          pipeline: { batchSize: 64, flushInterval: '20ms', maxRetryDelay: '50ms' },
        },
      },
      { env: {} },
    ).store as Extract<StoreConfig, { kind: 'influxdb-v2' }>;
    const stored = new Set<string>();
    let down = false;
    fake.answer = (r): Answer => {
      if (!r.url.startsWith('/api/v2/write')) return { status: 404 };
      const lines = r.body.split('\n');
      if (down) return { status: 503, headers: { 'retry-after': '0' }, body: 'down' };
      if (lines.length > 16)
        return {
          status: 413,
          body: JSON.stringify({ code: 'request too large', message: 'too large' }),
          headers: { 'content-type': 'application/json' },
        };
      if (lines.some((l) => l.includes('cell=BAD')))
        return {
          status: 400,
          body: JSON.stringify({ code: 'invalid', message: 'field type conflict' }),
          headers: { 'content-type': 'application/json' },
        };
      for (const l of lines) stored.add(l);
      return { status: 204 };
    };
    const stores = await openStores(cfg, {
      dataDir: dir,
      clock: new ManualClock(T0),
      log,
      metrics: new PromMetrics(new Registry()),
    });
    t.teardown(() => stores.close());
    const batch = points(64);
    batch[10] = { ...batch[10]!, tags: { cell: 'BAD', source: 'snmp' } };
    await stores.writer.export(batch);
    t.equal(stored.size, 63, 'a 413 is split until the parts fit; only the refused point is missing');
    down = true;
    await stores.writer.export(points(20).map((p) => ({ ...p, ts: p.ts + 1000 })));
    t.equal(stored.size, 63, 'nothing stored while the fake answers 503');
    down = false;
    const start = performance.now();
    while (stored.size < 83 && performance.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
    t.equal(stored.size, 83, 'spooled points replayed once the fake accepts again');
  },
);

void t.test('recording fake: Flux reads — query shape and CSV parsing', async (t) => {
  const fake = await recordingFake();
  t.teardown(() => fake.server.close());
  const b = backend(fake.url);
  t.teardown(() => b.close());
  const csv = (cols: string[], types: string[], rows: string[][]) =>
    [
      `#datatype,string,long,${types.join(',')}`,
      `#group,false,false,${types.map(() => 'false').join(',')}`,
      `#default,_result,,${types.map(() => '').join(',')}`,
      `,result,table,${cols.join(',')}`,
      ...rows.map((r) => `,,0,${r.join(',')}`),
      '',
    ].join('\r\n');
  fake.answer = (r) => {
    const q = (JSON.parse(r.body) as { query: string }).query;
    if (q.includes('pivot')) {
      return {
        status: 200,
        headers: { 'content-type': 'text/csv' },
        body: csv(
          ['_time', 'cell', 'region', 'site', 'source', 'dlMbps', 'available'],
          ['dateTime:RFC3339', 'string', 'string', 'string', 'string', 'double', 'double'],
          [[new Date(T0).toISOString(), 'C1', 'North', 'S1', 'snmp', '12.5', '1']],
        ),
      };
    }
    const fn = q.includes('fn: mean') ? 'mean' : 'count';
    return {
      status: 200,
      headers: { 'content-type': 'text/csv' },
      body: csv(
        ['_time', 'cell', 'source', '_field', '_value'],
        ['dateTime:RFC3339', 'string', 'string', 'string', 'double'],
        [
          [new Date(T0).toISOString(), 'C1', 'snmp', 'dlMbps', fn === 'mean' ? '10' : '4'],
          [new Date(T0).toISOString(), 'C1', 'snmp', 'available', fn === 'mean' ? '0.75' : '4'],
          [new Date(T0).toISOString(), 'C1', 'probe', 'dlMbps', fn === 'mean' ? '20' : '1'],
        ],
      ),
    };
  };
  t.same(
    await b.reader.latest(['C1']),
    [{ cell: 'C1', ts: T0, source: 'snmp', dlMbps: 12.5, available: true }],
    'latest parsed from the pivoted row',
  );
  const latestQuery = (JSON.parse(fake.requests[0]!.body) as { query: string; dialect: unknown }).query;
  t.equal(fake.requests[0]!.url, '/api/v2/query?org=noc%20org');
  t.equal(fake.requests[0]!.headers.authorization, 'Token secret-token-123');
  t.match(
    latestQuery,
    /from\(bucket: "cell&kpi"\)[\s\S]*range\(start: -3024000000ms\)[\s\S]*r\._measurement == "cell_kpi" and \(r\.cell == "C1"\)[\s\S]*pivot\(rowKey: \["_time"\], columnKey: \["_field"\][\s\S]*group\(columns: \["cell"\]\)[\s\S]*limit\(n: 1\)/,
  );
  fake.requests = [];
  const buckets = await b.reader.series('C1', T0, T0 + 3_600_000, 900_000);
  t.same(
    buckets,
    [{ cell: 'C1', ts: T0, count: 5, dlMbps: 12, availability: 0.75 }],
    'mean and count merged across sources, weighted by count',
  );
  const seriesQuery = (JSON.parse(fake.requests[0]!.body) as { query: string }).query;
  t.match(
    seriesQuery,
    /range\(start: time\(v: "2026-01-05T10:00:00.000Z"\), stop: time\(v: "2026-01-05T11:00:00.000Z"\)\)[\s\S]*aggregateWindow\(every: 900000ms, fn: (mean|count), createEmpty: false, timeSrc: "_start"\)/,
  );
  t.equal(fake.requests.length, 2, 'one mean and one count query');
  const injected = await b.reader.latest(['x" or true or r.cell == "y']);
  t.same(injected.length, 1);
  t.match(
    (JSON.parse(fake.requests.at(-1)!.body) as { query: string }).query,
    /r\.cell == "x\\" or true or r\.cell == \\"y"/,
    'cell ids are sanitised string literals',
  );
});
