/**
 * The benchmark page: one table of every case's rows, their notes, and when each case ran under what
 * load. Pure: bench/run.ts measures and stores, this only renders.
 */
import { type BenchRow, ratio } from './index.js';

/** One case's latest run, as docs/benchmarks.json keeps it. */
export interface CaseRun {
  ranAt: string;
  quick: boolean;
  /** 1-minute load average before and after the case: what the machine was doing besides. */
  load: [number, number];
  rows: BenchRow[];
}

export interface BenchRecord {
  machine: string;
  cases: Record<string, CaseRun>;
  /** Cases that could not run in their latest attempt, and why. */
  notRun: Record<string, string>;
}

const fmt = (n: number | undefined): string => {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
};

export function renderTable(rows: BenchRow[]): string {
  const header = ['case', 'metric', 'cellwatch', 'baseline', 'baseline value', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => {
    const q = ratio(r);
    return [
      r.case,
      r.metric,
      fmt(r.ours),
      r.baseline ?? '–',
      fmt(r.baselineValue),
      q === undefined ? '–' : `${q.toFixed(2)}×`,
      r.target ?? '–',
      r.met === undefined ? '–' : r.met ? 'yes' : 'NO',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

export function renderPage(record: BenchRecord, order: readonly string[]): string {
  const names = order.filter((n) => record.cases[n]);
  const runs = names.map((n) => record.cases[n]!);
  const rows = runs.flatMap((r) => r.rows);
  const rowNotes = rows.filter((r) => r.note).map((r) => `- ${r.case} — ${r.note}`);
  const when = names.map((n) => {
    const r = record.cases[n]!;
    return `| ${n} | ${r.ranAt.replace('T', ' ').slice(0, 16)} UTC${r.quick ? ' (quick sizes)' : ''} | ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)} |`;
  });
  const notRun = Object.entries(record.notRun).map(([n, why]) => `- ${n}: ${why}`);
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (do not edit by hand). Every row measures cellwatch and its baseline in the same run,',
    'on the same machine; **ratio** is cellwatch ÷ baseline, so read it against the target (≤ for times, ≥ for rates).',
    '',
    `Machine: ${record.machine}. Each case runs in its own process; when it ran and the load average around it are`,
    'listed below the table (`npm run bench -- --only <case>` re-runs some cases and replaces only their rows).',
    '',
    renderTable(rows),
    '',
    ...(rowNotes.length > 0 ? ['Notes:', '', ...rowNotes, ''] : []),
    '| case | ran | load average (before → after) |',
    '| --- | --- | --- |',
    ...when,
    '',
    ...(notRun.length > 0 ? ['Not run in their latest attempt:', '', ...notRun, ''] : []),
  ].join('\n');
}
