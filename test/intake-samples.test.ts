/**
 * Sample intake: JSON objects (table of one-line specs), push bodies, CSV rows, and line-protocol
 * points through mappings — cellwatch's own schema (an encoder round trip) and Telegraf's ping and
 * http_response inputs.
 */
import t from 'tap';
import { ArraySink } from '../collectors/intake/index.js';
import {
  CELLWATCH_MAPPING,
  compileMappings,
  decodeLineProtocol,
  type CompiledMappings,
  type MeasurementMapping,
} from '../collectors/intake/mapping.js';
import { HeaderError, SampleCsvDecoder, csvNumber, decodeSample, decodeSamples } from '../collectors/intake/samples.js';
import { parseTimeString } from '../collectors/intake/time.js';
import type { Cell, LinkSample, Sample } from '../model/index.js';
import { encodeLines } from '../store/lineprotocol.js';
import { linkPoint, samplePoint } from '../store/schema.js';

const TS = Date.UTC(2026, 10, 28, 12, 0, 0);

void t.test('JSON samples: one object each', async (t) => {
  type Want = { sample?: Sample; link?: LinkSample; field?: string; error?: RegExp };
  const table: [string, unknown, Want][] = [
    [
      'the least a sample needs: cell and ts (source defaults to push)',
      { cell: 'C1', ts: TS },
      { sample: { cell: 'C1', ts: TS, source: 'push' } },
    ],
    [
      'every KPI in range',
      {
        cell: 'C1',
        ts: TS,
        source: 'probe',
        intervalS: 60,
        dlMbps: 12.5,
        ulMbps: 2,
        latencyMs: 31,
        rsrpDbm: -95,
        rsrqDb: -11,
        sinrDb: 12,
        prbUtilPct: 55,
        activeUsers: 31,
        available: true,
        dlVolumeMB: 1234,
        ulVolumeMB: 88,
      },
      {
        sample: {
          cell: 'C1',
          ts: TS,
          source: 'probe',
          intervalS: 60,
          dlMbps: 12.5,
          ulMbps: 2,
          latencyMs: 31,
          rsrpDbm: -95,
          rsrqDb: -11,
          sinrDb: 12,
          prbUtilPct: 55,
          activeUsers: 31,
          available: true,
          dlVolumeMB: 1234,
          ulVolumeMB: 88,
        },
      },
    ],
    [
      'RFC 3339 UTC time',
      { cell: 'C1', ts: '2026-11-28T12:00:00Z' },
      { sample: { cell: 'C1', ts: TS, source: 'push' } },
    ],
    [
      'RFC 3339 with offset and fraction',
      { cell: 'C1', ts: '2026-11-28T20:00:00.250+08:00' },
      { sample: { cell: 'C1', ts: TS + 250, source: 'push' } },
    ],
    [
      'a fraction of a millisecond is cut off',
      { cell: 'C1', ts: TS + 0.75 },
      { sample: { cell: 'C1', ts: TS, source: 'push' } },
    ],
    ['ts in seconds is refused with a hint', { cell: 'C1', ts: TS / 1000 }, { field: 'ts', error: /epoch seconds/ }],
    ['ts in nanoseconds is refused with a hint', { cell: 'C1', ts: TS * 1e6 }, { field: 'ts', error: /nanoseconds/ }],
    [
      'a local time without zone is refused',
      { cell: 'C1', ts: '2026-11-28 20:00:00' },
      { field: 'ts', error: /no time zone/ },
    ],
    [
      'a date without time is refused',
      { cell: 'C1', ts: '2026-11-28' },
      { field: 'ts', error: /without a time of day/ },
    ],
    ['February 30th is refused', { cell: 'C1', ts: '2026-02-30T00:00:00Z' }, { field: 'ts', error: /calendar/ }],
    ['ts is required', { cell: 'C1' }, { field: 'ts', error: /required/ }],
    ['ts as a boolean is refused', { cell: 'C1', ts: true }, { field: 'ts', error: /boolean true/ }],
    ['cell is required', { ts: TS }, { field: 'cell', error: /required/ }],
    ['an empty cell is refused', { cell: '', ts: TS }, { field: 'cell', error: /empty/ }],
    ['a 129-character cell is refused', { cell: 'c'.repeat(129), ts: TS }, { field: 'cell', error: /129 characters/ }],
    ['a numeric cell is refused', { cell: 17, ts: TS }, { field: 'cell', error: /string/ }],
    ['a cell with a line break is refused', { cell: 'C\n1', ts: TS }, { field: 'cell', error: /control character/ }],
    ['a cell ending in a backslash is refused', { cell: 'C1\\', ts: TS }, { field: 'cell', error: /backslash/ }],
    ['an unknown source is refused', { cell: 'C1', ts: TS, source: 'telegraf' }, { field: 'source', error: /one of/ }],
    [
      'a negative throughput is refused',
      { cell: 'C1', ts: TS, dlMbps: -1 },
      { field: 'dlMbps', error: /outside \[0, 100000\]/ },
    ],
    [
      'kbit/s sent as Mbit/s is caught by the range',
      { cell: 'C1', ts: TS, dlMbps: 250_000 },
      { field: 'dlMbps', error: /outside/ },
    ],
    [
      'a number in a string is refused',
      { cell: 'C1', ts: TS, dlMbps: '12' },
      { field: 'dlMbps', error: /must be a number, got a string "12"/ },
    ],
    ['1e999 (Infinity) is refused', { cell: 'C1', ts: TS, ulMbps: Infinity }, { field: 'ulMbps', error: /finite/ }],
    ['RSRP above −20 dBm is refused', { cell: 'C1', ts: TS, rsrpDbm: -10 }, { field: 'rsrpDbm', error: /outside/ }],
    ['RSRP below −160 dBm is refused', { cell: 'C1', ts: TS, rsrpDbm: -161 }, { field: 'rsrpDbm', error: /outside/ }],
    ['SINR in centi-dB is caught', { cell: 'C1', ts: TS, sinrDb: 1250 }, { field: 'sinrDb', error: /outside/ }],
    [
      'PRB utilisation of exactly 100 % is fine',
      { cell: 'C1', ts: TS, prbUtilPct: 100 },
      { sample: { cell: 'C1', ts: TS, source: 'push', prbUtilPct: 100 } },
    ],
    [
      'PRB utilisation above 100 % is refused',
      { cell: 'C1', ts: TS, prbUtilPct: 100.5 },
      { field: 'prbUtilPct', error: /outside/ },
    ],
    ['a zero interval is refused', { cell: 'C1', ts: TS, intervalS: 0 }, { field: 'intervalS', error: /outside \(0/ }],
    ['negative users are refused', { cell: 'C1', ts: TS, activeUsers: -3 }, { field: 'activeUsers', error: /outside/ }],
    [
      'null means absent',
      { cell: 'C1', ts: TS, dlMbps: null, available: null },
      { sample: { cell: 'C1', ts: TS, source: 'push' } },
    ],
    [
      'available 1 is true',
      { cell: 'C1', ts: TS, available: 1 },
      { sample: { cell: 'C1', ts: TS, source: 'push', available: true } },
    ],
    [
      'available 0 is false',
      { cell: 'C1', ts: TS, available: 0 },
      { sample: { cell: 'C1', ts: TS, source: 'push', available: false } },
    ],
    [
      'available "true" is refused',
      { cell: 'C1', ts: TS, available: 'true' },
      { field: 'available', error: /true, false, 1 or 0/ },
    ],
    ['available 2 is refused', { cell: 'C1', ts: TS, available: 2 }, { field: 'available' }],
    [
      'unknown fields are ignored (and counted)',
      { cell: 'C1', ts: TS, dlMpbs: 3, vendor: 'x' },
      { sample: { cell: 'C1', ts: TS, source: 'push' } },
    ],
    [
      'a link sample, by its link field',
      { link: 'bh-1:3', site: 'S1', ts: TS, utilPct: 97.5, operUp: 1, inMbps: 950 },
      { link: { link: 'bh-1:3', site: 'S1', ts: TS, source: 'push', inMbps: 950, utilPct: 97.5, operUp: true } },
    ],
    [
      'a link sample by kind',
      { kind: 'link', link: 'L', site: 'S1', ts: TS, operUp: false },
      { link: { link: 'L', site: 'S1', ts: TS, source: 'push', operUp: false } },
    ],
    ['a link without a site is refused', { link: 'L', ts: TS }, { field: 'site', error: /required/ }],
    ['link utilisation above 100 % is refused', { link: 'L', site: 'S', ts: TS, utilPct: 120 }, { field: 'utilPct' }],
    [
      'cell and link together need a kind',
      { cell: 'C1', link: 'L', site: 'S', ts: TS },
      { field: 'kind', error: /both cell and link/ },
    ],
    [
      'kind cell with a stray link field is a cell',
      { kind: 'cell', cell: 'C1', link: 'L', ts: TS },
      { sample: { cell: 'C1', ts: TS, source: 'push' } },
    ],
    ['an unknown kind is refused', { kind: 'probe', cell: 'C1', ts: TS }, { field: 'kind' }],
    ['an array is not a sample', [1, 2], { error: /an array/ }],
    ['null is not a sample', null, { error: /null/ }],
  ];
  for (const [spec, input, want] of table) {
    const got = decodeSample(structuredClone(input));
    if (want.sample) t.same(got, { ok: true, kind: 'cell', sample: want.sample }, spec);
    else if (want.link) t.same(got, { ok: true, kind: 'link', link: want.link }, spec);
    else {
      t.equal(got.ok, false, `${spec}: refused`);
      if (!got.ok) {
        if ('field' in want) t.equal(got.field, want.field, `${spec}: field`);
        if (want.error) t.match(got.error, want.error, `${spec}: reason`);
      }
    }
    if (got.ok && got.kind === 'cell')
      t.same(
        Object.keys(got.sample).filter((k) => k === 'kind'),
        [],
        `${spec}: no stray kind`,
      );
  }
});

void t.test('JSON samples: in place when clean, options', async (t) => {
  const clean = { cell: 'C1', ts: TS, dlMbps: 3 };
  const got = decodeSample(clean);
  t.ok(
    got.ok && got.kind === 'cell' && got.sample === (clean as unknown),
    'a clean object is the sample itself (no copy)',
  );
  const dirty = { cell: 'C1', ts: TS, extra: 1, dlMbps: null };
  const got2 = decodeSample(dirty);
  t.ok(got2.ok, 'dirty object decoded');
  t.same(Object.keys(dirty), ['cell', 'ts', 'source'], 'unknown keys and nulls are gone from it');

  const strict = decodeSample({ cell: 'C1', ts: TS, vendor: 1 }, { unknownFields: 'reject' });
  t.same(strict, { ok: false, field: 'vendor', error: 'unknown field "vendor"' }, 'unknownFields: reject');
  t.same(
    decodeSample({ cell: 'C1', ts: TS, source: 'snmp' }, { sources: ['push', 'probe'] }),
    { ok: false, field: 'source', error: 'source "snmp" is not accepted here' },
    'a source the caller does not allow',
  );
  t.match(
    decodeSample({ cell: 'C1', ts: TS + 3_600_000 }, { notAfter: TS }),
    { ok: false, field: 'ts', error: /future/ },
    'notAfter',
  );
  t.match(
    decodeSample({ cell: 'C1', ts: TS - 1 }, { notBefore: TS }),
    { ok: false, field: 'ts', error: /older/ },
    'notBefore',
  );
  t.match(
    decodeSample({ cell: 'C1', ts: TS }, { source: 'import' }),
    { ok: true, sample: { source: 'import' } },
    'default source',
  );
});

void t.test('push body: an array, rejections by index, ignored fields counted', async (t) => {
  const sink = new ArraySink();
  const body = [
    { cell: 'C1', ts: TS, dlMbps: 10, vendorX: 1 },
    { cell: 'C2', ts: 'yesterday' },
    { cell: 'C3', ts: TS, vendorX: 2, vendorY: true },
    'garbage',
    { link: 'L1', site: 'S1', ts: TS, operUp: true },
  ];
  const r = decodeSamples(body, sink);
  t.same(
    sink.samples.map((s) => s.cell),
    ['C1', 'C3'],
    'the good cell samples are kept',
  );
  t.same(
    sink.links.map((l) => l.link),
    ['L1'],
    'links go to addLink',
  );
  t.same(
    r.rejected.map((x) => [x.index, x.field]),
    [
      [1, 'ts'],
      [3, undefined],
    ],
    'bad elements by index',
  );
  t.same(r.ignoredFields, { vendorX: 2, vendorY: 1 }, 'unknown fields counted by name');
  t.equal(r.samples + r.links + r.rejectedCount, body.length, 'every element accounted for');
  const noLinks = decodeSamples(body, { add: () => {} });
  t.equal(noLinks.linksIgnored, 1, 'a sink without addLink: links counted as ignored');
  const one = decodeSamples({ cell: 'C9', ts: TS }, new ArraySink());
  t.equal(one.samples, 1, 'a single object body');
  const capped = decodeSamples(
    Array.from({ length: 50 }, () => ({})),
    new ArraySink(),
    { maxRejections: 10 },
  );
  t.equal(capped.rejected.length, 10, 'reasons are capped');
  t.equal(capped.rejectedCount, 50, 'but every rejection is counted');
});

void t.test('time strings', async (t) => {
  const table: [string, string, { timeZone?: string }, number | RegExp][] = [
    ['Z', '2026-11-28T12:00:00Z', {}, TS],
    ['lower-case t and z', '2026-11-28t12:00:00z', {}, TS],
    ['a space instead of T', '2026-11-28 12:00:00Z', {}, TS],
    ['seconds left out', '2026-11-28T12:00Z', {}, TS],
    ['+0800 without colon', '2026-11-28T20:00:00+0800', {}, TS],
    ['negative offset', '2026-11-28T07:00:00-05:00', {}, TS],
    ['microsecond fraction truncated to ms', '2026-11-28T12:00:00.123999Z', {}, TS + 123],
    ['a leap second rolls into the next minute', '2016-12-31T23:59:60Z', {}, Date.UTC(2017, 0, 1)],
    ['epoch ms digits', String(TS), {}, TS],
    ['a local time in a named zone', '2026-11-28 20:00:00', { timeZone: 'Asia/Shanghai' }, TS],
    ['Berlin in summer (+02:00)', '2026-07-01 14:00', { timeZone: 'Europe/Berlin' }, Date.UTC(2026, 6, 1, 12)],
    [
      'Berlin: the repeated hour on 2026-10-25 means its first occurrence',
      '2026-10-25 02:30',
      { timeZone: 'Europe/Berlin' },
      Date.UTC(2026, 9, 25, 0, 30),
    ],
    [
      'Berlin: the skipped hour on 2026-03-29 moves forward',
      '2026-03-29 02:30',
      { timeZone: 'Europe/Berlin' },
      Date.UTC(2026, 2, 29, 1, 30),
    ],
    ['an explicit offset beats the zone', '2026-11-28T12:00:00Z', { timeZone: 'Asia/Shanghai' }, TS],
    ['no zone and no default zone', '2026-11-28 20:00:00', {}, /no time zone/],
    ['month 13', '2026-13-01T00:00:00Z', {}, /calendar/],
    ['hour 24', '2026-11-28T24:00:00Z', {}, /calendar/],
    ['German date order', '28.11.2026 20:00', {}, /not an RFC 3339 time/],
    ['year 1970 is implausible', '1970-01-02T00:00:00Z', {}, /outside 2000–2100/],
  ];
  for (const [spec, text, opts, want] of table) {
    const got = parseTimeString(text, opts);
    if (typeof want === 'number') t.same(got, { ok: true, ms: want }, spec);
    else t.match(got, { ok: false, error: want }, spec);
  }
});

void t.test('CSV rows', async (t) => {
  const sink = new ArraySink();
  const dec = new SampleCsvDecoder([' ts', 'cell', 'dlMbps', 'vendor', 'available', 'rsrpDbm'], { source: 'import' });
  t.same(dec.unknownColumns, ['vendor'], 'unknown columns are reported');
  const rows: [string, string[], Sample | string][] = [
    [
      'a full row, header in any order',
      ['1764331200000', 'C1', '12.5', 'x', '1', '-95'],
      { cell: 'C1', ts: 1764331200000, source: 'import', dlMbps: 12.5, available: true, rsrpDbm: -95 },
    ],
    [
      'empty cells are missing values',
      ['1764331200000', 'C1', '', '', '', ''],
      { cell: 'C1', ts: 1764331200000, source: 'import' },
    ],
    [
      'spaces around values are trimmed',
      ['2026-11-28T12:00:00Z', ' C1 ', ' 7 ', '', 'TRUE', ''],
      { cell: 'C1', ts: TS, source: 'import', dlMbps: 7, available: true },
    ],
    [
      'fewer fields than the header: the rest are empty',
      ['1764331200000', 'C1'],
      { cell: 'C1', ts: 1764331200000, source: 'import' },
    ],
    [
      'more fields than the header are refused',
      ['1764331200000', 'C1', '1', '', '1', '-90', 'extra'],
      'the row has 7 fields',
    ],
    ['hexadecimal is not a number', ['1764331200000', 'C1', '0x10', '', '', ''], 'dlMbps must be a number'],
    [
      'a decimal comma in a comma file is refused',
      ['1764331200000', 'C1', '12,5', '', '', ''],
      'dlMbps must be a number',
    ],
    ['yes is not a flag', ['1764331200000', 'C1', '', '', 'yes', ''], 'available must be 1, 0, true or false'],
    ['out of range is refused like JSON', ['1764331200000', 'C1', '', '', '', '-5'], 'rsrpDbm -5 is outside'],
    ['a bad time', ['28/11/2026', 'C1', '', '', '', ''], 'ts: "28/11/2026" is not an RFC 3339 time'],
  ];
  rows.forEach(([, values], i) => dec.row(values, sink, i, i + 2));
  const counts = dec.finish();
  const want = rows.filter(([, , w]) => typeof w !== 'string').map(([, , w]) => w as Sample);
  t.same(sink.samples, want, 'good rows decoded');
  const wantBad = rows.map(([spec, , w], i) => [spec, i, w] as const).filter(([, , w]) => typeof w === 'string');
  t.equal(counts.rejected.length, wantBad.length, 'bad rows refused');
  wantBad.forEach(([spec, i, w], k) => {
    const r = counts.rejected[k]!;
    t.equal(r.index, i, `${spec}: index`);
    t.equal(r.line, i + 2, `${spec}: line`);
    t.ok(r.error.startsWith(w as string), `${spec}: ${r.error}`);
  });
  t.same(counts.ignoredFields, { vendor: rows.length }, 'the unknown column counted per row');

  const semi = new SampleCsvDecoder(['cell', 'ts', 'dlMbps'], { delimiter: ';' });
  const s2 = new ArraySink();
  semi.row(['C1', '1764331200000', '12,5'], s2, 0);
  t.equal(s2.samples[0]?.dlMbps, 12.5, 'a ;-delimited file takes decimal commas');
  t.throws(() => new SampleCsvDecoder(['cell', 'dlMbps']), { name: 'HeaderError' }, 'no ts column');
  t.throws(() => new SampleCsvDecoder(['ts', 'dlMbps']), { name: 'HeaderError' }, 'neither cell nor link');
  t.throws(() => new SampleCsvDecoder(['cell', 'ts', 'cell']), { name: 'HeaderError' }, 'a column twice');
  t.throws(
    () => new SampleCsvDecoder(['cell', 'ts', 'x'], { unknownFields: 'reject' }),
    HeaderError,
    'unknown column, strict',
  );
  const numbers: [string, number | undefined][] = [
    ['12', 12],
    ['-3.5', -3.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['+2', 2],
    ['0', 0],
    ['0x1F', undefined],
    ['0b1', undefined],
    ['0o7', undefined],
    ['Infinity', undefined],
    ['1,5', undefined],
    ['abc', undefined],
    ['1.2.3', undefined],
  ];
  for (const [s, want] of numbers) t.equal(csvNumber(s), want, `csvNumber("${s}")`);
});

const inventory: Cell[] = [{ id: 'C 2,x=y', site: 'S 2', region: 'South, East', lat: 0, lon: 0, neighbours: [] }];

function compiled(list: readonly MeasurementMapping[]): CompiledMappings {
  const r = compileMappings(list);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.mappings;
}

void t.test('line protocol → samples: cellwatch schema round trip', async (t) => {
  const samples: Sample[] = [];
  for (let i = 0; i < 200; i++)
    samples.push({
      cell: i % 2 ? 'C1' : 'C 2,x=y',
      ts: TS + i * 60_000,
      source: i % 3 ? 'snmp' : 'probe',
      intervalS: 60,
      dlMbps: (i * 7.3) % 90,
      ...(i % 4 ? { rsrpDbm: -80 - (i % 30), sinrDb: (i % 25) - 3 } : {}),
      prbUtilPct: (i * 13) % 100,
      activeUsers: i % 17,
      available: i % 11 !== 0,
      ...(i % 5 ? { dlVolumeMB: i * 1.5 } : {}),
    });
  const links: LinkSample[] = [
    {
      link: 'bh-1:3',
      site: 'S1',
      ts: TS,
      source: 'snmp',
      intervalS: 60,
      inMbps: 120.5,
      outMbps: 80,
      speedMbps: 1000,
      utilPct: 12.05,
      inErrors: 0,
      outErrors: 2,
      operUp: true,
    },
    { link: 'bh-1:4', site: 'S 2', ts: TS, source: 'snmp', operUp: false },
  ];
  const body = encodeLines([
    ...samples.map((s) =>
      samplePoint(
        s,
        inventory.find((c) => c.id === s.cell),
      ),
    ),
    ...links.map((l) => linkPoint(l, 'North')),
  ]);
  const sink = new ArraySink();
  const r = decodeLineProtocol(body, sink, { precision: 'ms', now: 0, source: 'import' });
  t.equal(r.rejectedCount, 0, 'nothing refused');
  t.same(
    sink.samples,
    samples,
    'cell samples come back as written (source from the tag; region and site tags dropped)',
  );
  t.same(sink.links, links, 'links come back as written');
  t.same(r.ignoredFields, {}, 'no unknown fields');
  t.equal(r.lines, samples.length + links.length, 'one record per line');
  // The same export in nanoseconds, as influx_inspect writes it.
  const ns = body.replace(/ (\d+)\n/g, (_, ms: string) => ` ${ms}000000\n`);
  const sink2 = new ArraySink();
  decodeLineProtocol(ns, sink2, { now: 0 });
  t.same(sink2.samples, samples, 'nanosecond export reads the same');
});

void t.test('line protocol → samples: what cannot be mapped is refused with the reason', async (t) => {
  const body = [
    'cpu,host=a usage_idle=98.5 1764331200000',
    'cell_kpi,site=S1 dlMbps=3 1764331200000',
    'cell_kpi,cell=C1 dlMbps="fast" 1764331200000',
    'cell_kpi,cell=C1 available=0.5 1764331200000',
    'cell_kpi,cell=C1 dlMbps=250000 1764331200000',
    'cell_kpi,cell=C1 vendorThing=1 1764331200000',
    'cell_kpi,cell=C1 dlMbps=3 946',
    'cell_kpi,cell=C1 dlMbps=3i,available=t 1764331200000',
    'link,link=L1 operUp=1 1764331200000',
    'cell_kpi,cell=C1 dlMbps=bad 1764331200000',
  ].join('\n');
  const sink = new ArraySink();
  const r = decodeLineProtocol(body, sink, { precision: 'ms', now: 0 });
  t.same(
    r.rejected.map((x) => [x.line, x.field]),
    [
      [1, undefined],
      [2, 'cell'],
      [3, 'dlMbps'],
      [4, 'available'],
      [5, 'dlMbps'],
      [6, undefined],
      [7, 'ts'],
      [9, 'site'],
      [10, undefined],
    ],
    'each refusal names its line and the field at fault',
  );
  t.match(r.rejected[0]!.error, /unknown measurement "cpu" \(mapped: cell_kpi, link\)/);
  t.match(r.rejected[1]!.error, /without a "cell" tag/);
  t.match(r.rejected[2]!.error, /must be a number, got the string "fast"/);
  t.match(r.rejected[5]!.error, /none of the mapped fields/);
  t.match(r.rejected[7]!.error, /"site" tag/);
  t.match(r.rejected[8]!.error, /invalid boolean/, "a line-protocol syntax error keeps InfluxDB's words");
  t.same(
    sink.samples,
    [{ cell: 'C1', ts: 1764331200000, source: 'push', dlMbps: 3, available: true }],
    'integer and boolean fields map too',
  );
  t.same(r.ignoredFields, { vendorThing: 1 }, 'unknown fields counted');
  const ts = decodeLineProtocol('cell_kpi,cell=C1 dlMbps=3', new ArraySink(), {
    now: TS + 123_456_789,
    precision: 's',
  });
  t.equal(ts.samples, 1, 'a line without timestamp takes now');
});

const PING: MeasurementMapping = {
  measurement: 'ping',
  cell: { tag: 'url', map: { '10.1.0.1': 'S0001-1', 'probe.s0002.example': 'S0002-1' } },
  source: 'probe',
  fields: { average_response_ms: { to: 'latencyMs' } },
  failure: [
    { field: 'result_code', ne: 0 },
    { field: 'percent_packet_loss', ge: 100 },
  ],
};
const HTTP: MeasurementMapping = {
  measurement: 'http_response',
  cell: { tag: 'server', map: { 'https://probe.s0001.example/10MB': 'S0001-1' } },
  source: 'probe',
  fields: { response_time: { to: 'latencyMs', scale: 1000 } },
  failure: [
    { field: 'result_type', ne: 'success' },
    { field: 'http_response_code', ge: 500 },
    { tag: 'result', in: ['timeout', 'connection_failed'] },
  ],
};

void t.test('Telegraf ping and http_response through mappings', async (t) => {
  const m = compiled([...CELLWATCH_MAPPING, PING, HTTP]);
  const T = '1764331200000000000';
  const lines = [
    `ping,host=p1,url=10.1.0.1 average_response_ms=12.5,maximum_response_ms=20,packets_received=5i,packets_transmitted=5i,percent_packet_loss=0,result_code=0i,ttl=57i ${T}`,
    `ping,host=p1,url=10.1.0.1 packets_received=0i,packets_transmitted=5i,percent_packet_loss=100,result_code=0i ${T}`,
    `ping,host=p1,url=probe.s0002.example result_code=2i ${T}`,
    `ping,host=p1,url=10.9.9.9 average_response_ms=3,result_code=0i ${T}`,
    `ping,host=p1 average_response_ms=3,result_code=0i ${T}`,
    `http_response,method=GET,result=success,server=https://probe.s0001.example/10MB,status_code=200 content_length=10485760i,http_response_code=200i,response_time=0.183,result_code=0i,result_type="success" ${T}`,
    `http_response,method=GET,result=timeout,server=https://probe.s0001.example/10MB response_time=5.001,result_code=4i,result_type="timeout" ${T}`,
    `http_response,method=GET,result=success,server=https://probe.s0001.example/10MB,status_code=503 http_response_code=503i,response_time=0.05,result_code=0i,result_type="success" ${T}`,
    `http_response,method=GET,result=success,server=https://probe.s0001.example/10MB response_time="slow",result_type="success" ${T}`,
  ].join('\n');
  const sink = new ArraySink();
  const r = decodeLineProtocol(lines, sink, { now: 0, mappings: m });
  const ts = 1764331200000;
  t.same(
    sink.samples,
    [
      { cell: 'S0001-1', ts, source: 'probe', latencyMs: 12.5, available: true },
      { cell: 'S0001-1', ts, source: 'probe', dlMbps: 0, available: true },
      { cell: 'S0002-1', ts, source: 'probe', dlMbps: 0, available: true },
      { cell: 'S0001-1', ts, source: 'probe', latencyMs: 183, available: true },
      { cell: 'S0001-1', ts, source: 'probe', latencyMs: 5001, dlMbps: 0, available: true },
      { cell: 'S0001-1', ts, source: 'probe', latencyMs: 50, dlMbps: 0, available: true },
    ],
    'successes are available samples with their latency; failed tests (loss, result code, HTTP 503, timeout) are bad samples (dlMbps 0), not outages',
  );
  t.same(
    r.rejected.map((x) => [x.line, x.field]),
    [
      [4, 'url'],
      [5, 'url'],
      [9, 'response_time'],
    ],
    'unmapped probe targets and wrong types refused',
  );
  t.match(r.rejected[0]!.error, /url="10.9.9.9" is not in the ping mapping's cell table/);
  t.match(r.rejected[1]!.error, /without a "url" tag/);
  t.equal(r.ignoredFields.ttl, 1, 'fields the mapping does not name are counted');
});

void t.test('mapping checks', async (t) => {
  const bad: [string, MeasurementMapping[], RegExp][] = [
    ['a measurement mapped twice', [PING, PING], /\[1\]\.measurement: "ping" is mapped twice/],
    [
      'a target that is no sample field',
      [{ measurement: 'x', cell: { tag: 'c' }, fields: { a: { to: 'speed' as 'dlMbps' } } }],
      /\[0\]\.fields\.a\.to: "speed" is not a cell sample field/,
    ],
    [
      'a link target on a cell mapping',
      [{ measurement: 'x', cell: { tag: 'c' }, fields: { a: { to: 'utilPct' } } }],
      /not a cell sample field/,
    ],
    [
      'scale zero',
      [{ measurement: 'x', cell: { tag: 'c' }, fields: { a: { to: 'dlMbps', scale: 0 } } }],
      /scale: must be a finite non-zero number/,
    ],
    [
      'a link mapping without site',
      [{ measurement: 'x', kind: 'link', link: { tag: 'l' }, fields: { a: { to: 'utilPct' } } }],
      /\[0\]\.site: required/,
    ],
    ['a cell mapping without cell', [{ measurement: 'x', fields: { a: { to: 'dlMbps' } } }], /\[0\]\.cell: required/],
    [
      'a failure condition without comparison',
      [{ measurement: 'x', cell: { tag: 'c' }, fields: {}, failure: [{ field: 'r' }] }],
      /failure\[0\]: give at least one comparison/,
    ],
    [
      'a condition on field and tag at once',
      [{ measurement: 'x', cell: { tag: 'c' }, fields: {}, failure: [{ field: 'r', tag: 't', eq: 1 }] }],
      /exactly one of field or tag/,
    ],
    ['nothing mapped at all', [{ measurement: 'x', cell: { tag: 'c' }, fields: {} }], /map at least one field/],
  ];
  for (const [spec, list, want] of bad) {
    const r = compileMappings(list);
    t.equal(r.ok, false, `${spec}: refused`);
    if (!r.ok) t.match(r.errors.join('\n'), want, spec);
  }
  t.equal(compileMappings([...CELLWATCH_MAPPING, PING, HTTP]).ok, true, 'the built-in and example mappings are valid');
  const fixed = compiled([
    { measurement: 'probe', cell: { value: 'C7' }, intervalS: 300, fields: { dl: { to: 'dlMbps', scale: 1e-6 } } },
  ]);
  const sink = new ArraySink();
  decodeLineProtocol('probe dl=25000000 1764331200000', sink, { precision: 'ms', now: 0, mappings: fixed });
  t.same(
    sink.samples,
    [{ cell: 'C7', ts: 1764331200000, source: 'push', intervalS: 300, dlMbps: 25 }],
    'a fixed cell, interval and a scale (bit/s → Mbit/s)',
  );
});
