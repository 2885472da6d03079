/**
 * The API document: OpenAPI 3.1 at `GET /api/v1/openapi.json`, built by @fastify/swagger from every
 * route the server registers.
 *
 * A route says what it takes and answers in `config.doc`, with the same zod schemas its handler parses
 * with; here they become JSON Schema (zod's own `z.toJSONSchema`) for the document only. They are never
 * put in the route's fastify `schema`, so fastify neither validates nor serialises with them: the
 * handlers' zod checks, their error shapes and status codes stay the one behaviour (docs/decisions.md).
 * A route's `permission` becomes its security requirement, and the roles that hold it are written in its
 * description. Routes marked `schema.hide` (static assets, as @fastify/static marks them) are left out.
 *
 *   route { config: { permission, doc } } ──onRoute──> @fastify/swagger ──transform: operation()──> document
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { rolesWith, type Permission } from '../auth.js';

/** What the document says about one route. The schemas are the handler's own (zod), converted here. */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Default: the first path segment under /api/v1 (`alerts`), or `service` at the root. */
  tags?: string[];
  query?: z.ZodType;
  params?: z.ZodType;
  /** The request body: a schema for `application/json`, or schemas by content type. */
  body?: z.ZodType | Record<string, z.ZodType>;
  /** The body may be left out (the handler reads a missing one as `{}`). */
  bodyOptional?: boolean;
  /**
   * Answers by status. Added unless given: 200 "OK" when no 2xx is listed; 400 with `problems` when a
   * query or body is documented (the handlers' ZodError answer); 401 and 403 for a permission.
   */
  responses?: Record<number, ResponseDoc>;
}

export interface ResponseDoc {
  description: string;
  /** The body; none for an empty answer. */
  schema?: z.ZodType;
  /** Content type of the body; default `application/json`. */
  type?: string;
  /** Response headers worth knowing (`retry-after`), by name → what they say. */
  headers?: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in the API document (see daemon/api/openapi.ts); validation stays in the handler. */
    doc?: RouteDoc;
  }
}

/* Shared answer shapes, written once for every route's document. */

/** Every error the API writes: 4xx/5xx with a message (some add fields: `reason`, `rejected`). */
export const errorBody = z.looseObject({ error: z.string() }).meta({ description: 'What went wrong, in words.' });

/** A ZodError (or a refused silence): every problem as `path: message`. */
export const problemsBody = z
  .looseObject({ error: z.string(), problems: z.array(z.string()) })
  .meta({ description: 'The request did not validate: every problem as `path: message`.' });

/** CAMARA-style errors (the notices route follows CAMARA's conventions). */
export const camaraErrorBody = z.strictObject({ status: z.number().int(), code: z.string(), message: z.string() });

/** One refused record of a batch (docs/intake.md: "The rejection shape"). */
export const rejection = z.strictObject({
  index: z.number().int().min(0).meta({ description: '0-based position among the records' }),
  line: z.number().int().min(1).optional().meta({ description: '1-based line of the text, for text bodies' }),
  field: z.string().optional(),
  error: z.string(),
});

/** `{count, <key>: [item]}`, the envelope of every list. */
export function listOf<K extends string>(key: K, item: z.ZodType) {
  return z.looseObject({ count: z.number().int().min(0), [key]: z.array(item) } as Record<K | 'count', z.ZodType>);
}

export const PUBLIC_NOTE = 'Public: no token needed.';

/** How the permission reads in an operation's description. */
export function accessNote(permission: Permission): string {
  return (
    `Needs permission \`${permission}\`: a bearer token of role ${rolesWith(permission).join(', ')}. ` +
    'Without configured tokens (loopback only) no token is needed.'
  );
}

const API_PREFIX = '/api/v1';

function toJson(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

function isZod(v: unknown): v is z.ZodType {
  return v instanceof z.ZodType;
}

/** `getAlertsById` from GET /api/v1/alerts/:id — stable, unique per method and path. */
export function operationId(method: string, url: string): string {
  const words = url
    .replace(API_PREFIX, '')
    .split(/[/.]/)
    .filter(Boolean)
    .map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w))
    .flatMap((w) => w.split(/[-_]/))
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return method.toLowerCase() + (words.join('') || 'Root');
}

function tagOf(url: string): string {
  if (!url.startsWith(`${API_PREFIX}/`)) return 'service';
  return url.slice(API_PREFIX.length + 1).split(/[/.]/)[0] ?? 'service';
}

function response(r: ResponseDoc): Record<string, unknown> {
  const out: Record<string, unknown> = { description: r.description };
  if (r.schema) out.content = { [r.type ?? 'application/json']: { schema: toJson(r.schema, 'output') } };
  else out.type = 'null';
  if (r.headers) {
    out.headers = Object.fromEntries(
      Object.entries(r.headers).map(([name, description]) => [name, { type: 'string', description }]),
    );
  }
  return out;
}

/**
 * The OpenAPI operation for one route, in the shape @fastify/swagger reads from a route schema. Pure:
 * the route's method, url, permission and doc in, the schema out.
 */
export function operation(route: Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>): Record<string, unknown> {
  const config = (route.config ?? {}) as { permission?: Permission; doc?: RouteDoc };
  const { permission, doc } = config;
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const schema: Record<string, unknown> = {
    ...(route.schema as Record<string, unknown> | undefined),
    operationId: operationId(method, route.url),
    summary: doc?.summary ?? `${method} ${route.url}`,
    tags: doc?.tags ?? [tagOf(route.url)],
    description: [doc?.description, permission ? accessNote(permission) : PUBLIC_NOTE].filter(Boolean).join('\n\n'),
    security: permission ? [{ bearer: [] }] : [],
  };
  if (doc?.query) schema.querystring = toJson(doc.query, 'input');
  if (doc?.params) schema.params = toJson(doc.params, 'input');
  if (doc?.body) {
    const byType = isZod(doc.body) ? { 'application/json': doc.body } : doc.body;
    schema.body = {
      content: Object.fromEntries(Object.entries(byType).map(([t, s]) => [t, { schema: toJson(s, 'input') }])),
    };
    // @fastify/swagger always writes `requestBody.required: true`; optionalBodies() undoes it by this mark.
    if (doc.bodyOptional) schema[OPTIONAL_BODY] = true;
  }
  const answers: Record<number, ResponseDoc> = { ...doc?.responses };
  if (!Object.keys(answers).some((s) => /^[12]/.test(s))) answers[200] = { description: 'OK' };
  if ((doc?.query || doc?.body) && !answers[400])
    answers[400] = { description: 'The query or body did not validate.', schema: problemsBody };
  if (permission) {
    answers[401] ??= { description: 'No token, or an unknown one.', schema: errorBody };
    answers[403] ??= { description: `The token's role does not have \`${permission}\`.`, schema: errorBody };
  }
  schema.response = Object.fromEntries(Object.entries(answers).map(([status, r]) => [status, response(r)]));
  return schema;
}

const OPTIONAL_BODY = 'x-cellwatch-optional-body';

/** The document's final pass: request bodies marked optional say so, and the mark goes. */
function optionalBodies(document: Record<string, unknown>): Record<string, unknown> {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const op of Object.values(paths).flatMap((item) => Object.values(item))) {
    if (!op[OPTIONAL_BODY]) continue;
    delete op[OPTIONAL_BODY];
    if (op.requestBody) (op.requestBody as { required: boolean }).required = false;
  }
  return document;
}

export interface OpenApiOptions {
  version: string;
}

/**
 * Registers @fastify/swagger on the root instance; call before any route is added (it collects them
 * with an onRoute hook). The document itself is served by `registerOpenApiRoute`.
 */
export function registerOpenApi(app: FastifyInstance, opts: OpenApiOptions): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cellwatch',
        version: opts.version,
        description:
          'Network-quality monitor for a mobile operator: cells, degradation windows, the good-experience ' +
          'target, complaints and their correlation, alerts and silences, push intake. JSON under /api/v1; ' +
          'times are epoch milliseconds or RFC 3339. Tokens: `Authorization: Bearer <token>`, with roles ' +
          'viewer (read), operator (read, operate), ingest (ingest), admin (everything). The live event ' +
          'stream is a WebSocket at /api/v1/stream (docs/stream.md).',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API token from `auth.tokens`. InfluxDB clients on /write may send it as `Token <token>` or ' +
              'as the HTTP Basic password instead.',
          },
        },
      },
    },
    transform: ({ url, route }) => ({ url, schema: operation(route) }),
    transformObject: (o) => optionalBodies(('openapiObject' in o ? o.openapiObject : o.swaggerObject) as never),
  });
}

/** `GET /api/v1/openapi.json`: the document, for viewers and up like the rest of the read API. */
export function registerOpenApiRoute(app: FastifyInstance): void {
  app.get(
    `${API_PREFIX}/openapi.json`,
    {
      config: {
        permission: 'read',
        doc: {
          summary: 'This API described in OpenAPI 3.1',
          tags: ['service'],
          responses: { 200: { description: 'The OpenAPI document.', schema: z.looseObject({ openapi: z.string() }) } },
        },
      },
    },
    async () => app.swagger(),
  );
}
