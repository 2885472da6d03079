/**
 * Table retrieval. A table is fetched column by column, several columns per PDU:
 * - SNMPv2c/v3: GETBULK with many column OIDs at once (each advancing on its own), the sysUpTime
 *   scalar riding along as a non-repeater of the first PDU, so reboot detection costs no extra PDU;
 *   after the first answer the unfinished columns are split into groups walked concurrently, which
 *   keeps the agent busy while we decode (a single serial stream idles both ends in turn);
 * - SNMPv1: the same with GETNEXT (one row per PDU);
 * - known rows only (`getRows`): many `column.index` OIDs per GET, no walking at all.
 * `tooBig` halves max-repetitions (or the OIDs per GET) and tries again; the value that worked is
 * kept for the target's next poll.
 *
 * Holes are normal: a column without a row (skipped in a walk, noSuchInstance in a GET) leaves that
 * field absent; endOfMibView or an OID past the column ends that column.
 */
import { ObjectType, SnmpError, noSuchNameOid, type SnmpSession, type Varbind } from './session.js';

/** What a table retrieval needs of a session (tests pass an in-memory agent). */
export type TableSession = Pick<SnmpSession, 'version' | 'get' | 'getNext' | 'getBulk'>;

export interface TableData {
  /** Row index (OID suffix after the column, e.g. "3" or "1.2") → varbinds by column position. */
  rows: Map<string, (Varbind | undefined)[]>;
  /** Scalar varbinds (e.g. sysUpTime.0) by position, undefined when the agent has none. */
  scalars: (Varbind | undefined)[];
  /** Varbinds received that carried table data or scalars. */
  varbinds: number;
}

/** Per-target request tuning that survives from poll to poll. */
export interface WalkTuning {
  /** GETBULK max-repetitions currently in use (halved on tooBig, never above the configured value). */
  maxRepetitions: number;
  /** OIDs per GET (halved on tooBig). */
  oidsPerGet: number;
}

export interface WalkOptions {
  /** Upper bound on varbinds asked for in one PDU (columns × repetitions). */
  maxVarbinds: number;
  /** Column groups walked concurrently after the first PDU. */
  parallel: number;
  /** Refuse tables bigger than this (a misbehaving agent must not exhaust memory). */
  maxRows: number;
  /** Rows the table had last time: sizes the first request so a small table comes back in one PDU. */
  expectedRows?: number;
  /** Called when the scalars arrive (the caller notes the clock time of the sysUpTime reading). */
  onScalars?: () => void;
}

interface ColumnWalk {
  pos: number;
  prefix: string;
  last: string;
  done: boolean;
  /** Consecutive answers that carried nothing for this column (a truncating agent). */
  stalls: number;
}

/** Answers in a row without progress after which a column is declared broken. */
const MAX_STALLS = 3;

const isEnd = (vb: Varbind) =>
  vb.type === ObjectType.EndOfMibView || vb.type === ObjectType.NoSuchObject || vb.type === ObjectType.NoSuchInstance;

/** Compares dotted numeric OIDs (arc by arc). */
export function compareOids(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

class TableBuilder {
  readonly rows = new Map<string, (Varbind | undefined)[]>();
  varbinds = 0;
  constructor(
    private readonly target: string,
    private readonly maxRows: number,
  ) {}

  /** Files one column's varbinds, marking the column done at its end. */
  feed(col: ColumnWalk, vbs: Varbind[]): void {
    const { prefix } = col;
    const before = col.last;
    for (const vb of vbs) {
      if (isEnd(vb) || !vb.oid.startsWith(prefix)) {
        col.done = true;
        break;
      }
      const index = vb.oid.slice(prefix.length);
      let row = this.rows.get(index);
      if (!row) {
        if (this.rows.size >= this.maxRows)
          throw new SnmpError('error', this.target, `table has more than ${this.maxRows} rows; refusing the rest`);
        row = [];
        this.rows.set(index, row);
      }
      row[col.pos] = vb;
      this.varbinds++;
      col.last = vb.oid;
    }
    // An agent that answers with the OID it was asked about (or an earlier one) would loop forever.
    if (!col.done && col.last !== before && compareOids(col.last, before) <= 0) {
      throw new SnmpError(
        'error',
        this.target,
        `agent returned OIDs out of order in column ${prefix.slice(0, -1)} (${col.last} after ${before})`,
      );
    }
    if (!col.done && col.last === before && ++col.stalls >= MAX_STALLS) {
      throw new SnmpError(
        'error',
        this.target,
        `agent made no progress in column ${prefix.slice(0, -1)} at ${before} after ${MAX_STALLS} answers`,
      );
    }
    if (col.last !== before) col.stalls = 0;
  }
}

/**
 * Walks `columns` (full column OIDs) and fetches `scalars` (OIDs asked with GETNEXT semantics, so
 * "1.3.6.1.2.1.1.3" yields sysUpTime.0) in the same first PDU.
 */
export async function walkColumns(
  session: TableSession,
  target: string,
  columns: readonly string[],
  scalars: readonly string[],
  tuning: WalkTuning,
  opts: WalkOptions,
): Promise<TableData> {
  const builder = new TableBuilder(target, opts.maxRows);
  const cols: ColumnWalk[] = columns.map((c, pos) => ({ pos, prefix: `${c}.`, last: c, done: false, stalls: 0 }));
  const scalarOut: (Varbind | undefined)[] = scalars.map(() => undefined);

  if (session.version === '1') {
    await walkV1(session, target, cols, scalars, scalarOut, builder, opts);
  } else {
    // First PDU: every column and the scalars, sized so a table of the expected size ends in it.
    const firstReps = Math.max(
      1,
      Math.min(
        tuning.maxRepetitions,
        Math.floor(opts.maxVarbinds / Math.max(1, cols.length)),
        (opts.expectedRows ?? tuning.maxRepetitions) + 1,
      ),
    );
    await bulkStep(session, cols, scalars, scalarOut, firstReps, tuning, builder);
    opts.onScalars?.();
    const open = cols.filter((c) => !c.done);
    if (open.length > 0) {
      const groups = Math.max(1, Math.min(opts.parallel, open.length));
      const work: ColumnWalk[][] = Array.from({ length: groups }, () => []);
      open.forEach((c, i) => work[i % groups]!.push(c));
      await Promise.all(work.map((group) => walkGroup(session, group, tuning, builder, opts.maxVarbinds)));
    }
  }
  return { rows: builder.rows, scalars: scalarOut, varbinds: builder.varbinds + scalarOut.filter(Boolean).length };
}

async function walkGroup(
  session: TableSession,
  group: ColumnWalk[],
  tuning: WalkTuning,
  builder: TableBuilder,
  maxVarbinds: number,
): Promise<void> {
  for (;;) {
    const open = group.filter((c) => !c.done);
    if (open.length === 0) return;
    const reps = Math.max(1, Math.min(tuning.maxRepetitions, Math.floor(maxVarbinds / open.length)));
    await bulkStep(session, open, [], [], reps, tuning, builder);
  }
}

/** One GETBULK for `cols` (+ scalars as non-repeaters), retried smaller on tooBig. */
async function bulkStep(
  session: TableSession,
  cols: ColumnWalk[],
  scalars: readonly string[],
  scalarOut: (Varbind | undefined)[],
  reps: number,
  tuning: WalkTuning,
  builder: TableBuilder,
): Promise<void> {
  for (;;) {
    try {
      const res = await session.getBulk([...scalars, ...cols.map((c) => c.last)], scalars.length, reps);
      for (let i = 0; i < scalars.length; i++) {
        const vb = res[i]?.[0];
        scalarOut[i] = vb && !isEnd(vb) && vb.oid.startsWith(`${scalars[i]}.`) ? vb : undefined;
      }
      cols.forEach((c, i) => builder.feed(c, res[scalars.length + i] ?? []));
      return;
    } catch (err) {
      if (!(err instanceof SnmpError) || err.kind !== 'too-big') throw err;
      if (reps > 1) {
        reps = Math.max(1, Math.floor(reps / 2));
        tuning.maxRepetitions = Math.min(tuning.maxRepetitions, reps);
        continue;
      }
      if (cols.length > 1) {
        // One row of every column is still too big: ask for the columns in two halves.
        const half = Math.ceil(cols.length / 2);
        await bulkStep(session, cols.slice(0, half), scalars, scalarOut, 1, tuning, builder);
        await bulkStep(session, cols.slice(half), [], [], 1, tuning, builder);
        return;
      }
      throw err;
    }
  }
}

/** SNMPv1 has no GETBULK: many columns per GETNEXT; NoSuchName marks the end of the MIB for one OID. */
async function walkV1(
  session: TableSession,
  target: string,
  cols: ColumnWalk[],
  scalars: readonly string[],
  scalarOut: (Varbind | undefined)[],
  builder: TableBuilder,
  opts: WalkOptions,
): Promise<void> {
  let pendingScalars = scalars.map((oid, i) => ({ oid, i }));
  let first = true;
  for (;;) {
    const open = cols.filter((c) => !c.done);
    if (open.length === 0 && pendingScalars.length === 0) break;
    const oids = [...pendingScalars.map((s) => s.oid), ...open.map((c) => c.last)];
    try {
      const res = await session.getNext(oids);
      pendingScalars.forEach((s, k) => {
        const vb = res[k];
        scalarOut[s.i] = vb && !isEnd(vb) && vb.oid.startsWith(`${s.oid}.`) ? vb : undefined;
      });
      open.forEach((c, k) => {
        const vb = res[pendingScalars.length + k];
        builder.feed(c, vb ? [vb] : []);
      });
      pendingScalars = [];
    } catch (err) {
      if (!(err instanceof SnmpError) || err.kind !== 'no-such-name') throw err;
      const oid = noSuchNameOid(err);
      const col = open.find((c) => c.last === oid);
      const scalar = pendingScalars.find((s) => s.oid === oid);
      if (col) col.done = true;
      else if (scalar) pendingScalars = pendingScalars.filter((s) => s !== scalar);
      else
        throw new SnmpError('error', target, `SNMPv1 agent reported noSuchName for an OID not asked: ${err.message}`, {
          cause: err,
        });
    }
    if (first) {
      first = false;
      opts.onScalars?.();
    }
  }
}

/**
 * Fetches known rows with GETs: `column.index` for every column and index, many OIDs per PDU,
 * `parallel` PDUs in flight. `scalars` are full instance OIDs (e.g. "1.3.6.1.2.1.1.3.0").
 */
export async function getRows(
  session: TableSession,
  target: string,
  columns: readonly string[],
  indexes: readonly string[],
  scalars: readonly string[],
  tuning: WalkTuning,
  opts: Pick<WalkOptions, 'parallel' | 'onScalars'>,
): Promise<TableData> {
  const rows = new Map<string, (Varbind | undefined)[]>();
  const scalarOut: (Varbind | undefined)[] = scalars.map(() => undefined);
  let varbinds = 0;
  type Ask = { oid: string; scalar?: number; col?: number; index?: string };
  const asks: Ask[] = [...scalars.map((oid, i) => ({ oid, scalar: i }))];
  for (const index of indexes) columns.forEach((c, col) => asks.push({ oid: `${c}.${index}`, col, index }));

  const file = (ask: Ask, vb: Varbind | undefined) => {
    if (!vb || isEnd(vb)) return;
    varbinds++;
    if (ask.scalar !== undefined) {
      scalarOut[ask.scalar] = vb;
      return;
    }
    let row = rows.get(ask.index!);
    if (!row) rows.set(ask.index!, (row = []));
    row[ask.col!] = vb;
  };

  const getChunk = async (chunk: Ask[]): Promise<void> => {
    if (chunk.length === 0) return;
    try {
      const res = await session.get(chunk.map((a) => a.oid));
      chunk.forEach((a, i) => file(a, res[i]));
    } catch (err) {
      if (!(err instanceof SnmpError)) throw err;
      if (err.kind === 'too-big' && chunk.length > 1) {
        const half = Math.ceil(chunk.length / 2);
        tuning.oidsPerGet = Math.min(tuning.oidsPerGet, half);
        await getChunk(chunk.slice(0, half));
        await getChunk(chunk.slice(half));
        return;
      }
      if (err.kind === 'no-such-name') {
        // SNMPv1 fails the whole PDU for one missing instance: drop that OID (a hole) and ask again.
        const oid = noSuchNameOid(err);
        const rest = chunk.filter((a) => a.oid !== oid);
        if (rest.length === chunk.length) throw err;
        await getChunk(rest);
        return;
      }
      throw err;
    }
  };

  // The scalars go first and alone in their PDU's head so their read time is known.
  const chunks: Ask[][] = [];
  for (let i = 0; i < asks.length; i += Math.max(1, tuning.oidsPerGet))
    chunks.push(asks.slice(i, i + Math.max(1, tuning.oidsPerGet)));
  await getChunk(chunks[0] ?? []);
  opts.onScalars?.();
  let next = 1;
  const lanes = Array.from({ length: Math.max(1, Math.min(opts.parallel, chunks.length - 1)) }, async () => {
    while (next < chunks.length) await getChunk(chunks[next++]!);
  });
  await Promise.all(lanes);
  return { rows, scalars: scalarOut, varbinds };
}
