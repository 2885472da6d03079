/**
 * The four fault tests, against a real InfluxDB 1.6 started by the test.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { SystemClock } from '../clock/index.js';
import { parseConfig, type StoreConfig } from '../config/index.js';
import type { Point } from '../store/index.js';
import { openStores, type StoreEvent } from '../store/open.js';
import type { WritePipeline } from '../store/pipeline.js';
import { SpoolFullError } from '../store/spool.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB, type InfluxServer } from './helpers/influxdb.js';
import { makeTempDir, requireService, waitFor } from './helpers/service.js';
import { PromMetrics } from '../daemon/metrics.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Unique (series, time) per id, so InfluxDB's count is the number of distinct points. Base: recent (retention). */
const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
const point = (id: number): Point => ({
  measurement: 'cell_kpi',
  tags: { cell: `C${id % 1000}`, source: 'snmp' },
  fields: { dlMbps: (id % 100) + 0.5, available: 1 },
  ts: base + id,
});

function v1(url: string, db: string, pipeline: Record<string, unknown> = {}) {
  return parseConfig(
    {
      store: { kind: 'influxdb-v1', url, database: db, pipeline: { maxRetryDelay: '1s', timeout: '2s', ...pipeline } },
    },
    { env: {} },
  ).store as Extract<StoreConfig, { kind: 'influxdb-v1' }>;
}

async function count(influx: InfluxServer, db: string): Promise<number> {
  const r = await influx.query('SELECT count("dlMbps") FROM "cellwatch"."cell_kpi"', db);
  return (r.results[0].series?.[0]?.values[0][1] as number | undefined) ?? 0;
}

void t.test(
  'fault: InfluxDB stopped for 30 s in a 5,000 points/s stream — stored count equals produced count exactly',
  async (t) => {
    if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    const events: StoreEvent[] = [];
    const stores = await openStores(v1(influx.url, 'outage'), {
      dataDir: await makeTempDir('cellwatch-outage'),
      clock: new SystemClock(),
      log,
      metrics: new PromMetrics(new Registry()),
      onEvent: (e) => events.push(e),
    });
    t.teardown(() => stores.close());
    let produced = 0;
    const exports: Promise<void>[] = [];
    let refused = 0;
    // 500 points per 100 ms of wall time: a late tick catches up, so a busy event loop keeps the rate.
    const t0 = performance.now();
    const timer = setInterval(() => {
      const due = (Math.floor((performance.now() - t0) / 100) + 1) * 500;
      while (produced < due) {
        const first = produced;
        produced += 500;
        exports.push(
          stores.writer.export(Array.from({ length: 500 }, (_, i) => point(first + i))).catch(() => void refused++),
        );
      }
    }, 100);
    await sleep(5_000);
    await influx.stop({ keepDir: true });
    const stoppedAt = produced;
    await sleep(30_000);
    const duringOutage = produced - stoppedAt;
    await influx.restart();
    await sleep(5_000);
    clearInterval(timer);
    await Promise.all(exports);
    await waitFor(() => !(stores.writer as WritePipeline).spooling, 60_000, 'the spool to drain');
    await stores.writer.forceFlush();
    t.equal(refused, 0, 'no export was refused');
    t.ok(duringOutage >= 140_000, `${duringOutage} points produced while InfluxDB was down`);
    t.equal(await count(influx, 'outage'), produced, `InfluxDB holds exactly the ${produced} points produced`);
    t.match(
      events.map((e) => e.kind),
      ['backend-down', 'backend-up'],
      'one outage raised, one recovery',
    );
    const up = events.find((e) => e.kind === 'backend-up');
    t.ok(
      up && up.kind === 'backend-up' && up.spooledPoints > 0,
      `recovery reported ${up?.kind === 'backend-up' ? up.spooledPoints : 0} spooled points`,
    );
  },
);

void t.test(
  'fault: writer SIGKILLed mid-stream while spooling, restarted — everything acknowledged is in InfluxDB',
  async (t) => {
    if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    const dataDir = await makeTempDir('cellwatch-crash');
    const script = fileURLToPath(new URL('./fixtures/store-crash/writer.ts', import.meta.url));
    const loader = import.meta.resolve('@tapjs/typescript/import');
    const run = (mode: 'stream' | 'replay') =>
      spawn(process.execPath, [`--import=${loader}`, script, influx.url, dataDir, mode, String(base)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });

    const acked = new Set<number>();
    let ackedWhileDown = 0;
    let down = false;
    const child = run('stream');
    t.teardown(() => void child.kill('SIGKILL'));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const [kind, a, b] = line.split(' ');
      if (kind !== 'ack') return;
      for (let id = Number(a); id <= Number(b); id++) acked.add(id);
      if (down) ackedWhileDown += Number(b) - Number(a) + 1;
    });
    await waitFor(() => acked.size >= 10_000, 60_000, 'the writer to have 10,000 points acknowledged');
    await influx.stop({ keepDir: true });
    down = true;
    await waitFor(
      () => ackedWhileDown >= 10_000,
      30_000,
      '10,000 points acknowledged from the spool while InfluxDB is down',
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    lines.close();
    const spooled = readdirSync(join(dataDir, 'spool')).filter((f) => f.endsWith('.spool'));
    t.ok(spooled.length > 0, 'the killed writer left a spool');

    await influx.restart();
    const replay = run('replay');
    const out = await new Promise<string>((resolve) => {
      let text = '';
      replay.stdout.on('data', (c: Buffer) => (text += c.toString()));
      replay.once('exit', () => resolve(text));
    });
    t.match(out, /drained/, 'the restarted writer replayed its spool');
    const r = await influx.query('SELECT "dlMbps" FROM "cellwatch"."cell_kpi"', 'crash');
    // The helper asks without epoch=ms: times come back as RFC 3339 strings (ms precision is kept).
    const stored = new Set(
      (r.results[0].series[0].values as [string, number][]).map(([time]) => Date.parse(time) - base),
    );
    const missing = [...acked].filter((id) => !stored.has(id));
    t.same(
      missing.slice(0, 10),
      [],
      `every acknowledged point is stored (${acked.size} acknowledged, ${ackedWhileDown} of them from the spool; ${stored.size} stored)`,
    );
    t.ok(stored.size >= acked.size);
    t.same(
      readdirSync(join(dataDir, 'spool')).filter((f) => f.endsWith('.spool')),
      [],
      'spool empty after the replay',
    );
  },
);

void t.test(
  'fault: a batch with one malformed value — that point dead-lettered with its reason, the other 4,999 stored',
  async (t) => {
    if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    const dataDir = await makeTempDir('cellwatch-malformed');
    const events: StoreEvent[] = [];
    const stores = await openStores(v1(influx.url, 'malformed'), {
      dataDir,
      clock: new SystemClock(),
      log,
      metrics: new PromMetrics(new Registry()),
      onEvent: (e) => events.push(e),
    });
    t.teardown(() => stores.close());
    const batch = Array.from({ length: 5000 }, (_, i) => point(i));
    // A string where the schema has a float: valid line protocol, refused by InfluxDB (type conflict).
    batch[2500] = { ...point(2500), fields: { dlMbps: 'n/a', available: 1 } };
    await stores.writer.export(batch);
    t.equal(await count(influx, 'malformed'), 4999, 'the other 4,999 points are in InfluxDB');
    const files = readdirSync(join(dataDir, 'dead-letter'));
    const dead = files
      .flatMap((f) =>
        readFileSync(join(dataDir, 'dead-letter', f), 'utf8')
          .trim()
          .split('\n'),
      )
      .map((l) => JSON.parse(l) as { reason: string; point: Point });
    t.equal(dead.length, 1, 'exactly one point dead-lettered');
    t.same(dead[0]?.point, batch[2500], 'the malformed point, as it was exported');
    t.match(dead[0]?.reason, /400: .*field type conflict/, "with InfluxDB's reason");
    t.match(events, [{ kind: 'dead-lettered', points: 1 }]);
  },
);

void t.test('fault: disk spool cap reached — drops counted and reported, the writer stays up', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  const registry = new Registry();
  const events: StoreEvent[] = [];
  const stores = await openStores(v1(influx.url, 'cap', { spoolMaxBytes: '2MiB', batchSize: 500 }), {
    dataDir: await makeTempDir('cellwatch-cap'),
    clock: new SystemClock(),
    log,
    metrics: new PromMetrics(registry),
    onEvent: (e) => events.push(e),
  });
  t.teardown(() => stores.close());
  await influx.stop({ keepDir: true });
  let accepted = 0;
  let dropped = 0;
  const otherErrors: string[] = [];
  for (let i = 0; i < 100; i++) {
    const points = Array.from({ length: 500 }, (_, k) => point(i * 500 + k));
    try {
      await stores.writer.export(points);
      accepted += 500;
    } catch (err) {
      if (!(err instanceof SpoolFullError)) otherErrors.push(String(err));
      dropped += 500;
    }
  }
  t.same(otherErrors, [], 'every refusal is a SpoolFullError');
  t.ok(accepted > 0 && dropped > 0, `${accepted} accepted into the spool, ${dropped} refused at the cap`);
  const metrics = await registry.metrics();
  t.match(
    metrics,
    new RegExp(`cellwatch_store_points_dropped_total\\{backend="influxdb-v1"\\} ${dropped}\\b`),
    'drops counted on /metrics',
  );
  const raised = events
    .filter((e) => e.kind === 'dropped')
    .reduce((a, e) => a + (e.kind === 'dropped' ? e.points : 0), 0);
  t.equal(raised, dropped, 'every drop raised as an event');
  await influx.restart();
  await waitFor(() => !(stores.writer as WritePipeline).spooling, 60_000, 'the spool to drain');
  await stores.writer.export(Array.from({ length: 100 }, (_, k) => point(1_000_000 + k)));
  t.equal(await count(influx, 'cap'), accepted + 100, 'everything accepted stored, and the writer still writes');
});
