/**
 * The push intake with real peers: InfluxDB's own `influx` CLI (Debian influxdb-client) importing a
 * file into cellwatch's `/write` as if it were InfluxDB; a full spool behind a stopped InfluxDB 1.6
 * answering 503 with Retry-After — and every sample that got a 202 reaching InfluxDB once it is back;
 * and `cellwatch probe` on a device pushing to a real central daemon with an ingest token, across a
 * restart of the central.
 */
import { execFile } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { SystemClock, TimerScheduler } from '../clock/index.js';
import { parseConfig } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import type { Sample } from '../model/index.js';
import { spawnCellwatch } from './helpers/cellwatch.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB } from './helpers/influxdb.js';
import { findBinary, freePort, makeTempDir, requireService, waitFor } from './helpers/service.js';

const TOKEN = 'ingest-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const silent = pino({ level: 'silent' });

/** Runs a client to its end without blocking this process (the daemon it talks to lives here). */
function runClient(bin: string, args: string[]): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

async function central(t: Test, raw: Record<string, unknown>): Promise<Daemon> {
  const cfg = parseConfig(
    {
      http: { listen: '127.0.0.1:0' },
      auth: {
        tokens: [
          { name: 'device', role: 'ingest', token: TOKEN },
          { name: 'noc', role: 'viewer', token: VIEWER },
        ],
      },
      ...raw,
    },
    { env: {} },
  );
  const scheduler = new TimerScheduler(new SystemClock());
  const d = new Daemon(cfg, { scheduler, log: silent, registry: new Registry() });
  await d.start();
  t.teardown(async () => {
    await d.stop();
    await scheduler.stop({ abort: true });
  });
  return d;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

void t.test('the influx CLI imports a file into cellwatch’s /write', async (t) => {
  const cli = findBinary('influx');
  if (!requireService(t, 'influx', 'apt-get install influxdb-client')) return;
  const dir = await makeTempDir('cellwatch-influx-cli-');
  const d = await central(t, { dataDir: join(dir, 'data') });
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  const good = Array.from(
    { length: 250 },
    (_, i) =>
      `cell_kpi,cell=I-${i % 50},source=probe dlMbps=${(i % 17) + 0.5},latencyMs=${20 + (i % 9)}i ${t0 + i * 1000}000000`,
  );
  const file = join(dir, 'import.lp');
  // The influx CLI's import format: a DML section with its database context (no DDL: cellwatch has no /query).
  await writeFile(file, ['# DML', '# CONTEXT-DATABASE: cellwatch', ...good, ''].join('\n'));
  const url = new URL(d.url!);
  const args = [
    '-host',
    url.hostname,
    '-port',
    url.port,
    '-username',
    'device',
    '-password',
    TOKEN,
    '-precision',
    'ns',
  ];
  const run = await runClient(cli!, [...args, '-import', '-path', file]);
  t.equal(run.status, 0, `influx -import ran: ${run.output}`);
  t.match(run.output, /Processed 250 inserts[\s\S]*Failed 0 inserts/, 'every line taken');
  const latest = (await (await fetch(`${d.url}/api/v1/cells`, { headers: auth(VIEWER) })).json()) as {
    cells: { latest?: Sample }[];
  };
  const imported = latest.cells.flatMap((c) => (c.latest?.source === 'probe' ? [c.latest] : []));
  t.equal(imported.length, 50, 'fifty cells hold the imported probe samples');
  t.match(
    imported.find((s) => s.cell === 'I-49'),
    { ts: t0 + 249_000, latencyMs: 20 + (249 % 9) },
  );

  // A line cellwatch cannot map: the CLI sees InfluxDB's partial-write answer and counts the batch failed.
  const mixed = join(dir, 'mixed.lp');
  await writeFile(
    mixed,
    [
      '# DML',
      '# CONTEXT-DATABASE: cellwatch',
      `cell_kpi,cell=J-1 dlMbps=3 ${t0}000000`,
      `cpu usage=1 ${t0}000000`,
      '',
    ].join('\n'),
  );
  const second = await runClient(cli!, [...args, '-import', '-path', mixed]);
  t.match(
    second.output,
    /partial write: line \d+: unknown measurement \\?"cpu\\?"/,
    `the reason reaches the CLI: ${second.output}`,
  );
  const j1 = (await (await fetch(`${d.url}/api/v1/cells/J-1`, { headers: auth(VIEWER) })).json()) as {
    latest?: Sample;
  };
  t.match(j1.latest, { dlMbps: 3 }, 'the good line of that batch is kept, as InfluxDB keeps it');
  const badPassword = args.map((a) => (a === TOKEN ? 'not-the-token-0123456' : a));
  const wrong = await runClient(cli!, [...badPassword, '-import', '-path', file]);
  t.match(wrong.output, /Failed 250 inserts|401|unknown token/, `a wrong password is refused: ${wrong.output}`);
});

void t.test('a full spool answers 503 with Retry-After; every 202 reaches InfluxDB once it is back', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  const dir = await makeTempDir('cellwatch-intake-spool-');
  const d = await central(t, {
    dataDir: join(dir, 'data'),
    store: {
      kind: 'influxdb-v1',
      url: influx.url,
      database: 'pushed',
      rollups: false,
      pipeline: { spoolMaxBytes: '256KiB', maxRetryDelay: '500ms', timeout: '2s' },
    },
  });
  await influx.stop({ keepDir: true });
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000;
  let accepted = 0;
  let full: Response | undefined;
  for (let k = 0; k < 200 && !full; k++) {
    const batch = Array.from({ length: 500 }, (_, i) => ({
      cell: `F-${i}`,
      ts: base + k * 1000,
      dlMbps: 10 + (i % 7),
    }));
    const r = await fetch(`${d.url}/api/v1/samples`, {
      method: 'POST',
      headers: { ...auth(TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    if (r.status === 202) accepted += ((await r.json()) as { accepted: number }).accepted;
    else full = r;
  }
  t.ok(full, 'the spool filled up');
  t.equal(full?.status, 503, 'a full spool: 503');
  t.ok(Number(full?.headers.get('retry-after')) > 0, 'with Retry-After');
  t.match(await full?.json(), { error: /spool full/ });
  t.ok(accepted >= 500, `some batches were taken before (${accepted} samples)`);
  await influx.restart();
  const count = async () => {
    const r = await influx.query('SELECT count("dlMbps") FROM "cellwatch"."cell_kpi"', 'pushed');
    return (r.results[0].series?.[0]?.values[0][1] as number | undefined) ?? 0;
  };
  await waitFor(async () => (await count()) >= accepted, 30_000, 'the spool replays into InfluxDB');
  t.equal(await count(), accepted, 'every sample answered 202 is in InfluxDB, none of the refused batch');
});

void t.test('cellwatch probe pushes to a real central daemon, through the central’s restart', async (t) => {
  const dir = await makeTempDir('cellwatch-probe-central-');
  const port = await freePort();
  const sockets = new Set<Socket>();
  const gw = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => gw.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    gw.close();
  });
  const gwPort = (gw.address() as { port: number }).port;
  const centralCfg = { http: { listen: `127.0.0.1:${port}` }, dataDir: join(dir, 'central') };
  let c: Daemon | undefined = await central(t, centralCfg);
  const device = join(dir, 'device.yaml');
  await writeFile(
    device,
    JSON.stringify({
      dataDir: join(dir, 'device'),
      log: { level: 'info', format: 'json' },
      central: { url: `http://127.0.0.1:${port}`, token: TOKEN, maxRetryDelay: '300ms', timeout: '2s' },
      probes: [
        {
          name: 'gw',
          kind: 'tcp-connect',
          host: '127.0.0.1',
          port: gwPort,
          cell: 'D-1',
          interval: '200ms',
          timeout: '100ms',
        },
      ],
    }),
  );
  const proc = spawnCellwatch(t, ['probe', '--config', device]);
  const stored = async (daemon: Daemon) => {
    const r = await fetch(`${daemon.url}/api/v1/cells/D-1`, { headers: auth(VIEWER) });
    return r.status === 200 ? ((await r.json()) as { latest?: Sample }).latest : undefined;
  };
  await waitFor(
    async () => (await stored(c!))?.source === 'probe',
    20_000,
    `probe samples at the central (device: ${proc.output().slice(-800)})`,
  );
  const before = (await stored(c))!.ts;
  await c.stop();
  c = undefined;
  // The device keeps measuring while the central is away.
  await new Promise((r) => setTimeout(r, 1500));
  c = await central(t, centralCfg);
  await waitFor(async () => ((await stored(c))?.ts ?? 0) > before + 1500, 20_000, 'the backlog and new results arrive');
  const metrics = await (await fetch(`${c.url}/metrics`, { headers: auth(VIEWER) })).text();
  const pushed = Number(/cellwatch_samples_total\{source="probe"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  // 200 ms ticks over the 1.5 s outage: at least 5 results were buffered on the device and sent afterwards.
  t.ok(pushed >= 5, `the restarted central took the buffered results (${pushed} probe samples)`);
  t.match(proc.output(), /central|probe/, 'the device logs in JSON');
  proc.child.kill('SIGTERM');
  t.equal((await proc.exited).code, 0, 'the device stops cleanly');
});
