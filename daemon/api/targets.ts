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

const SCOPES = ['network', 'region', 'cell'] as const;

/** `network`, `region`, `cell`, or several comma-separated (`network,region`), in that order in the answer. */
const scopeList = z
  .string()
  .transform((text) => text.split(',').map((x) => x.trim()))
  .pipe(z.array(z.enum(SCOPES)).min(1))
  .transform((xs) => SCOPES.filter((x) => xs.includes(x)));

const query = z
  .strictObject({
    day: dayParam.optional(),
    from: dayParam.optional(),
    to: dayParam.optional(),
    scope: scopeList.optional(),
    id: z.string().min(1).optional(),
    stream: z.enum(['counters', 'probes']).optional(),
  })
  .refine((q) => !(q.day && (q.from || q.to)), { message: 'give either day or from/to, not both', path: ['day'] })
  .refine((q) => !q.id || q.scope?.length === 1, { message: 'id needs one scope (region or cell)', path: ['id'] });

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
   * default, for the network; `scope=network,region` gives several; `from`/`to` give the history.
   */
  api.get('/targets', { config: { permission: 'read', doc } }, async (req) => {
    const q = query.parse(req.query);
    const today = ctx.today();
    const from = q.day ?? q.from ?? (q.to ? q.to : today);
    const to = q.day ?? q.to ?? (q.from ? today : from);
    const scopes: TargetScope[] = q.scope ?? ['network'];
    const results = scopes.flatMap((scope) =>
      ctx.list({
        from,
        to,
        scope,
        ...(q.id !== undefined ? { id: q.id } : {}),
        ...(q.stream !== undefined ? { stream: q.stream } : {}),
      }),
    );
    // By day, then scope (network, region, cell), then id.
    results.sort(
      (a, b) =>
        a.day.localeCompare(b.day) ||
        scopes.indexOf(a.scope) - scopes.indexOf(b.scope) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    return { from, to, scope: scopes.join(','), count: results.length, results };
  });
}
