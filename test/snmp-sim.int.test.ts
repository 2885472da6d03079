/**
 * The SNMP collector against the simulator's agents (net-snmp agents, one per site, counters and
 * sysUpTime on the injected clock): values as the model says, an agent stopped mid-run, restarted
 * (counters and sysUpTime from zero), hung (never answers), SNMPv3, and a sweep with dead sites.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { AcceleratedClock, ManualClock, ManualScheduler, TimerScheduler } from '../clock/index.js';
import { MemoryAccumulator } from '../collectors/index.js';
import { SnmpCollector } from '../collectors/snmp/index.js';
import { parseConfig, type SnmpConfig } from '../config/index.js';
import type { Sample } from '../model/index.js';
import { SimAgents, SimNetwork } from '../sim/index.js';
import { eventually } from './helpers/service.js';
import { PromMetrics } from '../daemon/metrics.js';
import { CellInventory } from '../config/inventory.js';

const MIN = 60_000;
// A Tuesday evening in Shanghai: busy hour, every counter moves.
const T0 = Date.parse('2026-03-03T20:00:00+08:00');
const COMMUNITY = 'snmp-sim-test';
const V3 = { user: 'cwsimv3', authKey: 'sim-auth-key', privKey: 'sim-priv-key' };

async function setup(
  t: Test,
  sites: number,
  targetOverrides: Record<string, unknown> = {},
  snmp: Record<string, unknown> = {},
) {
  const network = SimNetwork.create({
    seed: 11,
    regions: 1,
    sites,
    start: T0 - 86_400_000,
    timezone: 'Asia/Shanghai',
    incidents: 'none',
  });
  const clock = new ManualClock(T0);
  const scheduler = new ManualScheduler(clock);
  const agents = new SimAgents(network, scheduler, { host: '127.0.0.1', basePort: 0, community: COMMUNITY, v3: V3 });
  await agents.start();
  const cfg: SnmpConfig = parseConfig(
    { snmp: { ...snmp, targets: agents.targets().map((x) => ({ ...x, ...targetOverrides })) } },
    { env: {} },
  ).snmp;
  const registry = new Registry();
  const collector = new SnmpCollector(cfg, {
    scheduler,
    log: pino({ level: 'silent' }),
    metrics: new PromMetrics(registry),
    inventory: CellInventory.of(network.cells),
  });
  const acc = new MemoryAccumulator();
  t.teardown(async () => {
    await collector.stop();
    await agents.stop();
    await scheduler.stop();
  });
  return { network, clock, scheduler, agents, collector, acc, registry, cfg };
}

const near = (a: number | undefined, b: number | undefined, tol: number) =>
  a !== undefined && b !== undefined && Math.abs(a - b) <= tol;

/** Does a collected sample say what the model says (at SNMP's integer / kbit/s precision)? */
function matchesModel(s: Sample, want: Sample, withVolume: boolean): boolean {
  if (s.available !== want.available) return false;
  if (!want.available) return true;
  return (
    near(s.dlMbps, want.dlMbps, 0.001) &&
    near(s.ulMbps, want.ulMbps, 0.001) &&
    near(s.activeUsers, want.activeUsers, 0.5) &&
    near(s.rsrpDbm, want.rsrpDbm, 0.5) &&
    near(s.sinrDb, want.sinrDb, 0.005) &&
    near(s.rsrqDb, want.rsrqDb, 0.005) &&
    near(s.prbUtilPct, want.prbUtilPct, 0.5) &&
    (!withVolume || (near(s.dlVolumeMB, want.dlVolumeMB, 1e-6) && near(s.ulVolumeMB, want.ulVolumeMB, 1e-6)))
  );
}

void t.test('agents stopped mid-run, restarted with counters reset, and hung', async (t) => {
  const { network, scheduler, agents, collector, acc, registry } = await setup(t, 6, { timeout: '300ms', retries: 1 });
  await collector.start(acc);
  await scheduler.advance(3 * MIN);
  t.same(
    acc.errors.map((e) => e.err.message),
    [],
    'a healthy network: no errors',
  );
  const at = (ts: number) => acc.samples.filter((s) => s.ts === ts);
  const t3 = T0 + 3 * MIN;
  t.equal(at(t3).length, network.cells.length, 'every cell, every tick');
  t.ok(
    at(t3).every((s) => matchesModel(s, network.sample(s.cell, t3), true)),
    'gauges and volumes as the model says',
  );
  for (const site of network.sites) {
    const link = acc.links.find((l) => l.ts === t3 && l.site === site.id)!;
    const want = network.linkSample(site.id, t3);
    t.ok(
      near(link.inMbps, want.inMbps, 0.01) &&
        near(link.outMbps, want.outMbps, 0.01) &&
        link.speedMbps === want.speedMbps,
      `${site.id}: backhaul rates as the model says (${link.inMbps?.toFixed(1)} Mbit/s)`,
    );
  }

  const [a, b] = [network.sites[1]!, network.sites[4]!];
  // Stopped mid-run: its socket closes.
  await agents.stopAgent(a.id);
  await scheduler.advance(MIN);
  const t4 = T0 + 4 * MIN;
  t.equal(at(t4).filter((s) => a.cells.includes(s.cell)).length, 0, 'no sample from a stopped agent, not even zeros');
  t.equal(at(t4).length, network.cells.length - a.cells.length, 'every other cell still collected');
  t.match(
    acc.gaps.filter((g) => g.ts === t4),
    [
      { target: `cells-${a.id}`, reason: 'timeout', cells: a.cells },
      { target: `bh-${a.id}`, reason: 'timeout', cells: [`bh-${a.id}:1`] },
    ],
    'collection gaps name what went blind',
  );
  t.match(acc.errors.at(-1)?.err.message, new RegExp(`^bh-${a.id}: no answer from 127\\.0\\.0\\.1:\\d+ after 2 tries`));

  // Restarted: counters and sysUpTime from zero.
  await agents.startAgent(a.id);
  await scheduler.advance(MIN);
  const t5 = T0 + 5 * MIN;
  const back = at(t5).filter((s) => a.cells.includes(s.cell));
  t.equal(back.length, a.cells.length, 'samples again after the restart');
  t.ok(
    back.every((s) => s.dlVolumeMB === undefined && s.ulVolumeMB === undefined),
    'no volume across the restart: never a negative or a bogus spike',
  );
  t.ok(
    back.every((s) => matchesModel(s, network.sample(s.cell, t5), false)),
    'gauges are fine right away',
  );
  t.equal(back[0]!.intervalS, 120, 'intervalS spans the missed poll');
  const resetGaps = acc.gaps.filter((g) => g.ts === t5 && g.reason === 'counter-reset');
  t.same(
    resetGaps.map((g) => g.target).sort(),
    [`bh-${a.id}`, `cells-${a.id}`],
    'a counter-reset gap for both targets of the rebooted agent',
  );
  t.match(
    resetGaps.find((g) => g.target === `cells-${a.id}`),
    { detail: /restarted/, cells: a.cells },
  );
  const link5 = acc.links.find((l) => l.ts === t5 && l.site === a.id)!;
  t.notOk('inMbps' in link5 || 'outMbps' in link5, 'no link rate across the restart');
  t.ok(
    (await registry.metrics()).includes(`cellwatch_snmp_counter_resets_total{target="cells-${a.id}"} 1`),
    'counted on /metrics',
  );
  await scheduler.advance(MIN);
  const t6 = T0 + 6 * MIN;
  t.ok(
    at(t6)
      .filter((s) => a.cells.includes(s.cell))
      .every((s) => matchesModel(s, network.sample(s.cell, t6), true)),
    'volumes resume from the new baseline, matching the model',
  );

  // Hung: the port stays bound, nothing answers.
  await agents.blackhole(b.id);
  const started = performance.now();
  await scheduler.advance(MIN);
  const t7 = T0 + 7 * MIN;
  t.equal(acc.gaps.filter((g) => g.ts === t7 && g.reason === 'timeout').length, 2);
  t.equal(at(t7).length, network.cells.length - b.cells.length);
  t.ok(performance.now() - started < 3000, 'a hung agent costs its timeouts, nothing more');
  await scheduler.advance(MIN);
  t.equal(collector.status().find((s) => s.target === `cells-${b.id}`)?.state, 'timeout');
  t.equal(collector.status().find((s) => s.target === `cells-${a.id}`)?.state, 'ok');
});

void t.test('SNMPv3 authPriv (SHA/AES-128) against the simulator', async (t) => {
  const { network, collector, acc, clock } = await setup(t, 2, {
    version: '3',
    community: undefined,
    user: V3.user,
    authProtocol: 'sha',
    authKey: V3.authKey,
    privProtocol: 'aes',
    privKey: V3.privKey,
  });
  clock.set(T0 + MIN);
  for (const s of collector.status()) await collector.pollOnce(s.target, acc, T0 + MIN, new AbortController().signal);
  t.same(
    acc.errors.map((e) => e.err.message),
    [],
  );
  t.equal(acc.samples.length, network.cells.length);
  t.equal(acc.links.length, network.sites.length);
});

void t.test('a sweep over 60 sites with 10 % hung: all live data, a gap per dead target', async (t) => {
  const { network, collector, acc, agents, clock } = await setup(
    t,
    60,
    { timeout: '300ms', retries: 1 },
    { concurrency: 16 },
  );
  const dead = network.sites.filter((_, i) => i % 10 === 3);
  for (const s of dead) await agents.blackhole(s.id);
  clock.set(T0 + MIN);
  const targets = collector.status().map((s) => s.target);
  await Promise.all(targets.map((name) => collector.pollOnce(name, acc, T0 + MIN, new AbortController().signal)));
  const deadCells = new Set(dead.flatMap((s) => s.cells));
  t.equal(acc.samples.length, network.cells.length - deadCells.size, 'every live cell');
  t.ok(acc.samples.every((s) => !deadCells.has(s.cell)));
  t.equal(acc.gaps.length, dead.length * 2, 'one timeout gap per dead target');
  t.ok(acc.gaps.every((g) => g.reason === 'timeout'));
  t.equal(acc.links.length, network.sites.length - dead.length);
});

void t.test('on the demo’s accelerated clock, late answers are not mistaken for agent restarts', async (t) => {
  // Agents and collector share one event loop at 120×: 50 ms of queueing is 6 s of clock time, so a
  // reboot check that stamps a reading at one instant sees sysUpTime "fall behind" and calls it a restart.
  const network = SimNetwork.create({
    seed: 5,
    regions: 1,
    sites: 30,
    start: T0 - 86_400_000,
    timezone: 'Asia/Shanghai',
    incidents: 'none',
  });
  const scheduler = new TimerScheduler(new AcceleratedClock(T0, 120));
  const agents = new SimAgents(network, scheduler, { host: '127.0.0.1', basePort: 0, community: COMMUNITY });
  await agents.start();
  const cfg = parseConfig({ snmp: { targets: agents.targets() } }, { env: {} }).snmp;
  const collector = new SnmpCollector(cfg, {
    scheduler,
    log: pino({ level: 'silent' }),
    metrics: new PromMetrics(new Registry()),
    inventory: CellInventory.of(network.cells),
  });
  const acc = new MemoryAccumulator();
  await collector.start(acc);
  // ~12 polls of each of 60 targets in 6 s; a loaded box gets longer to do 8.
  await eventually(() => acc.samples.length >= 8 * network.cells.length, 30_000);
  await collector.stop();
  await agents.stop();
  await scheduler.stop();
  const polls = acc.samples.length / network.cells.length;
  t.ok(polls >= 8, `polled repeatedly (${polls.toFixed(1)} sweeps)`);
  t.same(
    acc.gaps.filter((g) => g.reason === 'counter-reset'),
    [],
    'no counter-reset gaps: no agent restarted',
  );
  const withVolume = acc.samples.filter((x) => x.dlVolumeMB !== undefined).length;
  t.ok(
    withVolume >= acc.samples.length - 2 * network.cells.length,
    `volumes on every poll after the first (${withVolume}/${acc.samples.length})`,
  );
});

void t.test(
  'a target is never polled twice at once (pollOnce meeting a tick, a reload replacing its job)',
  async (t) => {
    const { agents, collector, acc, network } = await setup(t, 2, { timeout: '1s', retries: 0 });
    const site = network.sites[0]!.id;
    await agents.blackhole(site); // its polls run until their timeout
    const target = `cells-${site}`;
    const first = collector.pollOnce(target, acc, T0 + MIN, new AbortController().signal);
    const started = performance.now();
    await collector.pollOnce(target, acc, T0 + 2 * MIN, new AbortController().signal);
    t.ok(performance.now() - started < 600, 'the second poll does not wait for the first one’s 1 s timeout');
    t.match(acc.gaps, [{ target, ts: T0 + 2 * MIN, reason: 'skipped-overlap' }], 'it is reported as a skipped overlap');
    await first;
    t.match(
      acc.gaps.map((g) => g.reason),
      ['skipped-overlap', 'timeout'],
      'the first poll ends in its own timeout gap',
    );
    await collector.pollOnce(target, acc, T0 + 3 * MIN, new AbortController().signal);
    t.equal(
      acc.gaps.filter((g) => g.reason === 'skipped-overlap').length,
      1,
      'once it is done, the target polls again',
    );
  },
);
