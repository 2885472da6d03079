/**
 * The benchmark page: rows in the cases' order, each case's run time and load beside it, cases that
 * did not run named with their reason, and the ratio read the way the targets phrase it.
 */
import t from 'tap';
import { type BenchRecord, renderPage, renderTable } from '../bench/page.js';

const row = (name: string, ours: number, baselineValue?: number) => ({
  case: name,
  metric: 'wall s',
  ours,
  ...(baselineValue !== undefined ? { baseline: 'tool', baselineValue } : {}),
  higherIsBetter: false,
  target: '≤ 1.0× tool',
  met: baselineValue !== undefined && ours <= baselineValue,
});

const record: BenchRecord = {
  machine: 'Node v20 · 2 × test CPU · 8 GiB',
  cases: {
    'b case': { ranAt: '2026-12-06T14:00:00.000Z', quick: false, load: [0.5, 1.25], rows: [row('b row', 2, 4)] },
    'a case': {
      ranAt: '2026-12-06T15:30:00.000Z',
      quick: true,
      load: [3, 4],
      rows: [{ ...row('a row', 1500), note: 'measured under load' }],
    },
  },
  notRun: { 'c case': 'failed: snmpd did not answer' },
};

void t.test(
  'the table: ratio is ours ÷ baseline, a missing baseline shows a dash, big figures get separators',
  async (t) => {
    const table = renderTable([row('x', 0.252, 0.52), row('y', 12_345)]).split('\n');
    t.equal(table.length, 4, 'a header, a rule and one line per row');
    t.match(table[2]!, /\| x +\| wall s +\| 0\.252 +\| tool +\| 0\.520 +\| 0\.48× +\| ≤ 1\.0× tool +\| yes +\|/);
    t.match(table[3]!, /\| y +\| wall s +\| 12,345 +\| – +\| – +\| – +\|/);
  },
);

void t.test('the page: rows follow the cases order, each case says when it ran and under what load', async (t) => {
  const page = renderPage(record, ['a case', 'b case', 'c case']);
  t.ok(page.indexOf('| a row') < page.indexOf('| b row'), 'the given case order, not the record order');
  t.match(page, '| a case | 2026-12-06 15:30 UTC (quick sizes) | 3.0 → 4.0 |');
  t.match(page, '| b case | 2026-12-06 14:00 UTC | 0.5 → 1.3 |');
  t.match(page, '- a row — measured under load', 'row notes are listed');
  t.match(page, '- c case: failed: snmpd did not answer', 'a case that did not run says why');
  t.notMatch(page, '| c case |', 'a case that never ran has no run line');
  t.match(page, 'Machine: Node v20 · 2 × test CPU · 8 GiB');
});

void t.test('a case missing from the order (removed from bench/cases) is left off the page', async (t) => {
  const page = renderPage(record, ['b case']);
  t.notMatch(page, 'a row');
  t.match(page, '| b row');
});
