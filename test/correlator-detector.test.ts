/**
 * The Detector on event time, over a small simulated network with injected incidents: the same
 * windows and targets whatever the arrival order within lateness (and the same as offline
 * `analyze`), unknown samples change no count, gaps open nothing, late and duplicate samples are
 * counted, and a snapshot/restore in the middle loses and duplicates nothing.
 */
import t from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  BASELINE_KPIS,
  analyzeDetailed,
  Detector,
  settingsWith,
  type DetectionSettings,
  type HourlyMean,
  type TargetResult,
} from '../correlator/index.js';
import { baselineValues } from '../correlator/interval.js';
import type { LinkSample, Sample, Window, WindowEvent } from '../model/index.js';
import { SimNetwork } from '../sim/index.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Monday 2026-03-02 00:00 in Shanghai.
const START = Date.parse('2026-03-02T00:00:00+08:00');
const at = (day: number, hour: number, minute = 0) => START + day * DAY + hour * HOUR + minute * MIN;

function scenario(days = 3) {
  const net = SimNetwork.create({
    seed: 5,
    regions: 2,
    sites: 8,
    start: START,
    timezone: 'Asia/Shanghai',
    incidents: 'none',
  });
  const site = (i: number) => net.sites[i]!;
  net.addIncident({
    kind: 'outage',
    site: site(0).id,
    cells: [site(0).cells[0]!],
    start: at(2, 19, 30),
    end: at(2, 20, 30),
    severity: 1,
  });
  net.addIncident({
    kind: 'backhaul',
    site: site(1).id,
    cells: [],
    start: at(2, 20, 0),
    end: at(2, 21, 0),
    severity: 0.9,
  });
  net.addIncident({
    kind: 'interference',
    site: site(2).id,
    cells: [site(2).cells[1]!],
    start: at(3, 10, 0),
    end: at(3, 11, 0),
    severity: 0.7,
  });
  net.addIncident({
    kind: 'congestion',
    site: site(3).id,
    cells: [site(3).cells[0]!],
    start: at(3, 19, 0),
    end: at(3, 20, 0),
    severity: 0.8,
  });
  net.addIncident({
    kind: 'backhaul',
    site: site(4).id,
    cells: [],
    start: at(3, 8, 0),
    end: at(3, 8, 40),
    severity: 1,
    linkDown: true,
  });
  const samples: Sample[] = [];
  const links: LinkSample[] = [];
  for (let ts = START + MIN; ts <= START + days * DAY; ts += MIN) {
    for (const c of net.cells) samples.push(net.sample(c.id, ts));
    for (const s of net.sites) links.push(net.linkSample(s.id, ts));
  }
  return { net, samples, links, inventory: CellInventory.of(net.cells) };
}

const settings: DetectionSettings = settingsWith({ timezone: 'Asia/Shanghai' });

/**
 * A seeded arrival order: one item in eight arrives up to `maxDelay` after its own ts, the rest on
 * time (every late one makes its track recompute its buffer: enough to test, cheap enough to run).
 */
function jitter<T extends { ts: number }>(items: T[], maxDelay: number, seed: number): T[] {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
  return items
    .map((it, i) => ({ it, key: it.ts + (rnd() < 0.125 ? rnd() * maxDelay : 0), i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.it);
}

/** Feeds a detector in batches of arrival order; returns the final windows (by id) and the events. */
function live(d: Detector, samples: Sample[], links: LinkSample[], batch = 500) {
  const merged: ({ kind: 's'; v: Sample } | { kind: 'l'; v: LinkSample })[] = [];
  // Interleave by arrival position: links of a minute may come before or after the cells' samples.
  let i = 0;
  let j = 0;
  while (i < samples.length || j < links.length) {
    const takeLink =
      j < links.length && (i >= samples.length || links[j]!.ts <= samples[i]!.ts - 30_000 || j % 3 === 0);
    if (takeLink) merged.push({ kind: 'l', v: links[j++]! });
    else merged.push({ kind: 's', v: samples[i++]! });
  }
  const events: WindowEvent[] = [];
  let late = 0;
  let duplicates = 0;
  for (let k = 0; k < merged.length; k += batch) {
    const part = merged.slice(k, k + batch);
    const ss = part.filter((p) => p.kind === 's').map((p) => p.v);
    const ls = part.filter((p) => p.kind === 'l').map((p) => p.v);
    for (const out of [d.addLinks(ls), d.addSamples(ss)]) {
      events.push(...out.windows);
      late += out.late;
      duplicates += out.duplicates;
    }
  }
  return { windows: finalWindows(d, events), events, late, duplicates };
}

function finalWindows(d: Detector, events: readonly WindowEvent[]): Window[] {
  const last = new Map<string, Window>();
  for (const e of events) {
    if (e.change === 'retracted') last.delete(e.window.id);
    else last.set(e.window.id, e.window);
  }
  return [...last.values()].map((w) => d.window(w.id) ?? w).sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
}

const allTargets = (d: Detector): TargetResult[] => d.targetDays().flatMap((day) => d.targets(day));

/** Hourly means per cell and UTC hour of the counter samples, as the store's rollups hold them. */
function rollups(samples: readonly Sample[]): HourlyMean[] {
  const sums = new Map<string, { cell: string; hour: number; sum: Float64Array; n: Float64Array }>();
  const v = new Float64Array(8);
  for (const s of samples) {
    if (s.source === 'probe') continue;
    const hour = Math.floor(s.ts / HOUR) * HOUR;
    const key = `${s.cell}|${hour}`;
    let b = sums.get(key);
    if (!b) sums.set(key, (b = { cell: s.cell, hour, sum: new Float64Array(8), n: new Float64Array(8) }));
    baselineValues(s, s.intervalS ?? 60, v);
    for (let k = 0; k < 8; k++)
      if (!Number.isNaN(v[k]!)) {
        b.sum[k]! += v[k]!;
        b.n[k]! += 1;
      }
  }
  return [...sums.values()].map((b) => {
    const m: HourlyMean = { cell: b.cell, hour: b.hour, count: Math.max(...b.n), counts: {} };
    BASELINE_KPIS.forEach((kpi, k) => {
      if (b.n[k]! === 0) return;
      m[kpi] = b.sum[k]! / b.n[k]!;
      m.counts![kpi] = b.n[k]!;
    });
    return m;
  });
}

void t.test('order independence: jittered arrival within lateness = in order = offline analyze', async (t) => {
  const { samples, links, inventory } = scenario();
  const offline = analyzeDetailed({ samples, links, inventory, settings });
  t.ok(offline.windows.length >= 5, `the incidents make windows (${offline.windows.length})`);
  const inOrder = new Detector(settings, { inventory });
  const a = live(inOrder, samples, links);
  t.same(a.windows, offline.windows, 'live in order gives the windows offline analysis gives');
  t.same(allTargets(inOrder), offline.report.targets, 'and the same targets');
  const shuffled = new Detector(settings, { inventory });
  const b = live(shuffled, jitter(samples, 100 * MIN, 7), jitter(links, 100 * MIN, 8), 2000);
  t.equal(b.late, 0, 'nothing arrived later than lateness');
  t.ok(
    b.events.some((e) => e.change === 'retracted') || b.events.length >= a.events.length,
    'late data was reconciled',
  );
  t.same(b.windows, offline.windows, 'samples up to 100 min out of order: the same windows');
  t.same(allTargets(shuffled), offline.report.targets, 'and the same targets, to the last digit');
  const said = new Set<string>();
  let strange = 0;
  for (const e of b.events) {
    if (e.change === 'opened') said.add(e.window.id);
    else if (!said.has(e.window.id)) strange++;
    if (e.change === 'retracted') said.delete(e.window.id);
  }
  t.equal(strange, 0, 'every changed, closed or retracted window was opened before');
});

void t.test('two pushes in flight: consecutive minutes answered out of order = in order', async (t) => {
  // A late sample just before its track's newest is recomputed from the state before that one (when
  // the track had no window then), not from the checkpoint: the results must not tell.
  const { samples, links, inventory } = scenario();
  const offline = analyzeDetailed({ samples, links, inventory, settings });
  const byMinute = new Map<number, Sample[]>();
  for (const s of samples) {
    const m = byMinute.get(s.ts);
    if (m) m.push(s);
    else byMinute.set(s.ts, [s]);
  }
  const minutes = [...byMinute.values()];
  // Every other pair of minutes swapped: each cell's sample of the first minute arrives after its newest.
  for (let i = 0; i + 1 < minutes.length; i += 4) [minutes[i], minutes[i + 1]] = [minutes[i + 1]!, minutes[i]!];
  // …and now and then a minute two behind (inserted deeper: recomputed from the checkpoint).
  for (let i = 2; i + 2 < minutes.length; i += 12) minutes.splice(i + 2, 0, ...minutes.splice(i, 1));
  const d = new Detector(settings, { inventory });
  const r = live(d, minutes.flat(), links, 2000);
  t.equal(r.late, 0, 'nothing was late');
  t.same(r.windows, offline.windows, 'the same windows');
  t.same(allTargets(d), offline.report.targets, 'and the same targets, to the last digit');
  const inOrder = new Detector(settings, { inventory });
  live(inOrder, samples, links, 2000);
  // As saved (JSON): a key holding undefined is no difference.
  const saved = (x: Detector) => JSON.parse(JSON.stringify(x.snapshot().tracks)) as unknown;
  t.same(saved(d), saved(inOrder), 'every track ends in the same state');
});

void t.test('unknown samples change no count; gaps open nothing', async (t) => {
  const { samples, links, inventory } = scenario(2);
  const base = analyzeDetailed({ samples, links, inventory, settings });
  const unknowns: Sample[] = samples
    .filter((_, i) => i % 7 === 0)
    .map((s) => ({ cell: s.cell, ts: s.ts - 20_000, source: 'snmp', intervalS: 20, rsrqDb: -12 }));
  const withUnknown = analyzeDetailed({ samples: [...samples, ...unknowns], links, inventory, settings });
  const gist = (ws: Window[]) =>
    ws.map((w) => [w.id, w.start, w.end, w.cause, w.severity, w.usersAffected, w.evidence.badIntervals]);
  t.same(
    gist(withUnknown.windows),
    gist(base.windows),
    'windows keep their ids, extent, cause, severity and bad intervals',
  );
  const ratios = (ts: TargetResult[]) =>
    ts.map((x) => [x.day, x.scope, x.id, x.ratio, x.users, x.coverage, x.interval]);
  t.same(ratios(withUnknown.report.targets), ratios(base.report.targets), 'ratios, users and coverage unchanged');

  // A cell whose samples stop for six hours on day 2, and one that reports only unknowns: no window.
  const victim = samples[0]!.cell;
  const gappy = samples.filter((s) => s.cell !== victim || s.ts < at(1, 9) || s.ts > at(1, 15));
  const r = analyzeDetailed({ samples: gappy, links, inventory, settings });
  const onVictim = (ws: Window[]) => ws.filter((w) => w.cell === victim).length;
  t.equal(onVictim(r.windows), onVictim(base.windows), 'a collection gap opens no window');
  const blind = samples.map((s) => (s.cell === victim ? { cell: s.cell, ts: s.ts, source: s.source } : s));
  t.equal(
    onVictim(analyzeDetailed({ samples: blind, links, inventory, settings }).windows),
    0,
    'only unknowns: no window',
  );
  const target = r.report.targets.find((x) => x.scope === 'cell' && x.id === victim && x.day === '2026-03-03');
  t.ok(target && target.coverage === 1, 'the gap was outside the peak: full coverage');
});

void t.test('late and duplicate samples are counted, not folded in', async (t) => {
  const { samples, links, inventory } = scenario(2);
  const d = new Detector(settings, { inventory });
  const cell = samples[0]!.cell;
  const mine = samples.filter((s) => s.cell === cell);
  d.addLinks(links);
  const first = d.addSamples(mine.slice(0, 600));
  t.same([first.late, first.duplicates], [0, 0]);
  const again = d.addSamples(mine.slice(590, 610));
  t.equal(again.duplicates, 10, 'a replay of the last ten minutes: ten duplicates');
  const old = d.addSamples([{ ...mine[100]!, ts: mine[100]!.ts + 30_000 }]);
  t.equal(old.late, 1, 'a sample ~8 h behind its cell’s newest is late');
  const replayOld = d.addSamples([mine[550]!]);
  t.equal(replayOld.duplicates, 1, 'a replay of a settled sample is still recognised as a duplicate');
  t.same(d.stats().late, 1, 'stats keep the count');
});

void t.test('snapshot and restore mid-stream: no lost, no duplicated window', async (t) => {
  const { samples, links, inventory } = scenario();
  const whole = new Detector(settings, { inventory });
  const ref = live(whole, samples, links);
  const cut = at(1, 20, 10); // inside the outage and the backhaul incident
  const d1 = new Detector(settings, { inventory });
  const part1 = live(
    d1,
    samples.filter((s) => s.ts <= cut),
    links.filter((l) => l.ts <= cut),
  );
  const open = d1.openWindows();
  t.ok(open.length >= 1, `windows open at the cut (${open.length})`);
  const json = JSON.stringify(d1.snapshot());
  t.ok(json.length < 200_000, `the snapshot holds state, not buffered samples (${json.length} bytes)`);
  const snap = JSON.parse(json) as ReturnType<Detector['snapshot']>;
  const d2 = Detector.restore(settings, { inventory }, snap);
  // The daemon rebuilds baselines from the store's rollups: every sample up to the cut, by hour.
  d2.seedHourly(rollups(samples.filter((s) => s.ts <= cut)));
  t.same(d2.openWindows(), open, 'restored: the same open windows');
  const replay = samples.filter((s) => s.ts <= cut && s.ts > cut - 30 * MIN);
  t.same(
    d2.addSamples(replay),
    {
      windows: [],
      late: replay.filter((s) => s.ts < cut).length,
      duplicates: replay.filter((s) => s.ts === cut).length,
    },
    'samples from before the restart are not folded in again (each cell’s newest is a duplicate, older ones late)',
  );
  const lateCounts = d2.stats();
  const part2 = live(
    d2,
    samples.filter((s) => s.ts > cut),
    links.filter((l) => l.ts > cut),
  );
  const reopened = part2.events.filter((e) => e.change === 'opened' && open.some((w) => w.id === e.window.id));
  t.same(reopened, [], 'no open window is announced again after the restart');
  const all = finalWindows(d2, [...part1.events, ...part2.events]);
  t.same(all, ref.windows, 'the windows of an uninterrupted run');
  t.same(allTargets(d2), allTargets(whole), 'and the same targets, to the last digit');
  t.equal(d2.stats().late, lateCounts.late, 'nothing after the restart was late');
  t.ok(d2.takeChangedDays().length > 0, 'changed days are reported for persistence');
  t.same(d2.takeChangedDays(), [], 'and only once');
});

void t.test('memory stays bounded: old days and closed windows leave', async (t) => {
  const { samples, links, inventory } = scenario(4);
  const d = new Detector(settingsWith({ timezone: 'Asia/Shanghai', rules: { historyDays: 2 } }), { inventory });
  live(d, samples, links);
  t.ok(d.targetDays().length <= 3, `day sums kept: ${d.targetDays().join(', ')}`);
  t.ok(
    d.recentWindows().every((w) => (w.end ?? Infinity) >= at(3, 0) - DAY),
    'closed windows older than a day are gone',
  );
});

void t.test('busy-hour peak: each cell’s target counts its own busy hour only', async (t) => {
  const D = Date.parse('2026-03-04T00:00:00Z');
  const busy = { A: 20, B: 10 };
  const history: HourlyMean[] = [];
  for (const [cell, hour] of Object.entries(busy))
    for (let h = D - 27 * DAY; h < D; h += HOUR)
      history.push({
        cell,
        hour: h,
        count: 60,
        trafficMbps: new Date(h).getUTCHours() === hour ? 80 : 20,
        activeUsers: 20,
      });
  const samples: Sample[] = [];
  for (let ts = D + MIN; ts <= D + DAY; ts += MIN) {
    const hour = new Date(ts - MIN).getUTCHours();
    const minute = new Date(ts - MIN).getUTCMinutes();
    const base = {
      ts,
      source: 'snmp' as const,
      intervalS: 60,
      available: true,
      activeUsers: 20,
      dlVolumeMB: 300,
      ulVolumeMB: 30,
      ulMbps: 4,
      latencyMs: 30,
    };
    // A: slow for half of its busy hour, and all of 12:00 (not its busy hour); B: slow 20:00–21:00 (not its).
    samples.push({ ...base, cell: 'A', dlMbps: (hour === 20 && minute < 30) || hour === 12 ? 2 : 30 });
    samples.push({ ...base, cell: 'B', dlMbps: hour === 20 ? 2 : 30 });
  }
  const inventory = CellInventory.of(
    ['A', 'B'].map((id) => ({ id, site: `S${id}`, region: 'R1', lat: 31, lon: 121, neighbours: [] })),
  );
  const r = analyzeDetailed({
    samples,
    history,
    inventory,
    settings: settingsWith({ timezone: 'UTC', target: { peak: 'busy-hour' } }),
  }).report;
  const day = '2026-03-04';
  const of = (scope: string, id: string) => r.targets.find((x) => x.day === day && x.scope === scope && x.id === id);
  t.match(of('cell', 'A'), { busyHour: 20, ratio: 0.5, coverage: 1 }, 'A: its 20:00 hour, half of it slow');
  t.match(of('cell', 'B'), { busyHour: 10, ratio: 1 }, 'B: its 10:00 hour, all good (its slow hour is not its peak)');
  t.equal(
    of('network', 'network')?.ratio,
    0.75,
    'network: (600 + 1200) / 2400 user-minutes, each cell at its own busy hour',
  );
  t.equal(of('network', 'network')?.users, 40, '20 users counted per cell');
  t.same(
    r.cells.map((c) => [c.id, c.busyHour]),
    [
      ['A', 20],
      ['B', 10],
    ],
    'the report gives each cell its busy hour',
  );
});
