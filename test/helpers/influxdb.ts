/**
 * A real, throwaway InfluxDB 1.6 (`influxd run -config …`) on free loopback ports with its data in a
 * temp dir. See shared TOOLCHAIN.md: both the HTTP and the RPC port must be moved, or two instances clash.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  findBinary,
  forgetTempDir,
  freePort,
  makeTempDir,
  spawnService,
  waitForService,
  type ServiceProcess,
} from './service.js';

export const INFLUXD_INSTALL_HINT =
  'apt-get install influxdb (Debian) — tests start their own influxd, no service needed';

export interface InfluxServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  port: number;
  /** The RPC (backup/restore) port, moved off 8088 so that instances do not clash. */
  rpcPort: number;
  /** Holds influxdb.conf, meta/, data/ and wal/. */
  dir: string;
  /** Runs InfluxQL via /query; returns the parsed JSON; throws on an HTTP error or any statement error. */
  // The shape depends on the statement; tests index into it freely, as they would into any JSON.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(q: string, db?: string): Promise<any>;
  /** Writes line protocol via /write; throws unless InfluxDB answers 204. */
  write(lines: string | string[], db: string, precision?: 'ns' | 'u' | 'ms' | 's'): Promise<void>;
  /** The last few KiB of influxd's log, for assertion messages. */
  logTail(): string;
  running(): boolean;
  /** SIGTERM, wait for exit, remove the temp dir (kept when `opts.dir` was given or `keepDir` is set). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILL, like a crash; keeps the dir so restart() can recover from the WAL. */
  kill(): Promise<void>;
  /** Starts again on the same dir and ports (stopping it gracefully first if it runs); waits for /ping. */
  restart(): Promise<void>;
}

export interface InfluxOptions {
  /** Use (and keep) this dir instead of a fresh temp dir. */
  dir?: string;
  /** Start-up timeout; ~1.3 s on restart with millions of points. */
  startTimeoutMs?: number;
}

interface InfluxQueryBody {
  error?: string;
  results?: { statement_id?: number; error?: string; series?: unknown[] }[];
}

function configText(dir: string, port: number, rpcPort: number): string {
  // Every listener except HTTP is switched off explicitly: a default that binds a fixed port would
  // make parallel test files collide.
  return `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false

[ifql]
  enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  log-enabled = false
`;
}

export async function startInfluxDB(opts: InfluxOptions = {}): Promise<InfluxServer> {
  const influxd = findBinary('influxd');
  if (!influxd) throw new Error(`influxd is not installed: ${INFLUXD_INSTALL_HINT}`);
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await makeTempDir('cellwatch-influxdb'));
  if (!ownsDir) await mkdir(dir, { recursive: true });
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const configFile = join(dir, 'influxdb.conf');

  let port = 0;
  let rpcPort = 0;
  let url = '';
  let proc: ServiceProcess | undefined;
  let dirRemoved = false;

  const ping = async () => {
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return res.status === 204;
    } catch {
      return false;
    }
  };

  const launch = async () => {
    proc = spawnService('influxd', influxd, ['run', '-config', configFile]);
    await waitForService(proc, ping, startTimeoutMs, `influxd to answer ${url}/ping with 204`);
  };

  // A freshly chosen port can be taken between freePort() and influxd's bind; pick new ports then.
  for (let attempt = 1; ; attempt++) {
    port = await freePort('tcp');
    rpcPort = await freePort('tcp');
    url = `http://127.0.0.1:${port}`;
    await writeFile(configFile, configText(dir, port, rpcPort));
    try {
      await launch();
      break;
    } catch (err) {
      const tail = proc?.tail() ?? '';
      await proc?.kill();
      if (attempt < 3 && /address already in use/i.test(tail)) continue;
      if (ownsDir) {
        await rm(dir, { recursive: true, force: true });
        forgetTempDir(dir);
      }
      throw err;
    }
  }

  const server: InfluxServer = {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    get rpcPort() {
      return rpcPort;
    },
    dir,
    async query(q, db) {
      const params = new URLSearchParams({ q });
      if (db !== undefined) params.set('db', db);
      // POST: InfluxDB 1.x refuses writes (CREATE, DROP, …) through GET.
      const res = await fetch(`${url}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
      });
      const text = await res.text();
      let body: InfluxQueryBody;
      try {
        body = JSON.parse(text) as InfluxQueryBody;
      } catch {
        throw new Error(`InfluxDB /query answered ${res.status} with non-JSON: ${text.slice(0, 500)}`);
      }
      if (!res.ok || body.error)
        throw new Error(
          `InfluxDB /query ${JSON.stringify(q)} failed (${res.status}): ${body.error ?? text.slice(0, 500)}`,
        );
      const failed = (body.results ?? []).find((r) => r.error);
      if (failed)
        throw new Error(
          `InfluxDB /query ${JSON.stringify(q)}: statement ${failed.statement_id} failed: ${failed.error}`,
        );
      return body;
    },
    async write(lines, db, precision = 'ns') {
      const params = new URLSearchParams({ db, precision });
      const res = await fetch(`${url}/write?${params.toString()}`, {
        method: 'POST',
        body: Array.isArray(lines) ? lines.join('\n') : lines,
      });
      const text = await res.text();
      if (res.status !== 204) throw new Error(`InfluxDB /write answered ${res.status}: ${text.slice(0, 500)}`);
    },
    logTail: () => proc?.tail() ?? '',
    running: () => proc?.running() ?? false,
    async stop(stopOpts = {}) {
      await proc?.terminate();
      if (ownsDir && !stopOpts.keepDir && !dirRemoved) {
        await rm(dir, { recursive: true, force: true });
        forgetTempDir(dir);
        dirRemoved = true;
      }
    },
    async kill() {
      await proc?.kill();
    },
    async restart() {
      if (dirRemoved)
        throw new Error(
          'InfluxServer.restart(): stop() already removed its temp dir; use stop({ keepDir: true }) or kill() before restart()',
        );
      await proc?.terminate();
      await launch();
    },
  };
  return server;
}
