import type { BenchCase } from '../index.js';
import { SimNetwork } from '../../sim/index.js';
import { measure, simulate, type AccuracyFigures } from '../../test/helpers/complaints-sim.js';

/**
 * Complaint matching against the simulator's ground truth over a simulated month (80 sites, the
 * seeded incident schedule and its noise complaints), with windows built from the incidents
 * themselves (test/helpers/complaints-sim.ts: the detection core's windows replace them after the
 * merge). Precision and recall of "explained" and hot-spot precision, in each arrival order: the
 * figures must not depend on whether complaints come before, after or interleaved with their windows.
 */
const START = Date.parse('2026-03-02T00:00:00+08:00');
const DAY = 86_400_000;

export const cases: BenchCase[] = [
  {
    name: 'complaints: accuracy against the simulator',
    async run(ctx) {
      const days = ctx.quick ? 10 : 30;
      const net = SimNetwork.create({ seed: 42, regions: 4, sites: 80, start: START, timezone: 'Asia/Shanghai' });
      const input = { net, from: START + DAY, to: START + (1 + days) * DAY };
      const sim = simulate(input);
      await Promise.resolve();
      const runs: AccuracyFigures[] = (['windows-first', 'complaints-first', 'live'] as const).map((o) =>
        measure(input, o, sim),
      );
      for (const r of runs)
        ctx.log(
          `complaints-accuracy: ${r.order}: precision ${r.precision.toFixed(3)}, recall ${r.recall.toFixed(3)}, ` +
            `${r.hotspots} hot spots (precision ${r.hotspotPrecision.toFixed(2)}, ${r.silent} silent)`,
        );
      const same = runs.every(
        (r) =>
          r.truePositive === runs[0]!.truePositive &&
          r.falsePositive === runs[0]!.falsePositive &&
          r.hotspots === runs[0]!.hotspots,
      );
      const live = runs[2]!;
      const note = `${sim.complaints.length} network complaints, ${sim.windows.length} windows, ${days} days; windows-first / complaints-first / live ${same ? 'identical' : 'DIFFER'}`;
      return [
        {
          case: 'complaints: "explained" precision vs simulator truth',
          metric: 'precision',
          ours: live.precision,
          higherIsBetter: true,
          target: '≥ 0.9',
          met: live.precision >= 0.9 && same,
          note,
        },
        {
          case: 'complaints: "explained" recall vs simulator truth',
          metric: 'recall',
          ours: live.recall,
          higherIsBetter: true,
          target: '≥ 0.9',
          met: live.recall >= 0.9 && same,
          note: `TP ${live.truePositive}, FP ${live.falsePositive}, FN ${live.falseNegative}, TN ${live.trueNegative}`,
        },
        {
          case: 'complaints: hot-spot precision vs simulator truth',
          metric: 'precision',
          ours: live.hotspotPrecision,
          higherIsBetter: true,
          note: `${live.hotspots} hot spots, ${live.silent} silent degradations (the simulator has no silent failures: those are chance clusters of background complaints); live order peaked at ${live.peakHeld} complaints held`,
        },
      ];
    },
  },
];
