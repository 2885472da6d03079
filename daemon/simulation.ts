import { SimAgents, SimNetwork, careEvents, type CareEvent } from '../sim/index.js';
import type { Complaints } from './complaints.js';
import type { House } from './house/index.js';

export interface Simulation {
  network: SimNetwork;
  agents: SimAgents;
  /** Clock ms between the agents' updates, and the poll interval of their targets. */
  intervalMs: number;
}

/** The simulated network (demo): one SNMP agent per site on loopback, stepped by the daemon's scheduler. */
export async function startSimulation(h: House): Promise<Simulation | undefined> {
  const cfg = h.config;
  if (!cfg.sim.enabled) return undefined;
  const network = SimNetwork.create({
    seed: cfg.sim.seed,
    regions: cfg.sim.regions,
    sites: cfg.sim.sites,
    start: cfg.sim.start ?? h.clock.now(),
    timezone: cfg.timezone,
  });
  if (cfg.sim.scenario === 'opening') openingScenario(network, h.clock.now());
  const agents = new SimAgents(network, h.scheduler, {
    host: cfg.sim.host,
    basePort: cfg.sim.basePort,
    community: cfg.sim.community.reveal(),
    stepMs: cfg.sim.interval,
  });
  await agents.start();
  h.defer('simulation', () => agents.stop());
  h.logFor('sim').info(
    { sites: network.sites.length, cells: network.cells.length, agents: agents.endpoints.length },
    'simulated network started',
  );
  return { network, agents, intervalMs: cfg.sim.interval };
}

const MIN = 60_000;

/**
 * The demo's first hour: one incident of each kind on sites taken from the end of the list (the first
 * sites stay healthy, so a look at "the first cell" shows a normal one), starting within minutes and
 * lasting long enough for windows (two 5-min polls), alerts and complaints to follow.
 */
export function openingScenario(network: SimNetwork, start: number): void {
  const sites = [...network.sites].reverse();
  const plan = [
    { kind: 'congestion', after: 5, minutes: 55, severity: 0.8, cells: 1 },
    { kind: 'outage', after: 10, minutes: 40, severity: 1, cells: 0 },
    { kind: 'backhaul', after: 20, minutes: 60, severity: 0.9, cells: 0 },
    { kind: 'interference', after: 30, minutes: 45, severity: 0.8, cells: 1 },
    { kind: 'coverage', after: 40, minutes: 60, severity: 0.9, cells: 1 },
  ] as const;
  plan.forEach((p, i) => {
    const site = sites[i];
    if (!site) return;
    network.addIncident({
      kind: p.kind,
      site: site.id,
      // 0: the whole site; otherwise its first cells.
      cells: p.cells === 0 ? [] : site.cells.slice(0, p.cells),
      start: start + p.after * MIN,
      end: start + (p.after + p.minutes) * MIN,
      severity: p.severity,
    });
  });
}

/**
 * The simulated customers and care desk (demo): every poll interval, the complaints the simulator's
 * customers filed since the last one go through the same intake as the API's, and the desk's answers,
 * resolutions and feedback (sim/care.ts) are recorded as their times come. Events still pending at a
 * restart are not replayed: the demo's desk forgets what it had planned.
 */
export function startSimulatedCare(h: House, sim: Simulation | undefined, complaints: Complaints): void {
  if (!sim) return;
  const log = h.logFor('sim-care');
  const seed = h.config.sim.seed;
  let since = h.clock.now();
  const pending: { id: string; event: CareEvent }[] = [];
  const job = h.scheduler.every('sim:complaints', sim.intervalMs, (tick) => {
    const filed = sim.network.complaints(since, tick).map(({ cause: _cause, ...c }) => c);
    since = tick;
    if (filed.length > 0) {
      const result = complaints.intake(filed, 'json');
      if ('error' in result) log.warn({ error: result.error }, 'simulated complaints refused');
      else if (result.rejected.length > 0)
        log.warn({ rejected: result.rejected.slice(0, 5) }, 'simulated complaints rejected');
      for (const c of filed) for (const event of careEvents(seed, c)) pending.push({ id: c.id, event });
      pending.sort((a, b) => a.event.at - b.event.at);
    }
    let due = 0;
    while (due < pending.length && pending[due]!.event.at <= tick) due++;
    for (const { id, event } of pending.splice(0, due)) complaints.records.addEvent(id, event);
  });
  h.defer('sim-care', () => job.cancel());
}
