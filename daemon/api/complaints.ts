import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import {
  AREA_WEIGHT,
  candidateCells,
  contextFor,
  firstResponseVerdict,
  handlingStats,
  intlTimeWords,
  locate,
  notices,
  resolutionVerdict,
  slaAtRisk,
} from '../../correlator/complaints/index.js';
import type { Alert, ComplaintCorrelation, EpochMs, Inventory, Window } from '../../model/index.js';
import type { WindowRecords } from '../../store/index.js';
import { handled, type Complaints } from '../complaints.js';
import { CATEGORIES, CHANNELS, SYMPTOMS, parseTimeString } from '../../collectors/intake/index.js';
import { camaraErrorBody, errorBody, listOf, rejection, type RouteDoc } from './openapi.js';
import { boolParam, limitParam, rfc3339, timeParam } from './params.js';

export interface ComplaintRoutesContext {
  complaints: Complaints;
  windows: Pick<WindowRecords, 'list'>;
  inventory(): Inventory;
  now(): EpochMs;
  config(): Config;
  /** Pending and firing alerts; `where` picks by labels (cheaper than building every view and filtering). */
  openAlerts(where?: (labels: Readonly<Record<string, string>>) => boolean): readonly Alert[];
  /** A handling event was recorded for this complaint. */
  onEvent(id: string): void;
}

const HOUR = 3_600_000;
const CONTEXT_SPAN_MS = 72 * HOUR;

const listQuery = z.strictObject({
  cell: z.string().optional(),
  region: z.string().optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  explained: boolParam.optional(),
  category: z.enum(['network', 'efficiency', 'billing', 'attitude']).optional(),
  limit: limitParam.optional(),
});

const eventBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.enum(['responded', 'resolved']),
    at: z.union([z.number(), timeParam]).optional(),
    by: z.string().max(200).optional(),
    note: z.string().max(4000).optional(),
  }),
  z.strictObject({
    type: z.literal('feedback'),
    at: z.union([z.number(), timeParam]).optional(),
    satisfied: z.boolean(),
    score: z.number().min(0).max(10).optional(),
    note: z.string().max(4000).optional(),
  }),
]);

const statsQuery = z.strictObject({
  from: timeParam.optional(),
  to: timeParam.optional(),
  by: z.enum(['category', 'channel', 'region']).optional(),
});

const contextQuery = z
  .strictObject({
    cell: z.string().min(1).optional(),
    lat: z.coerce.number().min(-90).max(90).optional(),
    lon: z.coerce.number().min(-180).max(180).optional(),
    at: z.string().optional(),
    complaint: z.string().min(1).optional(),
  })
  .refine((q) => q.complaint !== undefined || q.cell !== undefined || (q.lat !== undefined && q.lon !== undefined), {
    message: 'give cell, lat and lon, or complaint',
    path: ['cell'],
  })
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), {
    message: 'lat and lon go together',
    path: ['lat'],
  });

const noticeQuery = z.strictObject({ region: z.string().optional(), cell: z.string().optional() });
const hotspotQuery = z.strictObject({ open: boolParam.optional() });

/*
 * The API document's view of these routes. The intake decoder (collectors/intake/complaints.ts) is the
 * judge of a complaint; this describes its fields for integrators, with its own value lists.
 */
const time = z.union([z.number(), z.string()]).meta({ description: 'epoch milliseconds or RFC 3339' });
const complaintDoc = z
  .looseObject({
    id: z.union([z.string().min(1).max(128), z.number()]).meta({ description: "the CRM's id; idempotent" }),
    receivedAt: time,
    issueAt: time.optional(),
    channel: z.enum(CHANNELS as [string, ...string[]]),
    category: z.enum(CATEGORIES as [string, ...string[]]),
    symptom: z.enum(SYMPTOMS as [string, ...string[]]).optional(),
    cell: z.string().optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    text: z.string().max(4000).optional(),
  })
  .meta({ description: 'A complaint: `cell`, or `lat` and `lon`, or both. Unknown fields are ignored and counted.' });
const storedComplaintDoc = z.looseObject({
  id: z.string(),
  receivedAt: z.number(),
  channel: z.string(),
  category: z.string(),
  correlation: z
    .looseObject({ explained: z.boolean(), score: z.number(), windows: z.array(z.unknown()) })
    .nullable()
    .optional(),
});
const unknownComplaint = { description: 'No such complaint.', schema: errorBody };
const byId = z.strictObject({ id: z.string().meta({ description: "the complaint's id" }) });

const DOC = {
  atRisk: {
    summary: 'Complaints at risk of missing the 72 h first response (or overdue): the care worklist',
    description: 'No first response yet, deadline within `complaints.handling.warnBefore` or past (kept 7 days).',
    responses: {
      200: {
        description: 'Soonest deadline first.',
        schema: listOf('complaints', z.looseObject({ id: z.string() })).extend({ at: z.number() }),
      },
    },
  },
  intake: {
    summary: 'Complaints in: one object, an array, or CSV',
    description:
      'Each record is checked on its own: the good ones are committed, the bad ones come back with index, ' +
      'field and reason. A known id is a duplicate, not an error. 202 once committed. CSV as CRMs export ' +
      'it (header row; BOM, CRLF, quoted newlines and `;` delimiters are fine). docs/intake.md has the rules.',
    body: {
      'application/json': z.union([complaintDoc, z.array(complaintDoc)]),
      'text/csv': z.string().meta({ description: 'CSV with a header row naming the fields' }),
    },
    responses: {
      202: {
        description: 'Committed; the refused records listed.',
        schema: z.looseObject({
          accepted: z.number().int(),
          duplicates: z.number().int(),
          rejected: z.array(rejection),
          rejectedCount: z.number().int(),
          ignoredFields: z.record(z.string(), z.number()).optional(),
        }),
      },
      400: { description: 'The body is not JSON.', schema: errorBody },
    },
  },
  stats: {
    summary: 'Complaint handling targets: first response within 72 h, resolved, satisfied',
    description: 'Overall and per group (`by`), over [from, to) (default the last 30 days).',
    query: statsQuery,
    responses: { 200: { description: 'The handling figures.', schema: z.looseObject({}) } },
  },
  list: {
    summary: 'Complaints with their correlation',
    query: listQuery,
    responses: { 200: { description: 'The complaints.', schema: listOf('complaints', storedComplaintDoc) } },
  },
  one: {
    summary: 'One complaint: correlation, handling events and verdicts',
    params: byId,
    responses: { 200: { description: 'The complaint.', schema: storedComplaintDoc }, 404: unknownComplaint },
  },
  event: {
    summary: 'Record a handling event: responded, resolved, feedback',
    params: byId,
    body: eventBody,
    responses: {
      201: {
        description: 'Recorded.',
        schema: z.strictObject({ complaint: z.string(), type: z.string(), at: z.number() }),
      },
      404: unknownComplaint,
    },
  },
  hotspots: {
    summary: 'Complaint hot spots and silent degradations (open, and closed within 72 h)',
    query: hotspotQuery,
    responses: { 200: { description: 'The hot spots.', schema: listOf('hotspots', z.looseObject({})) } },
  },
  context: {
    summary: "A care agent's lookup: what happened at this place around this time",
    description:
      'By cell, by coordinates, or by complaint id; `at` is the time to look around (local time of the ' +
      "configured zone as typed, RFC 3339 or epoch ms; default now or the complaint's time). The summary " +
      'is customer-safe, to read out.',
    query: contextQuery,
    responses: {
      200: {
        description: 'Windows, alerts and the summary.',
        schema: z.looseObject({
          ok: z.literal(true),
          at: z.number(),
          atTime: z.string(),
          cells: z.array(z.string()),
          windows: z.array(z.looseObject({})),
          alerts: z.array(z.looseObject({})),
          complaintCount: z.number().int(),
          summary: z.string(),
        }),
      },
      404: { description: 'Unknown cell or complaint, or no location.', schema: errorBody },
    },
  },
  notices: {
    summary: 'Proactive customer notices (CAMARA conventions)',
    description:
      'Ongoing problems and ones fixed in the last two hours, with the area, a customer-safe text and a ' +
      'fix hint. Times are RFC 3339; errors are `{status, code, message}`.',
    query: noticeQuery,
    responses: {
      200: {
        description: 'The notices.',
        schema: z.strictObject({
          notices: z.array(z.looseObject({ id: z.string(), start: z.string(), status: z.string(), text: z.string() })),
        }),
      },
      400: { description: 'INVALID_ARGUMENT: the query did not validate.', schema: camaraErrorBody },
      404: { description: 'NOT_FOUND: unknown cell.', schema: camaraErrorBody },
    },
  },
} satisfies Record<string, RouteDoc>;

/**
 * "2026-11-28 20:15" (the configured zone's local time, as an agent types it), RFC 3339, or epoch ms.
 * Returns undefined for text that is none of these. The intake's time reader decides, so a local time
 * on a DST change day means the same here as in a complaint's CSV.
 */
export function parseAgentTime(text: string, timeZone: string): EpochMs | undefined {
  const t = parseTimeString(text, { timeZone });
  return t.ok ? t.ms : undefined;
}

/** The correlation as the API shows it: each window as `{id, cell, score, reason}`. */
export function correlationView(c: ComplaintCorrelation | undefined | null) {
  if (!c) return null;
  return {
    explained: c.explained,
    score: c.score,
    windows: c.windows.map((m) => ({ id: m.window, cell: m.cell, score: m.score, reason: m.reason })),
  };
}

/** CAMARA-style error: `{status, code, message}`. */
function camaraError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ status, code, message });
}

const CAMARA_CODES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  429: 'TOO_MANY_REQUESTS',
  503: 'UNAVAILABLE',
};

/**
 * The notices route speaks CAMARA also where the shared plumbing answers (a missing token, a refused
 * role, an internal error): its `{error}` bodies are rewritten to `{status, code, message}`.
 */
async function camaraErrors(_req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const status = reply.statusCode;
  if (status < 400 || typeof payload !== 'string') return payload;
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (!body || typeof body !== 'object' || 'code' in body) return payload;
  const error = (body as { error?: unknown }).error;
  return JSON.stringify({
    status,
    code: CAMARA_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'),
    message: typeof error === 'string' ? error : 'request failed',
  });
}

export function registerComplaintRoutes(api: FastifyInstance, ctx: ComplaintRoutesContext): void {
  const maxBody = ctx.config().complaints.maxBody;
  // CSV as operators export it (the decoder handles BOM, CRLF, quoted newlines, `;` delimiters).
  api.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'buffer', bodyLimit: maxBody },
    (_req, body, done) => done(null, body),
  );

  /** Intake: one complaint, an array, or CSV; 202 once committed (see daemon/complaints.ts). */
  api.post(
    '/complaints',
    { config: { permission: 'ingest', doc: DOC.intake }, bodyLimit: maxBody },
    async (req, reply) => {
      // Other types have parsers for other routes (text/plain for InfluxDB's /write); complaints are JSON or CSV.
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const csv = type === 'text/csv' || type === 'application/csv';
      if (!csv && !(type === 'application/json' || type.endsWith('+json')))
        return reply.code(415).send({ error: `send complaints as application/json or text/csv, not "${type}"` });
      const result = ctx.complaints.intake(req.body, csv ? 'csv' : 'json');
      // Nothing could be read (a CSV header without the required columns): the request is at fault.
      if ('error' in result) return reply.code(400).send({ error: result.error });
      return reply.code(202).send(result);
    },
  );

  /** Handling targets: first response within 72 h, resolution, satisfaction — overall and per group. */
  api.get('/complaints/stats', { config: { permission: 'read', doc: DOC.stats } }, async (req) => {
    const q = statsQuery.parse(req.query);
    const now = ctx.now();
    const to = q.to ?? now;
    const from = q.from ?? to - 30 * 24 * HOUR;
    const rows = ctx.complaints.records.list({ from, to, limit: 1_000_000 }, true);
    const h = ctx.config().complaints.handling;
    const stats = handlingStats(rows.map(handled), {
      from,
      to,
      now,
      ...(q.by ? { by: q.by } : {}),
      responseWithinMs: h.firstResponse,
      targets: h.goals,
    });
    return stats;
  });

  api.get('/complaints', { config: { permission: 'read', doc: DOC.list } }, async (req) => {
    const q = listQuery.parse(req.query);
    const rows = ctx.complaints.records.list({
      ...(q.cell !== undefined ? { cell: q.cell } : {}),
      ...(q.region !== undefined ? { region: q.region } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.explained !== undefined ? { explained: q.explained } : {}),
      ...(q.category !== undefined ? { category: q.category } : {}),
      limit: q.limit ?? 500,
    });
    return {
      count: rows.length,
      complaints: rows.map((r) => ({
        ...r.complaint,
        ...(r.cell !== undefined ? { locatedCell: r.cell } : {}),
        ...(r.region !== undefined ? { region: r.region } : {}),
        correlation: correlationView(r.correlation),
      })),
    };
  });

  /**
   * Complaints with no first response yet whose deadline (72 h) is within `handling.warnBefore`, or
   * past (overdue, listed for 7 days): the care desk's worklist, soonest deadline first.
   */
  api.get('/complaints/at-risk', { config: { permission: 'read', doc: DOC.atRisk } }, async () => {
    const now = ctx.now();
    const h = ctx.config().complaints.handling;
    const open = ctx.complaints.records.list(
      { unanswered: true, from: now - h.firstResponse - 7 * 24 * HOUR, limit: 100_000 },
      true,
    );
    const risks = slaAtRisk(open.map(handled), now, {
      warnBeforeMs: h.warnBefore,
      responseWithinMs: h.firstResponse,
    });
    return { at: now, count: risks.length, complaints: risks };
  });

  api.get<{ Params: { id: string } }>(
    '/complaints/:id',
    { config: { permission: 'read', doc: DOC.one } },
    async (req, reply) => {
      const r = ctx.complaints.records.get(req.params.id);
      if (!r) return reply.code(404).send({ error: `unknown complaint "${req.params.id}"` });
      const now = ctx.now();
      const h = handled(r);
      return {
        ...r.complaint,
        ...(r.cell !== undefined ? { locatedCell: r.cell } : {}),
        ...(r.region !== undefined ? { region: r.region } : {}),
        // Network complaints: null until correlated; the other categories are recorded, never correlated.
        ...(r.complaint.category === 'network' ? { correlation: correlationView(r.correlation) } : {}),
        events: r.events,
        handling: {
          firstResponse: firstResponseVerdict(h, now, ctx.config().complaints.handling.firstResponse),
          resolution: resolutionVerdict(h, now),
        },
      };
    },
  );

  api.post<{ Params: { id: string } }>(
    '/complaints/:id/events',
    { config: { permission: 'ingest', doc: DOC.event } },
    async (req, reply) => {
      const b = eventBody.parse(req.body);
      const at = b.at ?? ctx.now();
      const ok = ctx.complaints.records.addEvent(req.params.id, {
        kind: b.type,
        at,
        ...(b.type === 'feedback'
          ? { satisfied: b.satisfied, ...(b.score !== undefined ? { score: b.score } : {}) }
          : {}),
        ...('by' in b && b.by !== undefined ? { by: b.by } : {}),
        ...(b.note !== undefined ? { note: b.note } : {}),
      });
      if (!ok) return reply.code(404).send({ error: `unknown complaint "${req.params.id}"` });
      ctx.onEvent(req.params.id);
      return reply.code(201).send({ complaint: req.params.id, type: b.type, at });
    },
  );

  /** Complaint hot spots and silent degradations (open, and closed within 72 h). */
  api.get('/hotspots', { config: { permission: 'read', doc: DOC.hotspots } }, async (req) => {
    const q = hotspotQuery.parse(req.query);
    const hotspots = ctx.complaints.correlator().hotspots(ctx.now(), q.open !== undefined ? { open: q.open } : {});
    return { count: hotspots.length, hotspots };
  });

  /** The agent's lookup: what happened at this place around this time, in words to read out. */
  api.get('/context', { config: { permission: 'read', doc: DOC.context } }, async (req, reply) => {
    const q = contextQuery.parse(req.query);
    const cfg = ctx.config();
    const inventory = ctx.inventory();
    let place: { cell?: string; lat?: number; lon?: number };
    let at: EpochMs | undefined;
    if (q.complaint !== undefined) {
      const r = ctx.complaints.records.get(q.complaint);
      if (!r) return reply.code(404).send({ error: `unknown complaint "${q.complaint}"` });
      const c = r.complaint;
      place = {
        ...(c.cell !== undefined ? { cell: c.cell } : {}),
        ...(c.lat !== undefined && c.lon !== undefined ? { lat: c.lat, lon: c.lon } : {}),
      };
      at = c.issueAt ?? c.receivedAt;
    } else {
      place = {
        ...(q.cell !== undefined ? { cell: q.cell } : {}),
        ...(q.lat !== undefined ? { lat: q.lat, lon: q.lon! } : {}),
      };
    }
    if (q.at !== undefined) {
      at = parseAgentTime(q.at, cfg.timezone);
      if (at === undefined)
        return reply.code(400).send({
          error: 'invalid request',
          problems: [`at: expected "YYYY-MM-DD HH:MM", RFC 3339 or epoch ms, got "${q.at}"`],
        });
    }
    at ??= ctx.now();
    const located = locate(place, inventory, cfg.complaints.radiusKm);
    if (!located.ok) return reply.code(404).send({ error: located.message, reason: located.reason });
    const candidates = candidateCells(located, inventory, cfg.complaints.radiusKm);
    const cells = candidates.map((c) => c.cell);
    // contextFor keeps the windows of the area's cells (weight ≥ AREA_WEIGHT, the same weight it
    // computes), and the alerts on those cells, the named cell and their sites. Only those are read:
    // about a quarter of the candidates' windows, and not a view of every open alert.
    const area = candidates.filter((c) => c.weight >= AREA_WEIGHT).map((c) => c.cell);
    const nearCells = new Set(area);
    if (located.own) nearCells.add(located.own.id);
    const nearSites = new Set<string>();
    for (const c of nearCells) {
      const site = inventory.cell(c)?.site;
      if (site !== undefined) nearSites.add(site);
    }
    const windows: Window[] = ctx.windows.list({
      cells: area,
      from: at - CONTEXT_SPAN_MS,
      to: at + CONTEXT_SPAN_MS,
    });
    const complaintCount = Math.max(
      0,
      ctx.complaints.records.countOn(cells, at - CONTEXT_SPAN_MS, at + CONTEXT_SPAN_MS) -
        (q.complaint !== undefined ? 1 : 0),
    );
    const result = contextFor({ ...place, at }, windows, {
      inventory,
      now: ctx.now(),
      words: intlTimeWords(cfg.timezone),
      alerts: ctx.openAlerts(
        (labels) =>
          (labels.cell !== undefined && nearCells.has(labels.cell)) ||
          (labels.site !== undefined && nearSites.has(labels.site)),
      ),
      complaintCount,
      radiusKm: cfg.complaints.radiusKm,
      areaWeight: AREA_WEIGHT,
    });
    if (!result.ok) return reply.code(404).send({ error: result.message, reason: result.reason });
    return { ...result, atTime: rfc3339(at), timeZone: cfg.timezone };
  });

  /**
   * Proactive notices (CAMARA conventions: RFC 3339 times, `{status, code, message}` errors): ongoing
   * problems and ones fixed in the last two hours, with the area, a customer-safe text and a fix hint.
   */
  api.get(
    '/notices',
    { config: { permission: 'read', doc: DOC.notices }, onSend: camaraErrors },
    async (req, reply) => {
      const parsed = noticeQuery.safeParse(req.query);
      if (!parsed.success) {
        return camaraError(
          reply,
          400,
          'INVALID_ARGUMENT',
          parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        );
      }
      const q = parsed.data;
      const inventory = ctx.inventory();
      if (q.cell !== undefined && !inventory.has(q.cell))
        return camaraError(reply, 404, 'NOT_FOUND', `unknown cell "${q.cell}"`);
      const now = ctx.now();
      const windows = ctx.windows.list({
        from: now - 2 * HOUR,
        ...(q.region !== undefined ? { region: q.region } : {}),
        ...(q.cell !== undefined ? { cell: q.cell } : {}),
      });
      const list = notices(windows, {
        inventory,
        now,
        words: intlTimeWords(ctx.config().timezone),
        resolvedWithinMs: 2 * HOUR,
      });
      return {
        notices: list.map((n) => ({
          ...n,
          start: rfc3339(n.start),
          ...(n.resolvedAt !== undefined ? { resolvedAt: rfc3339(n.resolvedAt) } : {}),
        })),
      };
    },
  );
}
