import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Cell, LinkSample, Sample } from '../model/index.js';
import type { Point } from '../store/index.js';
import { encodeLine, encodeLines, pointProblem } from '../store/lineprotocol.js';
import { linkPoint, pointLink, pointSample, samplePoint, schemaProblem } from '../store/schema.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'store-lineprotocol');

void t.test('line protocol: escaping and value types', (t) => {
  const cases: { spec: string; point: Point; line: string }[] = [
    {
      spec: 'plain point',
      point: { measurement: 'm', tags: { a: 'x' }, fields: { v: 1.5 }, ts: 1000 },
      line: 'm,a=x v=1.5 1000',
    },
    {
      spec: 'integral numbers carry no i suffix, so InfluxDB stores floats',
      point: { measurement: 'm', tags: {}, fields: { v: 3 }, ts: 1 },
      line: 'm v=3 1',
    },
    {
      spec: 'exponents are written as JS prints them (InfluxDB parses 1e+21)',
      point: { measurement: 'm', tags: {}, fields: { big: 1e21, small: 1e-7 }, ts: 1 },
      line: 'm big=1e+21,small=1e-7 1',
    },
    {
      spec: 'booleans t/f, strings quoted',
      point: { measurement: 'm', tags: {}, fields: { b: true, c: false, s: 'hi' }, ts: 2 },
      line: 'm b=t,c=f,s="hi" 2',
    },
    {
      spec: 'string field escapes quote and backslash',
      point: { measurement: 'm', tags: {}, fields: { s: 'say "a\\b"' }, ts: 2 },
      line: 'm s="say \\"a\\\\b\\"" 2',
    },
    {
      spec: 'measurement escapes comma and space (not =)',
      point: { measurement: 'my m,x=y', tags: {}, fields: { v: 1 }, ts: 3 },
      line: 'my\\ m\\,x=y v=1 3',
    },
    {
      spec: 'tag key/value and field key escape comma, equals, space',
      point: { measurement: 'm', tags: { 'k ey': 'v=a,b' }, fields: { 'f,1': 2 }, ts: 4 },
      line: 'm,k\\ ey=v\\=a\\,b f\\,1=2 4',
    },
    {
      spec: 'empty tag values are left out (line protocol has none)',
      point: { measurement: 'm', tags: { a: '', b: 'y' }, fields: { v: 1 }, ts: 5 },
      line: 'm,b=y v=1 5',
    },
    {
      spec: 'a backslash inside a tag value is kept literally',
      point: { measurement: 'm', tags: { a: 'x\\y' }, fields: { v: 1 }, ts: 6 },
      line: 'm,a=x\\y v=1 6',
    },
    {
      spec: 'negative and fractional values',
      point: { measurement: 'm', tags: {}, fields: { v: -110.25 }, ts: 7 },
      line: 'm v=-110.25 7',
    },
  ];
  for (const c of cases) t.equal(encodeLine(c.point), c.line, c.spec);
  t.equal(
    encodeLines(cases.slice(0, 2).map((c) => c.point)),
    'm,a=x v=1.5 1000\nm v=3 1\n',
    'a batch is newline-terminated lines',
  );
  // The series prefix is cached: the same tags again must still be escaped identically.
  t.equal(encodeLine(cases[6]!.point), cases[6]!.line, 'cached series key gives the same line');
  t.end();
});

void t.test('pointProblem: bad values get a reason before they reach a batch', (t) => {
  const ok: Point = { measurement: 'm', tags: { a: 'x' }, fields: { v: 1 }, ts: 1 };
  const cases: { spec: string; point: Point; reason?: RegExp }[] = [
    { spec: 'a valid point', point: ok },
    { spec: 'NaN', point: { ...ok, fields: { v: NaN } }, reason: /field v is NaN/ },
    { spec: 'Infinity', point: { ...ok, fields: { v: Infinity } }, reason: /not a finite number/ },
    { spec: 'no fields', point: { ...ok, fields: {} }, reason: /no fields/ },
    { spec: 'fractional timestamp', point: { ...ok, ts: 1.5 }, reason: /not an integer/ },
    { spec: 'empty measurement', point: { ...ok, measurement: '' }, reason: /measurement is empty/ },
    { spec: 'newline in a tag value', point: { ...ok, tags: { a: 'x\ny' } }, reason: /line break/ },
    {
      spec: 'tag value ending in a backslash (unparseable by InfluxDB)',
      point: { ...ok, tags: { a: 'x\\' } },
      reason: /ends with a backslash/,
    },
    { spec: 'null field', point: { ...ok, fields: { v: null as unknown as number } }, reason: /unsupported type null/ },
    { spec: 'empty tag value is allowed (left out)', point: { ...ok, tags: { a: '' } } },
  ];
  for (const c of cases) {
    const problem = pointProblem(c.point);
    if (c.reason) t.match(problem, c.reason, c.spec);
    else t.equal(problem, undefined, c.spec);
  }
  t.end();
});

const cell: Cell = { id: 'C1', site: 'S1', region: 'North', lat: 0, lon: 0, neighbours: [] };

void t.test('schema: samples and links as points, and back', (t) => {
  const full: Sample = {
    cell: 'C1',
    ts: 1_700_000_000_000,
    source: 'snmp',
    intervalS: 60,
    dlMbps: 12.5,
    ulMbps: 2,
    latencyMs: 30,
    rsrpDbm: -95,
    rsrqDb: -10.5,
    sinrDb: 12,
    prbUtilPct: 55,
    activeUsers: 14,
    available: true,
    dlVolumeMB: 800,
    ulVolumeMB: 90,
  };
  const p = samplePoint(full, cell);
  t.equal(p.measurement, 'cell_kpi');
  t.same(Object.keys(p.tags), ['cell', 'region', 'site', 'source'], 'tags in sorted key order');
  t.same(p.tags, { cell: 'C1', region: 'North', site: 'S1', source: 'snmp' });
  t.equal(p.fields.available, 1, 'available is the float 1');
  t.ok(
    Object.values(p.fields).every((v) => typeof v === 'number'),
    'every field is a number',
  );
  t.same(pointSample(p), full, 'pointSample reverses samplePoint');
  t.equal(schemaProblem(p), undefined);

  const bare = samplePoint({ cell: 'C9', ts: 5, source: 'probe', latencyMs: 40, available: false });
  t.same(bare.tags, { cell: 'C9', source: 'probe' }, 'unknown cell: no site/region tags, never empty ones');
  t.same(bare.fields, { latencyMs: 40, available: 0 });
  t.same(pointSample(bare), { cell: 'C9', ts: 5, source: 'probe', latencyMs: 40, available: false });

  const link: LinkSample = {
    link: 'bh-1:3',
    site: 'S1',
    ts: 10,
    source: 'snmp',
    intervalS: 60,
    inMbps: 100,
    outMbps: 50,
    speedMbps: 1000,
    utilPct: 10,
    operUp: true,
    inErrors: 0,
    outErrors: 2,
  };
  const lp = linkPoint(link, 'North');
  t.equal(lp.measurement, 'link');
  t.same(Object.keys(lp.tags), ['link', 'region', 'site', 'source']);
  t.equal(lp.fields.operUp, 1);
  t.same(pointLink(lp), link, 'pointLink reverses linkPoint');
  t.equal(schemaProblem(lp), undefined);

  t.match(
    schemaProblem({ measurement: 'weather', tags: {}, fields: { v: 1 }, ts: 1 }),
    /unknown measurement "weather"/,
  );
  t.match(schemaProblem({ ...p, fields: { complaintId: 5 } }), /unknown field "complaintId"/);
  t.match(schemaProblem({ ...p, fields: { dlMbps: 'fast' } }), /must be a number/);
  t.match(schemaProblem({ ...p, tags: { source: 'snmp' } }), /without a cell tag/);
  t.end();
});

void t.test('golden: a sample batch encodes to the stored line protocol', (t) => {
  const samples = JSON.parse(readFileSync(join(fixtures, 'samples.json'), 'utf8')) as Sample[];
  const cells = new Map<string, Cell>([
    ['C1', cell],
    ['C 2,x', { ...cell, id: 'C 2,x', site: 'S=2', region: 'South East' }],
  ]);
  const body = encodeLines(samples.map((s) => samplePoint(s, cells.get(s.cell))));
  if (process.env.UPDATE_GOLDEN) writeFileSync(join(fixtures, 'expected.lp'), body);
  t.equal(body, readFileSync(join(fixtures, 'expected.lp'), 'utf8'));
  t.end();
});
