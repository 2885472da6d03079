import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import type { Metrics } from '../model/index.js';
import type { PipelineConfig } from '../config/index.js';
import { DeadLetterFile } from './deadletter.js';
import type { Point, SeriesBackend, SeriesWriter } from './index.js';
import { pointProblem } from './lineprotocol.js';
import { StoreMetrics } from './metrics.js';
import type { StoreEvent } from './open.js';
import { DiskSpool, SpoolFullError, type SpoolRecord } from './spool.js';

/*
 * The one write pipeline, in front of every backend (docs/decisions.md, "Storage", explains the choices).
 *
 *  export(points) ──> validate ──bad──> dead-letter file
 *                        │good
 *                        v
 *                 open batch (≤ batchSize points or flushInterval)
 *                        │ sealed, numbered
 *                        v
 *     direct mode: up to maxInFlight requests ──204──> settled (export resolves)
 *                        │ retryable failure (down, 5xx, 429, timeout) or queue overflow
 *                        v
 *   spooling mode: appended to the fsynced disk spool in sequence order ──> settled
 *                  replayer: oldest record first, backoff with jitter honouring Retry-After,
 *                  acknowledged records cut from the spool; empty spool ──> direct mode again
 *
 * A batch the backend refuses for its content (4xx) is bisected until the bad points are isolated:
 * they go to the dead-letter file with the reason, every good point still lands.
 */

export interface PipelineDeps {
  dataDir: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  onEvent?: (e: StoreEvent) => void;
  /** Without a spool (embedded backend) retryable failures are retried from memory. */
  spool: boolean;
  /** Jitter source, [0, 1). */
  random?: () => number;
  /** How long shutdown waits for batches in flight before spooling them. Default 5 s. */
  shutdownGraceMs?: number;
  /** Queued (not yet sent) points beyond which a healthy but slow backend is bypassed to the spool. */
  maxQueuedPoints?: number;
}

interface Batch {
  seq: number;
  points: Point[];
  settled: boolean;
  wantsSpool: boolean;
  inFlight: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

type Delivery = { ok: true } | { ok: false; reason: string; retryAfterMs?: number; remaining: Point[] };

const BASE_RETRY_MS = 250;
/** Retry-After is honoured, up to this much (a misconfigured proxy must not park the data for a day). */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

function newBatch(seq: number): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection is also delivered to every export that waits on the batch; this keeps an unobserved
  // copy (forceFlush, shutdown) from becoming an unhandled rejection.
  done.catch(() => undefined);
  return { seq, points: [], settled: false, wantsSpool: false, inFlight: false, done, resolve, reject };
}

export class WritePipeline implements SeriesWriter {
  private readonly metrics: StoreMetrics;
  private readonly labels: { backend: string };
  private readonly deadLetters: DeadLetterFile;
  private readonly random: () => number;
  private spool?: DiskSpool;
  private mode: 'direct' | 'spooling' = 'direct';
  private down = false;
  private open?: Batch;
  private timer?: NodeJS.Timeout;
  private seq = 0;
  /** Batches not yet settled, in sequence order. */
  private unsettled: Batch[] = [];
  private queue: Batch[] = [];
  private inFlight = 0;
  private appending = false;
  private appendIdle: Promise<void> = Promise.resolve();
  private replaying?: Promise<void>;
  private replayed = 0;
  private closing = false;
  private shutdownDone?: Promise<void>;
  private readonly stop = new AbortController();
  private initDone = false;
  /** performance.now() before which the replayer must not send (backoff / Retry-After of a direct failure). */
  private holdUntil = 0;

  constructor(
    private readonly backend: SeriesBackend,
    private readonly cfg: PipelineConfig,
    private readonly deps: PipelineDeps,
  ) {
    this.metrics = new StoreMetrics(deps.metrics, backend.kind);
    this.labels = { backend: backend.kind };
    this.deadLetters = new DeadLetterFile(join(deps.dataDir, 'dead-letter'), deps.clock, cfg.deadLetterRetention);
    this.random = deps.random ?? Math.random;
  }

  /**
   * Opens the spool and initialises the backend. A backend that cannot be reached now is not an
   * error: the pipeline starts in spooling mode and the replayer keeps trying. What a previous run
   * left in the spool is replayed first.
   */
  async start(): Promise<void> {
    if (this.deps.spool) {
      this.spool = DiskSpool.open(join(this.deps.dataDir, 'spool'), {
        maxBytes: this.cfg.spoolMaxBytes,
        log: this.deps.log,
      });
      this.updateSpoolMetrics();
      if (!this.spool.isEmpty()) {
        this.deps.log.info(
          { points: this.spool.pendingPoints, bytes: this.spool.bytes },
          'spool holds points from a previous run; replaying them first',
        );
        this.mode = 'spooling';
      }
    }
    const init = await this.safeInit();
    if (init.ok) this.initDone = true;
    else if (!this.deps.spool) throw new Error(`store backend ${this.backend.kind} failed to start: ${init.reason}`);
    else {
      this.markDown(init.reason);
      this.mode = 'spooling';
    }
    if (this.mode === 'spooling') this.kickReplay();
  }

  private async safeInit(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      const r = await this.backend.init();
      return r.ok ? r : { ok: false, reason: r.reason };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  // ------------------------------------------------------------------------------------------------
  // export and batching

  export(points: readonly Point[], opts: { flush?: boolean } = {}): Promise<void> {
    if (this.closing) return Promise.reject(new Error('store writer is shut down; points refused'));
    if (points.length === 0) return Promise.resolve();
    const waits: Promise<void>[] = [];
    let touched: Batch | undefined;
    let bad: Map<string, Point[]> | undefined;
    for (const p of points) {
      const problem = pointProblem(p);
      if (problem) {
        bad ??= new Map();
        const list = bad.get(problem);
        if (list) list.push(p);
        else bad.set(problem, [p]);
        continue;
      }
      this.open ??= newBatch(++this.seq);
      if (this.open !== touched) {
        touched = this.open;
        waits.push(touched.done);
      }
      this.open.points.push(p);
      if (this.open.points.length >= this.cfg.batchSize) this.seal();
    }
    if (bad) for (const [reason, list] of bad) waits.push(this.deadLetter(list, reason));
    if (opts.flush && this.open) this.seal();
    if (this.open) this.timer ??= setTimeout(() => this.seal(), this.cfg.flushInterval);
    this.updateQueueMetric();
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.open;
    this.open = undefined;
    if (!batch || batch.points.length === 0) return;
    this.unsettled.push(batch);
    if (this.mode === 'spooling') this.requestSpool(batch);
    else this.queue.push(batch);
    this.pump();
  }

  private pump(): void {
    if (this.mode === 'direct' && this.spool) {
      const queued = this.queue.reduce((a, b) => a + b.points.length, 0);
      const limit = this.deps.maxQueuedPoints ?? this.cfg.batchSize * this.cfg.maxInFlight * 4;
      if (queued > limit) {
        this.deps.log.warn(
          { queued, limit },
          'store backend is slower than the collectors; spooling to disk until it catches up',
        );
        this.enterSpooling();
      }
    }
    while (this.mode === 'direct' && this.inFlight < this.cfg.maxInFlight && this.queue.length > 0) {
      void this.sendDirect(this.queue.shift()!);
    }
    this.updateQueueMetric();
  }

  private async sendDirect(batch: Batch): Promise<void> {
    this.inFlight++;
    batch.inFlight = true;
    let points = batch.points;
    let attempt = 0;
    try {
      for (;;) {
        const d = await this.deliver(points);
        if (d.ok) {
          if (this.down) this.markUp();
          this.settle(batch);
          return;
        }
        this.metrics.batchesRetried.inc(this.labels);
        this.markDown(d.reason);
        if (this.spool) {
          batch.points = d.remaining;
          this.holdUntil = Math.max(this.holdUntil, performance.now() + this.backoff(1, d.retryAfterMs));
          this.enterSpooling();
          this.requestSpool(batch);
          return;
        }
        // No spool (embedded): keep the batch in memory and retry until it lands or shutdown gives up.
        points = d.remaining;
        attempt++;
        if (!(await this.sleep(this.backoff(attempt, d.retryAfterMs)))) {
          this.fail(
            batch,
            new Error(`store shut down while retrying: ${d.reason}`),
            'shutdown while the backend was failing',
          );
          return;
        }
      }
    } finally {
      batch.inFlight = false;
      this.inFlight--;
      this.drainSpoolRequests();
      this.pump();
    }
  }

  private enterSpooling(): void {
    if (!this.spool || this.mode === 'spooling') return;
    this.mode = 'spooling';
    for (const b of this.queue) this.requestSpool(b);
    this.queue = [];
    this.kickReplay();
  }

  // ------------------------------------------------------------------------------------------------
  // delivery with bisection

  /** Sends points; bisects a refused batch so that only the bad points are dead-lettered. */
  private async deliver(points: Point[]): Promise<Delivery> {
    if (points.length === 0) return { ok: true };
    const started = performance.now();
    let r;
    try {
      r = await this.backend.write(points);
    } catch (err) {
      r = { ok: false as const, retryable: true as const, reason: `backend threw: ${(err as Error).message}` };
    }
    this.metrics.writeSeconds.observe(
      { ...this.labels, outcome: r.ok ? 'ok' : r.retryable ? 'retry' : 'refused' },
      (performance.now() - started) / 1000,
    );
    if (r.ok) {
      this.metrics.written.inc(this.labels, points.length);
      return { ok: true };
    }
    if (r.retryable) return { ok: false, reason: r.reason, retryAfterMs: r.retryAfterMs, remaining: points };
    if (points.length === 1) {
      await this.deadLetter(points, r.reason);
      return { ok: true };
    }
    const mid = Math.ceil(points.length / 2);
    const left = points.slice(0, mid);
    const right = points.slice(mid);
    const a = await this.deliver(left);
    if (!a.ok) return { ...a, remaining: [...a.remaining, ...right] };
    return this.deliver(right);
  }

  private async deadLetter(points: Point[], reason: string): Promise<void> {
    try {
      await this.deadLetters.append(points, reason);
    } catch (err) {
      this.drop(
        points.length,
        `refused by the store (${reason}) and the dead-letter file is not writable: ${(err as Error).message}`,
      );
      return;
    }
    this.metrics.deadLettered.inc(this.labels, points.length);
    this.deps.log.warn(
      { points: points.length, reason, file: this.deadLetters.dir },
      'points refused by the store went to the dead-letter file',
    );
    this.event({ kind: 'dead-lettered', points: points.length, reason, at: this.deps.clock.now() });
  }

  // ------------------------------------------------------------------------------------------------
  // spooling, in sequence order

  private requestSpool(batch: Batch): void {
    batch.wantsSpool = true;
    this.drainSpoolRequests();
  }

  /**
   * Appends the spool requests that are next in sequence order: a batch is appended only when every
   * earlier batch is settled or goes in the same group commit, so the spool replays in export order.
   */
  private drainSpoolRequests(): void {
    if (this.appending || !this.spool) return;
    const group: Batch[] = [];
    for (const b of this.unsettled) {
      if (b.settled) continue;
      if (!b.wantsSpool || b.inFlight) break;
      group.push(b);
    }
    if (group.length === 0) return;
    this.appending = true;
    this.appendIdle = this.appendGroup(group).finally(() => {
      this.appending = false;
      this.drainSpoolRequests();
    });
  }

  private async appendGroup(group: Batch[]): Promise<void> {
    const spool = this.spool!;
    try {
      await spool.append(group.map((b) => b.points));
      for (const b of group) this.settle(b);
    } catch (err) {
      // One by one: what fits is kept, only what does not is refused.
      for (const b of group) {
        try {
          if (err instanceof SpoolFullError) await spool.append([b.points]);
          else throw err;
          this.settle(b);
        } catch (e) {
          const reason =
            e instanceof SpoolFullError ? 'disk spool full' : `disk spool not writable: ${(e as Error).message}`;
          this.fail(b, e as Error, reason);
        }
      }
    }
    this.updateSpoolMetrics();
    this.kickReplay();
  }

  private settle(batch: Batch): void {
    if (batch.settled) return;
    batch.settled = true;
    batch.resolve();
    this.trimSettled();
  }

  /** Rejects a batch's exports: its points could not be made durable. Counted, logged, raised. */
  private fail(batch: Batch, err: Error, reason: string): void {
    if (batch.settled) return;
    batch.settled = true;
    this.drop(batch.points.length, `${reason}: ${err.message}`);
    batch.reject(err);
    this.trimSettled();
  }

  /** The one place points are lost: counted, logged and raised, never silent. */
  private drop(points: number, reason: string): void {
    this.metrics.dropped.inc(this.labels, points);
    this.deps.log.error({ points, reason }, 'points dropped: they could not be stored or spooled');
    this.event({ kind: 'dropped', points, reason, at: this.deps.clock.now() });
  }

  private trimSettled(): void {
    let i = 0;
    while (i < this.unsettled.length && this.unsettled[i]!.settled) i++;
    if (i > 0) this.unsettled.splice(0, i);
    this.updateQueueMetric();
    this.drainSpoolRequests();
  }

  // ------------------------------------------------------------------------------------------------
  // replay

  private kickReplay(): void {
    if (!this.spool || this.replaying || this.closing) return;
    this.replaying = this.replay()
      .catch((err: unknown) => this.deps.log.error({ err }, 'spool replay failed; will retry'))
      .finally(() => {
        this.replaying = undefined;
        if (this.mode === 'spooling' && !this.closing) setTimeout(() => this.kickReplay(), BASE_RETRY_MS).unref();
      });
  }

  /**
   * Sends the spool's records oldest first, keeping up to maxInFlight requests going all the time,
   * and acknowledges them strictly in order. After a failure everything still in flight is waited
   * for and forgotten (a later record that did land is simply sent again: idempotent), then backoff.
   */
  private async replay(): Promise<void> {
    const spool = this.spool!;
    let attempt = 0;
    let window: { record: SpoolRecord; delivery: Promise<Delivery> }[] = [];
    let last: SpoolRecord | undefined;
    // Records of an abandoned window that were in fact delivered (their refused points already
    // dead-lettered): not sent again, or those points would be dead-lettered, counted and raised twice.
    const delivered = new Set<string>();
    const key = (r: SpoolRecord) => `${r.segment}:${r.offset}`;
    while (!this.closing) {
      if (window.length === 0 && spool.isEmpty()) {
        await this.appendIdle;
        if (!spool.isEmpty()) continue;
        if (this.unsettled.some((b) => b.wantsSpool && !b.settled)) {
          // Spool requests wait for an earlier batch still in flight; its outcome decides.
          await Promise.race(this.unsettled.filter((b) => !b.settled).map((b) => b.done.catch(() => undefined)));
          continue;
        }
        if (this.mode === 'spooling') {
          this.mode = 'direct';
          if (this.replayed > 0) this.deps.log.info({ points: this.replayed }, 'spool drained; writing directly again');
          this.replayed = 0;
          this.pump();
        }
        return;
      }
      if (!this.initDone) {
        const init = await this.safeInit();
        if (!init.ok) {
          this.markDown(init.reason);
          attempt++;
          if (!(await this.sleep(this.backoff(attempt)))) return;
          continue;
        }
        this.initDone = true;
      }
      const hold = this.holdUntil - performance.now();
      if (hold > 0 && !(await this.sleep(hold))) return;
      while (window.length < this.cfg.maxInFlight) {
        const [record] = await spool.peek(1, last);
        if (!record) break;
        last = record;
        const done: Delivery = { ok: true };
        window.push({
          record,
          delivery: delivered.has(key(record)) ? Promise.resolve(done) : this.deliver(record.points),
        });
      }
      const head = window[0];
      if (!head) {
        const appending = this.appendIdle;
        await appending; // records appended meanwhile become visible once the append is done
        if (this.appendIdle === appending && !spool.isEmpty() && (await spool.peek(1, last)).length === 0) {
          // Pending by count, invisible on disk, no append under way: never spin on it (a loop of
          // resolved awaits starves the event loop, SIGTERM included). Count it as the loss it is.
          this.drop(spool.forgetUnreadable(), 'spool counted records it could not read back');
        }
        continue;
      }
      const outcome = await head.delivery;
      if (this.closing) return; // not acknowledged in the spool: sent again at the next start (idempotent)
      if (outcome.ok) {
        window.shift();
        delivered.delete(key(head.record));
        if (this.down) this.markUp();
        await spool.ack(head.record);
        this.replayed += head.record.points.length;
        this.updateSpoolMetrics();
        attempt = 0;
        continue;
      }
      this.metrics.batchesRetried.inc(this.labels, window.length);
      const outcomes = await Promise.all(window.map((w) => w.delivery));
      window.forEach((w, i) => {
        if (outcomes[i]!.ok) delivered.add(key(w.record));
      });
      window = [];
      last = undefined;
      this.markDown(outcome.reason);
      attempt++;
      if (!(await this.sleep(this.backoff(attempt, outcome.retryAfterMs)))) return;
    }
  }

  /** Exponential backoff with jitter (half to full delay); a server's Retry-After is a floor. */
  backoff(attempt: number, retryAfterMs?: number): number {
    const ceiling = Math.min(this.cfg.maxRetryDelay, BASE_RETRY_MS * 2 ** Math.min(30, attempt - 1));
    const jittered = ceiling * (0.5 + this.random() * 0.5);
    return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }

  /** Real-time sleep, cut short by shutdown (then false). */
  private sleep(ms: number): Promise<boolean> {
    if (this.stop.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.stop.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      this.stop.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private markDown(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.metrics.backendUp.set(this.labels, 0);
    this.deps.log.warn({ backend: this.backend.kind, reason }, 'store backend is failing; spooling');
    this.event({ kind: 'backend-down', reason, at: this.deps.clock.now() });
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.metrics.backendUp.set(this.labels, 1);
    const spooledPoints = this.spool?.pendingPoints ?? 0;
    this.deps.log.info(
      { backend: this.backend.kind, spooledPoints },
      'store backend accepts writes again; replaying the spool',
    );
    this.event({ kind: 'backend-up', at: this.deps.clock.now(), spooledPoints });
  }

  private event(e: StoreEvent): void {
    try {
      this.deps.onEvent?.(e);
    } catch (err) {
      this.deps.log.error({ err }, 'store event handler threw');
    }
  }

  private updateQueueMetric(): void {
    let n = this.open?.points.length ?? 0;
    for (const b of this.unsettled) if (!b.settled) n += b.points.length;
    this.metrics.queuePoints.set(this.labels, n);
  }

  private updateSpoolMetrics(): void {
    if (!this.spool) return;
    this.metrics.spoolBytes.set(this.labels, this.spool.bytes);
    this.metrics.spoolPoints.set(this.labels, this.spool.pendingPoints);
  }

  /** Whether the pipeline currently writes through the spool (for tests and /readyz detail). */
  get spooling(): boolean {
    return this.mode === 'spooling';
  }

  // ------------------------------------------------------------------------------------------------
  // flush and shutdown

  async forceFlush(): Promise<void> {
    this.seal();
    await Promise.allSettled(this.unsettled.map((b) => b.done));
  }

  shutdown(): Promise<void> {
    this.shutdownDone ??= this.doShutdown();
    return this.shutdownDone;
  }

  private async doShutdown(): Promise<void> {
    this.seal();
    this.closing = true;
    const grace = this.deps.shutdownGraceMs ?? 5_000;
    const pending = () => Promise.allSettled(this.unsettled.map((b) => b.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), grace)));
    const outcome = await Promise.race([pending().then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    this.stop.abort();
    if (outcome === 'timeout') {
      if (this.spool) {
        // Still in flight after the grace time: spool them too. If the request lands after all, the
        // replay at the next start writes the same points again, which is idempotent.
        for (const b of this.unsettled) {
          if (b.settled) continue;
          b.inFlight = false;
          b.wantsSpool = true;
        }
        this.queue = [];
        this.drainSpoolRequests();
        await this.appendIdle;
        await pending();
      } else {
        for (const b of [...this.unsettled])
          this.fail(
            b,
            new Error('store shut down before the backend accepted these points'),
            'shutdown while the backend was failing',
          );
      }
    }
    await Promise.race([this.replaying, new Promise((resolve) => setTimeout(resolve, Math.min(grace, 2_000)))]);
    await this.spool?.close();
    this.updateQueueMetric();
  }
}
