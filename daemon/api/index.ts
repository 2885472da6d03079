/**
 * The JSON API under /api/v1. Each route module takes its own small context — read ports and a few
 * actions — and never reaches into the daemon's internals, so a module is tested with a context built
 * from plain values. Parts register their modules with `house.routes`; the API part mounts them all
 * under the prefix when it starts, after everything they serve exists.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteModule } from '../house/index.js';

export const API_PREFIX = '/api/v1';

export function mountApi(app: FastifyInstance, modules: readonly RouteModule[]): void {
  void app.register(
    async (api) => {
      for (const register of modules) register(api);
    },
    { prefix: API_PREFIX },
  );
}

export { registerAdminRoutes } from './admin.js';
export { registerCellRoutes, type CellRoutesContext } from './cells.js';
export {
  registerOpenApi,
  registerOpenApiRoute,
  operation,
  listOf,
  errorBody,
  problemsBody,
  camaraErrorBody,
  rejection,
  type RouteDoc,
  type ResponseDoc,
} from './openapi.js';
export { registerSessionRoutes, type SessionRoutesContext } from './session.js';
