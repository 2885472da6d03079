/**
 * Serves a SimNetwork over SNMP: one net-snmp agent per site on loopback, each with the cell table of
 * DESIGN.md and IF-MIB for the site's backhaul link, updated every step of the injected scheduler.
 * Faults for tests: an agent can be stopped, rebooted (counters and sysUpTime restart from zero) or
 * hung (the port stays bound and swallows every request).
 *
 * Gauges are written straight into the MIB's instance nodes and Counter64 values are 8-byte Buffers
 * updated in place: the per-step cost stays a few µs per cell (net-snmp's setTableSingleCell walks the
 * tree on every call).
 */
import { createSocket, type Socket } from 'node:dgram';
import snmp from 'net-snmp';
import { realTimers, type Job, type Scheduler } from '../clock/index.js';
import { CW_CELL_COLUMNS, CW_CELL_ENTRY, type CellTableSyntax, type EpochMs } from '../model/index.js';
import type { CellState, SimAgentsOptions, SimTarget } from './index.js';
import { MINUTE_MS } from './kpi.js';
import type { SimNetwork } from './network.js';

export const CELL_ENTRY_OID = CW_CELL_ENTRY;
export const CELL_TABLE_OID = CW_CELL_ENTRY.slice(0, CW_CELL_ENTRY.lastIndexOf('.'));
const SYS_DESCR = '1.3.6.1.2.1.1.1';
const SYS_UPTIME = '1.3.6.1.2.1.1.3';
const SYS_NAME = '1.3.6.1.2.1.1.5';
const IF_ENTRY = '1.3.6.1.2.1.2.2.1';
const IFX_ENTRY = '1.3.6.1.2.1.31.1.1.1';

/** Missed steps (a stalled event loop) are replayed minute by minute up to this many; beyond, the last minute's volume is repeated. */
const MAX_REPLAY_MINUTES = 60;
const TWO32 = 2 ** 32;

interface MibNode {
  value: unknown;
}

/** The slice of net-snmp's agent API (typed `any` upstream) that this file uses. */
interface SnmpAgent {
  getMib(): SnmpMib;
  getAuthorizer(): { addCommunity(community: string): void; addUser(user: object): void };
  listener: { sockets?: Record<string, Socket> };
}
interface SnmpMib {
  registerProvider(provider: object): void;
  setScalarValue(name: string, value: unknown): void;
  addTableRow(name: string, row: unknown[]): void;
  lookup(oid: string): MibNode | null;
}
interface MibRequest {
  instanceNode: MibNode;
  done(): void;
}

type AgentState = 'stopped' | 'running' | 'blackholed';

interface SiteAgent {
  site: string;
  siteIdx: number;
  port: number;
  state: AgentState;
  agent?: SnmpAgent;
  hole?: Socket;
  /** Clock time of the last (re)start: sysUpTime counts from here. */
  startedAt: EpochMs;
  /** End of the last minute added to the counters. */
  lastT: EpochMs;
  dlOctets: bigint[];
  ulOctets: bigint[];
  inOctets: bigint;
  outOctets: bigint;
  inErrors: number;
  outErrors: number;
  nodes?: AgentNodes;
}

/** One row of the cell table: its TruthValue node, its counters' buffers, and its gauges with their scales. */
interface CellNodes {
  available: MibNode;
  counters: { field: 'dlVolumeMB' | 'ulVolumeMB'; buf: Buffer }[];
  gauges: { node: MibNode; field: Exclude<keyof CellState, 'available'>; scale: number }[];
}

interface AgentNodes {
  cells: CellNodes[];
  operStatus: MibNode;
  inErrors: MibNode;
  outErrors: MibNode;
  inOctets: Buffer;
  outOctets: Buffer;
}

const counter64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  return b;
};

export class SimAgents {
  readonly endpoints: { site: string; host: string; port: number }[] = [];
  private lastStepCostMs = 0;
  private rejectedRequests = 0;

  private readonly stepMs: number;
  private readonly agents: SiteAgent[];
  private job?: Job;
  private starting?: Promise<void>;
  private started = false;

  constructor(
    private readonly network: SimNetwork,
    private readonly scheduler: Scheduler,
    private readonly opts: SimAgentsOptions,
  ) {
    this.stepMs = opts.stepMs ?? 60_000;
    if (!(this.stepMs >= MINUTE_MS) || this.stepMs % MINUTE_MS !== 0)
      throw new RangeError(`SimAgents stepMs: must be a multiple of 60000, got ${this.stepMs}`);
    if (!Number.isInteger(opts.basePort) || opts.basePort < 0 || opts.basePort + network.sites.length - 1 > 65535) {
      throw new RangeError(
        `SimAgents basePort: must be 0 or leave room for ${network.sites.length} ports below 65536, got ${opts.basePort}`,
      );
    }
    this.agents = network.sites.map((s, i) => ({
      site: s.id,
      siteIdx: i,
      port: opts.basePort > 0 ? opts.basePort + i : 0,
      state: 'stopped',
      startedAt: 0,
      lastT: 0,
      dlOctets: [],
      ulOctets: [],
      inOctets: 0n,
      outOctets: 0n,
      inErrors: 0,
      outErrors: 0,
    }));
  }

  /** Binds every agent, then updates them every stepMs of clock time. Idempotent. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.starting ??= (async () => {
      try {
        for (const a of this.agents) await this.bootAgent(a, this.opts.basePort === 0);
      } catch (err) {
        await Promise.all(this.agents.map((a) => this.shutAgent(a)));
        this.starting = undefined;
        throw err;
      }
      this.endpoints.length = 0;
      for (const a of this.agents) this.endpoints.push({ site: a.site, host: this.opts.host, port: a.port });
      this.job = this.scheduler.every('sim-agents', this.stepMs, (tick) => this.step(tick));
      this.started = true;
    })();
    return this.starting;
  }

  /** Stops updates and closes every socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    this.job?.cancel();
    await this.job?.idle();
    this.job = undefined;
    await Promise.all(this.agents.map((a) => this.shutAgent(a)));
    this.started = false;
    this.starting = undefined;
  }

  /** Duration of the last update step, ms (real time: this is the benchmark figure). */
  get stepCostMs(): number {
    return this.lastStepCostMs;
  }

  /** Requests net-snmp rejected (unknown community or user, undecodable packets): counted, not fatal. */
  get requestErrors(): number {
    return this.rejectedRequests;
  }

  /** Two targets per site, both served by the site's agent: the cell table and the backhaul link. */
  targets(): SimTarget[] {
    return this.endpoints.flatMap((e) => [
      {
        name: `cells-${e.site}`,
        host: e.host,
        port: e.port,
        version: '2c' as const,
        community: this.opts.community,
        profile: 'cell-table' as const,
        site: e.site,
      },
      {
        name: `bh-${e.site}`,
        host: e.host,
        port: e.port,
        version: '2c' as const,
        community: this.opts.community,
        profile: 'if-mib' as const,
        site: e.site,
      },
    ]);
  }

  /** The device goes away: its socket is closed. */
  async stopAgent(site: string): Promise<void> {
    await this.shutAgent(this.agentFor(site));
  }

  /** A reboot: a fresh agent on the same port, counters and sysUpTime from zero. */
  async startAgent(site: string): Promise<void> {
    const a = this.agentFor(site);
    await this.shutAgent(a);
    await this.bootAgent(a);
  }

  /** A hung device: the port stays bound, nothing ever answers. */
  async blackhole(site: string): Promise<void> {
    const a = this.agentFor(site);
    await this.shutAgent(a);
    a.hole = await this.bindWithRetry(a.port, async (port) => {
      const socket = createSocket(this.family());
      socket.on('message', () => undefined);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, this.opts.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      // A hung device still owns its port; errors on it are of no interest.
      socket.on('error', () => undefined);
      return socket;
    });
    a.state = 'blackholed';
  }

  /** The counters an agent serves right now (for tests and diagnostics). */
  counters(site: string): {
    dlOctets: bigint[];
    ulOctets: bigint[];
    inOctets: bigint;
    outOctets: bigint;
    inErrors: number;
    outErrors: number;
  } {
    const a = this.agentFor(site);
    return {
      dlOctets: [...a.dlOctets],
      ulOctets: [...a.ulOctets],
      inOctets: a.inOctets,
      outOctets: a.outOctets,
      inErrors: a.inErrors,
      outErrors: a.outErrors,
    };
  }

  private agentFor(site: string): SiteAgent {
    const a = this.agents.find((x) => x.site === site);
    if (!a) throw new Error(`unknown site "${site}"`);
    return a;
  }

  private family(): 'udp4' | 'udp6' {
    return this.opts.host.includes(':') ? 'udp6' : 'udp4';
  }

  /** One update: every running agent gets the intervals since its last update. */
  step(tick: EpochMs): void {
    const t0 = performance.now();
    const t = Math.floor(tick / MINUTE_MS) * MINUTE_MS;
    for (const a of this.agents) if (a.state === 'running') this.advance(a, t);
    this.lastStepCostMs = performance.now() - t0;
  }

  private advance(a: SiteAgent, t: EpochMs): void {
    if (t <= a.lastT) return;
    const minutes = Math.round((t - a.lastT) / MINUTE_MS);
    const replay = Math.min(minutes, MAX_REPLAY_MINUTES);
    let state = this.network.siteState(a.siteIdx, t);
    for (let k = replay - 1; k >= 0; k--) {
      state = this.network.siteState(a.siteIdx, t - k * MINUTE_MS);
      const times = k === replay - 1 ? BigInt(minutes - replay + 1) : 1n;
      for (let i = 0; i < state.dlOctets.length; i++) {
        a.dlOctets[i]! += BigInt(state.dlOctets[i]!) * times;
        a.ulOctets[i]! += BigInt(state.ulOctets[i]!) * times;
      }
      a.inOctets += BigInt(state.linkInOctets) * times;
      a.outOctets += BigInt(state.linkOutOctets) * times;
      a.inErrors = (a.inErrors + state.link.inErrors * Number(times)) % TWO32;
      a.outErrors = (a.outErrors + state.link.outErrors * Number(times)) % TWO32;
    }
    a.lastT = t;
    this.publish(a, state.cells, state.link.operUp);
  }

  /** Writes gauges and counters into the MIB's instance nodes. */
  private publish(a: SiteAgent, cells: readonly CellState[], operUp: boolean): void {
    const n = a.nodes;
    if (!n) return;
    for (let i = 0; i < cells.length; i++) {
      const s = cells[i]!;
      const c = n.cells[i]!;
      c.available.value = s.available ? 1 : 2;
      for (const k of c.counters) {
        const octets = k.field === 'dlVolumeMB' ? a.dlOctets[i]! : a.ulOctets[i]!;
        k.buf.writeBigUInt64BE(BigInt.asUintN(64, octets));
      }
      for (const g of c.gauges) g.node.value = Math.round(s[g.field] / g.scale);
    }
    n.operStatus.value = operUp ? 1 : 2;
    n.inErrors.value = a.inErrors;
    n.outErrors.value = a.outErrors;
    n.inOctets.writeBigUInt64BE(BigInt.asUintN(64, a.inOctets));
    n.outOctets.writeBigUInt64BE(BigInt.asUintN(64, a.outOctets));
  }

  /**
   * (Re)starts one agent from zero: counters, sysUpTime, gauges of the last completed minute. A reboot
   * keeps its port (collectors know it); a fresh start() with free ports may move to another one.
   */
  private async bootAgent(a: SiteAgent, mayMove = false): Promise<void> {
    const now = this.scheduler.clock.now();
    const cellCount = this.network.sites[a.siteIdx]!.cells.length;
    a.startedAt = now;
    a.lastT = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    a.dlOctets = new Array<bigint>(cellCount).fill(0n);
    a.ulOctets = new Array<bigint>(cellCount).fill(0n);
    a.inOctets = 0n;
    a.outOctets = 0n;
    a.inErrors = 0;
    a.outErrors = 0;
    const agent = await this.bindWithRetry(a.port, (port) => this.createAgent(port), mayMove);
    a.port = agent.port;
    a.agent = agent.agent;
    a.nodes = this.buildMib(a, a.agent.getMib());
    a.state = 'running';
    const state = this.network.siteState(a.siteIdx, a.lastT);
    this.publish(a, state.cells, state.link.operUp);
  }

  private async shutAgent(a: SiteAgent): Promise<void> {
    const agent = a.agent;
    const hole = a.hole;
    a.agent = undefined;
    a.hole = undefined;
    a.nodes = undefined;
    a.state = 'stopped';
    if (agent) {
      const sockets = Object.values(agent.listener.sockets ?? {});
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              try {
                s.close(() => resolve());
              } catch {
                resolve(); // never bound, or already closed
              }
            }),
        ),
      );
    }
    if (hole)
      await new Promise<void>((resolve) => {
        try {
          hole.close(() => resolve());
        } catch {
          resolve();
        }
      });
  }

  /**
   * Binds with `bind(port)`; port 0 means "a free one": found by binding an ephemeral socket and
   * reusing its number, which another process may grab in between — so EADDRINUSE retries. With
   * `mayMove`, a port that stays taken is given up for a free one.
   */
  private async bindWithRetry<T>(port: number, bind: (port: number) => Promise<T>, mayMove = false): Promise<T> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 8; attempt++) {
      const p = port > 0 && !(mayMove && attempt >= 2) ? port : await this.freePort();
      try {
        return await bind(p);
      } catch (err) {
        lastErr = err;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
        // A fixed port freed a moment ago (reboot, blackhole) can take a beat to be released.
        await realTimers.sleep(20 * (attempt + 1));
      }
    }
    const e = lastErr as Error;
    throw new Error(`SimAgents: cannot bind UDP ${this.opts.host}:${port || '(free port)'}: ${e.message}`, {
      cause: e,
    });
  }

  private freePort(): Promise<number> {
    const socket = createSocket(this.family());
    return new Promise<number>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.opts.host, () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
    });
  }

  private createAgent(port: number): Promise<{ agent: SnmpAgent; port: number }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const agent: SnmpAgent = snmp.createAgent(
        { port, address: this.opts.host, transport: this.family(), disableAuthorization: false },
        (err: unknown) => {
          if (!settled) return;
          // After start-up the callback reports rejected requests; a simulator counts them.
          if (err) this.rejectedRequests++;
        },
      );
      const socket = Object.values(agent.listener.sockets ?? {})[0]!;
      socket.once('listening', () => {
        settled = true;
        resolve({ agent, port: socket.address().port });
      });
      socket.once('error', (err) => {
        if (settled) return;
        settled = true;
        try {
          socket.close();
        } catch {
          // never bound
        }
        reject(err);
      });
      const auth = agent.getAuthorizer();
      auth.addCommunity(this.opts.community);
      if (this.opts.v3) {
        auth.addUser({
          name: this.opts.v3.user,
          level: snmp.SecurityLevel.authPriv,
          authProtocol: snmp.AuthProtocols.sha,
          authKey: this.opts.v3.authKey,
          privProtocol: snmp.PrivProtocols.aes,
          privKey: this.opts.v3.privKey,
        });
      }
    });
  }

  private buildMib(a: SiteAgent, mib: SnmpMib): AgentNodes {
    const site = this.network.sites[a.siteIdx]!;
    const ro = snmp.MaxAccess['read-only'];
    const T = snmp.ObjectType;
    mib.registerProvider({
      name: 'sysDescr',
      type: snmp.MibProviderType.Scalar,
      oid: SYS_DESCR,
      scalarType: T.OctetString,
      maxAccess: ro,
    });
    mib.setScalarValue('sysDescr', `cellwatch simulated base station ${site.id} (${site.cells.length} cells)`);
    mib.registerProvider({
      name: 'sysUpTime',
      type: snmp.MibProviderType.Scalar,
      oid: SYS_UPTIME,
      scalarType: T.TimeTicks,
      maxAccess: ro,
      handler: (req: MibRequest) => {
        // Centiseconds of clock time since this agent (re)started.
        req.instanceNode.value = Math.floor(Math.max(0, this.scheduler.clock.now() - a.startedAt) / 10) % TWO32;
        req.done();
      },
    });
    mib.setScalarValue('sysUpTime', 0);
    mib.registerProvider({
      name: 'sysName',
      type: snmp.MibProviderType.Scalar,
      oid: SYS_NAME,
      scalarType: T.OctetString,
      maxAccess: ro,
    });
    mib.setScalarValue('sysName', site.id);

    const col = (number: number, name: string, type: number, maxAccess = ro) => ({ number, name, type, maxAccess });
    const syntaxType: Record<CellTableSyntax, number> = {
      Integer32: T.Integer,
      DisplayString: T.OctetString,
      TruthValue: T.Integer,
      Counter64: T.Counter64,
      Gauge32: T.Gauge,
    };
    mib.registerProvider({
      name: 'cwCellTable',
      type: snmp.MibProviderType.Table,
      oid: CELL_ENTRY_OID,
      maxAccess: snmp.MaxAccess['not-accessible'],
      tableColumns: [
        col(1, 'cwCellIndex', T.Integer, snmp.MaxAccess['not-accessible']),
        ...CW_CELL_COLUMNS.map((c) => col(c.column, c.name, syntaxType[c.syntax])),
      ],
      tableIndex: [{ columnName: 'cwCellIndex' }],
    });
    const cells: CellNodes[] = [];
    site.cells.forEach((id, i) => {
      const idx = i + 1;
      const counters: CellNodes['counters'] = [];
      const row: unknown[] = [idx];
      for (const c of CW_CELL_COLUMNS) {
        if (c.field === 'id') row.push(id);
        else if (c.field === 'available') row.push(1);
        else if (c.syntax === 'Counter64') {
          const buf = counter64(0n);
          counters.push({ field: c.field as 'dlVolumeMB' | 'ulVolumeMB', buf });
          row.push(buf);
        } else row.push(0);
      }
      mib.addTableRow('cwCellTable', row);
      const node = (column: number): MibNode => mib.lookup(`${CELL_ENTRY_OID}.${column}.${idx}`)!;
      cells.push({
        available: node(CW_CELL_COLUMNS.find((c) => c.field === 'available')!.column),
        counters,
        gauges: CW_CELL_COLUMNS.filter(
          (c) => c.field !== 'id' && c.field !== 'available' && c.syntax !== 'Counter64',
        ).map((c) => ({
          node: node(c.column),
          field: c.field as Exclude<keyof CellState, 'available'>,
          scale: c.scale,
        })),
      });
    });

    mib.registerProvider({
      name: 'ifTable',
      type: snmp.MibProviderType.Table,
      oid: IF_ENTRY,
      maxAccess: snmp.MaxAccess['not-accessible'],
      tableColumns: [
        col(1, 'ifIndex', T.Integer),
        col(2, 'ifDescr', T.OctetString),
        col(8, 'ifOperStatus', T.Integer),
        col(14, 'ifInErrors', T.Counter),
        col(20, 'ifOutErrors', T.Counter),
      ],
      tableIndex: [{ columnName: 'ifIndex' }],
    });
    const descr = `${site.linkKind} backhaul ${site.id}`;
    mib.addTableRow('ifTable', [1, descr, 1, 0, 0]);
    mib.registerProvider({
      name: 'ifXTable',
      type: snmp.MibProviderType.Table,
      oid: IFX_ENTRY,
      maxAccess: snmp.MaxAccess['not-accessible'],
      tableColumns: [
        col(1, 'ifName', T.OctetString),
        col(6, 'ifHCInOctets', T.Counter64),
        col(10, 'ifHCOutOctets', T.Counter64),
        col(15, 'ifHighSpeed', T.Gauge),
        col(19, 'ifCounterDiscontinuityTime', T.TimeTicks),
      ],
      tableAugments: 'ifTable',
    });
    const inOctets = counter64(0n);
    const outOctets = counter64(0n);
    // Counters start with the agent, so their discontinuity is at sysUpTime 0.
    mib.addTableRow('ifXTable', [1, `bh-${site.id}`, inOctets, outOctets, site.linkSpeedMbps, 0]);
    const ifNode = (column: number): MibNode => mib.lookup(`${IF_ENTRY}.${column}.1`)!;
    return { cells, operStatus: ifNode(8), inErrors: ifNode(14), outErrors: ifNode(20), inOctets, outOctets };
  }
}
