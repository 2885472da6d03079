import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { BASELINE_KPIS, type HourlyMean } from '../correlator/index.js';
import { baselineValues } from '../correlator/interval.js';
import type { EpochMs } from '../model/index.js';
import { StateRecords, type RecordDb } from '../store/index.js';
import { SimAgents, SimNetwork, careEvents, type CareEvent } from '../sim/index.js';
import type { Complaints } from './complaints.js';
import type { House } from './house/index.js';

export interface Simulation {
  network: SimNetwork;
  agents: SimAgents;
  /** Clock ms between the agents' updates, and the poll interval of their targets. */
  intervalMs: number;
  /** The network's past as hourly means (see `simulatedHistory`), for the detector's baselines. */
  history(until: EpochMs): HourlyMean[];
}

/** The simulated network (demo): one SNMP agent per site on loopback, stepped by the daemon's scheduler. */
export async function startSimulation(h: House, needs: { records: RecordDb }): Promise<Simulation | undefined> {
  const cfg = h.config;
  if (!cfg.sim.enabled) return undefined;
  const network = SimNetwork.create({
    seed: cfg.sim.seed,
    regions: cfg.sim.regions,
    sites: cfg.sim.sites,
    start: cfg.sim.start ?? h.clock.now(),
    timezone: cfg.timezone,
  });
  if (cfg.sim.scenario === 'opening') openingScenario(network, h.clock.now());
  const agents = new SimAgents(network, h.scheduler, {
    host: cfg.sim.host,
    basePort: cfg.sim.basePort,
    community: cfg.sim.community.reveal(),
    stepMs: cfg.sim.interval,
  });
  await agents.start();
  // Where the simulated clock got to, so that the next demo on this data dir resumes there (see
  // resumedSimTime) instead of going back hours behind its own data.
  const state = new StateRecords(needs.records.db);
  const saveClock = (at: EpochMs) => state.save(SIM_CLOCK_STATE, at, { at });
  const clockJob = h.scheduler.every('sim:clock', cfg.sim.interval, (tick) => saveClock(tick));
  h.defer('simulation', async () => {
    clockJob.cancel();
    saveClock(h.clock.now());
    await agents.stop();
  });
  h.logFor('sim').info(
    { sites: network.sites.length, cells: network.cells.length, agents: agents.endpoints.length },
    'simulated network started',
  );
  return {
    network,
    agents,
    intervalMs: cfg.sim.interval,
    history: (until) => simulatedHistory(network, until, h.logFor('sim')),
  };
}

const SIM_CLOCK_STATE = 'sim-clock';

/**
 * The simulated time a previous demo on this data dir reached, if it is later than `now`: an
 * accelerated clock runs ahead of the wall clock, and a restart from the wall clock would put the new
 * samples hours behind the stored ones (every one of them late for the detector). Read before the
 * daemon opens its stores (the clock is made first); any trouble reading it means "no".
 */
export function resumedSimTime(dataDir: string, now: EpochMs): EpochMs | undefined {
  const file = join(dataDir, 'cellwatch.db');
  if (!existsSync(file)) return undefined;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT body FROM component_state WHERE name = ?').get(SIM_CLOCK_STATE) as
        { body: string } | undefined;
      const at = row ? (JSON.parse(row.body) as { at?: unknown }).at : undefined;
      return typeof at === 'number' && at > now ? at : undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

const HISTORY_WEEKS = 3;
/** Beyond this many cell-hours the past is not simulated (a minute of start-up at 5,000 sites). */
const HISTORY_MAX_CELL_HOURS = 1_000_000;

/**
 * Three weeks of the simulated network's past before `until`, as the hourly means the store's rollups
 * would hold had cellwatch watched it (one sample at the middle of each hour, no incidents). A fresh
 * demo then has hour-of-week baselines and busy hours from its first minute, so relative drops, weak
 * coverage and sleeping cells show at once, as they would on a monitor that has run for weeks.
 */
export function simulatedHistory(network: SimNetwork, until: EpochMs, log: Logger): HourlyMean[] {
  const hours = HISTORY_WEEKS * 7 * 24;
  if (network.cells.length * hours > HISTORY_MAX_CELL_HOURS) {
    log.info({ cells: network.cells.length }, 'network too large to simulate its past: baselines build up as it runs');
    return [];
  }
  const out: HourlyMean[] = [];
  const v = new Float64Array(BASELINE_KPIS.length);
  const first = (Math.floor(until / HOUR_MS) - hours) * HOUR_MS;
  for (let hour = first; hour < first + hours * HOUR_MS; hour += HOUR_MS) {
    for (const c of network.cells) {
      const s = network.sample(c.id, hour + 30 * MIN);
      baselineValues(s, s.intervalS ?? 60, v);
      const m: HourlyMean = { cell: c.id, hour, count: 60 };
      BASELINE_KPIS.forEach((kpi, k) => {
        if (!Number.isNaN(v[k]!)) m[kpi] = v[k]!;
      });
      out.push(m);
    }
  }
  return out;
}

const MIN = 60_000;
const HOUR_MS = 3_600_000;

/**
 * The demo's first hours: one incident of each kind on sites taken from the end of the list (the first
 * sites stay healthy, so a look at "the first cell" shows a normal one), starting within minutes and
 * lasting long enough for windows (two 5-min polls), alerts and complaints to follow.
 */
export function openingScenario(network: SimNetwork, start: number): void {
  const sites = [...network.sites].reverse();
  const plan = [
    { kind: 'congestion', after: 5, minutes: 55, severity: 0.8, cells: 1 },
    { kind: 'outage', after: 10, minutes: 40, severity: 1, cells: 0 },
    { kind: 'backhaul', after: 20, minutes: 60, severity: 0.9, cells: 0 },
    { kind: 'interference', after: 30, minutes: 45, severity: 0.8, cells: 1 },
    { kind: 'coverage', after: 40, minutes: 60, severity: 0.9, cells: 1 },
    // A sleeping cell (silent failure): up, radio fine, most of its users unable to attach.
    { kind: 'sleeping', after: 50, minutes: 90, severity: 0.3, cells: 1 },
  ] as const;
  plan.forEach((p, i) => {
    const site = sites[i];
    // The first site stays healthy whatever the network's size.
    if (!site || site === network.sites[0]) return;
    network.addIncident({
      kind: p.kind,
      site: site.id,
      // 0: the whole site; otherwise its first cells.
      cells: p.cells === 0 ? [] : site.cells.slice(0, p.cells),
      start: start + p.after * MIN,
      end: start + (p.after + p.minutes) * MIN,
      severity: p.severity,
    });
  });
}

/**
 * The simulated customers and care desk (demo): every poll interval, the complaints the simulator's
 * customers filed since the last one go through the same intake as the API's, and the desk's answers,
 * resolutions and feedback (sim/care.ts) are recorded as their times come. Events still pending at a
 * restart are not replayed: the demo's desk forgets what it had planned.
 */
export function startSimulatedCare(h: House, sim: Simulation | undefined, complaints: Complaints): void {
  if (!sim) return;
  const log = h.logFor('sim-care');
  const seed = h.config.sim.seed;
  let since = h.clock.now();
  const pending: { id: string; event: CareEvent }[] = [];
  const job = h.scheduler.every('sim:complaints', sim.intervalMs, (tick) => {
    const filed = sim.network.complaints(since, tick).map(({ cause: _cause, ...c }) => c);
    since = tick;
    if (filed.length > 0) {
      const result = complaints.intake(filed, 'json');
      if ('error' in result) log.warn({ error: result.error }, 'simulated complaints refused');
      else if (result.rejected.length > 0)
        log.warn({ rejected: result.rejected.slice(0, 5) }, 'simulated complaints rejected');
      for (const c of filed) for (const event of careEvents(seed, c)) pending.push({ id: c.id, event });
      pending.sort((a, b) => a.event.at - b.event.at);
    }
    let due = 0;
    while (due < pending.length && pending[due]!.event.at <= tick) due++;
    for (const { id, event } of pending.splice(0, due)) complaints.records.addEvent(id, event);
  });
  h.defer('sim-care', () => job.cancel());
}
