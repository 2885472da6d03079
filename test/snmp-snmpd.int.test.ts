/**
 * The SNMP collector against the real Debian snmpd: a synthetic cell table served through
 * pass_persist (test/fixtures/snmp-passpersist/table, fed from a JSON state file the test rewrites),
 * and the machine's own IF-MIB; SNMPv1, v2c and v3 authPriv.
 */
import { createSocket } from 'node:dgram';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import snmp from 'net-snmp';
import pino from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { AcceleratedClock, ManualClock, ManualScheduler, TimerScheduler, type Scheduler } from '../clock/index.js';
import { MemoryAccumulator } from '../collectors/index.js';
import { SnmpCollector } from '../collectors/snmp/index.js';
import { parseConfig, type SnmpConfig } from '../config/index.js';
import type { Cell } from '../model/index.js';
import { requireService, makeTempDir, waitFor, type Test } from './helpers/service.js';
import { SNMPD_INSTALL_HINT, startSnmpd, type SnmpdServer } from './helpers/snmpd.js';
import { PromMetrics } from '../daemon/metrics.js';
import { CellInventory } from '../config/inventory.js';

const HELPER = fileURLToPath(new URL('./fixtures/snmp-passpersist/table', import.meta.url));
const CELL_TABLE = '1.3.6.1.4.1.32473.1.1';
const ENTRY = `${CELL_TABLE}.1`;
const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

type Col = [type: string, value: string | number];
interface Row {
  index: string;
  cols: Record<string, Col>;
}

/** One cwCellEntry row with DESIGN.md's columns. */
function cellRow(
  index: number,
  id: string,
  v: {
    available?: 1 | 2;
    dl?: bigint;
    ul?: bigint;
    users?: number;
    thpDl?: number;
    thpUl?: number;
    rsrp?: number;
    sinr?: number;
    rsrq?: number;
    prb?: number;
  },
): Row {
  const cols: Record<string, Col> = { '2': ['string', id] };
  if (v.available !== undefined) cols['3'] = ['integer', v.available];
  if (v.dl !== undefined) cols['4'] = ['counter64', v.dl.toString()];
  if (v.ul !== undefined) cols['5'] = ['counter64', v.ul.toString()];
  if (v.users !== undefined) cols['6'] = ['gauge', v.users];
  if (v.thpDl !== undefined) cols['7'] = ['gauge', v.thpDl];
  if (v.thpUl !== undefined) cols['8'] = ['gauge', v.thpUl];
  if (v.rsrp !== undefined) cols['9'] = ['integer', v.rsrp];
  if (v.sinr !== undefined) cols['10'] = ['integer', v.sinr];
  if (v.rsrq !== undefined) cols['11'] = ['integer', v.rsrq];
  if (v.prb !== undefined) cols['12'] = ['gauge', v.prb];
  return { index: String(index), cols };
}

class TableState {
  private n = 0;
  constructor(readonly file: string) {}
  /** Atomic replace, so the helper never reads half a file. */
  async write(rows: Row[], entry = ENTRY): Promise<void> {
    const tmp = `${this.file}.${++this.n}`;
    await writeFile(tmp, JSON.stringify({ entry, rows }));
    await rename(tmp, this.file);
  }
}

async function cellSnmpd(t: Test): Promise<{ snmpd: SnmpdServer; state: TableState }> {
  const dir = await makeTempDir('cw-snmp-pp');
  const state = new TableState(join(dir, 'state.json'));
  await state.write([]);
  const snmpd = await startSnmpd({ extraConfig: `pass_persist .${CELL_TABLE} ${HELPER} ${state.file}\n` });
  t.teardown(() => snmpd.stop());
  await warmPassPersist(snmpd);
  return { snmpd, state };
}

/**
 * snmpd starts the pass_persist helper (a Node process) on the first request to its subtree; on a
 * loaded box that cold start can outlast a test's short timeouts. One untimed request starts it.
 */
async function warmPassPersist(s: SnmpdServer): Promise<void> {
  const session = snmp.createSession(s.host, s.community, {
    port: s.port,
    version: snmp.Version2c,
    timeout: 10_000,
    retries: 0,
  });
  try {
    await new Promise<void>((resolve, reject) =>
      session.getNext([CELL_TABLE], (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    session.close();
  }
}

function snmpConfig(targets: unknown[], extra: Record<string, unknown> = {}): SnmpConfig {
  return parseConfig({ snmp: { targets, ...extra } }, { env: {} }).snmp;
}

function collector(cfg: SnmpConfig, opts: { inventory?: Map<string, Cell>; clock?: ManualClock } = {}) {
  const clock = opts.clock ?? new ManualClock(T0);
  const scheduler = new ManualScheduler(clock);
  const registry = new Registry();
  // Log lines are kept, so tests can check what an operator would read.
  const logs: { level: number; msg: string; target?: string }[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) },
  );
  const c = new SnmpCollector(cfg, {
    scheduler,
    log,
    metrics: new PromMetrics(registry),
    inventory: CellInventory.of([...(opts.inventory?.values() ?? [])]),
  });
  return { c, clock, scheduler, registry, logs };
}

void t.test('v2c cell-table poll of a pass_persist table into Samples', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  await state.write([
    cellRow(1, 'S1-1', {
      available: 1,
      dl: 1_000_000_000n,
      ul: 200_000_000n,
      users: 12,
      thpDl: 23_500,
      thpUl: 4_250,
      rsrp: -95,
      sinr: 1250,
      rsrq: -1075,
      prb: 47,
    }),
    cellRow(2, 'S1-2', {
      available: 2,
      dl: 5n,
      ul: 7n,
      users: 0,
      thpDl: 0,
      thpUl: 0,
      rsrp: 0,
      sinr: 0,
      rsrq: 0,
      prb: 0,
    }),
  ]);
  const cfg = snmpConfig([
    {
      name: 'site-1',
      host: snmpd.host,
      port: snmpd.port,
      version: '2c',
      community: snmpd.community,
      profile: 'cell-table',
    },
  ]);
  const { c, clock, scheduler, registry } = collector(cfg);
  const acc = new MemoryAccumulator();
  await c.start(acc);
  t.teardown(() => c.stop());

  t.equal(c.status()[0]?.state, 'pending', 'a target is pending until its first poll');
  await scheduler.advance(60_000);
  t.same(
    acc.errors.map((e) => e.err.message),
    [],
    'no errors',
  );
  t.equal(acc.samples.length, 2, 'one sample per row');
  const s1 = acc.samples.find((s) => s.cell === 'S1-1')!;
  t.match(s1, {
    source: 'snmp',
    ts: T0 + 60_000,
    intervalS: 60,
    available: true,
    activeUsers: 12,
    rsrpDbm: -95,
    prbUtilPct: 47,
  });
  t.equal(s1.dlMbps, 23.5, 'kbit/s gauge → Mbit/s');
  t.equal(s1.ulMbps, 4.25);
  t.equal(s1.sinrDb, 12.5, 'centi-dB → dB');
  t.equal(s1.rsrqDb, -10.75);
  t.notOk('dlVolumeMB' in s1, 'no volume on the first poll: nothing to subtract from');
  const s2 = acc.samples.find((s) => s.cell === 'S1-2')!;
  t.equal(s2.available, false, '2 = down');
  t.notOk(
    'dlMbps' in s2 || 'rsrpDbm' in s2 || 'activeUsers' in s2,
    'a down cell carries no measured KPIs (the agent reports zeros, not measurements)',
  );

  await state.write([
    cellRow(1, 'S1-1', {
      available: 1,
      dl: 1_450_000_000n,
      ul: 230_000_000n,
      users: 14,
      thpDl: 21_000,
      thpUl: 4_000,
      rsrp: -96,
      sinr: 1100,
      rsrq: -1100,
      prb: 52,
    }),
    cellRow(2, 'S1-2', {
      available: 1,
      dl: 2_000_005n,
      ul: 1_000_007n,
      users: 3,
      thpDl: 30_000,
      thpUl: 6_000,
      rsrp: -90,
      sinr: 1500,
      rsrq: -900,
      prb: 5,
    }),
  ]);
  await scheduler.advance(60_000);
  const second = acc.samples.slice(2);
  t.equal(second.length, 2);
  const n1 = second.find((s) => s.cell === 'S1-1')!;
  t.equal(n1.dlVolumeMB, 450, 'Counter64 octet delta → MB');
  t.equal(n1.ulVolumeMB, 30);
  t.equal(n1.intervalS, 60, 'seconds since the previous successful poll');
  t.equal(second.find((s) => s.cell === 'S1-2')!.dlVolumeMB, 2);
  t.equal(c.status()[0]?.state, 'ok');
  t.equal(c.status()[0]?.rows, 2);
  t.equal(c.status()[0]?.lastSuccess, T0 + 120_000);
  const metrics = await registry.getMetricsAsJSON();
  const pdus = metrics
    .find((m) => m.name === 'cellwatch_snmp_pdus_total')!
    .values.find((v) => v.labels.target === 'site-1')!.value;
  t.ok(pdus >= 2 && pdus <= 4, `a 2-row table costs about one PDU per poll (got ${pdus} for 2 polls)`);
  t.equal(clock.now(), T0 + 120_000);
  t.same(acc.gaps, [], 'no gaps');
});

/** A UDP port that swallows everything: a hung device. */
async function blackhole(t: Test): Promise<number> {
  const socket = createSocket('udp4');
  socket.on('message', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket.address().port;
}

const cellsOf = (site: string, n: number): Map<string, Cell> =>
  new Map(
    Array.from({ length: n }, (_, i) => [
      `${site}-${i + 1}`,
      { id: `${site}-${i + 1}`, site, region: 'R1', lat: 0, lon: 0, neighbours: [], snmpIndex: i + 1 },
    ]),
  );

async function metric(registry: Registry, name: string, target: string): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => v.labels.target === target)?.value;
}

void t.test('counter resets, holes and an agent restart against snmpd', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  const cfg = snmpConfig([
    {
      name: 'site-2',
      host: snmpd.host,
      port: snmpd.port,
      community: snmpd.community,
      site: 'S2',
      timeout: '300ms',
      retries: 0,
    },
  ]);
  const { c, clock, registry } = collector(cfg, { inventory: cellsOf('S2', 3) });
  const acc = new MemoryAccumulator();
  const poll = async () => {
    clock.advance(60_000);
    await c.pollOnce('site-2', acc, clock.now(), new AbortController().signal);
  };
  const rows = (dl1: bigint, dl2: bigint) => [
    cellRow(1, 'S2-1', { available: 1, dl: dl1, ul: 0n, thpDl: 10_000 }),
    // A row with holes: no throughput gauge, no uplink counter.
    cellRow(2, 'S2-2', { available: 1, dl: dl2, rsrp: -99 }),
  ];
  await state.write(rows(5_000_000n, 9_000_000n));
  await poll();
  // The restart further down is told by sysUpTime going backwards (on this test's manual clock minutes
  // pass in seconds, so the tolerance would hide a young agent merely advancing too little). So the
  // last reading of this agent must be older than the next agent gets through start-up and warm-up.
  await new Promise((r) => setTimeout(r, 3000));
  await state.write(rows(6_000_000n, 1_000n));
  await poll();
  const [a, b] = [acc.samples.at(-2)!, acc.samples.at(-1)!];
  t.equal(a.dlVolumeMB, 1, 'the healthy counter gives its volume');
  t.notOk('dlVolumeMB' in b, 'a Counter64 that went down gives no volume (never negative)');
  t.notOk('dlMbps' in b || 'ulVolumeMB' in b, 'holes stay absent');
  t.equal(b.rsrpDbm, -99);
  t.match(
    acc.gaps,
    [{ target: 'site-2', reason: 'counter-reset', cells: ['S2-2'] }],
    'a counter-reset gap names only the cell concerned',
  );
  t.equal(await metric(registry, 'cellwatch_snmp_counter_resets_total', 'site-2'), 1);

  // The agent goes away mid-run: a timeout gap naming the cells it last reported, no samples.
  const port = snmpd.port;
  await snmpd.stop();
  const before = acc.samples.length;
  await poll();
  t.equal(acc.samples.length, before, 'no samples from a dead agent, not even zeros');
  t.match(acc.gaps.at(-1), { target: 'site-2', reason: 'timeout', cells: ['S2-1', 'S2-2'] });
  t.match(
    acc.errors.at(-1)?.err.message,
    /^site-2: no answer from 127\.0\.0\.1:\d+ after 1 try/,
    'the error names the target',
  );
  t.equal(c.status()[0]?.state, 'timeout');

  // It comes back (restarted: sysUpTime from zero) with counters that kept rising.
  const again = await startSnmpd({ port, extraConfig: `pass_persist .${CELL_TABLE} ${HELPER} ${state.file}\n` });
  t.teardown(() => again.stop());
  await warmPassPersist(again);
  await state.write(rows(9_000_000n, 5_000n));
  await poll();
  const fresh = acc.samples.slice(before);
  t.equal(fresh.length, 2, 'samples again once it answers');
  t.ok(
    fresh.every((s) => s.dlVolumeMB === undefined),
    'after a restart no volume, although the counters rose',
  );
  t.match(acc.gaps.at(-1), { reason: 'counter-reset', detail: /restarted/, cells: ['S2-1', 'S2-2'] });
  t.equal(fresh[0]!.intervalS, 120, 'intervalS spans the missed poll');
  await state.write(rows(10_000_000n, 6_000n));
  await poll();
  t.equal(acc.samples.at(-2)!.dlVolumeMB, 1, 'volumes resume from the new baseline');
  t.equal(c.status()[0]?.state, 'ok');
});

void t.test('a table of thousands of rows, and known rows by GET', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  const N = 3000;
  await state.write(
    Array.from({ length: N }, (_, i) =>
      cellRow(i + 1, `B-${i + 1}`, {
        available: 1,
        dl: BigInt(i) * 1000n,
        ul: 0n,
        users: i % 50,
        thpDl: 1000 + i,
        thpUl: 500,
        rsrp: -90,
        sinr: 1000,
        rsrq: -1000,
        prb: i % 100,
      }),
    ),
  );
  const cfg = snmpConfig([
    { name: 'big', host: snmpd.host, port: snmpd.port, community: snmpd.community, maxRepetitions: 40 },
    { name: 'pick', host: snmpd.host, port: snmpd.port, community: snmpd.community, indexes: [7, 2999, 999999] },
  ]);
  const { c, registry } = collector(cfg);
  const acc = new MemoryAccumulator();
  await c.pollOnce('big', acc, T0, new AbortController().signal);
  t.same(acc.errors, []);
  t.equal(acc.samples.length, N, `all ${N} rows`);
  t.equal(new Set(acc.samples.map((s) => s.cell)).size, N, 'each row once');
  t.equal(acc.samples.find((s) => s.cell === 'B-2500')?.dlMbps, 3.499);
  const pdus = (await metric(registry, 'cellwatch_snmp_pdus_total', 'big'))!;
  const varbinds = (await metric(registry, 'cellwatch_snmp_varbinds_total', 'big'))!;
  t.ok(varbinds >= N * 11, `${varbinds} varbinds`);
  t.ok(
    pdus < (N * 11) / 40,
    `${pdus} PDUs: several columns per GETBULK (one column per PDU would need ${Math.ceil((N * 11) / 40)})`,
  );
  t.equal(c.status()[0]?.rows, N);

  const picked = new MemoryAccumulator();
  await c.pollOnce('pick', picked, T0, new AbortController().signal);
  t.same(
    picked.samples.map((s) => s.cell).sort(),
    ['B-2999', 'B-7'],
    'only the listed rows; an index the agent lacks (noSuchInstance) gives no row',
  );
  t.equal(await metric(registry, 'cellwatch_snmp_pdus_total', 'pick'), 1, '3 rows × 11 columns + sysUpTime in one GET');
});

void t.test('IF-MIB transport links over v2c, v1 and v3 authPriv (SHA/AES-128, SHA-256/AES-256)', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const extra = 'createUser cwsha1aes256 SHA "cw-auth-sha1" AES-256 "cw-priv-aes256"\nrouser cwsha1aes256 priv\n';
  const snmpd = await startSnmpd({ extraConfig: extra });
  t.teardown(() => snmpd.stop());
  const base = { host: snmpd.host, port: snmpd.port, profile: 'if-mib', site: 'S1', timeout: '1s', retries: 0 };
  const { v3, v3sha256 } = snmpd;
  const targets = [
    { ...base, name: 'v2c', version: '2c', community: snmpd.community },
    { ...base, name: 'v1', version: '1', community: snmpd.community },
    {
      ...base,
      name: 'v3-sha-aes',
      version: 3,
      user: v3.user,
      authProtocol: 'sha',
      authKey: v3.authKey,
      privProtocol: 'aes',
      privKey: v3.privKey,
    },
    {
      ...base,
      name: 'v3-sha256-aes256',
      version: 3,
      user: v3sha256.user,
      authProtocol: 'sha256',
      authKey: v3sha256.authKey,
      privProtocol: 'aes256',
      privKey: v3sha256.privKey,
    },
    {
      ...base,
      name: 'v3-sha512-aes256b',
      version: 3,
      user: v3sha256.user,
      authProtocol: 'sha256',
      authKey: v3sha256.authKey,
      privProtocol: 'aes256b',
      privKey: v3sha256.privKey,
    },
    {
      ...base,
      name: 'v3-sha1-aes256b',
      version: 3,
      user: 'cwsha1aes256',
      authProtocol: 'sha',
      authKey: 'cw-auth-sha1',
      privProtocol: 'aes256b',
      privKey: 'cw-priv-aes256',
    },
    {
      ...base,
      name: 'v3-sha1-aes256r',
      version: 3,
      user: 'cwsha1aes256',
      authProtocol: 'sha',
      authKey: 'cw-auth-sha1',
      privProtocol: 'aes256r',
      privKey: 'cw-priv-aes256',
    },
    {
      ...base,
      name: 'v3-wrong-auth',
      version: 3,
      user: v3.user,
      authProtocol: 'sha',
      authKey: 'not-the-key',
      privProtocol: 'aes',
      privKey: v3.privKey,
    },
    {
      ...base,
      name: 'v3-wrong-priv',
      version: 3,
      user: v3.user,
      authProtocol: 'sha',
      authKey: v3.authKey,
      privProtocol: 'aes',
      privKey: 'not-the-key',
    },
    {
      ...base,
      name: 'v3-unknown-user',
      version: 3,
      user: 'nobody',
      authProtocol: 'sha',
      authKey: v3.authKey,
      privProtocol: 'aes',
      privKey: v3.privKey,
    },
    { ...base, name: 'v2c-wrong-community', version: '2c', community: 'not-the-community' },
  ];
  const { c, clock } = collector(snmpConfig(targets));
  const acc = new MemoryAccumulator();
  const pollAll = async () => {
    clock.advance(60_000);
    await Promise.all(targets.map((x) => c.pollOnce(x.name, acc, clock.now(), new AbortController().signal)));
  };
  await pollAll();
  await new Promise((r) => setTimeout(r, 300));
  await pollAll();
  const linksOf = (target: string) => acc.links.filter((l) => l.link.startsWith(`${target}:`));
  for (const name of ['v2c', 'v1', 'v3-sha-aes', 'v3-sha256-aes256', 'v3-sha512-aes256b', 'v3-sha1-aes256b']) {
    const links = linksOf(name);
    t.ok(links.length >= 2, `${name}: the machine's interfaces as links (${links.length / 2} per poll)`);
    const lo = links.filter((l) => l.link === `${name}:1`);
    t.equal(lo.length, 2, `${name}: ifIndex 1 (lo) twice`);
    t.match(lo[1], { site: 'S1', source: 'snmp', operUp: true }, `${name}: site from the target, oper status`);
    t.ok(
      typeof lo[1]!.inMbps === 'number' && lo[1]!.inMbps >= 0,
      `${name}: a rate on the second poll (${lo[1]!.inMbps} Mbit/s)`,
    );
  }
  t.ok(
    linksOf('v2c').every((l) => l.speedMbps !== undefined),
    'v2c: ifHighSpeed read',
  );
  t.equal(linksOf('v1')[0]!.link, 'v1:1');
  const errorOf = (target: string) => acc.errors.find((e) => e.target === target)?.err.message ?? '';
  const gapOf = (target: string) => acc.gaps.find((g) => g.target === target);
  t.equal(
    linksOf('v3-sha1-aes256r').length,
    0,
    "SHA-1 with the Reeder AES-256 key extension: Debian's snmpd (Blumenthal) cannot decrypt it",
  );
  t.equal(gapOf('v3-sha1-aes256r')?.reason, 'auth');
  t.match(
    errorOf('v3-wrong-auth'),
    /^v3-wrong-auth: SNMPv3 user "cwv3sha" rejected by 127\.0\.0\.1:\d+: Wrong Digest/,
    'wrong authKey: a clear auth error naming the target',
  );
  t.equal(gapOf('v3-wrong-auth')?.reason, 'auth');
  t.match(
    errorOf('v3-wrong-priv'),
    /^v3-wrong-priv: .*answered SNMPv3 discovery but none of the encrypted requests: wrong privKey or privProtocol/,
    'wrong privKey: snmpd stays silent, still reported as credentials',
  );
  t.equal(gapOf('v3-wrong-priv')?.reason, 'auth');
  t.match(errorOf('v3-unknown-user'), /Unknown User Name/);
  t.match(
    errorOf('v2c-wrong-community'),
    /^v2c-wrong-community: no answer .*community is wrong/,
    'v2c: a wrong community is silence; the error says so',
  );
  t.equal(gapOf('v2c-wrong-community')?.reason, 'timeout');
  t.notOk(JSON.stringify(acc.errors.map((e) => e.err.message)).includes('not-the-key'), 'no key in any error text');
  t.same(acc.samples, [], 'IF-MIB gives links, never cell samples');
});

void t.test('isolation: a target that never answers delays no other, and stops at its deadline', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  await state.write([cellRow(1, 'S1-1', { available: 1, thpDl: 5000 })]);
  const holes = await Promise.all([blackhole(t), blackhole(t), blackhole(t)]);
  const dead = holes.map((port, i) => ({
    name: `dead-${i}`,
    host: '127.0.0.1',
    port,
    community: 'x',
    site: 'S7',
    interval: '2s',
    timeout: '500ms',
    retries: 2,
  }));
  const cfg = snmpConfig(
    [...dead, { name: 'live', host: snmpd.host, port: snmpd.port, community: snmpd.community, interval: '2s' }],
    { concurrency: 2 },
  );
  const { c, clock, registry, logs } = collector(cfg, { inventory: cellsOf('S7', 2) });
  const acc = new MemoryAccumulator();
  const tick = clock.now();
  const finished: Record<string, number> = {};
  const start = performance.now();
  await Promise.all(
    ['dead-0', 'dead-1', 'live', 'dead-2'].map((name) =>
      c.pollOnce(name, acc, tick, new AbortController().signal).then(() => {
        finished[name] = performance.now() - start;
      }),
    ),
  );
  t.equal(acc.samples.length, 1, 'the live target delivered');
  // The two live-lane slots go to dead-0 and dead-1 first (nobody knows yet that they are dead); after
  // their first timeout they retry from the suspect lane, so the live target waits one timeout at most
  // (held behind them it would wait for their three tries: 1,500 ms). The slack is for a loaded CI box.
  t.ok(finished.live! < 1000, `live target done after ${Math.round(finished.live!)} ms`);
  t.ok(
    Object.values(finished).every((ms) => ms < 1600 + 1000),
    'every poll ended near its deadline (0.8 × 2 s)',
  );
  t.ok(
    (await metric(registry, 'cellwatch_snmp_timeouts_total', 'dead-2'))! < 3,
    'the deadline cut short the tries of the target that waited for a slot',
  );
  t.equal(acc.gaps.filter((g) => g.reason === 'timeout').length, 3);
  t.same(acc.gaps[0]!.cells, ['S7-1', 'S7-2'], 'a target that never answered blinds the inventory cells of its site');
  t.equal(await metric(registry, 'cellwatch_snmp_timeouts_total', 'dead-0'), 3, '1 try + 2 retries, each counted');
  t.equal(await metric(registry, 'cellwatch_snmp_retries_total', 'dead-0'), 2);
  t.ok(
    logs.some(
      (l) => l.level === 40 && l.target === 'dead-0' && /^slow SNMP target dead-0: poll took \d+ ms/.test(l.msg),
    ),
    'the slow target is named in a warning',
  );
  t.ok(
    logs.some((l) => l.level === 40 && l.target === 'dead-1' && /SNMP poll failed: dead-1: no answer/.test(l.msg)),
    'the failure is logged, naming the target',
  );
  t.notOk(
    logs.some((l) => l.target === 'live' && l.level >= 40),
    'nothing to say about the live one',
  );

  // Next tick: the dead ones are suspects — their own lane, one try each — and the live one is not held up.
  clock.advance(2000);
  const t1 = performance.now();
  const live = c.pollOnce('live', acc, clock.now(), new AbortController().signal).then(() => performance.now() - t1);
  const deads = Promise.all(dead.map((d) => c.pollOnce(d.name, acc, clock.now(), new AbortController().signal)));
  const liveMs = await live;
  await deads;
  const deadMs = performance.now() - t1;
  t.ok(liveMs < 400, `live target unaffected by three dead ones: ${Math.round(liveMs)} ms`);
  t.ok(deadMs < 1400, `suspects get one try (500 ms each, 2 at a time): ${Math.round(deadMs)} ms`);
  t.equal(await metric(registry, 'cellwatch_snmp_timeouts_total', 'dead-0'), 4);
  t.equal(await metric(registry, 'cellwatch_snmp_up', 'dead-0'), 0);
  t.equal(await metric(registry, 'cellwatch_snmp_up', 'live'), 1);
  t.equal(c.status().find((s) => s.target === 'dead-1')?.state, 'timeout');
});

void t.test('lifecycle: start, reload keeps counters of kept targets, skipped ticks, stop aborts', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  let dl = 1_000_000n;
  const write = () => state.write([cellRow(1, 'S1-1', { available: 1, dl, ul: 0n, thpDl: 8000 })]);
  await write();
  const hole = await blackhole(t);
  const cells = { name: 'cells', host: snmpd.host, port: snmpd.port, community: snmpd.community };
  const dead = { name: 'dead', host: '127.0.0.1', port: hole, community: 'x', timeout: '200ms', retries: 0 };
  const links = {
    name: 'links',
    host: snmpd.host,
    port: snmpd.port,
    community: snmpd.community,
    profile: 'if-mib',
    site: 'S1',
  };

  // A scheduler that hands out the onSkip hook, so the overlap path can be driven deterministically.
  const clock = new ManualClock(T0);
  const manual = new ManualScheduler(clock);
  const skips = new Map<string, (tick: number) => void>();
  const scheduler: Scheduler = {
    clock,
    every: (name, ms, task, opts) => {
      if (opts?.onSkip) skips.set(name, opts.onSkip);
      return manual.every(name, ms, task, opts);
    },
    cron: (...args) => manual.cron(...args),
    stop: (o) => manual.stop(o),
  };
  const registry = new Registry();
  const c = new SnmpCollector(snmpConfig([cells, dead]), {
    scheduler,
    log: pino({ level: 'silent' }),
    metrics: new PromMetrics(registry),
    inventory: CellInventory.empty,
  });
  const acc = new MemoryAccumulator();
  await c.start(acc);
  await c.start(acc);
  t.teardown(() => c.stop());
  const step = async () => {
    dl += 2_000_000n;
    await write();
    await manual.advance(60_000);
  };
  await step();
  await step();
  t.equal(acc.samples.filter((s) => s.cell === 'S1-1').length, 2, 'start is idempotent: one job per target');
  t.equal(acc.samples.at(-1)!.dlVolumeMB, 2);
  t.equal(acc.gaps.filter((g) => g.target === 'dead').length, 2);

  skips.get('snmp:cells')!(T0 + 999_000);
  t.match(
    acc.gaps.at(-1),
    { target: 'cells', reason: 'skipped-overlap', ts: T0 + 999_000, cells: ['S1-1'] },
    'a skipped tick is a gap',
  );
  t.equal(await metric(registry, 'cellwatch_snmp_skipped_ticks_total', 'cells'), 1);

  const r1 = await c.reload(snmpConfig([cells, links]));
  t.same(r1, { added: ['links'], removed: ['dead'], changed: [], kept: ['cells'] });
  t.same(
    c
      .status()
      .map((s) => s.target)
      .sort(),
    ['cells', 'links'],
  );
  t.notMatch(await registry.metrics(), /target="dead"/, "a removed target's series leave /metrics");
  const before = acc.samples.length;
  await step();
  t.equal(
    acc.samples.slice(before)[0]!.dlVolumeMB,
    2,
    'the kept target kept its counter state: a volume right after the reload',
  );
  t.ok(
    acc.links.some((l) => l.link.startsWith('links:')),
    'the added target polls',
  );
  t.notOk(
    acc.gaps.some((g) => g.target === 'dead' && g.ts > T0 + 120_000),
    'the removed target stopped',
  );

  const r2 = await c.reload(snmpConfig([{ ...cells, timeout: '2s' }, links]));
  t.same(r2.changed, ['cells'], 'a changed timeout is a change');
  await step();
  t.equal(acc.samples.at(-1)!.dlVolumeMB, 2, 'same device and table: counters survive a settings change');
  const r3 = await c.reload(snmpConfig([{ ...cells, timeout: '2s', port: snmpd.port, host: 'localhost' }, links]));
  t.same(r3.changed, ['cells']);
  await step();
  t.notOk('dlVolumeMB' in acc.samples.at(-1)!, 'another host is another device: counters start afresh');

  // stop() aborts a poll in flight and leaves no gap behind.
  await c.reload(snmpConfig([cells, links, { ...dead, timeout: '5s', interval: '1h' }]));
  const gapsBefore = acc.gaps.length;
  const inflight = c.pollOnce('dead', acc, clock.now(), new AbortController().signal);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await c.stop();
  await inflight;
  t.ok(performance.now() - t0 < 2000, 'stop does not wait for a 5 s timeout');
  t.equal(acc.gaps.length, gapsBefore, 'an aborted poll is not a gap: the collector stopped, the network did not');
  await c.stop();
  await manual.advance(600_000);
  t.equal(acc.gaps.length, gapsBefore, 'nothing polls after stop');
});

void t.test('real timers on an accelerated clock (the demo): 60 s intervals at 60×', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  await state.write([cellRow(1, 'S1-1', { available: 1, thpDl: 8000 })]);
  const clock = new AcceleratedClock(T0, 60);
  const scheduler = new TimerScheduler(clock);
  const c = new SnmpCollector(
    snmpConfig([{ name: 'cells', host: snmpd.host, port: snmpd.port, community: snmpd.community }]),
    {
      scheduler,
      log: pino({ level: 'silent' }),
      metrics: new PromMetrics(new Registry()),
      inventory: CellInventory.empty,
    },
  );
  const acc = new MemoryAccumulator();
  await c.start(acc);
  await waitFor(() => acc.samples.length >= 2, 15_000, 'two polls');
  await c.stop();
  await scheduler.stop();
  t.ok(
    acc.samples.every((s) => s.ts % 60_000 === 0),
    'stamped with aligned ticks',
  );
  t.equal(acc.samples[1]!.ts - acc.samples[0]!.ts, 60_000, 'one clock minute apart');
  t.equal(acc.samples[1]!.intervalS, 60);
  t.same(acc.gaps, [], 'no gaps');
});

void t.test('a device that dies gives its live slot back after a quick first try', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  await state.write([cellRow(1, 'S1-1', { available: 1, thpDl: 5000 })]);
  const dying = await startSnmpd();
  t.teardown(() => dying.stop());
  const cfg = snmpConfig(
    [
      {
        name: 'dying',
        host: dying.host,
        port: dying.port,
        community: dying.community,
        profile: 'if-mib',
        site: 'S9',
        timeout: '3s',
        retries: 1,
      },
      { name: 'live', host: snmpd.host, port: snmpd.port, community: snmpd.community },
    ],
    { concurrency: 1 },
  );
  const { c, clock, registry } = collector(cfg);
  const acc = new MemoryAccumulator();
  const pollBoth = async () => {
    clock.advance(60_000);
    const started = performance.now();
    const done: Record<string, number> = {};
    await Promise.all(
      ['dying', 'live'].map((name) =>
        c
          .pollOnce(name, acc, clock.now(), new AbortController().signal)
          .then(() => (done[name] = performance.now() - started)),
      ),
    );
    return done;
  };
  await pollBoth();
  t.same(acc.errors, [], 'both answer at first');
  await dying.stop();
  const done = await pollBoth();
  // One live-lane slot: 'dying' takes it first; its quick first try (250 ms, it answered in a few ms
  // before) gives it back, and it waits out its full 3 s retry in the suspect lane.
  t.ok(done.live! < 2000, `the live target waited ${Math.round(done.live!)} ms, not the 3 s timeout`);
  t.ok(
    done.dying! >= 3000 && done.dying! < 5500,
    `the dead one still got its full-timeout retry (${Math.round(done.dying!)} ms)`,
  );
  t.match(acc.gaps.at(-1), { target: 'dying', reason: 'timeout' });
  t.equal(
    await metric(registry, 'cellwatch_snmp_timeouts_total', 'dying'),
    2,
    'quick try + one full retry (retries: 1), both counted',
  );
  t.equal(await metric(registry, 'cellwatch_snmp_retries_total', 'dying'), 1);
});

void t.test('a host that does not resolve is unreachable, not a timeout', async (t) => {
  const cfg = snmpConfig([
    { name: 'nowhere', host: 'cellwatch-no-such-host.invalid', community: 'x', site: 'S3', timeout: '2s' },
  ]);
  const { c } = collector(cfg, { inventory: cellsOf('S3', 1) });
  const acc = new MemoryAccumulator();
  await c.pollOnce('nowhere', acc, T0, new AbortController().signal);
  t.match(acc.gaps, [{ target: 'nowhere', reason: 'unreachable', cells: ['S3-1'] }]);
  t.match(acc.errors[0]?.err.message, /^nowhere: cannot reach cellwatch-no-such-host\.invalid:161: .*ENOTFOUND/);
  t.equal(c.status()[0]?.state, 'unreachable');
});
