/**
 * Sample files: JSON lines (chunked array parsing and its line-by-line fallback), JSON arrays, CSV and
 * line protocol; formats from the name or sniffed; gzip; line numbers across chunk boundaries;
 * progress; and an InfluxDB export-format file that the real `influx -import` takes too.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { readSampleFile, sniffFormat, guessPrecision } from '../collectors/intake/files.js';
import { TextNormalizer, detectDelimiter } from '../collectors/intake/text.js';
import { ArraySink } from '../collectors/intake/index.js';
import type { Sample } from '../model/index.js';
import { encodeLines } from '../store/lineprotocol.js';
import { samplePoint } from '../store/schema.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB } from './helpers/influxdb.js';
import { findBinary, makeTempDir, requireService } from './helpers/service.js';

const TS = Date.UTC(2026, 10, 28, 12, 0, 0);

function samples(n: number): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      cell: `C${i % 7}`,
      ts: TS + i * 60_000,
      source: 'snmp',
      intervalS: 60,
      dlMbps: Math.round((i * 7.31) % 90) / 4,
      activeUsers: i % 13,
      available: i % 17 !== 0,
      ...(i % 3 ? { rsrpDbm: -70 - (i % 40) } : {}),
    });
  return out;
}

void t.test('JSON lines', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-files');
  const want = samples(3000);
  const lines = want.map((s) => JSON.stringify(s));
  // Bad lines scattered through the file: broken JSON, an out-of-range value, a blank line, an array.
  const bad = new Map<number, string>([
    [10, '{"cell":"C1","ts":'],
    [1500, JSON.stringify({ cell: 'C1', ts: TS, dlMbps: -4 })],
    [2999, '[1,2]'],
  ]);
  const body: string[] = [];
  const wantRejected: [number, number, string | undefined][] = [];
  let index = 0;
  for (let i = 0; i < lines.length; i++) {
    const b = bad.get(i);
    if (b !== undefined) {
      body.push(b);
      wantRejected.push([
        index++,
        body.length,
        b.startsWith('{"cell":"C1","ts":') && b.length < 20 ? undefined : b.startsWith('[') ? undefined : 'dlMbps',
      ]);
    }
    if (i === 2000) body.push('   ');
    body.push(lines[i]!);
    index++;
  }
  const text = '\ufeff' + body.join('\r\n') + '\r\n';
  const path = join(dir, 'samples.jsonl');
  await writeFile(path, text);
  for (const chunkBytes of [1 << 20, 4096, 97]) {
    const sink = new ArraySink();
    const progress: [number, number][] = [];
    const r = await readSampleFile(path, sink, { chunkBytes, onProgress: (b, total) => progress.push([b, total]) });
    t.equal(r.format, 'jsonl', `${chunkBytes}: format from the extension`);
    t.same(sink.samples, want, `${chunkBytes}-byte chunks: every good line, in order`);
    t.same(
      r.rejected.map((x) => [x.index, x.line, x.field]),
      wantRejected,
      `${chunkBytes}: bad lines by index, line number and field`,
    );
    t.equal(r.records, want.length + bad.size, `${chunkBytes}: records = non-blank lines`);
    t.equal(progress.at(-1)?.[0], Buffer.byteLength(text), `${chunkBytes}: progress reaches the size`);
    t.equal(progress.at(-1)?.[1], Buffer.byteLength(text), `${chunkBytes}: total is the file size`);
  }
  const r = await readSampleFile(path, new ArraySink());
  t.match(r.rejected[0]!.error, /invalid JSON/);
  t.match(r.rejected[2]!.error, /expected a sample object, got an array/);
  t.same(
    (await readSampleFile(path, new ArraySink(), { source: 'probe' })).samples,
    want.length,
    'a source in the options is only a default (every line names snmp here)',
  );
  const anon = join(dir, 'nosource.ndjson');
  await writeFile(anon, JSON.stringify({ cell: 'C1', ts: TS }) + '\n');
  const sink = new ArraySink();
  await readSampleFile(anon, sink);
  t.equal(sink.samples[0]?.source, 'import', 'files default to source import');
});

void t.test('JSON array, CSV and line protocol files read the same samples', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-files');
  const want = samples(500);
  const cols = [
    'ts',
    'cell',
    'source',
    'intervalS',
    'dlMbps',
    'activeUsers',
    'available',
    'rsrpDbm',
    'comment',
  ] as const;
  const csv =
    '\ufeff' +
    cols.join(';') +
    '\r\n' +
    want
      .map((s) =>
        cols
          .map((c) =>
            c === 'comment'
              ? '"a; quoted\r\nnote"'
              : c === 'ts'
                ? new Date(s.ts).toISOString()
                : String(s[c] ?? '').replace('.', ','),
          )
          .join(';'),
      )
      .join('\r\n');
  const files: [string, string | Buffer, Record<string, unknown>][] = [
    ['samples.json', JSON.stringify(want), {}],
    ['samples.csv', csv, {}],
    ['samples.lp', encodeLines(want.map((s) => samplePoint(s))), {}],
    ['samples.lp.gz', gzipSync(encodeLines(want.map((s) => samplePoint(s)))), {}],
    ['sniffed-csv.dat', csv, {}],
    ['sniffed-lp', encodeLines(want.map((s) => samplePoint(s))), {}],
    ['sniffed-jsonl', want.map((s) => JSON.stringify(s)).join('\n'), {}],
  ];
  for (const [name, content, opts] of files) {
    const path = join(dir, name);
    await writeFile(path, content);
    const sink = new ArraySink();
    const r = await readSampleFile(path, sink, opts);
    t.equal(r.error, undefined, `${name}: read`);
    t.same(sink.samples, want, `${name}: the same samples (${r.format})`);
    t.equal(r.rejectedCount, 0, `${name}: nothing refused`);
  }
  const csvResult = await readSampleFile(join(dir, 'samples.csv'), new ArraySink());
  t.same(csvResult.warnings, ['ignored unknown column "comment"'], 'an unknown column is named once');
  t.equal(csvResult.records, want.length, 'quoted newlines do not make rows');
  const lp = await readSampleFile(join(dir, 'samples.lp'), new ArraySink());
  t.equal(lp.precision, 'ms', 'millisecond timestamps recognised');
  t.match(lp.warnings[0], /guessed/);
});

void t.test('a pipe (/dev/stdin) is read whole: sniffing it does not eat its first lines', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-pipe');
  const want = samples(3000); // ≈ 400 KB: more than the 64 KiB a sniff reads
  const jsonl = want.map((s) => JSON.stringify(s)).join('\n') + '\n';
  const cases: [string, string, (path: string) => Promise<{ n: number; first: unknown; rejected: number }>][] = [
    [
      'JSON lines samples, format sniffed',
      jsonl,
      async (path) => {
        const sink = new ArraySink();
        const r = await readSampleFile(path, sink);
        return { n: sink.samples.length, first: sink.samples[0], rejected: r.rejectedCount };
      },
    ],
    [
      'line protocol samples, format and precision sniffed',
      encodeLines(want.map((s) => samplePoint(s))),
      async (path) => {
        const sink = new ArraySink();
        const r = await readSampleFile(path, sink);
        return { n: sink.samples.length, first: sink.samples[0], rejected: r.rejectedCount };
      },
    ],
  ];
  for (const [k, [spec, text, read]] of cases.entries()) {
    const fifo = join(dir, `pipe-${k}`);
    const made = spawnSync('mkfifo', [fifo]);
    t.equal(made.status, 0, `${spec}: mkfifo`);
    // The writer blocks until the reader opens the pipe; both run at once.
    const [got] = await Promise.all([read(fifo), writeFile(fifo, text)]);
    t.same(got, { n: want.length, first: want[0], rejected: 0 }, `${spec}: every sample, the first one first`);
  }
});

void t.test('file-level problems and line protocol details', async (t) => {
  const dir = await makeTempDir('cellwatch-intake-files');
  const write = async (name: string, content: string) => {
    const p = join(dir, name);
    await writeFile(p, content);
    return p;
  };
  const noTs = await readSampleFile(await write('a.csv', 'cell,dlMbps\nC1,3\n'), new ArraySink());
  t.match(noTs.error, /no "ts" column/, 'a header without ts');
  const empty = await readSampleFile(await write('b.csv', ''), new ArraySink());
  t.match(empty.error, /empty/, 'an empty CSV');
  const big = await readSampleFile(await write('c.json', JSON.stringify(samples(10))), new ArraySink(), {
    maxJsonBytes: 100,
  });
  t.match(big.error, /too big to parse at once.*JSON lines/, 'a JSON array over the limit');
  const broken = await readSampleFile(await write('d.json', '[{"cell":'), new ArraySink());
  t.match(broken.error, /invalid JSON/, 'a broken JSON array');
  const csvRows = await readSampleFile(
    await write(
      'e.csv',
      'cell,ts,dlMbps,text\nC1,1764331200000,1,ok\nC1,1764331200000,2,"never closed\nC1,1764331200000,3,lost\n',
    ),
    new ArraySink(),
  );
  t.same(
    csvRows.rejected.map((r) => [r.index, r.line]),
    [[1, 3]],
    'an unterminated quote is placed where its row starts',
  );
  t.equal(csvRows.samples, 1);

  // An influx_inspect export: header comments, a DDL section, CONTEXT lines, nanoseconds.
  const exportText = [
    '# INFLUXDB EXPORT: 1677-09-21T00:12:43Z - 2262-04-11T23:47:16Z',
    '# DDL',
    'CREATE DATABASE cellwatch WITH NAME autogen',
    '# DML',
    '# CONTEXT-DATABASE:cellwatch',
    '# CONTEXT-RETENTION-POLICY:autogen',
    '# writing tsm data',
    'cell_kpi,cell=C1,source=snmp dlMbps=3,available=1 1764331200000000000',
    'cell_kpi,cell=C2,source=snmp dlMbps=4 1764331260000000000',
    'cell_kpi,cell=C3 dlMbps=5',
    '# writing wal data',
    'link,link=L1,site=S1,source=snmp utilPct=50,operUp=1 1764331200000000000',
  ].join('\n');
  const sink = new ArraySink();
  const r = await readSampleFile(await write('export.txt', exportText), sink);
  t.equal(r.precision, 'n', 'nanoseconds guessed');
  t.same(
    sink.samples.map((s) => [s.cell, s.ts, s.dlMbps]),
    [
      ['C1', 1764331200000, 3],
      ['C2', 1764331260000, 4],
    ],
    'the DDL section is skipped, the points read',
  );
  t.same(
    sink.links.map((l) => l.link),
    ['L1'],
  );
  t.same(
    r.rejected.map((x) => [x.line, x.field]),
    [[10, 'ts']],
    'a line without timestamp is refused in a file',
  );
  t.ok(
    r.warnings.some((w) => /without a timestamp/.test(w)),
    'and explained',
  );
  const withNow = await readSampleFile(join(dir, 'export.txt'), new ArraySink(), { now: TS });
  t.equal(withNow.samples, 3, 'with now given it is taken');
  const seconds = await readSampleFile(await write('s.lp', 'cell_kpi,cell=C1 dlMbps=1 1764331200\n'), new ArraySink(), {
    precision: 's',
  });
  t.equal(seconds.samples, 1, 'an explicit precision');
  const crlf = await readSampleFile(
    await write('w.lp', 'cell_kpi,cell=C1 dlMbps=1 1764331200000\r\ncell_kpi,cell=C1 dlMbps=2 1764331260000\r\n'),
    new ArraySink(),
  );
  t.equal(crlf.samples, 2, 'a Windows line-protocol file reads (CRLF folded for files)');

  const sniffs: [string, string][] = [
    ['{"cell":"C1"}', 'jsonl'],
    ['  [ {"cell":"C1"} ]', 'json'],
    ['cell,ts,dlMbps\nC1,1,2', 'csv'],
    ['cell_kpi,cell=C1 dlMbps=1 1', 'lp'],
    ['# comment\ncell_kpi,cell=C1 dlMbps=1 1', 'lp'],
    ['\ufeffcell;ts\n', 'csv'],
  ];
  for (const [head, want] of sniffs) t.equal(sniffFormat(head), want, `sniff ${JSON.stringify(head.slice(0, 20))}`);
  const precisions: [string, string | undefined][] = [
    ['m v=1 1764331200000000000', 'n'],
    ['m v=1 1764331200000000', 'u'],
    ['m v=1 1764331200000', 'ms'],
    ['m v=1 1764331200', 's'],
    ['# only a comment\nm v=1', undefined],
  ];
  for (const [text, want] of precisions)
    t.equal(guessPrecision(text), want, `guess ${want ?? 'nothing'} from ${text.slice(-22)}`);
});

void t.test('text normalisation and delimiters', async (t) => {
  const text = '\ufeffa,b\r\n"x\r\ny",2\r\n\r\nlast\r';
  const want = 'a,b\n"x\ny",2\n\nlast\r';
  for (const size of [1, 2, 3, 5, 1000]) {
    const n = new TextNormalizer();
    let out = '';
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += size) out += n.push(bytes.subarray(i, i + size));
    out += n.end();
    t.equal(out, want, `${size}-byte chunks: BOM gone, CRLF folded even when split, a lone final CR kept`);
  }
  const delimiters: [string, string][] = [
    ['id,receivedAt,channel', ','],
    ['Ticket-Nr;Eingang;Kanal', ';'],
    ['id\treceivedAt\tchannel', '\t'],
    ['"a;b",c,d', ','],
    ['"x,y";z', ';'],
    ['single', ','],
  ];
  for (const [line, want] of delimiters) t.equal(detectDelimiter(line), want, `delimiter of ${JSON.stringify(line)}`);
});

void t.test('an export-format file: the real influx -import takes it, and it reads back the same', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influxCli = findBinary('influx');
  if (!influxCli) {
    t.pass('the influx CLI is not installed (apt-get install influxdb-client)', { skip: true });
    return;
  }
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  const dir = await makeTempDir('cellwatch-intake-files');
  const want = samples(300).map((s, i) => ({ ...s, ts: Date.now() - 3_600_000 + i * 1000 }));
  const ns = encodeLines(want.map((s) => samplePoint(s))).replace(/ (\d+)\n/g, (_, ms: string) => ` ${ms}000000\n`);
  const file = join(dir, 'export.lp');
  await writeFile(
    file,
    [
      '# DDL',
      'CREATE DATABASE imported',
      '# DML',
      '# CONTEXT-DATABASE: imported',
      '# CONTEXT-RETENTION-POLICY: autogen',
      ns,
    ].join('\n'),
  );
  const run = spawnSync(
    influxCli,
    ['-host', '127.0.0.1', '-port', String(influx.port), '-import', '-path', file, '-precision', 'ns'],
    {
      encoding: 'utf8',
    },
  );
  t.equal(run.status, 0, `influx -import succeeded: ${run.stdout}${run.stderr}`);
  t.match(run.stdout + run.stderr, /Processed 300 inserts[\s\S]*Failed 0 inserts/, 'every point imported');
  const res = (await influx.query('SELECT count(dlMbps) FROM cell_kpi', 'imported')) as {
    results: { series?: { values: [string, number][] }[] }[];
  };
  t.equal(res.results[0]?.series?.[0]?.values[0]?.[1], want.length, 'InfluxDB holds every sample');
  const sink = new ArraySink();
  const r = await readSampleFile(file, sink);
  t.equal(r.rejectedCount, 0, 'cellwatch reads the same file');
  t.same(sink.samples, want, 'to the same samples');
});
