/**
 * The load for bench/cases/complaints-api.ts, in a process of its own (so the daemon's process measures
 * only the daemon): autocannon at a fixed rate over a list of GET paths, or flat out with POST bodies
 * made here, each a batch of complaints with fresh ids. Driven over IPC: one command, one report.
 */
import autocannon from 'autocannon';

export const COMPLAINTS_LOAD_ROLE = 'CELLWATCH_BENCH_COMPLAINTS_LOAD';

export type LoadCommand =
  | { kind: 'get'; url: string; paths: string[]; rate: number; durationS: number; connections: number }
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

async function run(cmd: LoadCommand): Promise<LoadReport> {
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
