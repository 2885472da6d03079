/**
 * The daemon's house: parts start in order and stop in reverse with every failure reported; reload
 * is a coordinator where each section is applied by its subscriber or reported as needing a restart;
 * the event bus keeps a throwing listener from breaking anyone else. In process, on a manual
 * scheduler (nothing is polled), with an embedded store in a temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ManualClock, ManualScheduler, ManualTimers, realTimers } from '../clock/index.js';
import { ConfigError, parseConfig, type Config } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { EventBus, Lifecycle } from '../daemon/house/index.js';
import { CONFIG_SECTIONS } from '../daemon/house/reload.js';
import { PromMetrics } from '../daemon/metrics.js';
import { makeTempDir } from './helpers/service.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const log = pino({ level: 'silent' });
const TOKEN = 'admin-token-0123456789abcdef';

/** Logs captured as objects, to check what the house says. */
function capturingLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[number]) });
  return { logger, lines };
}

void t.test('reload: every top-level section is applied by its part or reported as needing a restart', async (t) => {
  const dir = await makeTempDir('cellwatch-house-');
  const inventory = join(dir, 'cells.csv');
  writeFileSync(inventory, 'id,site,region,lat,lon\nA-1,A,R1,31,121\n');
  const raw = {
    timezone: 'Asia/Shanghai',
    http: { listen: '127.0.0.1:0' },
    auth: { tokens: [{ name: 'ops', role: 'admin', token: TOKEN }] },
    dataDir: join(dir, 'data'),
    inventory,
    snmp: { targets: [{ name: 'bh-1', host: '127.0.0.1', port: 9, community: 'x', profile: 'if-mib', site: 'A' }] },
  };
  const base = parseConfig(raw, { env: {} });
  const clock = new ManualClock(T0);
  const daemon = new Daemon(base, { scheduler: new ManualScheduler(clock), log, registry: new Registry() });
  await daemon.start();
  t.teardown(() => daemon.stop());

  const otherInventory = join(dir, 'cells-2.csv');
  writeFileSync(otherInventory, 'id,site,region,lat,lon\nA-1,A,R1,31,121\nB-1,B,R1,31,121.01\n');
  // For each section: a valid change, and what the running daemon must answer. A section added to the
  // schema without a line here fails the coverage check below — decide what reloading it means.
  const changes: Record<keyof Config, { change?: Record<string, unknown>; want: 'applied' | 'restart' | 'refused' }> = {
    timezone: { change: { timezone: 'Europe/Berlin' }, want: 'restart' },
    http: { change: { http: { listen: '127.0.0.1:0', shutdownGrace: '1s' } }, want: 'restart' },
    auth: {
      change: { auth: { tokens: [{ name: 'ops', role: 'admin', token: `${TOKEN}-rotated` }] } },
      want: 'applied',
    },
    store: { change: { store: { kind: 'embedded', retention: '7d' } }, want: 'restart' },
    dataDir: { change: { dataDir: join(dir, 'elsewhere') }, want: 'restart' },
    inventory: { change: { inventory: otherInventory }, want: 'applied' },
    snmp: { change: { snmp: { targets: [] } }, want: 'applied' },
    probes: {
      change: { probes: [{ name: 'dns-a', kind: 'dns', host: 'a.example', resolver: '127.0.0.1:9', cell: 'A-1' }] },
      want: 'applied',
    },
    // Read by `cellwatch probe` only (which applies it on SIGHUP); the daemon keeps it and reads nothing from it.
    central: { change: { central: { url: 'http://127.0.0.1:9/', token: 'ingest-token-0123456789' } }, want: 'applied' },
    experience: { change: { experience: { dlMbps: 3 } }, want: 'applied' },
    target: { change: { target: { ratio: 0.9 } }, want: 'applied' },
    detection: { change: { detection: { openAfter: 3 } }, want: 'applied' },
    alerts: { change: { alerts: { sinks: [{ kind: 'log' }] } }, want: 'restart' },
    complaints: { change: { complaints: { radiusKm: 2 } }, want: 'applied' },
    intake: { change: { intake: { ratePerToken: 1000 } }, want: 'restart' },
    sim: { change: { sim: { seed: 9 } }, want: 'restart' },
    log: { change: { log: { level: 'debug' } }, want: 'restart' },
  };
  t.same(Object.keys(changes).sort(), [...CONFIG_SECTIONS].sort(), 'the table covers every top-level section');

  for (const section of CONFIG_SECTIONS) {
    const { change, want } = changes[section];
    let next: Config;
    try {
      next = parseConfig({ ...raw, ...change }, { env: {} });
    } catch (err) {
      t.equal(
        want,
        'refused',
        `${section}: the schema refuses the change (${(err as ConfigError).problems?.join('; ')})`,
      );
      continue;
    }
    const result = await daemon.reload(next);
    const answer = result.applied.includes(section)
      ? 'applied'
      : result.restartNeeded.includes(section)
        ? 'restart'
        : 'none';
    t.equal(answer, want, `${section}: ${want}`);
    t.same(
      [...result.applied, ...result.restartNeeded].filter((s) => s !== section),
      [],
      `${section}: no other section reported`,
    );
    // Back to the base, so each case changes one section against the same running config.
    await daemon.reload(base);
  }

  const dropped = await daemon.reload(parseConfig({ ...raw, ...changes.snmp.change }, { env: {} }));
  t.same((dropped.snmp as { removed?: string[] })?.removed, ['bh-1'], 'the collector reports what its reload did');
  await daemon.reload(base);
  const rotated = await daemon.reload(parseConfig({ ...raw, ...changes.auth.change }, { env: {} }));
  t.equal(rotated.tokens, 1, 'the auth part reports the tokens now in force');
  const moved = await daemon.reload(parseConfig({ ...raw, ...changes.inventory.change }, { env: {} }));
  t.equal(moved.inventory, 2, 'the inventory part reports the cells it loaded');
  writeFileSync(otherInventory, 'id,site,region,lat,lon\nA-1,A,R1,31,121\nB-1,B,R1,31,121.01\nC-1,C,R2,31,121.02\n');
  const edited = await daemon.reload(parseConfig({ ...raw, ...changes.inventory.change }, { env: {} }));
  t.same(edited.applied, ['inventory'], 'an edited inventory file is re-read although its path did not change');
  t.equal(edited.inventory, 3);
  const cells = (await (
    await fetch(`${daemon.url}/api/v1/cells`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as {
    count: number;
  };
  t.equal(cells.count, 3, 'the API serves the re-read inventory');
});

void t.test('lifecycle: closes run last-first, every one of them, failures reported together', async (t) => {
  const { logger, lines } = capturingLog();
  const clock = new ManualClock(T0);
  const timers = new ManualTimers(clock);
  const life = new Lifecycle(logger, timers);
  const order: string[] = [];
  life.defer('stores', () => order.push('stores'));
  life.defer('ingest', () => {
    order.push('ingest');
    throw new Error('drain broke');
  });
  life.defer('collectors', async () => {
    order.push('collectors');
    await new Promise(() => undefined); // hangs forever
  });
  life.defer('http', () => order.push('http'));
  t.same(life.names, ['stores', 'ingest', 'collectors', 'http'], 'parts in start order');
  let settled = false;
  const closing = life.closeAll(5_000).finally(() => (settled = true));
  while (!settled) await timers.advance(1_000);
  const failures = await closing;
  t.same(
    order,
    ['http', 'collectors', 'ingest', 'stores'],
    'reverse order; a hung and a failing close do not stop the rest',
  );
  t.same(
    failures.map((f) => f.part),
    ['collectors', 'ingest'],
    'both failures reported',
  );
  t.match(failures[0]!.error, /did not close within the 5000 ms stop deadline/);
  t.ok(
    lines.some((l) => l.level === 50 && /2 part\(s\) failed to close cleanly/.test(l.msg)),
    'one error line lists them all',
  );
  t.same(await life.closeAll(1_000), [], 'a second stop has nothing left to close');
});

void t.test(
  'event bus: a throwing listener is logged and counted, the publisher and the others carry on',
  async (t) => {
    const { logger, lines } = capturingLog();
    const registry = new Registry();
    const bus = new EventBus(logger, new PromMetrics(registry));
    const got: number[] = [];
    bus.on('collected', 'first', (e) => void got.push(e.at));
    bus.on('collected', 'broken', () => {
      throw new Error('listener bug');
    });
    bus.on('collected', 'async-broken', async () => {
      await Promise.resolve();
      throw new Error('later bug');
    });
    const off = bus.on('collected', 'last', (e) => void got.push(e.at + 1));
    t.doesNotThrow(() => bus.emit('collected', { at: 10, collector: 'snmp', target: 'x' }), 'emit never throws');
    off();
    bus.emit('collected', { at: 20, collector: 'snmp', target: 'x' });
    await new Promise((r) => setImmediate(r));
    t.same(got, [10, 11, 20], 'listeners after the broken one still ran; an unsubscribed one stops');
    const metrics = await registry.metrics();
    t.match(metrics, /cellwatch_event_listener_errors_total\{event="collected",listener="broken"\} 2/);
    t.match(metrics, /cellwatch_event_listener_errors_total\{event="collected",listener="async-broken"\} 2/);
    t.ok(lines.some((l) => /event listener broken failed on collected/.test(l.msg)));
  },
);

void t.test('a daemon that cannot start stops what it started and says why', async (t) => {
  const dir = await makeTempDir('cellwatch-house-fail-');
  const taken = join(dir, 'not-a-dir');
  writeFileSync(taken, 'a file where the data dir should be');
  const daemon = new Daemon(parseConfig({ dataDir: taken, http: { listen: '127.0.0.1:0' } }, { env: {} }), {
    scheduler: new ManualScheduler(new ManualClock(T0)),
    log,
    timers: realTimers,
    registry: new Registry(),
  });
  await t.rejects(daemon.start(), /EEXIST|ENOTDIR/);
  t.equal(daemon.ready, false);
  await daemon.stop();
});
