/**
 * `GET /api/v1/stream` (WebSocket) and `POST /api/v1/stream/ticket`. The upgrade never reaches
 * fastify's routing (no @fastify/websocket): a `ws` server in noServer mode takes the HTTP server's
 * 'upgrade' event for the stream path, after these checks, in this order, each answered with a plain
 * HTTP error instead of the upgrade:
 *
 *   Origin    a browser's Origin must be the request's own (Host) or in http.allowedOrigins     403
 *   query     filters, since, runId, ticket; a token in the URL is refused                        400
 *   room      the hub is stopping or full                                                         503
 *   auth      Authorization: Bearer (read permission), or a single-use ticket (its asker's role)  401/403
 *
 * Without configured tokens there is no auth (loopback only, as for the rest of the API), but the
 * Origin check still applies: it is what stops any web page open in the NOC's browser from reading
 * the stream of a daemon on localhost.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { CounterMetric, Metrics } from '../../model/index.js';
import type { Authenticator, Principal } from '../auth.js';
import { z } from 'zod';
import { errorBody, type RouteDoc } from '../api/openapi.js';
import { STREAM_QUERY, parseStreamQuery, type StreamRequest } from './filter.js';
import type { StreamConnection, StreamHub } from './hub.js';
import type { StreamTickets } from './tickets.js';

export interface StreamEndpointContext {
  hub: StreamHub;
  auth: Authenticator;
  tickets: StreamTickets;
  /** Origins allowed besides the request's own, e.g. `https://noc.example.net` (http.allowedOrigins). */
  allowedOrigins: readonly string[];
  log: Logger;
  metrics?: Metrics;
}

type Admission =
  | { ok: true; request: StreamRequest; principal?: Principal }
  | { ok: false; status: 400 | 401 | 403 | 503; error: string };

const refusal = (description: string) => ({ description, schema: errorBody });
const STREAM_DOC: RouteDoc = {
  summary: 'The live event stream (WebSocket)',
  description:
    'Open with `Upgrade: websocket`; events arrive as JSON text messages `{seq, type, ...}`. Browsers, which ' +
    'cannot set headers on a WebSocket, pass a `ticket` instead of the Authorization header. A token in the ' +
    'URL is refused. docs/stream.md is the protocol.',
  query: STREAM_QUERY,
  responses: {
    101: { description: 'Switching to the WebSocket protocol.' },
    400: refusal('A bad query: unknown parameter or severity, malformed since, a token in the URL.'),
    401: refusal('No token, an unknown token, or a used, expired or unknown ticket.'),
    403: refusal('A role without read, or an Origin that is not allowed.'),
    426: refusal('A plain GET without the WebSocket upgrade.'),
    503: refusal('The daemon is stopping, or the stream is at its subscriber limit.'),
  },
};
const TICKET_DOC: RouteDoc = {
  summary: 'A single-use ticket to open the stream from a browser',
  description: 'Works once, for 30 s, with the role of the token that asked for it.',
  responses: {
    200: {
      description: 'The ticket.',
      schema: z.strictObject({ ticket: z.string(), expiresAt: z.number(), expiresInMs: z.number() }),
    },
  },
};

/** Registers the ticket route, the upgrade handler and its plain-GET answer on the API plugin (prefix /api/v1). */
export function registerStreamRoutes(api: FastifyInstance, ctx: StreamEndpointContext): void {
  const path = `${api.prefix}/stream`;
  const rejected: CounterMetric<'status'> | undefined = ctx.metrics?.counter({
    name: 'cellwatch_stream_rejected_total',
    help: 'Stream upgrade requests refused, by HTTP status',
    labelNames: ['status'],
  });

  api.post('/stream/ticket', { config: { permission: 'read', doc: TICKET_DOC } }, async (req) => {
    const decision = ctx.auth.decide(req.headers.authorization, 'read');
    const { ticket, expiresAt } = ctx.tickets.issue(decision.ok ? decision.principal : undefined);
    return { ticket, expiresAt, expiresInMs: ctx.tickets.ttlMs };
  });

  // The upgrade never reaches fastify; a plain GET does, and is told what the path is (and the route
  // puts the stream in the API document).
  api.get('/stream', { config: { permission: 'read', doc: STREAM_DOC } }, async (_req, reply) =>
    reply
      .code(426)
      .header('upgrade', 'websocket')
      .send({ error: `${path} is a WebSocket: send Upgrade: websocket (docs/stream.md)` }),
  );

  // Clients send nothing but pongs and a close: a small payload cap keeps a hostile one from making us buffer.
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4096,
    clientTracking: false,
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://upgrade.invalid');
    if (url.pathname !== path) {
      // Another part may serve WebSockets on its own path one day; if nobody does, say so.
      if (api.server.listenerCount('upgrade') > 1) return;
      refuse(socket, 404, `no WebSocket route at ${url.pathname}`);
      return;
    }
    const verdict = admit(req, url, ctx);
    if (!verdict.ok) {
      rejected?.inc({ status: verdict.status });
      ctx.log.debug(
        { status: verdict.status, error: verdict.error, remote: req.socket.remoteAddress },
        'stream refused',
      );
      refuse(socket, verdict.status, verdict.error);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, socket, req, verdict, ctx));
  };
  api.server.on('upgrade', onUpgrade);

  // preClose runs before the server stops listening: open WebSockets would otherwise hold close() up.
  api.addHook('preClose', async () => {
    await ctx.hub.close();
  });
  api.addHook('onClose', async () => {
    api.server.off('upgrade', onUpgrade);
    wss.close();
  });
}

function admit(req: IncomingMessage, url: URL, ctx: StreamEndpointContext): Admission {
  const origin = req.headers.origin;
  if (!originAllowed(origin, req.headers.host, ctx.allowedOrigins))
    return { ok: false, status: 403, error: `origin ${origin} is not allowed (same origin or http.allowedOrigins)` };
  const parsed = parseStreamQuery(url.searchParams);
  if (!parsed.ok) return { ok: false, status: 400, error: parsed.error };
  const room = ctx.hub.admission();
  if (!room.ok) return room;
  const { request } = parsed;
  if (req.headers.authorization !== undefined || request.ticket === undefined) {
    const decision = ctx.auth.decide(req.headers.authorization, 'read');
    if (!decision.ok) return decision;
    return decision.principal ? { ok: true, request, principal: decision.principal } : { ok: true, request };
  }
  const redeemed = ctx.tickets.redeem(request.ticket);
  if (!redeemed.ok) return { ok: false, status: 401, error: redeemed.reason };
  return redeemed.principal ? { ok: true, request, principal: redeemed.principal } : { ok: true, request };
}

/**
 * Same origin (the Origin's host:port is the request's Host) or listed. A request without Origin is
 * not from a browser page (curl, `cellwatch tail`, a NOC integration): its token is what counts.
 * `null` (sandboxed frames, file: pages) is refused.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  if (host !== undefined && parsed.host === host.toLowerCase()) return true;
  return allowed.some((a) => {
    try {
      return new URL(a).origin === parsed.origin;
    } catch {
      return false;
    }
  });
}

function refuse(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  socket.on('error', () => socket.destroy());
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...(status === 401 ? ['WWW-Authenticate: Bearer'] : []),
      '',
      body,
    ].join('\r\n'),
  );
}

function attach(
  ws: WebSocket,
  socket: Duplex,
  req: IncomingMessage,
  admitted: Extract<Admission, { ok: true }>,
  ctx: StreamEndpointContext,
): void {
  const remote = req.socket.remoteAddress;
  let subscription;
  try {
    subscription = ctx.hub.subscribe(new WsConnection(ws, socket), {
      filter: admitted.request.filter,
      ...(admitted.request.since !== undefined ? { since: admitted.request.since } : {}),
      ...(admitted.request.runId !== undefined ? { runId: admitted.request.runId } : {}),
      ...(admitted.principal ? { principal: admitted.principal.name } : {}),
      ...(remote !== undefined ? { remote } : {}),
    });
  } catch {
    // The hub closed while the handshake was in flight.
    ws.close(1001, 'going away');
    return;
  }
  const sub = subscription;
  ws.on('pong', () => sub.pong());
  ws.on('close', () => sub.gone());
  ws.on('error', (err) => ctx.log.debug({ err, client: sub.id }, 'stream socket error'));
}

/**
 * The hub writes prebuilt frames to the upgraded socket itself (see frame.ts); `ws` keeps the
 * handshake, reading (pongs, close), pings and the closing handshake. With permessage-deflate off,
 * `ws` writes each of its frames synchronously too, so the two never interleave inside a frame. After
 * the close frame nothing more may be written, hence the readyState check.
 */
class WsConnection implements StreamConnection {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {}

  write(frames: Buffer): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return true;
    return this.socket.write(frames);
  }

  get unsent(): number {
    return this.ws.bufferedAmount;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  onDrain(fn: () => void): void {
    this.socket.once('drain', fn);
  }

  ping(): void {
    if (this.open) this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}
