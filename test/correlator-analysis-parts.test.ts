/**
 * An analysis split into parts by cell (`cellwatch analyze` runs two, one in a worker thread) gives
 * the report one Detector over every cell gives, to the byte: windows, targets of every scope, cells,
 * counts. The parts run here in one thread; daemon/analyze-part.ts only carries them across.
 */
import t from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  AnalysisPart,
  SampleColumns,
  allDays,
  analyzeDetailed,
  assembleReport,
  planAnalysis,
  settingsWith,
  type AnalysisInput,
  type HourlyMean,
} from '../correlator/index.js';
import type { Cell, LinkSample, Sample } from '../model/index.js';
import { SimNetwork } from '../sim/index.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Monday 2026-03-02 00:00 in Shanghai.
const START = Date.parse('2026-03-02T00:00:00+08:00');
const at = (day: number, hour: number, minute = 0) => START + day * DAY + hour * HOUR + minute * MIN;
const STEP = 2 * MIN;

function network(days: number) {
  const net = SimNetwork.create({
    seed: 9,
    regions: 2,
    sites: 6,
    start: START,
    timezone: 'Asia/Shanghai',
    incidents: 'none',
  });
  const site = (i: number) => net.sites[i]!;
  net.addIncident({
    kind: 'outage',
    site: site(0).id,
    cells: [site(0).cells[0]!],
    start: at(days - 1, 19, 30),
    end: at(days - 1, 20, 30),
    severity: 1,
  });
  net.addIncident({
    kind: 'backhaul',
    site: site(5).id,
    cells: [],
    start: at(days - 1, 20, 0),
    end: at(days - 1, 21, 0),
    severity: 0.9,
  });
  net.addIncident({
    kind: 'interference',
    site: site(3).id,
    cells: [site(3).cells[1]!],
    start: at(days - 1, 10, 0),
    end: at(days - 1, 11, 0),
    severity: 0.7,
  });
  const samples: Sample[] = [];
  const links: LinkSample[] = [];
  for (let ts = START + STEP; ts <= START + days * DAY; ts += STEP) {
    for (const c of net.cells) samples.push(net.sample(c.id, ts));
    for (const s of net.sites) links.push(net.linkSample(s.id, ts));
  }
  return { net, samples, links };
}

/** Inventory cells without samples: one sorting before every cell, one after, one between. */
function withSilentCells(cells: readonly Cell[]): CellInventory {
  const like = cells[0]!;
  const silent = (id: string): Cell => ({ ...like, id, neighbours: [] });
  const middle = cells[Math.floor(cells.length / 2)]!.id + '-x';
  return CellInventory.of([...cells, silent('A-first'), silent(middle), silent('ZZZ-last')]);
}

/** Hourly means of the first day, as a store's rollups would give them (history before the samples). */
function rollups(samples: readonly Sample[]): HourlyMean[] {
  const by = new Map<string, HourlyMean & { n: number }>();
  for (const s of samples) {
    if (s.ts > START + DAY) continue;
    const hour = Math.floor((s.ts - 7 * DAY) / HOUR) * HOUR;
    const key = `${s.cell}|${hour}`;
    let m = by.get(key);
    if (!m) by.set(key, (m = { cell: s.cell, hour, count: 0, n: 0 }));
    m.n++;
    m.count = m.n;
    if (s.activeUsers !== undefined) m.activeUsers = ((m.activeUsers ?? 0) * (m.n - 1) + s.activeUsers) / m.n;
    if (s.dlMbps !== undefined) m.dlMbps = ((m.dlMbps ?? 0) * (m.n - 1) + s.dlMbps) / m.n;
  }
  return [...by.values()].map(({ n: _n, ...m }) => m);
}

/** The analysis in parts cut before the given cells (indices into the plan's cells), in one thread. */
function inParts(input: AnalysisInput, cuts: readonly number[]) {
  const plan = planAnalysis(input);
  const bounds = [0, ...cuts, plan.cells.length];
  const parts = bounds.slice(1).map((to, i) => new AnalysisPart(plan, bounds[i]!, to));
  const runs = parts.map((p) => p.run());
  const days = allDays(runs);
  const newest = Math.max(...runs.map((r) => r.newest));
  return assembleReport(
    plan,
    parts.map((p) => p.finish(days, newest)),
  );
}

const { net, samples, links } = network(3);
const inventory = withSilentCells(net.cells);
const pinned = settingsWith({ timezone: 'Asia/Shanghai' });
const busy = settingsWith({ timezone: 'Asia/Shanghai', target: { peak: 'busy-hour' } });
// A duplicate sample and a repeated link sample; the second half of the cells stop on the third day at 01:00
// (a part's own newest sample must not decide which days are final).
const ids = net.cells.map((c) => c.id).sort();
const stopEarly = new Set(ids.slice(Math.floor(ids.length / 2)));
const withRepeats = [...samples.filter((s) => !stopEarly.has(s.cell) || s.ts <= START + 2 * DAY + HOUR), samples[3]!];
const linksWithRepeats = [...links, links[3]!];
// Speed tests on some cells every 30 minutes, and a cell only probes report on (in no inventory).
const probes: Sample[] = samples
  .filter((s) => s.ts % (30 * MIN) === 0 && net.cells.findIndex((c) => c.id === s.cell) % 4 === 0)
  .map((s) => ({ cell: s.cell, ts: s.ts + 1000, source: 'probe', dlMbps: s.dlMbps ?? 20, latencyMs: 30 }));
const probeOnly: Sample[] = probes
  .slice(0, 40)
  .map((s) => ({ ...s, cell: 'PROBE-only', dlMbps: s.ts % (60 * MIN) === 0 ? 2 : 30 }));

const cases: { spec: string; input: AnalysisInput }[] = [
  {
    spec: 'pinned peak, links, inventory cells without samples, a duplicate sample and link',
    input: { samples: withRepeats, links: linksWithRepeats, inventory, settings: pinned },
  },
  {
    spec: 'busy-hour peak (each cell its own peak, found from its history)',
    input: { samples, links, inventory, settings: busy },
  },
  {
    spec: 'probe samples beside the counters, and a cell only probes report on',
    input: { samples: [...samples, ...probes, ...probeOnly], links, inventory, settings: pinned },
  },
  {
    spec: 'history from rollups before the samples, no inventory, columns as cellwatch analyze fills them',
    input: {
      samples: SampleColumns.from(samples.filter((s) => s.ts > START + DAY)),
      settings: pinned,
      history: rollups(samples),
    },
  },
];

for (const c of cases) {
  void t.test(c.spec, async (t) => {
    const whole = analyzeDetailed(c.input);
    const json = JSON.stringify(whole.report);
    t.ok(whole.report.windows.length > 0, `the incidents make windows (${whole.report.windows.length})`);
    t.ok(whole.report.targets.length > 0, 'and targets');
    const n = planAnalysis(c.input).cells.length;
    for (const cuts of [[1], [Math.floor(n / 2)], [n - 1], [2, Math.floor(n / 2) + 1]]) {
      const split = inParts(c.input, cuts);
      t.equal(JSON.stringify(split.report), json, `parts cut at ${cuts.join(', ')} of ${n} cells: the same report`);
      t.same(split.windows, whole.windows, 'and the same windows');
    }
  });
}

void t.test('the report keeps what the parts cannot see alone', async (t) => {
  const input: AnalysisInput = { samples: withRepeats, links: linksWithRepeats, inventory, settings: pinned };
  const whole = analyzeDetailed(input).report;
  t.equal(whole.input.duplicates, 1, 'the duplicate sample, counted once (a healthy link repeated is no trouble)');
  t.ok(
    whole.targets.some((x) => x.scope === 'cell' && x.id === 'ZZZ-last'),
    'an inventory cell without samples after every cell has its target row',
  );
  const finals = whole.targets.filter((x) => x.scope === 'network').map((x) => [x.day, x.final]);
  t.same(
    finals,
    [
      ['2026-03-02', true],
      ['2026-03-03', true],
      ['2026-03-04', false],
      ['2026-03-05', false],
    ],
    'finality from the newest sample of all cells (03-05 00:00): within lateness of 03-04, not final yet',
  );
  t.same(
    whole.cells.map((c) => c.id),
    [...new Set([...samples.map((s) => s.cell), ...inventory.cells.map((c) => c.id)])].sort(),
    'every cell once, by id',
  );
});
