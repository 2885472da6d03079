/**
 * The house every part of the daemon is built in. A part is a function `startX(house, needs)` in its
 * own module that constructs its component and registers, right there, everything about it:
 *
 *   house.defer(name, close)            its close, run in reverse start order at stop (lifecycle.ts)
 *   house.onReload(section, apply)      the config section it applies live (reload.ts)
 *   house.bus.on(kind, name, listener)  the events it consumes; house.bus.emit for those it produces (events.ts)
 *   house.routes(register)              its HTTP routes, registered when the API starts — last
 *
 * so daemon/daemon.ts is only the list of parts in start order, and adding a subsystem is one line
 * there plus its own module — not an optional field and edits to start, stop and reload.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock, Scheduler, Timers } from '../../clock/index.js';
import type { Config } from '../../config/index.js';
import type { Metrics } from '../../model/index.js';
import { EventBus, type DaemonEvents } from './events.js';
import { Lifecycle } from './lifecycle.js';
import { ReloadCoordinator, type SectionSubscriber } from './reload.js';

export type RouteModule = (api: FastifyInstance) => void;

export class House {
  readonly bus: EventBus<DaemonEvents>;
  readonly lifecycle: Lifecycle;
  readonly reloads: ReloadCoordinator;
  readonly clock: Clock;
  private readonly routeModules: RouteModule[] = [];
  private readonly rootModules: RouteModule[] = [];

  constructor(
    config: Config,
    readonly log: Logger,
    readonly scheduler: Scheduler,
    readonly timers: Timers,
    readonly metrics: Metrics,
  ) {
    this.clock = scheduler.clock;
    this.bus = new EventBus(log, metrics);
    this.lifecycle = new Lifecycle(log, timers);
    this.reloads = new ReloadCoordinator(config, log);
  }

  /** The running config: the start config with every section a reload applied since. */
  get config(): Config {
    return this.reloads.config;
  }

  defer(name: string, close: () => unknown): void {
    this.lifecycle.defer(name, close);
  }

  onReload<K extends keyof Config>(section: K, apply: SectionSubscriber<K>, opts?: { everyReload?: boolean }): void {
    this.reloads.subscribe(section, apply, opts);
  }

  /** Routes under /api/v1; `{ root: true }` for the few that live at the root (InfluxDB's /write and /ping). */
  routes(register: RouteModule, opts: { root?: boolean } = {}): void {
    (opts.root ? this.rootModules : this.routeModules).push(register);
  }

  /** Route modules registered at the root, in registration order. */
  get rootRouteList(): readonly RouteModule[] {
    return this.rootModules;
  }

  /** The route modules registered so far, in registration order (the API part mounts them under /api/v1). */
  get routeList(): readonly RouteModule[] {
    return this.routeModules;
  }

  /** A child logger for a part. */
  logFor(component: string): Logger {
    return this.log.child({ component });
  }
}

export { EventBus, type DaemonEvents } from './events.js';
export { Lifecycle, type StopFailure } from './lifecycle.js';
export { APPLIED, RESTART, ReloadCoordinator, type ReloadAnswer, type ReloadResult } from './reload.js';
