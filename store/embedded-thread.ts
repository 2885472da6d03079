import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EpochMs, LinkSample, Sample } from '../model/index.js';
import type { EmbeddedOptions } from './embedded.js';
import type { Point, SeriesBackend, SeriesBucket, SeriesReader, WriteResult } from './index.js';
import { CELL_FIELDS, CELL_MEASUREMENT, schemaProblem } from './schema.js';

/*
 * The embedded series store in a thread of its own (store/embedded-worker.ts runs the EmbeddedBackend
 * there). SQLite's inserts, commits (with their fsync) and the bulk moves into the (cell, ts) index
 * then run on the second core while this thread parses and detects: at 50,000 pushed samples/s they
 * were ~40% of this thread's time, blocking it. A write still resolves only once its samples are
 * committed, as before; the thread only changes where the work runs.
 *
 * Cell points cross as columns (typed arrays, moved, not copied; the strings in arrays): a structured
 * clone of 5,000 point objects cost this thread more than half of what it saves.
 */

/** A batch as columns; `values` is row-major, CELL_FIELDS.length per row, NaN where a field is absent. */
export interface ColumnBatch {
  cells: string[];
  sources: (string | undefined)[];
  sites: (string | undefined)[];
  regions: (string | undefined)[];
  ts: Float64Array<ArrayBuffer>;
  values: Float64Array<ArrayBuffer>;
  /** Everything else (links; a batch with a non-finite value, which NaN cannot stand for), as points. */
  others: Point[];
}

export type EmbeddedCall = { id: number; now: EpochMs } & (
  | { kind: 'init' | 'close' | 'latestLinks' }
  | { kind: 'write'; batch: ColumnBatch }
  | { kind: 'prune'; at?: EpochMs }
  | { kind: 'latest'; cells?: readonly string[] }
  | { kind: 'series'; cell: string; from: EpochMs; to: EpochMs; resolutionMs: number }
  | { kind: 'hourly'; from: EpochMs; to: EpochMs; cells?: readonly string[] }
);

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type EmbeddedLogLevel = (typeof LOG_LEVELS)[number];

export type EmbeddedReply =
  | { kind: 'reply'; id: number; value?: unknown; error?: string }
  | { kind: 'log'; level: EmbeddedLogLevel; obj: object; msg?: string };

export interface ThreadData {
  dataDir: string;
  retentionMs: number;
  now: EpochMs;
  rate: number;
}

const NF = CELL_FIELDS.length;

export function encodeBatch(points: readonly Point[]): ColumnBatch {
  const n = points.length;
  const b: ColumnBatch = {
    cells: [],
    sources: [],
    sites: [],
    regions: [],
    ts: new Float64Array(n),
    values: new Float64Array(n * NF),
    others: [],
  };
  let row = 0;
  for (const p of points) {
    if (p.measurement !== CELL_MEASUREMENT) {
      b.others.push(p);
      continue;
    }
    const f = p.fields;
    const at = row * NF;
    let finite = true;
    for (let i = 0; i < NF; i++) {
      const v = f[CELL_FIELDS[i]!] as number | undefined;
      if (v === undefined) b.values[at + i] = NaN;
      else if (v - v === 0) b.values[at + i] = v;
      else finite = false;
    }
    // NaN stands for "absent" here: a batch with a real one crosses as it is (the pipeline refuses them).
    if (!finite) return { ...encodeBatch([]), others: [...points] };
    const t = p.tags;
    b.cells.push(t.cell!);
    b.sources.push(t.source);
    b.sites.push(t.site);
    b.regions.push(t.region);
    b.ts[row++] = p.ts;
  }
  return b;
}

/** The points again: the same tags and fields (absent ones absent), cell points first. */
export function decodeBatch(b: ColumnBatch): Point[] {
  const out: Point[] = new Array<Point>(b.cells.length);
  for (let r = 0; r < b.cells.length; r++) {
    const tags: Record<string, string> = { cell: b.cells[r]! };
    if (b.regions[r] !== undefined) tags.region = b.regions[r]!;
    if (b.sites[r] !== undefined) tags.site = b.sites[r]!;
    if (b.sources[r] !== undefined) tags.source = b.sources[r]!;
    const fields: Record<string, number> = {};
    const at = r * NF;
    for (let i = 0; i < NF; i++) {
      const v = b.values[at + i]!;
      if (v === v) fields[CELL_FIELDS[i]!] = v;
    }
    out[r] = { measurement: CELL_MEASUREMENT, tags, fields, ts: b.ts[r]! };
  }
  for (const p of b.others) out.push(p);
  return out;
}

type CallBody = EmbeddedCall extends infer C ? (C extends EmbeddedCall ? Omit<C, 'id' | 'now'> : never) : never;

export class ThreadedEmbeddedBackend implements SeriesBackend {
  readonly kind = 'embedded' as const;
  readonly reader: SeriesReader;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Set when the thread has died: every call after fails with it. */
  private dead?: Error;
  private closed = false;

  constructor(private readonly opts: EmbeddedOptions) {
    // Compiled, the thread is a .js beside this file; under the test runner, the TypeScript source.
    const js = new URL('./embedded-worker.js', import.meta.url);
    const file = existsSync(fileURLToPath(js)) ? js : new URL('./embedded-worker.ts', import.meta.url);
    const data: ThreadData = {
      dataDir: opts.dataDir,
      retentionMs: opts.retentionMs,
      now: opts.clock.now(),
      rate: opts.clock.rate,
    };
    this.worker = new Worker(file, { workerData: data });
    // Only calls in flight keep the process alive (see call), as a store in this thread would.
    this.worker.unref();
    this.worker.on('message', (m: EmbeddedReply) => {
      if (m.kind === 'log') {
        this.opts.log[m.level](m.obj, m.msg);
        return;
      }
      const c = this.calls.get(m.id);
      if (!c) return;
      this.calls.delete(m.id);
      if (this.calls.size === 0) this.worker.unref();
      if (m.error !== undefined) c.reject(new Error(m.error));
      else c.resolve(m.value);
    });
    const die = (err: Error) => {
      // 'error' is followed by 'exit': logged once, with the first reason.
      if (!this.dead && !this.closed) this.opts.log.error({ err }, 'the embedded store thread stopped');
      this.dead ??= err;
      for (const c of this.calls.values()) c.reject(this.dead);
      this.calls.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`the embedded store thread exited (code ${code})`)));
    const reader: SeriesReader = {
      latest: (cells) => this.call<Sample[]>({ kind: 'latest', cells }),
      latestLinks: () => this.call<LinkSample[]>({ kind: 'latestLinks' }),
      series: (cell, from, to, resolutionMs) =>
        this.call<SeriesBucket[]>({ kind: 'series', cell, from, to, resolutionMs }),
      hourly: (from, to, cells) => this.call<SeriesBucket[]>({ kind: 'hourly', from, to, cells }),
    };
    this.reader = reader;
  }

  private call<T>(body: CallBody, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.calls.size === 0) this.worker.ref();
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id, now: this.opts.clock.now() }, transfer);
    });
  }

  init(): Promise<WriteResult> {
    return this.call<WriteResult>({ kind: 'init' }).catch((err: Error) => ({
      ok: false as const,
      retryable: false as const,
      reason: `cannot open the embedded series store: ${err.message}`,
    }));
  }

  write(points: readonly Point[]): Promise<WriteResult> {
    // Refused here, as the store itself would (all-or-nothing, naming the point), before any copying.
    for (const p of points) {
      const problem = schemaProblem(p);
      if (problem) return Promise.resolve({ ok: false, retryable: false, reason: problem, status: 400 });
    }
    const batch = encodeBatch(points);
    return this.call<WriteResult>({ kind: 'write', batch }, [batch.ts.buffer, batch.values.buffer]).catch(
      (err: Error) => ({ ok: false as const, retryable: true as const, reason: `embedded store: ${err.message}` }),
    );
  }

  prune(at?: EpochMs): Promise<{ samples: number; hourly: number; links: number }> {
    return this.call({ kind: 'prune', at });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.dead) await this.call({ kind: 'close' });
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }
}
