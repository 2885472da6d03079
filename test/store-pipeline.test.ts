import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock } from '../clock/index.js';
import type { PipelineConfig } from '../config/index.js';
import type { Point, SeriesBackend, WriteResult } from '../store/index.js';
import type { StoreEvent } from '../store/open.js';
import { DeadLetterFile } from '../store/deadletter.js';
import { WritePipeline, type PipelineDeps } from '../store/pipeline.js';
import { DiskSpool, SpoolFullError } from '../store/spool.js';
import { makeTempDir, waitFor } from './helpers/service.js';
import { PromMetrics } from '../daemon/metrics.js';

const log = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 5, 10);

const cfg = (over: Partial<PipelineConfig> = {}): PipelineConfig => ({
  batchSize: 100,
  flushInterval: 20,
  maxInFlight: 2,
  gzip: false,
  maxRetryDelay: 40,
  timeout: 1000,
  spoolMaxBytes: 64 * 1024 * 1024,
  deadLetterRetention: 35 * 86_400_000,
  ...over,
});

const pt = (i: number, over: Partial<Point> = {}): Point => ({
  measurement: 'cell_kpi',
  tags: { cell: `C${i % 7}`, source: 'snmp' },
  fields: { dlMbps: i },
  ts: T0 + i,
  ...over,
});
const pts = (n: number, from = 0) => Array.from({ length: n }, (_, i) => pt(from + i));

/** A backend whose answer per request is scripted; it records what it was sent. */
class FakeBackend implements SeriesBackend {
  readonly kind = 'influxdb-v1' as const;
  requests: Point[][] = [];
  /** Requests the backend answered with success, in answer order. */
  accepted: Point[][] = [];
  stored = new Map<number, Point>();
  concurrent = 0;
  maxConcurrent = 0;
  delayMs = 0;
  answer: (points: readonly Point[]) => WriteResult | Promise<WriteResult> = () => ({ ok: true });
  initAnswer: () => WriteResult = () => ({ ok: true });
  init(): Promise<WriteResult> {
    return Promise.resolve(this.initAnswer());
  }
  async write(points: readonly Point[]): Promise<WriteResult> {
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      this.requests.push([...points]);
      const r = await this.answer(points);
      if (r.ok) {
        this.accepted.push([...points]);
        for (const p of points) this.stored.set(p.ts, p);
      }
      return r;
    } finally {
      this.concurrent--;
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function setup(
  t: Test,
  opts: {
    cfg?: Partial<PipelineConfig>;
    spool?: boolean;
    dir?: string;
    backend?: FakeBackend;
    deps?: Partial<PipelineDeps>;
  } = {},
) {
  const dir = opts.dir ?? (await makeTempDir('cellwatch-pipeline'));
  const backend = opts.backend ?? new FakeBackend();
  const events: StoreEvent[] = [];
  const registry = new Registry();
  const pipeline = new WritePipeline(backend, cfg(opts.cfg), {
    dataDir: dir,
    clock: new ManualClock(T0),
    log,
    metrics: new PromMetrics(registry),
    onEvent: (e) => events.push(e),
    spool: opts.spool ?? true,
    random: () => 0.5,
    shutdownGraceMs: 300,
    ...opts.deps,
  });
  await pipeline.start();
  t.teardown(() => pipeline.shutdown());
  const metric = async (name: string): Promise<number> => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    return (
      (m?.values as { value: number; labels: Record<string, string> }[] | undefined)
        ?.filter((v) => !v.labels.outcome)
        .reduce((a, v) => a + v.value, 0) ?? NaN
    );
  };
  return { dir, backend, events, pipeline, registry, metric };
}

void t.test('batching: full batches at once, the rest after flushInterval; bounded in flight', async (t) => {
  const { backend, pipeline, metric } = await setup(t, { cfg: { batchSize: 100, maxInFlight: 2, flushInterval: 50 } });
  backend.delayMs = 10;
  const started = performance.now();
  await pipeline.export(pts(1050));
  t.same(
    backend.requests.map((r) => r.length),
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50],
    'ten full batches and one partial',
  );
  t.ok(performance.now() - started >= 45, 'the partial batch waited for flushInterval');
  t.equal(backend.maxConcurrent, 2, 'never more than maxInFlight requests at once');
  t.same(
    backend.requests.flat().map((p) => p.ts),
    pts(1050).map((p) => p.ts),
    'points sent in export order',
  );
  t.equal(await metric('cellwatch_store_points_written_total'), 1050);
  t.equal(await metric('cellwatch_store_queue_points'), 0, 'queue empty once acknowledged');
  // Many small exports share batches.
  backend.requests = [];
  await Promise.all(Array.from({ length: 30 }, (_, i) => pipeline.export(pts(10, 2000 + i * 10))));
  t.same(
    backend.requests.map((r) => r.length),
    [100, 100, 100],
    'small exports are batched together',
  );
  await pipeline.export([]);
  t.equal(backend.requests.length, 3, 'an empty export sends nothing');
});

void t.test('bad data: invalid points dead-lettered up front, refused points found by bisection', async (t) => {
  const { dir, backend, pipeline, events, metric } = await setup(t, { cfg: { batchSize: 5000, maxInFlight: 1 } });
  // The server refuses any batch that contains the poisoned point (a field type conflict, say).
  backend.answer = (points) =>
    points.some((p) => p.fields.dlMbps === 'oops')
      ? { ok: false, retryable: false, status: 400, reason: 'field type conflict: dlMbps is float' }
      : { ok: true };
  const batch = pts(5000);
  batch[1234] = pt(1234, { fields: { dlMbps: 'oops' } });
  batch[4321] = pt(4321, { fields: { dlMbps: NaN } });
  await pipeline.export(batch);
  t.equal(backend.stored.size, 4998, 'every good point landed');
  t.notOk(backend.stored.has(T0 + 1234), 'the refused point is not stored');
  t.notOk(
    backend.requests.some((r) => r.some((p) => Number.isNaN(p.fields.dlMbps))),
    'the NaN point was never sent',
  );
  t.ok(
    backend.requests.length <= 2 * Math.ceil(Math.log2(5000)) + 2,
    `bisection took ${backend.requests.length} requests (≈ 2·log2 n)`,
  );
  const files = readdirSync(join(dir, 'dead-letter'));
  t.same(files, ['2026-01-05.jsonl'], 'dead-letter file named by UTC day');
  const lines = readFileSync(join(dir, 'dead-letter', files[0]!), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { reason: string; point: Point; at: string });
  t.equal(lines.length, 2);
  const byTs = new Map(lines.map((l) => [l.point.ts, l]));
  t.match(byTs.get(T0 + 1234), {
    reason: 'field type conflict: dlMbps is float',
    point: { fields: { dlMbps: 'oops' } },
    at: '2026-01-05T10:00:00.000Z',
  });
  t.match(byTs.get(T0 + 4321)?.reason, /field dlMbps is NaN/);
  t.equal(await metric('cellwatch_store_points_dead_lettered_total'), 2);
  t.same(events.map((e) => e.kind).sort(), ['dead-lettered', 'dead-lettered']);
});

void t.test('dead-letter day files past their retention are deleted when a new day starts', async (t) => {
  const DAY = 86_400_000;
  const dir = await makeTempDir('cellwatch-deadletter');
  const clock = new ManualClock(Date.UTC(2026, 0, 10, 23, 59));
  const file = new DeadLetterFile(dir, clock, 2 * DAY);
  for (const day of ['2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', 'notes'])
    writeFileSync(join(dir, `${day}.jsonl`), '{}\n');
  writeFileSync(join(dir, 'README'), 'kept: not a day file');
  await file.append([pt(1)], 'first of the day');
  // Retention 2 days on 01-10: the 07th ended 2 days + 23:59 ago (gone); the 08th ended 1 day + 23:59 ago (kept).
  t.same(
    readdirSync(dir).sort(),
    ['2026-01-08.jsonl', '2026-01-09.jsonl', '2026-01-10.jsonl', 'README', 'notes.jsonl'],
    'older days deleted, the rest untouched',
  );
  writeFileSync(join(dir, '2026-01-05.jsonl'), '{}\n');
  await file.append([pt(2)], 'same day');
  t.ok(readdirSync(dir).includes('2026-01-05.jsonl'), 'pruning runs once per new day, not per append');
  clock.advance(60_000);
  await file.append([pt(3)], 'next day');
  t.same(
    readdirSync(dir).sort(),
    ['2026-01-09.jsonl', '2026-01-10.jsonl', '2026-01-11.jsonl', 'README', 'notes.jsonl'],
    'a new day prunes again',
  );
  t.equal(
    readFileSync(join(dir, '2026-01-10.jsonl'), 'utf8').trim().split('\n').length,
    2,
    'both appends of the 10th are kept',
  );
});

void t.test('outage: spooled while down (export resolves when fsynced), replayed in order on recovery', async (t) => {
  const { dir, backend, pipeline, events, metric } = await setup(t, {
    cfg: { batchSize: 100, maxInFlight: 2, maxRetryDelay: 30 },
  });
  let up = false;
  backend.answer = () =>
    up ? { ok: true } : { ok: false, retryable: true, reason: 'connect ECONNREFUSED 127.0.0.1:8086' };
  await pipeline.export(pts(250));
  t.ok(pipeline.spooling, 'the pipeline switched to the spool');
  t.equal(backend.stored.size, 0, 'nothing reached the backend');
  t.ok(
    readdirSync(join(dir, 'spool')).some((f) => f.endsWith('.spool')),
    'a spool segment exists',
  );
  t.equal(await metric('cellwatch_store_spool_points'), 250);
  t.ok((await metric('cellwatch_store_spool_bytes')) > 0);
  await pipeline.export(pts(250, 250)); // while down, new points go to the spool too
  t.match(events, [{ kind: 'backend-down', reason: /ECONNREFUSED/ }], 'one backend-down event per outage');
  t.ok((await metric('cellwatch_store_batches_retried_total')) >= 1);
  backend.requests = [];
  up = true;
  await waitFor(() => !pipeline.spooling, 5000, 'the spool to drain');
  t.equal(backend.stored.size, 500, 'everything replayed');
  // With two requests in flight, a later record can land while an earlier one fails (the outage ends
  // between them); the replayer then sends it again after the earlier one. So the order that counts
  // (a later write of a series and time wins) is that of each point's last accepted write.
  const lastWrite = new Map(backend.accepted.flat().map((p, i) => [p.ts, i]));
  t.same(
    [...lastWrite.keys()].sort((a, b) => lastWrite.get(a)! - lastWrite.get(b)!),
    pts(500).map((p) => p.ts),
    'replayed in export order (by each point’s last accepted write)',
  );
  t.match(events.at(-1), { kind: 'backend-up', spooledPoints: 500 });
  t.equal(await metric('cellwatch_store_spool_points'), 0);
  t.same(
    readdirSync(join(dir, 'spool')).filter((f) => f.endsWith('.spool')),
    [],
    'replayed segments deleted',
  );
  await pipeline.export(pts(10, 1000));
  await pipeline.forceFlush();
  t.equal(backend.stored.size, 510, 'direct writes again');
});

void t.test('restart: what the spool holds is replayed at start-up, and a torn tail is cut off', async (t) => {
  const dir = await makeTempDir('cellwatch-pipeline');
  const down = new FakeBackend();
  down.answer = () => ({ ok: false, retryable: true, reason: 'HTTP 503' });
  const first = await setup(t, { dir, backend: down });
  await first.pipeline.export(pts(300));
  await first.pipeline.shutdown();
  // A crash during the next append leaves half a record at the tail.
  const seg = readdirSync(join(dir, 'spool'))
    .filter((f) => f.endsWith('.spool'))
    .sort()
    .at(-1)!;
  appendFileSync(join(dir, 'spool', seg), Buffer.from([200, 0, 0, 0, 5, 0, 0, 0, 1, 2, 3, 4, 91, 123]));
  const second = await setup(t, { dir });
  await waitFor(
    () => second.backend.stored.size === 300 && !second.pipeline.spooling,
    5000,
    'the restarted pipeline to replay everything',
  );
  t.equal(second.backend.stored.size, 300, 'all 300 spooled points replayed after the restart');
  t.same(
    second.backend.requests.flat().map((p) => p.ts),
    pts(300).map((p) => p.ts),
    'in order',
  );
});

void t.test('Retry-After is honoured; backoff grows exponentially with jitter up to maxRetryDelay', async (t) => {
  const { backend, pipeline } = await setup(t, { cfg: { maxRetryDelay: 30_000 } });
  const cases: { spec: string; attempt: number; retryAfter?: number; min: number; max: number }[] = [
    { spec: 'first retry: 125–250 ms', attempt: 1, min: 125, max: 250 },
    { spec: 'doubles per attempt', attempt: 3, min: 500, max: 1000 },
    { spec: 'capped at maxRetryDelay', attempt: 20, min: 15_000, max: 30_000 },
    { spec: 'Retry-After is a floor', attempt: 1, retryAfter: 5000, min: 5000, max: 5000 },
    { spec: 'Retry-After beyond 10 min is capped', attempt: 1, retryAfter: 3_600_000, min: 600_000, max: 600_000 },
  ];
  for (const c of cases) {
    for (const r of [0, 0.5, 0.999]) {
      const p = new WritePipeline(backend, cfg({ maxRetryDelay: 30_000 }), {
        dataDir: '/nonexistent',
        clock: new ManualClock(0),
        log,
        metrics: new PromMetrics(new Registry()),
        spool: false,
        random: () => r,
      });
      const d = p.backoff(c.attempt, c.retryAfter);
      t.ok(d >= c.min && d <= c.max, `${c.spec} (random ${r}: ${d.toFixed(0)} ms)`);
    }
  }
  // A 429 with Retry-After: the retry comes no sooner than the server asked.
  const times: number[] = [];
  backend.answer = () => {
    times.push(performance.now());
    return times.length === 1 ? { ok: false, retryable: true, reason: 'HTTP 429', retryAfterMs: 400 } : { ok: true };
  };
  await pipeline.export(pts(5));
  await waitFor(() => backend.stored.size === 5, 5000, 'the retried batch to land');
  // Not 400: timers run off the event loop's cached clock, a few ms behind the time taken at the send.
  t.ok(times[1]! - times[0]! >= 300, `retried after ${(times[1]! - times[0]!).toFixed(0)} ms (Retry-After 400 ms)`);
});

void t.test('spool cap: drops counted, raised and refused loudly; the writer stays up', async (t) => {
  const { backend, pipeline, events, metric } = await setup(t, { cfg: { spoolMaxBytes: 64 * 1024, batchSize: 100 } });
  let up = false;
  backend.answer = () => (up ? { ok: true } : { ok: false, retryable: true, reason: 'HTTP 503' });
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 40; i++) {
    try {
      await pipeline.export(pts(100, i * 100));
      accepted += 100;
    } catch (err) {
      t.ok(err instanceof SpoolFullError, 'refused with SpoolFullError');
      refused += 100;
    }
  }
  t.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
  t.equal(await metric('cellwatch_store_points_dropped_total'), refused, 'every refused point counted');
  t.ok((await metric('cellwatch_store_spool_bytes')) <= 64 * 1024, 'the cap holds');
  const dropped = events.filter((e) => e.kind === 'dropped');
  t.equal(
    dropped.reduce((a, e) => a + (e.kind === 'dropped' ? e.points : 0), 0),
    refused,
    'every drop raised as an event',
  );
  t.match(dropped[0], { reason: 'disk spool full' });
  up = true;
  await waitFor(() => !pipeline.spooling, 5000, 'the spool to drain');
  t.equal(backend.stored.size, accepted, 'everything accepted was stored, nothing more');
  await pipeline.export(pts(10, 10_000));
  await pipeline.forceFlush();
  t.equal(backend.stored.size, accepted + 10, 'the writer works after the outage');
});

void t.test('embedded (no spool): retryable failures retried from memory; shutdown gives up loudly', async (t) => {
  const { backend, pipeline, metric } = await setup(t, { spool: false });
  let failures = 2;
  backend.answer = () => (failures-- > 0 ? { ok: false, retryable: true, reason: 'SQLITE_BUSY' } : { ok: true });
  await pipeline.export(pts(50));
  t.equal(backend.stored.size, 50);
  t.equal(await metric('cellwatch_store_batches_retried_total'), 2);

  backend.answer = () => ({ ok: false, retryable: true, reason: 'SQLITE_FULL' });
  const lost = pipeline.export(pts(5, 100));
  await new Promise((r) => setTimeout(r, 50));
  await pipeline.shutdown();
  await t.rejects(
    lost,
    /shut down before the backend accepted|shut down while retrying/,
    'the export is rejected, not silently dropped',
  );
  t.equal(await metric('cellwatch_store_points_dropped_total'), 5);
  await t.rejects(pipeline.export(pts(1)), /shut down/);
});

void t.test('shutdown: a hanging request is spooled after the grace time', async (t) => {
  const { dir, backend, pipeline } = await setup(t, { cfg: { flushInterval: 5 } });
  backend.answer = () => new Promise(() => undefined); // never answers
  const exported = pipeline.export(pts(40));
  await new Promise((r) => setTimeout(r, 30));
  await pipeline.shutdown();
  await exported;
  const spool = DiskSpool.open(join(dir, 'spool'), { maxBytes: 1 << 30, log });
  t.equal(spool.pendingPoints, 40, 'the points are in the spool for the next start');
  await spool.close();
  t.ok(existsSync(join(dir, 'spool')));
});

void t.test('spool: acknowledging the last record while another append is being written loses nothing', async (t) => {
  // The spool catching up (ack of its last record deletes the finished segment) while collectors
  // still spool a new batch into that same segment: the deletion must wait for the append.
  const point = (ts: number): Point => ({
    measurement: 'cell_kpi',
    tags: { cell: 'S1-1' },
    fields: { dlMbps: ts },
    ts,
  });
  for (let turns = 0; turns <= 11; turns++) {
    const dir = await makeTempDir('cellwatch-spool-race-');
    const spool = DiskSpool.open(dir, { maxBytes: 1 << 30, log: pino({ level: 'silent' }) });
    await spool.append([[point(1)]]);
    const [a] = await spool.peek(1);
    const appendB = spool.append([[point(2)]]);
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    await spool.ack(a!);
    await appendB;
    const [b] = await spool.peek(1);
    const ok = spool.pendingRecords === 1 && b?.points[0]?.ts === 2;
    await spool.close();
    const reopened = DiskSpool.open(dir, { maxBytes: 1 << 30, log: pino({ level: 'silent' }) });
    const [again] = await reopened.peek(1);
    await reopened.close();
    t.ok(
      ok && again?.points[0]?.ts === 2,
      `ack after ${turns} event-loop turns: the appended record is counted, readable and durable`,
    );
  }
});

void t.test(
  'replay: a window abandoned after a retryable failure does not dead-letter the same points twice',
  async (t) => {
    const { backend, pipeline, metric, events } = await setup(t, {
      cfg: { batchSize: 100, maxInFlight: 2, maxRetryDelay: 30 },
    });
    const BAD = T0 + 150; // in the second spooled record
    let phase: 'down' | 'flaky' | 'up' = 'down';
    let headFailures = 0;
    backend.delayMs = 5; // both records of the window in flight together
    backend.answer = (points) => {
      if (phase === 'down') return { ok: false, retryable: true, reason: 'HTTP 503' };
      if (points.some((p) => p.ts === BAD))
        return { ok: false, retryable: false, status: 400, reason: 'field type conflict' };
      if (phase === 'flaky' && points[0]!.ts === T0 && headFailures++ === 0)
        return { ok: false, retryable: true, reason: 'HTTP 503 once' };
      return { ok: true };
    };
    await pipeline.export(pts(200)); // two records of 100 in the spool
    phase = 'flaky';
    await waitFor(() => !pipeline.spooling, 5000, 'the spool to drain');
    t.equal(headFailures, 2, 'the head record failed once, then landed');
    t.equal(backend.stored.size, 199, 'every good point stored');
    t.equal(await metric('cellwatch_store_points_dead_lettered_total'), 1, 'the refused point dead-lettered once');
    t.equal(events.filter((e) => e.kind === 'dead-lettered').length, 1, 'and raised once');
  },
);
