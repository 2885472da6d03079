/**
 * Issue 10, the stream: 10,000 alert events/s through the hub to 100 WebSocket clients in another
 * process. Delivery latency is publish → client receive (the publisher's timestamp in the payload).
 *
 * - steady: p99 ≤ 50 ms; beside it, the same load through a plain `ws` broadcast (JSON once, then
 *   `ws.send` per client per event — the usual fan-out), with the server's CPU per second for both;
 * - one stalled client (it connects and never reads): the daemon's RSS at the start and after 10 s
 *   stays flat (the client is closed as a slow consumer), and the others' p99 is unaffected.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { SystemClock, realTimers } from '../../clock/index.js';
import { startStreamServer } from '../../test/helpers/stream.js';
import { collectGarbage, type BenchCase, type BenchContext, type BenchRow } from '../index.js';
import { Histogram, STREAM_CLIENTS_ROLE, type ClientsCommand, type ClientsReport } from './stream-fanout-clients.js';

const RATE = 10_000;
const CLIENTS = 100;
const TARGET_P99_MS = 50;
const MiB = 2 ** 20;
const CLIENT_PROCESSES = 2;

/** One clients process, driven over IPC. */
class ClientsProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: unknown) => void; reject: (e: Error) => void }>();
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id?: number; error?: string; report?: ClientsReport }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.report);
    });
  }

  static async start(): Promise<ClientsProcess> {
    const file = fileURLToPath(new URL('./stream-fanout-clients.js', import.meta.url));
    const child = fork(file, [], { env: { ...process.env, [STREAM_CLIENTS_ROLE]: '1' }, stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`clients process exited ${code}`)));
    });
    return new ClientsProcess(child);
  }

  ask(cmd: ClientsCommand): Promise<ClientsReport | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (m) => resolve(m as ClientsReport | undefined), reject });
      this.child.send({ ...cmd, id });
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}

interface Report {
  received: number;
  perClientMin: number;
  perClientMax: number;
  p50: number;
  p99: number;
  max: number;
  clientCpuMsPerS: number;
}

/**
 * The subscribers, spread over a few processes: the instrument must keep up with a million messages
 * a second, which one event loop of frame parsing cannot on this kind of machine.
 */
class Clients {
  private constructor(private readonly procs: ClientsProcess[]) {}

  static async start(processes: number): Promise<Clients> {
    return new Clients(await Promise.all(Array.from({ length: processes }, () => ClientsProcess.start())));
  }

  async connect(port: number, path: string, count: number): Promise<void> {
    const n = this.procs.length;
    await Promise.all(
      this.procs.map((p, i) =>
        p.ask({ type: 'connect', port, path, count: Math.floor(count / n) + (i < count % n ? 1 : 0) }),
      ),
    );
  }

  async stall(port: number, path: string): Promise<void> {
    await this.procs[0]!.ask({ type: 'stall', port, path });
  }

  async all(type: 'reset' | 'disconnect'): Promise<void> {
    await Promise.all(this.procs.map((p) => p.ask({ type })));
  }

  async report(): Promise<Report> {
    const parts = (await Promise.all(this.procs.map((p) => p.ask({ type: 'report' })))).map((r) => r!);
    const h = new Histogram();
    for (const r of parts) h.merge(r.buckets, r.max);
    return {
      received: h.count,
      perClientMin: Math.min(...parts.map((r) => r.perClientMin)),
      perClientMax: Math.max(...parts.map((r) => r.perClientMax)),
      p50: h.quantile(0.5),
      p99: h.quantile(0.99),
      max: h.max,
      clientCpuMsPerS: parts.reduce((a, r) => a + r.cpuMsPerS, 0),
    };
  }

  stop(): void {
    for (const p of this.procs) p.stop();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Wall time in ms with µs precision (three decimals keep the clients' digit parse within 2^53). */
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;

/** A realistic alert event (≈400 bytes of JSON) stamped with its publish time. */
function alertEvent(i: number) {
  const cell = `S${String(i % 2000).padStart(4, '0')}-${(i % 3) + 1}`;
  return {
    type: 'alert',
    at: Date.now(),
    pub: now(),
    severity: (['critical', 'major', 'minor', 'warning'] as const)[i % 4],
    region: `R${i % 4}`,
    kind: 'cell_degraded',
    transition: 'firing',
    alert: {
      id: `a-${i}`,
      fingerprint: `f${(i * 2654435761) % 2 ** 32}`,
      scope: 'cell',
      cell,
      site: cell.slice(0, 5),
      summary: `Cell ${cell}: users see slow data (downlink 2.1 Mbit/s per user, baseline 14.0)`,
      usersAffected: 40 + (i % 200),
      labels: { cause: 'congestion', alertname: 'cell_degraded' },
      remediation: 'Load balancing to neighbour cells, then a carrier add',
    },
  };
}

/** Publishes at RATE for `ms` in 1 ms steps; returns how many were published. */
async function publishFor(ms: number, publish: (i: number) => void, onSecond?: () => void): Promise<number> {
  const start = performance.now();
  let sent = 0;
  let nextSecond = 1000;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= ms) break;
    const due = Math.floor((elapsed * RATE) / 1000);
    while (sent < due) publish(sent++);
    if (onSecond && elapsed >= nextSecond) {
      nextSecond += 1000;
      onSecond();
    }
    await sleep(1);
  }
  return sent;
}

const cpuMsPerS = (before: NodeJS.CpuUsage, wallMs: number) => {
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000 / (wallMs / 1000);
};

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const phaseMs = ctx.quick ? 4_000 : 10_000;
  const loadBefore = loadavg()[0]!;
  const gc = collectGarbage;
  const clients = await Clients.start(CLIENT_PROCESSES);
  const server = await startStreamServer({ tokens: false, timers: realTimers, clock: new SystemClock() });
  try {
    await clients.connect(server.port, '/api/v1/stream', CLIENTS);
    const hub = server.hub;
    const publish = (i: number) => void hub.publish(alertEvent(i));
    await publishFor(2_000, publish);
    await sleep(300);

    // Steady state.
    await clients.all('reset');
    let cpu = process.cpuUsage();
    let t0 = performance.now();
    const steadySent = await publishFor(phaseMs, publish);
    const steadyCpu = cpuMsPerS(cpu, performance.now() - t0);
    await sleep(500);
    const steady = await clients.report();
    ctx.log(
      `hub steady: ${steadySent} events → ${steady.received} deliveries (want ${steadySent * CLIENTS}), ` +
        `p50 ${steady.p50} ms, p99 ${steady.p99} ms, max ${steady.max.toFixed(1)} ms, server CPU ${steadyCpu.toFixed(0)} ms/s, ` +
        `clients CPU ${steady.clientCpuMsPerS.toFixed(0)} ms/s, load ${loadavg()[0]!.toFixed(1)}`,
    );

    // One stalled client.
    await clients.all('reset');
    await clients.stall(server.port, '/api/v1/stream');
    gc();
    const rssStart = process.memoryUsage.rss();
    let rssMax = rssStart;
    const stalledSent = await publishFor(phaseMs, publish, () => {
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
    });
    gc();
    const rssEnd = process.memoryUsage.rss();
    rssMax = Math.max(rssMax, rssEnd);
    await sleep(500);
    const stalled = await clients.report();
    const slow = hub.stats().disconnects['slow-consumer'];
    ctx.log(
      `hub with a stalled client: ${stalledSent} events → ${stalled.received} deliveries to the others ` +
        `(want ${stalledSent * CLIENTS}), p99 ${stalled.p99} ms; RSS ${(rssStart / MiB).toFixed(1)} → ${(rssEnd / MiB).toFixed(1)} MiB ` +
        `(max ${(rssMax / MiB).toFixed(1)}); slow consumers closed: ${slow}`,
    );
    await clients.all('disconnect');
    await server.close();

    // Baseline: the same load through a plain ws broadcast.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const wsPort = (wss.address() as { port: number }).port;
    await clients.connect(wsPort, '/', CLIENTS);
    let seq = 0;
    const broadcast = (i: number) => {
      const msg = JSON.stringify({ seq: ++seq, ...alertEvent(i) });
      for (const c of wss.clients) c.send(msg);
    };
    await publishFor(2_000, broadcast);
    await sleep(300);
    await clients.all('reset');
    cpu = process.cpuUsage();
    t0 = performance.now();
    const baseSent = await publishFor(phaseMs, broadcast);
    const baseCpu = cpuMsPerS(cpu, performance.now() - t0);
    await sleep(500);
    const base = await clients.report();
    ctx.log(
      `ws broadcast: ${baseSent} events → ${base.received} deliveries, p50 ${base.p50} ms, p99 ${base.p99} ms, ` +
        `server CPU ${baseCpu.toFixed(0)} ms/s, clients CPU ${base.clientCpuMsPerS.toFixed(0)} ms/s, load ${loadavg()[0]!.toFixed(1)}`,
    );
    await clients.all('disconnect');
    await new Promise<void>((resolve) => wss.close(() => resolve()));

    const complete = (r: Report, sent: number) =>
      r.received === sent * CLIENTS
        ? 'every delivery arrived'
        : `${r.received} of ${sent * CLIENTS} deliveries arrived`;
    const load = `${RATE.toLocaleString('en-US')} events/s to ${CLIENTS} clients for ${phaseMs / 1000} s`;
    const perS = (n: number) => n / (phaseMs / 1000);
    return [
      {
        case: `stream: ${load}`,
        metric: 'deliveries/s received (all clients)',
        ours: perS(steady.received),
        baseline: 'ws broadcast (send per client)',
        baselineValue: perS(base.received),
        higherIsBetter: true,
        target: `≥ ${(RATE * CLIENTS).toLocaleString('en-US')}/s`,
        met: steady.received === steadySent * CLIENTS && steadySent >= RATE * (phaseMs / 1000) * 0.95,
        note:
          `published ${perS(steadySent).toFixed(0)} events/s through the hub, ${perS(baseSent).toFixed(0)}/s through the ` +
          `ws broadcast (its publisher is held up by its own sends); clients CPU ${steady.clientCpuMsPerS.toFixed(0)} ms/s`,
      },
      {
        case: `stream: ${load}`,
        metric: 'p99 delivery latency, ms',
        ours: steady.p99,
        baseline: 'ws broadcast (send per client)',
        baselineValue: base.p99,
        higherIsBetter: false,
        target: `≤ ${TARGET_P99_MS} ms`,
        met: steady.p99 <= TARGET_P99_MS && steady.received === steadySent * CLIENTS,
        note:
          `p50 ${steady.p50} ms, max ${steady.max.toFixed(1)} ms; ${complete(steady, steadySent)}; ws broadcast p50 ` +
          `${base.p50} ms, ${complete(base, baseSent)}; clients in ${CLIENT_PROCESSES} processes; ` +
          `load average ${loadBefore.toFixed(1)} on ${cpus().length} cores at the start`,
      },
      {
        case: `stream: ${load}`,
        metric: 'server CPU, ms per s',
        ours: steadyCpu,
        baseline: 'ws broadcast (send per client)',
        baselineValue: baseCpu,
        higherIsBetter: false,
        note: 'one frame per event, one socket write per client per turn, vs ws.send per client per event',
      },
      {
        case: `stream: ${load}, one client stalled`,
        metric: 'p99 delivery latency of the others, ms',
        ours: stalled.p99,
        baseline: 'same, no stalled client',
        baselineValue: steady.p99,
        higherIsBetter: false,
        target: `≤ ${TARGET_P99_MS} ms`,
        met: stalled.p99 <= TARGET_P99_MS && stalled.received === stalledSent * CLIENTS,
        note: `${complete(stalled, stalledSent)}; the stalled client was closed as a slow consumer: ${slow === 1 ? 'yes' : `NO (${slow})`}`,
      },
      {
        case: `stream: ${load}, one client stalled`,
        metric: `daemon RSS after ${phaseMs / 1000} s, MiB`,
        ours: rssEnd / MiB,
        baseline: 'RSS at the start',
        baselineValue: rssStart / MiB,
        higherIsBetter: false,
        target: '≤ 1.1× start (flat)',
        met: rssEnd <= rssStart * 1.1 && slow === 1,
        note: `max during the phase ${(rssMax / MiB).toFixed(1)} MiB; client buffer bound ${server.hub.options.clientBufferBytes / MiB} MiB`,
      },
    ];
  } finally {
    clients.stop();
  }
}

export const cases: BenchCase[] = [{ name: 'stream: fan-out to 100 WebSocket clients', run }];
