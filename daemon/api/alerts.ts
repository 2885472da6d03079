import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertManager } from '../../alerts/index.js';
import type { AlertQuery } from '../../store/records/alerts.js';
import { errorBody, listOf } from './openapi.js';
import { limitParam, timeParam } from './params.js';

/** What the alert routes drive: the alert manager (reads from its store, changes through its decisions). */
export interface AlertRoutesContext {
  alerts: Pick<
    AlertManager,
    'list' | 'get' | 'active' | 'ack' | 'createSilence' | 'expireSilence' | 'listSilences' | 'getSilence'
  >;
  now(): number;
}

const STATES = ['pending', 'firing', 'resolved'] as const;
const SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
const list = (values: readonly string[]) =>
  z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()))
    .pipe(z.array(z.enum(values as [string, ...string[]])))
    .meta({ description: `comma-separated: ${values.join(', ')}` });

const listQuery = z.strictObject({
  state: list(STATES).optional(),
  kind: z.string().optional().meta({ description: 'comma-separated alert kinds' }),
  severity: list(SEVERITIES).optional(),
  region: z.string().optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  limit: limitParam.optional(),
  /** `active=true`: the live view (pending and firing, from memory), as the board shows it. */
  active: z.enum(['true', 'false']).optional(),
});

const ackBody = z.strictObject({ comment: z.string().max(2000).default('') });

const matcher = z.strictObject({
  name: z.string().min(1),
  op: z.enum(['=', '!=', '=~', '!~']).default('='),
  value: z.string(),
});
const silenceBody = z
  .strictObject({
    matchers: z.array(matcher).min(1),
    startsAt: z.union([z.number(), timeParam]).optional(),
    endsAt: z.union([z.number(), timeParam]).optional(),
    /** Instead of endsAt: how long from startsAt (e.g. 7200000 ms). */
    durationMs: z.number().int().positive().optional(),
    comment: z.string().min(1, 'say why').max(2000),
  })
  .refine((b) => (b.endsAt === undefined) !== (b.durationMs === undefined), {
    message: 'give endsAt or durationMs',
    path: ['endsAt'],
  });

/* What the API document says the answers look like (the fields clients key on; more may follow). */
const alertDoc = z
  .looseObject({
    id: z.string(),
    fingerprint: z.string(),
    rule: z.string(),
    kind: z.string(),
    scope: z.string(),
    region: z.string().optional(),
    cell: z.string().optional(),
    severity: z.enum(SEVERITIES),
    state: z.enum(STATES),
    labels: z.record(z.string(), z.string()),
    summary: z.string(),
    remediation: z.string().optional(),
    startsAt: z.number(),
    endsAt: z.number().optional(),
    ackedBy: z.string().optional(),
    ackedAt: z.number().optional(),
    generatorURL: z.string(),
  })
  .meta({ description: 'An alert episode; times are epoch ms.' });
const alertDetailDoc = z.looseObject({
  alert: alertDoc,
  transitions: z.array(z.looseObject({ at: z.number(), type: z.string(), state: z.enum(STATES) })),
  acks: z.array(z.looseObject({ by: z.string(), at: z.number(), comment: z.string() })),
});
const silenceDoc = z.looseObject({
  id: z.string(),
  matchers: z.array(z.strictObject({ name: z.string(), op: z.enum(['=', '!=', '=~', '!~']), value: z.string() })),
  startsAt: z.number(),
  endsAt: z.number(),
  createdBy: z.string(),
  comment: z.string(),
  status: z.enum(['pending', 'active', 'expired']),
});
const idParams = (what: string) => z.strictObject({ id: z.string().meta({ description: `the ${what}'s id` }) });
const unknown = (what: string) => ({ description: `No such ${what}.`, schema: errorBody });

export function registerAlertRoutes(api: FastifyInstance, ctx: AlertRoutesContext): void {
  /** Alert history (episodes overlapping [from, to)), newest first; `active=true` for the live set. */
  api.get(
    '/alerts',
    {
      config: {
        permission: 'read',
        doc: {
          summary: 'Alert history, newest first; active=true for the live set',
          description: 'Episodes overlapping [from, to). `state`, `severity` take comma-separated lists.',
          query: listQuery,
          responses: { 200: { description: 'The alerts.', schema: listOf('alerts', alertDoc) } },
        },
      },
    },
    async (req) => {
      const q = listQuery.parse(req.query);
      if (q.active === 'true') {
        const active = ctx.alerts.active().filter((a) => !q.kind || a.kind === q.kind);
        return { count: active.length, alerts: active };
      }
      const query: AlertQuery = {};
      if (q.state) query.state = q.state as AlertQuery['state'];
      if (q.kind) query.kind = q.kind.split(',');
      if (q.severity) query.severity = q.severity as AlertQuery['severity'];
      if (q.region !== undefined) query.region = q.region;
      if (q.from !== undefined) query.from = q.from;
      if (q.to !== undefined) query.to = q.to;
      if (q.limit !== undefined) query.limit = q.limit;
      const alerts = ctx.alerts.list(query);
      return { count: alerts.length, alerts };
    },
  );

  /** One alert with every transition and ack. */
  const one = {
    permission: 'read' as const,
    doc: {
      summary: 'One alert with every transition and ack',
      params: idParams('alert'),
      responses: {
        200: { description: 'The alert, its transitions and acks.', schema: alertDetailDoc },
        404: unknown('alert'),
      },
    },
  };
  api.get<{ Params: { id: string } }>('/alerts/:id', { config: one }, async (req, reply) => {
    const found = ctx.alerts.get(req.params.id);
    if (!found) return reply.code(404).send({ error: `unknown alert "${req.params.id}"` });
    return found;
  });

  const ack = {
    permission: 'operate' as const,
    doc: {
      summary: 'Acknowledge an active alert',
      bodyOptional: true,
      description: 'Recorded with the token name as `ackedBy`.',
      params: idParams('alert'),
      body: ackBody,
      responses: {
        200: { description: 'The acknowledged alert.', schema: alertDoc },
        404: unknown('alert'),
        409: { description: 'The alert is not active.', schema: errorBody },
      },
    },
  };
  api.post<{ Params: { id: string } }>('/alerts/:id/ack', { config: ack }, async (req, reply) => {
    const { comment } = ackBody.parse(req.body ?? {});
    const result = ctx.alerts.ack(req.params.id, req.principal ?? 'anonymous', comment, ctx.now());
    if (!result.ok) {
      return reply.code(result.reason === 'not-found' ? 404 : 409).send({
        error: result.reason === 'not-found' ? `unknown alert "${req.params.id}"` : 'the alert is not active',
      });
    }
    return result.alert;
  });

  const silences = {
    permission: 'read' as const,
    doc: {
      summary: 'Silences, pending and active',
      responses: { 200: { description: 'The silences.', schema: listOf('silences', silenceDoc) } },
    },
  };
  api.get('/silences', { config: silences }, async () => {
    const silences = ctx.alerts.listSilences(ctx.now());
    return { count: silences.length, silences };
  });

  const silence = {
    permission: 'operate' as const,
    doc: {
      summary: 'Create a silence',
      description:
        'Alerts whose labels match every matcher are not notified while it lasts. Give endsAt or durationMs.',
      body: silenceBody,
      responses: { 201: { description: 'The silence.', schema: silenceDoc } },
    },
  };
  api.post('/silences', { config: silence }, async (req, reply) => {
    const b = silenceBody.parse(req.body);
    const now = ctx.now();
    const startsAt = b.startsAt ?? now;
    const result = ctx.alerts.createSilence(
      {
        matchers: b.matchers,
        startsAt,
        endsAt: b.endsAt ?? startsAt + b.durationMs!,
        createdBy: req.principal ?? 'anonymous',
        comment: b.comment,
      },
      now,
    );
    if (!result.ok) return reply.code(400).send({ error: 'invalid silence', problems: result.problems });
    return reply.code(201).send(result.silence);
  });

  const expire = {
    permission: 'operate' as const,
    doc: {
      summary: 'Expire a silence now',
      params: idParams('silence'),
      responses: {
        200: { description: 'Expired.', schema: z.strictObject({ expired: z.string() }) },
        404: unknown('silence'),
        409: { description: 'The silence has already ended.', schema: errorBody },
      },
    },
  };
  api.delete<{ Params: { id: string } }>('/silences/:id', { config: expire }, async (req, reply) => {
    if (!ctx.alerts.expireSilence(req.params.id, ctx.now())) {
      const known = ctx.alerts.getSilence(req.params.id, ctx.now());
      return reply
        .code(known ? 409 : 404)
        .send({ error: known ? 'the silence has already ended' : `unknown silence "${req.params.id}"` });
    }
    return { expired: req.params.id };
  });
}
