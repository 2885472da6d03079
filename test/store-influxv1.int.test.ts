import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock } from '../clock/index.js';
import { parseConfig, type StoreConfig } from '../config/index.js';
import type { Cell, Sample } from '../model/index.js';
import { EmbeddedBackend } from '../store/embedded.js';
import { HOUR_MS } from '../store/reading.js';
import type { SeriesBucket } from '../store/index.js';
import { InfluxV1Backend } from '../store/influxv1.js';
import { openStores } from '../store/open.js';
import { linkPoint, samplePoint } from '../store/schema.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB } from './helpers/influxdb.js';
import { makeTempDir, requireService } from './helpers/service.js';
import { PromMetrics } from '../daemon/metrics.js';

const log = pino({ level: 'silent' });
const MIN = 60_000;
// Event time some hours back (InfluxDB refuses points older than the retention policy, measured on
// its wall clock): every write is "late" for the continuous query, so the backend's own backfill has
// to produce the rollups.
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 8 * HOUR_MS;

const cells: Cell[] = [
  { id: 'C1', site: 'S1', region: 'North', lat: 0, lon: 0, neighbours: [] },
  { id: 'C 2,x=y', site: 'S 2', region: 'South, East', lat: 0, lon: 0, neighbours: [] },
];

/** Two cells, three hours of minute samples (with integral and fractional values), and a probe. */
function dataset(): Sample[] {
  const out: Sample[] = [];
  for (let m = 0; m < 180; m++) {
    out.push({
      cell: 'C1',
      ts: T0 + m * MIN,
      source: 'snmp',
      intervalS: 60,
      dlMbps: m % 2 === 0 ? 10 : 12.5,
      activeUsers: 5 + (m % 4),
      prbUtilPct: 40 + (m % 10),
      available: m % 30 !== 0,
    });
    out.push({
      cell: 'C 2,x=y',
      ts: T0 + m * MIN,
      source: 'snmp',
      intervalS: 60,
      dlMbps: 3 + (m % 5) * 0.1,
      rsrpDbm: -100 - (m % 7),
      available: true,
    });
  }
  out.push({ cell: 'C1', ts: T0 + 30 * MIN + 1, source: 'probe', latencyMs: 42 });
  return out;
}

function close(t: Test, a: number | undefined, b: number | undefined, what: string): void {
  if (a === undefined || b === undefined) t.equal(a, b, what);
  else t.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} ≈ ${b}`);
}

function sameBuckets(t: Test, got: SeriesBucket[], want: SeriesBucket[], what: string): void {
  t.same(
    got.map((b) => [b.cell, b.ts, b.count]),
    want.map((b) => [b.cell, b.ts, b.count]),
    `${what}: same buckets and counts`,
  );
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    for (const k of [
      'dlMbps',
      'activeUsers',
      'prbUtilPct',
      'rsrpDbm',
      'latencyMs',
      'availability',
      'intervalS',
    ] as const)
      close(t, got[i]![k], want[i]![k], `${what} ${got[i]!.cell} ${k}`);
  }
}

void t.test('influxdb-v1 against a real InfluxDB 1.6: schema, writes, reads equal to the embedded store', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  const dir = await makeTempDir('cellwatch-influxv1');
  const clock = new ManualClock(T0 + 3 * HOUR_MS + 5 * MIN);
  const cfg = parseConfig(
    {
      store: {
        kind: 'influxdb-v1',
        url: influx.url,
        database: 'cw',
        pipeline: { flushInterval: '50ms', batchSize: 100 },
      },
    },
    { env: {} },
  ).store as Extract<StoreConfig, { kind: 'influxdb-v1' }>;
  const stores = await openStores(cfg, { dataDir: dir, clock, log, metrics: new PromMetrics(new Registry()) });
  t.teardown(() => stores.close());

  // Administration: database, both retention policies, the continuous query.
  const rps = await influx.query('SHOW RETENTION POLICIES ON "cw"');
  const rpRows = rps.results[0].series[0].values as [string, string][];
  t.same(
    rpRows.filter((r) => r[0].startsWith('cellwatch')).map((r) => [r[0], r[1]]),
    [
      ['cellwatch', '840h0m0s'],
      ['cellwatch_rollup', '1680h0m0s'],
    ],
    'raw kept 35 d, rollups 70 d',
  );
  const cqs = await influx.query('SHOW CONTINUOUS QUERIES');
  const cq = (cqs.results[0].series as { name: string; values: string[][] }[]).find((s) => s.name === 'cw')?.values[0];
  t.equal(cq?.[0], 'cellwatch_cell_kpi_1h', 'hourly rollup continuous query created');
  t.match(cq?.[1], /RESAMPLE EVERY 1h FOR 2h.*mean\(\*\), count\(\*\) INTO cw\.cellwatch_rollup\.cell_kpi_1h/);

  const samples = dataset();
  const byCell = new Map(cells.map((c) => [c.id, c]));
  const points = samples.map((s) => samplePoint(s, byCell.get(s.cell)));
  await stores.writer.export(points);
  await stores.writer.export([
    linkPoint({ link: 'bh-1:1', site: 'S1', ts: T0, source: 'snmp', inMbps: 100, utilPct: 10, operUp: true }, 'North'),
    linkPoint(
      { link: 'bh-1:1', site: 'S1', ts: T0 + MIN, source: 'snmp', inMbps: 950.5, utilPct: 95.05, operUp: false },
      'North',
    ),
  ]);
  const count = await influx.query('SELECT count("available") FROM "cellwatch"."cell_kpi"', 'cw');
  t.equal(count.results[0].series[0].values[0][1], 360, 'every sample stored');
  t.same(
    rpRows.filter((r) => (r as unknown[])[4]).map((r) => r[0]),
    ['cellwatch'],
    'a database cellwatch created has cellwatch as its default retention policy',
  );
  const plain = await influx.query('SELECT count("available") FROM "cell_kpi"', 'cw');
  t.equal(plain.results[0].series?.[0]?.values[0][1], 360, 'so a plain SELECT without the policy finds the data');
  const fieldTypes = await influx.query('SHOW FIELD KEYS FROM "cellwatch"."cell_kpi"', 'cw');
  t.same(
    [...new Set((fieldTypes.results[0].series[0].values as string[][]).map((v) => v[1]))],
    ['float'],
    'every field is a float, integral values included',
  );
  const tags = await influx.query('SHOW TAG VALUES FROM "cellwatch"."cell_kpi" WITH KEY = "region"', 'cw');
  t.same(
    (tags.results[0].series[0].values as string[][]).map((v) => v[1]).sort(),
    ['North', 'South, East'],
    'escaped tag values stored verbatim',
  );

  // The same data in the embedded store: both readers must answer the same.
  const embedded = new EmbeddedBackend({
    dataDir: await makeTempDir('cellwatch-embedded-ref'),
    retentionMs: 35 * 24 * HOUR_MS,
    clock,
    log,
  });
  t.teardown(() => embedded.close());
  t.same(await embedded.write([...points]), { ok: true });
  const ref = embedded.reader;
  const r = stores.reader;

  t.same(await r.latest(), await ref.latest(), 'latest: the same newest sample per cell');
  t.same(await r.latest(['C 2,x=y']), await ref.latest(['C 2,x=y']), 'latest for one (awkwardly named) cell');
  t.same(
    await r.latestLinks(),
    [{ link: 'bh-1:1', site: 'S1', ts: T0 + MIN, source: 'snmp', inMbps: 950.5, utilPct: 95.05, operUp: false }],
    'latest link',
  );
  sameBuckets(
    t,
    await r.series('C1', T0, T0 + 2 * HOUR_MS, 15 * MIN),
    await ref.series('C1', T0, T0 + 2 * HOUR_MS, 15 * MIN),
    'series 15 min',
  );
  sameBuckets(
    t,
    await r.series('C 2,x=y', T0 + 7 * MIN, T0 + 52 * MIN, 10 * MIN),
    await ref.series('C 2,x=y', T0 + 7 * MIN, T0 + 52 * MIN, 10 * MIN),
    'series, unaligned range',
  );

  // Before any rollup exists the reader computes hours from raw data.
  const backend = stores.backend as InfluxV1Backend;
  const want = await ref.hourly(T0, T0 + 3 * HOUR_MS);
  t.equal(want.length, 6);
  sameBuckets(t, await r.hourly(T0, T0 + 3 * HOUR_MS), want, 'hourly (raw fallback)');
  // Late points are rolled up by the backend's backfill; then the reader uses the rollups.
  await backend.flushLateHours();
  const rolled = await influx.query('SELECT count("count_available") FROM "cellwatch_rollup"."cell_kpi_1h"', 'cw');
  t.equal(rolled.results[0].series[0].values[0][1], 6, 'six cell-hours rolled up by the backfill');
  sameBuckets(t, await r.hourly(T0, T0 + 3 * HOUR_MS), want, 'hourly (from rollups)');
  sameBuckets(
    t,
    await r.hourly(T0, T0 + 3 * HOUR_MS, ['C1']),
    want.filter((b) => b.cell === 'C1'),
    'hourly for one cell',
  );
  // A rollup from the raw rows and one computed now agree even for a partly rolled range.
  await influx.query(`DELETE FROM "cell_kpi_1h" WHERE time >= ${(T0 + 2 * HOUR_MS) * 1e6}`, 'cw');
  sameBuckets(t, await r.hourly(T0, T0 + 3 * HOUR_MS), want, 'hourly (rollups + raw for the missing hour)');
});

void t.test('influxdb-v1: a database the operator made keeps the default retention policy they chose', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  await influx.query('CREATE DATABASE "ops"');
  const backend = new InfluxV1Backend({
    url: influx.url,
    database: 'ops',
    retentionPolicy: 'cellwatch',
    retentionMs: 35 * 24 * HOUR_MS,
    rollups: false,
    gzip: false,
    timeoutMs: 2000,
    maxInFlight: 1,
    clock: new ManualClock(T0),
    log,
  });
  t.teardown(() => backend.close());
  t.same(await backend.init(), { ok: true });
  const rps = (await influx.query('SHOW RETENTION POLICIES ON "ops"')).results[0].series[0].values as unknown[][];
  t.same(
    rps.filter((r) => r[4]).map((r) => r[0]),
    ['autogen'],
    'autogen stays the default; cellwatch writes to its own policy by name',
  );
  t.ok(
    rps.some((r) => r[0] === 'cellwatch'),
    'the cellwatch policy exists beside it',
  );
});

void t.test(
  'influxdb-v1: gzip bodies, a dropped database is re-created, an unreachable server is retryable',
  async (t) => {
    if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    const clock = new ManualClock(T0);
    const backend = new InfluxV1Backend({
      url: influx.url,
      database: 'gz',
      retentionPolicy: 'cellwatch',
      retentionMs: 35 * 24 * HOUR_MS,
      rollups: false,
      gzip: true,
      timeoutMs: 2000,
      maxInFlight: 2,
      clock,
      log,
    });
    t.same(await backend.init(), { ok: true });
    const pts = Array.from({ length: 1000 }, (_, i) =>
      samplePoint({ cell: `C${i % 10}`, ts: T0 + i * 1000, source: 'snmp', dlMbps: i }),
    );
    t.same(await backend.write(pts), { ok: true }, 'gzip-compressed write accepted');
    await influx.query('DROP DATABASE "gz"');
    const r = await backend.write(pts);
    t.match(
      r,
      { ok: false, retryable: true, reason: /404.*database not found/ },
      'a missing database is retryable, never dead-lettered',
    );
    t.same(await backend.write(pts), { ok: true }, 'the next write re-creates the database first');
    const count = await influx.query('SELECT count("dlMbps") FROM "cellwatch"."cell_kpi"', 'gz');
    t.equal(count.results[0].series[0].values[0][1], 1000);
    const refused = await backend.write([
      { measurement: 'cell_kpi', tags: { cell: 'C1', source: 'snmp' }, fields: { dlMbps: 'text' }, ts: T0 },
    ]);
    t.match(
      refused,
      { ok: false, retryable: false, status: 400, reason: /field type conflict/ },
      'a type conflict is a content error',
    );
    await backend.close();
    await influx.stop();
    const down = new InfluxV1Backend({
      url: influx.url,
      database: 'gz',
      retentionPolicy: 'cellwatch',
      retentionMs: HOUR_MS,
      rollups: false,
      gzip: false,
      timeoutMs: 500,
      maxInFlight: 1,
      clock,
      log,
    });
    t.match(await down.init(), { ok: false, retryable: true, reason: /unreachable/ });
    t.match(await down.write(pts), { ok: false, retryable: true, reason: /unreachable: .*ECONNREFUSED/ });
    await down.close();
  },
);

void t.test(
  'influxdb-v1: late hours awaiting a rollup backfill survive a crash; the next start rolls them up',
  async (t) => {
    if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    const dir = await makeTempDir('cellwatch-late-hours');
    const pendingHoursFile = join(dir, 'rollup-pending.json');
    const clock = new ManualClock(T0 + 3 * HOUR_MS);
    const open = () =>
      new InfluxV1Backend({
        url: influx.url,
        database: 'late',
        retentionPolicy: 'cellwatch',
        retentionMs: 35 * 24 * HOUR_MS,
        rollups: true,
        gzip: false,
        timeoutMs: 2000,
        maxInFlight: 1,
        clock,
        pendingHoursFile,
        log,
      });
    const rollups = async () => {
      const r = await influx.query('SELECT "count_dlMbps" FROM "cellwatch_rollup"."cell_kpi_1h"', 'late');
      return ((r.results[0].series?.[0]?.values ?? []) as [string, number][]).map(([time, n]) => [
        Date.parse(time) - T0,
        n,
      ]);
    };

    const first = open();
    t.same(await first.init(), { ok: true });
    // Points hours behind InfluxDB's clock, as a spool replay delivers them: the CQ will not revisit them.
    const late = [0, 1, 2].flatMap((h) => [
      samplePoint({ cell: 'C1', ts: T0 + h * HOUR_MS + MIN, source: 'snmp', dlMbps: 1 }),
      samplePoint({ cell: 'C1', ts: T0 + h * HOUR_MS + 2 * MIN, source: 'snmp', dlMbps: 2 }),
    ]);
    t.same(await first.write(late.filter((p) => p.ts < T0 + 2 * HOUR_MS)), { ok: true });
    t.same(await first.write(late.filter((p) => p.ts >= T0 + 2 * HOUR_MS)), { ok: true });
    t.same(
      JSON.parse(readFileSync(pendingHoursFile, 'utf8')),
      [T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS],
      'the late hours are on disk before the debounced backfill',
    );
    const leftByACrash = readFileSync(pendingHoursFile);
    await first.close();
    t.same(
      await rollups(),
      [
        [0, 2],
        [HOUR_MS, 2],
        [2 * HOUR_MS, 2],
      ],
      'a clean stop backfills them',
    );
    t.notOk(existsSync(pendingHoursFile), 'and forgets them');

    // A process killed inside the debounce leaves the list, and the first hour's rollup made by the CQ
    // from part of its points. Start-up's own backfill covers only hours from the newest rollup on.
    const partial = await fetch(`${influx.url}/write?db=late&rp=cellwatch_rollup&precision=ms`, {
      method: 'POST',
      body: `cell_kpi_1h,cell=C1,source=snmp count_dlMbps=1i,mean_dlMbps=1 ${T0}`,
    });
    t.equal(partial.status, 204);
    t.same(
      await rollups(),
      [
        [0, 1],
        [HOUR_MS, 2],
        [2 * HOUR_MS, 2],
      ],
      'the first hour rolled up from half its points',
    );
    writeFileSync(pendingHoursFile, leftByACrash);
    const second = open();
    t.teardown(() => second.close());
    t.same(await second.init(), { ok: true });
    t.same(
      await rollups(),
      [
        [0, 2],
        [HOUR_MS, 2],
        [2 * HOUR_MS, 2],
      ],
      'the next start backfills every remembered hour in full',
    );
    t.notOk(existsSync(pendingHoursFile), 'and forgets them');
  },
);
