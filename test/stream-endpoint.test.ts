/**
 * The stream endpoint end to end: real `ws` clients against a real fastify server on a loopback port,
 * with the daemon's Authenticator, tickets, Origin check, filters, since-replay, slow consumers,
 * heartbeats and shutdown.
 */
import t from 'tap';
import { ManualClock, ManualTimers } from '../clock/index.js';
import type { StreamEvent } from '../daemon/stream/index.js';
import { eventually } from './helpers/service.js';
import { RecordingClient, STREAM_TOKENS, bearer, startStreamServer, type Message } from './helpers/stream.js';

const T0 = Date.UTC(2026, 10, 30, 20, 0, 0);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const seqs = (ms: readonly Message[]) => ms.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const alert = (i: number, extra: Partial<StreamEvent> = {}): StreamEvent => ({
  type: 'alert',
  at: T0 + i * 1000,
  severity: 'major',
  region: 'R1',
  kind: 'cell_degraded',
  n: i,
  ...extra,
});

/** Connects and reports whether the upgrade was accepted, with the HTTP status and error when not. */
async function tryConnect(url: string, headers: Record<string, string> = {}) {
  const c = new RecordingClient(url, { headers });
  // A refusal's body is read before the client reports the close, so it is there when `opened` is false.
  const opened = await c.opened;
  let error: string | undefined;
  try {
    error = c.body ? (JSON.parse(c.body) as { error: string }).error : undefined;
  } catch {
    error = c.body;
  }
  if (opened) await c.close();
  return { opened, status: c.status, error };
}

void t.test('auth: bearer header with read permission; tokens never in URLs', async (t) => {
  const s = await startStreamServer();
  t.teardown(() => s.close());
  const cases: { spec: string; headers?: Record<string, string>; query?: string; status?: number; error?: RegExp }[] = [
    { spec: 'viewer token', headers: bearer(STREAM_TOKENS.viewer) },
    { spec: 'operator token (read is part of operate)', headers: bearer(STREAM_TOKENS.operator) },
    { spec: 'no token', status: 401, error: /missing bearer token/ },
    { spec: 'unknown token', headers: bearer('x'.repeat(24)), status: 401, error: /unknown token/ },
    { spec: 'ingest cannot read', headers: bearer(STREAM_TOKENS.ingest), status: 403, error: /may not read/ },
    {
      spec: 'a token in the URL is refused even when valid',
      query: `?token=${STREAM_TOKENS.viewer}`,
      status: 400,
      error: /tokens never go in URLs/,
    },
    {
      spec: 'a bad filter is a 400 before anything else',
      headers: bearer(STREAM_TOKENS.viewer),
      query: '?severity=urgent',
      status: 400,
      error: /^severity: unknown severity/,
    },
  ];
  for (const c of cases) {
    const got = await tryConnect(s.wsUrl + (c.query ?? ''), c.headers);
    t.equal(got.opened, c.status === undefined, `${c.spec}: ${c.status === undefined ? 'accepted' : 'refused'}`);
    if (c.status !== undefined) {
      t.equal(got.status, c.status, `${c.spec}: status`);
      t.match(got.error, c.error!, `${c.spec}: says why`);
    }
  }
  const other = await tryConnect(`ws://127.0.0.1:${s.port}/api/v1/elsewhere`, bearer(STREAM_TOKENS.viewer));
  t.equal(other.status, 404, 'another path is not a WebSocket route');
  const rejected = await s.registry.getSingleMetric('cellwatch_stream_rejected_total')?.get();
  const total = (rejected?.values ?? []).reduce((a, v) => a + v.value, 0);
  t.equal(total, 5, 'refusals are counted');
});

void t.test('tickets: single use, short-lived, for a holder of read permission', async (t) => {
  const clock = new ManualClock(T0);
  const s = await startStreamServer({ clock });
  t.teardown(() => s.close());
  const ticket = async (token?: string) => {
    const res = await fetch(`${s.url}/api/v1/stream/ticket`, { method: 'POST', headers: token ? bearer(token) : {} });
    return {
      status: res.status,
      body: (await res.json()) as { ticket: string; expiresAt: number; expiresInMs: number },
    };
  };
  t.equal((await ticket()).status, 401, 'no token, no ticket');
  t.equal((await ticket(STREAM_TOKENS.ingest)).status, 403, 'ingest cannot get one');
  const issued = await ticket(STREAM_TOKENS.viewer);
  t.equal(issued.status, 200, 'viewer gets one');
  t.equal(issued.body.expiresAt, T0 + 30_000, 'expires in 30 s');
  t.equal(issued.body.expiresInMs, 30_000);
  t.match(issued.body.ticket, /^[\w-]{32}$/, 'an unguessable opaque string');

  const use = (tk: string) => tryConnect(`${s.wsUrl}?ticket=${encodeURIComponent(tk)}`);
  const first = await use(issued.body.ticket);
  t.ok(first.opened, 'the ticket opens the stream without a header');
  const again = await use(issued.body.ticket);
  t.match(again, { opened: false, status: 401, error: 'ticket already used' }, 'a used ticket is refused');
  const wrong = await use('not-a-ticket-at-all-0123456789abc');
  t.match(wrong, { opened: false, status: 401, error: 'unknown ticket' }, 'a made-up ticket is refused');
  const late = await ticket(STREAM_TOKENS.viewer);
  clock.advance(30_001);
  t.match(await use(late.body.ticket), { opened: false, status: 401, error: 'ticket expired' }, 'an expired ticket');
  const fresh = await ticket(STREAM_TOKENS.viewer);
  clock.advance(29_000);
  t.ok((await use(fresh.body.ticket)).opened, 'a ticket is good until it expires');
});

void t.test('origin: a browser page must be same-origin or allow-listed', async (t) => {
  const s = await startStreamServer({ allowedOrigins: ['https://noc.example.net'] });
  t.teardown(() => s.close());
  const auth = bearer(STREAM_TOKENS.viewer);
  const cases: { spec: string; origin?: string; ok: boolean }[] = [
    { spec: 'no Origin (tail, curl) with a token', ok: true },
    { spec: 'the daemon’s own page', origin: `http://127.0.0.1:${s.port}`, ok: true },
    { spec: 'an allow-listed dashboard', origin: 'https://noc.example.net', ok: true },
    { spec: 'a foreign page, even with a token', origin: 'https://evil.example.com', ok: false },
    { spec: 'a sandboxed page', origin: 'null', ok: false },
  ];
  for (const c of cases) {
    const got = await tryConnect(s.wsUrl, { ...auth, ...(c.origin ? { origin: c.origin } : {}) });
    t.equal(got.opened, c.ok, c.spec);
    if (!c.ok) t.equal(got.status, 403, `${c.spec}: 403`);
  }

  const open = await startStreamServer({ tokens: false });
  t.teardown(() => open.close());
  t.ok((await tryConnect(open.wsUrl)).opened, 'without configured tokens no token is needed (loopback only)…');
  t.equal(
    (await tryConnect(open.wsUrl, { origin: 'https://evil.example.com' })).status,
    403,
    '…but a foreign page still cannot read the stream',
  );
});

void t.test('filters over the wire', async (t) => {
  const s = await startStreamServer();
  t.teardown(() => s.close());
  const events: StreamEvent[] = [
    alert(1, { severity: 'critical', region: 'R1', kind: 'cell_degraded' }),
    alert(2, { severity: 'minor', region: 'R2', kind: 'collection_gap' }),
    { type: 'alert', at: T0, severity: 'major', kind: 'target_at_risk', n: 3 },
    { type: 'window', at: T0, region: 'R1', n: 4 },
  ];
  const cases: { spec: string; q: string; want: number[] }[] = [
    { spec: 'everything', q: '', want: [1, 2, 3, 4] },
    { spec: 'severity list', q: 'severity=critical,major', want: [1, 3] },
    { spec: 'minSeverity', q: 'minSeverity=major', want: [1, 3] },
    { spec: 'region', q: 'region=R1', want: [1, 4] },
    { spec: 'kind', q: 'kind=collection_gap', want: [2] },
    { spec: 'type', q: 'type=window', want: [4] },
    { spec: 'combined', q: 'type=alert&region=R1,R2&minSeverity=minor', want: [1, 2] },
  ];
  const clients = cases.map((c) => new RecordingClient(`${s.wsUrl}?${c.q}`, { headers: bearer(STREAM_TOKENS.viewer) }));
  for (const c of clients) t.ok(await c.opened, 'connected');
  for (const e of events) s.hub.publish(e);
  // A marker every filter passes would be a filter hole; wait on the unfiltered client instead.
  await clients[0]!.until((c) => c.events.length === events.length, 'all events on the unfiltered client');
  await turn();
  cases.forEach((c, i) => {
    const client = clients[i]!;
    t.strictSame(
      client.events.map((m) => m.n),
      c.want,
      c.spec,
    );
    t.strictSame(client.messages[0]?.type, 'hello', `${c.spec}: hello first`);
  });
  await Promise.all(clients.map((c) => c.close()));
});

void t.test('since: a reconnecting client gets what it missed, then live, with no gap and no duplicate', async (t) => {
  const s = await startStreamServer({ runId: 'run-a', options: { historyEvents: 50_000 } });
  t.teardown(() => s.close());
  let n = 0;
  let publishing = true;
  // Events keep coming while the client reconnects: the replay and the live stream must join exactly.
  const publisher = (async () => {
    while (publishing) {
      for (let i = 0; i < 20; i++) s.hub.publish(alert(++n, { pad: 'p'.repeat(300) }));
      await turn();
    }
  })();
  await eventually(() => n >= 4000, 10_000);
  const since = 1234;
  const c = new RecordingClient(`${s.wsUrl}?since=${since}&runId=run-a`, { headers: bearer(STREAM_TOKENS.viewer) });
  t.ok(await c.opened, 'connected');
  const target = n + 2000;
  await eventually(() => n >= target, 20_000);
  publishing = false;
  await publisher;
  await c.until((x) => x.events.at(-1)?.seq === n, 'the last event', 30_000);
  t.strictSame(seqs(c.events), range(since + 1, n), `seqs ${since + 1}…${n} exactly once, in order`);
  t.equal(c.messages[0]?.type, 'hello', 'hello first');
  t.equal(c.of('resync').length, 0, 'no resync inside the history');
  await c.close();
});

void t.test('since beyond the history, or from another run: one resync message, then live', async (t) => {
  const s = await startStreamServer({ runId: 'run-b', options: { historyEvents: 100 } });
  t.teardown(() => s.close());
  for (let i = 1; i <= 500; i++) s.hub.publish(alert(i));
  await turn();
  const cases: { spec: string; q: string; reason: string }[] = [
    { spec: 'too old', q: 'since=10&runId=run-b', reason: 'too old' },
    { spec: 'a cursor of the previous run', q: 'since=450&runId=run-a', reason: 'restarted' },
    { spec: 'a cursor ahead of this run', q: 'since=5000', reason: 'ahead' },
    { spec: 'too old, with no runId', q: 'since=0', reason: 'too old' },
  ];
  for (const c of cases) {
    // Each case publishes one more event, so the history moves on by one.
    const { oldest, seq: latest } = s.hub.stats();
    const client = new RecordingClient(`${s.wsUrl}?${c.q}`, { headers: bearer(STREAM_TOKENS.viewer) });
    t.ok(await client.opened, `${c.spec}: connected`);
    await client.until((x) => x.of('resync').length === 1, 'the resync');
    s.hub.publish(alert(1000));
    await client.until((x) => x.events.length === 1, 'a live event');
    t.match(client.of('resync')[0], { reason: c.reason, oldest, latest, runId: 'run-b' }, c.spec);
    t.strictSame(
      client.messages.map((m) => m.type),
      ['hello', 'resync', 'alert'],
      `${c.spec}: nothing replayed`,
    );
    await client.close();
  }
});

void t.test('a stalled client is closed with the reason while another keeps receiving everything', async (t) => {
  const s = await startStreamServer({
    options: { clientBufferBytes: 256 * 1024, closeGraceMs: 60_000, historyBytes: 64 * 2 ** 20 },
  });
  t.teardown(() => s.close());
  const auth = { headers: bearer(STREAM_TOKENS.viewer) };
  const stalled = new RecordingClient(s.wsUrl, auth);
  const healthy = new RecordingClient(s.wsUrl, auth);
  t.ok(await stalled.opened);
  t.ok(await healthy.opened);
  await stalled.until((c) => c.messages.length === 1, 'hello');
  stalled.ws.pause();
  // Kernel buffers on loopback take several MB before the daemon's own queue grows; keep going until it shows.
  const pad = 'q'.repeat(16 * 1024);
  let n = 0;
  while (s.hub.stats().disconnects['slow-consumer'] === 0 && n < 4000) {
    for (let i = 0; i < 20; i++) s.hub.publish(alert(++n, { pad }));
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
  t.equal(s.hub.stats().disconnects['slow-consumer'], 1, `the stalled client was found slow after ${n} events`);
  const queued = () => s.hub.clientList().find((c) => c.state === 'closing')?.unsent ?? Number.NaN;
  const atClose = queued();
  t.ok(atClose > 256 * 1024, `its queue passed the bound (${atClose} bytes unsent)`);
  for (let i = 0; i < 50; i++) s.hub.publish(alert(++n, { pad }));
  await healthy.until((c) => c.events.at(-1)?.seq === n, 'the healthy client has everything', 30_000);
  // The hub unit test checks "bound plus one flush" exactly; here: once closed, its queue no longer grows.
  t.ok(queued() <= atClose + 64, `its queue did not grow after the close (${queued()} bytes)`);
  t.strictSame(seqs(healthy.events), range(1, n), 'the healthy client received every event, in order');
  stalled.ws.resume();
  const end = await stalled.ended;
  t.equal(end.code, 1008, 'close code 1008');
  t.match(end.reason, /^slow consumer: \d+ bytes unsent$/, 'close reason says why');
  t.ok(stalled.events.length < n, 'the stalled client did not get the events after its close');
  const disconnects = await s.registry.getSingleMetric('cellwatch_stream_disconnects_total')?.get();
  t.equal(disconnects?.values.find((v) => v.labels.reason === 'slow-consumer')?.value, 1, 'in the metrics');
  await healthy.close();
});

void t.test(
  'heartbeats: pings and heartbeat messages each period; a client that misses two pongs is cut',
  async (t) => {
    const clock = new ManualClock(T0);
    const timers = new ManualTimers(clock);
    const s = await startStreamServer({ clock, timers, options: { heartbeatMs: 15_000, flushIntervalMs: 0 } });
    t.teardown(() => s.close());
    const auth = bearer(STREAM_TOKENS.viewer);
    const alive = new RecordingClient(s.wsUrl, { headers: auth });
    const dead = new RecordingClient(s.wsUrl, { headers: auth, autoPong: false });
    t.ok(await alive.opened);
    t.ok(await dead.opened);
    const pings = { alive: 0, dead: 0 };
    alive.ws.on('ping', () => pings.alive++);
    dead.ws.on('ping', () => pings.dead++);
    s.hub.publish(alert(1));
    t.equal(s.hub.stats().clients, 2, 'two subscribers');
    for (let beat = 1; beat <= 3; beat++) {
      await timers.advance(15_000);
      await alive.until((c) => c.of('heartbeat').length === beat, `heartbeat ${beat}`);
      if (beat < 3) {
        // The live client's pong must be back before the next beat judges it.
        t.ok(
          await eventually(() => s.hub.clientList().filter((c) => c.awaitingPongs === 0).length === 1, 10_000),
          `beat ${beat}: the live client answered`,
        );
      }
    }
    const end = await dead.ended;
    t.equal(end.code, 1006, 'the silent client was cut (no close frame)');
    t.equal(pings.dead, 2, 'after two unanswered pings');
    t.ok(await eventually(() => pings.alive === 3, 5_000), 'the live client was pinged every period');
    t.equal(alive.ws.readyState, alive.ws.OPEN, 'and stays connected');
    t.match(alive.of('heartbeat')[0], { type: 'heartbeat', seq: 1, at: T0 + 15_000 }, 'heartbeat: seq and clock time');
    t.equal(s.hub.stats().disconnects.heartbeat, 1, 'counted');
    await alive.close();
  },
);

void t.test('stop: every client gets 1001 going away and the server closes', async (t) => {
  // On timers nobody advances, the close can end only by the clients answering it, not by its grace.
  const timers = new ManualTimers(new ManualClock(T0));
  const s = await startStreamServer({ timers, options: { flushIntervalMs: 0 } });
  const auth = { headers: bearer(STREAM_TOKENS.viewer) };
  const clients = [new RecordingClient(s.wsUrl, auth), new RecordingClient(`${s.wsUrl}?since=0`, auth)];
  for (const c of clients) t.ok(await c.opened);
  s.hub.publish(alert(1));
  await Promise.all(clients.map((c) => c.until((x) => x.events.length === 1, 'the event')));
  await s.close();
  for (const c of clients) t.match(await c.ended, { code: 1001, reason: 'going away' }, 'going away');
  t.equal(s.hub.stats().clients, 0, 'no subscriber left');
  const after = await tryConnect(s.wsUrl, auth.headers).catch(() => ({ opened: false }));
  t.notOk(after.opened, 'nothing is accepted after the stop');
});
