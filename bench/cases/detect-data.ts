/**
 * Data for the detection benchmarks: a cheap synthetic network (a diurnal load curve, KPIs that
 * follow from load, a few incidents per cell and month) written once as JSONL under os.tmpdir().
 */
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CellInventory } from '../../config/inventory.js';
import type { Cell, Sample } from '../../model/index.js';

export const BENCH_TZ = 'Asia/Shanghai';
/** Monday 2026-03-02 00:00 in Shanghai. */
export const BENCH_START = Date.parse('2026-03-02T00:00:00+08:00');
const DAY = 86_400_000;

/** A stateless hash to [0, 1): noise that needs no generator state. */
function u(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x6b43a9b5, 0xc2b2ae35) ^ Math.imul(c, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export function benchCells(n: number): Cell[] {
  const cells: Cell[] = [];
  for (let i = 0; i < n; i++) {
    const site = `S${String(Math.floor(i / 3)).padStart(4, '0')}`;
    cells.push({
      id: `${site}-${(i % 3) + 1}`,
      site,
      region: `R${(Math.floor(i / 3) % 5) + 1}`,
      lat: 31 + u(i, 1, 1) * 0.5,
      lon: 121 + u(i, 2, 2) * 0.5,
      neighbours: [],
    });
  }
  return cells;
}

export function benchInventory(n: number): CellInventory {
  return CellInventory.of(benchCells(n));
}

/** Diurnal load relative to the evening peak, by local hour (Shanghai, UTC+8). */
const DIURNAL = [
  0.4, 0.28, 0.18, 0.12, 0.09, 0.1, 0.16, 0.3, 0.45, 0.5, 0.52, 0.55, 0.62, 0.6, 0.56, 0.56, 0.6, 0.68, 0.78, 0.88,
  0.97, 1, 0.9, 0.68,
];

type Kind = 'outage' | 'coverage' | 'interference' | 'congestion' | 'sleeping';
const KINDS: Kind[] = ['outage', 'coverage', 'interference', 'congestion', 'sleeping'];

/** One cell's sample at ts (the end of a `stepMin` interval), with its incidents. */
export function benchSample(cellIdx: number, cell: string, ts: number, stepMin: number): Sample {
  const intervalS = stepMin * 60;
  const localHour = Math.floor(((ts + 8 * 3_600_000) % DAY) / 3_600_000);
  const day = Math.floor((ts - BENCH_START) / DAY);
  const peakUsers = 8 + 24 * u(cellIdx, 3, 3);
  let users = peakUsers * DIURNAL[localHour]! * (0.9 + 0.2 * u(cellIdx, ts / 60000, 4));
  let rsrp = -85 - 15 * u(cellIdx, 5, 5) + (u(cellIdx, ts / 60000, 6) - 0.5) * 2;
  let sinr = 8 + 10 * u(cellIdx, 7, 7) + (u(cellIdx, ts / 60000, 8) - 0.5) * 2;
  let available = true;
  // About one incident per cell in 10 days, 30 min – 4 h, at any time of day.
  const incident = u(cellIdx, day, 9) < 0.1 ? KINDS[Math.floor(u(cellIdx, day, 10) * KINDS.length)]! : undefined;
  const incStart = BENCH_START + day * DAY + Math.floor(u(cellIdx, day, 11) * 20 * 60) * 60_000;
  const incEnd = incStart + (30 + Math.floor(u(cellIdx, day, 12) * 210)) * 60_000;
  const active = incident !== undefined && ts > incStart && ts - intervalS * 1000 < incEnd;
  let demandFactor = 1;
  if (active) {
    if (incident === 'outage') available = false;
    else if (incident === 'coverage') {
      rsrp -= 22;
      sinr -= 8;
    } else if (incident === 'interference') sinr = -3 - 4 * u(cellIdx, ts, 13);
    else if (incident === 'congestion') demandFactor = 3;
    else users *= 0.1;
  }
  if (!available) return { cell, ts, source: 'import', intervalS, available: false };
  users *= demandFactor;
  const eff = Math.min(4.4, 0.6 * Math.log2(1 + 10 ** (sinr / 10)));
  // Two LTE carriers' worth: a healthy network is not congested every evening (sim/README: 96–99% good at peak).
  const cap = 2 * 20 * 0.75 * 1.5 * eff;
  const rho = Math.min(0.99, (users * 2.5) / cap);
  const dl = 0.6 * cap * Math.max(1 - rho, 1 / Math.max(users, 1));
  const carried = Math.min(users * 2.5, 0.98 * cap);
  const r = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    cell,
    ts,
    source: 'import',
    intervalS,
    available: true,
    activeUsers: r(users, 2),
    dlMbps: r(dl, 3),
    ulMbps: r(dl / 8, 3),
    latencyMs: r(18 + (6 * rho) / (1 - rho) + Math.max(0, 3 - sinr) * 2.5, 1),
    rsrpDbm: r(rsrp, 2),
    sinrDb: r(sinr, 2),
    prbUtilPct: r(Math.min(100, 3 + 97 * (carried / cap)), 1),
    dlVolumeMB: r((carried * intervalS) / 8, 3),
    ulVolumeMB: r((carried * intervalS) / 80, 3),
  };
}

/** The cached JSONL file of `days` × `cells` × `stepMin` samples, in time order (as an export would be). */
export function benchFile(cells: number, days: number, stepMin: number, log: (m: string) => void): string {
  const file = join(tmpdir(), `cellwatch-bench-detect-v2-${cells}c-${days}d-${stepMin}m.jsonl`);
  if (existsSync(file) && statSync(file).size > 0) return file;
  log(`generating ${file} (once)…`);
  const inv = benchCells(cells);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  let buf = '';
  const end = BENCH_START + days * DAY;
  for (let ts = BENCH_START + stepMin * 60_000; ts <= end; ts += stepMin * 60_000) {
    for (let i = 0; i < inv.length; i++) {
      buf += JSON.stringify(benchSample(i, inv[i]!.id, ts, stepMin)) + '\n';
      if (buf.length > 4_000_000) {
        writeSync(fd, buf);
        buf = '';
      }
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  renameSync(tmp, file);
  return file;
}
