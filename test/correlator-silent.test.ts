/**
 * Sleeping cells (silent failures) from plain numbers: hourly history and 5-minute samples built
 * here, through `analyzeDetailed` and the live `Detector`. A cell that loses most of its users for
 * long enough is a silent failure however small it is; a quiet hour, normal variation, a weekend on
 * a business cell, or an hour that has been that empty before, is not.
 */
import t from 'tap';
import { analyzeDetailed, Detector, settingsWith, type HourlyMean } from '../correlator/index.js';
import type { Sample, Window, WindowEvent } from '../model/index.js';
import { mulberry32 as rng } from '../sim/seeded.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const STEP = 5 * MIN;
/** Monday 2026-03-02 00:00 UTC; history is weeks before `FROM`, the analysed days start at it. */
const START = Date.parse('2026-03-02T00:00:00Z');
/** Carried traffic per user, Mbit/s. */
const MBPS_PER_USER = 0.55;

/** Users a cell expects at a time of week (local = UTC here). */
type Profile = (ts: number) => number;
const flat =
  (users: number, night = users): Profile =>
  (ts) => {
    const h = Math.floor((ts % DAY) / HOUR);
    return h >= 7 && h < 23 ? users : night;
  };
/** A business district: `weekday` users 8–20 h on working days, `weekend` on Saturdays and Sundays. */
const business =
  (weekday: number, weekend: number): Profile =>
  (ts) => {
    const dow = Math.floor((ts - START) / DAY) % 7;
    const h = Math.floor((ts % DAY) / HOUR);
    if (h < 8 || h >= 20) return 1;
    return dow >= 5 ? weekend : weekday;
  };

/** A Poisson count (Knuth): how many users a cell expecting `lambda` has in one look. */
function poisson(lambda: number, rnd: () => number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rnd();
  while (p > l) {
    k++;
    p *= rnd();
  }
  return k;
}

interface CellCase {
  id: string;
  profile: Profile;
  /** Share of the expected users present at ts in the analysed days (1 = normal). */
  present?: (ts: number) => number;
  /** Users per week of history at the hour, as factors of the profile (default ~ ±5 %). */
  weekFactors?: number[];
}

interface Scenario {
  cells: CellCase[];
  historyWeeks: number;
  /** Analysed days from FROM. */
  days: number;
  /** Users drawn from a Poisson count around the expected ones, instead of the expected ones. */
  poissonSeed?: number;
  weekendDays?: number[];
}

function build(sc: Scenario) {
  const from = START + sc.historyWeeks * WEEK;
  const history: HourlyMean[] = [];
  for (const c of sc.cells) {
    const factors = c.weekFactors ?? [0.95, 1.05, 1, 0.97, 1.03];
    for (let h = START; h < from; h += HOUR) {
      const week = Math.floor((h - START) / WEEK);
      const users = c.profile(h) * factors[week % factors.length]!;
      history.push({
        cell: c.id,
        hour: h,
        count: 12,
        activeUsers: users,
        trafficMbps: users * MBPS_PER_USER,
        dlMbps: 30,
        ulMbps: 5,
        latencyMs: 30,
        rsrpDbm: -90,
        sinrDb: 12,
        prbUtilPct: 10,
      });
    }
  }
  const rnd = rng(sc.poissonSeed ?? 1);
  const samples: Sample[] = [];
  for (let ts = from + STEP; ts <= from + sc.days * DAY; ts += STEP)
    for (const c of sc.cells) {
      const expected = c.profile(ts) * (c.present?.(ts) ?? 1);
      const users = sc.poissonSeed !== undefined ? poisson(expected, rnd) : expected;
      const mb = (users * MBPS_PER_USER * STEP) / 1000 / 8;
      samples.push({
        cell: c.id,
        ts,
        source: 'snmp',
        intervalS: STEP / 1000,
        available: true,
        activeUsers: users,
        dlMbps: 30,
        ulMbps: 5,
        latencyMs: 30,
        rsrpDbm: -90,
        sinrDb: 12,
        prbUtilPct: 10,
        dlVolumeMB: 0.9 * mb,
        ulVolumeMB: 0.1 * mb,
      });
    }
  const settings = settingsWith({
    timezone: 'UTC',
    ...(sc.weekendDays ? { baseline: { weekendDays: sc.weekendDays } } : {}),
  });
  return { from, history, samples, settings };
}

/** Monday of the analysed week (3 weeks of history) at a local time. */
const mon = (hour: number, minute = 0) => START + 3 * WEEK + hour * HOUR + minute * MIN;
/** The users of [a, b) cut to `share`. */
const lose =
  (share: number, a: number, b: number) =>
  (ts: number): number =>
    ts > a && ts <= b ? share : 1;

interface Case {
  spec: string;
  sc: Scenario;
  /** The silent-failure window wanted (on that cell, overlapping [from, to)); none: no window at all. */
  want?: { cell: string; from: number; to: number };
}

const cases: Case[] = [
  {
    spec: 'a 4-user cell loses 85 % of its users for an hour: silent failure (one interval’s z is −2.3)',
    sc: {
      cells: [{ id: 'small', profile: flat(4, 1), present: lose(0.15, mon(11), mon(12)) }],
      historyWeeks: 3,
      days: 1,
    },
    want: { cell: 'small', from: mon(11), to: mon(12) },
  },
  {
    spec: 'a 3-user cell loses all its users for 45 min: silent failure',
    sc: {
      cells: [{ id: 'three', profile: flat(3, 1), present: lose(0, mon(15), mon(15, 45)) }],
      historyWeeks: 3,
      days: 1,
    },
    want: { cell: 'three', from: mon(15), to: mon(15, 45) },
  },
  {
    spec: 'a 20-user cell loses 85 % for 20 min: silent failure at once (one interval’s z is enough)',
    sc: {
      cells: [{ id: 'big', profile: flat(20, 2), present: lose(0.15, mon(18), mon(18, 20)) }],
      historyWeeks: 3,
      days: 1,
    },
    want: { cell: 'big', from: mon(18), to: mon(18, 20) },
  },
  {
    spec: 'a 4-user cell loses 85 % for 20 min: shorter than silentSustain, no window',
    sc: {
      cells: [{ id: 'small', profile: flat(4, 1), present: lose(0.15, mon(11), mon(11, 20)) }],
      historyWeeks: 3,
      days: 1,
    },
  },
  {
    spec: 'a quiet night hour: 1 user → 0 for two hours, no window',
    sc: { cells: [{ id: 'night', profile: flat(6, 1), present: lose(0, mon(2), mon(4)) }], historyWeeks: 3, days: 1 },
  },
  {
    spec: 'a 2-user cell (below silentMinUsers) empty for two hours in the day: no window',
    sc: { cells: [{ id: 'tiny', profile: flat(2, 1), present: lose(0, mon(10), mon(12)) }], historyWeeks: 3, days: 1 },
  },
  {
    spec: 'an hour that has been as empty before (its weeks had 1, 4 and 7 users): no window',
    sc: {
      cells: [
        {
          id: 'erratic',
          profile: flat(4, 1),
          weekFactors: [0.25, 1, 1.75],
          present: lose(0.15, mon(11), mon(12, 30)),
        },
      ],
      historyWeeks: 3,
      days: 1,
    },
  },
  {
    spec: 'normal random variation (Poisson users on 3-, 4-, 8- and 20-user cells for a week): no window',
    sc: {
      cells: [3, 4, 8, 20].map((u) => ({ id: `p${u}`, profile: flat(u, 1) })),
      historyWeeks: 3,
      days: 7,
      poissonSeed: 42,
    },
  },
  {
    spec: 'a weekend on a business cell (20 users on working days, 2 at weekends), hour-of-week baseline: no window',
    sc: { cells: [{ id: 'office', profile: business(20, 2) }], historyWeeks: 3, days: 7 },
  },
  {
    spec: 'the same with two weeks of history (the hour-of-day fallback, weekend days with weekend days): no window',
    sc: { cells: [{ id: 'office', profile: business(20, 2) }], historyWeeks: 2, days: 7 },
  },
];

void t.test('silent failures: what a NOC calls a sleeping cell, and what it does not', async (t) => {
  for (const c of cases) {
    const { history, samples, settings } = build(c.sc);
    const { windows } = analyzeDetailed({ samples, settings, history });
    if (!c.want) {
      t.same(
        windows.map((w) => `${w.cell} ${new Date(w.start).toISOString()} ${w.cause}`),
        [],
        c.spec,
      );
      continue;
    }
    const { cell, from, to } = c.want;
    const hits = windows.filter((w) => w.cell === cell && w.start < to && (w.end ?? Infinity) > from);
    t.ok(
      hits.length > 0 && hits.every((w) => w.cause === 'silent-failure'),
      `${c.spec} (${hits.map((w) => w.cause).join(', ') || 'no window'})`,
    );
    t.equal(windows.length, hits.length, `${c.spec}: no other window`);
  }
});

void t.test('weekendDays is what keeps a business cell’s weekend quiet under the fallback', async (t) => {
  const sc: Scenario = {
    cells: [{ id: 'office', profile: business(20, 2) }],
    historyWeeks: 2,
    days: 7,
    weekendDays: [],
  };
  const { history, samples, settings } = build(sc);
  const { windows } = analyzeDetailed({ samples, settings, history });
  const weekend = windows.filter((w) => Math.floor((w.start - START) / DAY) % 7 >= 5);
  t.ok(
    weekend.length > 0 && weekend.every((w) => w.cause === 'silent-failure'),
    `compared with working days, its Saturday looks like a sleeping cell (${weekend.length} windows)`,
  );
});

void t.test('a sustained collapse: live, out of order within lateness = offline', async (t) => {
  const sc: Scenario = {
    cells: [
      { id: 'small', profile: flat(4, 1), present: lose(0.15, mon(11), mon(12)) },
      { id: 'other', profile: flat(5, 1), present: lose(0.1, mon(11, 30), mon(13)) },
    ],
    historyWeeks: 3,
    days: 1,
  };
  const { history, samples, settings } = build(sc);
  const offline = analyzeDetailed({ samples, settings, history }).windows;
  t.equal(offline.length, 2, 'both collapses are windows');
  // One sample in five arrives up to 90 min late (within the 2 h lateness): tracks recompute their runs.
  const rnd = rng(9);
  const arrival = samples
    .map((s, i) => ({ s, key: s.ts + (rnd() < 0.2 ? rnd() * 90 * MIN : 0), i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.s);
  const d = new Detector(settings);
  d.seedHourly(history);
  const events: WindowEvent[] = [];
  for (let k = 0; k < arrival.length; k += 20) events.push(...d.addSamples(arrival.slice(k, k + 20)).windows);
  const last = new Map<string, Window>();
  for (const e of events) {
    if (e.change === 'retracted') last.delete(e.window.id);
    else last.set(e.window.id, e.window);
  }
  const live = [...last.values()].map((w) => d.window(w.id) ?? w).sort((a, b) => a.start - b.start);
  t.same(
    live.map((w) => [w.id, w.cause, w.start, w.end]),
    offline.map((w) => [w.id, w.cause, w.start, w.end]),
    'the same windows, starts and ends',
  );
});
