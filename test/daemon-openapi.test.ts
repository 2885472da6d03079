/**
 * The API document: a whole daemon in process (manual scheduler, embedded store in a temp dir, tokens
 * for every role) serves /api/v1/openapi.json; it is valid OpenAPI 3.1 (@readme/openapi-parser), every
 * route fastify registered is in it with its method and security, nothing else is, and the answers the
 * routes really give match the statuses and schemas it documents.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate, compileErrors } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RouteOptions } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import type { RouteDoc } from '../daemon/api/index.js';
import type { Permission } from '../daemon/auth.js';
import { Daemon } from '../daemon/daemon.js';
import { makeTempDir } from './helpers/service.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const TOKENS = {
  viewer: 'viewer-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
  ingest: 'ingest-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
};
type Role = keyof typeof TOKENS;

interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  requestBody?: { required: boolean; content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** `/api/v1/alerts/:id` → `/api/v1/alerts/{id}`, as OpenAPI writes paths. */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

async function startDaemon() {
  const dir = await makeTempDir('cellwatch-openapi-');
  const inventory = join(dir, 'cells.csv');
  writeFileSync(inventory, 'id,site,region,lat,lon\nA-1,A,R1,31.2,121.4\nA-2,A,R1,31.2,121.41\n');
  const cfg = parseConfig(
    {
      http: { listen: '127.0.0.1:0' },
      auth: { tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: role, role, token })) },
      dataDir: join(dir, 'data'),
      inventory,
    },
    { env: {} },
  );
  const routes: RouteOptions[] = [];
  const daemon = new Daemon(cfg, {
    scheduler: new ManualScheduler(new ManualClock(T0)),
    log: pino({ level: 'silent' }),
    registry: new Registry(),
    onRoute: (r) => routes.push(r),
  });
  await daemon.start();
  return { daemon, routes, url: daemon.url! };
}

void t.test('the API document', async (t) => {
  const { daemon, routes, url } = await startDaemon();
  t.teardown(() => daemon.stop());
  const get = (path: string, role?: Role) =>
    fetch(`${url}${path}`, { headers: role ? { authorization: `Bearer ${TOKENS[role]}` } : {} });

  const access: { spec: string; role?: Role; status: number }[] = [
    { spec: 'a viewer reads it', role: 'viewer', status: 200 },
    { spec: 'an admin reads it', role: 'admin', status: 200 },
    { spec: 'not public when tokens are configured', status: 401 },
    { spec: 'the ingest role cannot read it', role: 'ingest', status: 403 },
  ];
  for (const a of access) t.equal((await get('/api/v1/openapi.json', a.role)).status, a.status, a.spec);

  const doc = (await (await get('/api/v1/openapi.json', 'viewer')).json()) as Document;
  t.equal(doc.openapi, '3.1.0', 'OpenAPI 3.1');
  const verdict = await validate(structuredClone(doc) as never);
  t.ok(verdict.valid, `valid OpenAPI (@readme/openapi-parser)${verdict.valid ? '' : `:\n${compileErrors(verdict)}`}`);

  await t.test('every registered route is in it, with its method, summary and security', async (t) => {
    const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
    const expected = new Set<string>();
    const excluded: string[] = [];
    for (const r of routes) {
      const method = String(r.method);
      // fastify answers HEAD for every GET by itself: the GET's entry covers it.
      if (method === 'HEAD' && gets.has(r.url)) continue;
      // The documented exclusion: static assets (the board's files), marked hidden as @fastify/static does.
      if (r.schema?.hide) {
        t.notOk(r.url.startsWith('/api/'), `${r.url}: an API route is never hidden`);
        t.ok(['GET', 'HEAD'].includes(method), `${method} ${r.url}: only static files are hidden`);
        excluded.push(`${method} ${r.url}`);
        continue;
      }
      const path = openapiPath(r.url);
      const op = doc.paths[path]?.[method.toLowerCase()];
      expected.add(`${method.toLowerCase()} ${path}`);
      if (!t.ok(op, `${method} ${r.url} is documented`) || !op) continue;
      const cfg = (r.config ?? {}) as { permission?: Permission; doc?: RouteDoc };
      t.ok(cfg.doc?.summary, `${method} ${r.url} states its summary in config.doc`);
      t.equal(op.summary, cfg.doc?.summary, `${method} ${r.url}: summary`);
      t.strictSame(op.security, cfg.permission ? [{ bearer: [] }] : [], `${method} ${r.url}: security`);
      if (cfg.permission) {
        t.match(op.description, `\`${cfg.permission}\``, `${method} ${r.url}: permission named`);
        for (const s of ['401', '403']) t.ok(op.responses[s], `${method} ${r.url}: ${s} documented`);
      }
      t.ok(
        Object.keys(op.responses).some((s) => /^[12]/.test(s)),
        `${method} ${r.url}: a success answer is documented`,
      );
    }
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    t.strictSame(documented.sort(), [...expected].sort(), 'nothing documented that is not served');
    // DESIGN.md's public interface, whose names stay: a floor under the enumeration above.
    const design = [
      'post /api/v1/samples',
      'post /api/v1/complaints',
      'post /api/v1/complaints/{id}/events',
      'get /api/v1/complaints/{id}',
      'get /api/v1/complaints',
      'get /api/v1/complaints/stats',
      'get /api/v1/hotspots',
      'get /api/v1/notices',
      'get /api/v1/context',
      'get /api/v1/cells/{id}',
      'get /api/v1/windows',
      'get /api/v1/windows/{id}',
      'get /api/v1/targets',
      'get /api/v1/alerts',
      'get /api/v1/alerts/{id}',
      'post /api/v1/alerts/{id}/ack',
      'get /api/v1/silences',
      'post /api/v1/silences',
      'delete /api/v1/silences/{id}',
      'get /api/v1/stream',
      'get /api/v1/openapi.json',
      'get /healthz',
      'get /readyz',
      'get /metrics',
    ];
    t.strictSame(
      design.filter((op) => !expected.has(op)),
      [],
      `DESIGN.md's interface is all there (${expected.size} operations)`,
    );
    t.comment(`excluded as static assets: ${excluded.join(', ') || 'none'}`);
    t.ok(doc.paths['/api/v1/stream']?.get?.responses['101'], 'the WebSocket stream is documented with its 101');
  });

  await t.test('bodies are documented with their content types', async (t) => {
    const types: { spec: string; path: string; want: string[] }[] = [
      { spec: 'complaints: JSON or CSV', path: '/api/v1/complaints', want: ['application/json', 'text/csv'] },
      {
        spec: 'samples: JSON or line protocol',
        path: '/api/v1/samples',
        want: ['application/json', 'text/plain', 'application/octet-stream'],
      },
      { spec: 'InfluxDB write: line protocol', path: '/write', want: ['text/plain'] },
      { spec: 'ack: JSON', path: '/api/v1/alerts/{id}/ack', want: ['application/json'] },
    ];
    for (const c of types) {
      const content = doc.paths[c.path]?.post?.requestBody?.content ?? {};
      t.strictSame(Object.keys(content).sort(), [...c.want].sort(), c.spec);
    }
    t.equal(doc.paths['/api/v1/alerts/{id}/ack']?.post?.requestBody?.required, false, 'ack: the body may be left out');
    t.equal(doc.paths['/api/v1/complaints']?.post?.requestBody?.required, true, 'complaints: a body is needed');
    const sample = doc.paths['/api/v1/samples']?.post?.requestBody?.content['application/json']?.schema;
    t.match(JSON.stringify(sample), /"rsrpDbm":\{[^}]*"minimum":-160/, "samples: the decoder's ranges");
  });

  await t.test('the answers the routes give match what the document says', async (t) => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const at = new Date(T0 - 3_600_000).toISOString();
    const cases: {
      spec: string;
      method?: string;
      path: string;
      doc?: string;
      role?: Role;
      body?: unknown;
      type?: string;
      status: number;
    }[] = [
      { spec: 'liveness', path: '/healthz', status: 200 },
      { spec: 'readiness', path: '/readyz', status: 200 },
      { spec: 'metrics as text', path: '/metrics', role: 'viewer', status: 200 },
      { spec: 'no token', path: '/api/v1/cells', status: 401 },
      { spec: 'a role without read', path: '/api/v1/cells', role: 'ingest', status: 403 },
      { spec: 'cells', path: '/api/v1/cells', role: 'viewer', status: 200 },
      { spec: 'a typo in the query: ZodError problems', path: '/api/v1/cells?regoin=R1', role: 'viewer', status: 400 },
      { spec: 'one cell', path: '/api/v1/cells/A-1', doc: '/api/v1/cells/{id}', role: 'viewer', status: 200 },
      { spec: 'unknown cell', path: '/api/v1/cells/Z-9', doc: '/api/v1/cells/{id}', role: 'viewer', status: 404 },
      { spec: 'windows', path: '/api/v1/windows', role: 'viewer', status: 200 },
      { spec: 'unknown window', path: '/api/v1/windows/w', doc: '/api/v1/windows/{id}', role: 'viewer', status: 404 },
      { spec: 'targets', path: '/api/v1/targets', role: 'viewer', status: 200 },
      { spec: 'collection', path: '/api/v1/collection', role: 'viewer', status: 200 },
      { spec: 'alerts', path: '/api/v1/alerts', role: 'viewer', status: 200 },
      { spec: 'active alerts', path: '/api/v1/alerts?active=true', role: 'viewer', status: 200 },
      { spec: 'unknown alert', path: '/api/v1/alerts/x', doc: '/api/v1/alerts/{id}', role: 'viewer', status: 404 },
      {
        spec: 'ack an unknown alert',
        method: 'POST',
        path: '/api/v1/alerts/x/ack',
        doc: '/api/v1/alerts/{id}/ack',
        role: 'operator',
        body: {},
        status: 404,
      },
      { spec: 'silences', path: '/api/v1/silences', role: 'viewer', status: 200 },
      {
        spec: 'a silence',
        method: 'POST',
        path: '/api/v1/silences',
        role: 'operator',
        body: { matchers: [{ name: 'cell', value: 'A-1' }], durationMs: 3_600_000, comment: 'site works' },
        status: 201,
      },
      {
        spec: 'a silence without matchers',
        method: 'POST',
        path: '/api/v1/silences',
        role: 'operator',
        body: {},
        status: 400,
      },
      {
        spec: 'expire an unknown silence',
        method: 'DELETE',
        path: '/api/v1/silences/x',
        doc: '/api/v1/silences/{id}',
        role: 'operator',
        status: 404,
      },
      {
        spec: 'complaints as JSON, one bad',
        method: 'POST',
        path: '/api/v1/complaints',
        role: 'ingest',
        body: [
          { id: 'C-1', receivedAt: at, channel: 'hotline', category: 'network', cell: 'A-1' },
          { id: 'C-2', receivedAt: at, channel: 'fax', category: 'network', cell: 'A-1' },
        ],
        status: 202,
      },
      {
        spec: 'complaints as CSV',
        method: 'POST',
        path: '/api/v1/complaints',
        role: 'ingest',
        type: 'text/csv',
        body: `id,receivedAt,channel,category,cell\nC-3,${at},app,network,A-2\n`,
        status: 202,
      },
      { spec: 'complaints', path: '/api/v1/complaints', role: 'viewer', status: 200 },
      { spec: 'complaint stats', path: '/api/v1/complaints/stats', role: 'viewer', status: 200 },
      {
        spec: 'one complaint',
        path: '/api/v1/complaints/C-1',
        doc: '/api/v1/complaints/{id}',
        role: 'viewer',
        status: 200,
      },
      {
        spec: 'a handling event',
        method: 'POST',
        path: '/api/v1/complaints/C-1/events',
        doc: '/api/v1/complaints/{id}/events',
        role: 'ingest',
        body: { type: 'responded' },
        status: 201,
      },
      { spec: 'hot spots', path: '/api/v1/hotspots', role: 'viewer', status: 200 },
      { spec: 'context by cell', path: '/api/v1/context?cell=A-1', role: 'viewer', status: 200 },
      { spec: 'context of an unknown cell', path: '/api/v1/context?cell=Z-9', role: 'viewer', status: 404 },
      { spec: 'notices', path: '/api/v1/notices', role: 'viewer', status: 200 },
      { spec: 'notices: CAMARA 400', path: '/api/v1/notices?regoin=R1', role: 'viewer', status: 400 },
      { spec: 'notices: CAMARA 404', path: '/api/v1/notices?cell=Z-9', role: 'viewer', status: 404 },
      {
        spec: 'samples as JSON, one bad',
        method: 'POST',
        path: '/api/v1/samples',
        role: 'ingest',
        body: [
          { cell: 'A-1', ts: T0 - 60_000, dlMbps: 12 },
          { cell: 'A-1', ts: T0 - 60_000, rsrpDbm: 5 },
        ],
        status: 202,
      },
      {
        spec: 'samples as line protocol',
        method: 'POST',
        path: '/api/v1/samples?precision=ms',
        doc: '/api/v1/samples',
        role: 'ingest',
        type: 'text/plain',
        body: `cell_kpi,cell=A-2 dlMbps=8 ${T0 - 60_000}\n`,
        status: 202,
      },
      {
        spec: 'InfluxDB write',
        method: 'POST',
        path: '/write?db=x&precision=ms',
        doc: '/write',
        role: 'ingest',
        type: 'text/plain',
        body: `cell_kpi,cell=A-2 dlMbps=9 ${T0 - 30_000}\n`,
        status: 204,
      },
      {
        spec: 'InfluxDB partial write',
        method: 'POST',
        path: '/write?precision=ms',
        doc: '/write',
        role: 'ingest',
        type: 'text/plain',
        body: `cell_kpi,cell=A-2 dlMbps=9 ${T0 - 20_000}\nnot line protocol\n`,
        status: 400,
      },
      { spec: 'InfluxDB ping', path: '/ping', status: 204 },
      { spec: 'a stream ticket', method: 'POST', path: '/api/v1/stream/ticket', role: 'viewer', status: 200 },
      { spec: 'the stream without the upgrade', path: '/api/v1/stream', role: 'viewer', status: 426 },
      { spec: 'reload', method: 'POST', path: '/api/v1/admin/reload', role: 'admin', status: 200 },
    ];
    for (const c of cases) {
      const method = c.method ?? 'GET';
      const headers: Record<string, string> = c.role ? { authorization: `Bearer ${TOKENS[c.role]}` } : {};
      let body: string | undefined;
      if (c.body !== undefined) {
        headers['content-type'] = c.type ?? 'application/json';
        body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      }
      const res = await fetch(`${url}${c.path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      t.equal(res.status, c.status, `${c.spec}: status`);
      const answer = doc.paths[c.doc ?? c.path.split('?')[0]!]?.[method.toLowerCase()]?.responses[String(res.status)];
      if (!t.ok(answer, `${c.spec}: ${res.status} is documented`) || !answer) continue;
      if (!answer.content) {
        t.equal(text, '', `${c.spec}: no body, as documented`);
        continue;
      }
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      const media = answer.content[type];
      if (!t.ok(media, `${c.spec}: ${type} is the documented content type`) || !media) continue;
      const check = ajv.compile(media.schema);
      const value: unknown = type === 'application/json' ? JSON.parse(text) : text;
      t.ok(check(value), `${c.spec}: the body matches its schema ${JSON.stringify(check.errors ?? [])}`);
    }
  });
});

void t.test('without tokens (loopback only) the document is open like the rest of the API', async (t) => {
  const dir = await makeTempDir('cellwatch-openapi-open-');
  const daemon = new Daemon(parseConfig({ http: { listen: '127.0.0.1:0' }, dataDir: join(dir, 'data') }, { env: {} }), {
    scheduler: new ManualScheduler(new ManualClock(T0)),
    log: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const res = await fetch(`${daemon.url}/api/v1/openapi.json`);
  t.equal(res.status, 200, 'no token needed');
  const doc = (await res.json()) as Document;
  t.ok(doc.paths['/api/v1/alerts/{id}/ack']?.post, 'the same document');
});
