import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { SystemClock } from '../../clock/index.js';
import { parseConfig, type StoreConfig } from '../../config/index.js';
import { encodeLines } from '../../store/lineprotocol.js';
import { openStores } from '../../store/open.js';
import type { WritePipeline } from '../../store/pipeline.js';
import { startInfluxDB, type InfluxServer } from '../../test/helpers/influxdb.js';
import { makeTempDir } from '../../test/helpers/service.js';
import type { BenchCase, BenchContext, BenchRow } from '../index.js';
import { benchPoints, exportAll, silent } from './store-data.js';
import type { Point } from '../../store/index.js';
import { PromMetrics } from '../../daemon/metrics.js';

const run = promisify(execFile);

function v1(url: string, database: string, pipeline: Record<string, unknown> = {}) {
  return parseConfig({ store: { kind: 'influxdb-v1', url, database, rollups: false, pipeline } }, { env: {} })
    .store as Extract<StoreConfig, { kind: 'influxdb-v1' }>;
}

async function count(influx: InfluxServer, db: string): Promise<number> {
  const r = await influx.query('SELECT count("dlMbps") FROM "cellwatch"."cell_kpi"', db);
  return (r.results[0].series?.[0]?.values[0][1] as number | undefined) ?? 0;
}

/** curl posting pre-encoded 5,000-point bodies over one keep-alive connection; points/s. */
async function curlRate(influx: InfluxServer, db: string, bodies: string[], dir: string): Promise<number> {
  await influx.query(`CREATE DATABASE "${db}"`);
  await influx.query(`CREATE RETENTION POLICY "cellwatch" ON "${db}" DURATION 840h REPLICATION 1`);
  const url = `${influx.url}/write?db=${db}&rp=cellwatch&precision=ms`;
  const files: string[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const f = join(dir, `b${i}.lp`);
    await writeFile(f, bodies[i]!);
    files.push(f);
  }
  const config = files
    .map((f) => `url = "${url}"\ndata-binary = "@${f}"\noutput = "/dev/null"\nwrite-out = "%{http_code}\\n"\n`)
    .join('next\n');
  await writeFile(join(dir, 'curl.cfg'), config);
  const t0 = performance.now();
  const { stdout } = await run('curl', ['-s', '-K', join(dir, 'curl.cfg')], { maxBuffer: 1 << 24 });
  const s = (performance.now() - t0) / 1000;
  const codes = stdout.trim().split('\n');
  if (codes.some((c) => c !== '204'))
    throw new Error(`curl: not every batch got 204: ${[...new Set(codes)].join(',')}`);
  return bodies.reduce((a, b) => a + b.split('\n').length - 1, 0) / s;
}

/** cellwatch's writer (pipeline + influxdb-v1 backend), exporting like collectors do; points/s. */
async function oursRate(influx: InfluxServer, db: string, points: Point[], gzip: boolean): Promise<number> {
  const stores = await openStores(v1(influx.url, db, { gzip }), {
    dataDir: await makeTempDir('cellwatch-bench-write'),
    clock: new SystemClock(),
    log: silent,
    metrics: new PromMetrics(new Registry()),
  });
  try {
    const t0 = performance.now();
    await exportAll((p) => stores.writer.export(p), points);
    const s = (performance.now() - t0) / 1000;
    if ((stores.writer as WritePipeline).spooling) throw new Error('the writer spooled during the benchmark');
    const stored = await count(influx, db);
    if (stored !== points.length) throw new Error(`InfluxDB holds ${stored} of ${points.length} points`);
    return points.length / s;
  } finally {
    await stores.close();
  }
}

async function writeCase(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.quick ? 100_000 : 1_000_000;
  const points = benchPoints(n);
  const bodies: string[] = [];
  for (let i = 0; i < n; i += 5000) bodies.push(encodeLines(points.slice(i, i + 5000)));
  const dir = await makeTempDir('cellwatch-bench-curl');
  await mkdir(dir, { recursive: true });
  const influx = await startInfluxDB();
  try {
    // Alternate the two, three times, each into a fresh database, and keep the best of each: the
    // server's state (shard creation, compactions) and other load on the machine weigh on both alike.
    const curl: number[] = [];
    const ours: number[] = [];
    const gzipped: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      curl.push(await curlRate(influx, `curl${rep}`, bodies, dir));
      ours.push(await oursRate(influx, `ours${rep}`, points, false));
      gzipped.push(await oursRate(influx, `oursgz${rep}`, points, true));
      ctx.log(
        `influx write rep ${rep}: curl ${Math.round(curl[rep]!)}/s, cellwatch ${Math.round(ours[rep]!)}/s, with gzip ${Math.round(gzipped[rep]!)}/s`,
      );
    }
    const best = (xs: number[]) => Math.max(...xs);
    const row = (metric: string, value: number, note: string): BenchRow => ({
      case: `store: ${n.toLocaleString('en-US')} points into InfluxDB 1.6 (5,000 series, 6 fields)`,
      metric,
      ours: value,
      baseline: 'curl, 5,000-point batches, keep-alive',
      baselineValue: best(curl),
      higherIsBetter: true,
      target: '≥ 1.0× curl',
      met: value >= best(curl),
      note,
    });
    return [
      row(
        'points/s',
        best(ours),
        'writer pipeline, gzip off (as curl), 2 requests in flight, best of 3 (curl best of 3)',
      ),
      row(
        'points/s, gzip',
        best(gzipped),
        'writer pipeline with gzip on (the default, level 1), best of 3 interleaved with the others; curl sends uncompressed',
      ),
    ];
  } finally {
    await influx.stop();
  }
}

async function replayCase(ctx: BenchContext): Promise<BenchRow[]> {
  const outageS = ctx.quick ? 10 : 60;
  const rate = 10_000;
  const backlog = benchPoints(outageS * rate, 5000);
  const influx = await startInfluxDB();
  try {
    // Baseline: the writer's direct (healthy) rate for the same points, in the same run.
    const direct = await oursRate(influx, 'direct', backlog, false);
    // The drain is timed from the first acknowledged replay (the backend-up event): the reconnect
    // delay after InfluxDB returns depends on where the backoff happened to be, and is reported apart.
    let upAt = 0;
    const stores = await openStores(v1(influx.url, 'replay', { gzip: false, maxRetryDelay: '1s' }), {
      dataDir: await makeTempDir('cellwatch-bench-replay'),
      clock: new SystemClock(),
      log: silent,
      metrics: new PromMetrics(new Registry()),
      onEvent: (e) => {
        if (e.kind === 'backend-up') upAt = performance.now();
      },
    });
    try {
      // The outage: everything the collectors produced meanwhile goes to the disk spool.
      await influx.stop({ keepDir: true });
      await exportAll((p) => stores.writer.export(p), backlog);
      const writer = stores.writer as WritePipeline;
      if (!writer.spooling) throw new Error('expected the writer to be spooling');
      await influx.restart();
      const restartedAt = performance.now();
      // Collectors go on at 10,000 points/s while the backlog drains.
      let live = 0;
      // Live points lie after the backlog (in the near future), so none of them overwrites a spooled one.
      const liveBase = benchPoints(rate, 5000, Math.floor(Date.now() / 60_000) * 60_000 + 10 * 60_000);
      const liveExports: Promise<void>[] = [];
      const timer = setInterval(() => {
        liveExports.push(writer.export(liveBase.slice(0, 1000).map((p) => ({ ...p, ts: p.ts + live }))));
        live++;
      }, 100);
      while (writer.spooling) await new Promise((r) => setTimeout(r, 20));
      const s = (performance.now() - upAt) / 1000;
      const reconnectS = (upAt - restartedAt) / 1000;
      clearInterval(timer);
      await Promise.all(liveExports);
      await writer.forceFlush();
      const stored = await count(influx, 'replay');
      if (stored !== backlog.length + live * 1000)
        throw new Error(`InfluxDB holds ${stored} of ${backlog.length + live * 1000} points`);
      // Live points arriving during the drain go through the spool too (order is kept), so the spool's
      // throughput is everything it replayed over the drain time.
      const drained = (backlog.length + live * 1000) / s;
      ctx.log(
        `replay: ${backlog.length} spooled points + ${live * 1000} live ones drained in ${s.toFixed(2)} s (${Math.round(drained)}/s); first replay ${reconnectS.toFixed(2)} s after the restart`,
      );
      return [
        {
          case: `store: replay after a ${outageS} s outage at 10,000 points/s`,
          metric: 'points/s replayed from the spool',
          ours: drained,
          baseline: 'direct write rate, same points',
          baselineValue: direct,
          higherIsBetter: true,
          target: '≥ 50,000 points/s',
          met: drained >= 50_000,
          note: `${backlog.length.toLocaleString('en-US')} spooled in the outage + ${(live * 1000).toLocaleString('en-US')} live points that joined the spool during the drain (collectors went on at 10,000/s), all replayed in ${s.toFixed(1)} s, timed from the first replayed batch (${reconnectS.toFixed(1)} s after InfluxDB was back)`,
        },
      ];
    } finally {
      await stores.close();
    }
  } finally {
    await influx.stop();
  }
}

export const cases: BenchCase[] = [
  { name: 'store: InfluxDB 1.6 write vs curl', needs: ['influxd', 'curl'], run: writeCase },
  { name: 'store: spool replay after an outage', needs: ['influxd'], run: replayCase },
];
