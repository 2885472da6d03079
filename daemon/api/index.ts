/**
 * The JSON API under /api/v1. Each route module gets the same small context — read ports and a few
 * daemon actions — and never reaches into the daemon's internals, so a module can be tested with a
 * context built from plain values.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock/index.js';
import type { Cell } from '../../model/index.js';
import type { SeriesReader } from '../../store/index.js';
import { registerAdminRoutes } from './admin.js';
import { registerCellRoutes } from './cells.js';

/** The collection state of one polled target, as the collectors report it. */
export interface TargetState {
  target: string;
  state: string;
  site?: string;
  lastSuccess?: number;
  lastError?: string;
  [k: string]: unknown;
}

export interface ApiContext {
  clock: Clock;
  inventory(): ReadonlyMap<string, Cell>;
  reader: SeriesReader;
  targets(): TargetState[];
  reload(): Promise<unknown>;
}

export function registerApi(app: FastifyInstance, ctx: ApiContext): void {
  void app.register(
    async (api) => {
      registerCellRoutes(api, ctx);
      registerAdminRoutes(api, ctx);
    },
    { prefix: '/api/v1' },
  );
}
