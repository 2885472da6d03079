import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './index.js';

export function registerAdminRoutes(api: FastifyInstance, ctx: ApiContext): void {
  /** Collection health per polled target: a dead collector must not look like a dead network. */
  api.get('/targets', { config: { permission: 'read' } }, async () => {
    const targets = ctx.targets();
    return { at: ctx.clock.now(), count: targets.length, targets };
  });

  /**
   * Re-reads the config file and applies what can change without a restart (same as SIGHUP). A broken
   * file changes nothing and is answered with every problem, as `check-config` would print them.
   */
  api.post('/admin/reload', { config: { permission: 'admin' } }, async () => ({ reloaded: await ctx.reload() }));
}
