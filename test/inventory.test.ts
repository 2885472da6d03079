import t from 'tap';
import { CellInventory, distanceKm, parseInventory } from '../config/inventory.js';
import type { Cell } from '../model/index.js';

const cell = (id: string, site: string, region: string, lat: number, lon: number, extra: Partial<Cell> = {}): Cell => ({
  id,
  site,
  region,
  lat,
  lon,
  neighbours: [],
  ...extra,
});

// Three sites on a line of latitude, ~1 km apart (at 31° N one degree of longitude is ~95.3 km).
const cells = [
  cell('A-2', 'A', 'R1', 31, 121, { snmpIndex: 2, neighbours: ['A-1', 'B-1', 'GHOST'] }),
  cell('A-1', 'A', 'R1', 31, 121, { snmpIndex: 1 }),
  cell('B-1', 'B', 'R1', 31, 121.0105),
  cell('C-1', 'C', 'R2', 31, 121.021),
  cell('D-1', 'D', 'R2', 31, 121.2),
];
const inv = CellInventory.of(cells);

void t.test('lookups by id, site, region and neighbours', async (t) => {
  const cases: [string, unknown, unknown][] = [
    ['size counts every cell', inv.size, 5],
    ['cells are sorted by id', inv.cells.map((c) => c.id), ['A-1', 'A-2', 'B-1', 'C-1', 'D-1']],
    ['a site lists its cells in snmpIndex order', inv.cellsOfSite('A').map((c) => c.id), ['A-1', 'A-2']],
    ['an unknown site has no cells', inv.cellsOfSite('Z').length, 0],
    ['a site knows its region', inv.regionOfSite('C'), 'R2'],
    [
      'regions and sites are sorted',
      [inv.regions, inv.sites],
      [
        ['R1', 'R2'],
        ['A', 'B', 'C', 'D'],
      ],
    ],
    ['neighbours leave unknown ids out', inv.neighbours('A-2').map((c) => c.id), ['A-1', 'B-1']],
    ['an unknown cell has no neighbours', inv.neighbours('nope').length, 0],
    ['has() and cell() agree', [inv.has('B-1'), inv.cell('B-1')?.site, inv.has('x')], [true, 'B', false]],
  ];
  for (const [spec, got, want] of cases) t.same(got, want, spec);
});

void t.test('cells within a radius, nearest first, through the spatial index', async (t) => {
  const near = inv.within(31, 121, 1.5);
  t.same(
    near.map((n) => n.cell.id),
    ['A-1', 'A-2', 'B-1'],
    'both cells of the site at the point, then the site 1 km away; 2 km is outside 1.5 km',
  );
  t.ok(Math.abs(near[2]!.km - 1.0) < 0.02, `B is ~1 km away (${near[2]!.km.toFixed(3)})`);
  t.same(
    inv.within(31, 121, 2.1).map((n) => n.cell.id),
    ['A-1', 'A-2', 'B-1', 'C-1'],
    'a wider radius reaches the third site',
  );
  t.same(
    inv.within(31, 121, 0).map((n) => n.cell.id),
    ['A-1', 'A-2'],
    'radius 0 finds what sits on the point',
  );
  t.same(CellInventory.empty.within(31, 121, 10), [], 'an empty inventory finds nothing');
  t.ok(Math.abs(distanceKm(31, 121, 31, 121.2) - 19.06) < 0.1, 'distance matches the haversine figure');
});

void t.test('azimuth is an optional inventory column, validated', async (t) => {
  const csv = 'id,site,region,lat,lon,neighbours,tech,snmpIndex,azimuth\nX-1,X,R,1,2,,,1,120\nX-2,X,R,1,2,,,2,400\n';
  const { cells: parsed, problems } = parseInventory(csv, 'inv.csv');
  t.equal(parsed[0]?.azimuth, 120);
  t.same(problems, ['inv.csv:3: azimuth: expected degrees in [0, 360), got "400"']);
});
