import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { ManualClock } from '../clock/index.js';
import type { Sample } from '../model/index.js';
import { EmbeddedBackend } from '../store/embedded.js';
import { ThreadedEmbeddedBackend, decodeBatch, encodeBatch } from '../store/embedded-thread.js';
import type { Point } from '../store/index.js';
import { HOUR_MS } from '../store/reading.js';
import { linkPoint, samplePoint } from '../store/schema.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const MIN = 60_000;
const RETENTION = 35 * 24 * HOUR_MS;

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'cellwatch-thread-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const cellAt = (cell: string, m: number, over: Partial<Sample> = {}) =>
  samplePoint({
    cell,
    ts: T0 + m * MIN,
    source: 'push',
    intervalS: 60,
    dlMbps: m + 0.25,
    available: m % 2 === 0,
    ...over,
  });
const link = linkPoint({ link: 'bh-1:1', site: 'S1', ts: T0, source: 'snmp', utilPct: 40, operUp: true });

/** Tags and fields as sets (order is not part of a point). */
const norm = (ps: Point[]) =>
  ps.map((p) => ({
    ...p,
    tags: Object.fromEntries(Object.entries(p.tags).sort()),
    fields: Object.fromEntries(Object.entries(p.fields).sort()),
  }));

void t.test('a batch crosses to the store thread as columns and comes back the same points', async (t) => {
  const full = samplePoint(
    { cell: 'C1', ts: T0, source: 'snmp', intervalS: 60, dlMbps: 1.5, ulMbps: 0, latencyMs: 20, rsrpDbm: -90.25 },
    { id: 'C1', site: 'S1', region: 'R1', lat: 0, lon: 0, neighbours: [] },
  );
  const noSource: Point = { measurement: 'cell_kpi', tags: { cell: 'C2' }, fields: { dlMbps: -0 }, ts: T0 };
  const cases: { spec: string; points: Point[] }[] = [
    { spec: 'an empty batch', points: [] },
    { spec: 'tags site/region/source, fields present and absent, 0 and negatives', points: [full] },
    { spec: 'no source tag, no other field, −0', points: [noSource] },
    { spec: 'a pushed minute of three cells', points: [cellAt('A', 0), cellAt('B', 0), cellAt('C', 0)] },
    { spec: 'a link among cells goes along as a point', points: [cellAt('A', 0), link, cellAt('A', 1)] },
  ];
  for (const c of cases) {
    const back = decodeBatch(encodeBatch(c.points));
    const cells = c.points.filter((p) => p.measurement === 'cell_kpi');
    const others = c.points.filter((p) => p.measurement !== 'cell_kpi');
    t.same(norm(back), norm([...cells, ...others]), c.spec);
    t.ok(
      back.every((p) => !Object.values(p.fields).some((v) => v === undefined)),
      `${c.spec}: no undefined fields`,
    );
  }
  t.ok(Object.is(decodeBatch(encodeBatch([noSource]))[0]!.fields.dlMbps, -0), '−0 stays −0');
  const odd: Point = { measurement: 'cell_kpi', tags: { cell: 'C3' }, fields: { dlMbps: Infinity }, ts: T0 };
  const batch = encodeBatch([cellAt('A', 0), odd]);
  t.same([batch.cells, batch.others], [[], [cellAt('A', 0), odd]], 'a non-finite value: the batch goes as points');
});

void t.test('threaded embedded store: durable when answered, reads as the store itself does', async (t) => {
  const clock = new ManualClock(T0 + 3 * HOUR_MS);
  const dir = tempDir(t);
  const threaded = new ThreadedEmbeddedBackend({ dataDir: dir, retentionMs: RETENTION, clock, log });
  const direct = new EmbeddedBackend({ dataDir: tempDir(t), retentionMs: RETENTION, clock, log });
  t.same(await threaded.init(), { ok: true });
  await direct.init();
  const minute = (m: number) => ['C1', 'C2', 'C3'].map((c) => cellAt(c, m, { activeUsers: m % 5 }));
  const batches = [[...minute(0), link], minute(1), minute(2), minute(1).map((p) => ({ ...p, fields: { dlMbps: 9 } }))];
  const answers = await Promise.all(batches.map((b) => threaded.write(b))); // one turn: one commit
  t.same(
    answers,
    batches.map(() => ({ ok: true })),
    'every batch acknowledged',
  );
  for (const b of batches) await direct.write(b);
  const raw = new BetterSqlite3(join(dir, 'series.db'), { readonly: true });
  t.teardown(() => raw.close());
  t.equal(
    raw.prepare('SELECT (SELECT count(*) FROM sample) + (SELECT count(*) FROM sample_recent)').pluck().get(),
    9,
    'committed when answered (the replayed minute merged, not added)',
  );
  for (const [spec, read] of [
    ['latest', (b: EmbeddedBackend | ThreadedEmbeddedBackend) => b.reader.latest()],
    ['latest of some cells', (b: EmbeddedBackend | ThreadedEmbeddedBackend) => b.reader.latest(['C2', 'nope'])],
    ['latest links', (b: EmbeddedBackend | ThreadedEmbeddedBackend) => b.reader.latestLinks()],
    ['series', (b: EmbeddedBackend | ThreadedEmbeddedBackend) => b.reader.series('C1', T0, T0 + HOUR_MS, MIN)],
    ['hourly', (b: EmbeddedBackend | ThreadedEmbeddedBackend) => b.reader.hourly(T0, T0 + HOUR_MS)],
  ] as const) {
    const want = await read(direct);
    t.ok(Array.isArray(want) && want.length > 0, `${spec}: the store itself has something to compare`);
    t.same(await read(threaded), want, `${spec}: as the store in this thread reads it`);
  }
  const bad: Point = { measurement: 'cell_kpi', tags: { cell: 'C1' }, fields: { complaintId: 1 }, ts: T0 };
  t.match(
    await threaded.write([cellAt('C1', 5), bad]),
    { ok: false, retryable: false, status: 400, reason: /unknown field "complaintId"/ },
    'a bad point: the batch refused with the reason, as the store does',
  );
  await t.rejects(threaded.reader.series('C1', T0, T0 + HOUR_MS, 0), /resolution/, 'a reader error comes back');
  t.same(
    await threaded.prune(T0 + 200 * 24 * HOUR_MS),
    await direct.prune(T0 + 200 * 24 * HOUR_MS),
    'prune runs there',
  );
  await threaded.close();
  await direct.close();
  await threaded.close();
  t.match(await threaded.write(minute(3)), { ok: false, retryable: true }, 'a closed store refuses, retryably');
});

void t.test('threaded embedded store: its log lines reach the daemon’s logger', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock(T0);
  const a = new EmbeddedBackend({ dataDir: dir, retentionMs: RETENTION, clock, log });
  await a.init();
  await new Promise((resolve) => setImmediate(resolve));
  await a.write([cellAt('C1', 0)]);
  await a.write([cellAt('C1', 1)]);
  (a as unknown as { db: BetterSqlite3.Database }).db.close(); // a crash: the rollup is left to repair
  const lines: { level: number; msg: string }[] = [];
  const captured = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[0]) });
  const b = new ThreadedEmbeddedBackend({ dataDir: dir, retentionMs: RETENTION, clock, log: captured });
  t.same(await b.init(), { ok: true });
  t.equal((await b.reader.hourly(T0, T0 + HOUR_MS))[0]?.count, 2, 'repaired in the thread');
  t.ok(
    lines.some((l) => l.level === 40 && /rebuilt hourly rollups/.test(l.msg)),
    'its warning logged here, at its level',
  );
  await b.close();
});

void t.test('threaded embedded store: a thread that stops fails every call retryably, logged once', async (t) => {
  const dir = tempDir(t);
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const captured = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[0]) });
  const b = new ThreadedEmbeddedBackend({
    dataDir: dir,
    retentionMs: RETENTION,
    clock: new ManualClock(T0),
    log: captured,
  });
  t.same(await b.init(), { ok: true });
  // A fake fault: the thread is stopped from outside (a bug in it would end it the same way).
  await (b as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  t.match(await b.write([cellAt('C1', 0)]), { ok: false, retryable: true, reason: /thread exited/ }, 'writes');
  await t.rejects(b.reader.latest(), /thread exited/, 'reads');
  t.equal(lines.filter((l) => l.level === 50).length, 1, 'one error line');
  await b.close();
});
