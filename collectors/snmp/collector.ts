import { setMaxListeners } from 'node:events';
import type { Job } from '../../clock/index.js';
import { fingerprint, type SnmpConfig, type SnmpTargetConfig } from '../../config/index.js';
import type { Cell, EpochMs } from '../../model/index.js';
import type { Accumulator, ServiceCollector } from '../index.js';
import { uptimeVerdict } from './counters.js';
import type { ReloadResult, SnmpCollectorDeps, TargetState, TargetStatus } from './index.js';
import { SnmpMetrics } from './metrics.js';
import { SYS_UPTIME, SYS_UPTIME_INSTANCE, resolveProfile, type Profile } from './profiles.js';
import { mapCellRows, mapLinkRows, numeric, type CounterState } from './rows.js';
import { SnmpError, SnmpSession, type RequestStats, type SnmpCredentials } from './session.js';
import { PollSlots, linkedSignal } from './slots.js';
import { getRows, walkColumns, type TableData, type WalkTuning } from './walk.js';

/** A poll must end by this share of its interval: the next tick then always finds it finished. */
export const DEADLINE_SHARE = 0.8;
/** A poll slower than this share of its interval is named in the logs as a slow target. */
const SLOW_SHARE = 0.5;
/** Varbinds asked for in one PDU (columns × repetitions); keeps answers well under 64 KiB. */
const MAX_VARBINDS_PER_PDU = 1000;
/** Column groups (or GET PDUs) in flight per target after the first PDU. */
const PARALLEL_WALKS = 4;
/** OIDs in one GET when rows are fetched by index. */
const OIDS_PER_GET = 48;
/** Tables larger than this are refused (an agent bug must not exhaust memory). */
const MAX_ROWS = 200_000;
/**
 * The quick first try of a target that answered last time: 4 × its slowest round trip then, at
 * least 250 ms. A device that just died gives its live slot back after this, not after the full timeout.
 */
const QUICK_TRY_FACTOR = 4;
const QUICK_TRY_FLOOR_MS = 250;

/**
 * When a sysUpTime value was read: the agent read it somewhere between our request's send and its
 * answer's receipt, by the injected clock and by the real one. Both ends are kept because under load
 * (and 60× amplified on the demo's clock) that window is seconds wide, and a reboot verdict must only
 * count the time that *surely* passed.
 */
interface ReadWindow {
  sentClock: EpochMs;
  sentReal: number;
  receivedClock: EpochMs;
  receivedReal: number;
}
interface UptimeReading extends ReadWindow {
  ticks: number;
}

interface ResolvedTarget {
  name: string;
  host: string;
  port: number;
  cfg: SnmpTargetConfig;
  profileName: string;
  profile?: Profile;
  profileError?: string;
  site?: string;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  maxRepetitions: number;
  indexes?: string[];
  /** Hash of what makes it the same device and table: a change there starts counters afresh. */
  identity: string;
  /** Hash of everything else (schedule, timeouts). */
  settings: string;
}

interface TargetRuntime {
  t: ResolvedTarget;
  job?: Job;
  /** Aborts this target's polls (removal, change). */
  abort: AbortController;
  /** The poll in flight, if any (one per target at a time). */
  polling?: Promise<void>;
  state: TargetState;
  lastSuccess?: EpochMs;
  lastError?: string;
  lastDurationMs?: number;
  rows?: number;
  /** sysUpTime at the last successful poll, with the clock and real times it was read at. */
  uptime?: UptimeReading;
  counters: CounterState;
  /** Cells (or links) reported by the last successful poll: what a gap blinds. */
  lastIds: string[];
  tuning: WalkTuning;
  /** The last poll failed: poll from the suspect lane, one try, until it answers again. */
  suspect: boolean;
  /** Slowest round trip of the last successful poll, real ms. */
  rttMs?: number;
  /** Unmapped-row indexes already logged, so a steady misconfiguration logs once. */
  loggedUnmapped?: string;
}

function resolveTarget(t: SnmpTargetConfig, cfg: SnmpConfig): ResolvedTarget {
  const d = cfg.defaults;
  let profile: Profile | undefined;
  let profileError: string | undefined;
  try {
    profile = resolveProfile(t.profile, t.version, cfg.profiles);
  } catch (err) {
    profileError = (err as Error).message;
  }
  const port = t.port ?? d.port;
  const indexes = t.indexes?.map(String);
  // Another device, table or credential (a rotated key counts: fingerprint hashes secrets) starts afresh.
  const access = [t.community, t.user, t.authProtocol, t.authKey, t.privProtocol, t.privKey];
  const profileDef = cfg.profiles[t.profile] ?? null;
  const identity = fingerprint([
    t.host,
    port,
    t.version,
    access,
    t.profile,
    profileDef,
    t.site ?? null,
    indexes ?? null,
  ]);
  const intervalMs = t.interval ?? d.interval;
  const timeoutMs = t.timeout ?? d.timeout;
  const retries = t.retries ?? d.retries;
  const maxRepetitions = t.maxRepetitions ?? d.maxRepetitions;
  return {
    name: t.name,
    host: t.host,
    port,
    cfg: t,
    profileName: t.profile,
    ...(profile ? { profile } : {}),
    ...(profileError ? { profileError } : {}),
    ...(t.site ? { site: t.site } : {}),
    intervalMs,
    timeoutMs,
    retries,
    maxRepetitions,
    ...(indexes ? { indexes } : {}),
    identity,
    settings: fingerprint([intervalMs, timeoutMs, retries, maxRepetitions]),
  };
}

function credentials(t: SnmpTargetConfig): SnmpCredentials {
  // Secrets are revealed here, where the session is built, and nowhere else.
  return {
    version: t.version,
    ...(t.community ? { community: t.community.reveal() } : {}),
    ...(t.user ? { user: t.user } : {}),
    ...(t.authProtocol ? { authProtocol: t.authProtocol } : {}),
    ...(t.authKey ? { authKey: t.authKey.reveal() } : {}),
    ...(t.privProtocol ? { privProtocol: t.privProtocol } : {}),
    ...(t.privKey ? { privKey: t.privKey.reveal() } : {}),
  };
}

const GAP_REASON: Record<string, 'timeout' | 'unreachable' | 'auth'> = {
  timeout: 'timeout',
  unreachable: 'unreachable',
  auth: 'auth',
};

/** See collectors/snmp/index.ts for the contract. */
export class SnmpCollector implements ServiceCollector {
  readonly name = 'snmp';
  private readonly targets = new Map<string, TargetRuntime>();
  private readonly metrics: SnmpMetrics;
  private acc?: Accumulator;
  private started = false;
  private stopping = this.stopController();
  private slots!: PollSlots;
  private suspectSlots!: PollSlots;
  private inventory: ReadonlyMap<string, Cell>;
  private bySite = new Map<string, { cells: string[]; byIndex: Map<string, Cell> }>();
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private cfg: SnmpConfig,
    private readonly deps: SnmpCollectorDeps,
  ) {
    this.metrics = new SnmpMetrics(deps.registry);
    this.inventory = deps.inventory;
    this.indexInventory();
    this.sizeSlots();
    for (const t of cfg.targets) this.addTarget(resolveTarget(t, cfg));
  }

  async start(acc: Accumulator): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.acc = acc;
    this.stopping = this.stopController();
    for (const rt of this.targets.values()) this.schedule(rt);
    this.deps.log.info(
      { targets: this.targets.size, slots: this.slots.size, suspectSlots: this.suspectSlots.size },
      'SNMP collector started',
    );
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const rt of this.targets.values()) {
      rt.job?.cancel();
      rt.job = undefined;
    }
    this.stopping.abort(new Error('SNMP collector stopping'));
    await Promise.all([...this.inflight].map((p) => p.catch(() => undefined)));
    this.deps.log.info('SNMP collector stopped');
  }

  /**
   * Applies a changed target list (and optionally a new inventory) without a restart: new targets
   * start, removed ones stop, changed ones restart, the others keep polling and keep their counters.
   */
  async reload(cfg: SnmpConfig, inventory?: ReadonlyMap<string, Cell>): Promise<ReloadResult> {
    if (inventory) {
      this.inventory = inventory;
      this.indexInventory();
    }
    const result: ReloadResult = { added: [], removed: [], changed: [], kept: [] };
    const next = new Map(cfg.targets.map((t) => [t.name, resolveTarget(t, cfg)]));
    const resize = cfg.concurrency !== this.cfg.concurrency;
    this.cfg = cfg;
    if (resize) this.sizeSlots();
    for (const [name, rt] of this.targets) {
      if (next.has(name)) continue;
      this.removeTarget(rt);
      result.removed.push(name);
    }
    for (const [name, t] of next) {
      const rt = this.targets.get(name);
      if (!rt) {
        const fresh = this.addTarget(t);
        if (this.started) this.schedule(fresh);
        result.added.push(name);
      } else if (rt.t.identity !== t.identity) {
        this.removeTarget(rt, false);
        const fresh = this.addTarget(t);
        if (this.started) this.schedule(fresh);
        result.changed.push(name);
      } else if (rt.t.settings !== t.settings) {
        // Same device and table: the counters stay valid, only the schedule or timeouts change.
        rt.job?.cancel();
        rt.t = t;
        rt.tuning = { maxRepetitions: t.maxRepetitions, oidsPerGet: OIDS_PER_GET };
        if (this.started) this.schedule(rt);
        result.changed.push(name);
      } else {
        rt.t = t;
        result.kept.push(name);
      }
    }
    this.deps.log.info(
      { added: result.added, removed: result.removed, changed: result.changed, kept: result.kept.length },
      'SNMP targets reloaded',
    );
    return result;
  }

  status(): TargetStatus[] {
    return [...this.targets.values()].map((rt) => ({
      target: rt.t.name,
      host: rt.t.host,
      port: rt.t.port,
      profile: rt.t.profileName,
      ...(rt.t.site ? { site: rt.t.site } : {}),
      state: rt.state,
      ...(rt.lastSuccess !== undefined ? { lastSuccess: rt.lastSuccess } : {}),
      ...(rt.lastError !== undefined ? { lastError: rt.lastError } : {}),
      ...(rt.lastDurationMs !== undefined ? { lastDurationMs: rt.lastDurationMs } : {}),
      ...(rt.rows !== undefined ? { rows: rt.rows } : {}),
    }));
  }

  /** Polls one target now, through the same slots and bookkeeping as a scheduled tick. */
  async pollOnce(target: string, acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void> {
    const rt = this.targets.get(target);
    if (!rt) throw new Error(`unknown SNMP target "${target}"`);
    await this.pollTarget(rt, acc, tick, signal);
  }

  // -------------------------------------------------------------------------------------------

  /** Every poll in flight listens to the stop signal: thousands of listeners are expected, not a leak. */
  private stopController(): AbortController {
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  }

  private sizeSlots(): void {
    // Two lanes of `concurrency` slots each: answering targets, and targets whose last poll failed. A dead
    // device holds its slot for a whole timeout; in its own lane it can never hold up a live one.
    this.slots = new PollSlots(this.cfg.concurrency);
    this.suspectSlots = new PollSlots(this.cfg.concurrency);
  }

  private indexInventory(): void {
    this.bySite = new Map();
    for (const cell of this.inventory.values()) {
      let s = this.bySite.get(cell.site);
      if (!s) this.bySite.set(cell.site, (s = { cells: [], byIndex: new Map() }));
      s.cells.push(cell.id);
      if (cell.snmpIndex !== undefined) s.byIndex.set(String(cell.snmpIndex), cell);
    }
  }

  private addTarget(t: ResolvedTarget): TargetRuntime {
    const rt: TargetRuntime = {
      t,
      abort: new AbortController(),
      state: t.profileError ? 'error' : 'pending',
      ...(t.profileError ? { lastError: t.profileError } : {}),
      counters: new Map(),
      lastIds: [],
      tuning: { maxRepetitions: t.maxRepetitions, oidsPerGet: OIDS_PER_GET },
      suspect: false,
    };
    this.targets.set(t.name, rt);
    return rt;
  }

  /** Cancels its job and aborts a poll in flight; the aborted poll ends on its own and records no gap. */
  private removeTarget(rt: TargetRuntime, forgetMetrics = true): void {
    rt.job?.cancel();
    rt.job = undefined;
    rt.abort.abort(new Error(`target ${rt.t.name} removed`));
    if (this.targets.get(rt.t.name) === rt) this.targets.delete(rt.t.name);
    if (forgetMetrics) this.metrics.remove(rt.t.name);
  }

  private schedule(rt: TargetRuntime): void {
    if (rt.t.profileError) {
      this.deps.log.error({ target: rt.t.name }, `SNMP target not polled: ${rt.t.profileError}`);
      return;
    }
    rt.job = this.deps.scheduler.every(
      `snmp:${rt.t.name}`,
      rt.t.intervalMs,
      (tick, signal) => this.pollTarget(rt, this.acc!, tick, signal),
      {
        onSkip: (tick) => this.skipped(rt, tick),
        onError: (err, tick) => this.deps.log.error({ target: rt.t.name, tick, err }, 'SNMP poll crashed'),
      },
    );
  }

  /**
   * One poll of a target, never two at once: the scheduler guarantees that per job, but a reload that
   * changes only timing replaces the job while its poll may still run, and pollOnce can meet a tick.
   * Two polls of one target would race on its counters and uptime (false resets, rates off).
   */
  private pollTarget(rt: TargetRuntime, acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void> {
    if (rt.polling) {
      this.skipped(rt, tick, acc);
      return Promise.resolve();
    }
    const p = this.track(this.poll(rt, acc, tick, signal)).finally(() => {
      if (rt.polling === p) rt.polling = undefined;
    });
    rt.polling = p;
    return p;
  }

  private track(p: Promise<void>): Promise<void> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  private skipped(rt: TargetRuntime, tick: EpochMs, acc: Accumulator | undefined = this.acc): void {
    this.metrics.skipped.inc({ target: rt.t.name });
    this.deps.log.warn(
      { target: rt.t.name, host: rt.t.host, tick },
      `slow SNMP target ${rt.t.name}: tick skipped, the previous poll is still running`,
    );
    acc?.addGap({
      target: rt.t.name,
      cells: this.blinded(rt),
      ts: tick,
      reason: 'skipped-overlap',
      detail: 'previous poll still running',
    });
  }

  /** What a failed poll leaves unseen: the ids the target last reported, else its site's inventory cells. */
  private blinded(rt: TargetRuntime): string[] {
    if (rt.lastIds.length > 0) return [...rt.lastIds];
    if (rt.t.profile?.kind === 'cells' && rt.t.site) return [...(this.bySite.get(rt.t.site)?.cells ?? [])];
    return [];
  }

  private async poll(rt: TargetRuntime, acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void> {
    const { t } = rt;
    const profile = t.profile;
    if (!profile) {
      acc.addError(t.name, new Error(`${t.name}: ${t.profileError}`));
      return;
    }
    const clock = this.deps.scheduler.clock;
    const started = performance.now();
    // The deadline is a share of the interval counted from the tick, in clock time, converted to real ms.
    const budgetMs = Math.max(0, (tick + t.intervalMs * DEADLINE_SHARE - clock.now()) / clock.rate);
    const deadline = started + budgetMs;
    const poll = linkedSignal([signal, this.stopping.signal, rt.abort.signal]);
    const pollSignal = poll.signal;
    const stats: RequestStats = { pdus: 0, retries: 0, timeouts: 0 };

    const deadlineReached = new AbortController();
    const timer = setTimeout(() => deadlineReached.abort(new Error('deadline')), budgetMs);
    const slot = linkedSignal([pollSignal, deadlineReached.signal]);
    const slotSignal = slot.signal;
    let lane = rt.suspect ? this.suspectSlots : this.slots;
    let release: () => void = () => undefined;
    try {
      release = await lane.acquire(slotSignal);
    } catch {
      clearTimeout(timer);
      slot.dispose();
      poll.dispose();
      if (pollSignal.aborted) return;
      const err = new SnmpError(
        'error',
        t.name,
        `not polled: all ${lane.size} poll slots stayed busy until the poll deadline (collector overloaded; raise snmp.concurrency)`,
      );
      this.failed(rt, acc, tick, err, performance.now() - started);
      return;
    }
    this.busy(lane);
    // A target silent on its first try gives its live slot back and retries from the suspect lane: a
    // device that just died holds a live slot for its quick first try only (see QUICK_TRY_FLOOR_MS).
    const beforeRetry = async () => {
      if (lane !== this.slots || this.suspectSlots === this.slots) return;
      release();
      this.busy(lane);
      release = () => undefined;
      lane = this.suspectSlots;
      try {
        release = await lane.acquire(slotSignal);
      } catch {
        if (pollSignal.aborted) throw new SnmpError('aborted', t.name, 'poll aborted');
        throw new SnmpError(
          'timeout',
          t.name,
          `no answer from ${t.host}:${t.port} on the first try, and no slot for a retry before the poll deadline`,
        );
      }
      this.busy(lane);
    };

    let session: SnmpSession | undefined;
    try {
      // A target that failed last time gets one try for its first PDU: silent devices cost one timeout
      // per interval, not (retries + 1). Once it answers, the rest of the poll retries as configured.
      const s = new SnmpSession({
        target: t.name,
        host: t.host,
        port: t.port,
        credentials: credentials(t.cfg),
        timeoutMs: t.timeoutMs,
        retries: rt.suspect ? 0 : t.retries,
        ...(!rt.suspect && rt.rttMs !== undefined
          ? { quickFirstTryMs: Math.max(QUICK_TRY_FLOOR_MS, QUICK_TRY_FACTOR * rt.rttMs) }
          : {}),
        deadline,
        signal: pollSignal,
        stats,
        beforeRetry,
      });
      session = s;
      const uptimeAt: ReadWindow = {
        sentClock: clock.now(),
        sentReal: performance.now(),
        receivedClock: 0,
        receivedReal: 0,
      };
      const onScalars = () => {
        uptimeAt.receivedClock = clock.now();
        uptimeAt.receivedReal = performance.now();
        s.retries = t.retries;
      };
      const table: TableData = t.indexes
        ? await getRows(s, t.name, profile.columns, t.indexes, [SYS_UPTIME_INSTANCE], rt.tuning, {
            parallel: PARALLEL_WALKS,
            onScalars,
          })
        : await walkColumns(s, t.name, profile.columns, [SYS_UPTIME], rt.tuning, {
            maxVarbinds: MAX_VARBINDS_PER_PDU,
            parallel: PARALLEL_WALKS,
            maxRows: MAX_ROWS,
            onScalars,
            ...(rt.rows !== undefined ? { expectedRows: rt.rows } : {}),
          });
      if (uptimeAt.receivedReal === 0) {
        // No callback for the scalars: the walk's end is a later, so safe, bound for the read.
        uptimeAt.receivedClock = clock.now();
        uptimeAt.receivedReal = performance.now();
      }
      this.metrics.varbinds.inc({ target: t.name }, table.varbinds);
      rt.rttMs = s.maxRttMs;
      this.succeeded(rt, acc, tick, table, uptimeAt, performance.now() - started);
    } catch (err) {
      if (pollSignal.aborted && !(err instanceof SnmpError && err.kind !== 'aborted')) return;
      const e =
        err instanceof SnmpError
          ? err
          : new SnmpError('error', t.name, (err as Error).message ?? String(err), { cause: err });
      if (e.kind === 'aborted') return;
      this.failed(rt, acc, tick, e, performance.now() - started);
    } finally {
      clearTimeout(timer);
      slot.dispose();
      poll.dispose();
      session?.close();
      release();
      this.busy(lane);
      this.metrics.pdus.inc({ target: t.name }, stats.pdus);
      if (stats.retries) this.metrics.retries.inc({ target: t.name }, stats.retries);
      if (stats.timeouts) this.metrics.timeouts.inc({ target: t.name }, stats.timeouts);
    }
  }

  private busy(lane: PollSlots): void {
    this.metrics.slotsBusy.set({ lane: lane === this.slots ? 'live' : 'suspect' }, lane.inUse);
  }

  private finish(rt: TargetRuntime, durationMs: number): void {
    rt.lastDurationMs = Math.round(durationMs * 10) / 10;
    this.metrics.duration.set({ target: rt.t.name }, durationMs / 1000);
    const realIntervalMs = rt.t.intervalMs / this.deps.scheduler.clock.rate;
    if (durationMs > realIntervalMs * SLOW_SHARE) {
      this.deps.log.warn(
        { target: rt.t.name, host: rt.t.host, durationMs: rt.lastDurationMs, intervalMs: rt.t.intervalMs },
        `slow SNMP target ${rt.t.name}: poll took ${Math.round(durationMs)} ms`,
      );
    }
  }

  private succeeded(
    rt: TargetRuntime,
    acc: Accumulator,
    tick: EpochMs,
    table: TableData,
    uptimeAt: ReadWindow,
    durationMs: number,
  ): void {
    const { t } = rt;
    const profile = t.profile!;
    const ticks = numeric(table.scalars[0]);
    const uptime = ticks !== undefined ? { ticks, ...uptimeAt } : undefined;
    let verdict = 'first';
    if (uptime && rt.uptime) {
      const prev = rt.uptime;
      const rate = this.deps.scheduler.clock.rate;
      // Surely passed: from the previous answer's receipt to this request's send; at most: from the
      // previous send to this receipt. Each by both clocks, so the verdict holds for either.
      const minMs = Math.min(uptime.sentClock - prev.receivedClock, (uptime.sentReal - prev.receivedReal) * rate);
      const maxMs = Math.max(uptime.receivedClock - prev.sentClock, (uptime.receivedReal - prev.sentReal) * rate);
      verdict = uptimeVerdict(prev.ticks, uptime.ticks, { minMs, maxMs });
    }
    const reboot = verdict === 'reboot';
    const elapsedS = rt.lastSuccess !== undefined && tick > rt.lastSuccess ? (tick - rt.lastSuccess) / 1000 : undefined;
    const ctx = {
      target: t.name,
      ...(t.site ? { site: t.site } : {}),
      tick,
      ...(elapsedS !== undefined ? { elapsedS } : {}),
      intervalS: elapsedS ?? t.intervalMs / 1000,
      reboot,
      prev: rt.counters,
      cellByIndex: (index: string) => (t.site ? this.bySite.get(t.site)?.byIndex.get(index) : undefined),
    };
    let ids: string[];
    let resets: string[];
    if (profile.kind === 'cells') {
      const m = mapCellRows(profile, table, ctx);
      for (const s of m.items) acc.addSample(s);
      ids = m.items.map((s) => s.cell);
      resets = m.resets;
      rt.counters = m.next;
      if (m.unmapped.length > 0) {
        this.metrics.unmapped.inc({ target: t.name }, m.unmapped.length);
        const key = m.unmapped.join(',');
        if (rt.loggedUnmapped !== key) {
          rt.loggedUnmapped = key;
          const why = t.site
            ? `no cell of site ${t.site} in the inventory has snmpIndex`
            : 'the target has no site to look the index up in the inventory';
          this.deps.log.warn(
            { target: t.name, rows: m.unmapped.slice(0, 20), count: m.unmapped.length },
            `SNMP rows dropped: no cell id in the row and ${why}`,
          );
        }
      }
    } else {
      const m = mapLinkRows(profile, table, ctx);
      for (const l of m.items) acc.addLink(l);
      ids = m.items.map((l) => l.link);
      resets = m.resets;
      rt.counters = m.next;
    }
    if (reboot) {
      this.metrics.resets.inc({ target: t.name });
      this.deps.log.warn(
        { target: t.name, host: t.host, uptimeBefore: rt.uptime?.ticks, uptimeNow: uptime?.ticks },
        `SNMP agent of ${t.name} restarted: counters start over, no volumes or rates this interval`,
      );
    } else if (resets.length > 0) {
      this.metrics.resets.inc({ target: t.name }, resets.length);
      this.deps.log.warn(
        { target: t.name, rows: resets.slice(0, 20), count: resets.length },
        `SNMP counters of ${t.name} went down or jumped past the link speed: treated as a reset`,
      );
    }
    if (resets.length > 0) {
      acc.addGap({
        target: t.name,
        cells: resets,
        ts: tick,
        reason: 'counter-reset',
        detail: reboot
          ? 'agent restarted (sysUpTime went back)'
          : 'counter discontinuity (went down, discontinuity time changed, or above link speed)',
      });
    }
    if (uptime) rt.uptime = uptime;
    if (rt.state !== 'ok' && rt.state !== 'pending')
      this.deps.log.info({ target: t.name, was: rt.state }, `SNMP target ${t.name} answers again`);
    rt.state = 'ok';
    rt.suspect = false;
    rt.lastSuccess = tick;
    delete rt.lastError;
    rt.rows = table.rows.size;
    rt.lastIds = ids;
    this.metrics.up.set({ target: t.name }, 1);
    this.metrics.lastSuccess.set({ target: t.name }, tick / 1000);
    this.finish(rt, durationMs);
  }

  private failed(rt: TargetRuntime, acc: Accumulator, tick: EpochMs, err: SnmpError, durationMs: number): void {
    const { t } = rt;
    const reason = GAP_REASON[err.kind] ?? 'error';
    acc.addGap({ target: t.name, cells: this.blinded(rt), ts: tick, reason, detail: err.message });
    acc.addError(t.name, err);
    if (rt.state !== reason || rt.lastError !== err.message) {
      this.deps.log.warn(
        { target: t.name, host: t.host, port: t.port, reason, tick },
        `SNMP poll failed: ${err.message}`,
      );
    }
    rt.state = reason;
    rt.lastError = err.message;
    rt.suspect = true;
    this.metrics.up.set({ target: t.name }, 0);
    this.finish(rt, durationMs);
  }
}
