import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock/index.js';
import type { TargetStatus } from '../../collectors/index.js';
import type { Cell, EpochMs, Inventory, Sample } from '../../model/index.js';
import { errorBody, listOf } from './openapi.js';
import type { SeriesBucket } from '../../store/index.js';
import { timeParam } from './params.js';

/** What the cell routes read: the inventory, the newest sample per cell, and collection health. */
export interface CellRoutesContext {
  clock: Clock;
  inventory(): Inventory;
  latest(cells?: readonly string[]): Sample[] | Promise<Sample[]>;
  collection(): TargetStatus[];
  /** Busy hour, today's ratio, baseline and open windows, when the daemon runs a detector. */
  detection?(cell: string): Record<string, unknown>;
  /** A cell's KPI series in [from, to), in buckets of `stepMs` (the store's SeriesReader). */
  series?(cell: string, from: EpochMs, to: EpochMs, stepMs: number): Promise<SeriesBucket[]>;
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

const MINUTE = 60_000;
const DAY = 86_400_000;
/** The longest range one series request may cover; a chart of more is unreadable anyway. */
export const SERIES_MAX_RANGE_MS = 31 * DAY;
/** Buckets one request returns at most when no step is given (a chart is ~1,000 px wide). */
const SERIES_TARGET_POINTS = 720;

const seriesQuery = z
  .strictObject({
    from: timeParam.optional(),
    to: timeParam.optional(),
    /** Bucket width in ms (whole minutes); default: the range over ~720 buckets, at least a minute. */
    step: z.coerce.number().int().min(MINUTE).max(DAY).optional(),
  })
  .refine((q) => q.step === undefined || q.step % MINUTE === 0, { message: 'must be whole minutes', path: ['step'] });

/**
 * The bucket width for a range: a whole number of minutes giving at most ~720 buckets, rounded up to
 * a width a person reads on an axis (1, 5, 15, 30 minutes, 1, 3, 6 hours).
 */
export function seriesStep(rangeMs: number): number {
  const widths = [1, 5, 15, 30, 60, 180, 360, 720, 1440].map((m) => m * MINUTE);
  return widths.find((w) => rangeMs / w <= SERIES_TARGET_POINTS) ?? DAY;
}

const seriesDoc = {
  summary: "A cell's KPIs over a range as bucket means (what the cell page charts)",
  description: 'Buckets with no sample are absent, not zero. Default range: the last 24 h; at most 31 days.',
  query: seriesQuery,
  params: z.strictObject({ id: z.string() }),
  responses: {
    200: {
      description: 'The buckets, oldest first.',
      schema: z.looseObject({
        cell: z.string(),
        from: z.number(),
        to: z.number(),
        stepMs: z.number(),
        count: z.number().int(),
        buckets: z.array(z.looseObject({ ts: z.number(), count: z.number().int() })),
      }),
    },
    404: { description: 'Unknown cell, or no series store.', schema: errorBody },
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

  /**
   * A cell's KPIs over [from, to) (default the last 24 h) as bucket means, oldest first: what the
   * cell page charts. Buckets with no sample are absent, not zero (a gap is drawn as a gap).
   */
  api.get<{ Params: { id: string } }>(
    '/cells/:id/series',
    { config: { permission: 'read', doc: seriesDoc } },
    async (req, reply) => {
      const q = seriesQuery.parse(req.query);
      const { id } = req.params;
      if (!ctx.series) return reply.code(404).send({ error: 'no series store in this daemon' });
      if (!ctx.inventory().has(id) && (await ctx.latest([id])).length === 0)
        return reply.code(404).send({ error: `unknown cell "${id}"` });
      const to = q.to ?? ctx.clock.now();
      const from = q.from ?? to - DAY;
      if (!(from < to))
        return reply.code(400).send({ error: 'invalid request', problems: ['from: must be before to'] });
      if (to - from > SERIES_MAX_RANGE_MS)
        return reply
          .code(400)
          .send({ error: 'invalid request', problems: [`to: at most ${SERIES_MAX_RANGE_MS / DAY} days after from`] });
      const stepMs = q.step ?? seriesStep(to - from);
      const buckets = await ctx.series(id, from, to, stepMs);
      return { cell: id, from, to, stepMs, count: buckets.length, buckets };
    },
  );
}

/** Busy hour, bouncing busy hour, today's ratio, baseline kind and open windows (not the cell id twice). */
function detectionOf(ctx: CellRoutesContext, id: string): Record<string, unknown> {
  if (!ctx.detection) return {};
  const { cell: _cell, ...rest } = ctx.detection(id);
  return rest;
}
