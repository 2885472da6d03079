/**
 * Old windows read back for late complaints: only the parts of the needed spans not read since the
 * correlator last dropped windows go to the store again (a month's import arrives in hundreds of batches).
 */
import t from 'tap';
import { uncovered } from '../daemon/complaints.js';

const cases: { spec: string; spans: [number, number][]; covered: [number, number][]; want: [number, number][] }[] = [
  { spec: 'nothing read yet: every span', spans: [[0, 10]], covered: [], want: [[0, 10]] },
  { spec: 'read in full: nothing', spans: [[2, 8]], covered: [[0, 10]], want: [] },
  { spec: 'the part before what was read', spans: [[0, 10]], covered: [[5, 20]], want: [[0, 5]] },
  { spec: 'the part after what was read', spans: [[0, 10]], covered: [[-5, 4]], want: [[4, 10]] },
  {
    spec: 'a hole between two reads',
    spans: [[0, 30]],
    covered: [
      [0, 10],
      [20, 30],
    ],
    want: [[10, 20]],
  },
  {
    spec: 'several spans against several reads, in order',
    spans: [
      [0, 10],
      [15, 40],
    ],
    covered: [
      [5, 17],
      [25, 30],
    ],
    want: [
      [0, 5],
      [17, 25],
      [30, 40],
    ],
  },
  {
    spec: 'reads far away change nothing',
    spans: [[100, 110]],
    covered: [
      [0, 10],
      [200, 300],
    ],
    want: [[100, 110]],
  },
];

for (const c of cases)
  void t.test(c.spec, async (t) => {
    t.same(uncovered(c.spans, c.covered), c.want);
  });
