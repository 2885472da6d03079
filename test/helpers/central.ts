/**
 * A stand-in for a central cellwatch's sample intake (`POST /api/v1/samples`), for probe-mode tests:
 * it checks the bearer token, records every batch it accepts in arrival order, answers 202
 * `{accepted, rejected}` — or whatever `respond` decides — and can be stopped and started again on
 * the same port (a central outage).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Sample } from '../../model/index.js';
import { freePort, type Test } from './service.js';

export interface CentralRequest {
  at: number;
  samples: Sample[];
  status: number;
}

/** What to answer a batch: a status with optional headers and body; undefined = 202, everything accepted. */
export type Responder = (
  samples: Sample[],
) => { status: number; headers?: Record<string, string>; body?: unknown } | undefined;

export class StandInCentral {
  /** Every request with a readable body, answered or not, in arrival order. */
  readonly requests: CentralRequest[] = [];
  /** The samples accepted (202 and not in `rejected`), in arrival order. */
  readonly accepted: Sample[] = [];
  respond: Responder = () => undefined;
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    readonly token: string,
  ) {}

  static async start(t: Test, token: string): Promise<StandInCentral> {
    const central = new StandInCentral(await freePort(), token);
    await central.up();
    t.teardown(() => central.down());
    return central;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and drops every open connection: to the device, the central is gone. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/api/v1/samples') return reply(404, { error: 'not found' });
    if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401, { error: 'bad token' });
    let samples: Sample[];
    try {
      samples = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Sample[];
    } catch {
      return reply(400, { error: 'not JSON' });
    }
    const planned = this.respond(samples);
    const status = planned?.status ?? 202;
    this.requests.push({ at: performance.now(), samples, status });
    if (planned && status !== 202) return reply(status, planned.body, planned.headers);
    const body = (planned?.body ?? { accepted: samples.length, rejected: [] }) as {
      rejected?: { index: number }[];
    };
    const rejected = new Set((body.rejected ?? []).map((r) => r.index));
    samples.forEach((s, i) => {
      if (!rejected.has(i)) this.accepted.push(s);
    });
    reply(202, body, planned?.headers);
  }
}
