import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Scheduler } from '../clock/index.js';
import { SnmpCollector } from '../collectors/snmp/index.js';
import { Secret, fingerprint, type Config, type SnmpConfig, type SnmpTargetConfig } from '../config/index.js';
import { loadInventoryFile } from '../config/inventory.js';
import type { Cell } from '../model/index.js';
import { SimAgents, SimNetwork } from '../sim/index.js';
import type { SeriesReader } from '../store/index.js';
import { openStores, type StoreEvent, type Stores } from '../store/open.js';
import { registerApi } from './api/index.js';
import { Authenticator, isLoopback } from './auth.js';
import { createHttpServer, planListen } from './http.js';
import { Ingest } from './ingest.js';
import { LatestSamples } from './latest.js';
import { IngestMetrics, createRegistry } from './metrics.js';

export interface DaemonDeps {
  scheduler: Scheduler;
  log: Logger;
  registry?: Registry;
  /** Where SIGHUP and the admin API get the new config from (the CLI re-reads the file). */
  reloadConfig?: () => Config;
}

export interface ReloadResult {
  /** Sections that changed but keep their running values until a restart. */
  restartNeeded: string[];
  snmp?: unknown;
  inventory?: number;
  /** API tokens now in force, when the reload changed them. */
  tokens?: number;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The running cellwatch: wires config → stores → (simulator) → collectors → HTTP API, and takes them
 * down in the opposite order. Start and stop are idempotent; stop is the one path for SIGTERM, SIGINT,
 * a failed start, and tests.
 *
 * Stop order matters for "nothing accepted is lost": first the API (no new work in), then the
 * collectors (no new polls), then drain what they already handed over, then flush the writer and
 * close the stores.
 */
export class Daemon {
  readonly registry: Registry;
  private state: State = 'new';
  private starting?: Promise<void>;
  /** The bare start sequence: stop() waits for it (never for `starting`, which may be waiting for stop). */
  private startRun?: Promise<void>;
  private stopping?: Promise<void>;
  private stores?: Stores;
  private http?: FastifyInstance;
  private snmp?: SnmpCollector;
  private ingest?: Ingest;
  private sim?: { network: SimNetwork; agents: SimAgents };
  private inventory: ReadonlyMap<string, Cell> = new Map();
  private listening?: { host: string; port: number };
  private readonly metrics: IngestMetrics;
  private readonly auth: Authenticator;
  private readonly latest = new LatestSamples();
  private readonly log: Logger;

  constructor(
    private cfg: Config,
    private readonly deps: DaemonDeps,
  ) {
    this.registry = deps.registry ?? createRegistry();
    this.metrics = new IngestMetrics(this.registry);
    this.auth = new Authenticator(cfg.auth);
    this.log = deps.log;
  }

  get url(): string | undefined {
    if (!this.listening) return undefined;
    const host = this.listening.host.includes(':') ? `[${this.listening.host}]` : this.listening.host;
    return `http://${host}:${this.listening.port}`;
  }

  get ready(): boolean {
    return this.state === 'running';
  }

  /** The simulated network, when the daemon runs one (demo). */
  get simulation(): { network: SimNetwork; agents: SimAgents } | undefined {
    return this.sim;
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      this.startRun = this.doStart();
      try {
        await this.startRun;
      } catch (err) {
        this.log.error({ err }, 'start failed; stopping what was started');
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
   * Applies a changed config without a restart: SNMP targets, the inventory and the API tokens.
   * Other sections (listen address, store, data dir, simulator, time zone) need one and are reported
   * in `restartNeeded`. Without an argument the config is fetched from `deps.reloadConfig` (a bad file throws its
   * ConfigError and the running config stays).
   */
  async reload(next: Config = this.deps.reloadConfig?.() ?? this.cfg): Promise<ReloadResult> {
    // Compared by fingerprint, which sees rotated secrets (JSON would print them all as "[redacted]").
    const changed = (k: keyof Config) => fingerprint(this.cfg[k]) !== fingerprint(next[k]);
    const restartNeeded: string[] = (['http', 'store', 'dataDir', 'sim', 'timezone'] as const).filter(changed);
    const result: ReloadResult = { restartNeeded };
    let auth = this.cfg.auth;
    if (changed('auth')) {
      // Tokens rotate live: a leaked token must stop working without a restart. Dropping every token
      // is the one change that waits for a restart when we listen beyond loopback (it would open the API).
      if (next.auth.tokens.length === 0 && this.listening && !isLoopback(this.listening.host)) {
        restartNeeded.push('auth');
      } else {
        this.auth.update(next.auth);
        auth = next.auth;
        result.tokens = next.auth.tokens.length;
      }
    }
    if (restartNeeded.length > 0)
      this.log.warn(
        { sections: restartNeeded },
        'config sections changed that need a restart; kept the running values',
      );
    if (!this.sim && next.inventory) {
      this.inventory = this.loadInventory(next.inventory);
      result.inventory = this.inventory.size;
    }
    this.cfg = {
      ...this.cfg,
      auth,
      snmp: next.snmp,
      inventory: next.inventory,
      experience: next.experience,
      target: next.target,
      alerts: next.alerts,
    };
    // A re-read inventory goes along so that rows of id-less vendor tables are re-mapped too; otherwise
    // the collector keeps the index it has.
    if (this.snmp)
      result.snmp = await this.snmp.reload(
        this.snmpConfig(),
        result.inventory !== undefined ? this.inventory : undefined,
      );
    this.log.info(result, 'config reloaded');
    return result;
  }

  private async doStart(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    const { scheduler } = this.deps;
    const cfg = this.cfg;
    mkdirSync(cfg.dataDir, { recursive: true });

    this.stores = await openStores(cfg.store, {
      dataDir: cfg.dataDir,
      clock: scheduler.clock,
      log: this.log.child({ component: 'store' }),
      registry: this.registry,
      onEvent: (e) => this.onStoreEvent(e),
    });
    const stores = this.stores;
    await this.latest.seed(stores.reader);

    await this.startHttp();

    if (cfg.sim.enabled) {
      const network = SimNetwork.create({
        seed: cfg.sim.seed,
        regions: cfg.sim.regions,
        sites: cfg.sim.sites,
        start: cfg.sim.start ?? scheduler.clock.now(),
        timezone: cfg.timezone,
      });
      const agents = new SimAgents(network, scheduler, {
        host: cfg.sim.host,
        basePort: cfg.sim.basePort,
        community: cfg.sim.community.reveal(),
      });
      this.sim = { network, agents };
      await agents.start();
      this.inventory = new Map(network.cells.map((c) => [c.id, c]));
      this.log.info(
        { sites: network.sites.length, cells: network.cells.length, agents: agents.endpoints.length },
        'simulated network started',
      );
    } else if (cfg.inventory) {
      this.inventory = this.loadInventory(cfg.inventory);
    }

    this.ingest = new Ingest({
      writer: stores.writer,
      recordGaps: (gaps) => stores.records.addGaps(gaps),
      inventory: () => this.inventory,
      metrics: this.metrics,
      log: this.log.child({ component: 'ingest' }),
      onSamples: (samples) => this.latest.update(samples),
    });
    this.snmp = new SnmpCollector(this.snmpConfig(), {
      scheduler,
      log: this.log.child({ component: 'snmp' }),
      registry: this.registry,
      inventory: this.inventory,
    });
    await this.snmp.start(this.ingest);

    this.state = 'running';
    this.metrics.ready.set(1);
    this.log.info(
      { url: this.url, targets: this.snmp.status().length, cells: this.inventory.size, store: cfg.store.kind },
      'cellwatch running',
    );
  }

  private async startHttp(): Promise<void> {
    const plan = planListen(this.cfg.http, this.cfg.auth);
    if (plan.warning) this.log.warn(plan.warning);
    const app = createHttpServer({
      cfg: this.cfg.http,
      auth: this.auth,
      log: this.log,
      registry: this.registry,
      isReady: () => this.ready,
    });
    registerApi(app, {
      clock: this.deps.scheduler.clock,
      inventory: () => this.inventory,
      reader: this.apiReader(this.stores!.reader),
      targets: () => this.snmp?.status() ?? [],
      reload: () => this.reload(),
    });
    await app.listen({ host: plan.host, port: plan.port });
    this.http = app;
    const addr = app.server.address();
    this.listening =
      addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : { host: plan.host, port: plan.port };
  }

  private async doStop(): Promise<void> {
    if (this.startRun) await this.startRun.catch(() => undefined);
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    this.metrics.ready.set(0);
    const step = async (name: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (err) {
        this.log.error({ err, step: name }, 'error while stopping; continuing');
      }
    };
    await step('http', () => this.closeHttp());
    await step('snmp', () => this.snmp?.stop());
    await step('ingest', () => this.ingest?.drain());
    await step('sim', () => this.sim?.agents.stop());
    await step('stores', () => this.stores?.close());
    this.state = 'stopped';
    this.log.info('cellwatch stopped');
  }

  /** The store's reader, with `latest` answered from memory (see LatestSamples). */
  private apiReader(store: SeriesReader): SeriesReader {
    return {
      latest: async (cells) => this.latest.latest(cells),
      latestLinks: () => store.latestLinks(),
      series: (cell, from, to, resolutionMs) => store.series(cell, from, to, resolutionMs),
      hourly: (from, to, cells) => store.hourly(from, to, cells),
    };
  }

  /**
   * Stops accepting, lets requests in flight finish for `http.shutdownGrace`, then cuts the
   * connections still open (a slow client must not hold the whole stop past its deadline).
   */
  private async closeHttp(): Promise<void> {
    const app = this.http;
    if (!app) return;
    const closed = app.close();
    const timer = setTimeout(() => {
      this.log.warn(
        { graceMs: this.cfg.http.shutdownGrace },
        'HTTP requests still open after the shutdown grace; closing their connections',
      );
      app.server.closeAllConnections();
    }, this.cfg.http.shutdownGrace);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private snmpConfig(): SnmpConfig {
    const simTargets: SnmpTargetConfig[] = (this.sim?.agents.targets() ?? []).map((t) => ({
      name: t.name,
      host: t.host,
      port: t.port,
      version: t.version,
      community: new Secret(t.community),
      profile: t.profile,
      site: t.site,
    }));
    return { ...this.cfg.snmp, targets: [...this.cfg.snmp.targets, ...simTargets] };
  }

  private loadInventory(file: string): ReadonlyMap<string, Cell> {
    const { cells, problems } = loadInventoryFile(file);
    for (const p of problems) this.log.warn({ inventory: file }, `inventory row rejected: ${p}`);
    this.log.info({ inventory: file, cells: cells.length, rejected: problems.length }, 'inventory loaded');
    return new Map(cells.map((c) => [c.id, c]));
  }

  private onStoreEvent(e: StoreEvent): void {
    const level = e.kind === 'backend-up' ? 'info' : e.kind === 'backend-down' ? 'warn' : 'error';
    this.log[level]({ event: e }, `store: ${e.kind}`);
  }
}
