/**
 * The load generator of the push-intake benchmark (intake-push.ts), run as its own process so the
 * sender never shares an event loop with the server it measures. It builds every body before the
 * clock starts, then posts them over keep-alive connections, `concurrency` requests in flight, and
 * prints one JSON line: samples sent, wall seconds, statuses, and what the server said it accepted.
 *
 * The bench runner imports every file in bench/cases; imported, this module only exports.
 */
import { Agent, request } from 'node:http';
import { pathToFileURL } from 'node:url';

export interface LoadSpec {
  /** Full URL including path and query, e.g. http://127.0.0.1:8080/api/v1/samples. */
  url: string;
  format: 'json' | 'lp';
  samples: number;
  batch: number;
  /** Distinct cells; one round of all cells per minute of event time, ending at `endMs`. */
  cells: number;
  endMs: number;
  concurrency: number;
  authorization?: string;
}

export interface LoadResult {
  samples: number;
  seconds: number;
  requests: number;
  statuses: Record<string, number>;
  /** Sum of `accepted` in JSON answers (cellwatch's /api/v1/samples), else undefined. */
  accepted?: number;
  firstError?: string;
}

const cellId = (c: number) => `CELL-${c.toString().padStart(5, '0')}`;

/** The benchmark's samples as JSON and as the same line protocol (cellwatch's schema, ms precision). */
export function bodies(spec: Omit<LoadSpec, 'url' | 'concurrency'>): string[] {
  const rounds = Math.ceil(spec.samples / spec.cells);
  const start = spec.endMs - rounds * 60_000;
  const out: string[] = [];
  for (let from = 0; from < spec.samples; from += spec.batch) {
    const to = Math.min(spec.samples, from + spec.batch);
    const parts: string[] = [];
    for (let i = from; i < to; i++) {
      const c = i % spec.cells;
      const ts = start + Math.floor(i / spec.cells) * 60_000;
      const dl = 5 + ((i * 7) % 500) / 10;
      const ul = 1 + (i % 90) / 10;
      const lat = 20 + (i % 60);
      const prb = (i * 13) % 100;
      const users = 3 + (i % 40);
      const up = i % 97 !== 0;
      parts.push(
        spec.format === 'json'
          ? `{"cell":"${cellId(c)}","ts":${ts},"source":"push","intervalS":60,"dlMbps":${dl},"ulMbps":${ul},"latencyMs":${lat},"prbUtilPct":${prb},"activeUsers":${users},"available":${up}}`
          : `cell_kpi,cell=${cellId(c)},source=push intervalS=60,dlMbps=${dl},ulMbps=${ul},latencyMs=${lat},prbUtilPct=${prb},activeUsers=${users},available=${up ? 't' : 'f'} ${ts}`,
      );
    }
    out.push(spec.format === 'json' ? `[${parts.join(',')}]` : `${parts.join('\n')}\n`);
  }
  return out;
}

function post(
  agent: Agent,
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const all = bodies(spec).map((b) => Buffer.from(b));
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const headers: Record<string, string> = {
    'content-type': spec.format === 'json' ? 'application/json' : 'text/plain; charset=utf-8',
    ...(spec.authorization ? { authorization: spec.authorization } : {}),
  };
  const statuses: Record<string, number> = {};
  let accepted: number | undefined;
  let firstError: string | undefined;
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < all.length) {
      const body = all[next++]!;
      const r = await post(agent, url, body, headers);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status >= 300) firstError ??= `${r.status} ${r.text.slice(0, 300)}`;
      else if (r.status === 202) accepted = (accepted ?? 0) + (JSON.parse(r.text) as { accepted: number }).accepted;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return {
    samples: spec.samples,
    seconds,
    requests: all.length,
    statuses,
    ...(accepted !== undefined ? { accepted } : {}),
    ...(firstError ? { firstError } : {}),
  };
}

// As a process: `node intake-push-load.js '<LoadSpec as JSON>'` → one JSON line on stdout.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`load generator failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
