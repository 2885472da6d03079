import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertManager } from '../../alerts/index.js';
import type { AlertQuery } from '../../store/records/alerts.js';
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
    .pipe(z.array(z.enum(values as [string, ...string[]])));

const listQuery = z.strictObject({
  state: list(STATES).optional(),
  kind: z.string().optional(),
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

export function registerAlertRoutes(api: FastifyInstance, ctx: AlertRoutesContext): void {
  /** Alert history (episodes overlapping [from, to)), newest first; `active=true` for the live set. */
  api.get('/alerts', { config: { permission: 'read' } }, async (req) => {
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
  });

  /** One alert with every transition and ack. */
  api.get<{ Params: { id: string } }>('/alerts/:id', { config: { permission: 'read' } }, async (req, reply) => {
    const found = ctx.alerts.get(req.params.id);
    if (!found) return reply.code(404).send({ error: `unknown alert "${req.params.id}"` });
    return found;
  });

  api.post<{ Params: { id: string } }>('/alerts/:id/ack', { config: { permission: 'operate' } }, async (req, reply) => {
    const { comment } = ackBody.parse(req.body ?? {});
    const result = ctx.alerts.ack(req.params.id, req.principal ?? 'anonymous', comment, ctx.now());
    if (!result.ok) {
      return reply.code(result.reason === 'not-found' ? 404 : 409).send({
        error: result.reason === 'not-found' ? `unknown alert "${req.params.id}"` : 'the alert is not active',
      });
    }
    return result.alert;
  });

  api.get('/silences', { config: { permission: 'read' } }, async () => {
    const silences = ctx.alerts.listSilences(ctx.now());
    return { count: silences.length, silences };
  });

  api.post('/silences', { config: { permission: 'operate' } }, async (req, reply) => {
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

  api.delete<{ Params: { id: string } }>('/silences/:id', { config: { permission: 'operate' } }, async (req, reply) => {
    if (!ctx.alerts.expireSilence(req.params.id, ctx.now())) {
      const known = ctx.alerts.getSilence(req.params.id, ctx.now());
      return reply
        .code(known ? 409 : 404)
        .send({ error: known ? 'the silence has already ended' : `unknown silence "${req.params.id}"` });
    }
    return { expired: req.params.id };
  });
}
