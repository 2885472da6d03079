import { SimAgents, SimNetwork } from '../sim/index.js';
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
