import type { RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { realTimers, type Scheduler, type Timers } from '../clock/index.js';
import type { Config } from '../config/index.js';
import { startAlerting, targetInputs } from './alerting.js';
import { registerAdminRoutes, registerCellRoutes, registerSessionRoutes } from './api/index.js';
import { Authenticator } from './auth.js';
import { BUILT_IN_COLLECTORS, startCollection, type CollectorPlugin } from './collection.js';
import { startComplaints } from './complaints.js';
import { startDetection } from './detection.js';
import { House, type ReloadResult } from './house/index.js';
import { startApi, type Api } from './http.js';
import { startIngest } from './ingest.js';
import { startIntake } from './intake.js';
import { startInventory } from './inventory.js';
import { startLatest } from './latest.js';
import { PromMetrics, createRegistry } from './metrics.js';
import { fillSimulatedHistory, startSimulatedCare, startSimulation, type Simulation } from './simulation.js';
import { startStores } from './stores.js';
import { startEventStream } from './stream/events.js';

export interface DaemonDeps {
  scheduler: Scheduler;
  log: Logger;
  /** Real-time waits (shutdown grace, deadlines); default the real timers. */
  timers?: Timers;
  registry?: Registry;
  /** The collectors to run (default: the built-in ones). */
  collectors?: readonly CollectorPlugin[];
  /** Where SIGHUP and the admin API get the new config from (the CLI re-reads the file). */
  reloadConfig?: () => Config;
  /** Told of every HTTP route as it is registered (tests check that each one is in the API document). */
  onRoute?: (route: RouteOptions) => void;
}

export type { ReloadResult } from './house/index.js';

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** The whole stop — every part's close — gets this long; the CLI's hard exit comes after it. */
const STOP_DEADLINE_MS = 8_000;

/**
 * The running cellwatch. `build` is the list of parts in start order; each part registers its own
 * close, reload subscription, events and routes with the house (daemon/house/index.ts), and stop runs
 * the closes in reverse: API first (no new work in), then the collectors (no new polls), then the
 * ingest drain (what they handed over reaches the pipeline), the simulator, and the stores last (flush
 * and close). Start and stop are idempotent; stop is the one path for SIGTERM, SIGINT, a failed
 * start, and tests.
 */
export class Daemon {
  readonly registry: Registry;
  private readonly house: House;
  private readonly auth: Authenticator;
  private state: State = 'new';
  private starting?: Promise<void>;
  /** The bare start sequence: stop() waits for it (never for `starting`, which may be waiting for stop). */
  private startRun?: Promise<void>;
  private stopping?: Promise<void>;
  private api?: Api;
  private sim?: Simulation;
  private readonly readyGauge;

  constructor(
    cfg: Config,
    private readonly deps: DaemonDeps,
  ) {
    this.registry = deps.registry ?? createRegistry();
    this.house = new House(cfg, deps.log, deps.scheduler, deps.timers ?? realTimers, new PromMetrics(this.registry));
    this.auth = new Authenticator(cfg.auth);
    this.readyGauge = this.house.metrics.gauge({
      name: 'cellwatch_ready',
      help: '1 when the daemon is started and serving',
    });
  }

  private async build(h: House): Promise<void> {
    const stores = await startStores(h);
    this.sim = await startSimulation(h, { records: stores.records });
    const inventory = startInventory(h, this.sim);
    const latest = await startLatest(h, stores.reader);
    const sim = this.sim;
    // The baselines' seed (weeks of hourly means) stops where the demo's computed past begins: those
    // hours get the past's own samples.
    const seedUntil = (until: number) => until - h.config.sim.history;
    const detection = await startDetection(h, {
      records: stores.records,
      reader: stores.reader,
      inventory,
      ...(sim ? { past: (until: number) => sim.history(seedUntil(until)) } : {}),
    });
    // The demo's past goes in before the alerts and complaints start: they find it as after a restart.
    const simFrom = await fillSimulatedHistory(h, this.sim, {
      writer: stores.writer,
      inventory,
      detector: detection.detector,
    });
    const listen = h.config.http.listen;
    const alerting = startAlerting(h, {
      records: stores.records,
      inventory,
      externalURL: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`,
    });
    const complaints = startComplaints(h, {
      records: stores.records,
      windows: detection.windows,
      inventory,
      alerts: (inputs) => alerting.handle(inputs),
      openAlerts: (where) => alerting.manager.active(where),
    });
    // Before the alerts resume: what the restart resolves is in the stream's history too.
    startEventStream(h, this.auth);
    // What holds now, before anything is collected: the alerts resume from it.
    const down = stores.backendDown();
    alerting.resume([
      ...detection.detector.openWindows().map((window) => ({
        type: 'window' as const,
        event: { change: 'opened' as const, window, at: window.lastBad },
      })),
      ...targetInputs(detection.targets({ from: detection.today(), to: detection.today() })),
      ...complaints.alertConditions(h.clock.now()),
      ...(down ? [{ type: 'store' as const, event: down }] : []),
    ]);
    startSimulatedCare(h, this.sim, complaints, simFrom);
    const ingest = startIngest(h, stores.writer, inventory);
    startIntake(h, ingest);
    const collection = await startCollection(h, this.deps.collectors ?? BUILT_IN_COLLECTORS, {
      ingest,
      inventory,
      simulation: this.sim,
    });
    h.routes((api) =>
      registerCellRoutes(api, {
        clock: h.clock,
        inventory,
        latest: (cells) => latest.latest(cells),
        collection: () => collection.status(),
        detection: (cell) => ({ ...detection.cellView(cell) }),
        series: (cell, from, to, stepMs) => stores.reader.series(cell, from, to, stepMs),
      }),
    );
    h.routes((api) => registerAdminRoutes(api, { reload: () => this.reload() }));
    h.routes((api) => registerSessionRoutes(api, { auth: this.auth, config: () => h.config }));
    this.api = await startApi(h, {
      auth: this.auth,
      registry: this.registry,
      isReady: () => this.ready,
      onRoute: this.deps.onRoute,
    });
    // Listening on port 0 (tests, a demo whose port was taken), the board's address is known only now.
    if (h.config.alerts.externalURL === undefined) alerting.manager.setExternalURL(this.api.url);
    h.log.info(
      { url: this.url, parts: h.lifecycle.names, cells: inventory().size, store: h.config.store.kind },
      'cellwatch running',
    );
  }

  get url(): string | undefined {
    return this.api?.url;
  }

  get ready(): boolean {
    return this.state === 'running';
  }

  /** The simulated network, when the daemon runs one (demo). */
  get simulation(): Simulation | undefined {
    return this.sim;
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      this.startRun = this.doStart();
      try {
        await this.startRun;
      } catch (err) {
        this.house.log.error({ err }, 'start failed; stopping what was started');
        await this.stop();
        throw err;
      }
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /**
   * Applies a changed config without a restart: each part applies the sections it subscribed to;
   * every other changed section is reported in `restartNeeded` and keeps its running value. Without
   * an argument the config is fetched from `deps.reloadConfig` (a bad file throws its ConfigError and
   * the running config stays).
   */
  async reload(next: Config = this.deps.reloadConfig?.() ?? this.house.config): Promise<ReloadResult> {
    return this.house.reloads.reload(next);
  }

  private async doStart(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    await this.build(this.house);
    this.state = 'running';
    this.readyGauge.set(1);
  }

  private async doStop(): Promise<void> {
    if (this.startRun) await this.startRun.catch(() => undefined);
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    this.readyGauge.set(0);
    await this.house.lifecycle.closeAll(STOP_DEADLINE_MS);
    this.state = 'stopped';
    this.house.log.info('cellwatch stopped');
  }
}
