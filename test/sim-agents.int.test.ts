import snmp from 'net-snmp';
import pino from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { AcceleratedClock, ManualClock, ManualScheduler, TimerScheduler } from '../clock/index.js';
import { MemoryAccumulator } from '../collectors/index.js';
import { SnmpCollector } from '../collectors/snmp/index.js';
import { parseConfig } from '../config/index.js';
import { CELL_TABLE_OID, SimAgents, SimNetwork, type CellState } from '../sim/index.js';
import { freePort, waitFor } from './helpers/service.js';
import { PromMetrics } from '../daemon/metrics.js';
import { CellInventory } from '../config/inventory.js';

const MIN = 60_000;
// Tuesday 2026-03-03 20:00 in Shanghai: busy hour, every counter moves.
const T0 = Date.parse('2026-03-03T20:00:00+08:00');
const COMMUNITY = 'sim-test';
const V3 = { user: 'simv3', authKey: 'authpass123', privKey: 'privpass123' };

type Varbind = snmp.Varbind;

type Session = ReturnType<typeof snmp.createSession>;

function session(port: number, timeout = 1000): Session {
  return snmp.createSession('127.0.0.1', COMMUNITY, { port, version: snmp.Version2c, timeout, retries: 0 });
}

function walk(s: Session, oid: string): Promise<Varbind[]> {
  const out: Varbind[] = [];
  return new Promise((resolve, reject) => {
    s.subtree(
      oid,
      20,
      (vbs) => void out.push(...vbs),
      (err) => (err ? reject(err) : resolve(out)),
    );
  });
}

function get(s: Session, oids: string[]): Promise<Varbind[]> {
  return new Promise((resolve, reject) => s.get(oids, (err, vbs) => (err ? reject(err) : resolve(vbs ?? []))));
}

const u64 = (v: unknown): bigint => {
  const b = v as Buffer;
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  return x;
};
const octets = (mb: number) => BigInt(Math.round(mb * 1e6));
const linkOctets = (mbps: number) => BigInt(Math.round((mbps * 1e6 * 60) / 8));

/** The cell table row as DESIGN.md maps a CellState, column → [type, value]. */
function expectedRow(id: string, s: CellState): Record<number, [snmp.ObjectType, unknown]> {
  const T = snmp.ObjectType;
  return {
    2: [T.OctetString, id],
    3: [T.Integer, s.available ? 1 : 2],
    6: [T.Gauge, Math.round(s.activeUsers)],
    7: [T.Gauge, Math.round(s.dlMbps * 1000)],
    8: [T.Gauge, Math.round(s.ulMbps * 1000)],
    9: [T.Integer, Math.round(s.rsrpDbm)],
    10: [T.Integer, Math.round(s.sinrDb * 100)],
    11: [T.Integer, Math.round(s.rsrqDb * 100)],
    12: [T.Gauge, Math.round(s.prbUtilPct)],
  };
}

async function setup(t: Test, opts: { sites?: number; v3?: boolean; basePort?: number } = {}) {
  const network = SimNetwork.create({
    seed: 11,
    regions: 1,
    sites: opts.sites ?? 3,
    start: T0 - 2 * 86_400_000,
    timezone: 'Asia/Shanghai',
  });
  const clock = new ManualClock(T0);
  const scheduler = new ManualScheduler(clock);
  const agents = new SimAgents(network, scheduler, {
    host: '127.0.0.1',
    basePort: opts.basePort ?? 0,
    community: COMMUNITY,
    ...(opts.v3 ? { v3: V3 } : {}),
  });
  await agents.start();
  t.teardown(async () => {
    await agents.stop();
    await scheduler.stop();
  });
  return { network, clock, scheduler, agents };
}

void t.test('a v2c walk of the cell table sees every column of every row, equal to cellState', async (t) => {
  const { network, scheduler, clock, agents } = await setup(t);
  await scheduler.advance(3 * MIN);
  t.equal(agents.endpoints.length, 3);
  const targets = agents.targets();
  t.equal(targets.length, 6, 'two targets per site');
  for (const e of agents.endpoints) {
    const mine = targets.filter((x) => x.site === e.site);
    t.strictSame(mine.map((x) => x.profile).sort(), ['cell-table', 'if-mib']);
    t.ok(
      mine.every((x) => x.port === e.port && x.host === '127.0.0.1' && x.version === '2c' && x.community === COMMUNITY),
      `${e.site}: both targets on the site's agent`,
    );
  }

  for (const e of agents.endpoints) {
    const site = network.sites.find((s) => s.id === e.site)!;
    const s = session(e.port);
    t.teardown(() => s.close());
    const vbs = await walk(s, CELL_TABLE_OID);
    t.equal(vbs.length, 11 * site.cells.length, `${site.id}: 11 columns × ${site.cells.length} rows`);
    const byOid = new Map(vbs.map((v) => [v.oid, v]));
    let mismatches = 0;
    site.cells.forEach((id, i) => {
      const state = network.cellState(id, clock.now());
      for (const [col, [type, value]] of Object.entries(expectedRow(id, state))) {
        const vb = byOid.get(`${CELL_TABLE_OID}.1.${col}.${i + 1}`);
        const got =
          vb && (Buffer.isBuffer(vb.value) && type === snmp.ObjectType.OctetString ? vb.value.toString() : vb.value);
        if (!vb || vb.type !== type || got !== value) {
          mismatches++;
          t.fail(`${id} column ${col}: got ${String(got)} (type ${vb?.type}), want ${String(value)} (type ${type})`);
        }
      }
      // Counter64: an 8-byte-or-shorter Buffer that decodes to the volume carried since the agent started.
      let dl = 0n;
      let ul = 0n;
      for (let k = 2; k >= 0; k--) {
        const past = network.cellState(id, clock.now() - k * MIN);
        dl += octets(past.dlVolumeMB);
        ul += octets(past.ulVolumeMB);
      }
      for (const [col, want] of [
        [4, dl],
        [5, ul],
      ] as const) {
        const vb = byOid.get(`${CELL_TABLE_OID}.1.${col}.${i + 1}`);
        if (!vb || vb.type !== snmp.ObjectType.Counter64 || !Buffer.isBuffer(vb.value) || u64(vb.value) !== want) {
          mismatches++;
          t.fail(`${id} column ${col}: counter ${vb ? u64(vb.value) : 'missing'} != ${want}`);
        }
      }
    });
    t.equal(mismatches, 0, `${site.id}: every value matches the last step`);

    // A client reading the table by its table OID gets every row with every column.
    const table = await new Promise<snmp.TableData>((resolve, reject) =>
      s.table(CELL_TABLE_OID, 20, (err, rows) => (err ? reject(err) : resolve(rows ?? {}))),
    );
    t.strictSame(
      Object.keys(table).sort(),
      site.cells.map((_, i) => String(i + 1)).sort(),
      `${site.id}: table() sees every row`,
    );
    t.ok(
      Object.values(table).every((row) => Object.keys(row).length === 11),
      'each with 11 columns',
    );
  }
});

void t.test('counters grow by exactly the intervals stepped over; IF-MIB answers', async (t) => {
  const { network, scheduler, clock, agents } = await setup(t);
  await scheduler.advance(MIN);
  const e = agents.endpoints[1]!;
  const site = network.sites.find((s) => s.id === e.site)!;
  const s = session(e.port);
  t.teardown(() => s.close());
  const cellOids = site.cells.flatMap((_, i) => [`${CELL_TABLE_OID}.1.4.${i + 1}`, `${CELL_TABLE_OID}.1.5.${i + 1}`]);
  const IF = {
    sysUpTime: '1.3.6.1.2.1.1.3.0',
    ifIndex: '1.3.6.1.2.1.2.2.1.1.1',
    ifDescr: '1.3.6.1.2.1.2.2.1.2.1',
    ifOperStatus: '1.3.6.1.2.1.2.2.1.8.1',
    ifInErrors: '1.3.6.1.2.1.2.2.1.14.1',
    ifOutErrors: '1.3.6.1.2.1.2.2.1.20.1',
    ifName: '1.3.6.1.2.1.31.1.1.1.1.1',
    ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6.1',
    ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10.1',
    ifHighSpeed: '1.3.6.1.2.1.31.1.1.1.15.1',
    ifCounterDiscontinuityTime: '1.3.6.1.2.1.31.1.1.1.19.1',
  };
  const read = async () => {
    const cells = (await get(s, cellOids)).map((v) => u64(v.value));
    const ifv = await get(s, Object.values(IF));
    return {
      cells,
      ifv: Object.fromEntries(Object.keys(IF).map((k, i) => [k, ifv[i]!])) as Record<keyof typeof IF, Varbind>,
    };
  };
  const before = await read();
  await scheduler.advance(2 * MIN);
  const after = await read();

  const want: bigint[] = [];
  site.cells.forEach((id) => {
    let dl = 0n;
    let ul = 0n;
    for (const ts of [clock.now() - MIN, clock.now()]) {
      const st = network.cellState(id, ts);
      dl += octets(st.dlVolumeMB);
      ul += octets(st.ulVolumeMB);
    }
    want.push(dl, ul);
  });
  t.strictSame(
    after.cells.map((v, i) => v - before.cells[i]!),
    want,
    'each Counter64 grew by the two intervals’ volumes',
  );
  t.ok(
    want.every((x) => x > 0n),
    'and every counter moved',
  );

  const ifv = after.ifv;
  t.equal(ifv.sysUpTime.type, snmp.ObjectType.TimeTicks);
  t.equal(ifv.sysUpTime.value, 3 * 60 * 100, 'sysUpTime counts clock centiseconds since start');
  t.equal(ifv.ifIndex.value, 1);
  t.match(String(ifv.ifDescr.value), new RegExp(`backhaul ${site.id}`));
  t.equal(ifv.ifOperStatus.value, 1);
  t.equal(ifv.ifInErrors.type, snmp.ObjectType.Counter32);
  t.equal(ifv.ifOutErrors.type, snmp.ObjectType.Counter32);
  t.equal(String(ifv.ifName.value), `bh-${site.id}`);
  t.equal(ifv.ifHighSpeed.type, snmp.ObjectType.Gauge);
  t.equal(ifv.ifHighSpeed.value, site.linkSpeedMbps);
  t.equal(ifv.ifCounterDiscontinuityTime.type, snmp.ObjectType.TimeTicks);
  t.equal(ifv.ifHCInOctets.type, snmp.ObjectType.Counter64);
  let inOct = 0n;
  let outOct = 0n;
  let inErr = 0;
  for (const ts of [clock.now() - MIN, clock.now()]) {
    const l = network.linkState(site.id, ts);
    inOct += linkOctets(l.inMbps);
    outOct += linkOctets(l.outMbps);
    inErr += l.inErrors;
  }
  t.equal(
    u64(ifv.ifHCInOctets.value) - u64(before.ifv.ifHCInOctets.value),
    inOct,
    'ifHCInOctets grew by the link’s two intervals',
  );
  t.equal(u64(ifv.ifHCOutOctets.value) - u64(before.ifv.ifHCOutOctets.value), outOct, 'ifHCOutOctets too');
  t.equal(
    (ifv.ifInErrors.value as number) - (before.ifv.ifInErrors.value as number),
    inErr,
    'ifInErrors adds the per-interval increments',
  );
  t.strictSame(agents.counters(site.id).inOctets, u64(ifv.ifHCInOctets.value), 'counters() agrees with the wire');

  // IF-MIB walks stay within their tables.
  const ifTable = await walk(s, '1.3.6.1.2.1.2.2');
  t.equal(ifTable.length, 5, 'ifTable: ifIndex, ifDescr, ifOperStatus, ifInErrors, ifOutErrors');
  const ifX = await walk(s, '1.3.6.1.2.1.31.1.1');
  t.equal(ifX.length, 5, 'ifXTable: ifName, ifHCIn/OutOctets, ifHighSpeed, ifCounterDiscontinuityTime');
});

void t.test('faults: stop, reboot, blackhole', async (t) => {
  const { network, scheduler, agents } = await setup(t);
  await scheduler.advance(2 * MIN);
  const e = agents.endpoints[0]!;
  const site = network.sites.find((s) => s.id === e.site)!;
  const s = session(e.port, 400);
  t.teardown(() => s.close());
  const upAndCounter = async () => {
    const [up, dl] = await get(s, ['1.3.6.1.2.1.1.3.0', `${CELL_TABLE_OID}.1.4.1`]);
    return { up: up!.value as number, dl: u64(dl!.value) };
  };
  const running = await upAndCounter();
  t.equal(running.up, 12_000);
  t.ok(running.dl > 0n);

  await agents.stopAgent(site.id);
  await t.rejects(get(s, ['1.3.6.1.2.1.1.3.0']), 'a stopped agent does not answer');
  await scheduler.advance(MIN);
  await agents.stopAgent(site.id);
  t.pass('stopAgent twice is harmless');

  await agents.startAgent(site.id);
  const rebooted = await upAndCounter();
  t.equal(rebooted.up, 0, 'sysUpTime restarts from zero');
  t.equal(rebooted.dl, 0n, 'counters restart from zero');
  t.equal(agents.endpoints[0]!.port, e.port, 'on the same port');
  await scheduler.advance(MIN);
  const next = await upAndCounter();
  t.equal(next.up, 6_000);
  t.equal(next.dl, octets(network.cellState(site.cells[0]!, T0 + 4 * MIN).dlVolumeMB), 'then count from the reboot');

  const other = session(agents.endpoints[1]!.port, 400);
  t.teardown(() => other.close());
  await agents.blackhole(site.id);
  await t.rejects(
    get(s, ['1.3.6.1.2.1.1.3.0']),
    { name: 'RequestTimedOutError' },
    'a hung agent lets requests time out',
  );
  t.ok((await get(other, ['1.3.6.1.2.1.1.3.0'])).length === 1, 'the other agents still answer');
  await scheduler.advance(MIN);
  await agents.startAgent(site.id);
  t.equal((await upAndCounter()).up, 0, 'a blackholed agent can be rebooted');

  await t.rejects(agents.stopAgent('S9999'), /unknown site "S9999"/);
});

void t.test('SNMPv3 authPriv (SHA + AES) works on every agent; wrong keys do not', async (t) => {
  const { agents } = await setup(t, { v3: true });
  for (const e of agents.endpoints) {
    const v3 = snmp.createV3Session(
      '127.0.0.1',
      {
        name: V3.user,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols.sha,
        authKey: V3.authKey,
        privProtocol: snmp.PrivProtocols.aes,
        privKey: V3.privKey,
      },
      { port: e.port, timeout: 1000, retries: 0 },
    );
    t.teardown(() => v3.close());
    const [vb] = await get(v3, [`${CELL_TABLE_OID}.1.2.1`]);
    t.equal(String(vb!.value), `${e.site}-1`, `${e.site}: v3 get`);
  }
  const wrong = snmp.createV3Session(
    '127.0.0.1',
    {
      name: V3.user,
      level: snmp.SecurityLevel.authPriv,
      authProtocol: snmp.AuthProtocols.sha,
      authKey: 'not-the-key',
      privProtocol: snmp.PrivProtocols.aes,
      privKey: V3.privKey,
    },
    { port: agents.endpoints[0]!.port, timeout: 400, retries: 0 },
  );
  t.teardown(() => wrong.close());
  await t.rejects(get(wrong, ['1.3.6.1.2.1.1.3.0']), 'a wrong auth key is refused');
  const badCommunity = snmp.createSession('127.0.0.1', 'nope', {
    port: agents.endpoints[0]!.port,
    version: snmp.Version2c,
    timeout: 400,
    retries: 0,
  });
  t.teardown(() => badCommunity.close());
  await t.rejects(get(badCommunity, ['1.3.6.1.2.1.1.3.0']), 'an unknown community gets no answer');
  t.ok(agents.requestErrors >= 1, `rejected requests are counted (${agents.requestErrors})`);
});

void t.test('lifecycle: start and stop are idempotent; fixed ports; bad options', async (t) => {
  const base = await freePort('udp');
  const { agents } = await setup(t, { sites: 1, basePort: base });
  t.strictSame(
    agents.endpoints.map((e) => e.port),
    [base],
    'site i listens on basePort + i',
  );
  await agents.start();
  t.equal(agents.endpoints.length, 1, 'a second start changes nothing');
  await agents.stop();
  await agents.stop();
  const s = session(base, 300);
  t.teardown(() => s.close());
  await t.rejects(get(s, ['1.3.6.1.2.1.1.3.0']), 'stopped agents do not answer');
  await agents.start();
  t.equal((await get(s, ['1.3.6.1.2.1.1.3.0'])).length, 1, 'and can start again');

  const network = SimNetwork.create({ seed: 1, regions: 1, sites: 2, start: T0, timezone: 'UTC' });
  const sched = new ManualScheduler(new ManualClock(T0));
  t.throws(
    () => new SimAgents(network, sched, { host: '127.0.0.1', basePort: 0, community: 'x', stepMs: 1000 }),
    /stepMs: must be a multiple of 60000/,
  );
  t.throws(() => new SimAgents(network, sched, { host: '127.0.0.1', basePort: 65535, community: 'x' }), /basePort/);
  // A fixed port someone else holds: a clear error, and nothing left bound.
  const clash = new SimAgents(network, sched, { host: '127.0.0.1', basePort: base, community: 'x' });
  await t.rejects(clash.start(), /cannot bind UDP 127\.0\.0\.1:\d+/);
});

void t.test('on real timers the agents update themselves', async (t) => {
  const network = SimNetwork.create({
    seed: 5,
    regions: 1,
    sites: 2,
    start: T0 - 86_400_000,
    timezone: 'Asia/Shanghai',
  });
  // One clock minute per 50 real ms.
  const clock = new AcceleratedClock(T0, 1200);
  const scheduler = new TimerScheduler(clock);
  const agents = new SimAgents(network, scheduler, { host: '127.0.0.1', basePort: 0, community: COMMUNITY });
  await agents.start();
  t.teardown(async () => {
    await agents.stop();
    await scheduler.stop();
  });
  const s = session(agents.endpoints[0]!.port);
  t.teardown(() => s.close());
  await waitFor(
    async () => u64((await get(s, [`${CELL_TABLE_OID}.1.4.1`]))[0]!.value) > 0n,
    5000,
    'the first counter to move',
  );
  t.pass('counters move on the accelerated clock');
});

void t.test("cellwatch's own SNMP collector reads the simulator as the model says", async (t) => {
  const { network, scheduler, agents } = await setup(t);
  const [outageSite, bhSite] = [network.sites[1]!, network.sites[2]!];
  network.addIncident({
    kind: 'outage',
    site: outageSite.id,
    cells: [outageSite.cells[0]!],
    start: T0 + MIN,
    end: T0 + 10 * MIN,
    severity: 1,
  });
  network.addIncident({
    kind: 'backhaul',
    site: bhSite.id,
    cells: [],
    start: T0 + MIN,
    end: T0 + 10 * MIN,
    severity: 1,
  });
  const cfg = parseConfig({ snmp: { targets: agents.targets().map((x) => ({ ...x })) } });
  const collector = new SnmpCollector(cfg.snmp, {
    scheduler,
    log: pino({ level: 'silent' }),
    metrics: new PromMetrics(new Registry()),
    inventory: CellInventory.of(network.cells),
  });
  const acc = new MemoryAccumulator();
  await collector.start(acc);
  t.teardown(() => collector.stop());
  await scheduler.advance(3 * MIN);
  t.strictSame(
    acc.errors.map((e) => `${e.target}: ${e.err.message}`),
    [],
    'no collection errors',
  );
  const last = T0 + 3 * MIN;
  const samples = acc.samples.filter((s) => s.ts === last);
  t.equal(samples.length, network.cells.length, 'a sample per cell for the last tick');
  // SNMP carries integers (users, dBm) and kbit/s: compare at that precision.
  const near = (a: number | undefined, b: number | undefined, tol: number) =>
    a !== undefined && b !== undefined && Math.abs(a - b) <= tol;
  let mismatches = 0;
  for (const s of samples) {
    const want = network.sample(s.cell, last);
    const ok =
      s.available === want.available &&
      (!want.available ||
        (near(s.dlMbps, want.dlMbps, 0.001) &&
          near(s.ulMbps, want.ulMbps, 0.001) &&
          near(s.activeUsers, want.activeUsers, 0.5) &&
          near(s.rsrpDbm, want.rsrpDbm, 0.5) &&
          near(s.sinrDb, want.sinrDb, 0.005) &&
          near(s.prbUtilPct, want.prbUtilPct, 0.5) &&
          near(s.dlVolumeMB, want.dlVolumeMB, 1e-6)));
    if (!ok) {
      mismatches++;
      t.fail(`${s.cell}: collected ${JSON.stringify(s)} vs model ${JSON.stringify(want)}`);
    }
  }
  t.equal(mismatches, 0, 'every collected sample matches the model');
  t.equal(samples.find((s) => s.cell === outageSite.cells[0])?.available, false, 'the outage is seen');
  const link = acc.links.find((l) => l.site === bhSite.id && l.ts === last);
  t.ok(link && link.utilPct! >= 95, `the saturated backhaul is seen (${link?.utilPct}%)`);
});

void t.test('500 sites start and one update step is measured', async (t) => {
  const { agents, network, scheduler } = await setup(t, { sites: 500 });
  t.equal(agents.endpoints.length, 500);
  t.equal(new Set(agents.endpoints.map((e) => e.port)).size, 500, 'each on its own port');
  const costs: number[] = [];
  for (let k = 0; k < 5; k++) {
    await scheduler.advance(MIN);
    costs.push(agents.stepCostMs);
  }
  t.ok(
    costs.every((c) => c > 0 && Number.isFinite(c)),
    'every step completes',
  );
  t.comment(
    `step cost for ${network.sites.length} sites / ${network.cells.length} cells: ${costs.map((c) => c.toFixed(1)).join(', ')} ms`,
  );
});
