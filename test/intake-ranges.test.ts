/**
 * A JSON-lines file read in two byte ranges (by two threads in `cellwatch analyze`) gives what one
 * read of the whole file gives: the same samples in the same order, the same links, and the same
 * counts, rejections (index and line), ignored field names and warnings — cut at every line boundary
 * of each file, not only the middle. And where `jsonlRanges` cuts: after a newline, never inside a
 * line (a line longer than its look-ahead included), one range when nothing follows the cut.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import {
  ArraySink,
  SampleRangeReader,
  joinSampleRanges,
  jsonlRanges,
  readSampleFile,
  sampleRangesResult,
  type FileRange,
  type SampleFileResult,
} from '../collectors/intake/index.js';
import { makeTempDir } from './helpers/service.js';

const TS = Date.UTC(2026, 10, 28, 12, 0, 0);
const line = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cell: `C${i % 5}`, ts: TS + i * 60_000, dlMbps: (i * 3.7) % 90, activeUsers: i % 11, ...extra });

const lines = (n: number) => Array.from({ length: n }, (_, i) => line(i));

interface Case {
  spec: string;
  text: string;
  maxRejections?: number;
}

const CASES: Case[] = [
  { spec: 'clean lines', text: lines(12).join('\n') + '\n' },
  { spec: 'the last line without its newline', text: lines(9).join('\n') },
  {
    spec: 'bad lines: broken JSON, out of range, a string time, an array, blank and white lines',
    text:
      [
        line(0),
        '{"cell":"C1","ts":',
        line(2),
        '',
        JSON.stringify({ cell: 'C1', ts: TS, dlMbps: -4 }),
        '   ',
        '{"cell":"C2","ts":"yesterday"}',
        line(7),
        '[1,2]',
        line(9),
      ].join('\n') + '\n',
  },
  { spec: 'CRLF line ends', text: lines(10).join('\r\n') + '\r\n' },
  { spec: 'CRLF, the last line without its line end', text: lines(7).join('\r\n') },
  {
    spec: 'a byte-order mark at the start (stripped) and one starting a later line (a broken line)',
    text: '\uFEFF' + [line(0), line(1), '\uFEFF' + line(2), line(3), line(4)].join('\n') + '\n',
  },
  {
    spec: 'unknown fields: counted by name in order of first sight, across the cut',
    text:
      [
        line(0, { vendor: 'x' }),
        line(1),
        line(2, { band: 3 }),
        line(3, { vendor: 'y', zone: 1 }),
        line(4, { zone: 2 }),
        line(5, { extra: true }),
      ].join('\n') + '\n',
  },
  {
    spec: 'links and cells, with non-ASCII ids',
    text:
      [
        line(0),
        JSON.stringify({ kind: 'link', link: 'L-ü1', site: 'S1', ts: TS, utilPct: 40, operUp: true }),
        JSON.stringify({ cell: 'Zürich-1', ts: TS, dlMbps: 5 }),
        JSON.stringify({ link: 'L-2', site: 'S2', ts: TS + 60_000, operUp: 0 }),
        JSON.stringify({ cell: 'Zürich-1', ts: TS + 60_000, dlMbps: 6 }),
      ].join('\n') + '\n',
  },
  {
    spec: 'more rejections than are kept: the first ones kept, all counted',
    text: Array.from({ length: 10 }, (_, i) => (i % 2 ? '{"cell":' : line(i))).join('\n') + '\n',
    maxRejections: 3,
  },
  { spec: 'one long line', text: line(0, { note: 'n'.repeat(200_000) }) + '\n' + line(1) + '\n' },
];

/** Byte offsets just after each newline of the file (possible cuts), and 0. */
function cuts(buf: Buffer): number[] {
  const out = [0];
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) out.push(i + 1);
  return out;
}

async function readWhole(path: string, maxRejections?: number) {
  const sink = new ArraySink();
  const result = await readSampleFile(path, sink, maxRejections ? { maxRejections } : {});
  return { sink, result };
}

async function readInTwo(path: string, ranges: [FileRange, FileRange], maxRejections?: number) {
  const opts = maxRejections ? { maxRejections } : {};
  const a = new ArraySink();
  const b = new ArraySink();
  const first = new SampleRangeReader(a, opts);
  await first.read(path, ranges[0]);
  const second = new SampleRangeReader(b, opts);
  await second.read(path, ranges[1]);
  const result = joinSampleRanges(first.finish(), second.finish(), maxRejections);
  return {
    samples: [...a.samples, ...b.samples],
    links: [...a.links, ...b.links],
    result,
  };
}

const comparable = (r: SampleFileResult | undefined) => r && JSON.stringify(r);

void t.test('two ranges read as one file, at every cut', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-ranges');
  for (const [k, c] of CASES.entries()) {
    const path = join(dir, `case-${k}.jsonl`);
    await writeFile(path, c.text);
    const whole = await readWhole(path, c.maxRejections);
    const buf = Buffer.from(c.text);
    let failed = 0;
    for (const cut of cuts(buf)) {
      const two = await readInTwo(
        path,
        [
          { start: 0, end: cut },
          { start: cut, end: buf.length },
        ],
        c.maxRejections,
      );
      const same =
        comparable(two.result) === comparable(whole.result) &&
        JSON.stringify(two.samples) === JSON.stringify(whole.sink.samples) &&
        JSON.stringify(two.links) === JSON.stringify(whole.sink.links);
      if (!same) {
        failed++;
        t.same(two.result, whole.result, `${c.spec}: cut at byte ${cut}, result`);
        t.same(two.samples, whole.sink.samples, `${c.spec}: cut at byte ${cut}, samples`);
      }
    }
    t.equal(failed, 0, `${c.spec}: every cut of ${cuts(buf).length} reads as the whole file`);
  }
  // The cases must exercise what they claim: rejections with lines, ignored fields, links.
  const bad = await readWhole(join(dir, 'case-2.jsonl'));
  t.same(
    bad.result.rejected.map((r) => r.line),
    [2, 5, 7, 9],
    'the bad-lines case rejects the lines it means to',
  );
  const unknown = await readWhole(join(dir, 'case-6.jsonl'));
  t.same(unknown.result.ignoredFields, { vendor: 2, band: 1, zone: 2, extra: 1 }, 'the unknown-fields case counts');
  const bom = await readWhole(join(dir, 'case-5.jsonl'));
  t.same(
    bom.result.rejected.map((r) => r.line),
    [3],
    'a byte-order mark is stripped at the start only',
  );
});

void t.test('too many distinct unknown names in the second range: no join, reading on gives the counts', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-ranges-names');
  const first = Array.from({ length: 600 }, (_, i) => line(i, { [`a${i}`]: 1 }));
  const second = Array.from({ length: 1200 }, (_, i) => line(i, { [`b${i}`]: 1, a5: 2 }));
  const text = [...first, ...second].join('\n') + '\n';
  const path = join(dir, 'names.jsonl');
  await writeFile(path, text);
  const cut = Buffer.byteLength(first.join('\n') + '\n');
  const size = Buffer.byteLength(text);
  const two = await readInTwo(path, [
    { start: 0, end: cut },
    { start: cut, end: size },
  ]);
  t.equal(two.result, undefined, 'the join refuses');
  const sink = new ArraySink();
  const reader = new SampleRangeReader(sink);
  await reader.read(path, { start: 0, end: cut });
  reader.finish();
  await reader.read(path, { start: cut, end: size });
  const whole = await readWhole(path);
  t.same(sampleRangesResult(reader.finish()), whole.result, 'one reader over both ranges reads the file');
  t.equal(whole.result.ignoredFields.a5, 1201, 'a name of the first range is still counted in the second');
  t.equal(Object.keys(whole.result.ignoredFields).length, 1000, 'names are capped');
});

void t.test('jsonlRanges cuts just after a newline at or past the middle', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-ranges-cut');
  const cases: { spec: string; text: string; want: (size: number) => number | undefined }[] = [
    { spec: 'short lines: the newline after the middle', text: 'aaaa\nbbbb\ncccc\ndddd\n', want: () => 15 },
    {
      spec: 'a line longer than the look-ahead across the middle',
      text: 'a\n' + 'x'.repeat(300_000) + '\nlast\n',
      want: () => 300_003,
    },
    { spec: 'no newline past the middle: one range', text: 'a\n' + 'x'.repeat(1000), want: () => undefined },
    {
      spec: 'the newline past the middle ends the file: one range',
      text: 'a\n' + 'x'.repeat(10) + '\n',
      want: () => undefined,
    },
    { spec: 'an empty file: one range', text: '', want: () => undefined },
  ];
  for (const [k, c] of cases.entries()) {
    const path = join(dir, `cut-${k}.jsonl`);
    await writeFile(path, c.text);
    const size = Buffer.byteLength(c.text);
    const cut = c.want(size);
    t.same(
      jsonlRanges(path),
      cut === undefined
        ? [{ start: 0, end: size }]
        : [
            { start: 0, end: cut },
            { start: cut, end: size },
          ],
      c.spec,
    );
  }
});
