import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { SystemClock, TimerScheduler } from '../../clock/index.js';
import { parseConfig } from '../../config/index.js';
import { Daemon } from '../../daemon/daemon.js';
import { startInfluxDB } from '../../test/helpers/influxdb.js';
import { makeTempDir } from '../../test/helpers/service.js';
import { median, type BenchCase, type BenchContext, type BenchRow } from '../index.js';
import type { LoadResult, LoadSpec } from './intake-push-load.js';

/*
 * Push intake throughput: 5,000-sample batches from a second process (intake-push-load.ts) into a
 * cellwatch daemon — through `POST /api/v1/samples` as JSON, and through the InfluxDB-compatible
 * `/write` as line protocol — and, in the same run, the same line protocol posted by the same
 * generator to a real InfluxDB 1.6's `/write`. The daemon is the whole thing a user runs: auth,
 * validation, the embedded store (fsynced SQLite) acknowledging before the 202/204, and every sample
 * through the detector, the latest KPIs and the event bus. 5,000 cells, one sample per cell and
 * minute, 10 fields; two requests in flight over keep-alive for every target alike.
 */

const LOADER = join(dirname(fileURLToPath(import.meta.url)), 'intake-push-load.js');
const TOKEN = 'bench-ingest-token-0123456789';
const CELLS = 5000;
const BATCH = 5000;
const CONCURRENCY = 2;

function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOADER, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult;
        if (r.firstError) throw new Error(`a request failed: ${r.firstError}`);
        resolve(r);
      } catch (err) {
        reject(new Error(`load generator: ${(err as Error).message} ${out.slice(-300)}`));
      }
    });
  });
}

/** A fresh daemon (embedded store, one ingest token), fed once by the generator; samples/s. */
async function cellwatchRate(
  ctx: BenchContext,
  n: number,
  endMs: number,
  route: 'samples' | 'write',
): Promise<{ rate: number; accepted: number }> {
  const dir = await makeTempDir('cellwatch-bench-push-');
  const cfg = parseConfig(
    {
      http: { listen: '127.0.0.1:0' },
      dataDir: join(dir, 'data'),
      auth: { tokens: [{ name: 'bench', role: 'ingest', token: TOKEN }] },
      // The limiter is not what is measured here.
      intake: { ratePerToken: 100_000_000, burst: 100_000_000 },
      log: { level: 'warn' },
    },
    { env: {} },
  );
  const scheduler = new TimerScheduler(new SystemClock());
  const registry = new Registry();
  const daemon = new Daemon(cfg, { scheduler, log: pino({ level: 'warn' }), registry });
  await daemon.start();
  try {
    const r = await load({
      url: route === 'samples' ? `${daemon.url}/api/v1/samples` : `${daemon.url}/write?db=cellwatch&precision=ms`,
      format: route === 'samples' ? 'json' : 'lp',
      samples: n,
      batch: BATCH,
      cells: CELLS,
      endMs,
      concurrency: CONCURRENCY,
      authorization: `Bearer ${TOKEN}`,
    });
    const metric = (await registry.getSingleMetric('cellwatch_samples_total')?.get())?.values ?? [];
    const stored = metric.reduce((a, v) => a + v.value, 0);
    if (stored !== n) throw new Error(`the daemon took ${stored} of ${n} samples`);
    if (route === 'samples' && r.accepted !== n) throw new Error(`202s accepted ${r.accepted} of ${n} samples`);
    ctx.log(
      `cellwatch ${route === 'samples' ? 'POST /api/v1/samples (JSON)' : 'POST /write (line protocol)'}: ${n} samples in ${r.seconds.toFixed(2)} s = ${Math.round(n / r.seconds)}/s (load avg ${loadavg()[0]!.toFixed(1)})`,
    );
    return { rate: n / r.seconds, accepted: stored };
  } finally {
    await daemon.stop();
    await scheduler.stop({ abort: true });
  }
}

async function influxRate(ctx: BenchContext, n: number, endMs: number, rep: number): Promise<number> {
  const influx = await startInfluxDB();
  try {
    const db = `push${rep}`;
    await influx.query(`CREATE DATABASE "${db}"`);
    const r = await load({
      url: `${influx.url}/write?db=${db}&precision=ms`,
      format: 'lp',
      samples: n,
      batch: BATCH,
      cells: CELLS,
      endMs,
      concurrency: CONCURRENCY,
    });
    const q = await influx.query('SELECT count("dlMbps") FROM "cell_kpi"', db);
    const stored = (q.results[0].series?.[0]?.values[0][1] as number | undefined) ?? 0;
    if (stored !== n) throw new Error(`InfluxDB holds ${stored} of ${n} points`);
    ctx.log(`InfluxDB 1.6 /write: ${n} points in ${r.seconds.toFixed(2)} s = ${Math.round(n / r.seconds)}/s`);
    return n / r.seconds;
  } finally {
    await influx.stop();
  }
}

async function pushCase(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.quick ? 100_000 : 1_000_000;
  const endMs = Math.floor(Date.now() / 60_000) * 60_000;
  const reps = ctx.quick ? 1 : 3;
  const influx: number[] = [];
  const json: number[] = [];
  const write: number[] = [];
  // Interleaved, one after the other (never at once: they would share the two cores), median of each.
  for (let rep = 0; rep < reps; rep++) {
    influx.push(await influxRate(ctx, n, endMs, rep));
    json.push((await cellwatchRate(ctx, n, endMs, 'samples')).rate);
    write.push((await cellwatchRate(ctx, n, endMs, 'write')).rate);
  }
  const baseline = median(influx);
  const caseName = `intake: ${n.toLocaleString('en-US')} pushed samples, 5,000 per request, from a second process`;
  const row = (metric: string, value: number, note: string): BenchRow => ({
    case: caseName,
    metric,
    ours: value,
    baseline: 'InfluxDB 1.6 /write, same line protocol, same generator',
    baselineValue: baseline,
    higherIsBetter: true,
    target: '≥ 50,000 samples/s',
    met: value >= 50_000,
    note,
  });
  const spread = (xs: number[]) => (xs.length > 1 ? ` (runs: ${xs.map((x) => Math.round(x)).join(', ')})` : '');
  return [
    row(
      'samples/s, POST /api/v1/samples (JSON)',
      median(json),
      `2 requests in flight, each answered 202 once fsynced in the embedded store; every sample through validation, the detector and the event bus; median of ${reps}${spread(json)}`,
    ),
    row(
      'samples/s, POST /write (line protocol)',
      median(write),
      `the InfluxDB-compatible route with cellwatch's own mapping, answered 204 once stored; median of ${reps}${spread(write)}; InfluxDB median of ${reps}${spread(influx)}`,
    ),
  ];
}

export const cases: BenchCase[] = [
  { name: 'intake: push throughput vs InfluxDB 1.6', needs: ['influxd'], run: pushCase },
];
