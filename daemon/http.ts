import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ZodError, z } from 'zod';
import { Authenticator, isLoopback, type Permission } from './auth.js';
import { ConfigError, type Config } from '../config/index.js';
import { mountApi, registerOpenApi, registerOpenApiRoute } from './api/index.js';
import type { RouteDoc } from './api/openapi.js';
import type { House } from './house/index.js';
import { registerBoard } from './board.js';
import { packageRoot } from './paths.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the caller's token must grant. Routes without one are public (health probes only). */
    permission?: Permission;
  }
}

export interface HttpOptions {
  cfg: Config['http'];
  /** Shared with the daemon, which updates it when a reload rotates tokens. */
  auth: Authenticator;
  log: Logger;
  registry: Registry;
  isReady: () => boolean;
  /** Told of every route as it is registered (tests check that each one is in the API document). */
  onRoute?: (route: RouteOptions) => void;
}

/** Where the server decided to listen, and why, for the start-up log line. */
export interface ListenPlan {
  host: string;
  port: number;
  warning?: string;
}

export function planListen(http: Config['http'], auth: Config['auth']): ListenPlan {
  const { host, port } = http.listen;
  if (auth.tokens.length === 0 && !isLoopback(host)) {
    return {
      host: '127.0.0.1',
      port,
      warning: `no auth.tokens configured: listening on 127.0.0.1 instead of ${host} (configure tokens to serve the network)`,
    };
  }
  return { host, port };
}

/**
 * The HTTP server: health and metrics at the root, the JSON API under /api/v1, the board at /.
 * Route modules are registered by the daemon; this file owns only what every route shares —
 * authentication, error shape, and the public probes.
 */
export function createHttpServer(opts: HttpOptions): FastifyInstance {
  const logger: FastifyBaseLogger = opts.log.child({ component: 'http' });
  // Per-request log lines would drown the NOC's logs (the board polls every 2 s); failures are logged below.
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 32 * 1024 * 1024,
  });
  const { auth } = opts;
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  registerOpenApi(app, { version: packageVersion() });

  app.addHook('onRequest', async (req, reply) => {
    const needs = req.routeOptions.config.permission;
    if (!needs) return;
    const decision = auth.decide(req.headers.authorization, needs);
    if (!decision.ok) {
      await reply.code(decision.status).header('www-authenticate', 'Bearer').send({ error: decision.error });
      return reply;
    }
    if (decision.principal) req.principal = decision.principal.name;
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ZodError) {
      return reply.code(400).send({
        error: 'invalid request',
        problems: err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      });
    }
    // A reload whose file does not validate: nothing was applied.
    if (err instanceof ConfigError)
      return reply.code(422).send({ error: 'invalid configuration; the running one is kept', problems: err.problems });
    const status =
      typeof (err as { statusCode?: unknown }).statusCode === 'number'
        ? (err as { statusCode: number }).statusCode
        : 500;
    if (status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : (err as Error).message });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  // In a plugin, so that they are added after @fastify/swagger's onRoute hook is in place.
  void app.register(async (root) => {
    root.get('/healthz', { config: { doc: HEALTHZ } }, async () => ({ status: 'ok' }));
    root.get('/readyz', { config: { doc: READYZ } }, async (_req, reply) =>
      opts.isReady() ? { ready: true } : reply.code(503).send({ ready: false }),
    );
    root.get('/metrics', { config: { permission: 'read', doc: METRICS } }, async (_req, reply) =>
      reply.type(opts.registry.contentType).send(await opts.registry.metrics()),
    );
    registerOpenApiRoute(root);

    if (opts.cfg.board) registerBoard(root, opts.log, BOARD);
  });
  return app;
}

const HEALTHZ: RouteDoc = {
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'Alive.', schema: z.strictObject({ status: z.literal('ok') }) } },
};
const READYZ: RouteDoc = {
  summary: 'Readiness: started and serving (503 while starting or stopping)',
  responses: {
    200: { description: 'Ready.', schema: z.strictObject({ ready: z.literal(true) }) },
    503: { description: 'Not ready.', schema: z.strictObject({ ready: z.literal(false) }) },
  },
};
const METRICS: RouteDoc = {
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Prometheus text exposition format.', type: 'text/plain', schema: z.string() } },
};
const BOARD: RouteDoc = {
  summary: 'The web board',
  responses: { 200: { description: 'The board page.', type: 'text/html', schema: z.string() } },
};

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Name of the token that authenticated this request, for audit fields (acked by, silenced by). */
    principal?: string;
  }
}

export interface Api {
  /** `http://host:port` as listened on. */
  url: string;
  host: string;
  port: number;
}

/**
 * The API part, started last: by now every part has registered its routes and everything they serve
 * exists (Telegraf starts its inputs last, Alertmanager serves only once its config is loaded). Closed
 * first at stop: no new work comes in while the rest drains. API tokens rotate live on reload, except
 * that dropping every token while listening beyond loopback (which would open the API) waits for a
 * restart.
 */
export async function startApi(
  h: House,
  needs: {
    auth: Authenticator;
    registry: Registry;
    isReady: () => boolean;
    onRoute?: ((route: RouteOptions) => void) | undefined;
  },
): Promise<Api> {
  const cfg = h.config;
  const plan = planListen(cfg.http, cfg.auth);
  if (plan.warning) h.log.warn(plan.warning);
  const app = createHttpServer({
    cfg: cfg.http,
    auth: needs.auth,
    log: h.log,
    registry: needs.registry,
    isReady: needs.isReady,
    ...(needs.onRoute ? { onRoute: needs.onRoute } : {}),
  });
  mountApi(app, h.routeList);
  for (const register of h.rootRouteList) void app.register(async (root) => register(root));
  await app.listen({ host: plan.host, port: plan.port });
  h.defer('http', () => closeHttp(h, app, cfg.http.shutdownGrace));
  const addr = app.server.address();
  const { host, port } = addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : plan;
  h.onReload('auth', (next) => {
    if (next.tokens.length === 0 && !isLoopback(host))
      return { applied: false, why: 'would open the API beyond loopback' };
    needs.auth.update(next);
    return { applied: true, report: { tokens: next.tokens.length } };
  });
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, host, port };
}

/**
 * Stops accepting, lets requests in flight finish for `http.shutdownGrace`, then cuts the connections
 * still open (a slow client must not hold the whole stop past its deadline).
 */
async function closeHttp(h: House, app: FastifyInstance, graceMs: number): Promise<void> {
  const closed = app.close();
  const cancel = h.timers.after(graceMs, () => {
    h.log.warn({ graceMs }, 'HTTP requests still open after the shutdown grace; closing their connections');
    app.server.closeAllConnections();
  });
  try {
    await closed;
  } finally {
    cancel();
  }
}
