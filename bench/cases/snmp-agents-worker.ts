/**
 * The simulator's site agents in a worker thread, for the SNMP benchmarks: the agents (net-snmp's
 * agent, heavier per request than the client) get their own core, so the figures measure cellwatch's
 * collector rather than the two sharing one event loop — as with real devices, which answer from
 * elsewhere. The agents' clock is a ManualClock the main thread moves in step with its own.
 *
 * The bench runner imports every file in bench/cases; on the main thread this module only exports.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ManualClock, ManualScheduler } from '../../clock/index.js';
import { SimAgents, SimNetwork, type SimTarget } from '../../sim/index.js';

const ROLE = 'cellwatch-bench-sim-agents';

export interface AgentsWorkerOptions {
  seed: number;
  regions: number;
  sites: number;
  /** Clock time the agents start at. */
  start: number;
  community: string;
}

type Command =
  | { type: 'advanceTo'; t: number }
  | { type: 'blackhole'; sites: string[] }
  | { type: 'restart'; sites: string[] }
  | { type: 'stop' };
type Request = Command & { id: number };
type Reply = { id: number; error?: string };

/** The main thread's handle on the agents worker. */
export class AgentsWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private constructor(
    private readonly worker: Worker,
    readonly targets: SimTarget[],
  ) {
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve();
    });
  }

  static async start(opts: AgentsWorkerOptions): Promise<AgentsWorker> {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, opts } });
    const targets = await new Promise<SimTarget[]>((resolve, reject) => {
      worker.once('message', (m: { targets?: SimTarget[]; error?: string }) =>
        m.targets ? resolve(m.targets) : reject(new Error(m.error ?? 'agents worker failed')),
      );
      worker.once('error', reject);
    });
    return new AgentsWorker(worker, targets);
  }

  private ask(req: Command): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  advanceTo(t: number): Promise<void> {
    return this.ask({ type: 'advanceTo', t });
  }
  blackhole(sites: string[]): Promise<void> {
    return this.ask({ type: 'blackhole', sites });
  }
  restart(sites: string[]): Promise<void> {
    return this.ask({ type: 'restart', sites });
  }
  async stop(): Promise<void> {
    await this.ask({ type: 'stop' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

async function serve(opts: AgentsWorkerOptions): Promise<void> {
  const port = parentPort!;
  const network = SimNetwork.create({
    seed: opts.seed,
    regions: opts.regions,
    sites: opts.sites,
    start: opts.start - 86_400_000,
    timezone: 'UTC',
  });
  const scheduler = new ManualScheduler(new ManualClock(opts.start));
  const agents = new SimAgents(network, scheduler, { host: '127.0.0.1', basePort: 0, community: opts.community });
  try {
    await agents.start();
  } catch (err) {
    port.postMessage({ error: (err as Error).message });
    return;
  }
  port.postMessage({ targets: agents.targets() });
  port.on('message', (req: Request) => {
    const work = async () => {
      switch (req.type) {
        case 'advanceTo':
          await scheduler.advanceTo(req.t);
          break;
        case 'blackhole':
          for (const s of req.sites) await agents.blackhole(s);
          break;
        case 'restart':
          for (const s of req.sites) await agents.startAgent(s);
          break;
        case 'stop':
          await agents.stop();
          await scheduler.stop();
          break;
      }
    };
    work().then(
      () => port.postMessage({ id: req.id }),
      (err: unknown) => port.postMessage({ id: req.id, error: (err as Error).message }),
    );
  });
}

const data = workerData as { role?: string; opts?: AgentsWorkerOptions } | null;
if (!isMainThread && data?.role === ROLE && data.opts) void serve(data.opts);
