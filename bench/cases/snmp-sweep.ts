/**
 * Issue 3, sweep and memory: 500 simulated site agents (≈2,100 cells; a cell-table and an if-mib
 * target each, 1,000 targets) polled by the SnmpCollector with its default settings (concurrency 64,
 * timeout 5 s, 1 retry).
 * - sweep: one full sweep ≤ 5 s; with 10 % of the agents hung, the live data is in within 1.2× the
 *   healthy sweep of the same run (and every dead target has its verdict one timeout later);
 * - memory: RSS of the collector polling every 60 s over an hour of simulated time stays flat
 *   (first vs last quarter of the run, same process).
 * The agents run in a worker thread (snmp-agents-worker.ts) so the collector has its own core.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ManualClock, ManualScheduler } from '../../clock/index.js';
import type { Accumulator } from '../../collectors/index.js';
import { SnmpCollector } from '../../collectors/snmp/index.js';
import { parseConfig, type SnmpConfig } from '../../config/index.js';
import type { CollectionGap, LinkSample, Sample } from '../../model/index.js';
import { SimNetwork } from '../../sim/index.js';
import { collectGarbage, median, type BenchCase, type BenchContext, type BenchRow } from '../index.js';
import { AgentsWorker } from './snmp-agents-worker.js';
import { PromMetrics } from '../../daemon/metrics.js';
import { CellInventory } from '../../config/inventory.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 3, 12, 0, 0);
const SEED = 7;
const REGIONS = 4;
const COMMUNITY = 'bench';

/** Counts what arrives and keeps nothing, so memory figures are the collector's own. */
class CountingAccumulator implements Accumulator {
  samples = 0;
  links = 0;
  gaps: CollectionGap[] = [];
  errors = 0;
  addSample(_s: Sample): void {
    this.samples++;
  }
  addLink(_l: LinkSample): void {
    this.links++;
  }
  addGap(g: CollectionGap): void {
    if (this.gaps.length < 10_000) this.gaps.push(g);
  }
  addError(): void {
    this.errors++;
  }
  reset(): void {
    this.samples = 0;
    this.links = 0;
    this.gaps = [];
    this.errors = 0;
  }
}

async function setup(ctx: BenchContext, sites: number) {
  const network = SimNetwork.create({ seed: SEED, regions: REGIONS, sites, start: T0 - 86_400_000, timezone: 'UTC' });
  const agents = await AgentsWorker.start({
    seed: SEED,
    regions: REGIONS,
    sites,
    start: T0 - MIN,
    community: COMMUNITY,
  });
  const cfg: SnmpConfig = parseConfig({ snmp: { targets: agents.targets.map((t) => ({ ...t })) } }, { env: {} }).snmp;
  const clock = new ManualClock(T0 - MIN);
  const scheduler = new ManualScheduler(clock);
  const collector = new SnmpCollector(cfg, {
    scheduler,
    log: pino({ level: 'silent' }),
    metrics: new PromMetrics(new Registry()),
    inventory: CellInventory.of(network.cells),
  });
  ctx.log(
    `${sites} agents in a worker, ${network.cells.length} cells, ${cfg.targets.length} targets, concurrency ${cfg.concurrency}, timeout ${cfg.defaults.timeout} ms × ${cfg.defaults.retries + 1} tries`,
  );
  /** Moves both clocks to t and polls every target at once; resolves with timings. */
  const sweep = async (t: number, acc: Accumulator, dead: ReadonlySet<string> = new Set()) => {
    await agents.advanceTo(t);
    clock.set(t);
    const started = performance.now();
    let liveMs = 0;
    await Promise.all(
      cfg.targets.map((target) =>
        collector.pollOnce(target.name, acc, t, new AbortController().signal).then(() => {
          if (!dead.has(target.name)) liveMs = Math.max(liveMs, performance.now() - started);
        }),
      ),
    );
    return { liveMs, allMs: performance.now() - started };
  };
  return { network, agents, cfg, collector, sweep };
}

const sweepCase: BenchCase = {
  name: 'snmp: sweep of 500 site agents',
  async run(ctx) {
    const sites = ctx.quick ? 100 : 500;
    const rounds = ctx.quick ? 2 : 5; // sweeps vary by ±25% on this VM; a median of 5 steadies the ratio
    const { network, agents, cfg, collector, sweep } = await setup(ctx, sites);
    try {
      const acc = new CountingAccumulator();
      let t = T0;
      await sweep(t, acc); // first poll: counters get their baseline, JIT warms up
      const healthy: number[] = [];
      for (let r = 0; r < rounds; r++) {
        acc.reset();
        t += MIN;
        healthy.push((await sweep(t, acc)).allMs);
        if (acc.gaps.length > 0 || acc.samples !== network.cells.length)
          throw new Error(
            `healthy sweep incomplete: ${acc.samples} samples, ${acc.gaps.length} gaps (${acc.gaps[0]?.detail ?? ''})`,
          );
      }
      const deadSites = network.sites.filter((_, i) => i % 10 === 5).map((s) => s.id);
      const deadTargets = new Set(cfg.targets.filter((x) => deadSites.includes(x.site ?? '')).map((x) => x.name));
      await agents.blackhole(deadSites);
      acc.reset();
      t += MIN;
      const firstDeath = await sweep(t, acc, deadTargets);
      const live: number[] = [];
      const all: number[] = [];
      for (let r = 0; r < rounds; r++) {
        acc.reset();
        t += MIN;
        const s = await sweep(t, acc, deadTargets);
        live.push(s.liveMs);
        all.push(s.allMs);
        const timeouts = acc.gaps.filter((g) => g.reason === 'timeout').length;
        if (timeouts !== deadTargets.size)
          throw new Error(`expected ${deadTargets.size} timeout gaps, got ${timeouts}`);
      }
      const base = median(healthy) / 1000;
      const deadLive = median(live) / 1000;
      ctx.log(
        `healthy ${healthy.map((x) => x.toFixed(0)).join('/')} ms; first sweep after ${deadSites.length} agents hung: live ${firstDeath.liveMs.toFixed(0)} ms, all ${firstDeath.allMs.toFixed(0)} ms; steady: live ${live.map((x) => x.toFixed(0)).join('/')} ms, all ${all.map((x) => x.toFixed(0)).join('/')} ms`,
      );
      const label = `${sites} agents, ${network.cells.length.toLocaleString('en-US')} cells, ${cfg.targets.length} targets`;
      return [
        {
          case: `snmp: sweep, ${label}`,
          metric: 'wall s (median)',
          ours: base,
          higherIsBetter: false,
          target: '≤ 5 s',
          met: base <= 5,
          note: 'every target polled at once through the collector (concurrency 64); agents in a worker thread',
        },
        {
          case: `snmp: sweep with 10 % hung agents, live data in`,
          metric: 'wall s (median)',
          ours: deadLive,
          baseline: 'healthy sweep, same run',
          baselineValue: base,
          higherIsBetter: false,
          target: '≤ 1.2× healthy',
          met: deadLive <= 1.2 * base,
          note: `steady state (the hung agents failed before, so they wait in the suspect lane); the first sweep after they hung had its live data in ${(firstDeath.liveMs / 1000).toFixed(2)} s`,
        },
        {
          case: `snmp: sweep with 10 % hung agents, every verdict in`,
          metric: 'wall s (median)',
          ours: median(all) / 1000,
          baseline: 'healthy sweep + one timeout',
          baselineValue: base + cfg.defaults.timeout / 1000,
          higherIsBetter: false,
          note: `a hung agent is declared after one ${cfg.defaults.timeout / 1000} s try once it is a suspect (first time: ${(firstDeath.allMs / 1000).toFixed(2)} s, try + retry)`,
        },
      ] satisfies BenchRow[];
    } finally {
      await collector.stop();
      await agents.stop();
    }
  },
};

const memoryCase: BenchCase = {
  name: 'snmp: collector memory over an hour of polling',
  async run(ctx) {
    const sites = ctx.quick ? 100 : 500;
    const minutes = ctx.quick ? 16 : 60;
    const { network, agents, collector, sweep } = await setup(ctx, sites);
    try {
      const acc = new CountingAccumulator();
      const gc = collectGarbage;
      const rss: number[] = [];
      const heap: number[] = [];
      let samples = 0;
      for (let m = 0; m < minutes; m++) {
        acc.reset();
        await sweep(T0 + m * MIN, acc);
        samples += acc.samples;
        gc();
        const mem = process.memoryUsage();
        rss.push(mem.rss / 2 ** 20);
        heap.push(mem.heapUsed / 2 ** 20);
      }
      const q = Math.max(1, Math.floor(minutes / 4));
      const first = median(rss.slice(q, 2 * q)); // after warm-up (JIT, first-poll state)
      const last = median(rss.slice(-q));
      ctx.log(
        `${samples} samples over ${minutes} polls; RSS ${rss.map((x) => x.toFixed(0)).join(' ')} MiB; heap ${heap.map((x) => x.toFixed(0)).join(' ')} MiB`,
      );
      return [
        {
          case: `snmp: RSS polling ${network.cells.length.toLocaleString('en-US')} cells every 60 s for ${minutes} simulated minutes`,
          metric: 'RSS MiB (median of last quarter)',
          ours: last,
          baseline: 'same process, second quarter',
          baselineValue: first,
          higherIsBetter: false,
          target: 'flat (≤ 1.1×)',
          met: last <= first * 1.1,
          note: `read after a full GC each simulated minute; the process also holds the runner and the agents' worker thread (${samples.toLocaleString('en-US')} samples collected)`,
        },
        {
          case: `snmp: heap polling ${network.cells.length.toLocaleString('en-US')} cells every 60 s for ${minutes} simulated minutes`,
          metric: 'heap used MiB after GC (median of last quarter)',
          ours: median(heap.slice(-q)),
          baseline: 'same process, second quarter',
          baselineValue: median(heap.slice(q, 2 * q)),
          higherIsBetter: false,
          target: 'flat (≤ 1.1×)',
          met: median(heap.slice(-q)) <= median(heap.slice(q, 2 * q)) * 1.1,
        },
      ];
    } finally {
      await collector.stop();
      await agents.stop();
    }
  },
};

export const cases: BenchCase[] = [sweepCase, memoryCase];
