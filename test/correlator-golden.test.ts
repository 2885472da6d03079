/**
 * Golden detection cases (test/fixtures/detect-<case>/): input samples, links, inventory, history
 * and settings in `input.json`, the report's windows and targets in `expected.json`
 * (`UPDATE_GOLDEN=1` rewrites both from the builders below). Each case also states its spec as
 * plain assertions, checked by hand once against the numbers: a golden file that only recorded
 * what the code does would prove nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  analyze,
  Detector,
  reportWindow,
  settingsWith,
  type AnalysisReport,
  type DeepPartial,
  type DetectionSettings,
  type HourlyMean,
} from '../correlator/index.js';
import type { Cell, LinkSample, Sample, WindowEvent } from '../model/index.js';
import { SimNetwork } from '../sim/index.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface Input {
  spec: string;
  settings: DeepPartial<DetectionSettings>;
  cells: Cell[];
  samples: Sample[];
  links?: LinkSample[];
  history?: HourlyMean[];
  /** Feed a live Detector in this order instead of analyze (late/out-of-order case). */
  live?: boolean;
}
interface Expected {
  windows: AnalysisReport['windows'];
  targets: AnalysisReport['targets'];
  late: number;
  duplicates: number;
}

const cell = (id: string, site = 'S1', region = 'R1'): Cell => ({
  id,
  site,
  region,
  lat: 31,
  lon: 121,
  neighbours: [],
});
const healthy = {
  source: 'snmp' as const,
  intervalS: 60,
  available: true,
  activeUsers: 20,
  dlMbps: 30,
  ulMbps: 4,
  latencyMs: 30,
  rsrpDbm: -90,
  sinrDb: 12,
  prbUtilPct: 40,
  dlVolumeMB: 375,
  ulVolumeMB: 37.5,
};
/** 1-minute samples stamped (from, to], healthy unless `over` says otherwise for that ts. */
function series(
  id: string,
  from: string,
  to: string,
  over: (ts: number) => Partial<Sample> | null = () => ({}),
): Sample[] {
  const out: Sample[] = [];
  for (let ts = Date.parse(from) + MIN; ts <= Date.parse(to); ts += MIN) {
    const o = over(ts);
    if (o === null) continue;
    const s: Sample = { cell: id, ts, ...healthy, ...o };
    if (s.available === false)
      for (const k of Object.keys(healthy))
        if (k !== 'source' && k !== 'intervalS' && k !== 'available')
          delete (s as unknown as Record<string, unknown>)[k];
    out.push(s);
  }
  return out;
}
const within = (ts: number, from: string, to: string) => ts > Date.parse(from) && ts <= Date.parse(to);
function links(
  site: string,
  from: string,
  to: string,
  over: (ts: number) => Partial<LinkSample> = () => ({}),
): LinkSample[] {
  const out: LinkSample[] = [];
  for (let ts = Date.parse(from) + MIN; ts <= Date.parse(to); ts += MIN)
    out.push({
      link: `bh-${site}:1`,
      site,
      ts,
      source: 'snmp',
      intervalS: 60,
      speedMbps: 1000,
      utilPct: 40,
      operUp: true,
      ...over(ts),
    });
  return out;
}
/** Flat hourly history: `weeks` weeks of identical hours before `until`. */
function history(id: string, until: string, weeks: number, means: Partial<HourlyMean>): HourlyMean[] {
  const out: HourlyMean[] = [];
  const end = Date.parse(until);
  for (let h = end - weeks * 168 * HOUR; h < end; h += HOUR) out.push({ cell: id, hour: h, count: 60, ...means });
  return out;
}
const FLAT = {
  activeUsers: 20,
  trafficMbps: 55,
  dlMbps: 30,
  ulMbps: 4,
  latencyMs: 30,
  rsrpDbm: -90,
  sinrDb: 12,
  prbUtilPct: 40,
};

const D = '2026-03-04'; // a Wednesday
const evening = (c: string, over?: (ts: number) => Partial<Sample> | null) =>
  series(c, `${D}T18:00:00Z`, `${D}T22:30:00Z`, over);
const UTC = { timezone: 'UTC' };

const CASES: Record<string, () => Input> = {
  outage: () => ({
    spec: 'A down 19:30–20:00: one outage window 19:30–20:00, severity 1, 20 users (recent mean) × 30 min; A at peak 150/180 good',
    settings: UTC,
    cells: [cell('A'), cell('B')],
    samples: [
      ...evening('A', (ts) => (within(ts, `${D}T19:30:00Z`, `${D}T20:00:00Z`) ? { available: false } : {})),
      ...evening('B'),
    ],
  }),
  'backhaul-saturation': () => ({
    spec: 'the site link at 95% 20:00–20:30 while both cells crawl at 2 Mbit/s: two backhaul windows with the link as evidence',
    settings: UTC,
    cells: [cell('A'), cell('B')],
    samples: ['A', 'B'].flatMap((c) =>
      evening(c, (ts) => (within(ts, `${D}T20:00:00Z`, `${D}T20:30:00Z`) ? { dlMbps: 2, latencyMs: 140 } : {})),
    ),
    links: links('S1', `${D}T18:00:00Z`, `${D}T22:30:00Z`, (ts) =>
      within(ts, `${D}T20:00:00Z`, `${D}T20:30:00Z`) ? { utilPct: 95 } : {},
    ),
  }),
  'backhaul-linkdown': () => ({
    spec: 'the site link down 20:00–20:20 and its cells unavailable: backhaul (transport repair), not outage',
    settings: UTC,
    cells: [cell('A'), cell('B')],
    samples: ['A', 'B'].flatMap((c) =>
      evening(c, (ts) => (within(ts, `${D}T20:00:00Z`, `${D}T20:20:00Z`) ? { available: false } : {})),
    ),
    links: links('S1', `${D}T18:00:00Z`, `${D}T22:30:00Z`, (ts) =>
      within(ts, `${D}T20:00:00Z`, `${D}T20:20:00Z`) ? { operUp: false, utilPct: 0 } : {},
    ),
  }),
  coverage: () => ({
    spec: 'RSRP −118 dBm and DL 3 for 30 min: coverage',
    settings: UTC,
    cells: [cell('A')],
    samples: evening('A', (ts) =>
      within(ts, `${D}T20:00:00Z`, `${D}T20:30:00Z`) ? { rsrpDbm: -118, sinrDb: 1, dlMbps: 3 } : {},
    ),
  }),
  interference: () => ({
    spec: 'RSRP fine, SINR −3 dB and DL 3: interference',
    settings: UTC,
    cells: [cell('A')],
    samples: evening('A', (ts) => (within(ts, `${D}T20:00:00Z`, `${D}T20:30:00Z`) ? { sinrDb: -3, dlMbps: 3 } : {})),
  }),
  congestion: () => ({
    spec: 'PRB 95 with 40 users at DL 2: congestion, 40 users affected',
    settings: UTC,
    cells: [cell('A')],
    samples: evening('A', (ts) =>
      within(ts, `${D}T20:00:00Z`, `${D}T20:30:00Z`)
        ? { prbUtilPct: 95, activeUsers: 40, dlMbps: 2, latencyMs: 160 }
        : {},
    ),
  }),
  'silent-failure': () => ({
    spec: 'three weeks at 20 users, then 2 users and a tenth of the traffic for an hour with radio and throughput fine: silent failure, 18 users who could not attach, severity ≥ 0.5',
    settings: UTC,
    cells: [cell('A')],
    history: history('A', `${D}T00:00:00Z`, 3, FLAT),
    samples: evening('A', (ts) =>
      within(ts, `${D}T20:00:00Z`, `${D}T21:00:00Z`)
        ? { activeUsers: 2, dlVolumeMB: 37.5, ulVolumeMB: 3.75, dlMbps: 45 }
        : {},
    ),
  }),
  unknown: () => ({
    spec: 'DL 3 with PRB low, RSRP and SINR fine, no link: unknown cause',
    settings: UTC,
    cells: [cell('A')],
    samples: evening('A', (ts) => (within(ts, `${D}T20:00:00Z`, `${D}T20:30:00Z`) ? { dlMbps: 3 } : {})),
  }),
  'dst-spring': () => ({
    spec: 'Europe/Berlin 2026-03-29, peak 01:00–04:00 lasts 2 h (120 samples); DL 3 for 30 of them: ratio 0.75, coverage 1',
    settings: { timezone: 'Europe/Berlin', target: { peak: { from: 60, to: 240 } } },
    cells: [cell('A')],
    samples: series('A', '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z', (ts) =>
      within(ts, '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z') ? { dlMbps: 3 } : {},
    ),
  }),
  'dst-autumn': () => ({
    spec: 'Europe/Berlin 2026-10-25, peak 01:00–04:00 lasts 4 h (the repeated hour twice, 240 samples); DL 3 for 30 min in the second 02:xx: ratio 0.875',
    settings: { timezone: 'Europe/Berlin', target: { peak: { from: 60, to: 240 } } },
    cells: [cell('A')],
    samples: series('A', '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z', (ts) =>
      within(ts, '2026-10-25T01:00:00Z', '2026-10-25T01:30:00Z') ? { dlMbps: 3 } : {},
    ),
  }),
  'missing-day': () => ({
    spec: 'B sends nothing on 2026-03-05: that day the network covers half its peak, B is insufficient-data with coverage 0, A still met',
    settings: UTC,
    cells: [cell('A'), cell('B')],
    samples: ['2026-03-04', '2026-03-05', '2026-03-06'].flatMap((d) => [
      ...series('A', `${d}T18:30:00Z`, `${d}T22:30:00Z`),
      ...(d === '2026-03-05' ? [] : series('B', `${d}T18:30:00Z`, `${d}T22:30:00Z`)),
    ]),
  }),
  'outage-at-peak': () => ({
    spec: 'A (30 users) fine, B (10 users by its hour-of-week baseline) down the whole peak: B counts 10 users not good, network ratio 30/40 = 0.75',
    settings: UTC,
    cells: [cell('A'), cell('B')],
    history: [
      ...history('A', `${D}T00:00:00Z`, 3, { ...FLAT, activeUsers: 30 }),
      ...history('B', `${D}T00:00:00Z`, 3, { ...FLAT, activeUsers: 10 }),
    ],
    samples: [
      ...evening('A', () => ({ activeUsers: 30 })),
      ...evening('B', (ts) =>
        within(ts, `${D}T18:50:00Z`, `${D}T22:10:00Z`) ? { available: false } : { activeUsers: 10 },
      ),
    ],
  }),
  'no-history': () => ({
    spec: 'a new cell: DL falling from 40 to 12 is no window (no baseline, absolute rules only); DL 3 for 10 min is one; baseline none',
    settings: UTC,
    cells: [cell('A')],
    samples: evening('A', (ts) =>
      within(ts, `${D}T19:00:00Z`, `${D}T19:30:00Z`)
        ? { dlMbps: 12 }
        : within(ts, `${D}T20:30:00Z`, `${D}T20:40:00Z`)
          ? { dlMbps: 3 }
          : { dlMbps: 40 },
    ),
  }),
  late: () => {
    const base = CASES.outage!();
    const ordered = base.samples;
    // Up to 90 minutes out of order, one replayed sample, and one three hours late.
    const shuffled = ordered
      .map((s, i) => ({ s, key: s.ts + ((i * 7919) % 90) * MIN }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.s);
    const veryLate = {
      ...ordered.find((s) => s.cell === 'A' && s.ts === Date.parse(`${D}T18:30:00Z`))!,
      ts: Date.parse(`${D}T18:29:30Z`),
    };
    return {
      ...base,
      spec: 'the outage case arriving up to 90 min out of order, with a duplicate and a sample 3 h late: the same window and ratio; late 1, duplicates 1',
      samples: [...shuffled, shuffled[10]!, veryLate],
      live: true,
    };
  },
  'sim-sleeping': () => {
    // The simulator's own sleeping cell: three days of hourly history, then the failure at 12:00 local.
    const start = Date.parse('2026-03-02T00:00:00+08:00');
    const net = SimNetwork.create({
      seed: 9,
      regions: 1,
      sites: 1,
      start,
      timezone: 'Asia/Shanghai',
      incidents: 'none',
    });
    const target = net.cells[0]!.id;
    const day3 = start + 3 * 24 * HOUR;
    net.addIncident({
      kind: 'sleeping',
      site: net.sites[0]!.id,
      cells: [target],
      start: day3 + 12 * HOUR,
      end: day3 + 14 * HOUR,
      severity: 0.5,
    });
    const hist: HourlyMean[] = [];
    for (let h = start; h < day3; h += HOUR)
      for (const c of net.cells) {
        const xs = [10, 20, 30, 40, 50, 60].map((m) => net.sample(c.id, h + m * MIN));
        const mean = (f: (s: Sample) => number) =>
          Math.round((xs.reduce((a, s) => a + f(s), 0) / xs.length) * 1000) / 1000;
        hist.push({
          cell: c.id,
          hour: h,
          count: 60,
          activeUsers: mean((s) => s.activeUsers!),
          trafficMbps: mean((s) => ((s.dlVolumeMB! + s.ulVolumeMB!) * 8) / 60),
          dlMbps: mean((s) => s.dlMbps!),
          latencyMs: mean((s) => s.latencyMs!),
          rsrpDbm: mean((s) => s.rsrpDbm!),
          sinrDb: mean((s) => s.sinrDb!),
        });
      }
    const samples: Sample[] = [];
    for (let ts = day3 + 9 * HOUR + 5 * MIN; ts <= day3 + 17 * HOUR; ts += 5 * MIN)
      for (const c of net.cells) samples.push({ ...net.sample(c.id, ts), intervalS: 300 });
    return {
      spec: 'the simulator’s sleeping cell (users at 12.5%, radio normal) 12:00–14:00 local after three days of history: one silent-failure window, 12:00–14:00, on that cell',
      settings: { timezone: 'Asia/Shanghai' },
      cells: net.cells,
      history: hist,
      samples,
    };
  },
};

function run(input: Input): Expected {
  const settings = settingsWith(input.settings);
  const inventory = CellInventory.of(input.cells);
  if (input.live) {
    const d = new Detector(settings, { inventory });
    if (input.history) d.seedHourly(input.history);
    d.addLinks(input.links ?? []);
    const events: WindowEvent[] = [];
    let late = 0;
    let duplicates = 0;
    for (let i = 0; i < input.samples.length; i += 7) {
      const out = d.addSamples(input.samples.slice(i, i + 7));
      events.push(...out.windows);
      late += out.late;
      duplicates += out.duplicates;
    }
    const last = new Map<string, WindowEvent['window']>();
    for (const e of events) {
      if (e.change === 'retracted') last.delete(e.window.id);
      else last.set(e.window.id, e.window);
    }
    const windows = [...last.values()]
      .map((w) => reportWindow(d.window(w.id) ?? w))
      .sort((a, b) => (a.start < b.start ? -1 : 1));
    return { windows, targets: d.targetDays().flatMap((day) => d.targets(day)), late, duplicates };
  }
  const r = analyze({
    samples: input.samples,
    links: input.links ?? [],
    inventory,
    settings,
    ...(input.history ? { history: input.history } : {}),
  });
  return { windows: r.windows, targets: r.targets, late: r.input.late, duplicates: r.input.duplicates };
}

const target = (e: Expected, day: string, scope: string, id: string) =>
  e.targets.find((x) => x.day === day && x.scope === scope && x.id === id);

/** The spec of each case, checked against the computed result (and so against the golden file). */
const SPECS: Record<string, (t: Test, e: Expected) => void> = {
  outage: (t, e) => {
    t.equal(e.windows.length, 1, 'one window');
    t.match(e.windows[0], {
      cell: 'A',
      cause: 'outage',
      start: `${D}T19:30:00.000Z`,
      end: `${D}T20:00:00.000Z`,
      severity: 1,
      usersAffected: 20,
      userMinutes: 600,
    });
    t.equal(target(e, D, 'cell', 'A')?.ratio, 0.83333, '150 of 180 peak minutes good');
    t.equal(target(e, D, 'network', 'network')?.ratio, round5(330 / 360), 'network: (150 + 180) / 360');
  },
  'backhaul-saturation': (t, e) => {
    t.equal(e.windows.length, 2, 'one window per cell');
    for (const w of e.windows) t.match(w, { cause: 'backhaul', evidence: { link: { link: 'bh-S1:1', utilPct: 95 } } });
  },
  'backhaul-linkdown': (t, e) => {
    t.equal(e.windows.length, 2);
    for (const w of e.windows) t.match(w, { cause: 'backhaul', severity: 1, evidence: { link: { operUp: false } } });
  },
  coverage: (t, e) => {
    t.equal(e.windows.length, 1);
    t.match(e.windows[0], { cause: 'coverage', worst: { rsrpDbm: -118 } });
    t.ok(
      e.windows[0]!.evidence.kpis.some((k) => k.kpi === 'rsrpDbm' && k.threshold === -110),
      'RSRP threshold as evidence',
    );
  },
  interference: (t, e) => {
    t.equal(e.windows.length, 1);
    t.match(e.windows[0], { cause: 'interference', worst: { sinrDb: -3, rsrpDbm: -90 } });
  },
  congestion: (t, e) => {
    t.equal(e.windows.length, 1);
    t.match(e.windows[0], { cause: 'congestion', usersAffected: 40, worst: { prbUtilPct: 95 } });
    t.equal(e.windows[0]!.severity, round3(0.5 + 0.5 * 0.6), 'all users bad, depth 1 − 2/5');
  },
  'silent-failure': (t, e) => {
    t.equal(e.windows.length, 1);
    const w = e.windows[0]!;
    t.match(w, { cause: 'silent-failure', usersAffected: 18, start: `${D}T20:00:00.000Z`, end: `${D}T21:00:00.000Z` });
    t.ok(w.severity >= 0.5, `severity ${w.severity} lets complaints match it`);
    t.equal(
      target(e, D, 'cell', 'A')?.ratio,
      round5((120 * 20 + 60 * 2) / (180 * 20)),
      'the 18 missing users count as not good',
    );
  },
  unknown: (t, e) => {
    t.equal(e.windows.length, 1);
    t.match(e.windows[0], { cause: 'unknown' });
  },
  'dst-spring': (t, e) => {
    const r = target(e, '2026-03-29', 'cell', 'A')!;
    t.equal(r.ratio, 0.75, '90 of 120 good');
    t.equal(r.coverage, 1, 'the 2-hour peak fully covered');
    t.equal(r.users, 20);
  },
  'dst-autumn': (t, e) => {
    const r = target(e, '2026-10-25', 'cell', 'A')!;
    t.equal(r.ratio, 0.875, '210 of 240 good');
    t.equal(r.coverage, 1, 'the 4-hour peak fully covered');
    t.match(e.windows[0], { start: '2026-10-25T01:00:00.000Z', end: '2026-10-25T01:30:00.000Z' });
  },
  'missing-day': (t, e) => {
    const day = '2026-03-05';
    t.equal(target(e, day, 'network', 'network')?.coverage, 0.5, 'half the peak of the inventory covered');
    t.match(target(e, day, 'cell', 'B'), { coverage: 0, status: 'insufficient-data', ratio: null });
    t.match(target(e, day, 'cell', 'A'), { ratio: 1, status: 'met' });
    t.equal(e.windows.length, 0, 'a missing day opens no window');
  },
  'outage-at-peak': (t, e) => {
    t.equal(target(e, D, 'network', 'network')?.ratio, 0.75, '30 good of 40 users');
    t.equal(
      target(e, D, 'network', 'network')?.users,
      40,
      '40 mean concurrent users counted, the down cell’s 10 included',
    );
    t.match(target(e, D, 'cell', 'B'), { ratio: 0, users: 10, status: 'missed' });
    t.match(
      e.windows.find((w) => w.cell === 'B'),
      { cause: 'outage', usersAffected: 10 },
    );
  },
  'no-history': (t, e) => {
    t.equal(e.windows.length, 1, 'only the absolute breach makes a window');
    t.match(e.windows[0], { start: `${D}T20:30:00.000Z`, end: `${D}T20:40:00.000Z`, cause: 'unknown' });
  },
  late: (t, e) => {
    t.same([e.late, e.duplicates], [1, 1], 'one late, one duplicate');
    const outage = run(CASES.outage!());
    t.same(e.windows, outage.windows, 'the windows of the in-order case');
    t.same(
      e.targets.map((x) => [x.scope, x.id, x.ratio]),
      outage.targets.map((x) => [x.scope, x.id, x.ratio]),
      'and its ratios',
    );
  },
  'sim-sleeping': (t, e) => {
    const silent = e.windows.filter((w) => w.cause === 'silent-failure');
    t.equal(silent.length, 1, 'one silent-failure window');
    t.match(silent[0], { cell: 'S0001-1', start: '2026-03-05T04:00:00.000Z', end: '2026-03-05T06:00:00.000Z' });
    t.ok(silent[0]!.severity >= 0.5, 'severe enough to explain complaints');
    t.same(
      [...new Set(e.windows.filter((w) => w.cell !== 'S0001-1').map((w) => w.cause))],
      ['congestion'],
      'the other windows are the capacity cell filling up at lunchtime (load alone), none on the sleeping cell',
    );
  },
};
const round5 = (x: number) => Math.round(x * 1e5) / 1e5;
const round3 = (x: number) => Math.round(x * 1e3) / 1e3;

for (const [name, build] of Object.entries(CASES)) {
  void t.test(`golden detect-${name}`, async (t) => {
    const dir = join(fixtures, `detect-${name}`);
    if (process.env.UPDATE_GOLDEN) {
      mkdirSync(dir, { recursive: true });
      const input = build();
      writeFileSync(join(dir, 'input.json'), JSON.stringify(input) + '\n');
      writeFileSync(join(dir, 'expected.json'), JSON.stringify(run(input), null, 1) + '\n');
    }
    const input = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')) as Input;
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    t.comment(input.spec);
    const got = run(input);
    t.same(got, expected, `${name}: the report matches the golden file`);
    SPECS[name]!(t, got);
  });
}
