import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock/index.js';
import type { TargetStatus } from '../../collectors/index.js';
import type { Cell, EpochMs, Inventory, Sample } from '../../model/index.js';
import { errorBody, listOf } from './openapi.js';

/** What the cell routes read: the inventory, the newest sample per cell, and collection health. */
export interface CellRoutesContext {
  clock: Clock;
  inventory(): Inventory;
  latest(cells?: readonly string[]): Sample[] | Promise<Sample[]>;
  collection(): TargetStatus[];
  /** Busy hour, today's ratio, baseline and open windows, when the daemon runs a detector. */
  detection?(cell: string): Record<string, unknown>;
}

/** A sample older than this many of its own intervals means the cell's data has stopped arriving. */
const STALE_INTERVALS = 3;
const DEFAULT_INTERVAL_S = 60;

export type CellStatus = 'up' | 'down' | 'stale' | 'unknown';

/** What the board and the API say about a cell right now, from its newest sample. */
export function cellStatus(latest: Sample | undefined, now: EpochMs): CellStatus {
  if (!latest) return 'unknown';
  const staleAfterMs = STALE_INTERVALS * (latest.intervalS ?? DEFAULT_INTERVAL_S) * 1000;
  if (now - latest.ts > staleAfterMs) return 'stale';
  if (latest.available === false) return 'down';
  return 'up';
}

interface CellView extends Partial<Omit<Cell, 'id'>> {
  id: string;
  status: CellStatus;
  latest: Sample | null;
}

function view(id: string, cell: Cell | undefined, latest: Sample | undefined, now: EpochMs): CellView {
  return { ...(cell ?? {}), id, status: cellStatus(latest, now), latest: latest ?? null };
}

const STATUSES = ['up', 'down', 'stale', 'unknown'] as const;

const listQuery = z.strictObject({
  region: z.string().optional(),
  site: z.string().optional(),
  status: z.enum(STATUSES).optional(),
});

const cellDoc = z
  .looseObject({
    id: z.string(),
    status: z.enum(STATUSES),
    latest: z.looseObject({ cell: z.string(), ts: z.number() }).nullable(),
    site: z.string().optional(),
    region: z.string().optional(),
    lat: z.number().optional(),
    lon: z.number().optional(),
  })
  .meta({ description: 'A cell: its inventory entry, status from its newest sample, and that sample.' });
const listDoc = {
  summary: 'Every cell with its status and newest sample',
  description: 'Inventory cells, plus cells that report data but are missing from the inventory.',
  query: listQuery,
  responses: { 200: { description: 'The cells.', schema: listOf('cells', cellDoc).extend({ at: z.number() }) } },
};
const oneDoc = {
  summary: 'One cell: status, latest KPIs, collection, busy hour, today, open windows',
  params: z.strictObject({ id: z.string() }),
  responses: {
    200: { description: 'The cell.', schema: cellDoc.extend({ at: z.number() }) },
    404: { description: 'Neither in the inventory nor reporting.', schema: errorBody },
  },
};

export function registerCellRoutes(api: FastifyInstance, ctx: CellRoutesContext): void {
  api.get('/cells', { config: { permission: 'read', doc: listDoc } }, async (req) => {
    const q = listQuery.parse(req.query);
    const now = ctx.clock.now();
    const inventory = ctx.inventory();
    const latest = new Map((await ctx.latest()).map((s) => [s.cell, s]));
    // Cells the inventory knows, plus cells that report data but are missing from it (shown, not hidden).
    const ids = new Set([...inventory.cells.map((c) => c.id), ...latest.keys()]);
    const cells = [...ids]
      .sort()
      .map((id) => view(id, inventory.cell(id), latest.get(id), now))
      .filter(
        (c) =>
          (!q.region || c.region === q.region) &&
          (!q.site || c.site === q.site) &&
          (!q.status || c.status === q.status),
      );
    return { at: now, count: cells.length, cells };
  });

  api.get<{ Params: { id: string } }>(
    '/cells/:id',
    { config: { permission: 'read', doc: oneDoc } },
    async (req, reply) => {
      const { id } = req.params;
      const cell = ctx.inventory().cell(id);
      const [latest] = await ctx.latest([id]);
      if (!cell && !latest) return reply.code(404).send({ error: `unknown cell "${id}"` });
      const now = ctx.clock.now();
      const site = cell?.site;
      const collection = site ? ctx.collection().filter((t) => t.site === site) : [];
      return { at: now, ...view(id, cell, latest, now), collection, ...detectionOf(ctx, id) };
    },
  );
}

/** Busy hour, bouncing busy hour, today's ratio, baseline kind and open windows (not the cell id twice). */
function detectionOf(ctx: CellRoutesContext, id: string): Record<string, unknown> {
  if (!ctx.detection) return {};
  const { cell: _cell, ...rest } = ctx.detection(id);
  return rest;
}
