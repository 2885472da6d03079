import type { FastifyInstance } from 'fastify';

export function registerAdminRoutes(api: FastifyInstance, ctx: { reload(): Promise<unknown> }): void {
  /**
   * Re-reads the config file and applies what can change without a restart (same as SIGHUP). A broken
   * file changes nothing and is answered with every problem, as `check-config` would print them.
   */
  api.post('/admin/reload', { config: { permission: 'admin' } }, async () => ({ reloaded: await ctx.reload() }));
}
