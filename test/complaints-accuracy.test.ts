/**
 * Complaint matching against the simulator's ground truth on a small network (80 sites, two weeks,
 * a seed the weights were not tuned on): precision and recall of "explained" ≥ 0.9 in every arrival
 * order, the same figures and the same correlations whether complaints come before, after or
 * interleaved with their windows, and bounded memory in the live order. Then end to end: the same
 * with the windows the detector finds in the simulator's samples instead of windows built from the
 * incidents. The month-long figures are in `npm run bench` (bench/cases/complaints-accuracy.ts).
 */
import t from 'tap';
import { SimNetwork } from '../sim/index.js';
import { detectorWindows, measure, simulate, type AccuracyFigures } from './helpers/complaints-sim.js';

const START = Date.parse('2026-03-02T00:00:00+08:00');
const DAY = 86_400_000;

void t.test('explained: precision and recall against the ground truth, in any arrival order', async (t) => {
  const net = SimNetwork.create({ seed: 3, regions: 4, sites: 80, start: START, timezone: 'Asia/Shanghai' });
  const input = { net, from: START + DAY, to: START + 15 * DAY };
  const sim = simulate(input);
  t.ok(sim.complaints.length > 200, `${sim.complaints.length} network complaints`);
  t.ok(sim.windows.length > 50, `${sim.windows.length} windows from the incidents`);
  const runs: AccuracyFigures[] = (['windows-first', 'complaints-first', 'live'] as const).map((o) =>
    measure(input, o, sim),
  );
  for (const r of runs) {
    t.ok(r.precision >= 0.9, `${r.order}: precision ${r.precision.toFixed(3)} ≥ 0.9`);
    t.ok(r.recall >= 0.9, `${r.order}: recall ${r.recall.toFixed(3)} ≥ 0.9`);
    t.ok(r.trueNegative > 0 && r.falseNegative + r.truePositive > 0, `${r.order}: both classes present`);
  }
  const [first, ...rest] = runs;
  const figures = (r: AccuracyFigures) => [
    r.truePositive,
    r.falsePositive,
    r.falseNegative,
    r.trueNegative,
    r.hotspots,
  ];
  for (const r of rest) {
    t.same(figures(r), figures(first!), `${r.order}: the same figures as ${first!.order}`);
    t.strictSame(
      [...r.explained].sort(),
      [...first!.explained].sort(),
      `${r.order}: the same correlation for every complaint`,
    );
  }
  const live = runs[2]!;
  t.ok(
    live.hotspots > 5 && live.hotspotPrecision >= 0.8,
    `hot spots: ${live.hotspots}, precision ${live.hotspotPrecision.toFixed(2)}`,
  );
  t.ok(
    live.peakHeld > 0 && live.peakHeld < sim.complaints.length / 3,
    `live: at most ${live.peakHeld} complaints held at once`,
  );
});

void t.test("end to end: the detector's windows from the simulator's samples explain the complaints", async (t) => {
  // 40 sites, a week of 15-min history for the baselines, then 12 days of complaints with every cell
  // and backhaul link polled every 5 minutes (from 72 h before the first complaint): about 10 CPU s.
  const net = SimNetwork.create({ seed: 3, regions: 2, sites: 40, start: START, timezone: 'Asia/Shanghai' });
  const from = START + 10 * DAY;
  const input = { net, from, to: from + 12 * DAY };
  const sim = simulate({
    ...input,
    windows: detectorWindows({ stepMin: 5, historyDays: 7, historyStepMin: 15, timezone: 'Asia/Shanghai' }),
  });
  const incidents = net.groundTruth(from - 3 * DAY, input.to).incidents.length;
  t.ok(sim.complaints.length > 150, `${sim.complaints.length} network complaints`);
  t.ok(
    sim.windows.length > incidents,
    `${sim.windows.length} windows from the detector (${incidents} incidents: it also finds what load degrades)`,
  );
  const live = measure(input, 'live', sim);
  const first = measure(input, 'windows-first', sim);
  t.comment(
    `detector windows: precision ${live.precision.toFixed(3)}, recall ${live.recall.toFixed(3)} ` +
      `(TP ${live.truePositive}, FP ${live.falsePositive}, FN ${live.falseNegative}, TN ${live.trueNegative}); ` +
      `${live.hotspots} hot spots, precision ${live.hotspotPrecision.toFixed(2)}`,
  );
  // Honest bounds: this seed gives 0.944 / 0.995 (other seeds 0.87–0.96 / 0.975–1; see the note of
  // issue 9b for where the false explanations come from).
  t.ok(live.precision >= 0.9, `precision ${live.precision.toFixed(3)} ≥ 0.9`);
  t.ok(live.recall >= 0.95, `recall ${live.recall.toFixed(3)} ≥ 0.95`);
  t.ok(live.trueNegative > 0 && live.falseNegative + live.truePositive > 0, 'both classes present');
  t.ok(
    live.hotspots > 5 && live.hotspotPrecision >= 0.8,
    `hot spots: ${live.hotspots}, precision ${live.hotspotPrecision.toFixed(2)}`,
  );
  t.strictSame(
    [...live.explained].sort(),
    [...first.explained].sort(),
    'the same correlation for every complaint, live or windows first',
  );
});
