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
  // New rows are committed to sample_recent (moved into `sample` later, in bulk): count both.
  const rows = () =>
    raw.prepare('SELECT (SELECT count(*) FROM sample) + (SELECT count(*) FROM sample_recent)').pluck().get() as number;
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

void t.test('embedded backend: new samples wait in sample_recent, moved into `sample` in bulk', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0);
  const backend = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log, mergeRows: 8 });
  await backend.init();
  const raw = new BetterSqlite3(join(dir, 'series.db'), { readonly: true });
  t.teardown(() => raw.close());
  const count = (table: string) => raw.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const minute = (m: number) => ['C1', 'C2', 'C3'].map((cell) => samplePoint(sample(cell, T0 + m * MIN)));
  t.same(await backend.write(minute(0)), { ok: true });
  t.same([count('sample_recent'), count('sample')], [3, 0], 'acknowledged rows are committed, unindexed');
  t.equal((await backend.reader.series('C1', T0, T0 + HOUR_MS, HOUR_MS))[0]?.count, 1, 'a read sees them');
  t.same([count('sample_recent'), count('sample')], [0, 3], 'having moved them first');
  t.same(await backend.write([...minute(1), ...minute(2), ...minute(3)]), { ok: true });
  t.equal(count('sample_recent'), 9, 'past mergeRows, the move waits until the answers are out');
  await new Promise((resolve) => setImmediate(resolve));
  t.same([count('sample_recent'), count('sample')], [0, 12], 'then runs');
  await backend.close();
});

void t.test('embedded backend: a failed transaction leaves nothing counted twice', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0);
  const backend = new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log });
  await backend.init();
  const samples = Array.from({ length: 6 }, (_, m) => sample('C1', T0 + m * MIN, { dlMbps: m }));
  t.same(await backend.write(samples.slice(0, 3).map((s) => samplePoint(s))), { ok: true });
  // Another connection holds the write lock: the next transaction fails (busy) after claiming its keys.
  (backend as unknown as { db: BetterSqlite3.Database }).db.pragma('busy_timeout = 0');
  const other = new BetterSqlite3(join(dir, 'series.db'));
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const later = samples.slice(3).map((s) => samplePoint(s));
  t.match(await backend.write(later), { ok: false, retryable: true }, 'refused, retryably');
  other.exec('ROLLBACK');
  t.same(await backend.write(later), { ok: true }, 'the retry lands');
  t.same(await backend.write(later), { ok: true }, 'and a replay of it changes nothing');
  t.same(await backend.reader.hourly(T0, T0 + HOUR_MS), [expectedBucket('C1', T0, samples)], 'rollup exact');
  t.same(
    await backend.reader.series('C1', T0, T0 + HOUR_MS, HOUR_MS),
    [expectedBucket('C1', T0, samples)],
    'each row once',
  );
  await backend.close();
});

/**
 * The store against a model of its promise (one row per (cell, ts, source), a later write's fields
 * win, rollups = means over those rows), on random batches: repeated keys within and across batches,
 * late and out-of-order samples, reads in between, a crash. Once with a move after nearly every batch,
 * once with sample_recent moved only by reads.
 */
void t.test('embedded backend: random writes, replays and a crash read back as the model says', async (t) => {
  for (const mergeRows of [3, 1_000_000]) {
    const dir = tempDir(t);
    const clock = new ManualClock(T0);
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const model = new Map<string, Sample>();
    const open = () => new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log, mergeRows });
    let backend = open();
    await backend.init();
    const cells = ['C0', 'C1', 'C2', 'C3', 'C4'];
    for (let b = 0; b < 60; b++) {
      const batch: Sample[] = [];
      for (let i = rnd(12); i >= 0; i--) {
        // Mostly the next minutes, some late, some repeated exactly or with other values.
        const m = rnd(4) === 0 ? rnd(b + 1) : b + rnd(3);
        const s: Sample = { cell: cells[rnd(cells.length)]!, ts: T0 + m * MIN, source: rnd(5) === 0 ? 'push' : 'snmp' };
        if (rnd(3) > 0) s.dlMbps = rnd(50);
        if (rnd(3) > 0) s.activeUsers = rnd(20);
        if (rnd(2) > 0) s.available = rnd(4) > 0;
        if (rnd(4) > 0) s.intervalS = 60;
        batch.push(s);
      }
      const writes = [backend.write(batch.map((s) => samplePoint(s)))];
      if (rnd(3) === 0) writes.push(backend.write(batch.slice(0, 2).map((s) => samplePoint(s)))); // same turn
      t.ok(
        (await Promise.all(writes)).every((r) => r.ok),
        `batch ${b} stored`,
      );
      for (const s of [...batch, ...batch.slice(0, writes.length - 1 ? 2 : 0)]) {
        const key = `${s.cell} ${s.ts} ${s.source}`;
        const was = model.get(key);
        const merged: Sample = { ...was, ...s };
        for (const f of ['dlMbps', 'activeUsers', 'available', 'intervalS'] as const)
          if (s[f] === undefined && was?.[f] !== undefined) (merged as unknown as Record<string, unknown>)[f] = was[f];
        model.set(key, merged);
      }
      if (rnd(8) === 0) await backend.reader.series('C0', T0, T0 + 3 * HOUR_MS, HOUR_MS);
      if (b === 30) {
        // A crash: whatever was in memory (rollup sums, recent keys) is gone; sample_recent is on disk.
        (backend as unknown as { db: BetterSqlite3.Database }).db.close();
        backend = open();
      }
    }
    const rows = [...model.values()];
    const hours = [0, 1];
    const expected = cells.flatMap((cell) =>
      hours
        .map((h) => {
          const inHour = rows.filter(
            (s) => s.cell === cell && s.ts >= T0 + h * HOUR_MS && s.ts < T0 + (h + 1) * HOUR_MS,
          );
          return inHour.length ? expectedBucket(cell, T0 + h * HOUR_MS, inHour) : undefined;
        })
        .filter((x) => x !== undefined),
    );
    t.same(await backend.reader.hourly(T0, T0 + 2 * HOUR_MS), expected, `mergeRows ${mergeRows}: hourly rollups`);
    const series = await Promise.all(cells.map((c) => backend.reader.series(c, T0, T0 + 2 * HOUR_MS, HOUR_MS)));
    t.same(series.flat(), expected, `mergeRows ${mergeRows}: raw rows, one per key, fields merged`);
    t.same(
      (await backend.reader.latest()).map((s) => [s.cell, s.ts]),
      cells.map((c) => [c, Math.max(...rows.filter((s) => s.cell === c).map((s) => s.ts))]),
      `mergeRows ${mergeRows}: latest`,
    );
    await backend.close();
  }
});

/** Rows as the store promises them: one per (cell, ts, source), a later write's present fields win. */
function modelRows(writes: Sample[]): Sample[] {
  const rows = new Map<string, Sample>();
  for (const s of writes) {
    const key = `${s.cell} ${s.ts} ${s.source}`;
    const merged: Record<string, unknown> = { ...rows.get(key) };
    for (const [f, v] of Object.entries(s)) if (v !== undefined) merged[f] = v;
    rows.set(key, merged as unknown as Sample);
  }
  return [...rows.values()];
}

void t.test('embedded backend: a key already stored is merged once, wherever it sits', async (t) => {
  const at = (m: number, dl: number, over: Partial<Sample> = {}) => sample('C1', T0 + m * MIN, { dlMbps: dl, ...over });
  type Step = Sample[] | 'read' | 'crash' | 'turn' | 'fail-after-move';
  const cases: { spec: string; steps: Step[]; mergeRows?: number }[] = [
    { spec: 'replay of a key still in sample_recent', steps: [[at(0, 1), at(1, 2)], [at(0, 5)]] },
    { spec: 'replay of the newest key, moved', steps: [[at(0, 1), at(1, 2)], 'read', [at(1, 7)]] },
    { spec: 'replay of an older key, moved', steps: [[at(0, 1), at(1, 2), at(2, 3)], 'read', [at(1, 7)]] },
    { spec: 'late key older than the stored newest, new', steps: [[at(0, 1), at(5, 2)], 'read', [at(3, 9)]] },
    { spec: 'out of order within sample_recent', steps: [[at(3, 1)], [at(1, 2)], [at(1, 4), at(2, 8)]] },
    { spec: 'the same key twice in one batch', steps: [[at(0, 1), at(0, 3, { ulMbps: 1 }), at(1, 1)]] },
    { spec: 'the same key in two batches of one turn', steps: [[at(0, 1)], 'turn', [at(0, 6)]] },
    { spec: 'another source is another key', steps: [[at(0, 1)], [at(0, 2, { source: 'push' })]] },
    {
      spec: 'replay after a crash (keys of sample_recent forgotten)',
      steps: [[at(0, 1), at(1, 2)], 'crash', [at(1, 3)]],
    },
    { spec: 'replay across a move by mergeRows', steps: [[at(0, 1), at(1, 2)], [at(2, 3)], [at(1, 5)]], mergeRows: 2 },
    {
      spec: 'a transaction that moved sample_recent, then failed (fake fault)',
      steps: [[at(0, 1), at(1, 2)], 'fail-after-move', [at(2, 4)], [at(1, 6)]],
    },
  ];
  for (const c of cases) {
    const dir = tempDir(t);
    const clock = new ManualClock(T0);
    const open = () =>
      new EmbeddedBackend({ dataDir: dir, retentionMs: 35 * 24 * HOUR_MS, clock, log, mergeRows: c.mergeRows });
    let backend = open();
    await backend.init();
    const written: Sample[] = [];
    for (let i = 0; i < c.steps.length; i++) {
      const step = c.steps[i]!;
      if (step === 'read') await backend.reader.series('C1', T0, T0 + HOUR_MS, HOUR_MS);
      else if (step === 'crash') {
        (backend as unknown as { db: BetterSqlite3.Database }).db.close();
        backend = open();
      } else if (step === 'turn') {
        const [a, b] = [c.steps[i - 1] as Sample[], c.steps[i + 1] as Sample[]];
        written.splice(written.length - a.length, a.length); // written again below, in one turn
        const rs = await Promise.all([a, b].map((batch) => backend.write(batch.map((s) => samplePoint(s)))));
        t.ok(
          rs.every((r) => r.ok),
          `${c.spec}: both stored`,
        );
        written.push(...a, ...b);
        i++;
      } else if (step === 'fail-after-move') {
        // A replay takes the merge path, which moves sample_recent, then the transaction fails later on.
        const stmts = (backend as unknown as { stmts: { recomputeHourly: { run: () => void } } }).stmts;
        const real = stmts.recomputeHourly.run;
        stmts.recomputeHourly.run = () => {
          throw new Error('fake fault: disk I/O error');
        };
        t.match(await backend.write([samplePoint(at(1, 9))]), { ok: false, retryable: true }, `${c.spec}: refused`);
        stmts.recomputeHourly.run = real;
      } else {
        t.ok((await backend.write(step.map((s) => samplePoint(s)))).ok, `${c.spec}: stored`);
        written.push(...step);
      }
    }
    const rows = modelRows(written).sort((a, b) => a.ts - b.ts);
    const want = [
      expectedBucket(
        'C1',
        T0,
        rows.filter((s) => s.cell === 'C1'),
      ),
    ];
    t.same(await backend.reader.hourly(T0, T0 + HOUR_MS), want, `${c.spec}: rollup`);
    t.same(await backend.reader.series('C1', T0, T0 + HOUR_MS, HOUR_MS), want, `${c.spec}: raw rows`);
    await backend.close();
  }
});
