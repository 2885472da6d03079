/**
 * `cellwatch tail`: its line format (table), its URL, and the client against a real stream server —
 * colour on a TTY and plain lines in a pipe, reconnect with `since` through a TCP proxy that drops the
 * connection, a resync notice after a daemon restart, a silent (frozen) link detected by the heartbeat
 * watchdog, and a refused token.
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import t from 'tap';
import { WebSocket } from 'ws';
import { realTimers } from '../clock/index.js';
import type { StreamEvent } from '../daemon/stream/index.js';
import { TailRefused, formatEvent, runTail, streamUrl, type TailOutput } from '../daemon/tail.js';
import { eventually } from './helpers/service.js';
import { STREAM_TOKENS, startStreamServer } from './helpers/stream.js';

const T0 = Date.UTC(2026, 10, 30, 20, 1, 5);
const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[`);
const SGR = new RegExp(`${ESC}\\[[\\d;]*m`, 'g');

void t.test('one line per event: time, severity, kind, state, scope, summary, users, cause', async (t) => {
  const cases: { spec: string; event: Record<string, unknown>; want: string }[] = [
    {
      spec: 'a flat alert event',
      event: {
        type: 'alert',
        at: T0,
        severity: 'critical',
        kind: 'cell_degraded',
        transition: 'firing',
        scope: 'cell',
        cell: 'S0001-1',
        region: 'north',
        summary: 'Cell S0001-1: slow data',
        usersAffected: 120,
        cause: 'backhaul',
      },
      want: '2026-11-30 20:01:05  CRITICAL  cell_degraded       firing    cell S0001-1 (north)  Cell S0001-1: slow data  users 120  cause backhaul',
    },
    {
      spec: 'the API’s alert view nested under `alert`, cause in labels, users in annotations',
      event: {
        type: 'alert',
        at: T0,
        transition: 'resolved',
        alert: {
          severity: 'major',
          kind: 'site_outage',
          state: 'resolved',
          scope: 'site',
          site: 'S0002',
          region: 'south',
          summary: 'Site S0002 is down',
          labels: { cause: 'outage' },
          annotations: { usersAffected: '310' },
        },
      },
      want: '2026-11-30 20:01:05  MAJOR     site_outage         resolved  site S0002 (south)  Site S0002 is down  users 310  cause outage',
    },
    {
      spec: 'a network-wide alert',
      event: {
        type: 'alert',
        at: T0,
        severity: 'minor',
        kind: 'target_at_risk',
        scope: 'network',
        summary: '93.1% good',
      },
      want: '2026-11-30 20:01:05  MINOR     target_at_risk      network  93.1% good',
    },
    {
      spec: 'a region without a scope field',
      event: { type: 'alert', at: T0, severity: 'warning', kind: 'complaint_sla_risk', region: 'east' },
      want: '2026-11-30 20:01:05  WARNING   complaint_sla_risk  region east',
    },
    {
      spec: 'control characters from the server never reach the terminal',
      event: { type: 'alert', at: T0, severity: 'major', kind: 'x', summary: 'bad\x1b[2J\r\nline\u009b' },
      want: '2026-11-30 20:01:05  MAJOR     x                   bad [2J line',
    },
    {
      spec: 'another event type shows its type as the kind',
      event: { type: 'window', at: T0 },
      want: '2026-11-30 20:01:05  -         window',
    },
    {
      spec: 'users affected are an estimate: shown as whole users',
      event: { type: 'alert', at: T0, severity: 'major', kind: 'cell_degraded', alert: { usersAffected: 11.9 } },
      want: '2026-11-30 20:01:05  MAJOR     cell_degraded       users 12',
    },
    {
      spec: 'a missing time is visible, not a crash',
      event: { type: 'alert', severity: 'major', kind: 'k' },
      want: '????-??-?? ??:??:??  MAJOR     k',
    },
  ];
  for (const c of cases) {
    const plain = formatEvent(c.event, { color: false, timeZone: 'UTC' });
    t.equal(plain, c.want, c.spec);
    t.notMatch(plain, ANSI, `${c.spec}: no ANSI when plain`);
  }
  const coloured = formatEvent(cases[0]!.event, { color: true, timeZone: 'UTC' });
  t.match(coloured, '\x1b[1;97;41mCRITICAL', 'critical is white on red on a terminal');
  t.equal(coloured.replace(SGR, ''), cases[0]!.want, 'the same text under the colours');
  t.match(formatEvent(cases[1]!.event, { color: true, timeZone: 'UTC' }), '\x1b[32mresolved', 'resolved is green');
  t.equal(
    formatEvent(cases[0]!.event, { color: false, timeZone: 'Asia/Shanghai' }).slice(0, 19),
    '2026-12-01 04:01:05',
    'times in the chosen zone',
  );
});

void t.test('stream URL: the daemon URL becomes its stream with the filters and the cursor', async (t) => {
  const cases: { spec: string; opts: Parameters<typeof streamUrl>[0]; cursor?: object; want: string }[] = [
    { spec: 'http base', opts: { url: 'http://127.0.0.1:8080' }, want: 'ws://127.0.0.1:8080/api/v1/stream?type=alert' },
    {
      spec: 'https base with a path prefix',
      opts: { url: 'https://noc.example.net/cw/' },
      want: 'wss://noc.example.net/cw/api/v1/stream?type=alert',
    },
    {
      spec: 'the stream URL itself',
      opts: { url: 'ws://h:1/api/v1/stream' },
      want: 'ws://h:1/api/v1/stream?type=alert',
    },
    {
      spec: 'filters',
      opts: {
        url: 'http://h:1',
        severity: ['critical', 'major'],
        region: ['north'],
        kind: ['cell_degraded'],
        type: ['alert', 'window'],
      },
      want: 'ws://h:1/api/v1/stream?type=alert%2Cwindow&severity=critical%2Cmajor&region=north&kind=cell_degraded',
    },
    {
      spec: 'minSeverity',
      opts: { url: 'http://h:1', minSeverity: 'major' },
      want: 'ws://h:1/api/v1/stream?type=alert&minSeverity=major',
    },
    {
      spec: 'resuming',
      opts: { url: 'http://h:1' },
      cursor: { seq: 42, runId: 'abc' },
      want: 'ws://h:1/api/v1/stream?type=alert&since=42&runId=abc',
    },
  ];
  for (const c of cases) t.equal(streamUrl(c.opts, c.cursor), c.want, c.spec);
});

/** A captured stdout/stderr. */
class Capture implements TailOutput {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  get lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/**
 * A TCP proxy between tail and the daemon: it can drop every connection (a network blip), freeze them
 * (a link that goes silent without closing), and point new connections at another server (a restart).
 */
class TcpProxy {
  private readonly server: Server = createServer((client) => this.accept(client));
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>();
  port = 0;

  constructor(private target: number) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = addr && typeof addr === 'object' ? addr.port : 0;
  }

  private accept(client: Socket): void {
    const upstream = tcpConnect(this.target, '127.0.0.1');
    const pair = { client, upstream, frozen: false };
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      if (pair.frozen) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  retarget(port: number): void {
    this.target = port;
  }

  dropAll(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Existing connections stop carrying bytes and never close; new ones work. */
  freezeAll(): void {
    for (const p of this.pairs) {
      p.frozen = true;
      p.client.unpipe(p.upstream);
      p.upstream.unpipe(p.client);
      p.client.pause();
      p.upstream.pause();
    }
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const alertN = (n: number, extra: Partial<StreamEvent> = {}): StreamEvent => ({
  type: 'alert',
  at: T0 + n * 1000,
  severity: 'major',
  kind: 'cell_degraded',
  scope: 'cell',
  cell: `S1-${n}`,
  summary: `event ${n}`,
  ...extra,
});

const eventNumbers = (out: Capture) => out.lines.map((l) => Number(/event (\d+)/.exec(l)?.[1]));

function startTail(
  url: string,
  out: { stdout: Capture; stderr: Capture },
  opts: { token?: string; urls?: string[]; color?: boolean } = {},
) {
  const stop = new AbortController();
  const done = runTail(
    {
      url,
      token: opts.token ?? STREAM_TOKENS.viewer,
      timeZone: 'UTC',
      backoff: { initialMs: 20, maxMs: 200 },
      ...(opts.color !== undefined ? { color: opts.color } : {}),
    },
    {
      stdout: out.stdout,
      stderr: out.stderr,
      timers: realTimers,
      signal: stop.signal,
      env: {},
      connect: (u, headers) => {
        opts.urls?.push(u);
        return new WebSocket(u, { headers });
      },
    },
  );
  return { stop: () => stop.abort(), done };
}

void t.test('tail on a terminal is coloured; in a pipe it prints plain lines', async (t) => {
  const s = await startStreamServer();
  t.teardown(() => s.close());
  for (const tty of [true, false]) {
    const out = { stdout: new Capture(tty), stderr: new Capture(tty) };
    const tail = startTail(s.url, out);
    t.ok(
      await eventually(() => out.stderr.text.includes('connected to'), 10_000),
      `${tty ? 'tty' : 'pipe'}: connected`,
    );
    s.hub.publish(alertN(1, { severity: 'critical' }));
    s.hub.publish({ type: 'window', at: T0, summary: 'not an alert' });
    // A kind with no `for` goes pending and firing in one step: the pending line would only repeat it.
    s.hub.publish({ ...alertN(3), transition: 'pending', alert: { state: 'firing' } });
    s.hub.publish(alertN(2, { severity: 'minor' }));
    t.ok(await eventually(() => out.stdout.lines.length === 2, 10_000), `${tty ? 'tty' : 'pipe'}: two alert lines`);
    tail.stop();
    await tail.done;
    const [first, second] = out.stdout.lines;
    if (tty) {
      t.match(first, '\x1b[1;97;41mCRITICAL', 'tty: critical in colour');
      t.match(second, '\x1b[33mMINOR', 'tty: minor in colour');
      t.match(out.stderr.text, ANSI, 'tty: notices dimmed');
    } else {
      t.notMatch(out.stdout.text, ANSI, 'pipe: no escape codes at all');
      t.notMatch(out.stderr.text, ANSI, 'pipe: none in the notices either');
      t.match(
        first,
        /^2026-11-30 20:01:06 {2}CRITICAL {2}cell_degraded {7}cell S1-1 {2}event 1$/,
        'pipe: a plain line',
      );
    }
    t.notMatch(out.stdout.text, /not an alert/, `${tty ? 'tty' : 'pipe'}: only alerts by default`);
    t.notMatch(out.stdout.text, /event 3/, `${tty ? 'tty' : 'pipe'}: no pending line for an alert already firing`);
    t.notMatch(out.stdout.text, /connected/, `${tty ? 'tty' : 'pipe'}: notices stay off stdout`);
  }
});

void t.test(
  'tail reconnects after a drop with since: nothing missed, nothing twice; resync after a restart',
  async (t) => {
    const a = await startStreamServer({ runId: 'run-a' });
    t.teardown(() => a.close());
    const proxy = new TcpProxy(a.port);
    await proxy.start();
    t.teardown(() => proxy.close());
    const out = { stdout: new Capture(false), stderr: new Capture(false) };
    const urls: string[] = [];
    const tail = startTail(`http://127.0.0.1:${proxy.port}`, out, { urls });
    t.ok(await eventually(() => out.stderr.text.includes('connected to'), 10_000), 'connected through the proxy');
    for (let n = 1; n <= 5; n++) a.hub.publish(alertN(n));
    t.ok(await eventually(() => out.stdout.lines.length === 5, 10_000), 'five events shown');

    proxy.dropAll();
    // Published while the connection is down: written into a dead socket, so only a replay can bring them.
    for (let n = 6; n <= 10; n++) a.hub.publish(alertN(n));
    t.ok(await eventually(() => out.stdout.lines.length >= 10, 10_000), 'the missed events arrive after the reconnect');
    a.hub.publish(alertN(11));
    t.ok(await eventually(() => out.stdout.lines.length >= 11, 10_000), 'and then live ones');
    t.strictSame(eventNumbers(out.stdout), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'each event once, in order');
    t.match(out.stderr.text, /connection lost \(1006\); retrying in/, 'the drop is noticed');
    t.match(out.stderr.text, /reconnected; resuming after seq 5/, 'and the resume');
    t.match(urls[1], /[?&]since=5&runId=run-a$/, 'the reconnect asked for what came after seq 5 of this run');

    // The daemon restarts: a new run, whose history cannot continue the old cursor.
    const b = await startStreamServer({ runId: 'run-b' });
    t.teardown(() => b.close());
    proxy.retarget(b.port);
    proxy.dropAll();
    t.ok(await eventually(() => out.stderr.text.includes('resync'), 10_000), 'a resync notice');
    t.match(out.stderr.text, /resync: the daemon restarted \(run run-a → run-b\)/, 'saying what happened');
    b.hub.publish(alertN(1, { summary: 'event 12' }));
    t.ok(await eventually(() => out.stdout.lines.length === 12, 10_000), 'the new run’s events follow');
    t.match(urls.at(-1), /since=11&runId=run-a/, 'it had asked to resume the old run');

    tail.stop();
    await tail.done;
  },
);

void t.test('tail notices a link that went silent (no heartbeats) and reconnects', async (t) => {
  const s = await startStreamServer({ timers: realTimers, options: { heartbeatMs: 150 } });
  t.teardown(() => s.close());
  const proxy = new TcpProxy(s.port);
  await proxy.start();
  t.teardown(() => proxy.close());
  const out = { stdout: new Capture(false), stderr: new Capture(false) };
  const urls: string[] = [];
  const tail = startTail(`http://127.0.0.1:${proxy.port}`, out, { urls });
  t.ok(await eventually(() => out.stderr.text.includes('connected to'), 10_000), 'connected');
  proxy.freezeAll();
  t.ok(await eventually(() => /no message for \d+ s; reconnecting/.test(out.stderr.text), 10_000), 'silence noticed');
  t.ok(await eventually(() => out.stderr.text.includes('reconnected'), 10_000), 'and a new connection made');
  s.hub.publish(alertN(1));
  t.ok(await eventually(() => out.stdout.lines.length === 1, 10_000), 'events flow again');
  t.ok(urls.length >= 2, 'it connected again');
  tail.stop();
  await tail.done;
});

void t.test('tail gives up with a clear error when the daemon refuses the token', async (t) => {
  const s = await startStreamServer();
  t.teardown(() => s.close());
  const out = { stdout: new Capture(false), stderr: new Capture(false) };
  const tail = startTail(s.url, out, { token: STREAM_TOKENS.ingest });
  const err = await tail.done.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof TailRefused, 'refused, not retried forever');
  t.match((err as Error).message, /403 role ingest may not read/, 'with the daemon’s reason');
  const missing = startTail(s.url, out, { token: 'y'.repeat(24) });
  await t.rejects(missing.done, /401 unknown token/, 'an unknown token likewise');
});
