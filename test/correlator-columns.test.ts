/**
 * `SampleColumns.appendColumns` (how the rows a worker thread read from a file's second half join the
 * first half's): the joined columns are those of appending every sample in order — same rows, same
 * cell ids in order of first sight, columns present on one side only filled with "missing" on the
 * other — whether the columns are shared or not and whether the receiving side must grow.
 */
import t from 'tap';
import { SampleColumns } from '../correlator/index.js';
import type { Sample } from '../model/index.js';

const TS = Date.UTC(2026, 2, 2);

const s = (cell: string, k: number, extra: Partial<Sample> = {}): Sample => ({
  cell,
  ts: TS + k * 60_000,
  source: k % 3 ? 'snmp' : 'probe',
  ...extra,
});

interface Case {
  spec: string;
  first: Sample[];
  second: Sample[];
  capacity?: number;
}

const CASES: Case[] = [
  {
    spec: 'the same cells and fields on both sides',
    first: [s('A', 0, { dlMbps: 10, activeUsers: 3 }), s('B', 1, { dlMbps: 11, activeUsers: 4 })],
    second: [s('B', 2, { dlMbps: 12, activeUsers: 5 }), s('A', 3, { dlMbps: 13, activeUsers: 6 })],
  },
  {
    spec: 'new cells on the second side, interned after the first side’s',
    first: [s('B', 0, { dlMbps: 1 })],
    second: [s('C', 1, { dlMbps: 2 }), s('A', 2, { dlMbps: 3 }), s('B', 3, { dlMbps: 4 })],
  },
  {
    spec: 'a column only the second side has (interval, latency, availability)',
    first: [s('A', 0, { dlMbps: 1 }), s('A', 1)],
    second: [s('A', 2, { intervalS: 900, latencyMs: 20, available: false }), s('B', 3, { dlMbps: 2 })],
  },
  {
    spec: 'a column only the first side has',
    first: [s('A', 0, { rsrpDbm: -90, intervalS: 60 }), s('A', 1, { available: true })],
    second: [s('A', 2, { dlMbps: 5 }), s('A', 3)],
  },
  {
    spec: 'an empty second side',
    first: [s('A', 0, { dlMbps: 1 })],
    second: [],
  },
  {
    spec: 'an empty first side',
    first: [],
    second: [s('A', 0, { dlMbps: 1, ulVolumeMB: 2 })],
  },
  {
    spec: 'the receiving columns grow',
    first: Array.from({ length: 20 }, (_, k) => s(`C${k % 4}`, k, { dlMbps: k })),
    second: Array.from({ length: 40 }, (_, k) => s(`C${k % 6}`, 20 + k, { sinrDb: k, prbUtilPct: k % 100 })),
    capacity: 16,
  },
];

const rows = (c: SampleColumns) => Array.from({ length: c.length }, (_, i) => c.sample(i));

void t.test('appended columns are the columns of every sample appended in order', async (t) => {
  for (const c of CASES) {
    for (const shared of [false, true]) {
      const whole = SampleColumns.from([...c.first, ...c.second]);
      const a = new SampleColumns(c.capacity ?? 16, shared);
      for (const x of c.first) a.append(x);
      const b = new SampleColumns(16, shared);
      for (const x of c.second) b.append(x);
      a.appendColumns(shared ? SampleColumns.fromState(b.state()) : b);
      const how = `${c.spec}${shared ? ' (shared)' : ''}`;
      t.same(rows(a), rows(whole), `${how}: the same rows`);
      t.same(a.cellIds, whole.cellIds, `${how}: the same cell ids in the same order`);
      t.same(a.sortedByCell(), whole.sortedByCell(), `${how}: the same order by cell`);
    }
  }
  // The cases are what they say: every row holds what was appended, missing fields absent.
  const only = SampleColumns.from(CASES[2]!.first);
  only.appendColumns(SampleColumns.from(CASES[2]!.second));
  t.same(only.sample(1), { cell: 'A', ts: TS + 60_000, source: 'snmp' }, 'a row without the added columns');
  t.same(
    only.sample(2),
    { cell: 'A', ts: TS + 120_000, source: 'snmp', intervalS: 900, available: false, latencyMs: 20 },
    'a row of the second side keeps its own columns',
  );
});
