/**
 * Probe mode in process: what the central daemon's answers mean (a table), and the outbox and
 * forwarder against a stand-in central on loopback — order and exactly-once through an outage and a
 * restart, Retry-After honoured, refused samples isolated and dead-lettered, a wrong token keeping
 * everything — and ProbeMode itself running a real probe and draining at stop.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock, ManualScheduler, SystemClock, TimerScheduler, realTimers } from '../clock/index.js';
import { Secret, parseConfig, type CentralConfig } from '../config/index.js';
import { PromMetrics } from '../daemon/metrics.js';
import { Forwarder, ProbeMode, SampleOutbox, pushVerdict, retryAfterMs } from '../daemon/probe-mode.js';
import type { Sample } from '../model/index.js';
import { StandInCentral } from './helpers/central.js';
import { eventually, makeTempDir } from './helpers/service.js';

const TOKEN = 'ingest-token-0123456789abcdef';
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Log lines as objects, to read what the device says (and what it buffered). */
function capturingLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[number]) },
  );
  return { logger, lines };
}

const sample = (i: number, cell = 'P-1'): Sample => ({
  cell,
  ts: T0 + i * 1000,
  source: 'probe',
  available: true,
  latencyMs: i,
});
const key = (s: Sample) => `${s.cell}@${s.ts}`;

void t.test('push verdicts: what the central daemon’s answer means', async (t) => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const cases: { spec: string; status: number; retryAfter?: string; body?: unknown; want: Record<string, unknown> }[] =
    [
      {
        spec: '202: taken',
        status: 202,
        body: { accepted: 3, rejected: [] },
        want: { kind: 'accepted', rejected: [] },
      },
      {
        spec: '202 with rejections: their indexes and reasons',
        status: 202,
        body: {
          accepted: 1,
          rejected: [
            { index: 1, field: 'cell', error: 'unknown cell' },
            { index: 2, error: 'ts in the future' },
          ],
        },
        want: {
          kind: 'accepted',
          rejected: [
            { index: 1, reason: 'cell: unknown cell' },
            { index: 2, reason: 'ts in the future' },
          ],
        },
      },
      { spec: '204 without a body: taken', status: 204, want: { kind: 'accepted', rejected: [] } },
      {
        spec: '429 with Retry-After seconds',
        status: 429,
        retryAfter: '7',
        want: { kind: 'retry', retryAfterMs: 7000 },
      },
      {
        spec: '429 with an HTTP date',
        status: 429,
        retryAfter: 'Mon, 30 Nov 2026 12:00:30 GMT',
        want: { kind: 'retry', retryAfterMs: 30_000 },
      },
      {
        spec: '503 (central spool full): retried',
        status: 503,
        retryAfter: '2',
        want: { kind: 'retry', retryAfterMs: 2000, reason: /busy \(503\)/ },
      },
      { spec: '500: retried', status: 500, want: { kind: 'retry', reason: 'HTTP 500' } },
      { spec: '502 from a proxy: retried', status: 502, want: { kind: 'retry' } },
      { spec: '408 request timeout: retried', status: 408, want: { kind: 'retry' } },
      {
        spec: '401: our token is wrong, keep the data',
        status: 401,
        want: { kind: 'misconfigured', reason: /ingest-role token/ },
      },
      { spec: '403: the token lacks the ingest role', status: 403, want: { kind: 'misconfigured' } },
      { spec: '404: the URL is wrong', status: 404, want: { kind: 'misconfigured', reason: /central\.url/ } },
      { spec: '400: content refused', status: 400, want: { kind: 'refused', status: 400 } },
      { spec: '413: too large, split it', status: 413, want: { kind: 'refused', status: 413 } },
      { spec: '422: content refused', status: 422, want: { kind: 'refused' } },
    ];
  for (const c of cases) t.match(pushVerdict(c.status, c.retryAfter ?? null, c.body, now), c.want, c.spec);
  t.equal(retryAfterMs(null, now), undefined);
  t.equal(retryAfterMs('soon', now), undefined, 'an unreadable Retry-After is no Retry-After');
  t.equal(retryAfterMs('Mon, 30 Nov 2026 11:00:00 GMT', now), 0, 'a date in the past: now');
});

interface Device {
  dir: string;
  outbox: SampleOutbox;
  forwarder: Forwarder;
  lines: ReturnType<typeof capturingLog>['lines'];
  central: CentralConfig;
  /** Adds samples, one event-loop turn (one record) per group, and waits until they are on disk. */
  add(...groups: Sample[][]): Promise<void>;
  /** Stops the forwarder and closes the outbox: the device is off. */
  off(): Promise<void>;
}

async function device(
  t: Test,
  url: string,
  opts: { dir?: string; token?: string; batchSize?: number } = {},
): Promise<Device> {
  const dir = opts.dir ?? (await makeTempDir('cellwatch-probe-mode-'));
  const central = parseConfig(
    {
      dataDir: dir,
      central: {
        url,
        token: opts.token ?? TOKEN,
        maxRetryDelay: '300ms',
        timeout: '2s',
        batchSize: opts.batchSize ?? 500,
      },
    },
    { env: {} },
  ).central!;
  const { logger, lines } = capturingLog();
  const outbox = SampleOutbox.open(join(dir, 'probe-spool'), central.spoolMaxBytes, logger);
  const forwarder = new Forwarder(outbox, central, {
    clock: new SystemClock(),
    timers: realTimers,
    log: logger,
    dataDir: dir,
    random: () => 0.5,
  });
  forwarder.start();
  let off = false;
  const d: Device = {
    dir,
    outbox,
    forwarder,
    lines,
    central,
    async add(...groups) {
      for (const g of groups) {
        for (const s of g) outbox.add(s);
        await turn();
      }
      await outbox.settled();
    },
    async off() {
      if (off) return;
      off = true;
      await forwarder.stop();
      await outbox.close();
    },
  };
  t.teardown(() => d.off());
  return d;
}

const range = (from: number, to: number, cell?: string) =>
  Array.from({ length: to - from }, (_, i) => sample(from + i, cell));

void t.test('outbox and forwarder: in order and exactly once through an outage and a restart', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  const first = await device(t, central.url);
  await first.add(range(0, 3), range(3, 5));
  t.ok(await eventually(() => central.accepted.length === 5, 10_000), 'delivered while the central is up');

  await central.down();
  await first.add(range(5, 8), range(8, 9));
  await sleep(400); // a few failed attempts
  t.equal(first.outbox.waiting, 4, 'buffered on disk while the central is down');
  t.match(first.forwarder.state, /central daemon unreachable \(ECONNREFUSED\)/);
  t.ok(
    first.lines.some((l) => l.level === 40 && /buffering on disk/.test(l.msg)),
    'the outage is logged once, as a warning',
  );
  await first.off(); // the device goes off with results still buffered

  const second = await device(t, central.url, { dir: first.dir });
  t.equal(second.outbox.waiting, 4, 'a restarted device finds what it buffered');
  await second.add(range(9, 12));
  t.ok(
    await eventually(() => second.forwarder.state !== 'ok', 10_000),
    'the restarted device finds the central still down',
  );
  await central.up();
  t.ok(await eventually(() => central.accepted.length === 12, 10_000), 'everything arrives once the central is back');
  await sleep(100);
  t.same(central.accepted.map(key), range(0, 12).map(key), 'every sample exactly once, in the order measured');
  t.equal(second.outbox.waiting, 0, 'nothing left on the device');
  t.ok(
    second.lines.some((l) => /takes our results again/.test(l.msg)),
    'the recovery is logged',
  );
});

void t.test('forwarder: 429 and 503 wait for Retry-After, then send the same batch again', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  let calls = 0;
  central.respond = () => {
    calls++;
    if (calls === 1) return { status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } };
    if (calls === 2) return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'spool full' } };
    return undefined;
  };
  const d = await device(t, central.url);
  await d.add(range(0, 4));
  t.ok(await eventually(() => central.accepted.length === 4, 15_000), 'delivered after the central recovered');
  const [a, b, c] = central.requests;
  t.ok(
    b!.at - a!.at >= 900,
    `Retry-After honoured after 429 (${Math.round(b!.at - a!.at)} ms; the backoff alone is ≤ 300 ms)`,
  );
  t.ok(c!.at - b!.at >= 900, `and after 503 (${Math.round(c!.at - b!.at)} ms)`);
  t.same(c!.samples.map(key), range(0, 4).map(key), 'the same batch, again');
  t.same(central.accepted.map(key), range(0, 4).map(key), 'accepted once');
});

void t.test('forwarder: samples refused for their content go to dead letters; the rest arrive in order', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  // Per-sample rejections in a 202, and a whole batch refused (400) when it holds a poisoned sample.
  central.respond = (samples) => {
    if (samples.some((s) => s.cell === 'POISON')) return { status: 400, body: { error: 'unparseable sample' } };
    const rejected = samples.flatMap((s, index) =>
      s.cell === 'UNKNOWN' ? [{ index, field: 'cell', error: 'unknown cell' }] : [],
    );
    return rejected.length > 0
      ? { status: 202, body: { accepted: samples.length - rejected.length, rejected } }
      : undefined;
  };
  const d = await device(t, central.url);
  const batch = [...range(0, 3), sample(3, 'POISON'), ...range(4, 6), sample(6, 'UNKNOWN'), sample(7)];
  await d.add(batch);
  const good = batch.filter((s) => s.cell === 'P-1');
  t.ok(await eventually(() => central.accepted.length === good.length && d.outbox.waiting === 0, 10_000));
  t.same(central.accepted.map(key), good.map(key), 'every good sample, once, in order');
  t.ok(
    central.requests.length <= 8,
    `the poisoned sample was isolated by halving (${central.requests.length} requests)`,
  );
  const files = readdirSync(join(d.dir, 'probe-dead-letter'));
  t.equal(files.length, 1);
  const letters = readFileSync(join(d.dir, 'probe-dead-letter', files[0]!), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { reason: string; point: { tags: { cell: string }; ts: number } });
  t.match(
    letters.map((l) => ({ cell: l.point.tags.cell, ts: l.point.ts, reason: l.reason })),
    [
      { cell: 'POISON', ts: T0 + 3000, reason: /^HTTP 400: .*unparseable sample/ },
      { cell: 'UNKNOWN', ts: T0 + 6000, reason: 'cell: unknown cell' },
    ],
    'each refused sample kept with the central’s reason',
  );
});

void t.test('forwarder: a token the central refuses keeps everything on the device until it is fixed', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  const d = await device(t, central.url, { token: 'a-wrong-token-0123456789' });
  await d.add(range(0, 3));
  await sleep(800);
  t.equal(central.accepted.length, 0);
  t.equal(d.outbox.waiting, 3, 'nothing dropped, nothing dead-lettered');
  t.ok(
    d.lines.some(
      (l) => l.level === 50 && /kept on the device: the central daemon refuses our token \(401\)/.test(l.msg),
    ),
    'an error an operator reads',
  );
  d.forwarder.setCentral({ ...d.central, token: new Secret(TOKEN) }); // what SIGHUP does with a fixed tokenFile
  t.ok(await eventually(() => central.accepted.length === 3, 10_000), 'sent once the token is right');
});

void t.test('forwarder: batches of batchSize, records never split across requests', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  await central.down();
  const d = await device(t, central.url, { batchSize: 4 });
  await d.add(range(0, 3), range(3, 6), range(6, 7), range(7, 12));
  await central.up();
  t.ok(await eventually(() => central.accepted.length === 12, 10_000));
  t.same(
    central.requests.map((r) => r.samples.length),
    [3, 4, 5],
    'records fill a batch up to batchSize, a record (one tick) stays whole, a record bigger than batchSize goes alone',
  );
  t.same(central.accepted.map(key), range(0, 12).map(key));
});

void t.test('ProbeMode: real probes into the outbox, pushed, drained at stop', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  const sockets = new Set<Socket>();
  const target = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    target.close();
  });
  const port = (target.address() as { port: number }).port;
  const dir = await makeTempDir('cellwatch-probe-mode-run-');
  const cfg = parseConfig(
    {
      dataDir: dir,
      central: { url: central.url, token: TOKEN, maxRetryDelay: '300ms' },
      probes: [
        { name: 'gw', kind: 'tcp-connect', host: '127.0.0.1', port, cell: 'P-1', interval: '200ms', timeout: '100ms' },
        {
          name: 'dead',
          kind: 'tcp-connect',
          host: '127.0.0.1',
          port: 9,
          cell: 'P-2',
          interval: '200ms',
          timeout: '100ms',
        },
      ],
    },
    { env: {} },
  );
  const { logger, lines } = capturingLog();
  const scheduler = new TimerScheduler(new SystemClock());
  const mode = new ProbeMode(cfg, { scheduler, log: logger, metrics: new PromMetrics(new Registry()) });
  await mode.start();
  t.teardown(() => mode.stop());
  t.ok(await eventually(() => central.accepted.length >= 10, 15_000), 'results reach the central');
  await mode.stop();
  await scheduler.stop();
  const buffered = lines
    .filter((l) => l.msg === 'probe samples buffered')
    .flatMap((l) => (l.buffered as [string, number][]).map(([cell, ts]) => `${cell}@${ts}`));
  t.same(central.accepted.map(key), buffered, 'everything measured arrived once, in order, before the device stopped');
  const p1 = central.accepted.filter((s) => s.cell === 'P-1');
  const p2 = central.accepted.filter((s) => s.cell === 'P-2');
  t.ok(p1.length > 0 && p1.every((s) => s.source === 'probe' && typeof s.latencyMs === 'number'), 'measured samples');
  t.ok(p2.length > 0 && p2.every((s) => s.dlMbps === 0 && s.available === true), 'a closed port: bad samples');
  t.match(mode.status(), {
    waiting: 0,
    central: 'ok',
    targets: [
      { target: 'gw', state: 'ok' },
      { target: 'dead', result: 'failed' },
    ],
  });
});

void t.test('ProbeMode reload: probes, central and inventory apply; log and dataDir need a restart', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  const dir = await makeTempDir('cellwatch-probe-mode-reload-');
  const inventory = join(dir, 'cells.csv');
  writeFileSync(inventory, 'id,site,region,lat,lon\nS1-1,S1,R,31,121\n');
  const raw = {
    dataDir: dir,
    inventory,
    central: { url: central.url, token: TOKEN },
    probes: [{ name: 'a', kind: 'tcp-connect', host: '127.0.0.1', port: 9, site: 'S1', interval: '1h' }],
  };
  const scheduler = new ManualScheduler(new ManualClock(T0));
  const mode = new ProbeMode(parseConfig(raw, { env: {} }), {
    scheduler,
    log: pino({ level: 'silent' }),
    metrics: new PromMetrics(new Registry()),
  });
  await mode.start();
  t.teardown(() => mode.stop());
  writeFileSync(inventory, 'id,site,region,lat,lon\nS1-1,S1,R,31,121\nS1-2,S1,R,31,121\n');
  const next = parseConfig(
    {
      ...raw,
      central: { url: central.url, token: `${TOKEN}-rotated` },
      probes: [...raw.probes, { ...raw.probes[0], name: 'b' }],
      store: { kind: 'embedded', retention: '7d' },
      log: { level: 'debug' },
    },
    { env: {} },
  );
  const result = await mode.reload(next);
  t.same(
    [...result.applied].sort(),
    ['central', 'inventory', 'probes', 'store'],
    'the daemon-only store changes nothing here',
  );
  t.same(result.restartNeeded, ['log']);
  t.match(result, { probe: { added: ['b'], kept: ['a'] }, inventory: 2 });
  t.same(
    mode.status().targets.map((s) => s.target),
    ['a', 'b'],
  );
});
