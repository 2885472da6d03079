/**
 * A real Net-SNMP snmpd on a free loopback UDP port (or inside a namespace from createVethNamespace),
 * with a v2c community and two v3 authPriv users. It serves the machine's IF-MIB, plus whatever
 * `extraConfig` adds (e.g. `pass_persist OID /path/to/helper` for a synthetic table).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import snmp from 'net-snmp';
import { namespaceUplink } from './netns.js';
import {
  findBinary,
  forgetTempDir,
  freePort,
  makeTempDir,
  spawnService,
  waitForService,
  type ServiceProcess,
} from './service.js';

export const SNMPD_INSTALL_HINT = 'apt-get install snmpd (Debian) — tests start their own snmpd, no service needed';

export const SYS_UPTIME_OID = '1.3.6.1.2.1.1.3.0';

export interface SnmpV3Credentials<A extends string, P extends string> {
  user: string;
  /** A key of net-snmp's `snmp.AuthProtocols`. */
  authProtocol: A;
  authKey: string;
  /** A key of net-snmp's `snmp.PrivProtocols`. */
  privProtocol: P;
  privKey: string;
}

export interface SnmpdServer {
  /** Where the agent listens: 127.0.0.1, or the namespace end of the uplink with `opts.netns`. */
  host: string;
  port: number;
  community: string;
  v3: SnmpV3Credentials<'sha', 'aes'>;
  /** Net-SNMP's AES-256 is the Blumenthal key extension: net-snmp (npm) calls it `aes256b`. */
  v3sha256: SnmpV3Credentials<'sha256', 'aes256b'>;
  /** Holds snmpd.conf, snmpd.pid and the persistent dir (v3 engine state). */
  dir: string;
  /** The last few KiB of snmpd's log. */
  logTail(): string;
  /** SIGTERM (SIGKILL after 5 s), wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface SnmpdOptions {
  /** Appended to snmpd.conf verbatim (pass_persist lines, extra views, …). */
  extraConfig?: string;
  /** Run inside this namespace (made by createVethNamespace); the agent listens on its uplink address. */
  netns?: string;
  community?: string;
  /** A fixed UDP port instead of a free one. */
  port?: number;
  startTimeoutMs?: number;
}

function configText(
  host: string,
  port: number,
  community: string,
  clientSource: string,
  server: Pick<SnmpdServer, 'v3' | 'v3sha256'>,
  extra: string,
): string {
  const { v3, v3sha256 } = server;
  return `agentAddress udp:${host}:${port}
rocommunity ${community} ${clientSource}
createUser ${v3.user} SHA "${v3.authKey}" AES "${v3.privKey}"
rouser ${v3.user} priv
createUser ${v3sha256.user} SHA-256 "${v3sha256.authKey}" AES-256 "${v3sha256.privKey}"
rouser ${v3sha256.user} priv
${extra}
`;
}

/** One v2c GET of sysUpTime: resolves true when the agent answers. */
function answers(host: string, port: number, community: string): Promise<boolean> {
  return new Promise((resolve) => {
    const session = snmp.createSession(host, community, { port, version: snmp.Version2c, timeout: 250, retries: 0 });
    session.on('error', () => undefined);
    session.get([SYS_UPTIME_OID], (err) => {
      session.close();
      resolve(!err);
    });
  });
}

export async function startSnmpd(opts: SnmpdOptions = {}): Promise<SnmpdServer> {
  const snmpd = findBinary('snmpd');
  if (!snmpd) throw new Error(`snmpd is not installed: ${SNMPD_INSTALL_HINT}`);
  const community = opts.community ?? 'cwtest';
  const credentials = {
    v3: {
      user: 'cwv3sha',
      authProtocol: 'sha',
      authKey: 'cw-auth-sha1',
      privProtocol: 'aes',
      privKey: 'cw-priv-aes128',
    },
    v3sha256: {
      user: 'cwv3sha256',
      authProtocol: 'sha256',
      authKey: 'cw-auth-sha256',
      privProtocol: 'aes256b',
      privKey: 'cw-priv-aes256',
    },
  } as const satisfies Pick<SnmpdServer, 'v3' | 'v3sha256'>;

  let host = '127.0.0.1';
  let clientSource = '127.0.0.1';
  let prefix: string[] = [];
  if (opts.netns !== undefined) {
    const uplink = await namespaceUplink(opts.netns);
    host = uplink.nsAddress;
    clientSource = uplink.hostAddress;
    prefix = [findBinary('ip') ?? 'ip', 'netns', 'exec', opts.netns];
  }

  const dir = await makeTempDir('cellwatch-snmpd');
  const configFile = join(dir, 'snmpd.conf');
  const env = { ...process.env, SNMP_PERSISTENT_DIR: dir, MIBS: '' };
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;

  let proc: ServiceProcess | undefined;
  let port: number;
  const cleanup = async () => {
    await proc?.terminate(5_000);
    await rm(dir, { recursive: true, force: true });
    forgetTempDir(dir);
  };

  // Inside a namespace the host's free ports say nothing, but the namespace is fresh: any port is free.
  for (let attempt = 1; ; attempt++) {
    port = opts.port ?? (await freePort('udp', opts.netns === undefined ? host : '127.0.0.1'));
    await writeFile(configFile, configText(host, port, community, clientSource, credentials, opts.extraConfig ?? ''));
    const args = ['-f', '-Lo', '-C', '-m', '', '-c', configFile, '-p', join(dir, 'snmpd.pid')];
    const [command, ...rest] = [...prefix, snmpd, ...args] as [string, ...string[]];
    proc = spawnService('snmpd', command, rest, { env });
    const listeningOn = port;
    try {
      await waitForService(
        proc,
        () => answers(host, listeningOn, community),
        startTimeoutMs,
        `snmpd to answer a v2c GET on ${host}:${port}`,
      );
      break;
    } catch (err) {
      const tail = proc.tail();
      await proc.kill();
      if (
        attempt < 3 &&
        opts.port === undefined &&
        /address already in use|Error opening specified endpoint/i.test(tail)
      )
        continue;
      await cleanup();
      throw err;
    }
  }

  let stopped = false;
  return {
    host,
    port,
    community,
    ...credentials,
    dir,
    logTail: () => proc?.tail() ?? '',
    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanup();
    },
  };
}
