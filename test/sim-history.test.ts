/**
 * The demo's simulated past (`sim.history`): computed at start through the same store and detection as
 * live data — the series, the day targets and the latest KPIs are there before anything is polled —
 * only into a data dir whose detector holds no state; and the simulated clock resumes where a data
 * dir was left instead of going back. In process, on a manual scheduler (nothing is polled).
 */
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { parseConfig, type Config } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { resumedSimTime } from '../daemon/simulation.js';
import type { Sample } from '../model/index.js';
import { makeTempDir } from './helpers/service.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// 2026-11-30 21:02 UTC: inside the peak (19:00–22:00), two hours of it behind.
const T0 = Date.UTC(2026, 10, 30, 21, 2);
const log = pino({ level: 'silent' });

function config(dataDir: string, history: string): Config {
  return parseConfig(
    {
      timezone: 'UTC',
      http: { listen: '127.0.0.1:0' },
      dataDir,
      sim: { enabled: true, sites: 3, regions: 1, seed: 5, start: new Date(T0).toISOString(), history },
    },
    { env: {} },
  );
}

async function get<T>(d: Daemon, path: string): Promise<T> {
  const res = await fetch(`${d.url}/api/v1/${path}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Target {
  day: string;
  ratio: number | null;
  coverage: number;
  status: string;
}

void t.test('sim.history: two simulated days in the store and the detector before going live', async (t) => {
  const dataDir = join(await makeTempDir('cellwatch-history-'), 'data');
  const clock = new ManualClock(T0);
  const daemon = new Daemon(config(dataDir, '2d'), { scheduler: new ManualScheduler(clock), log });
  await daemon.start();
  const sim = daemon.simulation!;
  const lastTick = Math.floor(T0 / (5 * MIN)) * 5 * MIN;
  t.strictSame(sim.past, { from: lastTick - 2 * DAY, to: lastTick }, 'from two days back to the last tick due');

  const days = await get<{ results: Target[] }>(daemon, 'targets?scope=network&from=2026-11-27&to=2026-11-30');
  const byDay = new Map(days.results.map((r) => [r.day, r]));
  t.notOk(byDay.has('2026-11-27'), 'nothing before the history');
  // Samples are stamped with their interval's end, and a peak holds the ones stamped 19:00 … 21:55.
  t.match(byDay.get('2026-11-28'), { coverage: 0.3056 }, 'the first day: from 21:05, 11 intervals of its peak');
  t.match(
    byDay.get('2026-11-29'),
    { coverage: 1, status: /^(met|missed)$/ },
    'yesterday: a whole peak, with a verdict',
  );
  t.match(byDay.get('2026-11-30'), { coverage: 0.6944 }, 'today: 19:00 … 21:00, 25 intervals before going live');

  const cell = sim.network.cells[0]!.id;
  const series = await get<{ buckets: { ts: number; dlMbps?: number }[] }>(
    daemon,
    `cells/${cell}/series?from=${T0 - DAY}&to=${T0}&step=${5 * MIN}`,
  );
  t.equal(series.buckets.length, 288, 'a full day of 5-min samples for the cell chart');
  const latest = (await get<{ latest: Sample }>(daemon, `cells/${cell}`)).latest;
  const expected = sim.network.intervalSamples(lastTick, 5 * MIN).samples.find((s) => s.cell === cell)!;
  t.match(latest, { ts: lastTick, source: 'sim', intervalS: 300, dlMbps: expected.dlMbps }, 'the simulated samples');
  await daemon.stop();

  // A restart on the same data dir, later: the detector holds state, so no second history.
  clock.set(T0 + HOUR);
  const again = new Daemon(config(dataDir, '2d'), { scheduler: new ManualScheduler(clock), log });
  await again.start();
  t.teardown(() => again.stop());
  t.equal(again.simulation!.past, undefined, 'no history into a data dir that has state');
  const kept = await get<{ results: Target[] }>(again, 'targets?scope=network&day=2026-11-29');
  t.match(kept.results, [{ coverage: 1 }], 'the past is still there');
});

void t.test('the simulated clock resumes where the data dir was left, never going back', async (t) => {
  const dataDir = join(await makeTempDir('cellwatch-resume-'), 'data');
  const cfg = config(dataDir, '0s');
  t.equal(resumedSimTime(dataDir, T0), undefined, 'a fresh data dir: nothing to resume');
  const clock = new ManualClock(T0);
  const daemon = new Daemon(cfg, { scheduler: new ManualScheduler(clock), log });
  await daemon.start();
  clock.set(T0 + 5 * HOUR); // the demo ran ahead of the wall clock
  await daemon.stop();
  t.equal(resumedSimTime(dataDir, T0 + HOUR), T0 + 5 * HOUR, 'a data dir left ahead of the start: from there');
  t.equal(resumedSimTime(dataDir, T0 + 6 * HOUR), undefined, 'a start after it: the start');
});
