import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ZodError } from 'zod';
import { Authenticator, isLoopback, type Permission } from './auth.js';
import { ConfigError, type Config } from '../config/index.js';
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
      return reply
        .code(400)
        .send({
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

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) =>
    opts.isReady() ? { ready: true } : reply.code(503).send({ ready: false }),
  );
  app.get('/metrics', { config: { permission: 'read' } }, async (_req, reply) =>
    reply.type(opts.registry.contentType).send(await opts.registry.metrics()),
  );

  if (opts.cfg.board) {
    const board = readFileSync(join(packageRoot, 'daemon/board/index.html'), 'utf8');
    app.get('/', async (_req, reply) =>
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(board),
    );
  }
  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Name of the token that authenticated this request, for audit fields (acked by, silenced by). */
    principal?: string;
  }
}
