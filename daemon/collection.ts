import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Scheduler, Timers } from '../clock/index.js';
import type { Accumulator, TargetStatus } from '../collectors/index.js';
import { ProbeCollector } from '../collectors/probe/index.js';
import { SnmpCollector } from '../collectors/snmp/index.js';
import { Secret, type Config, type SnmpConfig, type SnmpTargetConfig } from '../config/index.js';
import type { Inventory, Metrics } from '../model/index.js';
import { listOf } from './api/index.js';
import type { House } from './house/index.js';
import type { Ingest } from './ingest.js';
import type { Simulation } from './simulation.js';

/** What a collector plugin is built with. */
export interface CollectorEnv {
  scheduler: Scheduler;
  timers: Timers;
  log: Logger;
  metrics: Metrics;
  inventory: Inventory;
  /** The demo's simulated network, whose agents are targets too. */
  simulation?: Simulation;
}

/** A running collector as the daemon drives it. */
export interface PluggedCollector {
  start(acc: Accumulator): Promise<void>;
  stop(): Promise<void>;
  /** Applies a changed config section; the result is reported under the plugin's kind. */
  reload(cfg: Config): Promise<unknown>;
  status(): TargetStatus[];
  setInventory(inventory: Inventory): void;
}

/**
 * One kind of collector, as registered with the daemon: built from the config, reloaded from its
 * section. Probes register here the same way SNMP does.
 */
export interface CollectorPlugin {
  readonly kind: string;
  readonly section: keyof Config;
  /**
   * Sections that belong to this collector's other command and that the daemon reads nothing from
   * (probe mode's `central`): a change to them is applied by keeping it, not a restart.
   */
  readonly inertSections?: readonly (keyof Config)[];
  create(cfg: Config, env: CollectorEnv): PluggedCollector;
}

/** The simulator's agents as SNMP targets, after the configured ones. */
function snmpWithSimulation(snmp: SnmpConfig, sim: Simulation | undefined): SnmpConfig {
  const simTargets: SnmpTargetConfig[] = (sim?.agents.targets() ?? []).map((t) => ({
    name: t.name,
    host: t.host,
    port: t.port,
    version: t.version,
    community: new Secret(t.community),
    profile: t.profile,
    site: t.site,
    interval: sim!.intervalMs,
  }));
  return { ...snmp, targets: [...snmp.targets, ...simTargets] };
}

export const snmpCollectorPlugin: CollectorPlugin = {
  kind: 'snmp',
  section: 'snmp',
  create(cfg, env) {
    const collector = new SnmpCollector(snmpWithSimulation(cfg.snmp, env.simulation), env);
    return {
      start: (acc) => collector.start(acc),
      stop: () => collector.stop(),
      reload: (next) => collector.reload(snmpWithSimulation(next.snmp, env.simulation)),
      status: () => collector.status(),
      setInventory: (inventory) => collector.setInventory(inventory),
    };
  },
};

/** Active probes (docs/probes.md); `central` is for `cellwatch probe` on a device, the daemon ignores it. */
export const probeCollectorPlugin: CollectorPlugin = {
  kind: 'probe',
  section: 'probes',
  inertSections: ['central'],
  create(cfg, env) {
    const collector = new ProbeCollector(cfg.probes, env);
    return {
      start: (acc) => collector.start(acc),
      stop: () => collector.stop(),
      reload: async (next) => collector.reload(next.probes),
      status: () => collector.status(),
      setInventory: (inventory) => collector.setInventory(inventory),
    };
  },
};

/** The collectors a daemon runs unless told otherwise. */
export const BUILT_IN_COLLECTORS: readonly CollectorPlugin[] = [snmpCollectorPlugin, probeCollectorPlugin];

export interface Collection {
  /** Every collector's targets: state, last success, gap reason. */
  status(): TargetStatus[];
}

/**
 * The collection part: builds every registered collector, starts them reporting into the ingest
 * accumulator, reloads each from its config section, keeps their inventory current. Started after
 * everything they report into exists, stopped right after the API.
 */
export async function startCollection(
  h: House,
  plugins: readonly CollectorPlugin[],
  needs: { ingest: Ingest; inventory: () => Inventory; simulation: Simulation | undefined },
): Promise<Collection> {
  // Which targets are polled: a gap alert of a target that left the configuration has nothing to end it.
  const announce = () =>
    h.bus.emit('monitored', {
      at: h.clock.now(),
      targets: running.flatMap((r) => r.collector.status()).map((s) => s.target),
    });
  const running = plugins.map((plugin) => {
    const collector = plugin.create(h.config, {
      scheduler: h.scheduler,
      timers: h.timers,
      log: h.logFor(plugin.kind),
      metrics: h.metrics,
      inventory: needs.inventory(),
      ...(needs.simulation ? { simulation: needs.simulation } : {}),
    });
    h.onReload(plugin.section, async (_next, _prev, cfg) => {
      const report = await collector.reload(cfg);
      announce();
      return { applied: true, report: { [plugin.kind]: report } };
    });
    for (const section of plugin.inertSections ?? []) h.onReload(section, () => ({ applied: true }));
    return { plugin, collector };
  });
  h.bus.on('inventory', 'collectors', (e) => {
    for (const r of running) r.collector.setInventory(e.inventory);
  });
  for (const { plugin, collector } of running) await collector.start(needs.ingest.accumulator(plugin.kind));
  h.defer('collectors', () => Promise.all(running.map((r) => r.collector.stop())));
  const collection: Collection = { status: () => running.flatMap((r) => r.collector.status()) };
  announce();
  h.routes((api) => registerCollectionRoutes(api, collection, h));
  return collection;
}

function registerCollectionRoutes(api: FastifyInstance, collection: Collection, h: House): void {
  /** Collection health per target: a dead collector must not look like a dead network. */
  const handler = async () => {
    const targets = collection.status();
    return { at: h.clock.now(), count: targets.length, targets };
  };
  const doc = {
    summary: "Collection health: every collector's targets, state, last success, gap reason",
    responses: {
      200: {
        description: 'The targets.',
        schema: listOf(
          'targets',
          z.looseObject({ target: z.string(), collector: z.string(), state: z.string() }),
        ).extend({ at: z.number() }),
      },
    },
  };
  api.get('/collection', { config: { permission: 'read', doc } }, handler);
}
