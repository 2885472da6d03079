import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TargetResult, TargetScope } from '../../model/index.js';
import { dayParam } from './params.js';

export interface TargetQuery {
  /** Inclusive local days. */
  from: string;
  to: string;
  scope?: TargetScope;
  id?: string;
  stream?: 'counters' | 'probes';
}

/** Where the target routes read from: the detector's live days merged over the stored history. */
export interface TargetRoutesContext {
  /** Today's local day in the configured time zone. */
  today(): string;
  list(q: TargetQuery): TargetResult[];
}

const query = z
  .strictObject({
    day: dayParam.optional(),
    from: dayParam.optional(),
    to: dayParam.optional(),
    scope: z.enum(['network', 'region', 'cell']).optional(),
    id: z.string().min(1).optional(),
    stream: z.enum(['counters', 'probes']).optional(),
  })
  .refine((q) => !(q.day && (q.from || q.to)), { message: 'give either day or from/to, not both', path: ['day'] })
  .refine((q) => !q.id || q.scope, { message: 'id needs a scope (region or cell)', path: ['id'] });

const doc = {
  summary: 'The good-experience target per local day and scope',
  description:
    'Per local day and scope, the user-weighted good ratio during the peak hours against the goal, with ' +
    'users counted, coverage, its 95% interval and a status. Today, for the network, by default; ' +
    '`from`/`to` (local days) give the history.',
  query,
  responses: {
    200: {
      description: 'The results.',
      schema: z.looseObject({
        from: z.string(),
        to: z.string(),
        scope: z.enum(['network', 'region', 'cell']),
        count: z.number().int(),
        results: z.array(z.looseObject({ day: z.string() })),
      }),
    },
  },
};

export function registerTargetRoutes(api: FastifyInstance, ctx: TargetRoutesContext): void {
  /**
   * The good-experience target: per local day and scope, the user-weighted good ratio during the peak
   * hours against the goal, with users counted, coverage, its 95% interval and a status. Today by
   * default, for the network; `from`/`to` give the history.
   */
  api.get('/targets', { config: { permission: 'read', doc } }, async (req) => {
    const q = query.parse(req.query);
    const today = ctx.today();
    const from = q.day ?? q.from ?? (q.to ? q.to : today);
    const to = q.day ?? q.to ?? (q.from ? today : from);
    const scope: TargetScope = q.scope ?? 'network';
    const results = ctx.list({
      from,
      to,
      scope,
      ...(q.id !== undefined ? { id: q.id } : {}),
      ...(q.stream !== undefined ? { stream: q.stream } : {}),
    });
    return { from, to, scope, count: results.length, results };
  });
}
