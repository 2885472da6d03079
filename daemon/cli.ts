#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { AcceleratedClock, SystemClock, TimerScheduler, holdProcessOpen, realTimers } from '../clock/index.js';
import {
  ConfigError,
  DEFAULT_SIM_REGIONS,
  loadConfigFile,
  parseConfig,
  readRawConfig,
  type Config,
} from '../config/index.js';
import { parseListen } from '../config/units.js';
import { loadInventoryFile } from '../config/inventory.js';
import type { Daemon } from './daemon.js';
import { packageRoot } from './paths.js';
import { registerAnalyzeCommand } from './analyze.js';
import { registerContextCommand } from './context.js';
import { registerImportCommand } from './import.js';
import { registerTailCommand } from './tail.js';

/*
 * The daemon, the probes and the simulator are imported by the commands that run them: `analyze`,
 * `tail` and the others should not pay for loading the whole daemon (~0.4 s) before they start.
 */

/** SIGTERM must end the process well inside systemd's default 90 s, and inside the 10 s we promise. */
const STOP_DEADLINE_MS = 9_000;
const EXIT_CONFIG = 2;

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

function readConfig(file: string | undefined): Config {
  return file ? loadConfigFile(file) : parseConfig({});
}

function failConfig(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}

async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port }, () => probe.close(() => resolve(true)));
  });
}

async function runDaemon(
  cfg: Config,
  configFile: string | undefined,
  banner?: (d: Daemon, now: number) => string,
): Promise<void> {
  const [{ Daemon }, { createLogger }] = await Promise.all([import('./daemon.js'), import('./log.js')]);
  const log = createLogger(cfg.log);
  const wall = new SystemClock();
  const clock = cfg.sim.enabled ? new AcceleratedClock(cfg.sim.start ?? wall.now(), cfg.sim.rate) : wall;
  const scheduler = new TimerScheduler(clock, (err, job, tick) =>
    log.error({ err, job, tick }, 'scheduled job failed'),
  );
  const daemon = new Daemon(cfg, {
    scheduler,
    log,
    ...(configFile ? { reloadConfig: () => loadConfigFile(configFile) } : {}),
  });

  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    log.info({ signal }, 'stopping');
    realTimers.after(STOP_DEADLINE_MS, () => {
      log.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time; exiting');
      process.exit(1);
    });
    void (async () => {
      await daemon.stop();
      await scheduler.stop({ abort: true });
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading configuration');
    daemon
      .reload()
      .catch((err: unknown) =>
        log.error(
          { err: err instanceof ConfigError ? err.problems : err },
          'reload failed; keeping the running configuration',
        ),
      );
  });

  try {
    await daemon.start();
  } catch (err) {
    log.fatal({ err }, 'cellwatch could not start');
    process.exit(1);
  }
  if (banner) process.stdout.write(banner(daemon, clock.now()) + '\n');
}

const program = new Command('cellwatch')
  .description('Network-quality monitor for mobile operators')
  .version(version)
  .showHelpAfterError();

program
  .command('run')
  .description('run the daemon')
  .option('-c, --config <file>', 'YAML or JSON config file (default: embedded defaults)')
  .action(async (opts: { config?: string }) => {
    let cfg: Config;
    try {
      cfg = readConfig(opts.config);
    } catch (err) {
      failConfig(err);
    }
    await runDaemon(cfg, opts.config);
  });

/** A flag's text as the number the schema checks (a non-number fails there, with the key's path). */
const number = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));

interface DemoFlags {
  config?: string;
  listen?: string;
  sites?: number;
  rate?: number;
  seed?: number;
  dataDir?: string;
  start?: string;
  history?: string;
}

/**
 * The demo's config: the file (if any) with the simulator switched on and the flags merged into its
 * raw form, then validated once — a flag is checked by the same schema, with the same messages, as
 * the key it sets.
 */
async function demoConfig(opts: DemoFlags): Promise<Config> {
  const { raw, baseDir } = opts.config ? readRawConfig(opts.config) : { raw: {}, baseDir: process.cwd() };
  const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const sim: Record<string, unknown> = { scenario: 'opening', history: '1d', ...obj(raw.sim), enabled: true };
  if (opts.sites !== undefined) {
    sim.sites = opts.sites;
    // `demo --sites 2` should just work: fewer regions rather than an error about a flag not given.
    if (sim.regions === undefined && Number.isFinite(opts.sites)) {
      sim.regions = Math.max(1, Math.min(DEFAULT_SIM_REGIONS, opts.sites));
    }
  }
  if (opts.rate !== undefined) sim.rate = opts.rate;
  if (opts.seed !== undefined) sim.seed = opts.seed;
  if (opts.start !== undefined) sim.start = opts.start;
  if (opts.history !== undefined) sim.history = opts.history;
  const http = { ...obj(raw.http) };
  if (opts.listen !== undefined) http.listen = opts.listen;
  else {
    const planned = parseListen(typeof http.listen === 'string' ? http.listen : '127.0.0.1:8080');
    if (planned && !(await portIsFree(planned.host, planned.port))) {
      process.stderr.write(`port ${planned.port} is taken; using a free port\n`);
      http.listen = `${planned.host.includes(':') ? `[${planned.host}]` : planned.host}:0`;
    }
  }
  const merged: Record<string, unknown> = { ...raw, sim, http };
  if (opts.dataDir !== undefined) merged.dataDir = resolve(opts.dataDir);
  return parseConfig(merged, { baseDir });
}

program
  .command('demo')
  .description('run the daemon on a built-in simulated network (embedded store, board on localhost)')
  .option('-c, --config <file>', 'config file to start from (the simulator is switched on)')
  .option('--listen <host:port>', 'HTTP listen address (default 127.0.0.1:8080, or a free port if taken)')
  .option('--sites <n>', 'simulated sites (3–6 cells each)', number)
  .option('--rate <x>', 'simulated seconds per real second', number)
  .option('--seed <n>', 'simulation seed', number)
  .option('--start <time>', 'simulated start time, ISO 8601 with offset (default: now)')
  .option('--history <duration>', 'simulated time computed before going live, e.g. 3d (0s: none)')
  .option('--data-dir <dir>', 'data directory')
  .action(async (opts: DemoFlags) => {
    let cfg: Config;
    try {
      cfg = await demoConfig(opts);
    } catch (err) {
      failConfig(err);
    }
    // Also past a --start: a data dir left ahead of it would put every new sample hours late.
    const { resumedSimTime } = await import('./simulation.js');
    const resume = resumedSimTime(cfg.dataDir, cfg.sim.start ?? new SystemClock().now());
    if (resume !== undefined) cfg = { ...cfg, sim: { ...cfg.sim, start: resume } };
    await runDaemon(cfg, opts.config, (d, now) => {
      const sim = d.simulation;
      const local = (ms: number) =>
        new Date(ms).toLocaleString('sv-SE', { timeZone: cfg.timezone }).slice(0, 16) + ` ${cfg.timezone}`;
      const past = sim?.past ? `, simulated past from ${local(sim.past.from)}` : '';
      return [
        '',
        `  cellwatch demo — ${sim?.network.sites.length ?? 0} simulated sites, ${sim?.network.cells.length ?? 0} cells, clock ${cfg.sim.rate}× real time`,
        `  time:   ${local(now)}${past}`,
        ...(resume !== undefined
          ? [`  resumed at ${new Date(resume).toISOString()}, where the last run on this data dir stopped`]
          : []),
        `  board:  ${d.url}/`,
        `  cells:  curl ${d.url}/api/v1/cells`,
        `  stop:   Ctrl-C`,
        '',
      ].join('\n');
    });
  });

/**
 * `cellwatch probe`: only the probes, pushing to the central daemon (daemon/probe-mode.ts). Signals as
 * for `run`: SIGTERM/SIGINT stop (sending what is buffered for up to 3 s), SIGHUP re-reads the file.
 */
async function runProbeMode(cfg: Config, configFile: string): Promise<void> {
  const [{ ProbeMode }, { createLogger }, { PromMetrics, createRegistry }] = await Promise.all([
    import('./probe-mode.js'),
    import('./log.js'),
    import('./metrics.js'),
  ]);
  const log = createLogger(cfg.log);
  const scheduler = new TimerScheduler(new SystemClock(), (err, job, tick) =>
    log.error({ err, job, tick }, 'scheduled job failed'),
  );
  const probeMode = new ProbeMode(cfg, { scheduler, log, metrics: new PromMetrics(createRegistry()) });
  const release = holdProcessOpen();
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1);
    log.info({ signal }, 'stopping');
    realTimers.after(STOP_DEADLINE_MS, () => {
      log.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time; exiting');
      process.exit(1);
    });
    void (async () => {
      await probeMode.stop();
      await scheduler.stop({ abort: true });
      release();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading configuration');
    void (async () => {
      try {
        log.info(await probeMode.reload(loadConfigFile(configFile)), 'configuration reloaded');
      } catch (err) {
        log.error(
          { err: err instanceof ConfigError ? err.problems : err },
          'reload failed; keeping the running configuration',
        );
      }
    })();
  });
  try {
    await probeMode.start();
  } catch (err) {
    log.fatal({ err }, 'cellwatch probe could not start');
    process.exit(1);
  }
}

program
  .command('probe')
  .description('run only the probes (no store, no API) and push their results to a central cellwatch')
  .requiredOption('-c, --config <file>', 'YAML or JSON config file with probes and central')
  .action(async (opts: { config: string }) => {
    let cfg: Config;
    try {
      cfg = loadConfigFile(opts.config);
      if (!cfg.central)
        throw new ConfigError(['central: required by `cellwatch probe`: { url, tokenFile } of the central daemon']);
    } catch (err) {
      failConfig(err);
    }
    await runProbeMode(cfg, opts.config);
  });

program
  .command('check-config')
  .description('validate a config file (and its inventory); exit 0 if valid, 2 with every problem listed')
  .argument('<file>', 'config file')
  .action((file: string) => {
    let cfg: Config;
    try {
      cfg = loadConfigFile(file);
    } catch (err) {
      failConfig(err);
    }
    const problems = cfg.inventory ? loadInventoryFile(cfg.inventory).problems : [];
    if (problems.length > 0) {
      process.stderr.write(`invalid inventory:\n  ${problems.join('\n  ')}\n`);
      process.exit(EXIT_CONFIG);
    }
    process.stdout.write(
      `${file}: ok (store ${cfg.store.kind}, ${cfg.snmp.targets.length} SNMP target(s), ${cfg.probes.length} probe(s), ${cfg.auth.tokens.length} API token(s), listen ${cfg.http.listen.host}:${cfg.http.listen.port})\n`,
    );
  });

registerTailCommand(program);
registerImportCommand(program);
registerContextCommand(program);
registerAnalyzeCommand(program, (err) => {
  if (err instanceof ConfigError) failConfig(err);
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});

await program.parseAsync(process.argv);
