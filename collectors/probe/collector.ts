import { fingerprint, type HealthCheckConfig, type ProbeConfig } from '../../config/index.js';
import type { CounterMetric, EpochMs, Inventory, Metrics, Sample } from '../../model/index.js';
import { realTimers, type Timers } from '../../clock/index.js';
import type { CollectionTarget, CollectorInput, PollOutcome, PollRequest, ReloadResult } from '../index.js';
import { RunningCollector } from '../running.js';
import { linkedSignal } from '../signals.js';
import { RepeatedWarnings } from '../warnings.js';
import { dnsTest } from './dns.js';
import { httpTest } from './http.js';
import type { ProbeCollectorDeps, TestContext } from './index.js';
import { ProbeLane } from './lane.js';
import { tcpConnectTest } from './tcp.js';
import {
  PROBE_KPI,
  classifyFailure,
  probeVerdict,
  type HealthResult,
  type ProbeKind,
  type TestResult,
} from './verdicts.js';

/** A probe resolved from config: everything a test needs, computed once per (re)load. */
export interface ProbeTarget extends CollectionTarget {
  cfg: ProbeConfig;
  kind: ProbeKind;
  timeoutMs: number;
}

/** What the probe input keeps per target between tests. */
interface ProbeState {
  /** The failure the previous test ended in: a steady failure is logged when it starts and ends. */
  failing?: string;
}

/** Where the probe points, as shown in its status (never under `target`, the runner's name field). */
function aim(p: ProbeConfig): Record<string, string | number> {
  switch (p.kind) {
    case 'http-download':
    case 'http-ttfb':
      return { url: p.url };
    case 'tcp-connect':
      return { host: p.host, port: p.port };
    case 'dns':
      return { host: p.host, resolver: p.resolver ?? 'system', recordType: p.recordType };
  }
}

export function resolveProbe(p: ProbeConfig): ProbeTarget {
  const standsFor: Record<string, string> = p.cell !== undefined ? { cell: p.cell } : { site: p.site! };
  const download = p.kind === 'http-download' ? [p.maxBytes, p.maxDuration] : [];
  return {
    name: p.name,
    cfg: p,
    kind: p.kind,
    intervalMs: p.interval,
    timeoutMs: p.timeout,
    // What is tested and for whom: a change starts afresh. Timing and health checks only reschedule.
    identity: fingerprint([p.kind, aim(p), standsFor]),
    settings: fingerprint([p.interval, p.timeout, download, p.healthCheck]),
    describe: { kind: p.kind, ...aim(p), ...standsFor },
  };
}

class ProbeMetrics {
  readonly tests: CounterMetric<'target' | 'result'>;
  constructor(metrics: Metrics) {
    this.tests = metrics.counter({
      name: 'cellwatch_probe_tests_total',
      help: 'Probe tests by result: passed (a measurement), failed (a bad-experience sample), unknown (a gap).',
      labelNames: ['target', 'result'],
    });
  }
  remove(target: string): void {
    for (const result of ['passed', 'failed', 'unknown']) this.tests.remove({ target, result });
  }
}

/**
 * Runs one probe test (see index.ts for the whole contract) and turns its result into samples or a
 * gap through `probeVerdict`. Scheduling, deadlines, gaps and status are the RunningCollector's.
 */
class ProbeInput implements CollectorInput<ProbeTarget, ProbeState> {
  readonly kind = 'probe';
  readonly title = 'probe';
  readonly lane = new ProbeLane();
  private readonly metrics: ProbeMetrics;
  private readonly timers: Timers;
  private readonly recovered: RepeatedWarnings;

  constructor(
    private readonly deps: ProbeCollectorDeps,
    public inventory: Inventory,
  ) {
    this.metrics = new ProbeMetrics(deps.metrics);
    this.timers = deps.timers ?? realTimers;
    this.recovered = new RepeatedWarnings(deps.log, 'info');
  }

  initState(): ProbeState {
    return {};
  }

  blinded(t: ProbeTarget): string[] {
    return this.cellsOf(t);
  }

  forget(t: ProbeTarget): void {
    this.metrics.remove(t.name);
    this.recovered.clear(t.name);
  }

  async poll(t: ProbeTarget, st: ProbeState, req: PollRequest): Promise<PollOutcome> {
    const cells = this.cellsOf(t);
    if (cells.length === 0) {
      return this.unknown(
        t,
        'error',
        `site ${t.cfg.site} has no cells in the inventory: no cell to report the result for`,
      );
    }
    const waiting = linkedSignal([req.signal, req.deadlineSignal]);
    let release: () => void;
    try {
      release = await this.lane.acquire(t.kind === 'http-download' ? 'exclusive' : 'shared', waiting.signal);
    } catch (err) {
      if (req.signal.aborted) throw err;
      return this.unknown(t, 'error', "not run: another probe's download held the link until the deadline");
    } finally {
      waiting.dispose();
    }
    let result: TestResult;
    let health: HealthResult[] = [];
    try {
      result = await this.runTest(t.cfg, this.context(t.timeoutMs, req));
      // Only a failure that blames the network needs the host's word: was it us?
      if (!result.ok && classifyFailure(result.failure) === 'network' && t.cfg.healthCheck.length > 0) {
        health = await this.checkHealth(t.cfg.healthCheck, req);
      }
    } finally {
      release();
    }
    const verdict = probeVerdict(t.kind, result, health);
    const details = { ...result.details };
    switch (verdict.verdict) {
      case 'measured': {
        for (const cell of cells) req.acc.addSample(this.sample(cell, req.tick, verdict.fields));
        this.metrics.tests.inc({ target: t.name, result: 'passed' });
        if (st.failing !== undefined) {
          this.recovered.warn(t.name, { target: t.name, was: st.failing }, `probe ${t.name} passes again`);
          st.failing = undefined;
        }
        const kpi = PROBE_KPI[t.kind];
        return { ok: true, ids: cells, details: { ...details, result: 'passed', [kpi]: verdict.fields[kpi]! } };
      }
      case 'failed': {
        for (const cell of cells) req.acc.addSample(this.sample(cell, req.tick, verdict.fields));
        this.metrics.tests.inc({ target: t.name, result: 'failed' });
        // One line when a failure starts or changes, not one per test: the samples carry the rest.
        if (st.failing !== verdict.failure) {
          this.deps.log.warn(
            { target: t.name, ...t.describe, failure: verdict.failure, cells, tick: req.tick },
            `probe ${t.name} failed: ${verdict.failure} (a bad-experience sample for ${cells.join(', ')})`,
          );
          st.failing = verdict.failure;
        }
        return { ok: true, ids: cells, details: { ...details, result: 'failed', failure: verdict.failure } };
      }
      case 'unknown':
        return this.unknown(t, verdict.reason, verdict.detail);
    }
  }

  private unknown(t: ProbeTarget, reason: Extract<PollOutcome, { ok: false }>['reason'], detail: string): PollOutcome {
    this.metrics.tests.inc({ target: t.name, result: 'unknown' });
    return { ok: false, reason, error: new Error(detail) };
  }

  private sample(cell: string, tick: EpochMs, fields: Partial<Sample>): Sample {
    return { cell, ts: tick, source: 'probe', ...fields };
  }

  private cellsOf(t: ProbeTarget): string[] {
    if (t.cfg.cell !== undefined) return [t.cfg.cell];
    return this.inventory.cellsOfSite(t.cfg.site!).map((c) => c.id);
  }

  private context(timeoutMs: number, req: PollRequest): TestContext {
    // Never wait past the poll's deadline, even when the box is so loaded that the tick came late.
    const left = Math.max(1, Math.floor(req.deadline - performance.now()));
    return {
      signal: req.signal,
      deadline: req.deadlineSignal,
      timeoutMs: Math.min(timeoutMs, left),
      timers: this.timers,
    };
  }

  private runTest(p: ProbeConfig | HealthCheckConfig, ctx: TestContext): Promise<TestResult> {
    switch (p.kind) {
      case 'http-download':
        return httpTest(new URL(p.url), { kind: 'download', maxBytes: p.maxBytes, maxDurationMs: p.maxDuration }, ctx);
      case 'http-ttfb':
        return httpTest(new URL(p.url), { kind: 'ttfb' }, ctx);
      case 'tcp-connect':
        return tcpConnectTest(p.host, p.port, ctx);
      case 'dns':
        return dnsTest(
          {
            host: p.host,
            recordType: 'recordType' in p ? p.recordType : 'A',
            ...(p.resolver ? { resolver: p.resolver } : {}),
          },
          ctx,
        );
    }
  }

  /** Every health check, one after the other, each within its own timeout and the poll's deadline. */
  private async checkHealth(checks: readonly HealthCheckConfig[], req: PollRequest): Promise<HealthResult[]> {
    const results: HealthResult[] = [];
    for (const check of checks) {
      const name =
        check.kind === 'tcp-connect'
          ? `tcp-connect ${check.host}:${check.port}`
          : `dns ${check.host}${check.resolver ? ` via ${check.resolver}` : ''}`;
      const r = await this.runTest(check, this.context(check.timeout, req));
      results.push(r.ok ? { check: name, ok: true } : { check: name, ok: false, message: r.failure.message });
      if (!r.ok) break;
    }
    return results;
  }
}

/**
 * The probe collector: the probe input (above) run over the configured probes by a RunningCollector.
 * See collectors/probe/index.ts for what it reports.
 */
export class ProbeCollector extends RunningCollector<ProbeTarget, ProbeState> {
  private readonly probes: ProbeInput;

  constructor(probes: readonly ProbeConfig[], deps: ProbeCollectorDeps) {
    const input = new ProbeInput(deps, deps.inventory);
    super(input, probes.map(resolveProbe), deps);
    this.probes = input;
  }

  /** Applies a changed `probes` list: see RunningCollector.reloadTargets. */
  reload(probes: readonly ProbeConfig[]): ReloadResult {
    return this.reloadTargets(probes.map(resolveProbe));
  }

  /** A re-read inventory: site probes report for the site's cells as listed there from the next test. */
  setInventory(inventory: Inventory): void {
    this.probes.inventory = inventory;
  }
}
