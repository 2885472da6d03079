/**
 * The daemon as an operator runs it: the compiled CLI in a child process (`npm test` builds dist/
 * first), talking HTTP on a free loopback port, polling the simulator's real SNMP agents.
 */
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { packageRoot } from '../daemon/paths.js';
import type { Sample } from '../model/index.js';
import { CLI, spawnCellwatch, waitReady, type CellwatchProcess } from './helpers/cellwatch.js';
import { eventually, freePort, makeTempDir, requireService, waitFor } from './helpers/service.js';

async function startDemo(t: Test, dataDir: string): Promise<CellwatchProcess & { url: string }> {
  const port = await freePort('tcp');
  const demo = spawnCellwatch(
    t,
    ['demo', '--sites', '6', '--rate', '600', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
    { ...process.env, NODE_ENV: 'test' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, demo);
  return { ...demo, url };
}

async function cells(url: string): Promise<{ id: string; status: string; latest: Sample | null }[]> {
  const body = (await (await fetch(`${url}/api/v1/cells`)).json()) as {
    cells: { id: string; status: string; latest: Sample | null }[];
  };
  return body.cells;
}

void t.test('demo: simulated cells flow to the API, change over time, and SIGTERM stops cleanly', async (t) => {
  const dataDir = await makeTempDir('cellwatch-demo-');
  const d = await startDemo(t, dataDir);
  t.match(d.output(), new RegExp(`board: +${d.url}/`), 'prints the board URL');

  // Sites are polled spread over the interval: wait for a whole round rather than the first site's answer
  // (the demo's simulated history is there before it: its samples say `source: sim`).
  await eventually(async () => {
    const all = await cells(d.url);
    return all.filter((c) => c.latest?.source === 'snmp').length >= all.length * 0.9;
  }, 15_000);
  const first = await cells(d.url);
  t.ok(first.length >= 18, `lists the simulated cells (${first.length})`);
  const withData = first.filter((c) => c.latest?.source === 'snmp');
  t.ok(withData.length >= first.length * 0.9, `most cells have KPIs (${withData.length}/${first.length})`);
  const s = withData[0]!.latest!;
  t.equal(s.source, 'snmp', 'KPIs come from the SNMP poll');
  for (const k of ['dlMbps', 'ulMbps', 'rsrpDbm', 'sinrDb', 'prbUtilPct', 'activeUsers'] as const)
    t.type(s[k], 'number', `${k} present`);

  const before = new Map(first.map((c) => [c.id, c.latest]));
  const movedOn = async () =>
    (await cells(d.url)).filter((c) => c.latest && before.get(c.id) && c.latest.ts > before.get(c.id)!.ts);
  await sleep(1500); // ~15 simulated minutes at 600×
  await eventually(async () => (await movedOn()).length >= withData.length * 0.9, 15_000);
  const moved = await movedOn();
  t.ok(moved.length >= withData.length * 0.9, `newer samples arrived (${moved.length})`);
  t.ok(
    moved.some((c) => c.latest!.dlMbps !== before.get(c.id)!.dlMbps),
    'KPIs change over time',
  );

  const page = await (await fetch(`${d.url}/`)).text();
  t.match(page, /<title>cellwatch<\/title>/, 'the board is served at /');
  const metrics = await (await fetch(`${d.url}/metrics`)).text();
  const accepted = Number(/cellwatch_samples_total\{source="snmp"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  t.ok(accepted > 0, `ingest counted in /metrics (${accepted})`);
  // Prometheus' own linter on our exposition: no gauge named like a counter, units in names, help texts.
  if (requireService(t, 'promtool', 'apt-get install prometheus')) {
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    t.equal(lint.status, 0, `promtool check metrics passes (${lint.stdout}${lint.stderr})`);
  }

  const stopAt = Date.now();
  d.child.kill('SIGTERM');
  const exit = await d.exited;
  const stopMs = Date.now() - stopAt;
  t.equal(exit.code, 0, 'exit code 0 after SIGTERM');
  t.ok(stopMs < 10_000, `stopped within 10 s (${stopMs} ms)`);
  t.match(d.output(), /cellwatch stopped/, 'logged the end of the stop sequence');

  // The store is consistent after the stop: SQLite's own check, and the samples are there.
  for (const file of ['cellwatch.db', 'series.db']) {
    const db = new Database(join(dataDir, file), { readonly: true });
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok', `${file} integrity`);
    db.close();
  }
  // Every sample counted as accepted before the stop was flushed into the store by it (more arrived
  // between that reading and SIGTERM, so the store holds at least as many).
  const series = new Database(join(dataDir, 'series.db'), { readonly: true });
  const stored = (series.prepare('select count(*) as n from sample').get() as { n: number }).n;
  series.close();
  t.ok(stored >= accepted, `accepted samples are in the store after SIGTERM (${stored} ≥ ${accepted})`);
});

void t.test('a second start on the same data dir sees the samples of the first', async (t) => {
  const dataDir = await makeTempDir('cellwatch-restart-');
  const a = await startDemo(t, dataDir);
  await waitFor(async () => (await cells(a.url)).some((c) => c.latest), 15_000, 'first samples');
  a.child.kill('SIGTERM');
  t.equal((await a.exited).code, 0);
  const b = await startDemo(t, dataDir);
  const right = await cells(b.url);
  t.ok(
    right.some((c) => c.latest),
    'latest KPIs survive a restart',
  );
  b.child.kill('SIGTERM');
  t.equal((await b.exited).code, 0);
});

void t.test('check-config: exit 0 for a good file, 2 with every problem as path: message', async (t) => {
  const dir = await makeTempDir('cellwatch-cli-');
  const good = spawnSync(process.execPath, [CLI, 'check-config', join(packageRoot, 'config/example.yaml')], {
    encoding: 'utf8',
  });
  t.equal(good.status, 0, 'example config is valid');
  t.match(good.stdout, /ok \(store embedded/);

  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    [
      'http: { listen: "0.0.0.0" }',
      'store: { kind: influxdb-v1, database: "" }',
      'snmp:',
      '  targets:',
      '    - { name: a, host: h, version: 2c }',
      'bogus: 1',
      '',
    ].join('\n'),
  );
  const res = spawnSync(process.execPath, [CLI, 'check-config', bad], { encoding: 'utf8' });
  t.equal(res.status, 2, 'exit 2');
  const lines = res.stderr.split('\n').filter((l) => l.startsWith('  '));
  t.strictSame(
    lines.map((l) => l.trim().split(':')[0]).sort(),
    ['bogus', 'http.listen', 'snmp.targets.0.community', 'store.database'],
    'every problem, one per line, each with its path',
  );

  const runBad = spawnSync(process.execPath, [CLI, 'run', '--config', bad], { encoding: 'utf8', timeout: 10_000 });
  t.equal(runBad.status, 2, '`run` with a broken config exits 2 before starting anything');

  const inv = join(dir, 'inv.csv');
  writeFileSync(inv, 'id,site,region,lat,lon\nS1-1,S1,R1,95,10\n');
  const withInv = join(dir, 'inv.yaml');
  writeFileSync(withInv, `inventory: ${inv}\n`);
  const invRes = spawnSync(process.execPath, [CLI, 'check-config', withInv], { encoding: 'utf8' });
  t.equal(invRes.status, 2, 'a bad inventory row fails check-config');
  t.match(invRes.stderr, /inv\.csv:2: lat: expected a latitude/);
});

void t.test('demo --start and --history are checked like the keys they set', async (t) => {
  const dir = await makeTempDir('cellwatch-demo-flags-');
  const args = [CLI, 'demo', '--start', 'yesterday', '--history', '40d', '--data-dir', join(dir, 'data')];
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 10_000 });
  t.equal(res.status, 2, 'exit 2 before starting anything');
  t.match(res.stderr, /sim\.start: Invalid ISO datetime/);
  t.match(res.stderr, /sim\.history: at most 28d/);
});

void t.test('a start that fails (port taken) exits 1 promptly and says why', async (t) => {
  const dir = await makeTempDir('cellwatch-fail-');
  const port = await freePort('tcp');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  t.teardown(() => void blocker.close());
  const file = join(dir, 'c.yaml');
  writeFileSync(file, `http: { listen: "127.0.0.1:${port}" }\ndataDir: ${join(dir, 'data')}\nlog: { format: json }\n`);
  const started = Date.now();
  const res = spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 15_000 });
  t.equal(res.status, 1, 'exit 1');
  t.ok(Date.now() - started < 8_000, `promptly (${Date.now() - started} ms), not after the stop deadline`);
  t.match(res.stdout, /EADDRINUSE/, 'the log names the cause');
  t.match(res.stdout, /cellwatch stopped/, 'what had started was stopped in order');
});

void t.test('SIGTERM with a request still open: connections cut after http.shutdownGrace, exit 0', async (t) => {
  const dir = await makeTempDir('cellwatch-grace-');
  const port = await freePort('tcp');
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    `http: { listen: "127.0.0.1:${port}", shutdownGrace: 1s }\ndataDir: ${join(dir, 'data')}\nlog: { format: json }\n`,
  );
  const daemon = spawnCellwatch(t, ['run', '--config', file]);
  await waitReady(`http://127.0.0.1:${port}`, daemon, 15_000);
  // A client that started a request and never finished its headers.
  const sock = connect(port, '127.0.0.1');
  t.teardown(() => void sock.destroy());
  await new Promise<void>((resolve) =>
    sock.on('connect', () => sock.write('GET /api/v1/cells HTTP/1.1\r\nHost: x\r\n', () => resolve())),
  );
  await sleep(200);
  const stopAt = Date.now();
  daemon.child.kill('SIGTERM');
  t.equal((await daemon.exited).code, 0, 'exit 0');
  const ms = Date.now() - stopAt;
  t.ok(ms >= 900 && ms < 5000, `waited for the 1 s grace, not the 9 s stop deadline (${ms} ms)`);
});
