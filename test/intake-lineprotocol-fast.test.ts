/**
 * The line-protocol fast path (mapping.ts readCellKpiLine): a `cell_kpi` line of the common shape is
 * read straight into a sample; everything else goes the general way (parseLine, mapPoint). The two
 * must never differ in what they yield: the same samples (same keys in the same order, same values),
 * the same rejections (index, line, field, reason), the same ignored fields. Each case is decoded
 * with cellwatch's own mapping (fast path on) and with an equal copy of it (fast path off).
 */
import t from 'tap';
import {
  ArraySink,
  CELLWATCH_MAPPING,
  compileMappings,
  decodeLineProtocol,
  type CompiledMappings,
  type Precision,
} from '../collectors/intake/index.js';
import { readCellKpiLine } from '../collectors/intake/mapping.js';
import type { Test } from './helpers/service.js';

const TS = 1_764_331_200_000;
const NOW = TS + 90_000;

/** An equal copy of the built-in mappings: the fast path only serves the built-in object itself. */
function generalMappings(): CompiledMappings {
  const r = compileMappings(CELLWATCH_MAPPING.map((m) => ({ ...m })));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.mappings;
}
const GENERAL = generalMappings();

function decode(body: string, precision: Precision, general: boolean) {
  const sink = new ArraySink();
  const counts = decodeLineProtocol(body, sink, {
    now: NOW,
    precision,
    notAfter: NOW + 300_000,
    ...(general ? { mappings: GENERAL } : {}),
  });
  // JSON keeps key order: the fast path must build the very same objects, not just equal ones (and −0 is
  // written out, which JSON would print as 0).
  const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (Object.is(x, -0) ? '-0' : x));
  return { samples: json(sink.samples), links: json(sink.links), counts };
}

function same(t: Test, body: string, precision: Precision, spec: string) {
  const fast = decode(body, precision, false);
  const general = decode(body, precision, true);
  t.equal(fast.samples, general.samples, `${spec}: samples`);
  t.equal(fast.links, general.links, `${spec}: links`);
  t.same(fast.counts, general.counts, `${spec}: counts and rejections`);
}

// [spec, line] — `${TS}` is a millisecond timestamp.
const CASES: [string, string][] = [
  [
    'the benchmark line',
    `cell_kpi,cell=CELL-00001,source=push intervalS=60,dlMbps=5.7,ulMbps=1.1,latencyMs=21,prbUtilPct=13,activeUsers=4,available=t ${TS}`,
  ],
  [
    "cellwatch's own export (region, site, source tags)",
    `cell_kpi,cell=S1-1,region=North,site=S1,source=snmp intervalS=60,dlMbps=12.5,ulMbps=3.25,latencyMs=30,rsrpDbm=-95.5,rsrqDb=-11,sinrDb=14.2,prbUtilPct=55,activeUsers=12,dlVolumeMB=800.125,ulVolumeMB=90,available=1 ${TS}`,
  ],
  ['fields in another order', `cell_kpi,source=probe,cell=C1 available=true,latencyMs=40,dlMbps=25 ${TS}`],
  ['no source tag: the default, added last', `cell_kpi,cell=C1 dlMbps=3 ${TS}`],
  ['an unknown source: the default', `cell_kpi,cell=C1,source=bogus dlMbps=3 ${TS}`],
  ['a source tag of another case', `cell_kpi,cell=C1,source=Push dlMbps=3 ${TS}`],
  ['available as t', `cell_kpi,cell=C1 available=t ${TS}`],
  ['available as T', `cell_kpi,cell=C1 available=T ${TS}`],
  ['available as True', `cell_kpi,cell=C1 available=True ${TS}`],
  ['available as TRUE', `cell_kpi,cell=C1 available=TRUE ${TS}`],
  ['available as f', `cell_kpi,cell=C1 available=f ${TS}`],
  ['available as F', `cell_kpi,cell=C1 available=F ${TS}`],
  ['available as false', `cell_kpi,cell=C1 available=false ${TS}`],
  ['available as False', `cell_kpi,cell=C1 available=False ${TS}`],
  ['available as FALSE', `cell_kpi,cell=C1 available=FALSE ${TS}`],
  ['available as tru (refused)', `cell_kpi,cell=C1 available=tru ${TS}`],
  ['available as fals3 (refused)', `cell_kpi,cell=C1 available=fals3 ${TS}`],
  ['available as 0', `cell_kpi,cell=C1 available=0 ${TS}`],
  ['available as 1i', `cell_kpi,cell=C1 available=1i ${TS}`],
  ['available as 1.0', `cell_kpi,cell=C1 available=1.0 ${TS}`],
  ['available as 0.5 (refused)', `cell_kpi,cell=C1 available=0.5 ${TS}`],
  ['available as 2 (refused)', `cell_kpi,cell=C1 available=2 ${TS}`],
  ['a boolean for a number (refused)', `cell_kpi,cell=C1 dlMbps=t ${TS}`],
  ['a string for a number (refused)', `cell_kpi,cell=C1 dlMbps="5" ${TS}`],
  ['negative zero', `cell_kpi,cell=C1 rsrqDb=-0 ${TS}`],
  ['negative zero point zero', `cell_kpi,cell=C1 rsrqDb=-0.0 ${TS}`],
  ['a leading point', `cell_kpi,cell=C1 dlMbps=.5 ${TS}`],
  ['a negative leading point', `cell_kpi,cell=C1 rsrqDb=-.5 ${TS}`],
  ['a trailing point', `cell_kpi,cell=C1 dlMbps=5. ${TS}`],
  ['a lone point (refused)', `cell_kpi,cell=C1 dlMbps=. ${TS}`],
  ['a lone minus (refused)', `cell_kpi,cell=C1 dlMbps=- ${TS}`],
  ['two points (refused)', `cell_kpi,cell=C1 dlMbps=1.2.3 ${TS}`],
  ['leading zeros', `cell_kpi,cell=C1 dlMbps=007.50 ${TS}`],
  ['an exponent', `cell_kpi,cell=C1 dlMbps=1e3 ${TS}`],
  ['a negative exponent', `cell_kpi,cell=C1 dlMbps=1.5E-3 ${TS}`],
  ['15 significant digits', `cell_kpi,cell=C1 dlVolumeMB=123456.789012345 ${TS}`],
  ['16 digits', `cell_kpi,cell=C1 dlVolumeMB=1234567.890123456 ${TS}`],
  ['17 digits, beyond 2^53', `cell_kpi,cell=C1 dlVolumeMB=12345678901234567 ${TS}`],
  ['0.1 + rounding', `cell_kpi,cell=C1 dlMbps=0.1,ulMbps=0.3,latencyMs=2.675,sinrDb=1.005 ${TS}`],
  ['an integer', `cell_kpi,cell=C1 activeUsers=12i ${TS}`],
  ['an integer with a point (refused)', `cell_kpi,cell=C1 activeUsers=1.5i ${TS}`],
  ['an unsigned integer (refused)', `cell_kpi,cell=C1 activeUsers=12u ${TS}`],
  ['two i (refused)', `cell_kpi,cell=C1 activeUsers=12ii ${TS}`],
  ['NaN (refused)', `cell_kpi,cell=C1 dlMbps=NaN ${TS}`],
  ['out of range (refused, field named)', `cell_kpi,cell=C1 dlMbps=-1 ${TS}`],
  ['RSRP out of range (refused)', `cell_kpi,cell=C1 rsrpDbm=-5 ${TS}`],
  ['an unknown field: ignored and counted', `cell_kpi,cell=C1 dlMbps=3,vendorThing=1 ${TS}`],
  ['only unknown fields (refused)', `cell_kpi,cell=C1 vendorThing=1 ${TS}`],
  ['a repeated field, same type: the last wins', `cell_kpi,cell=C1 dlMbps=3,dlMbps=4 ${TS}`],
  ['a repeated field, two types (refused)', `cell_kpi,cell=C1 available=1,available=t ${TS}`],
  ['a field named time (refused)', `cell_kpi,cell=C1 time=1 ${TS}`],
  ['a repeated tag (refused)', `cell_kpi,cell=C1,cell=C2 dlMbps=3 ${TS}`],
  ['an unknown tag: not mapped', `cell_kpi,cell=C1,host=h1 dlMbps=3 ${TS}`],
  ['a tag named time (refused)', `cell_kpi,cell=C1,time=x dlMbps=3 ${TS}`],
  ['no cell tag (refused)', `cell_kpi,site=S1 dlMbps=3 ${TS}`],
  ['no tags at all (refused)', `cell_kpi dlMbps=3 ${TS}`],
  ['an empty cell (refused)', `cell_kpi,cell= dlMbps=3 ${TS}`],
  ['an = in a tag value (refused)', `cell_kpi,cell=C=1 dlMbps=3 ${TS}`],
  ['an escaped space in the cell', `cell_kpi,cell=C\\ 1 dlMbps=3 ${TS}`],
  ['an escaped comma in the cell', `cell_kpi,cell=C\\,1 dlMbps=3 ${TS}`],
  ['an escaped equals in the cell', `cell_kpi,cell=C\\=1 dlMbps=3 ${TS}`],
  ['a trailing backslash in the cell (refused)', `cell_kpi,cell=C1\\ dlMbps=3 ${TS}`],
  ['a quote in the cell', `cell_kpi,cell=C"1 dlMbps=3 ${TS}`],
  ['a tab in the cell (refused: control character)', `cell_kpi,cell=C\t1 dlMbps=3 ${TS}`],
  ['a cell id of 129 characters (refused)', `cell_kpi,cell=${'x'.repeat(129)} dlMbps=3 ${TS}`],
  ['a cell id of 128 characters', `cell_kpi,cell=${'x'.repeat(128)} dlMbps=3 ${TS}`],
  ['a non-ASCII cell id', `cell_kpi,cell=Zürich-Ø1 dlMbps=3 ${TS}`],
  ['an escaped field key', `cell_kpi,cell=C1 dl\\ Mbps=3 ${TS}`],
  ['no fields (refused)', `cell_kpi,cell=C1 ${TS}`],
  ['no fields and no time (refused)', 'cell_kpi,cell=C1'],
  ['a trailing comma after the fields (refused)', `cell_kpi,cell=C1 dlMbps=3, ${TS}`],
  ['an empty field between commas (refused)', `cell_kpi,cell=C1 dlMbps=3,,ulMbps=1 ${TS}`],
  ['a missing field value (refused)', `cell_kpi,cell=C1 dlMbps= ${TS}`],
  ['no timestamp: now', 'cell_kpi,cell=C1 dlMbps=3'],
  ['two spaces before the timestamp', `cell_kpi,cell=C1 dlMbps=3  ${TS}`],
  ['a tab before the timestamp', `cell_kpi,cell=C1 dlMbps=3\t${TS}`],
  ['two spaces before the fields', `cell_kpi,cell=C1  dlMbps=3 ${TS}`],
  ['a space after the timestamp', `cell_kpi,cell=C1 dlMbps=3 ${TS} `],
  ['a carriage return after the timestamp (refused)', `cell_kpi,cell=C1 dlMbps=3 ${TS}\r`],
  ['junk after the timestamp (refused)', `cell_kpi,cell=C1 dlMbps=3 ${TS} x`],
  ['a letter in the timestamp (refused)', `cell_kpi,cell=C1 dlMbps=3 17643x1200000`],
  ['a negative timestamp (refused: before 2000)', `cell_kpi,cell=C1 dlMbps=3 -${TS}`],
  ['a lone minus as timestamp (refused)', 'cell_kpi,cell=C1 dlMbps=3 -'],
  ['leading zeros in the timestamp', `cell_kpi,cell=C1 dlMbps=3 000${TS}`],
  ['a timestamp in the future (refused)', `cell_kpi,cell=C1 dlMbps=3 ${NOW + 3_600_000}`],
  ['a timestamp before 2000 (refused)', 'cell_kpi,cell=C1 dlMbps=3 946'],
  ['a 13-digit timestamp from 9', 'cell_kpi,cell=C1 dlMbps=3 9223372036854'],
  ['a timestamp past the range (refused)', 'cell_kpi,cell=C1 dlMbps=3 9223372036855'],
  ['leading whitespace', `  cell_kpi,cell=C1 dlMbps=3 ${TS}`],
  ['a comment line', `# cell_kpi,cell=C1 dlMbps=3 ${TS}`],
  ['another measurement (refused)', `cell_kpi2,cell=C1 dlMbps=3 ${TS}`],
  ['an escaped measurement (refused)', `cell\\ kpi,cell=C1 dlMbps=3 ${TS}`],
  ['a link sample', `link,link=L1,site=S1,source=snmp inMbps=300,utilPct=30,operUp=t ${TS}`],
];

void t.test('fast and general paths agree, line by line (ms precision)', async (t) => {
  for (const [spec, line] of CASES) same(t, `${line}\n`, 'ms', spec);
});

void t.test('…and as one body, so indexes and line numbers agree too', async (t) => {
  same(t, CASES.map(([, line]) => line).join('\n'), 'ms', 'all cases in one body');
  same(t, `\n\n${CASES.map(([, line]) => line).join('\n\n')}\n`, 'ms', 'with blank lines between');
});

void t.test('…in every precision', async (t) => {
  const units: Record<Precision, number> = { n: 1e-6, u: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  for (const p of Object.keys(units) as Precision[]) {
    const ts = p === 'n' ? `${TS}000123` : p === 'u' ? `${TS}456` : String(Math.floor(TS / units[p]));
    same(t, `cell_kpi,cell=C1,source=push dlMbps=3,available=t ${ts}\n`, p, `precision ${p}`);
    same(t, `cell_kpi,cell=C1 dlMbps=3 ${'9'.repeat(20)}\n`, p, `precision ${p}, out of range`);
  }
});

void t.test('the common lines do take the fast path', async (t) => {
  for (const [spec, line] of CASES.slice(0, 5)) t.ok(readCellKpiLine(line, 'ms'), spec);
  t.same(
    readCellKpiLine(`cell_kpi,cell=C1,source=probe dlMbps=2.5,activeUsers=3i,available=f ${TS}`, 'ms'),
    { cell: 'C1', ts: TS, source: 'probe', dlMbps: 2.5, activeUsers: 3, available: false },
    'the mapped object',
  );
  t.equal(readCellKpiLine(`cell_kpi,cell=C\\ 1 dlMbps=3 ${TS}`, 'ms'), undefined, 'an escape goes the general way');
  t.equal(readCellKpiLine('cell_kpi,cell=C1 dlMbps=3', 'ms'), undefined, 'so does a line without timestamp');
});

void t.test('randomly damaged lines: both paths agree', async (t) => {
  // A fixed-seed generator: the same lines on every run.
  let seed = 12;
  const rnd = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed % n;
  };
  const base = CASES[1]![1];
  const alphabet = ' ,=\\"\t.-+eEitf0123456789_xX\n';
  const lines: string[] = [];
  for (let k = 0; k < 3000; k++) {
    let s = base;
    for (let edits = 1 + rnd(3); edits > 0; edits--) {
      const at = rnd(s.length);
      const op = rnd(3);
      const ch = alphabet[rnd(alphabet.length)]!;
      s =
        op === 0
          ? s.slice(0, at) + s.slice(at + 1)
          : op === 1
            ? s.slice(0, at) + ch + s.slice(at)
            : s.slice(0, at) + ch + s.slice(at + 1);
    }
    lines.push(s);
  }
  const fast = decode(lines.join('\n'), 'ms', false);
  const general = decode(lines.join('\n'), 'ms', true);
  t.ok(fast.counts.samples > 300 && fast.counts.rejectedCount > 300, 'a mix of good and refused lines');
  t.equal(fast.samples, general.samples, 'samples');
  t.same(fast.counts, general.counts, 'counts and rejections');
});
