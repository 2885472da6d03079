/**
 * `cellwatch analyze` as an operator runs it — the compiled CLI over sample files — and the live daemon
 * fed the same samples through the push API: the same windows and targets, with or without a restart in
 * the middle of an open window, on the embedded store and on a real InfluxDB 1.6.
 *
 * The network is the simulator's (four sites, two regions, four days of 5-minute samples) with one
 * incident of each kind injected, a sleeping cell on the last day (its silent failure needs the
 * hour-of-day baselines of the days before, so it is open across the restart and has to survive it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import type { ReportWindow } from '../correlator/index.js';
import type { FullReport } from '../daemon/analyze.js';
import { Daemon } from '../daemon/daemon.js';
import type { LinkSample, Sample, TargetResult, Window } from '../model/index.js';
import { SimNetwork } from '../sim/index.js';
import { encodeLine } from '../store/lineprotocol.js';
import { linkPoint, samplePoint } from '../store/schema.js';
import { runCli } from './helpers/cellwatch.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB } from './helpers/influxdb.js';
import { makeTempDir, requireService } from './helpers/service.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TZ = 'Asia/Shanghai';
const STEP = 5 * MIN;
const DAYS = 4;

/**
 * A Monday's local midnight in Shanghai (UTC+8) a week or so back: recent enough for InfluxDB's 35-day
 * retention, and always the same days of the week — the restarted daemon's clock stands at END + 10 min
 * (a Friday 00:10) and its hour-of-day baseline needs same-kind days behind it (a start on another
 * weekday made the test pass or fail with the day it ran on).
 */
const RECENT = Math.floor((Date.now() - (DAYS + 2) * DAY + 8 * HOUR) / DAY) * DAY - 8 * HOUR;
const START = RECENT - ((new Date(RECENT + 8 * HOUR).getUTCDay() + 6) % 7) * DAY;
const END = START + DAYS * DAY;
const at = (day: number, hour: number, minute = 0) => START + day * DAY + hour * HOUR + minute * MIN;
/** The restart: inside the sleeping cell's silent failure, day 3 11:00–13:00 local. */
const CUT = at(3, 11, 30);

function scenario() {
  const net = SimNetwork.create({ seed: 21, regions: 2, sites: 4, start: START, timezone: TZ, incidents: 'none' });
  const s = (i: number) => net.sites[i]!;
  const add = (
    kind: Parameters<SimNetwork['addIncident']>[0]['kind'],
    site: number,
    cells: number[],
    from: number,
    to: number,
    severity: number,
    linkDown?: boolean,
  ) =>
    net.addIncident({
      kind,
      site: s(site).id,
      cells: cells.map((c) => s(site).cells[c]!),
      start: from,
      end: to,
      severity,
      ...(linkDown ? { linkDown } : {}),
    });
  add('congestion', 3, [0], at(1, 19), at(1, 20, 30), 0.8);
  add('outage', 0, [0], at(1, 19, 30), at(1, 20, 30), 1);
  add('interference', 2, [1], at(2, 10), at(2, 11), 0.8);
  add('backhaul', 1, [], at(2, 20), at(2, 21), 0.9);
  add('backhaul', 0, [], at(3, 8), at(3, 8, 40), 1, true);
  add('sleeping', 3, [1], at(3, 11), at(3, 13), 0.6);
  add('coverage', 2, [0], at(3, 14), at(3, 15, 30), 0.9);
  const samples: Sample[] = [];
  const links: LinkSample[] = [];
  for (let ts = START + STEP; ts <= END; ts += STEP) {
    for (const c of net.cells) samples.push({ ...net.sample(c.id, ts), intervalS: STEP / 1000 });
    for (const site of net.sites) links.push({ ...net.linkSample(site.id, ts), intervalS: STEP / 1000 });
  }
  const complaints = net.complaints(START, END + DAY).map(({ cause: _cause, ...c }) => c);
  return { net, samples, links, complaints };
}

/** A seeded shuffle: files in any order must give the same report. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const CSV_COLUMNS = [
  'cell',
  'ts',
  'source',
  'intervalS',
  'available',
  'dlMbps',
  'ulMbps',
  'latencyMs',
  'rsrpDbm',
  'rsrqDb',
  'sinrDb',
  'prbUtilPct',
  'activeUsers',
  'dlVolumeMB',
  'ulVolumeMB',
  'link',
  'site',
  'inMbps',
  'outMbps',
  'speedMbps',
  'utilPct',
  'operUp',
] as const;

function csvRow(x: Sample | LinkSample): string {
  const row = x as unknown as Record<string, string | number | boolean | undefined>;
  return CSV_COLUMNS.map((c) => {
    const v = row[c];
    return v === undefined ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  }).join(',');
}

/**
 * The same samples and links in three formats, each shuffled, each with three bad rows at known
 * lines (returned with the reason the reader must give).
 */
function writeFiles(dir: string, samples: readonly Sample[], links: readonly LinkSample[]) {
  const items: (Sample | LinkSample)[] = [...samples, ...links];
  const files: Record<'jsonl' | 'csv' | 'lp', { path: string; bad: { line: number; error: RegExp }[] }> = {
    jsonl: { path: join(dir, 'samples.jsonl'), bad: [] },
    csv: { path: join(dir, 'samples.csv'), bad: [] },
    lp: { path: join(dir, 'samples.lp'), bad: [] },
  };

  const jsonl = shuffled(items, 1).map((x) => JSON.stringify(x));
  jsonl.splice(10, 0, '{"cell":"S0001-1","ts":"yesterday","dlMbps":3}');
  jsonl.splice(200, 0, '{"cell":"S0001-1","ts":1700000000002,"dlMbps":-4}');
  jsonl.splice(3000, 0, '{"cell":"S0001-1","ts":1700000000003');
  files.jsonl.bad = badLines(jsonl, [
    ['"yesterday"', /ts/],
    ['1700000000002', /dlMbps/],
    ['1700000000003', /JSON|parse|Unexpected|Unterminated|end/i],
  ]);
  writeFileSync(files.jsonl.path, jsonl.join('\n') + '\n');

  const csv = shuffled(items, 2).map(csvRow);
  csv.splice(50, 0, 'S0002-1,not-a-time,snmp,300,1,20,2,30,-90,-10,10,40,12,100,10,,,,,,,');
  csv.splice(500, 0, 'S0002-1,1700000000002,snmp,300,1,20,2,30,-90,-10,10,140,12,100,10,,,,,,,');
  csv.splice(5000, 0, ',1700000000003,snmp,300,1,20,2,30,-90,-10,10,40,12,100,10,,,,,,,');
  csv.unshift(CSV_COLUMNS.join(','));
  files.csv.bad = badLines(csv, [
    ['not-a-time', /ts/],
    ['1700000000002', /prbUtilPct/],
    ['1700000000003', /cell|link/],
  ]);
  writeFileSync(files.csv.path, csv.join('\n') + '\n');

  const lp = shuffled(items, 3).map((x) => encodeLine('cell' in x ? samplePoint(x) : linkPoint(x)));
  lp.splice(70, 0, 'cell_kpi,cell=S0003-1,source=snmp dlMbps=abc 1700000000001');
  lp.splice(700, 0, 'cell_kpi,cell=S0003-1,source=snmp sinrDb=400 1700000000002');
  lp.splice(7000, 0, 'cpu,host=a usage=3 1700000000003');
  files.lp.bad = badLines(lp, [
    ['1700000000001', /./],
    ['1700000000002', /sinrDb/],
    ['1700000000003', /measurement/],
  ]);
  writeFileSync(files.lp.path, lp.join('\n') + '\n');
  return files;
}

/** The 1-based line holding each marker, with the reason the reader must give for it. */
function badLines(lines: readonly string[], bad: [string, RegExp][]): { line: number; error: RegExp }[] {
  return bad.map(([marker, error]) => ({ line: lines.findIndex((l) => l.includes(marker)) + 1, error }));
}

const { net, samples, links, complaints } = scenario();
const dayOf = (ms: number) => new Date(ms + 8 * HOUR).toISOString().slice(0, 10);
const DAYS_LOCAL = Array.from({ length: DAYS + 1 }, (_, i) => dayOf(START + i * DAY));

interface Prepared {
  dir: string;
  config: string;
  inventory: string;
  files: ReturnType<typeof writeFiles>;
  complaintsFile: string;
}
let prepared: Prepared | undefined;
async function prepare(): Promise<Prepared> {
  if (prepared) return prepared;
  const dir = await makeTempDir('cellwatch-analyze-');
  const config = join(dir, 'cellwatch.yaml');
  writeFileSync(config, `timezone: ${TZ}\n`);
  const inventory = join(dir, 'cells.csv');
  writeFileSync(inventory, net.inventoryCsv());
  const complaintsFile = join(dir, 'complaints.jsonl');
  writeFileSync(complaintsFile, complaints.map((c) => JSON.stringify(c)).join('\n') + '\n');
  prepared = { dir, config, inventory, files: writeFiles(dir, samples, links), complaintsFile };
  return prepared;
}

let reference: FullReport | undefined;

void t.test(
  'analyze: JSONL, CSV and line protocol in any order give one report; bad rows named, the rest analysed',
  async (t) => {
    const p = await prepare();
    const reports: Record<string, FullReport> = {};
    for (const [format, f] of Object.entries(p.files)) {
      const out = join(p.dir, `report-${format}.json`);
      const args = ['analyze', '--samples', f.path, '--inventory', p.inventory, '--config', p.config, '--out', out];
      if (format === 'jsonl') args.push('--complaints', p.complaintsFile);
      const run = await runCli(args);
      t.equal(run.code, 0, `${format}: exit 0 (${run.stderr.slice(-500)})`);
      const r = JSON.parse(readFileSync(out, 'utf8')) as FullReport;
      reports[format] = r;
      t.equal(r.input.samples, samples.length, `${format}: every good sample analysed (${r.input.samples})`);
      t.equal(r.input.links, links.length, `${format}: and every link sample`);
      t.equal(r.rejected.samplesCount, 3, `${format}: three rows rejected`);
      t.same(
        r.rejected.samples.map((x) => x.line),
        f.bad.map((b) => b.line),
        `${format}: each named by its line (${f.bad.map((b) => b.line).join(', ')})`,
      );
      r.rejected.samples.forEach((x, i) =>
        t.match(`${x.field ?? ''} ${x.error}`, f.bad[i]!.error, `${format}: line ${x.line}: ${x.error}`),
      );
      t.match(
        run.stdout,
        new RegExp(
          `samples: ${samples.length.toLocaleString('en-US')} from ${net.cells.length} cells, ${links.length} link samples`,
        ),
        `${format}: summary: the input`,
      );
      t.match(run.stdout, /; 3 rows rejected/, `${format}: summary: the rejections`);
      t.match(run.stdout, new RegExp(`line ${f.bad[0]!.line}`), `${format}: summary: the first bad line`);
      t.match(run.stdout, /^windows: \d+ \(.*outage \d/m, `${format}: summary: windows by cause`);
      t.match(
        run.stdout,
        /target \(good-experience share at peak hours, goal 95\.0%\):/,
        `${format}: summary: the target table`,
      );
      for (const region of net.regions)
        t.match(
          run.stdout,
          new RegExp(`${DAYS_LOCAL[1]}  region   ${region.id}`),
          `${format}: summary: ${region.id} on day 1`,
        );
      t.match(run.stdout, /^worst cells: \S+ \d/m, `${format}: summary: the worst cells`);
      t.match(
        run.stdout,
        new RegExp(`report: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
        `${format}: where the report is`,
      );
      t.notMatch(run.stderr, /\r/, `${format}: no progress bar when stderr is not a terminal`);
    }
    const { jsonl, csv, lp } = reports as Record<'jsonl' | 'csv' | 'lp', FullReport>;
    const gist = (r: FullReport) => ({ windows: r.windows, targets: r.targets, cells: r.cells, summary: r.summary });
    t.same(gist(csv), gist(jsonl), 'CSV gives the report JSONL gives');
    t.same(gist(lp), gist(jsonl), 'and so does line protocol');
    reference = jsonl;

    // The report's shape, as docs/detection.md documents it.
    const r = jsonl;
    t.same(
      Object.keys(r).sort(),
      ['cells', 'complaints', 'input', 'rejected', 'settings', 'summary', 'targets', 'windows'],
      'top-level keys',
    );
    t.match(r.settings, { timezone: TZ, target: { ratio: 0.95, peak: { from: '19:00', to: '22:00' } } });
    const causes = new Set(r.windows.map((w) => w.cause));
    for (const c of ['outage', 'backhaul', 'coverage', 'interference', 'congestion', 'silent-failure'])
      t.ok(causes.has(c as ReportWindow['cause']), `a ${c} window among the injected incidents`);
    for (const w of r.windows) {
      t.match(
        w,
        {
          id: /^W-/,
          cell: /^S\d+-\d+$/,
          start: /^\d{4}-\d\d-\d\dT/,
          cause: String,
          severity: Number,
          remediation: String,
        },
        `window ${w.id} has its fields`,
      );
      if (w.end !== undefined) t.ok(Date.parse(w.end) > Date.parse(w.start), `${w.id}: ends after it starts`);
    }
    const outage = r.windows.find((w) => w.cause === 'outage' && w.cell === net.sites[0]!.cells[0]);
    t.ok(
      outage && Math.abs(Date.parse(outage.start) - at(1, 19, 30)) <= STEP,
      'the outage window starts with the outage',
    );
    for (const x of r.targets)
      t.match(x, {
        day: /^\d{4}-\d\d-\d\d$/,
        scope: /^(network|region|cell)$/,
        id: String,
        goal: 0.95,
        users: Number,
        coverage: Number,
        status: /^(met|missed|insufficient-data)$/,
      });
    const day1 = r.targets.find(
      (x) => x.day === DAYS_LOCAL[1] && x.scope === 'cell' && x.id === net.sites[0]!.cells[0],
    );
    t.ok(
      day1 && day1.ratio !== null && day1.ratio < 0.95,
      `the cell down at peak misses the target on day 1 (${day1?.ratio})`,
    );
    t.equal(r.cells.length, net.cells.length, 'one entry per inventory cell');
    t.match(r.cells[0], { id: String, busyHour: Number, baseline: String, windows: Number });

    // --complaints: each complaint with its correlation; the ones during incidents explained.
    t.equal(r.complaints?.length, complaints.length, 'every complaint reported');
    const network = (r.complaints ?? []).filter((c) => c.category === 'network' && !c.rejected);
    const explained = network.filter((c) => c.explained);
    t.ok(explained.length >= 1, `network complaints explained by windows (${explained.length} of ${network.length})`);
    t.ok(
      explained.every((c) => c.windows.length > 0 && c.windows.every((w) => r.windows.some((x) => x.id === w.id))),
      'by windows of the report',
    );
    const text = await runCli([
      'analyze',
      '--samples',
      p.files.jsonl.path,
      '--inventory',
      p.inventory,
      '--config',
      p.config,
      '--complaints',
      p.complaintsFile,
    ]);
    t.match(
      text.stdout,
      new RegExp(
        `complaints: ${complaints.length}, network ${network.length}, explained by the network ${explained.length}`,
      ),
      'summary: complaints',
    );

    const missing = await runCli(['analyze', '--samples', join(p.dir, 'nope.jsonl')]);
    t.not(missing.code, 0, 'a missing file fails');
    t.match(missing.stderr, /nope\.jsonl/, 'and says which');
  },
);

// ---------------------------------------------------------------------------------------------
// The live daemon fed the same samples

type Store = { kind: 'embedded' } | { kind: 'influxdb-v1'; url: string; database: string };

function daemonConfig(dir: string, inventory: string, store: Store) {
  return parseConfig(
    {
      timezone: TZ,
      http: { listen: '127.0.0.1:0' },
      dataDir: join(dir, 'data'),
      inventory,
      store,
    },
    { env: {} },
  );
}

async function startDaemon(dir: string, inventory: string, store: Store) {
  const clock = new ManualClock(END + 10 * MIN);
  const daemon = new Daemon(daemonConfig(dir, inventory, store), {
    scheduler: new ManualScheduler(clock),
    log: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  await daemon.start();
  return daemon;
}

/** Samples and links in time order (cells and links of a step side by side), through POST /api/v1/samples. */
async function push(t: Test, url: string, from: number, to: number): Promise<void> {
  const items: (Sample | LinkSample)[] = [];
  for (const s of samples) if (s.ts > from && s.ts <= to) items.push(s);
  for (const l of links) if (l.ts > from && l.ts <= to) items.push(l);
  items.sort((a, b) => a.ts - b.ts);
  let accepted = 0;
  for (let i = 0; i < items.length; i += 1500) {
    const res = await fetch(`${url}/api/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(items.slice(i, i + 1500)),
    });
    const body = (await res.json()) as { accepted?: number; rejected?: unknown[] };
    if (res.status !== 202) t.fail(`push answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    accepted += body.accepted ?? 0;
  }
  t.equal(accepted, items.length, `pushed ${items.length} samples and links`);
}

/** The daemon's windows as the report writes them (epoch → RFC 3339). */
function asReport(w: Window): ReportWindow {
  const { lastBad: _lastBad, ...rest } = w;
  return JSON.parse(
    JSON.stringify({
      ...rest,
      start: new Date(w.start).toISOString(),
      ...(w.end !== undefined ? { end: new Date(w.end).toISOString() } : {}),
    }),
  ) as ReportWindow;
}
const byId = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => (a.id < b.id ? -1 : 1));
const sortKeys = (x: unknown): unknown =>
  Array.isArray(x)
    ? x.map(sortKeys)
    : x && typeof x === 'object'
      ? Object.fromEntries(
          Object.entries(x)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, v]) => [k, sortKeys(v)]),
        )
      : x;

/**
 * After a restart the baselines come from the store's rollups, which keep float means; the detector's
 * own hourly ring keeps 1/100 of a unit per sample. A baseline median may then differ in its third
 * decimal: `tolerant` checks those within 0.01 and everything else exactly.
 */
function splitBaselines(ws: readonly ReportWindow[]): { windows: unknown; baselines: number[] } {
  const baselines: number[] = [];
  const windows = ws.map((w) => ({
    ...w,
    evidence: {
      ...w.evidence,
      kpis: w.evidence.kpis.map(({ baseline, ...k }) => {
        if (baseline !== undefined) baselines.push(baseline);
        return k;
      }),
    },
  }));
  return { windows: sortKeys(windows), baselines };
}

async function compareWithAnalyze(t: Test, url: string, report: FullReport, tolerant: boolean): Promise<void> {
  const listed = (await (await fetch(`${url}/api/v1/windows?limit=10000`)).json()) as { windows: Window[] };
  const mine = byId(listed.windows.map(asReport));
  const theirs = byId(report.windows);
  const what = `GET /windows: the ${report.windows.length} windows of the analyze report, field for field`;
  if (!tolerant) t.same(sortKeys(mine), sortKeys(theirs), what);
  else {
    const a = splitBaselines(mine);
    const b = splitBaselines(theirs);
    t.same(a.windows, b.windows, `${what} (baselines apart)`);
    const off = a.baselines.filter((x, i) => !(Math.abs(x - b.baselines[i]!) <= 0.01));
    t.same(off, [], `and their ${b.baselines.length} baseline medians within 0.01`);
  }
  for (const scope of ['network', 'region', 'cell'] as const) {
    const res = (await (
      await fetch(`${url}/api/v1/targets?from=${DAYS_LOCAL[0]}&to=${DAYS_LOCAL[DAYS]}&scope=${scope}`)
    ).json()) as { results: TargetResult[] };
    const key = (x: TargetResult) => `${x.day}|${x.id}`;
    const ours = report.targets.filter((x) => x.scope === scope).sort((a, b) => (key(a) < key(b) ? -1 : 1));
    t.same(
      sortKeys([...res.results].sort((a, b) => (key(a) < key(b) ? -1 : 1))),
      sortKeys(ours),
      `GET /targets?scope=${scope}: the report's ${ours.length} results, to the last digit`,
    );
  }
  const one = report.windows.find((w) => w.cause === 'silent-failure')!;
  const got = (await (await fetch(`${url}/api/v1/windows/${encodeURIComponent(one.id)}`)).json()) as Window;
  t.same(splitBaselines([asReport(got)]).windows, splitBaselines([one]).windows, 'GET /windows/:id');
}

async function liveRun(t: Test, store: () => Promise<Store>, restart: boolean): Promise<void> {
  const p = await prepare();
  if (!reference) {
    // Run alone (--grep): the report of the JSONL file, without complaints.
    const out = join(p.dir, 'report-alone.json');
    await runCli([
      'analyze',
      '--samples',
      p.files.jsonl.path,
      '--inventory',
      p.inventory,
      '--config',
      p.config,
      '--out',
      out,
    ]);
    reference = JSON.parse(readFileSync(out, 'utf8')) as FullReport;
  }
  const report = reference;
  const dir = await makeTempDir('cellwatch-live-');
  const s = await store();
  let daemon = await startDaemon(dir, p.inventory, s);
  t.teardown(() => daemon.stop());
  if (restart) {
    await push(t, daemon.url!, START, CUT);
    const before = (await (await fetch(`${daemon.url}/api/v1/windows?open=true`)).json()) as { windows: Window[] };
    const silent = before.windows.find((w) => w.cause === 'silent-failure');
    t.ok(
      silent,
      `a silent-failure window is open at the restart (open: ${before.windows.map((w) => `${w.cell} ${w.cause}`).join(', ')})`,
    );
    await daemon.stop();
    daemon = await startDaemon(dir, p.inventory, s);
    const after = (await (await fetch(`${daemon.url}/api/v1/windows?open=true`)).json()) as { windows: Window[] };
    t.same(
      after.windows.map((w) => w.id),
      before.windows.map((w) => w.id),
      'the same windows are open after the restart',
    );
    const cell = (await (await fetch(`${daemon.url}/api/v1/cells/${silent!.cell}`)).json()) as {
      baseline: string;
      openWindows: Window[];
    };
    t.equal(cell.baseline, 'hour-of-day', 'baselines rebuilt from the store’s hourly rollups (three days of history)');
    t.same(
      cell.openWindows.map((w) => w.id),
      [silent!.id],
      'GET /cells/:id shows the open window',
    );
    await push(t, daemon.url!, CUT, END);
  } else {
    await push(t, daemon.url!, START, END);
  }
  await compareWithAnalyze(t, daemon.url!, report, restart);
  const all = (await (await fetch(`${daemon.url}/api/v1/windows?limit=10000`)).json()) as { windows: Window[] };
  for (const c of new Set(all.windows.map((w) => w.cell))) {
    const mine = all.windows.filter((w) => w.cell === c && w.stream === 'counters').sort((a, b) => a.start - b.start);
    for (let i = 1; i < mine.length; i++)
      if ((mine[i - 1]!.end ?? Infinity) > mine[i]!.start)
        t.fail(`${c}: windows ${mine[i - 1]!.id} and ${mine[i]!.id} overlap`);
  }
}

void t.test('the live daemon fed the same samples gives the analyze report (embedded store)', async (t) => {
  await liveRun(t, async () => ({ kind: 'embedded' }), false);
});

void t.test('a restart inside an open window: resumed, baselines rebuilt, the same report (embedded)', async (t) => {
  await liveRun(t, async () => ({ kind: 'embedded' }), true);
});

void t.test('a restart inside an open window on InfluxDB 1.6: the same', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  await liveRun(t, async () => ({ kind: 'influxdb-v1', url: influx.url, database: 'detect' }), true);
});
