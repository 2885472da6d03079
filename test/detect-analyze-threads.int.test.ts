/**
 * `cellwatch analyze --threads 2` (the default for big inputs: the second half of a JSON-lines file
 * read, and half the cells analysed, in a worker thread) writes the report `--threads 1` writes, byte
 * for byte, over the compiled CLI — links, an inventory with a cell that sends nothing, bad rows in
 * both halves rejected by line, CRLF — and refuses a thread count it does not have.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { FullReport } from '../daemon/analyze.js';
import { SimNetwork } from '../sim/index.js';
import { runCli } from './helpers/cellwatch.js';
import { makeTempDir } from './helpers/service.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// Monday 2026-03-02 00:00 in Shanghai.
const START = Date.parse('2026-03-02T00:00:00+08:00');
const STEP = 5 * MIN;

void t.test('--threads 2 and --threads 1 write the same report', async (t) => {
  const dir = await makeTempDir('cellwatch-analyze-threads');
  const net = SimNetwork.create({ seed: 3, regions: 2, sites: 5, start: START, timezone: 'Asia/Shanghai' });
  net.addIncident({
    kind: 'outage',
    site: net.sites[1]!.id,
    cells: [net.sites[1]!.cells[0]!],
    start: START + 3 * DAY + 20 * HOUR,
    end: START + 3 * DAY + 21 * HOUR,
    severity: 1,
  });
  net.addIncident({
    kind: 'backhaul',
    site: net.sites[4]!.id,
    cells: [],
    start: START + 3 * DAY + 19 * HOUR,
    end: START + 3 * DAY + 20 * HOUR,
    severity: 1,
    linkDown: true,
  });
  const lines: string[] = [];
  for (let ts = START + STEP; ts <= START + 4 * DAY; ts += STEP) {
    for (const c of net.cells) lines.push(JSON.stringify(net.sample(c.id, ts)));
    for (const s of net.sites) lines.push(JSON.stringify({ kind: 'link', ...net.linkSample(s.id, ts) }));
  }
  lines.splice(100, 0, '{"cell":"S1-1","ts":"yesterday"}');
  lines.splice(2000, 0, '{"cell":"S1-1","ts":1772409600000,"dlMbps":-4}');
  // The second half too (two threads read a JSON-lines file by halves): a broken line, a blank one, an
  // unknown field.
  const half = Math.floor(lines.length / 2);
  lines.splice(half + 50, 0, '{"cell":"S1-1","ts":');
  lines.splice(half + 60, 0, '');
  lines[half + 70] = lines[half + 70]!.replace('{', '{"vendorKpi":3,');
  const samples = join(dir, 'samples.jsonl');
  writeFileSync(samples, lines.join('\n') + '\n');
  // The same lines with CRLF ends and the last line without one: the same report.
  const crlf = join(dir, 'samples-crlf.jsonl');
  writeFileSync(crlf, lines.join('\r\n'));
  const inventory = join(dir, 'cells.csv');
  const cells = [...net.cells, { ...net.cells[0]!, id: 'ZZ-silent' }];
  writeFileSync(
    inventory,
    ['id,site,region,lat,lon', ...cells.map((c) => `${c.id},${c.site},${c.region},${c.lat},${c.lon}`)].join('\n') +
      '\n',
  );
  const config = join(dir, 'cellwatch.yaml');
  writeFileSync(config, 'timezone: Asia/Shanghai\n');

  const reports: string[] = [];
  for (const [threads, file] of [
    ['1', samples],
    ['2', samples],
    ['2', crlf],
  ] as const) {
    const out = join(dir, `report-${threads}-${reports.length}.json`);
    const r = await runCli([
      'analyze',
      '--samples',
      file,
      '--inventory',
      inventory,
      '--config',
      config,
      '--out',
      out,
      '--threads',
      threads,
    ]);
    t.equal(r.code, 0, `--threads ${threads} exits 0 (${r.stderr.slice(-300)})`);
    t.match(
      r.stderr,
      /ignored unknown field "vendorKpi" \(1 time\)/,
      `--threads ${threads}: the unknown field is told`,
    );
    reports.push(readFileSync(out, 'utf8'));
  }
  t.equal(reports[1], reports[0], 'the two reports are the same to the byte');
  t.equal(reports[2], reports[0], 'CRLF and no last newline, in two threads: the same report');
  const report = JSON.parse(reports[0]!) as FullReport;
  t.ok(report.windows.length > 0, `the incidents make windows (${report.windows.length})`);
  t.ok(
    report.windows.some((w) => w.cause === 'backhaul'),
    'a backhaul window: the links reached the worker thread',
  );
  t.same(
    report.rejected.samples.map((r) => [r.line, r.field]),
    [
      [101, 'ts'],
      [2001, 'dlMbps'],
      [half + 51, undefined],
    ],
    'the bad rows are rejected by line and field, the rest analysed',
  );
  t.equal(report.rejected.samplesCount, 3, 'the blank line is no rejection');
  t.ok(
    report.targets.some((x) => x.scope === 'cell' && x.id === 'ZZ-silent'),
    'the inventory cell that sent nothing has its rows',
  );

  const bad = await runCli(['analyze', '--samples', samples, '--threads', '3']);
  t.not(bad.code, 0, '--threads 3 is refused');
  t.match(bad.stderr, /threads.*1 or 2/, 'with the values it takes');
});
