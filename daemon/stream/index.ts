/**
 * The live event stream part: a hub that numbers, keeps and fans out events (hub.ts), and its
 * WebSocket endpoint with tickets, Origin check and filters (endpoint.ts). Parts that produce events
 * (alerts, windows) publish into the returned hub; docs/stream.md is the protocol for integrators.
 */
import { SystemClock, type Clock } from '../../clock/index.js';
import type { Authenticator } from '../auth.js';
import type { House } from '../house/index.js';
import { registerStreamRoutes } from './endpoint.js';
import { StreamHub, type StreamOptions } from './hub.js';
import { StreamTickets } from './tickets.js';

export interface StreamNeeds {
  auth: Authenticator;
  options?: Partial<StreamOptions>;
  /** Browser origins allowed besides the daemon's own (`http.allowedOrigins`). */
  allowedOrigins?: readonly string[];
  ticketTtlMs?: number;
  /** Ticket expiry is real time: default the system clock, whatever the daemon's clock runs at. */
  wallClock?: Clock;
}

/**
 * Builds the hub, registers its routes (mounted when the API starts) and its close. The endpoint also
 * closes the hub from fastify's preClose, so WebSocket clients get 1001 "going away" before the HTTP
 * server waits for its connections; the deferred close is then a no-op.
 */
export function startStream(h: House, needs: StreamNeeds): StreamHub {
  const log = h.logFor('stream');
  const hub = new StreamHub(needs.options ?? {}, { timers: h.timers, clock: h.clock, metrics: h.metrics, log });
  const tickets = new StreamTickets(needs.wallClock ?? new SystemClock(), needs.ticketTtlMs);
  h.routes((api) =>
    registerStreamRoutes(api, {
      hub,
      auth: needs.auth,
      tickets,
      allowedOrigins: needs.allowedOrigins ?? [],
      log,
      metrics: h.metrics,
    }),
  );
  h.defer('stream', () => hub.close());
  return hub;
}

export { StreamHub, DEFAULT_STREAM_OPTIONS, resyncReason } from './hub.js';
export type {
  StreamEvent,
  StreamOptions,
  StreamConnection,
  Subscription,
  SubscribeOptions,
  StreamStats,
  StreamClientInfo,
  ResyncReason,
  DisconnectReason,
} from './hub.js';
export { registerStreamRoutes, originAllowed, type StreamEndpointContext } from './endpoint.js';
export { StreamTickets, type Ticket, type Redemption } from './tickets.js';
export {
  parseStreamQuery,
  compileFilter,
  filterKey,
  SEVERITIES,
  type StreamFilter,
  type StreamRequest,
} from './filter.js';
export { textFrame } from './frame.js';
