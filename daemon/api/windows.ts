import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Window } from '../../model/index.js';
import type { WindowQuery } from '../../store/index.js';
import { errorBody, listOf } from './openapi.js';
import { boolParam, limitParam, timeParam } from './params.js';

/** Where the window routes read from: the record store, which holds every window the detector published. */
export interface WindowRoutesContext {
  windows: { list(q: WindowQuery): Window[]; get(id: string): Window | undefined };
}

const CAUSES = ['outage', 'backhaul', 'coverage', 'interference', 'congestion', 'silent-failure', 'unknown'] as const;

const listQuery = z.strictObject({
  cell: z.string().optional(),
  region: z.string().optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  open: boolParam.optional(),
  cause: z.enum(CAUSES).optional(),
  limit: limitParam.optional(),
});

const windowDoc = z
  .looseObject({
    id: z.string(),
    cell: z.string(),
    site: z.string().optional(),
    region: z.string().optional(),
    stream: z.enum(['counters', 'probes']),
    start: z.number(),
    end: z.number().optional().meta({ description: 'absent while the window is open' }),
    lastBad: z.number(),
    cause: z.enum(CAUSES),
    severity: z.number().min(0).max(1),
    usersAffected: z.number(),
    userMinutes: z.number(),
    remediation: z.string(),
  })
  .meta({ description: 'A degradation window; times are epoch ms.' });
const listDoc = {
  summary: 'Degradation windows, oldest first',
  description: 'Windows overlapping [from, to) on a cell or in a region, open or closed, by cause.',
  query: listQuery,
  responses: { 200: { description: 'The windows.', schema: listOf('windows', windowDoc) } },
};
const oneDoc = {
  summary: 'One degradation window with its evidence',
  params: z.strictObject({ id: z.string() }),
  responses: {
    200: { description: 'The window.', schema: windowDoc },
    404: { description: 'No such window.', schema: errorBody },
  },
};

export function registerWindowRoutes(api: FastifyInstance, ctx: WindowRoutesContext): void {
  /** Windows overlapping [from, to) on a cell or in a region, open or closed, by cause; oldest first. */
  api.get('/windows', { config: { permission: 'read', doc: listDoc } }, async (req) => {
    const q = listQuery.parse(req.query);
    const query: WindowQuery = { limit: q.limit ?? 1000 };
    if (q.cell !== undefined) query.cell = q.cell;
    if (q.region !== undefined) query.region = q.region;
    if (q.from !== undefined) query.from = q.from;
    if (q.to !== undefined) query.to = q.to;
    if (q.open !== undefined) query.open = q.open;
    if (q.cause !== undefined) query.cause = q.cause;
    const windows = ctx.windows.list(query);
    return { count: windows.length, windows };
  });

  api.get<{ Params: { id: string } }>(
    '/windows/:id',
    { config: { permission: 'read', doc: oneDoc } },
    async (req, reply) => {
      const w = ctx.windows.get(req.params.id);
      if (!w) return reply.code(404).send({ error: `unknown window "${req.params.id}"` });
      return w;
    },
  );
}
