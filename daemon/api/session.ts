import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import type { Authenticator, Permission } from '../auth.js';
import type { RouteDoc } from './openapi.js';

export interface SessionRoutesContext {
  auth: Authenticator;
  config(): Config;
}

const SESSION_DOC: RouteDoc = {
  summary: 'What the presented token may do, and how the board draws the network (zone, goal, peak hours)',
  responses: {
    200: {
      description: 'The session.',
      schema: z.looseObject({
        authRequired: z.boolean(),
        principal: z.string().optional(),
        permissions: z.array(z.enum(['read', 'operate', 'ingest', 'admin'])),
        display: z.looseObject({ timezone: z.string(), goal: z.number() }),
      }),
    },
  },
};

const PERMISSIONS: readonly Permission[] = ['read', 'operate', 'ingest', 'admin'];

/**
 * What the presented token may do and how to draw the network, for the board: it shows ack and
 * silence only to a role that may operate, and draws peak hours, the goal and thresholds in the
 * daemon's time zone as the detector judges them. Needs `read`: the board is a reader.
 */
export function registerSessionRoutes(api: FastifyInstance, ctx: SessionRoutesContext): void {
  api.get('/session', { config: { permission: 'read', doc: SESSION_DOC } }, async (req) => {
    const granted = PERMISSIONS.filter((p) => ctx.auth.decide(req.headers.authorization, p).ok);
    const cfg = ctx.config();
    const peak = cfg.target.peak;
    return {
      authRequired: ctx.auth.enabled,
      ...(req.principal !== undefined ? { principal: req.principal } : {}),
      permissions: granted,
      display: {
        timezone: cfg.timezone,
        goal: cfg.target.ratio,
        // Minutes after local midnight; `busy-hour`: each cell's own busiest hour (the cell says which).
        peak: peak === 'busy-hour' ? 'busy-hour' : { fromMinute: peak.from, toMinute: peak.to },
        experience: cfg.experience,
        firstResponseMs: cfg.complaints.handling.firstResponse,
      },
    };
  });
}
