import type { BenchCase, BenchRow } from '../index.js';
import { SimNetwork } from '../../sim/index.js';
import {
  detectorWindows,
  measure,
  simulate,
  type AccuracyFigures,
  type Simulation,
} from '../../test/helpers/complaints-sim.js';

/**
 * Complaint matching against the simulator's ground truth over a simulated month (80 sites, the
 * seeded incident schedule and its noise complaints), with two window sources:
 * - perfect: one window per affected cell spanning each incident (what a flawless detector would
 *   report) — the correlator's own accuracy;
 * - detector: the windows the detector finds in the simulator's samples (every cell and backhaul link
 *   polled every 5 minutes, after two weeks of 15-minute history for the baselines), through
 *   analyzeDetailed as `cellwatch analyze` runs it — the end-to-end figure. It also finds what load
 *   alone degrades, which no incident list holds.
 * Precision and recall of "explained" and hot-spot precision, each in every arrival order: the figures
 * must not depend on whether complaints come before, after or interleaved with their windows.
 */
const START = Date.parse('2026-03-02T00:00:00+08:00');
const DAY = 86_400_000;
const HISTORY_DAYS = 14;
const STEP_MIN = 5;

function runs(input: Parameters<typeof measure>[0], sim: Simulation): { live: AccuracyFigures; same: boolean } {
  const all = (['windows-first', 'complaints-first', 'live'] as const).map((o) => measure(input, o, sim));
  const same = all.every(
    (r) =>
      r.truePositive === all[0]!.truePositive &&
      r.falsePositive === all[0]!.falsePositive &&
      r.hotspots === all[0]!.hotspots,
  );
  return { live: all[2]!, same };
}

export const cases: BenchCase[] = [
  {
    name: 'complaints: accuracy against the simulator',
    async run(ctx) {
      const days = ctx.quick ? 10 : 30;
      const net = SimNetwork.create({ seed: 42, regions: 4, sites: 80, start: START, timezone: 'Asia/Shanghai' });
      // Complaints from after the history and the 72 h their windows may lie before them.
      const from = START + (HISTORY_DAYS + 3) * DAY;
      const input = { net, from, to: from + days * DAY };
      const perfect = simulate(input);
      await Promise.resolve();
      const t0 = performance.now();
      const detected = simulate({
        ...input,
        windows: detectorWindows({
          stepMin: STEP_MIN,
          historyDays: HISTORY_DAYS,
          historyStepMin: 15,
          timezone: 'Asia/Shanghai',
        }),
      });
      const detectS = (performance.now() - t0) / 1000;
      await Promise.resolve();
      const rows: BenchRow[] = [];
      for (const [label, sim] of [
        ['perfect windows', perfect],
        ['detector windows', detected],
      ] as const) {
        const { live, same } = runs(input, sim);
        ctx.log(
          `complaints-accuracy (${label}): precision ${live.precision.toFixed(3)}, recall ${live.recall.toFixed(3)} ` +
            `(TP ${live.truePositive}, FP ${live.falsePositive}, FN ${live.falseNegative}, TN ${live.trueNegative}), ` +
            `${live.hotspots} hot spots (precision ${live.hotspotPrecision.toFixed(2)}, ${live.silent} silent), ` +
            `orders ${same ? 'identical' : 'DIFFER'}`,
        );
        const source =
          sim === perfect
            ? `${sim.windows.length} windows built from the incidents`
            : `${sim.windows.length} windows found by the detector in ${STEP_MIN}-min samples (${detectS.toFixed(0)} s)`;
        const note = `${sim.complaints.length} network complaints, ${days} days, ${source}; windows-first / complaints-first / live ${same ? 'identical' : 'DIFFER'}`;
        rows.push(
          {
            case: `complaints: "explained" precision vs simulator truth, ${label}`,
            metric: 'precision',
            ours: live.precision,
            higherIsBetter: true,
            target: '≥ 0.9',
            met: live.precision >= 0.9 && same,
            note,
          },
          {
            case: `complaints: "explained" recall vs simulator truth, ${label}`,
            metric: 'recall',
            ours: live.recall,
            higherIsBetter: true,
            target: '≥ 0.9',
            met: live.recall >= 0.9 && same,
            note: `TP ${live.truePositive}, FP ${live.falsePositive}, FN ${live.falseNegative}, TN ${live.trueNegative}`,
          },
          {
            case: `complaints: hot-spot precision vs simulator truth, ${label}`,
            metric: 'precision',
            ours: live.hotspotPrecision,
            higherIsBetter: true,
            note: `${live.hotspots} hot spots, ${live.silent} silent degradations (the simulator has no silent failures: those are chance clusters of background complaints); live order peaked at ${live.peakHeld} complaints held`,
          },
        );
      }
      return rows;
    },
  },
];
