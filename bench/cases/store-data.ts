/**
 * Shared data for the store benchmarks (this file defines no cases of its own).
 */
import { pino } from 'pino';
import type { Point } from '../../store/index.js';

export const silent = pino({ level: 'silent' });
export { HOUR_MS } from '../../store/reading.js';

/**
 * `n` cell_kpi points over `series` cells with six float fields, one round of all cells per minute,
 * ending about now (InfluxDB refuses points older than the retention policy).
 */
export function benchPoints(n: number, series = 5000, end = Math.floor(Date.now() / 60_000) * 60_000): Point[] {
  const rounds = Math.ceil(n / series);
  const start = end - rounds * 60_000;
  const out = new Array<Point>(n);
  for (let i = 0; i < n; i++) {
    const c = i % series;
    const round = Math.floor(i / series);
    out[i] = {
      measurement: 'cell_kpi',
      tags: {
        cell: `CELL-${c.toString().padStart(5, '0')}`,
        region: `R${c % 8}`,
        site: `S${Math.floor(c / 3)}`,
        source: 'snmp',
      },
      fields: {
        dlMbps: 5 + ((i * 7) % 500) / 10,
        ulMbps: 1 + (i % 90) / 10,
        latencyMs: 20 + (i % 60),
        prbUtilPct: (i * 13) % 100,
        activeUsers: 3 + (i % 40),
        available: i % 97 === 0 ? 0 : 1,
      },
      ts: start + round * 60_000,
    };
  }
  return out;
}

/** Exports in chunks with a bounded number outstanding, as collectors do; resolves when all are acknowledged. */
export async function exportAll(
  exp: (points: Point[]) => Promise<void>,
  points: Point[],
  chunk = 5000,
  outstanding = 4,
): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < points.length; i += chunk) {
    pending.push(exp(points.slice(i, i + chunk)));
    if (pending.length >= outstanding) await pending.shift();
  }
  await Promise.all(pending);
}
