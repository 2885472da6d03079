/**
 * Complaint intake: JSON objects (a table of one-line specs), push bodies, and CSV exports as
 * operators write them — golden cases under test/fixtures/intake-complaints/<case>/ (input.csv,
 * options.json, expected.json; `UPDATE_GOLDEN=1` rewrites expected.json, which is then read and
 * checked by hand), decoded in memory and streamed from the file, with the same result.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import {
  decodeComplaint,
  decodeComplaintCsv,
  decodeComplaints,
  type ComplaintOptions,
} from '../collectors/intake/complaints.js';
import { readComplaintFile } from '../collectors/intake/files.js';
import type { Complaint } from '../model/index.js';
import { makeTempDir } from './helpers/service.js';

const R = Date.UTC(2026, 10, 28, 12, 15); // 2026-11-28T12:15:00Z = 20:15 in Shanghai
const base = {
  id: 'T-1',
  receivedAt: '2026-11-28T20:15:00+08:00',
  channel: 'hotline',
  category: 'network',
  cell: 'C1',
};

void t.test('JSON complaints: one object each', async (t) => {
  const table: [string, unknown, Complaint | { field?: string; error: RegExp }][] = [
    [
      'the least a complaint needs',
      base,
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    [
      'every field, in the model order',
      {
        text: 'no 4G',
        lon: 121.47,
        lat: 31.23,
        cell: 'C1',
        symptom: 'slow-data',
        category: 'network',
        channel: 'app',
        issueAt: R - 3_600_000,
        receivedAt: R,
        id: 'T-2',
      },
      {
        id: 'T-2',
        receivedAt: R,
        issueAt: R - 3_600_000,
        channel: 'app',
        category: 'network',
        symptom: 'slow-data',
        cell: 'C1',
        lat: 31.23,
        lon: 121.47,
        text: 'no 4G',
      },
    ],
    [
      'coordinates instead of a cell',
      { ...base, cell: undefined, lat: 31.23, lon: 121.47 },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', lat: 31.23, lon: 121.47 },
    ],
    [
      'a numeric id is taken as its digits',
      { ...base, id: 4711 },
      { id: '4711', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    [
      'ids are trimmed (idempotency must not depend on spaces)',
      { ...base, id: '  T-1 ' },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    [
      'enums are case-insensitive, spaces and underscores become dashes',
      { ...base, channel: 'Hotline', category: 'NETWORK', symptom: 'Call Drop' },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', symptom: 'call-drop', cell: 'C1' },
    ],
    [
      'empty optional fields are absent',
      { ...base, issueAt: '', symptom: '', text: '', lat: '', lon: null },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    [
      'coordinates given as strings',
      { ...base, lat: '31.5', lon: '121.25' },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1', lat: 31.5, lon: 121.25 },
    ],
    [
      'epoch milliseconds',
      { ...base, receivedAt: R },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    [
      'unknown CRM fields are ignored',
      { ...base, agent: 'li', status: 'open' },
      { id: 'T-1', receivedAt: R, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    ['id is required', { ...base, id: undefined }, { field: 'id', error: /id is required/ }],
    ['an id of 129 characters is refused', { ...base, id: 'x'.repeat(129) }, { field: 'id', error: /129 characters/ }],
    [
      'an id with a control character is refused',
      { ...base, id: 'T\u00071' },
      { field: 'id', error: /control character/ },
    ],
    ['a fractional id is refused', { ...base, id: 1.5 }, { field: 'id', error: /string \(or an integer\)/ }],
    [
      'receivedAt is required',
      { ...base, receivedAt: undefined },
      { field: 'receivedAt', error: /receivedAt is required/ },
    ],
    [
      'a day-first date is not RFC 3339',
      { ...base, receivedAt: '28/11/2026 20:15' },
      { field: 'receivedAt', error: /not an RFC 3339 time/ },
    ],
    [
      'a local time needs a zone',
      { ...base, receivedAt: '2026-11-28 20:15' },
      { field: 'receivedAt', error: /no time zone/ },
    ],
    [
      'an unknown channel lists the choices',
      { ...base, channel: 'email' },
      { field: 'channel', error: /channel must be one of hotline, online, social, app; got "email"/ },
    ],
    [
      'category is required',
      { ...base, category: '' },
      { field: 'category', error: /category is required: one of network, efficiency, billing, attitude/ },
    ],
    [
      'an unknown symptom is refused',
      { ...base, symptom: 'bad' },
      { field: 'symptom', error: /symptom must be one of no-signal/ },
    ],
    ['no location at all', { ...base, cell: undefined }, { field: 'cell', error: /needs a location/ }],
    ['lat without lon', { ...base, cell: undefined, lat: 31.2 }, { field: 'lon', error: /lat and lon together/ }],
    ['latitude out of range', { ...base, lat: 91, lon: 0.5 }, { field: 'lat', error: /outside −90..90/ }],
    ['longitude out of range', { ...base, lat: 1, lon: -180.5 }, { field: 'lon', error: /outside −180..180/ }],
    [
      '0,0 is a placeholder, not a place',
      { ...base, cell: undefined, lat: 0, lon: 0 },
      { field: 'lat', error: /placeholder/ },
    ],
    ['lat as a word is refused', { ...base, lat: 'north', lon: 1 }, { field: 'lat', error: /number of degrees/ }],
    ['a cell id that is not a string', { ...base, cell: 12 }, { field: 'cell', error: /cell must be a cell id/ }],
    [
      'text of 4,001 characters is refused',
      { ...base, text: 'x'.repeat(4001) },
      { field: 'text', error: /4001 characters long \(at most 4000\)/ },
    ],
    [
      'issueAt an hour after receivedAt is refused',
      { ...base, issueAt: R + 3_600_000 },
      { field: 'issueAt', error: /is after receivedAt/ },
    ],
    [
      'issueAt five minutes after receivedAt is clock skew, taken',
      { ...base, issueAt: R + 300_000 },
      { id: 'T-1', receivedAt: R, issueAt: R + 300_000, channel: 'hotline', category: 'network', cell: 'C1' },
    ],
    [
      'issueAt 31 days before receivedAt is refused',
      { ...base, issueAt: R - 31 * 86_400_000 },
      { field: 'issueAt', error: /more than 30 days before/ },
    ],
    [
      'several problems: the first field, every message',
      { ...base, channel: 'x', category: 'y' },
      { field: 'channel', error: /channel must be.*; category must be/ },
    ],
    ['not an object', 'CRM-1', { error: /expected a complaint object, got a string/ }],
  ];
  for (const [spec, input, want] of table) {
    const got = decodeComplaint(input);
    if ('error' in want && want.error instanceof RegExp) {
      t.equal(got.ok, false, `${spec}: refused`);
      if (!got.ok) {
        if (want.field !== undefined) t.equal(got.field, want.field, `${spec}: field`);
        t.match(got.error, want.error, `${spec}: ${got.error}`);
      }
    } else {
      t.same(got, { ok: true, complaint: want }, spec);
      if (got.ok) t.same(Object.keys(got.complaint), Object.keys(want), `${spec}: key order`);
    }
  }
});

void t.test('complaint options', async (t) => {
  const known = (id: string) => id === 'C1';
  t.match(decodeComplaint({ ...base, cell: 'C404' }, { isKnownCell: known }), {
    ok: false,
    field: 'cell',
    error: /"C404" is not in the inventory and the complaint has no lat\/lon/,
  });
  t.match(
    decodeComplaint({ ...base, cell: 'C404', lat: 31.2, lon: 121.4 }, { isKnownCell: known }),
    { ok: true, complaint: { cell: 'C404', lat: 31.2 } },
    'an unknown cell with coordinates is located by them',
  );
  t.match(decodeComplaint({ ...base, cell: 'C1' }, { isKnownCell: known }), { ok: true }, 'a known cell');
  t.match(decodeComplaint({ ...base, receivedAt: R + 3_600_000 }, { now: R }), {
    ok: false,
    field: 'receivedAt',
    error: /in the future/,
  });
  t.match(
    decodeComplaint({ ...base, receivedAt: '2026-11-28 20:15' }, { timeZone: 'Asia/Shanghai' }),
    { ok: true, complaint: { receivedAt: R } },
    'a zone-less time in the configured zone',
  );
  t.match(
    decodeComplaint({ ...base, issueAt: R + 3_600_000 }, { issueSkewMs: 2 * 3_600_000 }),
    { ok: true },
    'a wider skew',
  );
  t.match(decodeComplaint({ ...base, issueAt: R - 10 * 86_400_000 }, { maxIssueAgeMs: 7 * 86_400_000 }), {
    ok: false,
    field: 'issueAt',
    error: /7 days/,
  });
});

void t.test('complaint push bodies', async (t) => {
  const one = decodeComplaints(base);
  t.equal(one.complaints.length, 1, 'one object');
  const many = decodeComplaints([
    base,
    { ...base, id: 'T-2', channel: 'fax' },
    { ...base, id: 'T-3', crmStatus: 'open' },
    42,
  ]);
  t.same(
    many.complaints.map((c) => c.id),
    ['T-1', 'T-3'],
    'good elements kept',
  );
  t.same(
    many.rejected.map((r) => [r.index, r.field]),
    [
      [1, 'channel'],
      [3, undefined],
    ],
    'bad ones by index and field',
  );
  t.equal(many.records, 4);
  t.same(many.ignoredFields, { crmStatus: 1 });
});

interface Golden {
  complaints: Complaint[];
  records: number;
  rejected: { index: number; line?: number; field?: string; error: string }[];
  ignoredFields: Record<string, number>;
}

void t.test('operator CSV exports (golden)', async (t) => {
  const dir = join(import.meta.dirname, 'fixtures', 'intake-complaints');
  const tmp = await makeTempDir('cellwatch-intake-complaints');
  for (const name of readdirSync(dir).sort()) {
    const caseDir = join(dir, name);
    const raw = JSON.parse(readFileSync(join(caseDir, 'options.json'), 'utf8')) as ComplaintOptions & {
      knownCells?: string[];
    };
    const { knownCells, ...rest } = raw;
    const opts: ComplaintOptions = { ...rest, ...(knownCells ? { isKnownCell: (id) => knownCells.includes(id) } : {}) };
    const input = readFileSync(join(caseDir, 'input.csv'));
    const got = decodeComplaintCsv(input, opts);
    t.equal(got.error, undefined, `${name}: the header is understood`);
    const result: Golden = {
      complaints: got.complaints,
      records: got.records,
      rejected: got.rejected,
      ignoredFields: got.ignoredFields,
    };
    const expectedFile = join(caseDir, 'expected.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, JSON.stringify(result, null, 2) + '\n');
    const want = JSON.parse(readFileSync(expectedFile, 'utf8')) as Golden;
    t.same(result, want, `${name}: in memory`);
    t.equal(got.complaints.length + got.rejectedCount, got.records, `${name}: every row accounted for`);

    // The same file streamed, in small chunks so that rows, quotes and UTF-8 characters straddle them.
    const path = join(tmp, `${name}.csv`);
    await writeFile(path, input);
    const streamed: Complaint[] = [];
    const progress: number[] = [];
    const file = await readComplaintFile(
      path,
      { add: async (c) => void streamed.push(c) },
      { ...opts, chunkBytes: 7, onProgress: (b) => progress.push(b) },
    );
    t.same(
      { complaints: streamed, records: file.records, rejected: file.rejected, ignoredFields: file.ignoredFields },
      { ...want, ignoredFields: {} },
      `${name}: streamed from the file, the same (unknown columns are warned about once instead)`,
    );
    t.equal(file.accepted, want.complaints.length, `${name}: accepted count`);
    t.equal(progress.at(-1), input.length, `${name}: progress reaches the file size`);
    t.ok(
      progress.every((b, i) => i === 0 || b >= progress[i - 1]!),
      `${name}: progress never goes back`,
    );
  }
});

void t.test('complaint files: JSON lines, broken headers, unreadable rows', async (t) => {
  const tmp = await makeTempDir('cellwatch-intake-complaints');
  const jsonl = join(tmp, 'c.jsonl');
  await writeFile(
    jsonl,
    [
      JSON.stringify(base),
      '',
      '{not json',
      JSON.stringify({ ...base, id: 'T-2', channel: 'fax' }),
      JSON.stringify({ ...base, id: 'T-3' }),
    ].join('\n'),
  );
  const got: Complaint[] = [];
  const r = await readComplaintFile(jsonl, { add: (c) => void got.push(c) });
  t.equal(r.format, 'jsonl');
  t.same(
    got.map((c) => c.id),
    ['T-1', 'T-3'],
  );
  t.same(
    r.rejected.map((x) => [x.index, x.line, x.field]),
    [
      [1, 3, undefined],
      [2, 4, 'channel'],
    ],
    'index among records, line in the file',
  );
  t.match(r.rejected[0]!.error, /invalid JSON/);

  const noId = join(tmp, 'noid.csv');
  await writeFile(noId, 'receivedAt,channel,category,cell\n2026-11-28T20:15:00Z,app,network,C1\n');
  const r2 = await readComplaintFile(noId, { add: () => {} });
  t.match(r2.error, /the header has no id column/);
  t.same(
    decodeComplaintCsv('id,receivedAt,channel,category\n').error,
    'the header has neither a cell column nor lat and lon columns',
  );
  t.same(decodeComplaintCsv('').error, 'the CSV has no header row');

  const broken =
    'id,receivedAt,channel,category,cell,text\nA,2026-11-28T20:15:00Z,app,network,C1,ok\nB,2026-11-28T20:15:00Z,app,network,C1,"never closed\nC,2026-11-28T20:15:00Z,app,network,C1,lost\n';
  const r3 = decodeComplaintCsv(broken);
  t.same(
    r3.complaints.map((c) => c.id),
    ['A'],
    'rows after an unterminated quote cannot be told apart',
  );
  t.same(
    r3.rejected.map((x) => [x.index, x.line]),
    [[1, 3]],
    'placed where the broken row starts',
  );
  t.match(r3.rejected[0]!.error, /unreadable CSV from line 3: Quote Not Closed/);
  const wide = decodeComplaintCsv('id,receivedAt,channel,category,cell\nA,2026-11-28T20:15:00Z,app,network,C1,extra\n');
  t.match(wide.rejected[0]!.error, /the row has 6 fields, the header 5/);
  const stray = decodeComplaintCsv(
    'id,receivedAt,channel,category,cell,text\nA,2026-11-28T20:15:00Z,app,network,C1,the "5" button\n',
  );
  t.equal(stray.complaints[0]?.text, 'the "5" button', 'a stray quote inside an unquoted field is kept as text');
});
