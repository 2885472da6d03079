/*
 * Probe mode (`cellwatch probe`): a small device at a site runs only the probes — no store, no API, no
 * simulator — and pushes its results to a central cellwatch (docs/probes.md).
 *
 *  probe tests ──Sample[]──> outbox: one record per event-loop turn, appended and fsynced to the disk
 *                             │       spool (dataDir/probe-spool) before it counts as measured
 *                             v
 *                  forwarder: oldest records first, up to central.batchSize samples per
 *                             POST <central.url>/api/v1/samples  (Authorization: Bearer <ingest token>)
 *     202 ─────────────> records acknowledged in order; samples it rejected → dead letters, with the reason
 *     429, 503 ────────> wait Retry-After (at least the backoff), send the same batch again
 *     5xx, down, timeout > exponential backoff with jitter (≤ central.maxRetryDelay), same batch again
 *     401, 403, 404 ───> the token or the URL is wrong: everything kept, retried at the slowest pace, logged
 *     400, 413, 422 ───> the batch's content: halves sent on their own until the refused samples are
 *                        single; those go to dead letters (dataDir/probe-dead-letter), never retried forever
 *
 * Every sample is on disk before it is sent, so a crash, a power cut or a kill loses only a test still
 * running; a restart replays the spool from its cursor in order. The cursor moves after the central's
 * 202, so a batch in flight at a crash is sent again: the central's store keeps one point per cell,
 * source and timestamp, so the replay overwrites itself.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { realTimers, type Clock, type Scheduler, type Timers } from '../clock/index.js';
import type { Accumulator, TargetStatus } from '../collectors/index.js';
import { linkedSignal } from '../collectors/signals.js';
import { ProbeCollector } from '../collectors/probe/index.js';
import { CellInventory, fingerprint, loadInventoryFile, type CentralConfig, type Config } from '../config/index.js';
import type { Inventory, Metrics, Sample } from '../model/index.js';
import { DeadLetterFile } from '../store/deadletter.js';
import { pointSample, samplePoint } from '../store/schema.js';
import { DiskSpool, type SpoolRecord } from '../store/spool.js';
import { APPLIED, Lifecycle, RESTART, ReloadCoordinator, type ReloadResult as ConfigReload } from './house/index.js';
import { CONFIG_SECTIONS } from './house/reload.js';

// ---------------------------------------------------------------------------------------------------
// What the central daemon's answer means

export type PushVerdict =
  /** Taken: `rejected` are the samples it refused for their content (by index into the batch). */
  | { kind: 'accepted'; rejected: { index: number; reason: string }[] }
  /** Busy, down or overloaded: send the same batch again later. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** The batch's content is refused: split it to find the samples concerned. */
  | { kind: 'refused'; reason: string; status: number }
  /** The device is set up wrong (token, URL): keep everything, retry slowly, tell the operator. */
  | { kind: 'misconfigured'; reason: string; status: number };

/**
 * The central's HTTP answer as a verdict (pure: table-tested). `retryAfter` is the header's text,
 * seconds or an HTTP date; `now` reads the date against the clock.
 */
export function pushVerdict(
  status: number,
  retryAfter: string | null,
  body: unknown,
  now: number,
  excerpt = '',
): PushVerdict {
  const said = excerpt ? `: ${excerpt}` : '';
  if (status >= 200 && status <= 299) return { kind: 'accepted', rejected: rejectedOf(body) };
  if (status === 429 || status === 503) {
    const wait = retryAfterMs(retryAfter, now);
    const why = status === 429 ? 'the central daemon is rate-limiting us (429)' : 'the central daemon is busy (503)';
    return { kind: 'retry', reason: `${why}${said}`, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  if (status === 401 || status === 403) {
    return {
      kind: 'misconfigured',
      status,
      reason: `the central daemon refuses our token (${status}): central.token(File) must be an ingest-role token${said}`,
    };
  }
  if (status === 404 || status === 405) {
    return { kind: 'misconfigured', status, reason: `no sample intake at central.url (${status})${said}` };
  }
  if (status >= 400 && status <= 499 && status !== 408 && status !== 425) {
    return { kind: 'refused', status, reason: `HTTP ${status}${said}` };
  }
  return { kind: 'retry', reason: `HTTP ${status}${said}` };
}

function rejectedOf(body: unknown): { index: number; reason: string }[] {
  const list = body && typeof body === 'object' ? (body as { rejected?: unknown }).rejected : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((r: unknown) => {
    if (!r || typeof r !== 'object') return [];
    const { index, field, error, reason } = r as Record<string, unknown>;
    if (typeof index !== 'number') return [];
    const text = typeof error === 'string' ? error : typeof reason === 'string' ? reason : 'rejected';
    return [{ index, reason: typeof field === 'string' && field ? `${field}: ${text}` : text }];
  });
}

/** Retry-After in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// ---------------------------------------------------------------------------------------------------
// The outbox: samples on disk before they are sent

interface OutboxRecord {
  record: SpoolRecord;
  samples: Sample[];
}

/**
 * The probe results waiting for the central daemon, in the store's fsynced DiskSpool (one record per
 * event-loop turn: the samples of one tick together). `added` resolves when they are durable.
 */
export class SampleOutbox {
  private pending: Sample[] = [];
  private scheduled = false;
  private appends = new Set<Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private appended = 0;

  private constructor(
    private readonly spool: DiskSpool,
    private readonly log: Logger,
  ) {}

  static open(dir: string, maxBytes: number, log: Logger): SampleOutbox {
    return new SampleOutbox(DiskSpool.open(dir, { maxBytes, log }), log);
  }

  /** Samples on disk not yet acknowledged by the central daemon. */
  get waiting(): number {
    return this.spool.pendingPoints;
  }

  get bytes(): number {
    return this.spool.bytes;
  }

  /** Durable appends so far: a reader that saw nothing compares it to know whether to look again. */
  get generation(): number {
    return this.appended;
  }

  add(sample: Sample): void {
    this.pending.push(sample);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Called after every durable append (the forwarder's wake-up). */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when everything added so far is on disk (or its loss logged). */
  async settled(): Promise<void> {
    this.flush();
    while (this.appends.size > 0) await Promise.all([...this.appends]);
  }

  /** Up to `maxSamples` samples (at least one record) from the oldest unacknowledged record on. */
  async peek(maxSamples: number): Promise<OutboxRecord[]> {
    const out: OutboxRecord[] = [];
    let count = 0;
    let last: SpoolRecord | undefined;
    while (count < maxSamples) {
      const [record] = await this.spool.peek(1, last);
      if (!record) break;
      if (out.length > 0 && count + record.points.length > maxSamples) break;
      last = record;
      out.push({ record, samples: record.points.map(pointSample) });
      count += record.points.length;
    }
    return out;
  }

  /** Acknowledges records in order (the oldest first). */
  async ack(records: readonly OutboxRecord[]): Promise<void> {
    for (const r of records) await this.spool.ack(r.record);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.spool.close();
  }

  private flush(): void {
    this.scheduled = false;
    const samples = this.pending;
    this.pending = [];
    if (samples.length === 0) return;
    const done = this.spool.append([samples.map((s) => samplePoint(s))]).then(
      () => {
        this.appended++;
        // What the device measured and holds: one line per tick, for the operator (and the tests).
        this.log.debug(
          { buffered: samples.map((s) => [s.cell, s.ts]), waiting: this.spool.pendingPoints },
          'probe samples buffered',
        );
        for (const l of this.listeners) l();
      },
      (err: unknown) =>
        this.log.error(
          { err, samples: samples.length, spoolBytes: this.spool.bytes },
          `probe samples lost: the disk buffer refused them (${(err as Error).message})`,
        ),
    );
    this.appends.add(done);
    void done.finally(() => this.appends.delete(done));
  }
}

// ---------------------------------------------------------------------------------------------------
// The forwarder: the outbox to the central daemon, in order

const BASE_RETRY_MS = 1_000;
/** A Retry-After is honoured up to this (a misconfigured proxy must not park the results for a day). */
const MAX_RETRY_AFTER_MS = 10 * 60_000;
/** What a response body may add to a log line. */
const EXCERPT_CHARS = 200;

export interface ForwarderDeps {
  clock: Clock;
  timers: Timers;
  log: Logger;
  dataDir: string;
  /** Jitter source, [0, 1). */
  random?: () => number;
  fetch?: typeof fetch;
}

type Delivery = { ok: true } | { ok: false; delivered: number; reason: string; retryAfterMs?: number; slow: boolean };

/**
 * Sends the outbox to the central daemon, one batch at a time (in order: a batch is acknowledged before
 * the next is read), and waits between failed attempts with backoff. Never throws; every failure is a
 * state in the log.
 */
export class Forwarder {
  private central: CentralConfig;
  private readonly deadLetters: DeadLetterFile;
  private readonly random: () => number;
  private readonly send: typeof fetch;
  private readonly stopping = new AbortController();
  /** Ends the wait for new samples (an append, a changed central section, stop). */
  private wakeIdle?: () => void;
  /** Ends a backoff early (a changed central section, stop); new samples do not: they wait their turn. */
  private wakePause?: () => void;
  private running?: Promise<void>;
  private trouble?: string;
  private delivered = 0;

  constructor(
    private readonly outbox: SampleOutbox,
    central: CentralConfig,
    private readonly deps: ForwarderDeps,
  ) {
    this.central = central;
    this.deadLetters = new DeadLetterFile(
      join(deps.dataDir, 'probe-dead-letter'),
      deps.clock,
      central.deadLetterRetention,
    );
    this.random = deps.random ?? Math.random;
    this.send = deps.fetch ?? fetch;
    outbox.onAppend(() => this.wakeIdle?.());
  }

  /** `ok`, or the reason the last attempt failed. */
  get state(): string {
    return this.trouble ?? 'ok';
  }

  /** Samples the central daemon acknowledged since start. */
  get sent(): number {
    return this.delivered;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** A changed `central` section (SIGHUP): the next attempt uses it, at once. */
  setCentral(central: CentralConfig): void {
    this.central = central;
    this.wakeIdle?.();
    this.wakePause?.();
  }

  /**
   * Stops sending. With `drainMs`, first keeps sending for up to that long while the outbox has
   * something and the central daemon takes it (a device shut down cleanly leaves nothing behind when
   * it can); a request still in flight then is cut off and sent again at the next start.
   */
  async stop(drainMs = 0): Promise<void> {
    const until = performance.now() + drainMs;
    while (this.outbox.waiting > 0 && this.trouble === undefined && performance.now() < until) {
      await this.deps.timers.sleep(Math.min(20, until - performance.now()));
    }
    this.stopping.abort(new Error('probe mode stopping'));
    this.wakeIdle?.();
    this.wakePause?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let batch: OutboxRecord[];
      const generation = this.outbox.generation;
      try {
        batch = await this.outbox.peek(this.central.batchSize);
      } catch (err) {
        this.deps.log.error({ err }, 'probe mode: cannot read the disk buffer; retrying');
        if (!(await this.pause(this.central.maxRetryDelay))) return;
        continue;
      }
      if (batch.length === 0) {
        await this.idle(generation);
        continue;
      }
      const samples = batch.flatMap((r) => r.samples);
      const d = await this.deliver(samples, 0);
      if (signal.aborted && !d.ok) return; // cut off by stop: not acknowledged, sent again at the next start
      // Acknowledge every record the delivered prefix covers; a record delivered in part is sent again
      // in full (its delivered samples overwrite themselves at the central store).
      const done = d.ok ? batch.length : coveredRecords(batch, d.delivered);
      await this.outbox.ack(batch.slice(0, done));
      this.delivered += d.ok ? samples.length : batch.slice(0, done).reduce((n, r) => n + r.samples.length, 0);
      if (d.ok) {
        if (this.trouble !== undefined) {
          this.deps.log.info(
            { waiting: this.outbox.waiting, was: this.trouble },
            'central daemon takes our results again; sending what was buffered',
          );
          this.trouble = undefined;
        }
        attempt = 0;
        continue;
      }
      attempt++;
      const wait = d.slow ? this.central.maxRetryDelay : this.backoff(attempt, d.retryAfterMs);
      if (this.trouble !== d.reason) {
        const fields = { reason: d.reason, waiting: this.outbox.waiting, retryInMs: Math.round(wait) };
        if (d.slow) this.deps.log.error(fields, `probe results kept on the device: ${d.reason}`);
        else this.deps.log.warn(fields, `central daemon not taking results (${d.reason}); buffering on disk`);
        this.trouble = d.reason;
      }
      if (!(await this.pause(wait))) return;
    }
  }

  /** Sends `samples`; a batch refused for its content is halved until the refused samples are single. */
  private async deliver(samples: Sample[], offset: number): Promise<Delivery> {
    const v = await this.post(samples);
    switch (v.kind) {
      case 'accepted':
        if (v.rejected.length > 0) {
          await this.deadLetter(
            v.rejected.flatMap((r) => (samples[r.index] ? [{ sample: samples[r.index]!, reason: r.reason }] : [])),
          );
        }
        return { ok: true };
      case 'retry':
        return { ok: false, delivered: offset, reason: v.reason, slow: false, ...pick(v.retryAfterMs) };
      case 'misconfigured':
        return { ok: false, delivered: offset, reason: v.reason, slow: true };
      case 'refused': {
        if (samples.length === 1) {
          await this.deadLetter([{ sample: samples[0]!, reason: v.reason }]);
          return { ok: true };
        }
        const mid = Math.ceil(samples.length / 2);
        const left = await this.deliver(samples.slice(0, mid), offset);
        if (!left.ok) return left;
        return this.deliver(samples.slice(mid), offset + mid);
      }
    }
  }

  private async post(samples: Sample[]): Promise<PushVerdict> {
    const c = this.central;
    const url = new URL('api/v1/samples', c.url.endsWith('/') ? c.url : `${c.url}/`);
    const timeout = new AbortController();
    const cancel = this.deps.timers.after(c.timeout, () =>
      timeout.abort(new Error(`no answer within ${c.timeout} ms`)),
    );
    const signal = linkedSignal([this.stopping.signal, timeout.signal]);
    try {
      const res = await this.send(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.token.reveal()}`, 'content-type': 'application/json' },
        body: JSON.stringify(samples),
        signal: signal.signal,
      });
      const text = await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const excerpt = res.ok ? '' : text.slice(0, EXCERPT_CHARS).trim();
      return pushVerdict(res.status, res.headers.get('retry-after'), body, this.deps.clock.now(), excerpt);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.signal.aborted
        ? (timeout.signal.reason as Error).message
        : (cause?.code ?? cause?.message ?? (err as Error).message);
      return { kind: 'retry', reason: `central daemon unreachable (${why})` };
    } finally {
      cancel();
      signal.dispose();
    }
  }

  private async deadLetter(refused: { sample: Sample; reason: string }[]): Promise<void> {
    const byReason = new Map<string, Sample[]>();
    for (const r of refused) byReason.set(r.reason, [...(byReason.get(r.reason) ?? []), r.sample]);
    for (const [reason, samples] of byReason) {
      this.deps.log.warn(
        { samples: samples.length, reason, file: this.deadLetters.dir },
        `the central daemon refused ${samples.length} probe sample(s): ${reason}; kept as dead letters`,
      );
      try {
        await this.deadLetters.append(
          samples.map((s) => samplePoint(s)),
          reason,
        );
      } catch (err) {
        this.deps.log.error(
          { err, samples: samples.length },
          'refused probe samples lost: dead-letter file not writable',
        );
      }
    }
  }

  /** Exponential backoff with jitter (half to full delay); a Retry-After is a floor. */
  private backoff(attempt: number, retryAfter?: number): number {
    const ceiling = Math.min(this.central.maxRetryDelay, BASE_RETRY_MS * 2 ** Math.min(20, attempt - 1));
    const jittered = ceiling * (0.5 + this.random() * 0.5);
    return retryAfter === undefined ? jittered : Math.max(jittered, Math.min(retryAfter, MAX_RETRY_AFTER_MS));
  }

  /** Real-time pause, cut short by stop (then false) or a changed central section. */
  private async pause(ms: number): Promise<boolean> {
    const woken = new AbortController();
    this.wakePause = () => woken.abort();
    const signal = linkedSignal([this.stopping.signal, woken.signal]);
    try {
      await this.deps.timers.sleep(ms, signal.signal);
    } catch {
      // woken or stopping
    } finally {
      signal.dispose();
      this.wakePause = undefined;
    }
    return !this.stopping.signal.aborted;
  }

  /** Waits for an append after `generation` (or stop). */
  private idle(generation: number): Promise<void> {
    if (this.stopping.signal.aborted || this.outbox.generation !== generation) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeIdle = () => {
        this.wakeIdle = undefined;
        resolve();
      };
    });
  }
}

function pick(retryAfterMs: number | undefined): { retryAfterMs?: number } {
  return retryAfterMs === undefined ? {} : { retryAfterMs };
}

/** How many leading records lie wholly within the first `samples` samples. */
function coveredRecords(batch: readonly OutboxRecord[], samples: number): number {
  let n = 0;
  let count = 0;
  for (const r of batch) {
    count += r.samples.length;
    if (count > samples) break;
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// The runner

export interface ProbeModeDeps {
  scheduler: Scheduler;
  log: Logger;
  metrics: Metrics;
  timers?: Timers;
  random?: () => number;
  fetch?: typeof fetch;
}

/** Sections probe mode applies on reload; `log` and `dataDir` need a restart; the daemon's own are ignored. */
const PROBE_MODE_SECTIONS = new Set<keyof Config>(['probes', 'central', 'inventory']);
const RESTART_SECTIONS = new Set<keyof Config>(['log', 'dataDir']);

/** The whole stop gets this long (the CLI exits hard at 9 s); sending what is buffered gets part of it. */
const STOP_DEADLINE_MS = 8_000;
const DRAIN_MS = 3_000;

/**
 * `cellwatch probe`: the probe collector, reporting into the outbox, and the forwarder, built like the
 * daemon's parts (closes beside constructions, last-first at stop; a reload coordinator for SIGHUP).
 */
export class ProbeMode {
  private readonly lifecycle: Lifecycle;
  private readonly reloads: ReloadCoordinator;
  private readonly timers: Timers;
  private collector?: ProbeCollector;
  private forwarder?: Forwarder;
  private outbox?: SampleOutbox;
  private inventoryVersion = '';
  private stopping?: Promise<void>;

  constructor(
    cfg: Config,
    private readonly deps: ProbeModeDeps,
  ) {
    if (!cfg.central)
      throw new Error('central: required by `cellwatch probe` (the central daemon’s url and ingest token)');
    this.timers = deps.timers ?? realTimers;
    this.lifecycle = new Lifecycle(deps.log, this.timers);
    this.reloads = new ReloadCoordinator(cfg, deps.log);
  }

  async start(): Promise<void> {
    const cfg = this.reloads.config;
    const central = cfg.central!;
    const log = this.deps.log;

    const outbox = SampleOutbox.open(
      join(cfg.dataDir, 'probe-spool'),
      central.spoolMaxBytes,
      log.child({ component: 'outbox' }),
    );
    this.outbox = outbox;
    this.lifecycle.defer('outbox', () => outbox.close());
    if (outbox.waiting > 0)
      log.info({ waiting: outbox.waiting }, 'probe results buffered by a previous run; sending them first');

    const forwarder = new Forwarder(outbox, central, {
      clock: this.deps.scheduler.clock,
      timers: this.timers,
      log: log.child({ component: 'forwarder' }),
      dataDir: cfg.dataDir,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
    });
    this.forwarder = forwarder;
    forwarder.start();
    this.lifecycle.defer('forwarder', () => forwarder.stop(DRAIN_MS));
    this.reloads.subscribe('central', (next) => {
      if (!next) return RESTART;
      forwarder.setCentral(next);
      return APPLIED;
    });

    let inventory = this.loadInventory(cfg.inventory) ?? CellInventory.empty;
    const collector = new ProbeCollector(cfg.probes, {
      scheduler: this.deps.scheduler,
      timers: this.timers,
      log: log.child({ component: 'probe' }),
      metrics: this.deps.metrics,
      inventory,
    });
    this.collector = collector;
    this.warnSiteless(cfg, inventory);
    await collector.start(this.accumulator(outbox));
    // Tests still running at stop are cut off; what they had not measured was never a result.
    this.lifecycle.defer('probes', async () => {
      await collector.stop();
      await outbox.settled();
    });
    this.reloads.subscribe('probes', (next, _prev, full) => {
      const report = collector.reload(next);
      this.warnSiteless(full, inventory);
      return { applied: true, report: { probe: report } };
    });
    this.reloads.subscribe(
      'inventory',
      (file) => {
        const before = this.inventoryVersion;
        const next = this.loadInventory(file);
        const changed = next !== undefined && this.inventoryVersion !== before;
        if (next && changed) {
          inventory = next;
          collector.setInventory(next);
        }
        return { applied: true, changed, report: { inventory: inventory.size } };
      },
      { everyReload: true },
    );
    // What only the daemon reads changes nothing here.
    for (const section of CONFIG_SECTIONS) {
      if (!PROBE_MODE_SECTIONS.has(section) && !RESTART_SECTIONS.has(section))
        this.reloads.subscribe(section, () => APPLIED);
    }
    log.info(
      { probes: cfg.probes.length, central: central.url, waiting: outbox.waiting, cells: inventory.size },
      'cellwatch probe mode running',
    );
  }

  /** Re-reads the config: probes, central and inventory apply at once; `log` and `dataDir` need a restart. */
  reload(next: Config): Promise<ConfigReload> {
    return this.reloads.reload(next);
  }

  stop(): Promise<void> {
    this.stopping ??= this.lifecycle.closeAll(STOP_DEADLINE_MS).then(() => undefined);
    return this.stopping;
  }

  status(): { targets: TargetStatus[]; waiting: number; central: string; sent: number } {
    return {
      targets: this.collector?.status() ?? [],
      waiting: this.outbox?.waiting ?? 0,
      central: this.forwarder?.state ?? 'not started',
      sent: this.forwarder?.sent ?? 0,
    };
  }

  private accumulator(outbox: SampleOutbox): Accumulator {
    return {
      addSample: (s) => outbox.add(s),
      addLink: () => undefined,
      // The runner has logged the gap; the central daemon sees the missing results as unknown.
      addGap: () => undefined,
      addError: (target, err) => this.deps.log.debug({ target, err: err.message }, 'probe error'),
    };
  }

  private loadInventory(file: string | undefined): Inventory | undefined {
    if (!file) return CellInventory.empty;
    const { cells, problems } = loadInventoryFile(file);
    for (const p of problems) this.deps.log.warn({ inventory: file }, `inventory row rejected: ${p}`);
    if (cells.length === 0 && problems.length > 0) return undefined;
    const version = fingerprint(cells);
    if (version !== this.inventoryVersion)
      this.deps.log.info({ inventory: file, cells: cells.length }, 'inventory loaded');
    this.inventoryVersion = version;
    return CellInventory.of(cells);
  }

  private warnSiteless(cfg: Config, inventory: Inventory): void {
    for (const p of cfg.probes) {
      if (p.site !== undefined && inventory.cellsOfSite(p.site).length === 0) {
        this.deps.log.warn(
          { probe: p.name, site: p.site, inventory: cfg.inventory ?? null },
          `probe ${p.name} stands for site ${p.site}, but the inventory has no cell of it: its results are gaps until it has`,
        );
      }
    }
  }
}
