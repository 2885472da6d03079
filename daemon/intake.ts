import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ArraySink,
  CELL_NUMBERS,
  CELLWATCH_MAPPING,
  LINK_NUMBERS,
  MAX_ID_LENGTH,
  SAMPLE_SOURCES,
  type NumberSpec,
  compileMappings,
  decodeLineProtocol,
  decodeSamples,
  parsePrecision,
  type CompiledMappings,
  type IntakeCounts,
  type MeasurementMapping,
} from '../collectors/intake/index.js';
import { ConfigError, type Config } from '../config/index.js';
import type { EpochMs } from '../model/index.js';
import { SpoolFullError } from '../store/index.js';
import type { House } from './house/index.js';
import type { Ingest } from './ingest.js';
import { errorBody, rejection, type ResponseDoc, type RouteDoc } from './api/index.js';

/** Pushed samples may be ahead of our clock by this much (device clocks drift). */
const FUTURE_SKEW_MS = 5 * 60_000;
/** InfluxDB 1.x's version header, which clients read from /ping. */
const INFLUX_VERSION = '1.8.10 (cellwatch)';

/** Checks the configured mappings' meaning and indexes them, after cellwatch's own. */
export function intakeMappings(cfg: Config['intake']): CompiledMappings {
  const result = compileMappings([...CELLWATCH_MAPPING, ...(cfg.mappings as MeasurementMapping[])]);
  if (!result.ok) {
    // Mapping paths count from cellwatch's own two: shift them back to the config's list.
    const own = CELLWATCH_MAPPING.length;
    throw new ConfigError(
      result.errors.map((e) => e.replace(/^\[(\d+)\]\.?/, (_m, i: string) => `intake.mappings.${Number(i) - own}.`)),
    );
  }
  return result.mappings;
}

/**
 * Per-token token buckets: each token may push `rate` samples per second sustained and `burst` at
 * once; over it the request is refused whole with 429 and a Retry-After saying when it would fit.
 * Real time (a rate limit protects the real machine, whatever the demo's clock does).
 */
export class PushLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes `n` samples' worth; 0 when admitted, else the ms to wait. */
  take(key: string, n: number): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    this.buckets.set(key, b);
    const need = Math.min(n, this.burst);
    if (b.tokens >= need) {
      b.tokens -= need;
      return 0;
    }
    return Math.ceil(((need - b.tokens) / this.rate) * 1000);
  }
}

/*
 * The API document's view of the push routes, built from the decoders' own field table (fields.ts), so
 * a field added there is documented with its range. The decoders stay the judges of a record.
 */
function numberDoc(spec: NumberSpec) {
  const n = spec.minExclusive ? z.number().gt(spec.min) : z.number().min(spec.min);
  return n.max(spec.max).nullable().optional();
}
const numbers = (table: Readonly<Record<string, NumberSpec>>) =>
  Object.fromEntries(Object.entries(table).map(([field, spec]) => [field, numberDoc(spec)]));
const id = z.string().min(1).max(MAX_ID_LENGTH);
const common = {
  ts: z.union([z.number(), z.string()]).meta({ description: 'event time: epoch milliseconds or RFC 3339' }),
  source: z.enum(SAMPLE_SOURCES as [string, ...string[]]).optional(),
};
const flag = z.union([z.boolean(), z.literal(0), z.literal(1)]).optional();
const cellSampleDoc = z
  .looseObject({ cell: id, ...common, available: flag, ...numbers(CELL_NUMBERS) })
  .meta({ description: 'A cell sample: one cell over one interval, or one probe test. Every KPI is optional.' });
const linkSampleDoc = z
  .looseObject({ kind: z.literal('link').optional(), link: id, site: id.optional(), ...common, operUp: flag })
  .extend(numbers(LINK_NUMBERS))
  .meta({ description: 'A transport link sample (`kind: "link"`, or `link` without `cell`).' });
const sampleDoc = z.union([cellSampleDoc, linkSampleDoc]);
const lineProtocol = z.string().meta({
  description: "InfluxDB line protocol, one point a line (cellwatch's measurements or the configured mappings)",
});
/** What parsePrecision takes (n is InfluxDB's default). */
const precision = z
  .enum(['n', 'ns', 'u', 'us', 'µ', 'µs', 'ms', 's', 'm', 'h'])
  .optional()
  .meta({ description: 'unit of line-protocol timestamps (default ns)' });
const RETRY = { 'retry-after': 'seconds to wait before retrying' };
const pushAnswers: Record<number, ResponseDoc> = {
  429: { description: "Over the token's rate; nothing was taken.", schema: errorBody, headers: RETRY },
  503: {
    description: 'The store cannot take it now (spool full); nothing was taken.',
    schema: errorBody,
    headers: RETRY,
  },
};
const DOC = {
  samples: {
    summary: 'Push samples: JSON (one object or an array) or line protocol',
    description:
      'Each record is checked on its own: the good ones are kept, the bad ones come back with index (line), ' +
      'field and reason. 202 only once the samples are durable. `Content-Encoding: gzip` is accepted. ' +
      'Line protocol as `text/plain` (or `application/octet-stream`), with `?precision=` as on /write.',
    query: z.looseObject({ precision }),
    body: {
      'application/json': z.union([sampleDoc, z.array(sampleDoc)]),
      'text/plain': lineProtocol,
      'application/octet-stream': lineProtocol,
    },
    responses: {
      202: {
        description: 'Stored durably; the refused records listed.',
        schema: z.strictObject({
          accepted: z.number().int(),
          rejected: z.array(rejection),
          rejectedCount: z.number().int(),
          ignoredFields: z.record(z.string(), z.number()).optional(),
        }),
      },
      400: { description: 'The body is not JSON, or a gzip body is not gzip.', schema: errorBody },
      413: { description: 'The body (once unpacked) is larger than intake.maxBody.', schema: errorBody },
      415: { description: 'Neither JSON nor line protocol.', schema: errorBody },
      ...pushAnswers,
    },
  },
  ping: {
    summary: 'InfluxDB 1.x compatible ping (for Telegraf and the influx CLI)',
    responses: { 204: { description: 'Alive; `X-Influxdb-Version` names cellwatch.' } },
  },
  write: {
    summary: 'InfluxDB 1.x compatible write: line protocol, as Telegraf and the influx CLI send it',
    description:
      'Any content type (curl sends a form type); gzip accepted. Points are mapped to samples by ' +
      '`intake.mappings` (docs/intake.md). A partly bad batch keeps the good points and answers 400 naming ' +
      'the first bad line, as InfluxDB does. `db`, `rp` and the other InfluxDB parameters are accepted and ignored.',
    query: z.looseObject({ precision, db: z.string().optional() }),
    body: { 'text/plain': lineProtocol },
    responses: {
      204: { description: 'Every point stored durably.' },
      400: {
        description: 'Partial write (the good points were stored) or a bad precision.',
        schema: errorBody.extend({ rejected: z.array(rejection).optional() }),
      },
      ...pushAnswers,
    },
  },
} satisfies Record<string, RouteDoc>;

/** An error the HTTP layer answers with its status and message. */
function httpError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}

/**
 * A gzipped body, unpacked up to `maxBody`: the limit holds for what is parsed, so a small bomb of
 * zeros cannot fill the memory. Not gzip → 400, too large → 413.
 */
function gunzipBody(raw: Buffer, maxBody: number): Buffer {
  try {
    return gunzipSync(raw, { maxOutputLength: maxBody });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
      throw httpError(413, `the body is larger than ${maxBody} bytes once unpacked (intake.maxBody)`);
    throw httpError(400, `content-encoding gzip, but the body is not gzip: ${(err as Error).message}`);
  }
}

const gzipped = (req: FastifyRequest) => /gzip/i.test(String(req.headers['content-encoding'] ?? ''));

/** The body as parsed for JSON, or the raw text of line protocol, gunzipped when it came compressed. */
function body(req: FastifyRequest, maxBody: number): unknown {
  const raw = req.body;
  if (Buffer.isBuffer(raw) && gzipped(req)) return gunzipBody(raw, maxBody);
  return raw;
}

/** What `POST /api/v1/samples` reads: JSON, or line protocol as text/plain (octet-stream from curl --data-binary). */
const SAMPLE_TYPES = /^(application\/json|[a-z]+\/[a-z.+-]*\+json|text\/plain|application\/octet-stream)\s*(;|$)/i;

/**
 * The push intake part: `POST /api/v1/samples` (JSON array of samples, or line protocol as text), and
 * the InfluxDB-v1-compatible `POST /write` and `GET /ping` so that Telegraf's InfluxDB output or the
 * `influx` CLI can send to cellwatch as if it were InfluxDB. Every record is validated; bad ones are
 * rejected with index (or line) and reason while the rest are kept. A 2xx is sent only once the points
 * are durable (acknowledged by the backend or fsynced to the spool); a full spool is a 503, never a
 * silent drop; over a token's rate a 429 with Retry-After.
 */
export function startIntake(h: House, ingest: Ingest): void {
  const cfg = h.config.intake;
  const mappings = intakeMappings(cfg);
  const limiter = new PushLimiter(cfg.ratePerToken, cfg.burst);
  const log = h.logFor('intake');

  const decode = (req: FastifyRequest, sink: ArraySink, now: EpochMs): IntakeCounts => {
    const opts = { source: 'push' as const, notAfter: now + FUTURE_SKEW_MS };
    const b = body(req, cfg.maxBody);
    if (Buffer.isBuffer(b) || typeof b === 'string') {
      const precision = parsePrecision((req.query as Record<string, string | undefined>).precision ?? 'ns');
      return decodeLineProtocol(b, sink, { ...opts, now, mappings, ...(precision ? { precision } : {}) });
    }
    return decodeSamples(b, sink, opts);
  };

  /** Admits, stores, answers: the one path of both routes. */
  const accept = async (req: FastifyRequest, reply: FastifyReply, sink: ArraySink) => {
    const n = sink.samples.length + sink.links.length;
    const wait = limiter.take(req.principal ?? 'anonymous', n);
    if (wait > 0) {
      await reply
        .code(429)
        .header('retry-after', String(Math.ceil(wait / 1000)))
        .send({ error: `rate limit: ${cfg.ratePerToken} samples/s per token (burst ${cfg.burst})` });
      return false;
    }
    try {
      await ingest.push(sink.samples, sink.links);
      return true;
    } catch (err) {
      const full = err instanceof SpoolFullError;
      log.error({ err: (err as Error).message, points: n }, 'pushed samples refused by the store');
      await reply
        .code(503)
        .header('retry-after', '30')
        .send({ error: full ? 'store spool full; retry later' : 'store unavailable; retry later' });
      return false;
    }
  };

  const register = (api: FastifyInstance) => {
    // Line protocol and gzip bodies arrive raw; JSON is parsed by fastify (gzip JSON is decoded here too).
    for (const type of ['text/plain', 'application/octet-stream']) {
      api.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: cfg.maxBody }, (_r, b, done) => done(null, b));
    }
    api.addHook('preParsing', async (req, _reply, payload) => {
      if (gzipped(req) && /json/.test(String(req.headers['content-type']))) {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of payload) {
          size += (c as Buffer).length;
          if (size > cfg.maxBody) throw httpError(413, `the body is larger than ${cfg.maxBody} bytes (intake.maxBody)`);
          chunks.push(c as Buffer);
        }
        delete req.headers['content-encoding'];
        // Fastify checks the Content-Length (of the gzip) against this, not against the unpacked size.
        return Object.assign(Readable.from([gunzipBody(Buffer.concat(chunks), cfg.maxBody)]), {
          receivedEncodedLength: size,
        });
      }
      return payload;
    });
    return api;
  };

  h.routes((api) => {
    register(api);
    api.post(
      '/samples',
      { config: { permission: 'ingest', doc: DOC.samples }, bodyLimit: cfg.maxBody },
      async (req, reply) => {
        const type = String(req.headers['content-type'] ?? '');
        if (!SAMPLE_TYPES.test(type)) {
          return reply.code(415).send({
            error: `content type "${type}" is not read here: send a JSON array of samples (application/json) or line protocol (text/plain)`,
          });
        }
        const sink = new ArraySink();
        const counts = decode(req, sink, h.clock.now());
        if (!(await accept(req, reply, sink))) return reply;
        return reply.code(202).send({
          accepted: counts.samples + counts.links,
          rejected: counts.rejected,
          rejectedCount: counts.rejectedCount,
          ...(Object.keys(counts.ignoredFields).length > 0 ? { ignoredFields: counts.ignoredFields } : {}),
        });
      },
    );
  });

  h.routes(
    (root) => {
      // InfluxDB takes any content type on /write (curl's default is a form type); this scope has only /write.
      root.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: cfg.maxBody }, (_r, b, done) => done(null, b));
      // The influx CLI (InfluxDB 1.x's Go client) sends `Content-Type:` empty, which no parser matches.
      root.addHook('onRequest', async (req) => {
        if (req.method === 'POST' && !req.headers['content-type'])
          req.headers['content-type'] = 'application/octet-stream';
      });
      root.get('/ping', { config: { doc: DOC.ping } }, async (_req, reply) =>
        reply.code(204).header('x-influxdb-version', INFLUX_VERSION).send(),
      );
      root.post(
        '/write',
        { config: { permission: 'ingest', doc: DOC.write }, bodyLimit: cfg.maxBody },
        async (req, reply) => {
          const q = req.query as Record<string, string | undefined>;
          if (q.precision !== undefined && parsePrecision(q.precision) === undefined) {
            return reply.code(400).send({ error: `invalid precision "${q.precision}" (n, u, ms, s, m, h)` });
          }
          const sink = new ArraySink();
          const b = body(req, cfg.maxBody);
          const counts = decodeLineProtocol(Buffer.isBuffer(b) || typeof b === 'string' ? b : JSON.stringify(b), sink, {
            source: 'push',
            notAfter: h.clock.now() + FUTURE_SKEW_MS,
            now: h.clock.now(),
            mappings,
            precision: parsePrecision(q.precision ?? 'ns')!,
          });
          if (!(await accept(req, reply, sink))) return reply;
          reply.header('x-influxdb-version', INFLUX_VERSION);
          // InfluxDB's answer to a partly bad batch: the good points are written, the rest named in a 400.
          if (counts.rejectedCount > 0) {
            const first = counts.rejected[0];
            return reply.code(400).send({
              error: `partial write: ${first ? `line ${first.line ?? first.index + 1}: ${first.error}` : 'points refused'} dropped=${counts.rejectedCount}`,
              rejected: counts.rejected,
            });
          }
          return reply.code(204).send();
        },
      );
    },
    { root: true },
  );
}
