/**
 * Plumbing for the stream tests and the fan-out benchmark: a real fastify server with the stream
 * endpoint on a free loopback port, `ws` clients that record what they receive, and a decoder of
 * server frames (for the hub's fake connections and the benchmark's lightweight clients).
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { ManualClock, realTimers, type Clock, type Timers } from '../../clock/index.js';
import { parseConfig } from '../../config/index.js';
import { mountApi } from '../../daemon/api/index.js';
import { Authenticator } from '../../daemon/auth.js';
import { createHttpServer } from '../../daemon/http.js';
import { PromMetrics } from '../../daemon/metrics.js';
import {
  StreamHub,
  StreamTickets,
  registerStreamRoutes,
  type StreamConnection,
  type StreamOptions,
} from '../../daemon/stream/index.js';
import { waitFor } from './service.js';

export const STREAM_TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  ingest: 'ingest-token-0123456789',
};

export interface StreamServer {
  app: FastifyInstance;
  hub: StreamHub;
  tickets: StreamTickets;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `ws://127.0.0.1:PORT/api/v1/stream` */
  wsUrl: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

export interface StreamServerOptions {
  options?: Partial<StreamOptions>;
  tokens?: boolean;
  allowedOrigins?: string[];
  /** Heartbeats, flush intervals, close graces; default the real ones. */
  timers?: Timers;
  /** Heartbeats' `at` and ticket expiry. */
  clock?: Clock;
  port?: number;
  runId?: string;
}

/** The stream endpoint on a real server, with the daemon's Authenticator and the three test tokens. */
export async function startStreamServer(o: StreamServerOptions = {}): Promise<StreamServer> {
  const cfg = parseConfig(
    o.tokens === false
      ? {}
      : { auth: { tokens: Object.entries(STREAM_TOKENS).map(([role, token]) => ({ name: role, role, token })) } },
  );
  const log = pino({ level: 'silent' });
  const registry = new Registry();
  const metrics = new PromMetrics(registry);
  const clock = o.clock ?? new ManualClock(Date.UTC(2026, 10, 30, 20, 0, 0));
  const hub = new StreamHub(o.options ?? {}, {
    timers: o.timers ?? realTimers,
    clock,
    metrics,
    log,
    ...(o.runId ? { runId: o.runId } : {}),
  });
  const auth = new Authenticator(cfg.auth);
  const tickets = new StreamTickets(clock, 30_000);
  const app = createHttpServer({ cfg: cfg.http, auth, log, registry, isReady: () => true });
  mountApi(app, [
    (api) => registerStreamRoutes(api, { hub, auth, tickets, allowedOrigins: o.allowedOrigins ?? [], log, metrics }),
  ]);
  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    hub,
    tickets,
    url,
    wsUrl: `ws://127.0.0.1:${port}/api/v1/stream`,
    port,
    registry,
    close: () => app.close(),
  };
}

export type Message = Record<string, unknown> & { type: string; seq?: number };

/** A `ws` client that parses and keeps every message, and remembers how it ended. */
export class RecordingClient {
  readonly messages: Message[] = [];
  readonly ws: WebSocket;
  status?: number;
  body?: string;
  closed?: { code: number; reason: string };
  readonly opened: Promise<boolean>;
  readonly ended: Promise<{ code: number; reason: string }>;

  constructor(url: string, opts: { headers?: Record<string, string>; autoPong?: boolean } = {}) {
    this.ws = new WebSocket(url, { headers: opts.headers ?? {}, autoPong: opts.autoPong ?? true });
    this.ws.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString('utf8')) as Message));
    this.ws.on('unexpected-response', (_req, res) => {
      this.status = res.statusCode;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        this.body = body;
        this.ws.terminate();
      });
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('close', () => resolve(false));
    });
    this.ended = new Promise((resolve) =>
      this.ws.once('close', (code: number, reason: Buffer) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      }),
    );
  }

  /** Events only (messages with a seq), in arrival order. */
  get events(): Message[] {
    return this.messages.filter((m) => typeof m.seq === 'number' && m.type !== 'heartbeat');
  }

  of(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  async until(check: (c: RecordingClient) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(() => check(this), timeoutMs, what);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.ended;
  }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Reads server → client frames out of a byte stream (unmasked, unfragmented, as the hub writes them). */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the complete frames' opcodes and payloads. */
  push(chunk: Buffer): { opcode: number; payload: Buffer }[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: { opcode: number; payload: Buffer }[] = [];
    let at = 0;
    for (;;) {
      if (this.buf.length - at < 2) break;
      const b1 = this.buf[at + 1]!;
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (this.buf.length - at < 4) break;
        len = this.buf.readUInt16BE(at + 2);
        header = 4;
      } else if (len === 127) {
        if (this.buf.length - at < 10) break;
        len = Number(this.buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (b1 & 0x80) throw new Error('server frames must not be masked');
      if (this.buf.length - at < header + len) break;
      out.push({ opcode: this.buf[at]! & 0x0f, payload: this.buf.subarray(at + header, at + header + len) });
      at += header + len;
    }
    this.buf = this.buf.subarray(at);
    return out;
  }
}

/** A StreamConnection over memory, for the hub's own tests: frames decoded, backpressure by hand. */
export class FakeConnection implements StreamConnection {
  readonly messages: Message[] = [];
  readonly pings: number[] = [];
  /** Every buffer written, as written (the hub shares one buffer among subscribers with one filter). */
  readonly raw: Buffer[] = [];
  closedWith?: { code: number; reason: string };
  terminated = false;
  /** Bytes "written but not taken": the test sets it to simulate a stalled reader. */
  unsent = 0;
  /** When true, writes pile up in `unsent` and return false until `drain()`. */
  stalled = false;
  private readonly decoder = new FrameDecoder();
  private drains: (() => void)[] = [];

  get open(): boolean {
    return !this.closedWith && !this.terminated;
  }

  write(frames: Buffer): boolean {
    this.raw.push(frames);
    if (this.stalled) {
      this.unsent += frames.length;
      this.held.push(frames);
      return false;
    }
    this.take(frames);
    return true;
  }

  private held: Buffer[] = [];

  private take(frames: Buffer): void {
    for (const f of this.decoder.push(frames)) this.messages.push(JSON.parse(f.payload.toString('utf8')) as Message);
  }

  /** The reader catches up: everything held is taken and drain listeners run. */
  drain(): void {
    this.stalled = false;
    for (const f of this.held) this.take(f);
    this.held = [];
    this.unsent = 0;
    const fns = this.drains;
    this.drains = [];
    for (const fn of fns) fn();
  }

  onDrain(fn: () => void): void {
    this.drains.push(fn);
  }

  ping(): void {
    this.pings.push(this.pings.length + 1);
  }

  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }

  terminate(): void {
    this.terminated = true;
  }

  get events(): Message[] {
    return this.messages.filter((m) => typeof m.seq === 'number' && m.type !== 'heartbeat');
  }
}
