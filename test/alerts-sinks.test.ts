/**
 * Sinks and delivery: the webhook's Alertmanager-shaped payload and Standard Webhooks signature checked
 * by a local HTTP receiver (a wrong secret fails), its retry classification (503 and 429 are retried
 * through the pipeline, 400 is not, timeouts are retryable), the log sink's JSON lines, and the
 * pipeline's isolation of a stalled sink and its bounded queues.
 */
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import type { Notification, Notifier, NotifyResult, Timers } from '../alerts/index.js';
import { DeliveryPipeline, type DeliveryRecord, type PipelineAlert } from '../alerts/pipeline.js';
import { buildSink, sinkNames } from '../alerts/sinks/index.js';
import { LogNotifier } from '../alerts/sinks/log.js';
import { signingKey, verifySignature, webhookPayload, WebhookNotifier, ZERO_TIME } from '../alerts/sinks/webhook.js';
import { AlertManager } from '../alerts/manager.js';
import { ManualClock, SystemClock } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import { makeTempDir } from './helpers/service.js';
import {
  ManualTimers,
  openAlertStores,
  silentLog,
  testOptions,
  webhookReceiver as receiver,
  win,
  windowInput,
} from './helpers/alerts.js';

const SECRET = 'whsec_' + Buffer.from('a-test-secret-of-32-bytes-length').toString('base64');

const realTimers: Timers = {
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
};

const note = (over: Partial<Notification> = {}): Notification => ({
  groupKey: '{}:{incident="S1"}',
  status: 'firing',
  receiver: 'hook',
  groupLabels: { incident: 'S1' },
  commonLabels: { alertname: 'site_outage' },
  commonAnnotations: {},
  externalURL: 'http://board.test',
  alerts: [
    {
      fingerprint: '0123456789abcdef',
      status: 'firing',
      labels: { alertname: 'site_outage', site: 'S1', severity: 'critical' },
      annotations: { summary: 'Site S1 down' },
      startsAt: Date.UTC(2026, 10, 30, 19, 5, 0, 250),
      generatorURL: 'http://board.test/#/site/S1',
    },
  ],
  truncatedAlerts: 0,
  id: 'msg_1',
  ...over,
});

void t.test("the webhook payload is Alertmanager's version 4", async (t) => {
  const p = webhookPayload(note());
  t.same(Object.keys(p), [
    'version',
    'groupKey',
    'truncatedAlerts',
    'status',
    'receiver',
    'groupLabels',
    'commonLabels',
    'commonAnnotations',
    'externalURL',
    'alerts',
  ]);
  t.equal(p.version, '4');
  t.same(p.alerts[0], {
    status: 'firing',
    labels: { alertname: 'site_outage', site: 'S1', severity: 'critical' },
    annotations: { summary: 'Site S1 down' },
    startsAt: '2026-11-30T19:05:00.250Z',
    endsAt: ZERO_TIME,
    generatorURL: 'http://board.test/#/site/S1',
    fingerprint: '0123456789abcdef',
  });
  const resolved = webhookPayload(
    note({ alerts: [{ ...note().alerts[0]!, status: 'resolved', endsAt: Date.UTC(2026, 10, 30, 20) }] }),
  );
  t.equal(resolved.alerts[0]?.endsAt, '2026-11-30T20:00:00.000Z', 'endsAt in RFC 3339 once set');
});

void t.test('signed per Standard Webhooks: the receiver verifies, a wrong secret fails', async (t) => {
  const right = signingKey(SECRET);
  const wrong = signingKey('whsec_' + Buffer.from('another-secret-entirely-32-bytes').toString('base64'));
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 19));
  const rx = await receiver((hit) => {
    const h = {
      id: String(hit.headers['webhook-id']),
      timestamp: String(hit.headers['webhook-timestamp']),
      signature: String(hit.headers['webhook-signature']),
    };
    return { status: verifySignature(right, h, hit.body, Math.floor(clock.now() / 1000)) ? 204 : 401 };
  });
  const good = new WebhookNotifier({ name: 'hook', url: rx.url, secret: SECRET, timeoutMs: 2000, clock });
  const bad = new WebhookNotifier({
    name: 'hook',
    url: rx.url,
    secret: 'whsec_' + wrong.toString('base64'),
    timeoutMs: 2000,
    clock,
  });
  const signal = new AbortController().signal;
  t.same(await good.notify(note(), signal), { ok: true }, 'the right secret verifies');
  const refused = await bad.notify(note(), signal);
  t.match(
    refused,
    { ok: false, retryable: false, reason: /^HTTP 401/ },
    'the wrong secret fails, and 401 is not retried',
  );
  const hit = rx.hits[0]!;
  t.equal(hit.headers['webhook-id'], 'msg_1', 'webhook-id is the notification id');
  t.equal(
    hit.headers['webhook-timestamp'],
    String(Math.floor(clock.now() / 1000)),
    'timestamp in seconds from the injected clock',
  );
  t.match(String(hit.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
  t.notOk(
    verifySignature(
      right,
      {
        id: 'msg_1',
        timestamp: String(hit.headers['webhook-timestamp']),
        signature: String(hit.headers['webhook-signature']),
      },
      hit.body + ' ',
      Math.floor(clock.now() / 1000),
    ),
    'a changed body fails',
  );
  t.notOk(
    verifySignature(
      right,
      {
        id: 'msg_1',
        timestamp: String(hit.headers['webhook-timestamp']),
        signature: String(hit.headers['webhook-signature']),
      },
      hit.body,
      Math.floor(clock.now() / 1000) + 3600,
    ),
    'an old timestamp fails',
  );
  const raw = new WebhookNotifier({ name: 'raw', url: rx.url, secret: 'plain-secret', timeoutMs: 2000, clock });
  await raw.notify(note(), signal);
  const rawHit = rx.hits[2]!;
  t.ok(
    verifySignature(
      Buffer.from('plain-secret'),
      {
        id: 'msg_1',
        timestamp: String(rawHit.headers['webhook-timestamp']),
        signature: String(rawHit.headers['webhook-signature']),
      },
      rawHit.body,
      Math.floor(clock.now() / 1000),
    ),
    'a raw secret signs with its own bytes',
  );
  await Promise.all([good.close(), bad.close(), raw.close(), rx.close()]);
});

void t.test('result classification: 429 with Retry-After, 5xx, timeouts and refused connections', async (t) => {
  const clock = new SystemClock();
  const rx = await receiver((_h, n) =>
    n === 0
      ? { status: 429, headers: { 'retry-after': '2' } }
      : n === 1
        ? { status: 502 }
        : n === 2
          ? { status: 422 }
          : 'hang',
  );
  const hook = new WebhookNotifier({ name: 'hook', url: rx.url, timeoutMs: 300, clock });
  const signal = new AbortController().signal;
  t.match(await hook.notify(note(), signal), { ok: false, retryable: true, retryAfterMs: 2000, reason: /^HTTP 429/ });
  t.match(await hook.notify(note(), signal), { ok: false, retryable: true, reason: /^HTTP 502/ });
  t.match(await hook.notify(note(), signal), { ok: false, retryable: false, reason: /^HTTP 422: status 422/ });
  t.match(await hook.notify(note(), signal), { ok: false, retryable: true, reason: 'timeout after 300 ms' });
  t.notOk('webhook-signature' in rx.hits[0]!.headers, 'no secret: unsigned');
  await rx.close();
  const down = await hook.notify(note(), signal);
  t.match(down, { ok: false, retryable: true, reason: /request failed/ }, 'nobody listening: retryable');
  await hook.close();
});

void t.test('through the pipeline: retries after 503 (same webhook-id), none after 400', async (t) => {
  const dir = await makeTempDir('cw-alerts-webhook');
  const o = openAlertStores(dir);
  let mode: 'flaky' | 'refuse' = 'flaky';
  const rx = await receiver((_h, n) => (mode === 'flaky' ? { status: n < 2 ? 503 : 200 } : { status: 400 }));
  const clock = new SystemClock();
  const manager = AlertManager.open({
    clock,
    timers: realTimers,
    sinks: [new WebhookNotifier({ name: 'hook', url: rx.url, secret: SECRET, timeoutMs: 2000, clock })],
    stores: o.stores,
    options: testOptions({ delivery: { initialRetryDelay: '20ms' } }),
    log: silentLog,
  });
  manager.handle(windowInput('opened', win('C1', { start: clock.now() })));
  for (let i = 0; i < 200 && rx.hits.length < 3; i++) await delay(10);
  await manager.idle();
  t.equal(rx.hits.length, 3, '503, 503, then 200');
  t.equal(new Set(rx.hits.map((h) => h.headers['webhook-id'])).size, 1, 'the same webhook-id across retries');
  const body = JSON.parse(rx.hits[2]!.body) as { version: string; alerts: { labels: Record<string, string> }[] };
  t.match(body, { version: '4', status: 'firing', alerts: [{ labels: { alertname: 'cell_degraded', cell: 'C1' } }] });
  t.match(o.stores.notifications.deliveries(), [{ result: 'sent', attempts: 3 }]);

  mode = 'refuse';
  manager.handle(windowInput('opened', win('C2', { start: clock.now() })));
  for (let i = 0; i < 100 && rx.hits.length < 4; i++) await delay(10);
  await delay(100);
  await manager.idle();
  t.equal(rx.hits.length, 4, 'a 400 is tried once');
  t.match(
    o.stores.notifications.deliveries({ limit: 1 }),
    [{ result: 'failed', attempts: 1, reason: /^HTTP 400/ }],
    'and recorded as failed',
  );
  await manager.close();
  await rx.close();
  o.db.close();
});

void t.test('the log sink writes one JSON line per alert', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = new LogNotifier('log', pino({ level: 'info' }, stream));
  const n = note({
    alerts: [note().alerts[0]!, { ...note().alerts[0]!, fingerprint: 'ffff', status: 'resolved', endsAt: 0 }],
  });
  t.same(await log.notify(n), { ok: true });
  const parsed = lines.map(
    (l) => JSON.parse(l) as { level: number; msg: string; alert: { status: string; labels: object } },
  );
  t.equal(parsed.length, 2);
  t.match(parsed[0], {
    level: 40,
    msg: /^\[firing\] site_outage critical: Site S1 down/,
    alert: { status: 'firing', labels: { site: 'S1' } },
  });
  t.match(parsed[1], { level: 30, alert: { status: 'resolved', endsAt: '1970-01-01T00:00:00.000Z' } });
});

// ---------------------------------------------------------------------------------------------

class GatedNotifier implements Notifier {
  readonly kind = 'gated';
  readonly seen: Notification[] = [];
  private gate: (() => void) | undefined;
  private blocked = true;
  constructor(readonly name: string) {}
  async notify(n: Notification): Promise<NotifyResult> {
    this.seen.push(n);
    if (this.blocked) await new Promise<void>((r) => (this.gate = r));
    return { ok: true };
  }
  open(): void {
    this.blocked = false;
    this.gate?.();
  }
  async close(): Promise<void> {}
}

const alertOf = (i: number): PipelineAlert => ({
  fingerprint: `fp${i}`,
  groupKey: `{}:{cell="C${i}"}`,
  groupLabels: { cell: `C${i}` },
  status: 'firing',
  labels: { alertname: 'cell_degraded', cell: `C${i}` },
  notice: () => ({
    fingerprint: `fp${i}`,
    status: 'firing',
    labels: { alertname: 'cell_degraded', cell: `C${i}` },
    annotations: {},
    startsAt: 0,
    generatorURL: '',
  }),
  key: `fp${i}|minor`,
  quiet: false,
});

void t.test('a stalled sink delays no other; its queue is bounded and overflow is counted', async (t) => {
  const clock = new ManualClock(0);
  const timers = new ManualTimers(clock);
  const stalled = new GatedNotifier('stalled');
  const fast = {
    name: 'fast',
    kind: 'fake',
    calls: 0,
    notify: async () => ((fast.calls += 1), { ok: true as const }),
    close: async () => {},
  };
  const records: DeliveryRecord[] = [];
  const entries = new Map<string, { firing: string[]; resolved: string[]; at: number }>();
  const events: string[] = [];
  const p = new DeliveryPipeline({
    clock,
    timers,
    sinks: [stalled, fast],
    log: {
      entry: (g, s) => entries.get(`${g}/${s}`),
      record: (r) => {
        records.push(r);
        if (r.result === 'sent')
          entries.set(`${r.groupKey}/${r.sink}`, { firing: r.firing, resolved: r.resolved, at: r.at });
      },
    },
    mute: () => false,
    options: { ...testOptions().pipeline, externalURL: 'http://board', queueLimit: 2 },
    onEvent: (e) => events.push(e.type),
  });
  for (const i of [1, 2, 3, 4, 5]) {
    p.upsert([alertOf(i)]);
    await timers.advance(0);
  }
  t.equal(fast.calls, 5, 'the fast sink got all five groups while the other hangs');
  t.equal(stalled.seen.length, 1, 'the stalled sink is stuck on its first');
  t.match(
    p.stats(),
    [
      { sink: 'stalled', queued: 2, overflow: 2 },
      { sink: 'fast', queued: 0, sent: 5 },
    ],
    'two waiting, two dropped',
  );
  t.equal(events.filter((e) => e === 'overflow').length, 2, 'overflow reported');
  stalled.open();
  await p.idle();
  t.same(
    stalled.seen.map((n) => n.groupLabels.cell),
    ['C1', 'C4', 'C5'],
    'the oldest waiting were dropped, the newest kept',
  );
  // Nothing changed: a second flush of the same alerts is deduplicated.
  p.upsert([1, 2].map(alertOf));
  await timers.advance(60_000);
  t.equal(fast.calls, 5, 'unchanged alerts are not sent again');
  await p.close();
});

void t.test('sinks from config: default names, webhook and log built here', async (t) => {
  const cfg = parseConfig(
    {
      alerts: {
        sinks: [
          { kind: 'webhook', url: 'http://127.0.0.1:9/a', secret: 'whsec_c2VjcmV0' },
          { kind: 'webhook', url: 'http://127.0.0.1:9/b' },
          { kind: 'log', name: 'journal' },
          { kind: 'alertmanager', url: 'http://127.0.0.1:9093' },
        ],
      },
    },
    { env: {} },
  );
  const names = sinkNames(cfg.alerts.sinks);
  t.same(names, ['webhook', 'webhook-2', 'journal', 'alertmanager']);
  const built = cfg.alerts.sinks.map((e, i) =>
    buildSink(e, names[i]!, { wallClock: new SystemClock(), log: silentLog }),
  );
  t.same(
    built.map((s) => `${s.kind}:${s.name}`),
    ['webhook:webhook', 'webhook:webhook-2', 'log:journal', 'alertmanager:alertmanager'],
    'every configured kind is built, named in config order',
  );
  t.equal(cfg.alerts.sinks[0]?.kind === 'webhook' && cfg.alerts.sinks[0].timeout, 10_000, 'timeout default 10 s');
  await Promise.all(built.map((s) => s.close()));
});

void t.test('a message retried while its group changes: the newest state goes out, resolutions kept', async (t) => {
  const clock = new ManualClock(0);
  const timers = new ManualTimers(clock);
  const seen: string[] = [];
  let fail = true;
  const sink: Notifier = {
    name: 'flaky',
    kind: 'fake',
    notify: async (n) => {
      seen.push(n.alerts.map((a) => `${a.fingerprint}:${a.status}`).join(','));
      return fail ? { ok: false, retryable: true, reason: 'HTTP 503' } : { ok: true };
    },
    close: async () => {},
  };
  const entries = new Map<string, { firing: string[]; resolved: string[]; at: number }>();
  const p = new DeliveryPipeline({
    clock,
    timers,
    sinks: [sink],
    log: {
      entry: (g, s) => entries.get(`${g}/${s}`),
      record: (r) => {
        if (r.result === 'sent')
          entries.set(`${r.groupKey}/${r.sink}`, { firing: r.firing, resolved: r.resolved, at: r.at });
      },
    },
    mute: () => false,
    options: { ...testOptions().pipeline, externalURL: 'http://board', groupIntervalMs: 100 },
    random: () => 0.5,
  });
  const a = (fp: string, status: 'firing' | 'resolved', severity = 'minor'): PipelineAlert => ({
    fingerprint: fp,
    groupKey: 'g',
    groupLabels: { site: 'S1' },
    status,
    labels: { alertname: 'cell_degraded' },
    notice: () => ({
      fingerprint: fp,
      status,
      labels: { alertname: 'cell_degraded', severity },
      annotations: {},
      startsAt: 0,
      generatorURL: '',
    }),
    key: status === 'firing' ? `${fp}|${severity}` : fp,
    quiet: false,
  });
  p.upsert([a('x', 'firing'), a('y', 'firing')]);
  await timers.advance(0);
  t.same(seen, ['x:firing,y:firing'], 'first attempt fails');
  // During the backoff, y escalates: the retry sends the group as it is now.
  p.upsert([a('y', 'firing', 'critical')]);
  await timers.advance(100);
  fail = false;
  await timers.advance(2000);
  t.same(seen.slice(1), ['y:firing,x:firing'], 'the retry sends the newest state (y escalated, critical first)');
  // x resolves, the sink is down again; then y resolves too before the retry: both resolutions go out.
  fail = true;
  p.upsert([a('x', 'resolved')]);
  await timers.advance(200);
  p.upsert([a('y', 'resolved')]);
  await timers.advance(200);
  fail = false;
  await timers.advance(5000);
  t.equal(seen.at(-1), 'x:resolved,y:resolved', 'the resolution of x is carried into the newer message');
  await p.close();
});
