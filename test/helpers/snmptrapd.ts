/**
 * A real Net-SNMP snmptrapd on a free loopback UDP port, with a v2c community and one SNMPv3
 * authPriv user (SHA-256/AES) known under two engine ids: the sender's fixed `engineId` (for traps,
 * where the sender is authoritative) and snmptrapd's own (for informs). Every notification it
 * accepts is parsed from its stdout into a ReceivedTrap; what it refuses (wrong keys) shows only in
 * its log.
 *
 * Output format: `-On -Ox` prints numeric OIDs and every octet string as hex (so text with tabs,
 * newlines or UTF-8 survives), framed by `-F` markers because snmptrapd wraps long hex dumps.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import snmp from 'net-snmp';
import {
  findBinary,
  forgetTempDir,
  freePort,
  makeTempDir,
  spawnService,
  waitFor,
  waitForService,
  type ServiceProcess,
} from './service.js';

export const SNMPTRAPD_INSTALL_HINT =
  'apt-get install snmptrapd (Debian) — tests start their own snmptrapd, no service needed';

export interface ReceivedVarbind {
  /** Numeric, without the leading dot. */
  oid: string;
  /** As snmptrapd names it: Timeticks, OID, Hex-STRING, STRING, INTEGER, Gauge32, ... ('' for an empty string). */
  type: string;
  /** Octet strings as bytes, numbers as numbers, OIDs as dotted strings. */
  value: Buffer | number | string;
}

export interface ReceivedTrap {
  /** '2c' or '3' (snmptrapd's %s: 1 = v2c, 3 = v3). */
  version: string;
  /** Community (v2c) or user (v3). */
  security: string;
  /** snmpTrapOID.0's value. */
  trapOid: string;
  /** Every varbind, sysUpTime.0 and snmpTrapOID.0 included, in the order received. */
  varbinds: ReceivedVarbind[];
  raw: string;
}

export interface SnmptrapdServer {
  host: string;
  port: number;
  community: string;
  v3: {
    user: string;
    authProtocol: 'sha256';
    authKey: string;
    privProtocol: 'aes';
    privKey: string;
    /** The engine id the sender must use for v3 traps (`createUser -e`). */
    engineId: string;
  };
  dir: string;
  /** Notifications received so far (the helper's own readiness probes left out). */
  traps(): ReceivedTrap[];
  /** Waits until at least `count` notifications have arrived; returns them all. */
  waitForTraps(count: number, timeoutMs?: number): Promise<ReceivedTrap[]>;
  /** Everything snmptrapd printed that is not a notification (start-up, authentication failures). */
  log(): string;
  stop(): Promise<void>;
}

export interface SnmptrapdOptions {
  startTimeoutMs?: number;
}

/** The readiness probe's notification OID: outside the cellwatch MIB's arcs. */
const PROBE_OID = '1.3.6.1.4.1.32473.99.0.1';
const START = 'CWTRAP';
const END = 'CWEND';

function configText(server: Pick<SnmptrapdServer, 'community' | 'v3'>): string {
  const { v3 } = server;
  const keys = `SHA-256 ${v3.authKey} AES ${v3.privKey}`;
  return `authCommunity log ${server.community}
createUser -e 0x${v3.engineId} ${v3.user} ${keys}
createUser ${v3.user} ${keys}
authUser log ${v3.user}
`;
}

/** Parses snmptrapd's framed output: `CWTRAP v=… sec=… <varbinds, tab-separated> CWEND`. */
export function parseTrapLog(text: string): { traps: ReceivedTrap[]; rest: string } {
  const traps: ReceivedTrap[] = [];
  let rest = '';
  let cursor = 0;
  for (;;) {
    const start = text.indexOf(START, cursor);
    if (start < 0) {
      rest += text.slice(cursor);
      break;
    }
    const end = text.indexOf(END, start);
    if (end < 0) {
      rest += text.slice(cursor);
      break;
    }
    rest += text.slice(cursor, start);
    // Hex dumps wrap every 16 octets with a newline; the values themselves are single-line.
    const body = text.slice(start + START.length, end).replace(/\n/g, '');
    const head = /^ v=(\d+) sec=(\S*) /.exec(body);
    if (head) {
      const varbinds = body
        .slice(head[0].length)
        .split('\t')
        .map((s) => s.trim())
        .filter(Boolean)
        .map(parseVarbind);
      const trapOid = varbinds.find((v) => v.oid === '1.3.6.1.6.3.1.1.4.1.0')?.value;
      traps.push({
        version: head[1] === '1' ? '2c' : head[1] === '3' ? '3' : (head[1] ?? ''),
        security: head[2] ?? '',
        trapOid: typeof trapOid === 'string' ? trapOid : '',
        varbinds,
        raw: body,
      });
    }
    cursor = end + END.length;
  }
  return { traps, rest };
}

function parseVarbind(text: string): ReceivedVarbind {
  const m = /^\.?([\d.]+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(text);
  if (!m) return { oid: '', type: 'unparsed', value: text };
  const oid = m[1] ?? '';
  const type = m[2] ?? '';
  const body = m[3] ?? '';
  switch (type) {
    case 'Hex-STRING':
      return { oid, type, value: Buffer.from(body.replace(/\s+/g, ''), 'hex') };
    case 'STRING':
      return { oid, type, value: Buffer.from(body.replace(/^"|"$/g, ''), 'utf8') };
    case '':
      // An empty octet string prints as "".
      return { oid, type, value: body === '""' ? Buffer.alloc(0) : body };
    case 'INTEGER':
    case 'Gauge32':
    case 'Counter32':
    case 'Counter64':
    case 'Unsigned32':
      return { oid, type, value: Number(body) };
    case 'Timeticks':
      return { oid, type, value: Number(/\((\d+)\)/.exec(body)?.[1] ?? NaN) };
    case 'OID':
      return { oid, type, value: body.replace(/^\./, '') };
    default:
      return { oid, type, value: body };
  }
}

/** Sends one v2c probe trap to the daemon (the helper's readiness check). */
function probe(host: string, port: number, community: string): Promise<void> {
  return new Promise((resolve) => {
    const session = snmp.createSession(host, community, { version: snmp.Version2c, trapPort: port });
    session.on('error', () => undefined);
    session.trap(PROBE_OID, [], () => {
      session.close();
      resolve();
    });
  });
}

export async function startSnmptrapd(opts: SnmptrapdOptions = {}): Promise<SnmptrapdServer> {
  const bin = findBinary('snmptrapd');
  if (!bin) throw new Error(`snmptrapd is not installed: ${SNMPTRAPD_INSTALL_HINT}`);
  const host = '127.0.0.1';
  const settings = {
    community: 'cwtrap',
    v3: {
      user: 'cwnotify',
      authProtocol: 'sha256',
      authKey: 'cw-trap-auth-sha256',
      privProtocol: 'aes',
      privKey: 'cw-trap-priv-aes',
      engineId: '8000000001020304',
    },
  } as const satisfies Pick<SnmptrapdServer, 'community' | 'v3'>;
  const dir = await makeTempDir('cellwatch-snmptrapd');
  const configFile = join(dir, 'snmptrapd.conf');
  await writeFile(configFile, configText(settings));
  // Its own persistent dir: snmptrapd keeps its engine id and boots there, never in /var/lib/snmp.
  const env = { ...process.env, SNMP_PERSISTENT_DIR: join(dir, 'persist'), MIBS: '' };
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;

  let output = '';
  let proc: ServiceProcess | undefined;
  let port: number;
  const cleanup = async () => {
    await proc?.terminate(5_000);
    await rm(dir, { recursive: true, force: true });
    forgetTempDir(dir);
  };

  for (let attempt = 1; ; attempt++) {
    port = await freePort('udp', host);
    output = '';
    const args = [
      '-f',
      '-n',
      '-Lo',
      '-C',
      '-c',
      configFile,
      '-m',
      '',
      '-On',
      '-Ox',
      '-F',
      `${START} v=%s sec=%u %v ${END}\\n`,
      '-p',
      join(dir, 'snmptrapd.pid'),
      `udp:${host}:${port}`,
    ];
    proc = spawnService('snmptrapd', bin, args, { env });
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    proc.child.stdout?.on('data', collect);
    proc.child.stderr?.on('data', collect);
    const listening = port;
    try {
      await waitForService(
        proc,
        async () => {
          await probe(host, listening, settings.community);
          return parseTrapLog(output).traps.some((t) => t.trapOid === PROBE_OID);
        },
        startTimeoutMs,
        `snmptrapd to log a probe trap on ${host}:${port}`,
      );
      break;
    } catch (err) {
      const tail = proc.tail();
      await proc.kill();
      if (attempt < 3 && /address already in use|Error opening specified endpoint/i.test(tail)) continue;
      await cleanup();
      throw err;
    }
  }

  const traps = () => parseTrapLog(output).traps.filter((t) => t.trapOid !== PROBE_OID);
  let stopped = false;
  return {
    host,
    port,
    ...settings,
    dir,
    traps,
    async waitForTraps(count, timeoutMs = 5_000) {
      await waitFor(() => traps().length >= count, timeoutMs, `${count} notifications at snmptrapd`);
      return traps();
    },
    log: () => parseTrapLog(output).rest,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanup();
    },
  };
}
