import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import type { CollectionGap, Sample } from '../model/index.js';
import { EmbeddedBackend } from '../store/embedded.js';
import { HOUR_MS } from '../store/reading.js';
import type { SeriesBucket } from '../store/index.js';
import type { Migration } from '../store/sqlite.js';
import { openStores } from '../store/open.js';
import { GapRecords, RecordDb, recordMigrations } from '../store/records/index.js';
import { CELL_FIELDS, cellColumns, linkPoint, samplePoint } from '../store/schema.js';
import { PromMetrics } from '../daemon/metrics.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0); // a whole UTC hour
const MIN = 60_000;

/** The record database with its gap records, as the daemon opens them. */
function openRecords(dir: string, migrations?: readonly Migration[]) {
  const records = RecordDb.open(dir, log, migrations);
  const gaps = new GapRecords(records.db);
  return {
    db: records.db,
    addGaps: (g: CollectionGap[]) => gaps.add(g),
    gaps: (from: number, to: number, target?: string) => gaps.list(from, to, target),
    close: () => records.close(),
  };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'cellwatch-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

void t.test('record store: collection gaps', (t) => {
  const dir = tempDir(t);
  const records = openRecords(dir);
  const gaps: CollectionGap[] = [
    { target: 'site-1', cells: ['C1', 'C2'], ts: T0, reason: 'timeout' },
    { target: 'site-2', cells: ['C3'], ts: T0 + MIN, reason: 'auth', detail: 'wrong community' },
    { target: 'site-1', cells: ['C1', 'C2'], ts: T0 + 2 * MIN, reason: 'unreachable' },
  ];
  records.addGaps(gaps);
  records.addGaps([]);
  t.same(records.gaps(T0, T0 + 3 * MIN), gaps, 'all gaps in the range, oldest first, fields intact');
  t.same(records.gaps(T0, T0 + 2 * MIN), gaps.slice(0, 2), 'the range end is exclusive');
  t.same(records.gaps(T0, T0 + 3 * MIN, 'site-1'), [gaps[0], gaps[2]], 'filtered by target');
  t.equal(records.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(records.db.pragma('synchronous', { simple: true }), 1, 'synchronous=NORMAL');
  records.close();
  records.close();
  const again = openRecords(dir);
  t.same(again.gaps(0, T0 + 10 * MIN), gaps, 'rows survive a reopen');
  again.close();
  t.end();
});

void t.test('migrations: upgrade keeps rows, newer schema refused, order checked', (t) => {
  const dir = tempDir(t);
  // Version N-1 (the shipped list) with rows, then a release that appends migration N.
  const v1 = openRecords(dir);
  v1.addGaps([{ target: 'a', cells: ['C1'], ts: T0, reason: 'error', detail: 'x' }]);
  v1.close();
  const next: Migration[] = [
    ...recordMigrations,
    {
      version: recordMigrations.length + 1,
      name: 'test: a table of the next release',
      up: (db) => db.exec('CREATE TABLE next_release_table (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)'),
    },
  ];
  const v2 = openRecords(dir, next);
  t.equal(v2.db.pragma('user_version', { simple: true }), next.length, 'user_version is the new version');
  t.same(
    v2.gaps(0, T0 + 1),
    [{ target: 'a', cells: ['C1'], ts: T0, reason: 'error', detail: 'x' }],
    'existing rows kept',
  );
  v2.db.prepare('INSERT INTO next_release_table VALUES (?, ?)').run('K1', T0);
  v2.close();

  // The older release must refuse the newer file, and leave it untouched.
  t.throws(
    () => openRecords(dir),
    new RegExp(`schema version ${next.length} is newer than this cellwatch knows \\(${recordMigrations.length}\\)`),
    'older code refuses a newer database',
  );
  const raw = new BetterSqlite3(join(dir, 'cellwatch.db'));
  t.equal(raw.pragma('user_version', { simple: true }), next.length, 'refusal did not change the file');
  t.equal((raw.prepare('SELECT count(*) AS n FROM next_release_table').get() as { n: number }).n, 1);
  raw.close();

  const dir2 = tempDir(t);
  t.throws(() => openRecords(dir2, [{ version: 2, name: 'bad', up: () => undefined }]), /out of order/);

  // A failing migration rolls back whole: the version stays at N-1 and the table is not half made.
  const dir3 = tempDir(t);
  openRecords(dir3).close();
  const failing: Migration[] = [
    ...recordMigrations,
    {
      version: recordMigrations.length + 1,
      name: 'fails',
      up: (db) => {
        db.exec('CREATE TABLE half (x)');
        throw new Error('boom');
      },
    },
  ];
  t.throws(() => openRecords(dir3, failing), /boom/);
  const r3 = openRecords(dir3);
  t.equal(r3.db.pragma('user_version', { simple: true }), recordMigrations.length);
  t.equal(
    r3.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").pluck().get(),
    0,
    'no half-applied table',
  );
  r3.close();
  t.end();
});

function sample(cell: string, ts: number, over: Partial<Sample> = {}): Sample {
  return { cell, ts, source: 'snmp', intervalS: 60, dlMbps: 10, ulMbps: 2, activeUsers: 5, available: true, ...over };
}

/** Reference means over raw samples, to check the store's aggregation against. */
function expectedBucket(cell: string, ts: number, samples: Sample[]): SeriesBucket {
  const b: SeriesBucket = { cell, ts, count: samples.length };
  for (const f of ['intervalS', 'dlMbps', 'ulMbps', 'activeUsers'] as const) {
    const vs = samples.map((s) => s[f]).filter((v): v is number => v !== undefined);
    if (vs.length) b[f] = vs.reduce((a, v) => a + v, 0) / vs.length;
  }
  const av = samples.map((s) => s.available).filter((v) => v !== undefined);
  if (av.length) b.availability = av.filter(Boolean).length / av.length;
  return b;
}

void t.test('samplePoint and cellColumns spell out CELL_FIELDS, in its order', async (t) => {
  const full: Sample = { cell: 'C1', ts: T0, source: 'snmp', available: false };
  CELL_FIELDS.forEach((f, i) => {
    if (f !== 'available') (full as unknown as Record<string, number>)[f] = i + 0.5;
  });
  const p = samplePoint(full);
  t.same(Object.keys(p.fields), [...CELL_FIELDS], 'every field, in CELL_FIELDS order');
  const cols: (number | string | null)[] = [];
  cellColumns(p.fields, cols, 2);
  t.same(cols.slice(2), [...CELL_FIELDS.map((f) => p.fields[f])], 'columns in CELL_FIELDS order');
  t.equal(cols[2 + CELL_FIELDS.indexOf('available')], 0, 'available false is 0');
  const sparse = samplePoint({ cell: 'C1', ts: T0, source: 'push', dlMbps: 3 });
  t.same(sparse.fields, { dlMbps: 3 }, 'absent fields stay absent');
  cellColumns(sparse.fields, cols, 0);
  t.same(
    cols.slice(0, CELL_FIELDS.length),
    CELL_FIELDS.map((f) => (f === 'dlMbps' ? 3 : null)),
    'and are null',
  );
});

void t.test('embedded backend: writes, latest, series, hourly rollups, replay, retention', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0 + 3 * HOUR_MS);
  const backend = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  t.same(await backend.init(), { ok: true });

  // Two cells, two hours of minute samples, with varying values; C2 down for 10 minutes.
  const samples: Sample[] = [];
  for (let m = 0; m < 120; m++) {
    samples.push(sample('C1', T0 + m * MIN, { dlMbps: m % 7, activeUsers: 10 + (m % 5) }));
    samples.push(sample('C2', T0 + m * MIN, { dlMbps: 20 + (m % 3), available: !(m >= 30 && m < 40) }));
  }
  const points = samples.map((s) =>
    samplePoint(s, { id: s.cell, site: 'S1', region: 'R1', lat: 0, lon: 0, neighbours: [] }),
  );
  // Out of order across batches: the newest is written first, latest must still be the newest.
  t.same(await backend.write(points.slice(120)), { ok: true });
  t.same(await backend.write(points.slice(0, 120)), { ok: true });
  t.same(
    await backend.write([linkPoint({ link: 'bh-1:1', site: 'S1', ts: T0, source: 'snmp', utilPct: 40, operUp: true })]),
    { ok: true },
  );
  t.same(
    await backend.write([
      linkPoint({ link: 'bh-1:1', site: 'S1', ts: T0 + MIN, source: 'snmp', utilPct: 95, operUp: false }),
    ]),
    { ok: true },
  );

  const r = backend.reader;
  const latest = await r.latest();
  t.same(
    latest.map((s) => [s.cell, s.ts]),
    [
      ['C1', T0 + 119 * MIN],
      ['C2', T0 + 119 * MIN],
    ],
    'latest: newest sample of every cell',
  );
  t.same(
    latest[0],
    samples.find((s) => s.cell === 'C1' && s.ts === T0 + 119 * MIN),
    'latest sample round-trips all fields',
  );
  t.same(
    (await r.latest(['C2', 'nope'])).map((s) => s.cell),
    ['C2'],
    'latest for given cells; unknown cells absent',
  );
  t.same(await r.latestLinks(), [
    { link: 'bh-1:1', site: 'S1', ts: T0 + MIN, source: 'snmp', utilPct: 95, operUp: false },
  ]);

  const c2 = samples.filter((s) => s.cell === 'C2');
  const series = await r.series('C2', T0, T0 + HOUR_MS, 15 * MIN);
  t.same(
    series,
    [0, 1, 2, 3].map((q) =>
      expectedBucket(
        'C2',
        T0 + q * 15 * MIN,
        c2.filter((s) => s.ts >= T0 + q * 15 * MIN && s.ts < T0 + (q + 1) * 15 * MIN),
      ),
    ),
    'series: 15-min means, availability share, counts',
  );
  t.equal(series[2]!.availability, 5 / 15, 'availability is the share of up intervals');
  t.same(
    await r.series('C2', T0 + 5 * MIN, T0 + 10 * MIN, 15 * MIN),
    [expectedBucket('C2', T0, c2.slice(5, 10))],
    'range is [from, to), buckets epoch-aligned',
  );

  const hourly = await r.hourly(T0, T0 + 2 * HOUR_MS);
  const expectedHourly = ['C1', 'C2'].flatMap((cell) =>
    [0, 1].map((h) =>
      expectedBucket(
        cell,
        T0 + h * HOUR_MS,
        samples.filter((s) => s.cell === cell && s.ts >= T0 + h * HOUR_MS && s.ts < T0 + (h + 1) * HOUR_MS),
      ),
    ),
  );
  t.same(hourly, expectedHourly, 'hourly rollups equal means over the raw samples');
  t.same(await r.hourly(T0, T0 + 2 * HOUR_MS, ['C2']), expectedHourly.slice(2), 'hourly for given cells');

  // A replay of everything (after a restart, the spool sends it again) must change nothing.
  t.same(await backend.write(points), { ok: true });
  t.same(await r.hourly(T0, T0 + 2 * HOUR_MS), expectedHourly, 'replay is idempotent for rollups');
  t.same(await r.series('C2', T0, T0 + HOUR_MS, 15 * MIN), series, 'replay is idempotent for raw samples');

  // A correction of one point merges its fields (last write wins) and the hour is recomputed exactly.
  const fixed = { ...samples[0]!, dlMbps: 100 };
  t.same(await backend.write([samplePoint({ cell: 'C1', ts: T0, source: 'snmp', dlMbps: 100 })]), { ok: true });
  const c1h0 = samples.filter((s) => s.cell === 'C1' && s.ts < T0 + HOUR_MS).map((s) => (s.ts === T0 ? fixed : s));
  t.same(
    (await r.hourly(T0, T0 + HOUR_MS, ['C1']))[0],
    expectedBucket('C1', T0, c1h0),
    'corrected point: merged, hour recomputed',
  );

  // Bad data: refused whole, not retryable, with a reason naming the problem (the pipeline bisects).
  const bad = await backend.write([
    points[0]!,
    { measurement: 'cell_kpi', tags: { cell: 'C1', source: 'snmp' }, fields: { complaintId: 1 }, ts: T0 },
  ]);
  t.match(bad, { ok: false, retryable: false, reason: /unknown field "complaintId"/ });

  // Retention: 35 days after the last sample, raw rows go; rollups stay for twice as long.
  const removed = await backend.prune(T0 + 35 * 24 * HOUR_MS + HOUR_MS + 30 * MIN);
  t.equal(removed.samples, 60 + 60 + 30 + 30, 'the first hour and a half of both cells pruned');
  t.equal(
    (await r.series('C1', 0, T0 + 3 * HOUR_MS, HOUR_MS)).reduce((a, b) => a + b.count, 0),
    30,
    'the last half hour is kept',
  );
  t.equal((await r.hourly(0, T0 + 3 * HOUR_MS)).length, 4, 'rollups outlive raw samples');
  t.equal(
    (await backend.prune(T0 + 70 * 24 * HOUR_MS + 3 * HOUR_MS)).hourly,
    4,
    'rollups pruned after twice the retention',
  );
  t.same(await r.latest(), [], 'cells silent for longer than the rollups are kept leave latest');

  await backend.close();
  await backend.close();
  t.same(
    await backend.write(points),
    { ok: false, retryable: true, reason: 'embedded store: embedded series store is closed' },
    'a closed store refuses, retryably',
  );
});

void t.test('embedded backend: data survives a reopen', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0);
  const a = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  await a.write([samplePoint(sample('C1', T0))]);
  await a.close();
  const b = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  t.same(
    (await b.reader.latest()).map((s) => s.ts),
    [T0],
    'reader works before init, on the persisted file',
  );
  t.same((await b.reader.hourly(T0, T0 + HOUR_MS))[0]?.count, 1);
  await b.close();
});

void t.test('embedded backend: writes of one turn commit together, each answered after the commit', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0);
  const backend = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  await backend.init();
  const raw = new BetterSqlite3(join(dir, 'series.db'), { readonly: true });
  t.teardown(() => raw.close());
  const version = () => raw.pragma('data_version', { simple: true }) as number;
  const before = version();
  const batch = (minute: number) =>
    ['C1', 'C2', 'C3'].map((cell) => samplePoint(sample(cell, T0 + minute * MIN, { dlMbps: minute })));
  const rows = () => raw.prepare('SELECT count(*) FROM sample').pluck().get() as number;
  const writes = [backend.write(batch(0)), backend.write(batch(1))];
  t.equal(rows(), 0, 'nothing is committed before the turn ends');
  t.same(await Promise.all(writes), [{ ok: true }, { ok: true }], 'both acknowledged');
  t.equal(rows(), 6, 'every row is readable (committed) once its write resolves');
  t.equal(version() - before, 1, 'one transaction held both batches');
  t.match(await backend.write([samplePoint(sample('C1', T0))]), { ok: true }, 'a replay alone still commits');
  t.equal(version() - before, 2);
  await backend.close();
});

void t.test('embedded backend: rollups and latest held in memory are rebuilt after a crash', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0);
  const a = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  await a.init(); // runs the start-up prune (which flushes) now, not in the middle of the writes below
  await new Promise((resolve) => setImmediate(resolve));
  const samples = Array.from({ length: 30 }, (_, m) => sample('C1', T0 + m * MIN, { dlMbps: m }));
  t.same(await a.write(samples.slice(0, 20).map((s) => samplePoint(s))), { ok: true });
  t.same(await a.write(samples.slice(20).map((s) => samplePoint(s))), { ok: true }); // C1 is known now: its latest waits in memory
  // A crash: the process dies with the rollup sums and the newest sample still in memory (no flush, no close).
  (a as unknown as { db: BetterSqlite3.Database }).db.close();
  const raw = new BetterSqlite3(join(dir, 'series.db'));
  t.equal(raw.prepare('SELECT count(*) FROM sample_hourly').pluck().get(), 0, 'the crash left the rollup unwritten');
  t.equal(raw.prepare('SELECT count(*) FROM rollup_pending').pluck().get(), 1, 'but its hour is marked');
  raw.close();
  const b = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  t.same(
    await b.reader.hourly(T0, T0 + HOUR_MS),
    [expectedBucket('C1', T0, samples)],
    'rollup recomputed from the raw rows at start-up',
  );
  t.same(
    (await b.reader.latest()).map((x) => x.ts),
    [T0 + 29 * MIN],
    'latest rebuilt from the raw rows too',
  );
  await b.close();
});

void t.test('openStores (embedded): writer → reader, records, idempotent close', async (t) => {
  const dir = tempDir(t);
  const cfg = parseConfig({ dataDir: dir }, { env: {}, baseDir: dir });
  t.equal(cfg.store.kind, 'embedded', 'embedded is the default store');
  const stores = await openStores(cfg.store, {
    dataDir: dir,
    clock: new ManualClock(T0),
    log,
    metrics: new PromMetrics(new Registry()),
  });
  await stores.writer.export([samplePoint(sample('C7', T0))]);
  await stores.writer.forceFlush();
  t.same(
    (await stores.reader.latest()).map((s) => s.cell),
    ['C7'],
    'an exported sample is readable',
  );
  const gapRecords = new GapRecords(stores.records.db);
  gapRecords.add([{ target: 'x', cells: [], ts: T0, reason: 'timeout' }]);
  t.equal(gapRecords.list(T0, T0 + 1).length, 1);
  t.equal(stores.backend.kind, 'embedded');
  await Promise.all([stores.close(), stores.close()]);
  await stores.close();
  await t.rejects(
    stores.writer.export([samplePoint(sample('C7', T0 + MIN))]),
    'a closed writer refuses new points loudly',
  );
});
