/**
 * The storage promise at the daemon level, as an operator meets it: `cellwatch run` polls the simulator
 * into a real InfluxDB 1.6, InfluxDB goes away, the daemon spools, and is then killed with SIGKILL.
 * After a restart every spooled point — each one acknowledged to the collectors' ingest — is replayed.
 * (store-influx-faults.test.ts proves the same of the write pipeline alone, point by point.)
 */
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { stringify } from 'yaml';
import type { Point } from '../store/index.js';
import { DiskSpool } from '../store/spool.js';
import { spawnCellwatch, waitReady } from './helpers/cellwatch.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB, type InfluxServer } from './helpers/influxdb.js';
import { eventually, freePort, makeTempDir, requireService, waitFor } from './helpers/service.js';

const DB = 'daemoncrash';

/** A point's identity in InfluxDB: measurement, series tags, timestamp. */
const keyOf = (measurement: string, id: string, source: string, ts: number) => `${measurement}|${id}|${source}|${ts}`;
const pointKey = (p: Point) => keyOf(p.measurement, p.tags.cell ?? p.tags.link ?? '', p.tags.source ?? '', p.ts);

async function storedKeys(influx: InfluxServer): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const [measurement, tag] of [
    ['cell_kpi', 'cell'],
    ['link', 'link'],
  ] as const) {
    const r = await influx.query(`SELECT * FROM "cellwatch"."${measurement}"`, DB);
    const series = r.results[0].series?.[0] as { columns: string[]; values: unknown[][] } | undefined;
    if (!series) continue;
    const [time, id, source] = ['time', tag, 'source'].map((c) => series.columns.indexOf(c)) as [
      number,
      number,
      number,
    ];
    for (const row of series.values)
      keys.add(keyOf(measurement, String(row[id]), String(row[source]), Date.parse(String(row[time]))));
  }
  return keys;
}

/** Every point in a spool directory, read from a copy so the evidence is not consumed. */
async function spooledPoints(dir: string, copy: string): Promise<Point[]> {
  cpSync(dir, copy, { recursive: true });
  const spool = DiskSpool.open(copy, { maxBytes: 1 << 30, log: pino({ level: 'silent' }) });
  const points: Point[] = [];
  for (let records = await spool.peek(64); records.length > 0; records = await spool.peek(64, records.at(-1))) {
    for (const r of records) points.push(...r.points);
  }
  await spool.close();
  return points;
}

const metric = async (url: string, name: string) =>
  Number(
    new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN,
  );

void t.test(
  'daemon SIGKILLed while InfluxDB is down, then restarted: every spooled point is replayed into InfluxDB',
  async (t) => {
    if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    const dir = await makeTempDir('cellwatch-daemon-crash-');
    const dataDir = join(dir, 'data');
    const port = await freePort('tcp');
    const url = `http://127.0.0.1:${port}`;
    const config = (sim: boolean) => ({
      http: { listen: `127.0.0.1:${port}` },
      dataDir,
      log: { format: 'json' },
      sim: { enabled: sim, regions: 1, sites: 6, rate: 600, seed: 11 },
      store: {
        kind: 'influxdb-v1',
        url: influx.url,
        database: DB,
        pipeline: { maxRetryDelay: '1s', timeout: '2s', flushInterval: '200ms' },
      },
    });
    const file = join(dir, 'cellwatch.yaml');
    writeFileSync(file, stringify(config(true)));

    // 1. Polling into InfluxDB.
    const first = spawnCellwatch(t, ['run', '--config', file]);
    await waitReady(url, first);
    await waitFor(
      async () => (await metric(url, 'cellwatch_store_points_written_total')) >= 100,
      20_000,
      'points written to InfluxDB',
    );

    // 2. InfluxDB goes away: the daemon keeps polling and spools what it accepts.
    await influx.stop({ keepDir: true });
    await waitFor(
      async () => (await metric(url, 'cellwatch_store_spool_points')) >= 200,
      30_000,
      `points spooled (${first.output().slice(-1500)})`,
    );
    t.equal(await metric(url, 'cellwatch_store_backend_up'), 0, 'the backend is reported down');

    // 3. SIGKILL: no drain, no flush.
    first.child.kill('SIGKILL');
    t.equal((await first.exited).signal, 'SIGKILL');
    const spooled = await spooledPoints(join(dataDir, 'spool'), join(dir, 'spool-evidence'));
    t.ok(spooled.length >= 200, `the killed daemon left ${spooled.length} points in its spool`);

    // 4. InfluxDB back, the daemon restarted (simulator off, so nothing new muddies the count).
    await influx.restart();
    writeFileSync(file, stringify(config(false)));
    const second = spawnCellwatch(t, ['run', '--config', file]);
    await waitFor(
      () => readdirSync(join(dataDir, 'spool')).every((f) => !f.endsWith('.spool')),
      30_000,
      `spool replayed (${second.output().slice(-1500)})`,
    );
    // The log line follows the last segment's deletion and still has to come through the pipe.
    await eventually(() => /spool drained/.test(second.output()), 10_000);
    t.match(second.output(), /spool drained/, 'the restarted daemon says it drained the spool');

    const stored = await storedKeys(influx);
    const missing = spooled.map(pointKey).filter((k) => !stored.has(k));
    t.same(
      missing.slice(0, 5),
      [],
      `every spooled point is in InfluxDB (${spooled.length} spooled, ${missing.length} missing, ${stored.size} stored in all)`,
    );
    t.ok(
      spooled.some((p) => p.measurement === 'cell_kpi') && spooled.some((p) => p.measurement === 'link'),
      'cell KPIs and transport links both went through the spool',
    );

    second.child.kill('SIGTERM');
    t.equal((await second.exited).code, 0, 'the restarted daemon stops cleanly');
  },
);
