import t from 'tap';
import { ManualClock, ManualTimers } from '../clock/index.js';
import {
  StreamHub,
  compileFilter,
  originAllowed,
  parseStreamQuery,
  resyncReason,
  textFrame,
  type StreamEvent,
  type StreamOptions,
} from '../daemon/stream/index.js';
import { History } from '../daemon/stream/history.js';
import { FakeConnection, FrameDecoder, type Message } from './helpers/stream.js';

const T0 = Date.UTC(2026, 10, 30, 20, 0, 0);

function hub(options: Partial<StreamOptions> = {}) {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers(clock);
  // Flushed every turn unless a test is about the flush interval: these tests step time by hand.
  return { hub: new StreamHub({ flushIntervalMs: 0, ...options }, { timers, clock, runId: 'run-a' }), clock, timers };
}

/** Lets the hub's end-of-turn flush run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const alert = (i: number, extra: Partial<StreamEvent> = {}): StreamEvent => ({
  type: 'alert',
  at: T0 + i * 1000,
  severity: 'major',
  region: 'R1',
  kind: 'cell_degraded',
  n: i,
  ...extra,
});

const seqs = (ms: readonly Message[]) => ms.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

void t.test('stream query: filters, since and runId parsed; mistakes and tokens refused', async (t) => {
  const cases: { spec: string; q: string; want?: object; error?: RegExp }[] = [
    { spec: 'no query is everything, live', q: '', want: { filter: {} } },
    {
      spec: 'a severity list',
      q: 'severity=critical,major',
      want: { filter: { severities: ['critical', 'major'] } },
    },
    {
      spec: 'a repeated key is a list too, sorted and unique',
      q: 'severity=major&severity=critical,major',
      want: { filter: { severities: ['critical', 'major'] } },
    },
    {
      spec: 'minSeverity means that level and above',
      q: 'minSeverity=major',
      want: { filter: { severities: ['critical', 'major'] } },
    },
    {
      spec: 'minSeverity=warning is every level',
      q: 'minSeverity=warning',
      want: { filter: { severities: ['critical', 'major', 'minor', 'warning'] } },
    },
    {
      spec: 'region, kind and type lists',
      q: 'region=R2,R1&kind=cell_degraded&type=alert,window',
      want: { filter: { regions: ['R1', 'R2'], kinds: ['cell_degraded'], types: ['alert', 'window'] } },
    },
    { spec: 'since and runId', q: 'since=42&runId=run-a', want: { filter: {}, since: 42, runId: 'run-a' } },
    { spec: 'since 0 is a cursor before everything', q: 'since=0', want: { filter: {}, since: 0 } },
    { spec: 'a ticket', q: 'ticket=abc_DEF-1', want: { filter: {}, ticket: 'abc_DEF-1' } },
    { spec: 'empty values are ignored', q: 'region=&kind=,', want: { filter: {} } },
    { spec: 'unknown severity', q: 'severity=bogus', error: /^severity: unknown severity "bogus"/ },
    { spec: 'unknown minSeverity', q: 'minSeverity=high', error: /^minSeverity: unknown severity/ },
    {
      spec: 'severity and minSeverity together',
      q: 'severity=major&minSeverity=minor',
      error: /^minSeverity: give severity or/,
    },
    { spec: 'negative since', q: 'since=-1', error: /^since: expected the last seq/ },
    { spec: 'fractional since', q: 'since=1.5', error: /^since:/ },
    { spec: 'since twice', q: 'since=1&since=2', error: /^since: give it once/ },
    { spec: 'a runId that no hello sends', q: 'since=1&runId=a%20b', error: /^runId:/ },
    {
      spec: 'a token in the URL is refused',
      q: 'token=secret-token-0123456789',
      error: /^token: tokens never go in URLs/,
    },
    { spec: 'access_token too', q: 'access_token=x', error: /^access_token: tokens never go in URLs/ },
    { spec: 'a typo is not silently "everything"', q: 'severty=major', error: /^severty: unknown parameter/ },
    { spec: 'too many values', q: `region=${range(1, 65).join(',')}`, error: /^region: at most 64/ },
  ];
  for (const c of cases) {
    const got = parseStreamQuery(new URLSearchParams(c.q));
    if (c.error) {
      t.notOk(got.ok, `${c.spec}: refused`);
      if (!got.ok) t.match(got.error, c.error, `${c.spec}: message`);
    } else {
      t.ok(got.ok, `${c.spec}: accepted`);
      if (got.ok) t.strictSame(got.request, c.want, c.spec);
    }
  }
});

void t.test('filters: every filtered field must be present and listed', async (t) => {
  const events: (StreamEvent & { name: string })[] = [
    { name: 'crit-R1', type: 'alert', at: 0, severity: 'critical', region: 'R1', kind: 'cell_degraded' },
    { name: 'minor-R2', type: 'alert', at: 0, severity: 'minor', region: 'R2', kind: 'collection_gap' },
    { name: 'major-network', type: 'alert', at: 0, severity: 'major', kind: 'target_at_risk' },
    { name: 'window-R1', type: 'window', at: 0, region: 'R1' },
  ];
  const cases: { spec: string; q: string; want: string[] }[] = [
    { spec: 'no filter passes all', q: '', want: ['crit-R1', 'minor-R2', 'major-network', 'window-R1'] },
    { spec: 'severity list', q: 'severity=critical,major', want: ['crit-R1', 'major-network'] },
    { spec: 'minSeverity', q: 'minSeverity=minor', want: ['crit-R1', 'minor-R2', 'major-network'] },
    { spec: 'region leaves out events without one', q: 'region=R1', want: ['crit-R1', 'window-R1'] },
    { spec: 'kind', q: 'kind=collection_gap,target_at_risk', want: ['minor-R2', 'major-network'] },
    { spec: 'type', q: 'type=window', want: ['window-R1'] },
    { spec: 'fields combine with and', q: 'type=alert&region=R1,R2&minSeverity=major', want: ['crit-R1'] },
  ];
  for (const c of cases) {
    const parsed = parseStreamQuery(new URLSearchParams(c.q));
    if (!parsed.ok) throw new Error(parsed.error);
    const matches = compileFilter(parsed.request.filter);
    t.strictSame(
      events.filter((e) => matches(e)).map((e) => e.name),
      c.want,
      c.spec,
    );
  }
});

void t.test('origin: same origin or listed; no Origin is a non-browser client', async (t) => {
  const allowed = ['https://noc.example.net', 'http://wall.example.net:8081/'];
  const cases: { spec: string; origin?: string; host?: string; want: boolean }[] = [
    { spec: 'no Origin header (curl, tail)', host: '127.0.0.1:8080', want: true },
    { spec: 'same host and port', origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080', want: true },
    { spec: 'same host behind a TLS proxy', origin: 'https://cw.example.net', host: 'cw.example.net', want: true },
    { spec: 'host compared case-insensitively', origin: 'http://CW.example.net', host: 'cw.EXAMPLE.net', want: true },
    { spec: 'another port is another origin', origin: 'http://127.0.0.1:9999', host: '127.0.0.1:8080', want: false },
    { spec: 'a foreign page', origin: 'https://evil.example.com', host: '127.0.0.1:8080', want: false },
    { spec: 'listed origin', origin: 'https://noc.example.net', host: '127.0.0.1:8080', want: true },
    {
      spec: 'listed with a path, compared as an origin',
      origin: 'http://wall.example.net:8081',
      host: 'x',
      want: true,
    },
    { spec: 'listed host, other scheme', origin: 'http://noc.example.net', host: '127.0.0.1:8080', want: false },
    { spec: 'the opaque origin "null"', origin: 'null', host: '127.0.0.1:8080', want: false },
    { spec: 'a non-web scheme', origin: 'file://', host: '127.0.0.1:8080', want: false },
  ];
  for (const c of cases) t.equal(originAllowed(c.origin, c.host, allowed), c.want, c.spec);
});

void t.test('resync: a since from another run, ahead of the history, or older than it', async (t) => {
  const cases: { spec: string; since?: number; runId?: string; want: string | undefined }[] = [
    { spec: 'no since: live, nothing to check', want: undefined },
    { spec: 'since inside the history', since: 150, runId: 'run-a', want: undefined },
    { spec: 'since just before the oldest kept', since: 100, want: undefined },
    { spec: 'since at the newest', since: 300, want: undefined },
    { spec: 'since older than the history', since: 99, want: 'too old' },
    { spec: 'since from another run', since: 150, runId: 'run-b', want: 'restarted' },
    { spec: 'since ahead of this run (a cursor from before a restart)', since: 301, want: 'ahead' },
  ];
  for (const c of cases) {
    const req = { ...(c.since !== undefined ? { since: c.since } : {}), ...(c.runId ? { runId: c.runId } : {}) };
    t.equal(resyncReason(req, 'run-a', 300, 101), c.want, c.spec);
  }
});

void t.test('frames: header sizes at the length boundaries, decoded back', async (t) => {
  for (const len of [0, 1, 125, 126, 65_535, 65_536, 200_000]) {
    const payload = 'é'.repeat(Math.floor(len / 2)) + 'x'.repeat(len % 2);
    const frame = textFrame(payload);
    const header = frame.length - Buffer.byteLength(payload);
    t.equal(header, len < 126 ? 2 : len < 65_536 ? 4 : 10, `${len} bytes: header size`);
    const decoder = new FrameDecoder();
    // Fed in two pieces: a frame split across TCP reads must still come out whole.
    const cut = Math.floor(frame.length / 2);
    const got = [...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))];
    t.equal(got.length, 1, `${len} bytes: one frame`);
    t.equal(got[0]?.opcode, 1, `${len} bytes: text opcode`);
    t.equal(got[0]?.payload.toString('utf8'), payload, `${len} bytes: payload round-trips`);
  }
});

void t.test('history: bounded by count and by bytes, found by seq', async (t) => {
  const entry = (seq: number, bytes: number) => ({ seq, frame: Buffer.alloc(bytes), type: 'x' });
  const byCount = new History(3, 1_000_000);
  for (let s = 1; s <= 5; s++) byCount.push(entry(s, 10));
  t.equal(byCount.length, 3, 'count bound holds');
  t.equal(byCount.oldest(6), 3, 'oldest after evictions');
  t.equal(byCount.get(2), undefined, 'evicted seq is gone');
  t.equal(byCount.get(5)?.seq, 5, 'newest found');
  t.equal(byCount.bytes, 30, 'bytes follow evictions');

  const byBytes = new History(100, 250);
  for (let s = 1; s <= 10; s++) byBytes.push(entry(s, 100));
  t.equal(byBytes.length, 2, 'byte bound holds');
  t.ok(byBytes.bytes <= 250, 'bytes within bound');
  const huge = new History(100, 250);
  huge.push(entry(1, 10));
  huge.push(entry(2, 1000));
  t.equal(huge.length, 1, 'an event over the byte bound evicts the rest…');
  t.equal(huge.get(2)?.seq, 2, '…but is itself kept');
  t.equal(new History(5, 10).oldest(1), 1, 'empty history: the next seq');
  t.throws(() => byCount.push(entry(9, 1)), /history seq 9 after 5/, 'seqs must be consecutive');
});

void t.test('hub: consecutive seqs, one serialisation and one write per turn shared by equal filters', async (t) => {
  const { hub: h } = hub();
  const a = new FakeConnection();
  const b = new FakeConnection();
  const critical = new FakeConnection();
  h.subscribe(a, { filter: {} });
  h.subscribe(b, { filter: {} });
  h.subscribe(critical, { filter: { severities: ['critical'] } });
  const hello = a.messages[0];
  t.match(hello, { type: 'hello', runId: 'run-a', latest: 0, oldest: 1, heartbeatMs: 15_000 }, 'hello first');
  const writesBefore = a.raw.length;
  t.equal(h.publish(alert(1)), 1, 'first seq is 1');
  t.equal(h.publish(alert(2, { severity: 'critical' })), 2);
  t.equal(h.publish(alert(3, { seq: 99 })), 3, "a publisher's own seq is ignored");
  t.equal(a.raw.length, writesBefore, 'nothing written before the turn ends');
  await turn();
  t.equal(a.raw.length, writesBefore + 1, 'three events, one write');
  t.equal(a.raw.at(-1), b.raw.at(-1), 'subscribers with the same filter get the same buffer');
  t.strictSame(seqs(a.events), [1, 2, 3], 'all three, in order');
  t.strictSame(a.events[2], { seq: 3, ...alert(3) }, 'the event as published, with its seq');
  t.strictSame(seqs(critical.events), [2], 'the filtered subscriber gets only its match');
  t.equal(critical.raw.length, 2, 'hello and one batch');
});

void t.test('hub: under load, writes at most once per flush interval; a quiet stream writes at once', async (t) => {
  const { hub: h, timers } = hub({ flushIntervalMs: 10 });
  const a = new FakeConnection();
  h.subscribe(a, { filter: {} });
  const writes = () => a.raw.length - 1;
  h.publish(alert(1));
  await turn();
  t.equal(writes(), 1, 'the first event goes out at the end of its turn');
  h.publish(alert(2));
  await turn();
  h.publish(alert(3));
  await turn();
  t.equal(writes(), 1, 'what follows within the interval waits');
  await timers.advance(10);
  t.equal(writes(), 2, 'and goes out together at its end');
  t.strictSame(seqs(a.events), [1, 2, 3], 'nothing lost, in order');
  await timers.advance(10);
  t.equal(writes(), 2, 'an interval with nothing pending writes nothing');
  h.publish(alert(4));
  await turn();
  t.equal(writes(), 3, 'after a quiet interval the next event goes out at once again');
});

void t.test(
  'hub: since replays from the history under backpressure, then goes live without gap or duplicate',
  async (t) => {
    const { hub: h } = hub({ historyEvents: 5000 });
    for (let i = 1; i <= 3000; i++) h.publish(alert(i, { pad: 'x'.repeat(200) }));
    await turn();
    const late = new FakeConnection();
    late.stalled = true;
    h.subscribe(late, { filter: {}, since: 1000, runId: 'run-a' });
    t.ok(late.raw.length >= 2, 'hello and a first replay chunk written');
    const chunksWhileStalled = late.raw.length;
    t.equal(h.clientList()[0]?.state, 'catching-up', 'replaying');
    // More events arrive while the subscriber is still behind.
    for (let i = 3001; i <= 3100; i++) h.publish(alert(i));
    await turn();
    t.equal(late.raw.length, chunksWhileStalled, 'nothing more written until the socket drains');
    while (h.clientList()[0]?.state === 'catching-up') late.drain();
    t.equal(h.clientList()[0]?.state, 'live', 'caught up and live');
    for (let i = 3101; i <= 3110; i++) h.publish(alert(i));
    await turn();
    late.drain();
    t.strictSame(seqs(late.events), range(1001, 3110), 'every seq after since exactly once, in order');
    t.equal(h.stats().disconnects['slow-consumer'], 0, 'a long replay is not a slow consumer');
  },
);

void t.test('hub: a since it cannot replay gets one resync, then the live stream', async (t) => {
  const { hub: h } = hub({ historyEvents: 100 });
  for (let i = 1; i <= 300; i++) h.publish(alert(i));
  await turn();
  const cases: { spec: string; since: number; runId?: string; reason: string }[] = [
    { spec: 'older than the history', since: 50, reason: 'too old' },
    { spec: 'from another run', since: 250, runId: 'run-old', reason: 'restarted' },
    { spec: 'ahead of this run', since: 9999, reason: 'ahead' },
  ];
  const conns = cases.map((c) => {
    const conn = new FakeConnection();
    h.subscribe(conn, { filter: {}, since: c.since, ...(c.runId ? { runId: c.runId } : {}) });
    return conn;
  });
  h.publish(alert(301));
  await turn();
  cases.forEach((c, i) => {
    const ms = conns[i]!.messages;
    t.strictSame(
      ms.map((m) => m.type),
      ['hello', 'resync', 'alert'],
      `${c.spec}: hello, resync, then live`,
    );
    t.match(ms[1], { reason: c.reason, oldest: 201, latest: 300, runId: 'run-a' }, `${c.spec}: the resync says why`);
    t.equal(ms[2]?.seq, 301, `${c.spec}: live from the next event`);
  });
});

void t.test('hub: a stalled subscriber is closed with the reason; the others get everything', async (t) => {
  const { hub: h, timers } = hub({ clientBufferBytes: 10_000, closeGraceMs: 2_000 });
  const stalled = new FakeConnection();
  const healthy = new FakeConnection();
  h.subscribe(stalled, { filter: {} });
  h.subscribe(healthy, { filter: {} });
  stalled.stalled = true;
  for (let i = 1; i <= 100; i++) {
    h.publish(alert(i, { pad: 'y'.repeat(500) }));
    await turn();
  }
  t.match(stalled.closedWith, { code: 1008, reason: /^slow consumer: \d+ bytes unsent$/ }, 'closed as a slow consumer');
  const unsent = Number(/(\d+) bytes/.exec(stalled.closedWith?.reason ?? '')?.[1]);
  t.ok(unsent > 10_000 && unsent < 10_000 + 1_000, `queued no more than the bound plus one batch (${unsent} bytes)`);
  const writesAtClose = stalled.raw.length;
  t.strictSame(seqs(healthy.events), range(1, 100), 'the healthy subscriber got every event');
  t.equal(stalled.raw.length, writesAtClose, 'nothing written to the closed subscriber after its close');
  t.equal(h.stats().disconnects['slow-consumer'], 1, 'counted');
  t.notOk(stalled.terminated, 'given time to read the close frame…');
  await timers.advance(2_000);
  t.ok(stalled.terminated, '…then cut');
});

void t.test('hub: a replaying subscriber that falls off the end of the history is a slow consumer', async (t) => {
  const { hub: h } = hub({ historyEvents: 200 });
  for (let i = 1; i <= 200; i++) h.publish(alert(i, { pad: 'z'.repeat(1000) }));
  await turn();
  const conn = new FakeConnection();
  conn.stalled = true;
  h.subscribe(conn, { filter: {}, since: 0 });
  for (let i = 201; i <= 400; i++) h.publish(alert(i));
  await turn();
  t.match(
    conn.closedWith,
    { code: 1008, reason: /^slow consumer: \d+ bytes unsent$/ },
    'closed once its cursor was evicted',
  );
});

void t.test(
  'hub: heartbeats ping every period, carry the seq, and cut a subscriber that misses two pongs',
  async (t) => {
    const { hub: h, timers, clock } = hub({ heartbeatMs: 15_000 });
    const alive = new FakeConnection();
    const dead = new FakeConnection();
    const aliveSub = h.subscribe(alive, { filter: { severities: ['critical'] } });
    h.subscribe(dead, { filter: {} });
    h.publish(alert(1));
    for (let beat = 1; beat <= 3; beat++) {
      await timers.advance(15_000);
      aliveSub.pong();
    }
    t.equal(alive.pings.length, 3, 'pinged every period');
    t.equal(dead.pings.length, 2, 'the silent one pinged twice…');
    t.ok(dead.terminated, '…and cut at the third beat');
    t.equal(h.stats().disconnects.heartbeat, 1, 'counted');
    const beats = alive.messages.filter((m) => m.type === 'heartbeat');
    t.equal(beats.length, 3, 'an application heartbeat each period');
    t.match(beats[0], { seq: 1, at: T0 + 15_000, runId: 'run-a' }, 'with the newest seq, even one the filter hid');
    t.equal(beats[2]?.at, clock.now(), 'stamped with the clock');
    t.equal(h.stats().clients, 1, 'the dead one is gone from the hub');
  },
);

void t.test('hub: oversize events are dropped, malformed ones refused, close says going away', async (t) => {
  const { hub: h } = hub({ maxEventBytes: 1000 });
  const a = new FakeConnection();
  const b = new FakeConnection();
  const subA = h.subscribe(a, { filter: {} });
  const subB = h.subscribe(b, { filter: {} });
  t.equal(h.publish(alert(1, { pad: 'x'.repeat(2000) })), undefined, 'oversize dropped');
  t.equal(h.stats().oversize, 1, 'and counted');
  t.equal(h.publish(alert(2)), 1, 'the next event still gets seq 1');
  t.throws(() => h.publish({ type: '', at: 1 }), TypeError, 'an event needs a type');
  t.throws(() => h.publish({ type: 'alert', at: Number.NaN }), TypeError, 'and a time');
  let closed = false;
  const closing = h.close().then(() => (closed = true));
  await turn();
  t.strictSame(seqs(a.events), [1], 'what was published before the close is delivered');
  t.match(a.closedWith, { code: 1001, reason: 'going away' }, 'closed with 1001 going away');
  t.match(b.closedWith, { code: 1001, reason: 'going away' });
  t.notOk(closed, 'close waits for the subscribers to go');
  // The endpoint reports each socket's end.
  subA.gone();
  await turn();
  t.notOk(closed, 'one still there');
  t.strictSame(
    h.clientList().map((c) => c.state),
    ['closing'],
    'the other is closing',
  );
  subB.gone();
  await closing;
  t.ok(closed, 'resolved when all are gone');
  t.equal(h.publish(alert(3)), undefined, 'nothing is published after close');
  t.throws(() => h.subscribe(new FakeConnection(), { filter: {} }), /closed/, 'no new subscribers');
  t.match(h.admission(), { ok: false, status: 503 }, 'the endpoint is told to refuse');
});
