/**
 * The probe collector against servers of our own on loopback: HTTP servers throttled to known rates
 * by a token bucket (the probe's throughput is checked against what the server measured it sent),
 * servers that stall, reset or answer 500, a closed TCP port, and a UDP DNS responder speaking a few
 * bytes of DNS wire format (answers, NXDOMAIN, slow answers, silence). Plus the verdict rules as
 * golden cases, the `probes:` schema, the link lane, and the probe plugin inside a daemon.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { MemoryAccumulator, type TargetStatus } from '../collectors/index.js';
import { ProbeCollector, ProbeLane, probeVerdict, type TestResult } from '../collectors/probe/index.js';
import type { HealthResult, ProbeKind } from '../collectors/probe/verdicts.js';
import { CellInventory } from '../config/inventory.js';
import { ConfigError, parseConfig, type ProbeConfig } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { PromMetrics } from '../daemon/metrics.js';
import type { Sample } from '../model/index.js';
import { eventually, freePort, makeTempDir } from './helpers/service.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// Pure rules

void t.test('verdicts: what a test result means for the experience ratio (golden)', async (t) => {
  const cases = JSON.parse(
    readFileSync(new URL('./fixtures/probe-verdicts/verdicts.json', import.meta.url), 'utf8'),
  ) as { spec: string; kind: ProbeKind; result: TestResult; health?: HealthResult[]; want: Record<string, unknown> }[];
  t.ok(cases.length >= 20, 'a table worth the name');
  for (const c of cases) {
    const got = probeVerdict(c.kind, c.result, c.health);
    t.match(got, c.want, c.spec);
    // Whatever the rule, a failure never leaves as a sample the experience rule could call good.
    if (got.verdict === 'failed')
      t.ok(got.fields.dlMbps === 0 && got.fields.available, `${c.spec}: bad under dlMbps ≥ 5`);
  }
});

void t.test('config: probes are checked strictly, with path: message', async (t) => {
  const problems = (probes: unknown[], extra: Record<string, unknown> = {}): string[] => {
    try {
      parseConfig({ probes, ...extra }, { env: {} });
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  const dl = { name: 'dl', kind: 'http-download', url: 'http://speed.example/10MB', cell: 'C1' };
  const cases: { spec: string; probes: unknown[]; extra?: Record<string, unknown>; want: RegExp[] }[] = [
    { spec: 'a minimal download probe is valid', probes: [dl], want: [] },
    {
      spec: 'unknown kind, named',
      probes: [{ ...dl, kind: 'ping' }],
      want: [/^probes\.0\.kind: expected kind http-download, http-ttfb, tcp-connect, dns$/],
    },
    {
      spec: 'a typo is an unknown key',
      probes: [{ ...dl, intervall: '5m' }],
      want: [/^probes\.0\.intervall: unknown key$/],
    },
    {
      spec: 'cell or site, not both',
      probes: [{ ...dl, site: 'S1' }],
      want: [/^probes\.0\.site: give exactly one of cell and site/],
    },
    {
      spec: 'cell or site, not neither',
      probes: [{ name: 'x', kind: 'tcp-connect', host: 'h', port: 80 }],
      want: [/^probes\.0\.cell: give exactly one/],
    },
    { spec: 'durations need units', probes: [{ ...dl, interval: 60 }], want: [/^probes\.0\.interval: /] },
    {
      spec: 'sizes need units',
      probes: [{ ...dl, maxBytes: '10' }],
      want: [/^probes\.0\.maxBytes: expected a size like/],
    },
    {
      spec: 'a test must end before its deadline',
      probes: [{ ...dl, interval: '10s', maxDuration: '8s' }],
      want: [/^probes\.0\.timeout: timeout \+ maxDuration \(13 s\) must fit in 80% of the interval \(8 s\)/],
    },
    {
      spec: 'a download needs a URL',
      probes: [{ name: 'dl', kind: 'http-download', cell: 'C1' }],
      want: [/^probes\.0\.url: /],
    },
    {
      spec: 'tcp-connect needs a port',
      probes: [{ name: 't', kind: 'tcp-connect', host: 'h', cell: 'C1' }],
      want: [/^probes\.0\.port: /],
    },
    {
      spec: 'a resolver is an IP address',
      probes: [{ name: 'd', kind: 'dns', host: 'a.example', resolver: 'dns.example', cell: 'C1' }],
      want: [/^probes\.0\.resolver: expected an IP address/],
    },
    {
      spec: 'a resolver may carry a port',
      probes: [{ name: 'd', kind: 'dns', host: 'a.example', resolver: '[::1]:5353', cell: 'C1' }],
      want: [],
    },
    {
      spec: 'health checks are checked too',
      probes: [{ ...dl, healthCheck: [{ kind: 'tcp-connect', host: 'gw' }] }],
      want: [/^probes\.0\.healthCheck\.0\.port: /],
    },
    {
      spec: 'probe names are unique',
      probes: [dl, { ...dl, cell: 'C2' }],
      want: [/^probes\.1\.name: duplicate probe name "dl" \(also at probes\.0\)$/],
    },
    {
      spec: 'central needs a token',
      probes: [],
      extra: { central: { url: 'http://central.example:8080' } },
      want: [/^central\.token: required: an ingest-role token/],
    },
    {
      spec: 'central wants an http(s) URL',
      probes: [],
      extra: { central: { url: 'central:8080', token: 'x' } },
      want: [/^central\.url: expected an http\(s\) URL$/],
    },
  ];
  for (const c of cases) {
    const got = problems(c.probes, c.extra);
    t.equal(got.length, c.want.length, `${c.spec} (${got.join('; ')})`);
    c.want.forEach((re, i) => t.match(got[i] ?? '', re, c.spec));
  }
  const parsed = parseConfig({ probes: [dl], central: { url: 'http://c.example/', token: 'tok' } }, { env: {} });
  t.match(parsed.probes[0], {
    interval: 60_000,
    timeout: 5_000,
    maxBytes: 10 * 1024 * 1024,
    maxDuration: 10_000,
    healthCheck: [],
  });
  t.match(parsed.central, { batchSize: 500, timeout: 10_000, spoolMaxBytes: 256 * 1024 * 1024 });
  t.equal(String(parsed.central?.token), '[redacted]', 'the ingest token is a secret');
});

void t.test('lane: a download runs alone, latency tests share, and a waiting download is not starved', async (t) => {
  const lane = new ProbeLane();
  const never = new AbortController().signal;
  const a = await lane.acquire('shared', never);
  const b = await lane.acquire('shared', never);
  t.equal(lane.holders, 2, 'latency tests run side by side');
  let downloadIn = false;
  const download = lane.acquire('exclusive', never).then((release) => {
    downloadIn = true;
    return release;
  });
  let lateIn = false;
  const late = lane.acquire('shared', never).then((release) => {
    lateIn = true;
    return release;
  });
  await sleep(5);
  t.notOk(downloadIn, 'the download waits for the latency tests');
  a();
  b();
  const release = await download;
  t.ok(downloadIn && !lateIn, 'the download goes next, before the latency test that came after it');
  release();
  (await late)();
  t.ok(lateIn);
  const gone = new AbortController();
  const hold = await lane.acquire('exclusive', never);
  const waiting = lane.acquire('shared', gone.signal);
  gone.abort(new Error('deadline'));
  await t.rejects(waiting, /deadline/, 'a waiter gives up at its deadline');
  hold();
  t.equal(lane.holders, 0);
});

// ---------------------------------------------------------------------------------------------------
// Servers of our own

interface Served {
  url: string;
  port: number;
  /** Per request: bytes written after the first write and the time from the first to the last write. */
  writes: { first: number; last: number; firstBytes: number; bytes: number }[];
  close(): Promise<void>;
}

async function serve(
  t: Test,
  handler: (req: IncomingMessage, res: ServerResponse, served: Served) => void,
): Promise<Served> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => handler(req, res, served));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const served: Served = {
    url: `http://127.0.0.1:${port}/`,
    port,
    writes: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  t.teardown(() => served.close());
  return served;
}

/**
 * A body of `total` bytes paced by a token bucket at `bitsPerSecond`: chunks of 10 ms' worth, a
 * bucket of two chunks (a late timer may catch up a little, never burst). What was written, and
 * when, is recorded: the true rate the probe is checked against.
 */
function throttled(bitsPerSecond: number, total: number) {
  const bytesPerMs = bitsPerSecond / 8 / 1000;
  const chunk = Math.max(1024, Math.round(bytesPerMs * 10));
  const payload = Buffer.alloc(chunk, 0x61);
  return (_req: IncomingMessage, res: ServerResponse, served: Served) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    const record = { first: 0, last: 0, firstBytes: 0, bytes: 0 };
    served.writes.push(record);
    let tokens = 0;
    let last = performance.now();
    let sent = 0;
    const pump = () => {
      if (res.destroyed) return;
      const now = performance.now();
      tokens = Math.min(2 * chunk, tokens + (now - last) * bytesPerMs);
      last = now;
      while (tokens >= Math.min(chunk, total - sent) && sent < total) {
        const n = Math.min(chunk, total - sent);
        res.write(payload.subarray(0, n));
        tokens -= n;
        sent += n;
        const at = performance.now();
        if (record.first === 0) {
          record.first = at;
          record.firstBytes = n;
        }
        record.last = at;
        record.bytes = sent;
      }
      if (sent >= total) return void res.end();
      setTimeout(pump, Math.max(1, (chunk - tokens) / bytesPerMs));
    };
    setTimeout(pump, 10);
  };
}

/** True rate of one paced response, Mbit/s, measured like the probe does: from the first write on. */
const trueMbps = (w: Served['writes'][number]) => ((w.bytes - w.firstBytes) * 8) / (w.last - w.first) / 1000;

interface Zone {
  [name: string]: { address?: string; delayMs?: number; silent?: boolean; rcode?: number };
}

/** A UDP DNS responder: A answers for the zone's names, NXDOMAIN (rcode 3) for the rest. */
async function dnsResponder(t: Test, zone: Zone): Promise<{ address: string; queries: string[]; close(): void }> {
  const socket: UdpSocket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    // Header (12 bytes), then the question: labels up to a zero byte, QTYPE, QCLASS.
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off]! > 0) {
      const len = msg[off]!;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
      off += 1 + len;
    }
    const question = msg.subarray(12, off + 5);
    const name = labels.join('.').toLowerCase();
    queries.push(name);
    const entry = zone[name];
    if (entry?.silent) return;
    const rcode = entry ? (entry.rcode ?? 0) : 3;
    const answer = entry?.address && rcode === 0;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0); // id
    header.writeUInt16BE(0x8180 | rcode, 2); // QR, RD, RA + rcode
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const parts = [header, question];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question's
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6); // TTL
      rr.writeUInt16BE(4, 10);
      entry.address!.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
      parts.push(rr);
    }
    const reply = Buffer.concat(parts);
    setTimeout(() => socket.send(reply, rinfo.port, rinfo.address), entry?.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const close = () => {
    try {
      socket.close();
    } catch {
      // closed already
    }
  };
  t.teardown(close);
  return { address: `127.0.0.1:${socket.address().port}`, queries, close };
}

/** Builds a collector over the given probes (parsed by the real schema) and polls them once, in parallel. */
async function probe(
  t: Test,
  probes: Record<string, unknown>[],
  opts: { inventory?: CellInventory; registry?: Registry } = {},
): Promise<{
  acc: MemoryAccumulator;
  status: Map<string, TargetStatus>;
  samples: (name: string) => Sample[];
  registry: Registry;
}> {
  const cfg: ProbeConfig[] = parseConfig({ probes }, { env: {} }).probes;
  const scheduler = new ManualScheduler(new ManualClock(T0));
  const registry = opts.registry ?? new Registry();
  const collector = new ProbeCollector(cfg, {
    scheduler,
    log: silent,
    metrics: new PromMetrics(registry),
    inventory: opts.inventory ?? CellInventory.empty,
  });
  t.teardown(() => collector.stop());
  const acc = new MemoryAccumulator();
  const stop = new AbortController();
  await Promise.all(cfg.map((p) => collector.pollOnce(p.name, acc, T0, stop.signal)));
  const status = new Map(collector.status().map((s) => [s.target, s]));
  const cellOf = new Map(cfg.map((p) => [p.name, p.cell]));
  return { acc, status, registry, samples: (name) => acc.samples.filter((s) => s.cell === cellOf.get(name)) };
}

// ---------------------------------------------------------------------------------------------------
// HTTP

void t.test('http-download: throughput within 10% of the true rate at 2, 8 and 20 Mbit/s', async (t) => {
  const rates = [2, 8, 20];
  // About 1.5 s of data each: long enough for a rate, short enough for a test run.
  const servers = await Promise.all(
    rates.map((mbps) => serve(t, throttled(mbps * 1e6, Math.round(mbps * 1e6 * 1.5) / 8))),
  );
  const { samples, status, acc } = await probe(
    t,
    rates.map((mbps, i) => ({
      name: `dl-${mbps}`,
      kind: 'http-download',
      url: servers[i]!.url,
      cell: `C-${mbps}`,
      interval: '60s',
      maxDuration: '10s',
    })),
  );
  t.same(acc.gaps, [], 'no gaps');
  const spans: [number, number][] = [];
  rates.forEach((mbps, i) => {
    const w = servers[i]!.writes[0]!;
    const truth = trueMbps(w);
    const [s] = samples(`dl-${mbps}`);
    t.ok(s, `${mbps} Mbit/s: a sample`);
    if (!s) return;
    t.match(s, { source: 'probe', ts: T0, available: true, cell: `C-${mbps}` });
    t.equal(s.latencyMs, undefined, 'a download reports throughput only');
    const error = Math.abs(s.dlMbps! - truth) / truth;
    t.ok(
      error <= 0.1,
      `${mbps} Mbit/s paced (server measured ${truth.toFixed(2)}): probe measured ${s.dlMbps} (${(error * 100).toFixed(1)}% off)`,
    );
    t.ok(
      truth <= mbps * 1.05 && truth >= mbps * 0.5,
      `the token bucket paced near ${mbps} Mbit/s (${truth.toFixed(2)})`,
    );
    t.match(status.get(`dl-${mbps}`), {
      state: 'ok',
      result: 'passed',
      kind: 'http-download',
      stoppedBy: 'end',
      bytes: w.bytes,
    });
    spans.push([w.first, w.last]);
  });
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    t.ok(spans[i]![0] >= spans[i - 1]![1], 'downloads ran one at a time (the lane)');
});

void t.test('http-download: maxBytes and maxDuration cut a long download short', async (t) => {
  const big = await serve(t, throttled(16e6, 50_000_000));
  const { samples, status } = await probe(t, [
    { name: 'bytes', kind: 'http-download', url: big.url, cell: 'B', maxBytes: '500KB' },
    { name: 'time', kind: 'http-download', url: big.url, cell: 'T', maxDuration: '800ms' },
  ]);
  t.match(status.get('bytes'), { result: 'passed', stoppedBy: 'maxBytes' });
  t.ok(
    Number(status.get('bytes')?.bytes) >= 500_000 && Number(status.get('bytes')?.bytes) < 600_000,
    'stopped near maxBytes',
  );
  t.match(status.get('time'), { result: 'passed', stoppedBy: 'maxDuration' });
  const measured = Number(status.get('time')?.measuredMs);
  t.ok(measured >= 790 && measured < 2_000, `stopped after about maxDuration (${measured} ms)`);
  for (const name of ['bytes', 'time']) t.ok((samples(name)[0]?.dlMbps ?? 0) > 5, `${name}: a throughput was measured`);
});

void t.test('http: a server that stalls, resets or answers 500 gives bad samples with the reason', async (t) => {
  const stall = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 10_000_000 });
    res.write(Buffer.alloc(65_536)); // then nothing, connection held open
  });
  const mute = await serve(t, () => undefined); // accepts, never answers
  const reset = await serve(t, (req, res) => {
    res.writeHead(200, { 'content-length': 10_000_000 });
    res.write(Buffer.alloc(100_000), () => setTimeout(() => req.socket.destroy(), 20));
  });
  const broken = await serve(t, (_req, res) => {
    res.writeHead(500, 'Internal Server Error');
    res.end('boom');
  });
  const missing = await serve(t, (_req, res) => {
    res.writeHead(404, 'Not Found');
    res.end();
  });
  const closedPort = await freePort();
  const { samples, status, acc, registry } = await probe(t, [
    { name: 'stall', kind: 'http-download', url: stall.url, cell: 'S', timeout: '400ms' },
    { name: 'mute', kind: 'http-ttfb', url: mute.url, cell: 'M', timeout: '400ms' },
    { name: 'reset', kind: 'http-download', url: reset.url, cell: 'R' },
    { name: 'http500', kind: 'http-ttfb', url: broken.url, cell: 'E' },
    { name: 'http500-dl', kind: 'http-download', url: broken.url, cell: 'E2' },
    { name: 'refused', kind: 'http-ttfb', url: `http://127.0.0.1:${closedPort}/`, cell: 'F' },
    { name: 'tcp-refused', kind: 'tcp-connect', host: '127.0.0.1', port: closedPort, cell: 'P' },
    { name: 'http404', kind: 'http-download', url: missing.url, cell: 'N' },
  ]);
  const bad: [string, RegExp][] = [
    ['stall', /^stalled: no data for 400 ms after 65536 bytes$/],
    ['mute', /^no response within 400 ms$/],
    ['reset', /^connection reset/],
    ['http500', /^HTTP 500 Internal Server Error$/],
    ['http500-dl', /^HTTP 500/],
    ['refused', /^connection refused$/],
    ['tcp-refused', /^connection refused$/],
  ];
  for (const [name, reason] of bad) {
    t.match(samples(name), [{ available: true, dlMbps: 0, source: 'probe', ts: T0 }], `${name}: one bad sample`);
    t.equal(samples(name)[0]?.latencyMs, undefined, `${name}: no latency pretending to be measured`);
    t.match(
      status.get(name),
      { state: 'ok', result: 'failed', failure: reason },
      `${name}: the reason is in the status`,
    );
  }
  t.same(samples('http404'), [], 'a 404 is the probe misconfigured: no sample');
  t.match(acc.gaps, [{ target: 'http404', reason: 'error', cells: ['N'], detail: /probe misconfigured: HTTP 404/ }]);
  t.match(status.get('http404'), { state: 'error', lastError: /HTTP 404/ });
  const text = await registry.metrics();
  t.match(text, /cellwatch_probe_tests_total\{target="reset",result="failed"\} 1/);
  t.match(text, /cellwatch_probe_tests_total\{target="http404",result="unknown"\} 1/);
  t.match(
    text,
    /cellwatch_probe_up\{target="reset"\} 1/,
    'a failed test is a successful poll: the probe host did its job',
  );
});

void t.test('http-ttfb and tcp-connect: latency measured', async (t) => {
  const slow = await serve(t, (_req, res) => {
    setTimeout(() => {
      res.writeHead(200);
      res.end('ok');
    }, 150);
  });
  const { samples, status } = await probe(t, [
    { name: 'ttfb', kind: 'http-ttfb', url: slow.url, cell: 'T' },
    { name: 'tcp', kind: 'tcp-connect', host: '127.0.0.1', port: slow.port, cell: 'P' },
  ]);
  const ttfb = samples('ttfb')[0]?.latencyMs ?? 0;
  t.ok(ttfb >= 145 && ttfb < 1_500, `TTFB includes the server's 150 ms (${ttfb} ms)`);
  t.equal(samples('ttfb')[0]?.dlMbps, undefined, 'a latency probe reports latency only');
  t.match(status.get('ttfb'), { result: 'passed', latencyMs: ttfb });
  const tcp = samples('tcp')[0]?.latencyMs ?? -1;
  t.ok(tcp >= 0 && tcp < 500, `a loopback handshake takes well under a second (${tcp} ms)`);
});

// ---------------------------------------------------------------------------------------------------
// DNS and the probe host's health

void t.test('dns: resolution time measured, NXDOMAIN bad, resolver down unknown with a gap', async (t) => {
  const dns = await dnsResponder(t, {
    'www.example.test': { address: '192.0.2.10', delayMs: 60 },
    'fail.example.test': { rcode: 2 },
    'quiet.example.test': { silent: true },
  });
  const down = `127.0.0.1:${await freePort('udp')}`;
  const { samples, status, acc } = await probe(t, [
    { name: 'ok', kind: 'dns', host: 'www.example.test', resolver: dns.address, cell: 'A' },
    { name: 'nx', kind: 'dns', host: 'nope.example.test', resolver: dns.address, cell: 'B' },
    { name: 'servfail', kind: 'dns', host: 'fail.example.test', resolver: dns.address, cell: 'C' },
    { name: 'down', kind: 'dns', host: 'www.example.test', resolver: down, cell: 'D' },
    { name: 'quiet', kind: 'dns', host: 'quiet.example.test', resolver: dns.address, cell: 'E', timeout: '600ms' },
  ]);
  const ms = samples('ok')[0]?.latencyMs ?? 0;
  t.ok(ms >= 55 && ms < 1_500, `resolution time includes the responder's 60 ms (${ms} ms)`);
  t.match(status.get('ok'), { result: 'passed', address: '192.0.2.10', resolver: dns.address });
  t.match(samples('nx'), [{ available: true, dlMbps: 0 }], 'NXDOMAIN: a bad sample');
  t.match(status.get('nx'), { result: 'failed', failure: 'name not found (NXDOMAIN)' });
  t.match(samples('servfail'), [{ dlMbps: 0 }], 'SERVFAIL: a bad sample');
  for (const name of ['down', 'quiet']) {
    t.same(samples(name), [], `${name}: no sample (unknown)`);
    t.match(status.get(name), { state: 'probe-host' });
  }
  t.match(
    acc.gaps.filter((g) => g.reason === 'probe-host').sort((a, b) => a.target.localeCompare(b.target)),
    [
      { target: 'down', cells: ['D'], detail: /the probe host cannot test: the resolver is not listening/ },
      { target: 'quiet', cells: ['E'], detail: /the resolver did not answer within 600 ms/ },
    ],
  );
  t.ok(dns.queries.includes('nope.example.test'), 'the configured resolver was asked');
});

void t.test('health checks: a failed test is unknown when the probe host itself is unhealthy', async (t) => {
  const broken = await serve(t, (_req, res) => {
    res.writeHead(503);
    res.end();
  });
  const gateway = await serve(t, (_req, res) => res.end());
  const dns = await dnsResponder(t, { 'always.example.test': { address: '192.0.2.1' } });
  const deadGateway = await freePort();
  const { samples, status, acc } = await probe(t, [
    {
      name: 'sick-host',
      kind: 'http-ttfb',
      url: broken.url,
      cell: 'A',
      healthCheck: [
        { kind: 'dns', host: 'always.example.test', resolver: dns.address },
        { kind: 'tcp-connect', host: '127.0.0.1', port: deadGateway, timeout: '500ms' },
      ],
    },
    {
      name: 'healthy-host',
      kind: 'http-ttfb',
      url: broken.url,
      cell: 'B',
      healthCheck: [
        { kind: 'tcp-connect', host: '127.0.0.1', port: gateway.port },
        { kind: 'dns', host: 'always.example.test', resolver: dns.address },
      ],
    },
  ]);
  t.same(samples('sick-host'), [], 'the test failed and so did the gateway check: unknown, no sample');
  t.match(acc.gaps, [
    {
      target: 'sick-host',
      reason: 'probe-host',
      detail: new RegExp(
        `test failed \\(HTTP 503 Service Unavailable\\) but so did health check tcp-connect 127.0.0.1:${deadGateway} \\(connection refused\\)`,
      ),
    },
  ]);
  t.match(
    samples('healthy-host'),
    [{ dlMbps: 0 }],
    'every health check passed: the failure is the network, a bad sample',
  );
  t.match(status.get('healthy-host'), { result: 'failed', failure: /^HTTP 503/ });
});

void t.test('a site probe reports for every cell of its site; a site without cells is a gap', async (t) => {
  const up = await serve(t, (_req, res) => res.end('ok'));
  const inventory = CellInventory.of(
    ['S1-1', 'S1-2', 'S1-3'].map((id) => ({ id, site: 'S1', region: 'R', lat: 31, lon: 121, neighbours: [] })),
  );
  const { acc, status } = await probe(
    t,
    [
      { name: 'site', kind: 'tcp-connect', host: '127.0.0.1', port: up.port, site: 'S1' },
      { name: 'nowhere', kind: 'tcp-connect', host: '127.0.0.1', port: up.port, site: 'S9' },
    ],
    { inventory },
  );
  t.same(
    acc.samples.map((s) => s.cell),
    ['S1-1', 'S1-2', 'S1-3'],
    'one sample per cell of the site, the same measurement',
  );
  t.equal(new Set(acc.samples.map((s) => s.latencyMs)).size, 1);
  t.match(status.get('site'), { site: 'S1', state: 'ok' });
  t.match(acc.gaps, [{ target: 'nowhere', reason: 'error', detail: /site S9 has no cells in the inventory/ }]);
});

// ---------------------------------------------------------------------------------------------------
// Inside the daemon

void t.test('the probe plugin runs in the daemon: results reach the latest KPIs, probes reload live', async (t) => {
  const up = await serve(t, (_req, res) => res.end('ok'));
  const dir = await makeTempDir('cellwatch-probe-daemon-');
  const raw = {
    http: { listen: '127.0.0.1:0' },
    dataDir: join(dir, 'data'),
    probes: [{ name: 'gw', kind: 'tcp-connect', host: '127.0.0.1', port: up.port, cell: 'P-1', interval: '1m' }],
  };
  const clock = new ManualClock(T0);
  const scheduler = new ManualScheduler(clock);
  const daemon = new Daemon(parseConfig(raw, { env: {} }), { scheduler, log: silent, registry: new Registry() });
  await daemon.start();
  t.teardown(() => daemon.stop());
  await scheduler.advanceTo(T0 + 60_000);
  const collection = (await (await fetch(`${daemon.url}/api/v1/collection`)).json()) as { targets: TargetStatus[] };
  t.match(
    collection.targets.find((x) => x.collector === 'probe'),
    { target: 'gw', state: 'ok', kind: 'tcp-connect', cell: 'P-1', result: 'passed', lastSuccess: T0 + 60_000 },
    'the probe is a collection target like any other',
  );
  t.ok(
    await eventually(async () => {
      const r = await fetch(`${daemon.url}/api/v1/cells/P-1`);
      const body = (await r.json()) as { latest?: Sample };
      return r.status === 200 && body.latest?.source === 'probe' && typeof body.latest.latencyMs === 'number';
    }, 10_000),
    'the probe sample is the cell’s latest',
  );
  const reloaded = await daemon.reload(
    parseConfig({ ...raw, probes: [...raw.probes, { ...raw.probes[0], name: 'gw-2', cell: 'P-2' }] }, { env: {} }),
  );
  t.same(reloaded.applied, ['probes']);
  t.match(reloaded.probe, { added: ['gw-2'], kept: ['gw'] });
});
