/**
 * Detection benchmarks (issue 8):
 * - `cellwatch analyze` over 30 days × 2,000 cells × 15-min samples (5.76 M, JSONL): parse-only
 *   (read + JSON.parse into columns) against parse + analyze, samples/s, ratio and peak RSS;
 * - the live Detector at 2,000 cells every 60 s over a simulated week: CPU per sample and heap after
 *   GC per simulated day (flat);
 * - the simulator through analyze: window recall, cause accuracy, precision (15-min is too coarse for
 *   the simulator's 10-min incidents, so the month runs on 5-minute samples).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { analyze, Detector, settingsWith } from '../../correlator/index.js';
import type { Sample } from '../../model/index.js';
import { simAccuracy } from '../../test/helpers/detect-accuracy.js';
import type { BenchCase, BenchRow } from '../index.js';
import {
  BENCH_START,
  BENCH_TZ,
  benchCells,
  benchFile,
  benchInventory,
  benchSample,
  readSamplesJsonl,
} from './detect-data.js';

const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export interface AnalyzeFigures {
  samples: number;
  parseS: number;
  totalS: number;
  rssMiB: number;
  windows: number;
}

/** Parse-only, then parse + analyze, of the cached file. */
export function timeAnalyze(cells: number, days: number, stepMin: number, log: (m: string) => void): AnalyzeFigures {
  const file = benchFile(cells, days, stepMin, log);
  const settings = settingsWith({ timezone: BENCH_TZ });
  const inventory = benchInventory(cells);
  let t = performance.now();
  const parsed = readSamplesJsonl(file);
  const parseS = (performance.now() - t) / 1000;
  const samples = parsed.columns.length;
  log(`parse-only: ${samples} samples in ${parseS.toFixed(1)} s`);
  parsed.columns.length = 0;
  gc();
  t = performance.now();
  const { columns } = readSamplesJsonl(file);
  const report = analyze({ samples: columns, inventory, settings });
  const totalS = (performance.now() - t) / 1000;
  log(`parse + analyze: ${totalS.toFixed(1)} s, ${report.windows.length} windows, ${report.targets.length} targets`);
  return { samples, parseS, totalS, rssMiB: process.resourceUsage().maxRSS / 1024, windows: report.windows.length };
}

export interface LiveFigures {
  usPerSample: number;
  heapMiBByDay: number[];
  samples: number;
}

/** The live detector fed every cell each minute for `days` simulated days, batch per minute. */
export function timeLive(cells: number, days: number, log: (m: string) => void): LiveFigures {
  const inv = benchCells(cells);
  const det = new Detector(settingsWith({ timezone: BENCH_TZ }), { inventory: benchInventory(cells) });
  const heap: number[] = [];
  let cpu = 0;
  let n = 0;
  const batch: Sample[] = new Array<Sample>(cells);
  for (let d = 0; d < days; d++) {
    for (let m = 1; m <= 1440; m++) {
      const ts = BENCH_START + d * 86_400_000 + m * 60_000;
      for (let i = 0; i < cells; i++) batch[i] = benchSample(i, inv[i]!.id, ts, 1);
      const c0 = cpuS();
      det.addSamples(batch);
      if (m % 60 === 0) det.takeChangedDays();
      cpu += cpuS() - c0;
      n += cells;
    }
    gc();
    heap.push(process.memoryUsage().heapUsed / 2 ** 20);
    log(`live: day ${d + 1}, ${((cpu / n) * 1e6).toFixed(2)} µs/sample, heap ${heap.at(-1)!.toFixed(0)} MiB`);
  }
  return { usPerSample: (cpu / n) * 1e6, heapMiBByDay: heap, samples: n };
}

export const cases: BenchCase[] = [
  {
    name: 'detect: analyze 30 days × 2,000 cells × 15-min samples',
    async run(ctx) {
      await Promise.resolve();
      const cells = ctx.quick ? 400 : 2000;
      const f = timeAnalyze(cells, 30, 15, (m) => ctx.log(m));
      const rate = f.samples / f.totalS;
      const note = `${f.samples.toLocaleString('en-US')} samples, ${cells} cells, ${f.windows} windows`;
      return [
        {
          case: `detect: analyze ${note}`,
          metric: 'samples/s end to end (parse + analyze)',
          ours: rate,
          baseline: 'parse-only',
          baselineValue: f.samples / f.parseS,
          higherIsBetter: true,
          target: '≥ 200,000 samples/s',
          met: rate >= 200_000,
        },
        {
          case: 'detect: analyze vs parse-only (same file, same run)',
          metric: 'wall time ratio',
          ours: f.totalS,
          baseline: 'parse-only s',
          baselineValue: f.parseS,
          higherIsBetter: false,
          target: '≤ 2.0× parse-only',
          met: f.totalS <= 2 * f.parseS,
        },
        {
          case: 'detect: analyze peak RSS',
          metric: 'MiB',
          ours: f.rssMiB,
          higherIsBetter: false,
          target: '≤ 1,536 MiB',
          met: f.rssMiB <= 1536,
        },
      ];
    },
  },
  {
    name: 'detect: live detector, 2,000 cells every 60 s for a week',
    async run(ctx) {
      await Promise.resolve();
      const f = timeLive(ctx.quick ? 500 : 2000, ctx.quick ? 2 : 7, (m) => ctx.log(m));
      const first = f.heapMiBByDay[0]!;
      const last = f.heapMiBByDay.at(-1)!;
      return [
        {
          case: 'detect: live detector CPU per sample (2,000 cells / 60 s)',
          metric: 'µs/sample',
          ours: f.usPerSample,
          higherIsBetter: false,
          target: '≤ 5 µs (≤ 1% of a core at 2,000 samples/min)',
          met: f.usPerSample <= 5,
          note: `CPU share at 2,000 samples/min: ${(((f.usPerSample * 2000) / 60e6) * 100).toFixed(3)}%`,
        },
        {
          case: 'detect: live detector heap after GC, last day vs first day',
          metric: 'MiB',
          ours: last,
          baseline: 'after day 1',
          baselineValue: first,
          higherIsBetter: false,
          target: 'flat (≤ 1.1× day 1)',
          met: last <= 1.1 * first,
          note: `per day: ${f.heapMiBByDay.map((h) => h.toFixed(0)).join(', ')}`,
        },
      ];
    },
  },
  {
    name: 'detect: simulator accuracy over a month',
    async run(ctx) {
      await Promise.resolve();
      const r = simAccuracy({
        seed: 11,
        sites: ctx.quick ? 30 : 60,
        regions: 3,
        days: ctx.quick ? 7 : 28,
        historyWeeks: 3,
        stepMin: 5,
        sleeping: ctx.quick ? 4 : 12,
      });
      ctx.log(
        `accuracy: ${JSON.stringify({ ...r, strayWindows: r.strayWindows.length, missed: r.missed.length, wrongCause: r.wrongCause.length })}`,
      );
      const note = `${r.samples.toLocaleString('en-US')} samples at 5 min; ${r.windows} windows (${r.loadWindows} on load-degraded cells)`;
      const rows: BenchRow[] = [
        {
          case: 'detect: sim window recall',
          metric: 'share of incidents',
          ours: r.recall,
          higherIsBetter: true,
          target: '≥ 0.95',
          met: r.recall >= 0.95,
          note,
        },
        {
          case: 'detect: sim cause accuracy',
          metric: 'share of found incidents',
          ours: r.causeAccuracy,
          higherIsBetter: true,
          target: '≥ 0.85',
          met: r.causeAccuracy >= 0.85,
        },
        {
          case: 'detect: sim window precision',
          metric: 'share of windows on incidents',
          ours: r.precision,
          higherIsBetter: true,
          target: 'few windows without an incident',
          note: `counting load-degraded cells as right: ${r.precisionWithLoad.toFixed(3)}`,
        },
      ];
      return rows;
    },
  },
];
