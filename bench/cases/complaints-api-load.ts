/**
 * The load for bench/cases/complaints-api.ts, in a process of its own (so the daemon's process measures
 * only the daemon): GET paths at a fixed rate — paced open-loop (one request every 1/rate s, latency from
 * the moment it was due, as wrk2 measures) or autocannon's `overallRate` — or POST bodies flat out with
 * autocannon, each a batch of complaints with fresh ids. Driven over IPC: one command, one report.
 */
import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';

export const COMPLAINTS_LOAD_ROLE = 'CELLWATCH_BENCH_COMPLAINTS_LOAD';

export type LoadCommand =
  | { kind: 'get'; url: string; paths: string[]; rate: number; durationS: number; connections: number }
  | { kind: 'paced'; url: string; paths: string[]; rate: number; durationS: number; connections: number }
  | {
      kind: 'post';
      url: string;
      cells: string[];
      from: number;
      to: number;
      batch: number;
      durationS: number;
      connections: number;
      idPrefix: string;
    };

export interface LoadReport {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const pct = (sorted: readonly number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * Open-loop load at a steady rate: request k is due at start + k/rate and is sent then (or at once,
 * if the loop itself fell behind); its latency runs from when it was due to the end of its answer, so
 * a stall in the daemon counts for every request it delayed (no coordinated omission). autocannon's
 * `overallRate` instead sends each connection's share of a second back to back: 20 connections make
 * bursts of 20, and a request's latency includes waiting behind the burst.
 */
async function paced(cmd: Extract<LoadCommand, { kind: 'paced' }>): Promise<LoadReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: cmd.connections });
  const base = new URL(cmd.url);
  const total = Math.round(cmd.rate * cmd.durationS);
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const one = (k: number, due: number) =>
    new Promise<void>((resolve) => {
      const req = httpRequest(
        { host: base.hostname, port: base.port, path: cmd.paths[k % cmd.paths.length], agent, timeout: 30_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode! >= 200 && res.statusCode! < 300) ok++;
            else non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const inFlight: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / cmd.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(one(k, due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    durationS: (performance.now() - start) / 1000,
    p50: pct(latencies, 0.5),
    p90: pct(latencies, 0.9),
    p99: pct(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? 0,
  };
}

async function run(cmd: LoadCommand): Promise<LoadReport> {
  if (cmd.kind === 'paced') return paced(cmd);
  let n = 0;
  const request =
    cmd.kind === 'get'
      ? {
          method: 'GET',
          setupRequest: (req: { path?: string }) => ({ ...req, path: cmd.paths[n++ % cmd.paths.length]! }),
        }
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req: { path?: string }) => {
            const base = n++ * cmd.batch;
            const list = [];
            for (let i = 0; i < cmd.batch; i++) {
              const k = base + i;
              // A spread of places and times; ids never repeat, so every complaint is new.
              list.push({
                id: `${cmd.idPrefix}-${k}`,
                receivedAt: cmd.from + ((k * 7919) % Math.max(1, cmd.to - cmd.from)),
                channel: k % 3 ? 'app' : 'hotline',
                category: k % 5 ? 'network' : 'billing',
                cell: cmd.cells[(k * 104729) % cmd.cells.length]!,
              });
            }
            return { ...req, path: '/api/v1/complaints', body: JSON.stringify(list) };
          },
        };
  const r = await autocannon({
    url: cmd.url,
    connections: cmd.connections,
    duration: cmd.durationS,
    timeout: 30,
    ...(cmd.kind === 'get' ? { overallRate: cmd.rate } : {}),
    requests: [request],
  });
  return {
    requests: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS: r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
  };
}

if (process.env[COMPLAINTS_LOAD_ROLE] === '1' && process.send) {
  const send = process.send.bind(process);
  process.once('message', (cmd: LoadCommand) => {
    run(cmd).then(
      (report) => send({ report }, () => process.exit(0)),
      (err: unknown) => send({ error: (err as Error).message }, () => process.exit(1)),
    );
  });
  send({ ready: true });
}
