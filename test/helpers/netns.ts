/**
 * A network namespace the test creates itself, linked to the host by one veth pair (so an in-process
 * client on the host can reach a daemon inside it) and holding N more veth pairs (both ends inside) so
 * that a daemon there serves a big, real IF-MIB ifXTable: 2N + 2 rows (lo, the uplink, the pairs).
 *
 * Addresses come from 198.18.0.0/15 (RFC 2544, set aside for benchmark networks), one /30 per
 * namespace: traffic to them stays on the veth link into the namespace the test created.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { findBinary, requireCondition, type Test } from './service.js';

export const NETNS_HINT =
  'needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2 with `ip netns` (apt-get install iproute2)';

/** The namespace end of the host link, as seen inside the namespace. */
export const UPLINK_IFNAME = 'cwuplink';

export interface VethNamespace {
  name: string;
  /** Host end of the link, e.g. 198.18.3.1: the source address a daemon inside sees. */
  hostAddress: string;
  /** Namespace end of the link, e.g. 198.18.3.2: where a daemon inside listens. */
  nsAddress: string;
  /** Name of the host-side veth interface. */
  hostLink: string;
  /** Number of veth pairs inside the namespace (besides the uplink). */
  pairs: number;
  /** Wall time spent creating the pairs (one `ip -batch` process). */
  createPairsMs: number;
  /** Deletes the namespace (and with it every veth, including the host end). Idempotent. */
  destroy(): Promise<void>;
}

function ip(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(findBinary('ip') ?? 'ip', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

let namespacesUsable: boolean | undefined;

/**
 * Whether this process may create network namespaces: probed once by really creating and deleting
 * one, because being root is not enough inside a container without CAP_SYS_ADMIN.
 */
export function canCreateNamespaces(): boolean {
  if (namespacesUsable !== undefined) return namespacesUsable;
  const bin = findBinary('ip');
  if (!bin || process.platform !== 'linux' || process.getuid?.() !== 0) return (namespacesUsable = false);
  const probe = `cwprobe-${process.pid}`;
  try {
    execFileSync(bin, ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync(bin, ['netns', 'del', probe], { stdio: 'ignore' });
    namespacesUsable = true;
  } catch {
    namespacesUsable = false;
  }
  return namespacesUsable;
}

/** Integration-test guard for namespace tests: fails in CI, skips locally. True = go ahead. */
export function requireNetns(t: Test): boolean {
  return requireCondition(t, canCreateNamespaces(), `cannot create network namespaces: ${NETNS_HINT}`);
}

// Interface names are limited to 15 bytes, so the host end carries a hash of the namespace name: the
// same name always maps to the same link, which lets a rerun find and delete a crashed run's leftover.
function hostLinkName(name: string): string {
  return `cwh${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

async function usedIPv4(): Promise<Set<string>> {
  const out = await ip(['-4', '-o', 'addr', 'show']);
  return new Set([...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1] as string));
}

function subnetAddresses(index: number): { hostAddress: string; nsAddress: string } {
  // 198.18.0.0/15 holds 32,768 /30s; index picks one.
  const base = (198 << 24) + (18 << 16) + index * 4;
  const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return { hostAddress: dotted(base + 1), nsAddress: dotted(base + 2) };
}

async function pickSubnet(name: string): Promise<{ hostAddress: string; nsAddress: string }> {
  const used = await usedIPv4();
  const start =
    Number.parseInt(createHash('sha256').update(`${name}/${process.pid}`).digest('hex').slice(0, 8), 16) % 32768;
  for (let i = 0; i < 32768; i++) {
    const candidate = subnetAddresses((start + i) % 32768);
    if (!used.has(candidate.hostAddress) && !used.has(candidate.nsAddress)) return candidate;
  }
  throw new Error('no free /30 left in 198.18.0.0/15');
}

async function removeLeftovers(name: string, hostLink: string): Promise<void> {
  await ip(['netns', 'del', name]).catch(() => undefined);
  await ip(['link', 'del', hostLink]).catch(() => undefined);
}

/**
 * Creates namespace `name` (deleting a leftover of the same name first) with lo up, a veth link to
 * the host, and `pairs` veth pairs inside. Always destroy() it, e.g. in t.teardown.
 */
export async function createVethNamespace(name: string, pairs: number): Promise<VethNamespace> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw new Error(`createVethNamespace: bad namespace name ${JSON.stringify(name)}`);
  if (!Number.isInteger(pairs) || pairs < 0 || pairs > 20_000)
    throw new Error(`createVethNamespace: pairs must be an integer 0..20000, got ${pairs}`);
  const hostLink = hostLinkName(name);
  await removeLeftovers(name, hostLink);
  const { hostAddress, nsAddress } = await pickSubnet(name);

  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await removeLeftovers(name, hostLink);
  };

  try {
    await ip(['netns', 'add', name]);
    // No IPv6 on the many pairs: address autoconfiguration and DAD on thousands of links cost seconds.
    await ip(['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']).catch(
      () => undefined,
    );
    await ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', UPLINK_IFNAME, 'netns', name]);
    await ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostLink]);
    await ip(['link', 'set', hostLink, 'up']);
    const inside = ['link set lo up', `addr add ${nsAddress}/30 dev ${UPLINK_IFNAME}`, `link set ${UPLINK_IFNAME} up`];
    await ip(['-n', name, '-batch', '-'], `${inside.join('\n')}\n`);

    const started = performance.now();
    if (pairs > 0) {
      const lines: string[] = [];
      for (let i = 0; i < pairs; i++) {
        lines.push(`link add cwa${i} type veth peer name cwb${i}`, `link set cwa${i} up`, `link set cwb${i} up`);
      }
      await ip(['-n', name, '-batch', '-'], `${lines.join('\n')}\n`);
    }
    const createPairsMs = performance.now() - started;
    return { name, hostAddress, nsAddress, hostLink, pairs, createPairsMs, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** The uplink addresses of a namespace made by createVethNamespace, read back from the kernel. */
export async function namespaceUplink(name: string): Promise<{ hostAddress: string; nsAddress: string }> {
  const out = await ip(['-n', name, '-4', '-o', 'addr', 'show', 'dev', UPLINK_IFNAME]);
  const match = /inet (\d+)\.(\d+)\.(\d+)\.(\d+)\/30/.exec(out);
  if (!match)
    throw new Error(`namespace ${name} has no IPv4 /30 on ${UPLINK_IFNAME}; was it made by createVethNamespace?`);
  const [a, b, c, d] = match.slice(1).map(Number) as [number, number, number, number];
  const base = d & ~3;
  const peer = d === base + 1 ? base + 2 : base + 1;
  return { nsAddress: `${a}.${b}.${c}.${d}`, hostAddress: `${a}.${b}.${c}.${peer}` };
}
