/**
 * A real, throwaway Prometheus Alertmanager (Debian's `prometheus-alertmanager`, 0.25) on a free
 * loopback port, with its storage in a temp dir and gossip switched off (`--cluster.listen-address=`),
 * optionally routing every alert to a webhook as fast as it allows (group_wait 0s, group_interval 1s,
 * one group per label set). Ready when `/-/ready` answers 200.
 */
import { rm, writeFile } from 'node:fs/promises';
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

export const ALERTMANAGER_INSTALL_HINT =
  'apt-get install prometheus-alertmanager (Debian) — tests start their own Alertmanager, no service needed';

/** One alert as `GET /api/v2/alerts` lists it (gettableAlert). */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  generatorURL?: string;
  receivers: { name: string }[];
  status: { state: 'unprocessed' | 'active' | 'suppressed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AlertmanagerServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  port: number;
  /** Holds am.yml and the storage dir (silences, notification log). */
  dir: string;
  /** `GET /api/v2/alerts`: the alerts it holds that have not resolved. */
  alerts(): Promise<GettableAlert[]>;
  logTail(): string;
  running(): boolean;
  /** SIGTERM, wait for exit, remove the temp dir unless `keepDir`. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Starts again on the same port and dir (stopping it first if it runs); waits for /-/ready. */
  restart(): Promise<void>;
}

export interface AlertmanagerOptions {
  /** Route every alert to this webhook receiver (send_resolved: true). */
  webhookUrl?: string;
  startTimeoutMs?: number;
}

function configText(webhookUrl: string | undefined): string {
  const route = `route:
  receiver: ${webhookUrl ? 'hook' : 'none'}
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
`;
  const receivers = webhookUrl
    ? `receivers:
  - name: hook
    webhook_configs:
      - url: ${JSON.stringify(webhookUrl)}
        send_resolved: true
`
    : `receivers:
  - name: none
`;
  return route + receivers;
}

export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<AlertmanagerServer> {
  const bin = findBinary('prometheus-alertmanager') ?? findBinary('alertmanager');
  if (!bin) throw new Error(`prometheus-alertmanager is not installed: ${ALERTMANAGER_INSTALL_HINT}`);
  const dir = await makeTempDir('cellwatch-alertmanager');
  const configFile = join(dir, 'am.yml');
  await writeFile(configFile, configText(opts.webhookUrl));
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;

  let proc: ServiceProcess | undefined;
  let port = 0;
  let url = '';
  let dirRemoved = false;
  const ready = async () => {
    try {
      return (await fetch(`${url}/-/ready`)).status === 200;
    } catch {
      return false;
    }
  };
  const launch = async () => {
    proc = spawnService('prometheus-alertmanager', bin, [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
    await waitForService(proc, ready, startTimeoutMs, `Alertmanager to answer ${url}/-/ready`);
  };

  // A freshly chosen port can be taken between freePort() and Alertmanager's bind: pick another then.
  for (let attempt = 1; ; attempt++) {
    port = await freePort('tcp');
    url = `http://127.0.0.1:${port}`;
    try {
      await launch();
      break;
    } catch (err) {
      const tail = proc?.tail() ?? '';
      await proc?.kill();
      if (attempt < 3 && /address already in use/i.test(tail)) continue;
      await rm(dir, { recursive: true, force: true });
      forgetTempDir(dir);
      throw err;
    }
  }

  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    dir,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      if (res.status !== 200) throw new Error(`GET /api/v2/alerts answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as GettableAlert[];
    },
    logTail: () => proc?.tail() ?? '',
    running: () => proc?.running() ?? false,
    async stop(stopOpts = {}) {
      await proc?.terminate();
      if (!stopOpts.keepDir && !dirRemoved) {
        await rm(dir, { recursive: true, force: true });
        forgetTempDir(dir);
        dirRemoved = true;
      }
    },
    async restart() {
      if (dirRemoved) throw new Error('AlertmanagerServer.restart(): stop() already removed its dir; use keepDir');
      await proc?.terminate();
      await launch();
    },
  };
}
