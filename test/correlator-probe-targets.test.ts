/**
 * The probe ratio beside the counter-based target: each probe test counts once over the same peak,
 * and counters meeting the goal while the probes miss it is a disagreement — per cell, region and
 * network. The same figures whatever the arrival order, across a snapshot and restore, and through
 * `GET /api/v1/targets` of a daemon fed by the push API; the disagreement as a `probe_disagreement` alert.
 */
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { DEFAULT_RULE_CONTEXT, applyInput, newRuleState } from '../alerts/rules.js';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { CellInventory } from '../config/inventory.js';
import { parseConfig } from '../config/index.js';
import { Detector, settingsWith, type TargetResult } from '../correlator/index.js';
import { targetInputs } from '../daemon/alerting.js';
import { Daemon } from '../daemon/daemon.js';
import type { Sample } from '../model/index.js';
import { makeTempDir } from './helpers/service.js';

const MIN = 60_000;
// 2026-11-30, UTC: the peak is 19:00–22:00.
const DAY0 = Date.UTC(2026, 10, 30);
const at = (hour: number, minute = 0) => DAY0 + hour * 3_600_000 + minute * MIN;

const inventory = CellInventory.of([
  { id: 'A-1', site: 'A', region: 'R1', lat: 31, lon: 121, neighbours: [] },
  { id: 'B-1', site: 'B', region: 'R1', lat: 31, lon: 121, neighbours: [] },
  { id: 'C-1', site: 'C', region: 'R2', lat: 31, lon: 121, neighbours: [] },
]);

/**
 * Counters fine everywhere (15-min samples, 30 users, 20 Mbit/s) from 18:00 to 23:00. Probes every
 * 5 min: on A-1 three of four tests fail (a DNS or core problem the cell counters cannot see), on B-1
 * every test passes, on X-9 (no inventory, no counters) every test passes; C-1 has no probe.
 */
function day(): Sample[] {
  const out: Sample[] = [];
  for (let m = 18 * 60 + 15; m <= 23 * 60; m += 15)
    for (const cell of ['A-1', 'B-1', 'C-1'])
      out.push({ cell, ts: at(0, m), source: 'snmp', intervalS: 900, dlMbps: 20, activeUsers: 30, available: true });
  let k = 0;
  for (let m = 18 * 60 + 5; m <= 23 * 60; m += 5, k++) {
    const inPeak = m >= 19 * 60 && m < 22 * 60;
    out.push({ cell: 'A-1', ts: at(0, m), source: 'probe', available: true, dlMbps: inPeak && k % 4 !== 0 ? 0 : 30 });
    out.push({ cell: 'B-1', ts: at(0, m), source: 'probe', available: true, latencyMs: 40 });
    out.push({ cell: 'X-9', ts: at(0, m), source: 'probe', available: true, latencyMs: 35 });
  }
  return out.sort((a, b) => a.ts - b.ts);
}

const settings = settingsWith({ target: { minUsers: 1, minProbeTests: 10 } });
const byKey = (rs: TargetResult[]) => new Map(rs.map((r) => [`${r.scope}:${r.id}`, r]));
/** Everything the detector says about the day, after the day is over (a sample the next morning). */
function run(samples: Sample[]): Map<string, TargetResult> {
  const d = new Detector(settings, { inventory });
  d.addSamples(samples);
  d.addSamples([{ cell: 'C-1', ts: at(26), source: 'snmp', intervalS: 900, dlMbps: 20, activeUsers: 30 }]);
  return byKey(d.targets('2026-11-30'));
}

void t.test('the probe ratio beside the counter ratio, and their disagreement', async (t) => {
  const r = run(day());
  // Peak 19:00–22:00 holds the tests stamped 19:00 … 21:55: 36 per probe.
  const cases: { spec: string; key: string; want: Record<string, unknown> }[] = [
    {
      spec: 'A-1: counters meet the goal, 3 of 4 probe tests fail — a disagreement',
      key: 'cell:A-1',
      want: {
        status: 'met',
        probes: { tests: 36, good: 9, ratio: 0.25, status: 'missed', cells: 1 },
        disagreement: true,
      },
    },
    {
      spec: 'B-1: both meet the goal',
      key: 'cell:B-1',
      want: { status: 'met', probes: { tests: 36, good: 36, ratio: 1, status: 'met' }, disagreement: false },
    },
    {
      spec: 'R1: the region sums its cells’ tests (45 of 72 good) — counters met, probes missed',
      key: 'region:R1',
      want: {
        status: 'met',
        probes: { tests: 72, good: 45, ratio: 0.625, status: 'missed', cells: 2 },
        disagreement: true,
      },
    },
    {
      spec: 'network: every probed cell, the uninventoried X-9 too (81 of 108)',
      key: 'network:network',
      want: {
        status: 'met',
        probes: { tests: 108, good: 81, ratio: 0.75, status: 'missed', cells: 3 },
        disagreement: true,
      },
    },
    {
      spec: 'X-9: a probe-only cell keeps its probe ratio; its counters are unknown',
      key: 'cell:X-9',
      want: {
        ratio: null,
        status: 'insufficient-data',
        probes: { tests: 36, ratio: 1, status: 'met' },
        disagreement: false,
      },
    },
  ];
  for (const c of cases) t.match(r.get(c.key), c.want, c.spec);
  t.equal(r.get('cell:C-1')?.probes, undefined, 'C-1: no probe, no probe figures');
  t.equal(r.get('region:R2')?.probes, undefined, 'R2: no probe in the region');
  t.equal(r.get('network:network')?.cells, 3, 'the probe-only cell is not counted in the network’s counter figures');
  const a = r.get('cell:A-1')!.probes!;
  t.ok(
    a.interval![0] < 0.25 && a.interval![1] > 0.25 && a.interval![1] < 0.95,
    `a Wilson interval over 36 tests (${JSON.stringify(a.interval)})`,
  );
});

void t.test('too few tests: insufficient data, never a disagreement', async (t) => {
  const few = day().filter((s) => s.source !== 'probe' || s.ts < at(19, 30));
  const r = run(few);
  t.match(r.get('cell:A-1'), { status: 'met', probes: { tests: 6, status: 'insufficient-data' }, disagreement: false });
});

void t.test('the same figures in any arrival order and across a snapshot', async (t) => {
  const samples = day();
  const want = run(samples);
  // Deterministic shuffle within the lateness (2 h): blocks of an hour, reversed inside.
  const shuffled: Sample[] = [];
  for (let h = 18; h <= 23; h++) shuffled.push(...samples.filter((s) => s.ts > at(h) && s.ts <= at(h + 1)).reverse());
  t.same(run(shuffled), want, 'reversed within each hour');
  const d = new Detector(settings, { inventory });
  const half = samples.findIndex((s) => s.ts > at(20, 30));
  d.addSamples(samples.slice(0, half));
  const restored = Detector.restore(settings, { inventory }, JSON.parse(JSON.stringify(d.snapshot())));
  restored.addSamples(samples.slice(half));
  restored.addSamples([{ cell: 'C-1', ts: at(26), source: 'snmp', intervalS: 900, dlMbps: 20, activeUsers: 30 }]);
  t.same(byKey(restored.targets('2026-11-30')), want, 'snapshot at 20:30, restored, fed the rest');
});

void t.test('GET /api/v1/targets shows both ratios for pushed samples', async (t) => {
  const dir = await makeTempDir('cellwatch-probe-targets-');
  const cfg = parseConfig(
    { http: { listen: '127.0.0.1:0' }, dataDir: join(dir, 'data'), target: { minUsers: 1 } },
    { env: {} },
  );
  const scheduler = new ManualScheduler(new ManualClock(at(23, 30)));
  const d = new Daemon(cfg, { scheduler, log: pino({ level: 'silent' }), registry: new Registry() });
  await d.start();
  t.teardown(() => d.stop());
  const samples = day().filter((s) => s.cell !== 'X-9');
  for (let i = 0; i < samples.length; i += 100) {
    const r = await fetch(`${d.url}/api/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(samples.slice(i, i + 100)),
    });
    t.equal(r.status, 202);
  }
  const get = async (q: string) =>
    (await (await fetch(`${d.url}/api/v1/targets?day=2026-11-30${q}`)).json()) as { results: TargetResult[] };
  const net = await get('');
  t.match(net.results, [
    { scope: 'network', status: 'met', probes: { tests: 72, good: 45, status: 'missed' }, disagreement: true },
  ]);
  const cells = await get('&scope=cell');
  t.match(
    cells.results.map((r) => [r.id, r.probes?.ratio ?? null, r.disagreement ?? null]),
    [
      ['A-1', 0.25, true],
      ['B-1', 1, false],
      ['C-1', null, null],
    ],
  );
  const probed = await get('&scope=cell&stream=probes');
  t.same(
    probed.results.map((r) => r.id),
    ['A-1', 'B-1'],
    'stream=probes keeps the results the probes measured',
  );
});

void t.test('the disagreement raises probe_disagreement for a region or the network, and clears', async (t) => {
  // As the day goes on (run() ends the day; the alert is about today, before it is final).
  const r = new Map([...run(day())].map(([k, v]) => [k, { ...v, final: false }]));
  const state = newRuleState();
  const inputs = targetInputs([r.get('network:network')!, r.get('region:R1')!, r.get('cell:A-1')!]);
  t.equal(inputs.length, 2, 'cells are not paged on');
  const updates = inputs.flatMap((i) => applyInput(state, i, DEFAULT_RULE_CONTEXT, at(21)));
  const raised = updates.filter((u) => u.kind === 'probe_disagreement' && u.active);
  t.match(
    raised.map((u) => (u.active ? u.spec : undefined)),
    [
      {
        severity: 'minor',
        labels: { alertname: 'probe_disagreement', scope: 'network' },
        summary: /^The network: counters say 100\.0% .* probes say 75\.0% of 108 tests passed \(goal 95/,
      },
      { labels: { scope: 'region', region: 'R1' }, summary: /^R1: .* probes say 62\.5% of 72 tests/ },
    ],
  );
  const agree = targetInputs([{ ...r.get('network:network')!, disagreement: false }]);
  t.match(
    applyInput(state, agree[0]!, DEFAULT_RULE_CONTEXT, at(21, 5)).filter((u) => u.kind === 'probe_disagreement'),
    [{ active: false, reason: 'counters and probes agree' }],
  );
  const final = targetInputs([{ ...r.get('region:R1')!, final: true }]);
  t.match(
    applyInput(state, final[0]!, DEFAULT_RULE_CONTEXT, at(26)).filter((u) => u.kind === 'probe_disagreement'),
    [{ active: false, reason: /closed/ }],
  );
});
