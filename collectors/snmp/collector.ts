import { fingerprint, type SnmpConfig, type SnmpTargetConfig } from '../../config/index.js';
import type { EpochMs, Inventory } from '../../model/index.js';
import type { CollectionTarget, CollectorInput, PollOutcome, PollRequest, ReloadResult } from '../index.js';
import { RunningCollector } from '../running.js';
import { linkedSignal } from '../signals.js';
import { uptimeVerdict } from './counters.js';
import type { SnmpCollectorDeps } from './index.js';
import { SnmpMetrics } from './metrics.js';
import { SYS_UPTIME, SYS_UPTIME_INSTANCE, resolveProfile, type Profile } from './profiles.js';
import { mapCellRows, mapLinkRows, numeric, type CounterState } from './rows.js';
import { SnmpError, SnmpSession, type RequestStats, type SnmpCredentials } from './session.js';
import { PollSlots } from './slots.js';
import { getRows, walkColumns, type TableData, type WalkTuning } from './walk.js';

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

/** A target resolved from config: everything a poll needs, computed once per (re)load. */
export interface SnmpTarget extends CollectionTarget {
  host: string;
  port: number;
  cfg: SnmpTargetConfig;
  profile?: Profile;
  site?: string;
  timeoutMs: number;
  retries: number;
  maxRepetitions: number;
  indexes?: string[];
}

/** What the SNMP input keeps per target between polls. */
interface SnmpState {
  /** Tick of the previous successful poll: volumes after a missed poll cover the longer interval. */
  lastSuccess?: EpochMs;
  /** sysUpTime at the last successful poll, with the clock and real times it was read at. */
  uptime?: UptimeReading;
  counters: CounterState;
  /** Rows in the table last time: sizes the first request. */
  rows?: number;
  tuning: WalkTuning;
  /** The last poll failed: poll from the suspect lane, one try, until it answers again. */
  suspect: boolean;
  /** Slowest round trip of the last successful poll, real ms. */
  rttMs?: number;
  /** Unmapped-row indexes already logged, so a steady misconfiguration logs once. */
  loggedUnmapped?: string;
}

export function resolveTarget(t: SnmpTargetConfig, cfg: SnmpConfig): SnmpTarget {
  const d = cfg.defaults;
  let profile: Profile | undefined;
  let problem: string | undefined;
  try {
    profile = resolveProfile(t.profile, t.version, cfg.profiles);
  } catch (err) {
    problem = (err as Error).message;
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
    ...(profile ? { profile } : {}),
    ...(problem ? { problem } : {}),
    ...(t.site ? { site: t.site } : {}),
    intervalMs,
    timeoutMs,
    retries,
    maxRepetitions,
    ...(indexes ? { indexes } : {}),
    identity,
    settings: fingerprint([intervalMs, timeoutMs, retries, maxRepetitions]),
    describe: { host: t.host, port, profile: t.profile, ...(t.site ? { site: t.site } : {}) },
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

/**
 * Polls one SNMP target once (see index.ts for the whole contract). Polls take a slot in one of two
 * lanes of `snmp.concurrency` slots (one slot = one poll = one UDP socket): answering targets in one,
 * targets whose last poll failed in the other, where they get a single try. A target that answered
 * before gets a quick first try; silent, it moves to the suspect lane for its full-timeout retry, so a
 * device that just died holds a live slot ~250 ms. Scheduling, deadlines, gaps and status are the
 * RunningCollector's.
 */
class SnmpInput implements CollectorInput<SnmpTarget, SnmpState> {
  readonly kind = 'snmp';
  readonly title = 'SNMP';
  readonly metrics: SnmpMetrics;
  private slots!: PollSlots;
  private suspectSlots!: PollSlots;

  constructor(
    concurrency: number,
    private readonly deps: SnmpCollectorDeps,
    public inventory: Inventory,
  ) {
    this.metrics = new SnmpMetrics(deps.metrics);
    this.resize(concurrency);
  }

  get lanes(): { live: number; suspect: number } {
    return { live: this.slots.size, suspect: this.suspectSlots.size };
  }

  resize(concurrency: number): void {
    // Two lanes of `concurrency` slots each: answering targets, and targets whose last poll failed. A dead
    // device holds its slot for a whole timeout; in its own lane it can never hold up a live one.
    this.slots = new PollSlots(concurrency);
    this.suspectSlots = new PollSlots(concurrency);
  }

  initState(t: SnmpTarget): SnmpState {
    return { counters: new Map(), tuning: this.tuning(t), suspect: false };
  }

  blinded(t: SnmpTarget): string[] {
    if (t.profile?.kind === 'cells' && t.site) return this.inventory.cellsOfSite(t.site).map((c) => c.id);
    return [];
  }

  /** New timeouts or repetitions keep the counters but not the tuning learnt under the old ones. */
  retune(t: SnmpTarget, rt: SnmpState): void {
    rt.tuning = this.tuning(t);
  }

  forget(t: SnmpTarget): void {
    this.metrics.remove(t.name);
  }

  async poll(t: SnmpTarget, rt: SnmpState, req: PollRequest): Promise<PollOutcome> {
    const profile = t.profile!;
    const clock = this.deps.scheduler.clock;
    const { tick, acc, signal: pollSignal } = req;
    const stats: RequestStats = { pdus: 0, retries: 0, timeouts: 0 };
    const slot = linkedSignal([pollSignal, req.deadlineSignal]);
    let lane = rt.suspect ? this.suspectSlots : this.slots;
    let release: () => void = () => undefined;
    try {
      release = await lane.acquire(slot.signal);
    } catch {
      slot.dispose();
      if (pollSignal.aborted) throw new SnmpError('aborted', t.name, 'poll aborted');
      return this.failure(
        rt,
        new SnmpError(
          'error',
          t.name,
          `not polled: all ${lane.size} poll slots stayed busy until the poll deadline (collector overloaded; raise snmp.concurrency)`,
        ),
      );
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
        release = await lane.acquire(slot.signal);
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
        deadline: req.deadline,
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
      return this.succeeded(t, rt, acc, tick, table, uptimeAt);
    } catch (err) {
      // Unwanted polls end quietly, unless what ended them was the device's own failure.
      if (pollSignal.aborted && !(err instanceof SnmpError && err.kind !== 'aborted')) throw err;
      const e =
        err instanceof SnmpError
          ? err
          : new SnmpError('error', t.name, (err as Error).message ?? String(err), { cause: err });
      if (e.kind === 'aborted') throw e;
      return this.failure(rt, e);
    } finally {
      slot.dispose();
      session?.close();
      release();
      this.busy(lane);
      this.metrics.pdus.inc({ target: t.name }, stats.pdus);
      if (stats.retries) this.metrics.retries.inc({ target: t.name }, stats.retries);
      if (stats.timeouts) this.metrics.timeouts.inc({ target: t.name }, stats.timeouts);
    }
  }

  private tuning(t: SnmpTarget): WalkTuning {
    return { maxRepetitions: t.maxRepetitions, oidsPerGet: OIDS_PER_GET };
  }

  private busy(lane: PollSlots): void {
    this.metrics.slotsBusy.set({ lane: lane === this.slots ? 'live' : 'suspect' }, lane.inUse);
  }

  private failure(rt: SnmpState, err: SnmpError): PollOutcome {
    rt.suspect = true;
    return { ok: false, reason: GAP_REASON[err.kind] ?? 'error', error: err };
  }

  private succeeded(
    t: SnmpTarget,
    rt: SnmpState,
    acc: PollRequest['acc'],
    tick: EpochMs,
    table: TableData,
    uptimeAt: ReadWindow,
  ): PollOutcome {
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
    const site = t.site;
    const ctx = {
      target: t.name,
      ...(site ? { site } : {}),
      tick,
      ...(elapsedS !== undefined ? { elapsedS } : {}),
      intervalS: elapsedS ?? t.intervalMs / 1000,
      reboot,
      prev: rt.counters,
      cellByIndex: (index: string) =>
        site ? this.inventory.cellsOfSite(site).find((c) => String(c.snmpIndex) === index) : undefined,
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
          const why = site
            ? `no cell of site ${site} in the inventory has snmpIndex`
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
    rt.suspect = false;
    rt.lastSuccess = tick;
    rt.rows = table.rows.size;
    return { ok: true, ids, details: { rows: table.rows.size } };
  }
}

/**
 * The SNMP collector: the SNMP input (above) run over the configured targets by a RunningCollector.
 * See collectors/snmp/index.ts for what it reports.
 */
export class SnmpCollector extends RunningCollector<SnmpTarget, SnmpState> {
  private readonly snmp: SnmpInput;

  constructor(
    private cfg: SnmpConfig,
    deps: SnmpCollectorDeps,
  ) {
    const input = new SnmpInput(cfg.concurrency, deps, deps.inventory);
    super(
      input,
      cfg.targets.map((t) => resolveTarget(t, cfg)),
      deps,
    );
    this.snmp = input;
  }

  override async start(acc: Parameters<RunningCollector<SnmpTarget, SnmpState>['start']>[0]): Promise<void> {
    await super.start(acc);
    this.deps.log.debug(this.snmp.lanes, 'SNMP poll slots');
  }

  /** Applies a changed `snmp` section: the target list (see RunningCollector.reloadTargets) and the slot count. */
  async reload(cfg: SnmpConfig): Promise<ReloadResult> {
    if (cfg.concurrency !== this.cfg.concurrency) this.snmp.resize(cfg.concurrency);
    this.cfg = cfg;
    return this.reloadTargets(cfg.targets.map((t) => resolveTarget(t, cfg)));
  }

  /** A re-read inventory: rows of id-less vendor tables and gap cells are mapped through it from the next poll. */
  setInventory(inventory: Inventory): void {
    this.snmp.inventory = inventory;
  }
}
