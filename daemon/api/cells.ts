import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock/index.js';
import type { TargetStatus } from '../../collectors/index.js';
import type { Cell, EpochMs, Inventory, Sample } from '../../model/index.js';

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

const listQuery = z.strictObject({
  region: z.string().optional(),
  site: z.string().optional(),
  status: z.enum(['up', 'down', 'stale', 'unknown']).optional(),
});

export function registerCellRoutes(api: FastifyInstance, ctx: CellRoutesContext): void {
  api.get('/cells', { config: { permission: 'read' } }, async (req) => {
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

  api.get<{ Params: { id: string } }>('/cells/:id', { config: { permission: 'read' } }, async (req, reply) => {
    const { id } = req.params;
    const cell = ctx.inventory().cell(id);
    const [latest] = await ctx.latest([id]);
    if (!cell && !latest) return reply.code(404).send({ error: `unknown cell "${id}"` });
    const now = ctx.clock.now();
    const site = cell?.site;
    const collection = site ? ctx.collection().filter((t) => t.site === site) : [];
    return { at: now, ...view(id, cell, latest, now), collection, ...detectionOf(ctx, id) };
  });
}

/** Busy hour, bouncing busy hour, today's ratio, baseline kind and open windows (not the cell id twice). */
function detectionOf(ctx: CellRoutesContext, id: string): Record<string, unknown> {
  if (!ctx.detection) return {};
  const { cell: _cell, ...rest } = ctx.detection(id);
  return rest;
}
