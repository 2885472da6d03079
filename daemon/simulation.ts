import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { BASELINE_KPIS, type Detector, type HourlyMean } from '../correlator/index.js';
import { baselineValues } from '../correlator/interval.js';
import type { EpochMs, Inventory, LinkSample, Sample } from '../model/index.js';
import { StateRecords, type RecordDb, type SeriesWriter } from '../store/index.js';
import { linkPoint, samplePoint } from '../store/schema.js';
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
  /** The samples of the past computed at start (`sim.history`, fillSimulatedHistory), when there were. */
  past?: { from: EpochMs; to: EpochMs };
}

/** The simulated network (demo): one SNMP agent per site on loopback, stepped by the daemon's scheduler. */
export async function startSimulation(h: House, needs: { records: RecordDb }): Promise<Simulation | undefined> {
  const cfg = h.config;
  if (!cfg.sim.enabled) return undefined;
  // The network begins where its history does: the seeded incidents and complaints fill that time too.
  const network = SimNetwork.create({
    seed: cfg.sim.seed,
    regions: cfg.sim.regions,
    sites: cfg.sim.sites,
    start: (cfg.sim.start ?? h.clock.now()) - cfg.sim.history,
    timezone: cfg.timezone,
  });
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

/** Hours of history exported and published together. */
const HISTORY_BATCH_MS = 3_600_000;
/** How far back the simulated customers' complaints start when there is history (see below). */
const COMPLAINT_HISTORY_MS = 2 * 86_400_000;

/**
 * The demo's past (`sim.history`), computed before the network goes live: what a collector polling the
 * simulated sites every interval would have stored, from `history` before now up to the last poll
 * tick, written to the store and published on the bus hour by hour — the detector builds its windows,
 * day targets and baselines from it as from live data. It runs after detection and before the alerts
 * and complaints start, like the time before a restart: they pick up what still holds from the
 * detector and the records. A data dir whose detector already holds state (a restart) gets none.
 * Then the opening scenario's incidents are planned from the moment the network goes live.
 *
 * Returns where the simulated customers' complaints start: within the history, or now.
 */
export async function fillSimulatedHistory(
  h: House,
  sim: Simulation | undefined,
  needs: { writer: SeriesWriter; inventory: () => Inventory; detector: Detector },
): Promise<EpochMs | undefined> {
  if (!sim) return undefined;
  const cfg = h.config.sim;
  const log = h.logFor('sim');
  let since = h.clock.now();
  if (cfg.history > 0 && needs.detector.stats().watermark === null) {
    const began = performance.now();
    const step = sim.intervalMs;
    const from = Math.floor((h.clock.now() - cfg.history) / step) * step + step;
    let t = from;
    let samples = 0;
    const wentLive = h.clock.now();
    let behind = false;
    // The clock runs on while the past is computed: catch up with it, to the last tick already due —
    // unless a batch costs more clock time than it covers (a huge network at a high rate), which would
    // never catch up: then the live polls take over from where the history stops.
    while (t <= h.clock.now()) {
      if (behind && t > wentLive) break;
      const batchStart = t;
      const clockBefore = h.clock.now();
      const batchEnd = Math.min(t + HISTORY_BATCH_MS, Math.floor(h.clock.now() / step) * step + step);
      const cells: Sample[] = [];
      const links: LinkSample[] = [];
      for (; t < batchEnd; t += step) {
        const got = sim.network.intervalSamples(t, step);
        cells.push(...got.samples);
        links.push(...got.links);
      }
      const inventory = needs.inventory();
      const points = [
        ...cells.map((c) => samplePoint(c, inventory.cell(c.cell))),
        ...links.map((l) => linkPoint(l, inventory.regionOfSite(l.site))),
      ];
      await needs.writer.export(points, { flush: true });
      h.bus.emit('samples', { at: cells.at(-1)?.ts ?? t, samples: cells });
      h.bus.emit('links', { at: links.at(-1)?.ts ?? t, links });
      samples += cells.length;
      behind = h.clock.now() - clockBefore > t - batchStart;
    }
    // Complaints of the history's last two days only: one can come two days after its problem, and the
    // complaint correlator holds the windows of the last four (lookback, after and a day): an older one
    // would be filed unexplained for want of the window that explains it.
    since = Math.max(from - step, h.clock.now() - COMPLAINT_HISTORY_MS);
    sim.past = { from: from - step, to: t - step };
    log.info(
      {
        from: new Date(from - step).toISOString(),
        to: new Date(t - step).toISOString(),
        samples,
        ms: Math.round(performance.now() - began),
        ...(t <= h.clock.now() ? { behindMs: h.clock.now() - (t - step) } : {}),
      },
      'simulated history computed',
    );
  }
  if (cfg.scenario === 'opening') openingScenario(sim.network, h.clock.now());
  return since;
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
export function startSimulatedCare(
  h: House,
  sim: Simulation | undefined,
  complaints: Complaints,
  from: EpochMs = h.clock.now(),
): void {
  if (!sim) return;
  const log = h.logFor('sim-care');
  const seed = h.config.sim.seed;
  let since = from;
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
