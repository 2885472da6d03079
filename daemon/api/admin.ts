import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { problemsBody } from './openapi.js';

const doc = {
  summary: 'Re-read the config file and apply what can change live (as SIGHUP)',
  description:
    'Each changed section is applied by its part or reported as needing a restart. A file that does not ' +
    'validate changes nothing and is answered with every problem.',
  responses: {
    200: {
      description: 'What was applied and what needs a restart.',
      schema: z.looseObject({ reloaded: z.unknown() }),
    },
    422: { description: 'The file does not validate; the running config is kept.', schema: problemsBody },
  },
};

export function registerAdminRoutes(api: FastifyInstance, ctx: { reload(): Promise<unknown> }): void {
  /**
   * Re-reads the config file and applies what can change without a restart (same as SIGHUP). A broken
   * file changes nothing and is answered with every problem, as `check-config` would print them.
   */
  api.post('/admin/reload', { config: { permission: 'admin', doc } }, async () => ({ reloaded: await ctx.reload() }));
}
