/**
 * Complaints through the compiled CLI against `cellwatch run` in a child process, as an operator and
 * a care agent meet them: `cellwatch import` of an operator's CSV export and of JSON lines (batches,
 * rejections with their file lines, a re-run counted as duplicates, a progress bar on a terminal, the
 * exit codes), `cellwatch context` printing what GET /api/v1/context answers, and the durability
 * promise — a complaint answered 202 is there after the daemon is killed with SIGKILL right after.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { CLI, spawnCellwatch, waitReady, type CellwatchProcess } from './helpers/cellwatch.js';
import { freePort, hasBinary, makeTempDir, type Test } from './helpers/service.js';

const INGEST = 'ingest-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const MIN = 60_000;
const INVENTORY = [
  'id,site,region,lat,lon,azimuth,neighbours',
  'A-1,A,R1,31.2,121.4,0,A-2;A-3',
  'A-2,A,R1,31.2,121.4,120,A-1;A-3',
  'A-3,A,R1,31.2,121.4,240,A-1;A-2',
  'F-1,F,R2,31.2,121.505,0,',
].join('\n');

interface Daemon {
  url: string;
  proc: CellwatchProcess;
  start(): Promise<void>;
  kill(): Promise<void>;
}

async function daemon(t: Test): Promise<Daemon> {
  const dir = await makeTempDir('cellwatch-complaints-cli-');
  writeFileSync(join(dir, 'cells.csv'), INVENTORY + '\n');
  const port = await freePort('tcp');
  const file = join(dir, 'cellwatch.yaml');
  writeFileSync(
    file,
    stringify({
      timezone: 'Asia/Shanghai',
      http: { listen: `127.0.0.1:${port}` },
      dataDir: join(dir, 'data'),
      inventory: join(dir, 'cells.csv'),
      log: { format: 'json', level: 'warn' },
      auth: {
        tokens: [
          { name: 'crm', role: 'ingest', token: INGEST },
          { name: 'care', role: 'viewer', token: VIEWER },
        ],
      },
    }),
  );
  const d: Daemon = {
    url: `http://127.0.0.1:${port}`,
    proc: undefined as unknown as CellwatchProcess,
    async start() {
      d.proc = spawnCellwatch(t, ['run', '--config', file]);
      await waitReady(d.url, d.proc);
    },
    async kill() {
      d.proc.child.kill('SIGKILL');
      const exit = await d.proc.exited;
      if (exit.signal !== 'SIGKILL') throw new Error(`expected SIGKILL, got ${JSON.stringify(exit)}`);
    },
  };
  await d.start();
  return d;
}

/** The compiled CLI with these arguments; resolves its exit code and output. */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function api(d: Daemon, path: string, init: RequestInit & { token?: string } = {}) {
  const { token = VIEWER, ...rest } = init;
  const res = await fetch(`${d.url}/api/v1${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${token}`, ...(rest.headers as Record<string, string> | undefined) },
  });
  // The answers are read as the JSON they are; a type per route would only restate the assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const iso = (ms: number) => new Date(ms).toISOString();

void t.test('cellwatch import: an operator CSV export and JSON lines, into a running daemon', async (t) => {
  const d = await daemon(t);
  const dir = await makeTempDir('cellwatch-import-files-');
  const now = Date.now();
  // 1,203 rows: BOM, CRLF, a column the daemon does not know, quoted commas and newlines, non-ASCII,
  // local times without an offset — and three bad rows.
  const rows = ['Ticket,id,receivedAt,channel,category,cell,text'];
  for (let i = 0; i < 1200; i++)
    rows.push(
      `T${i},CSV-${i},${iso(now - 2 * 60 * MIN + i * 5000)},${i % 2 ? 'Hotline' : 'app'},network,A-${1 + (i % 3)},"slow, ""very"" slow
since the evening — 网络很慢 ${i}"`,
    );
  rows.push('T-bad1,CSV-bad1,yesterday,app,network,A-1,bad time');
  rows.push('T-bad2,CSV-bad2,2026-11-28 19:30,app,network,NOPE,unknown cell');
  rows.push(`T-bad3,CSV-bad3,${iso(now - MIN)},pigeon,network,A-1,bad channel`);
  const csv = join(dir, 'export.csv');
  writeFileSync(csv, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rows.join('\r\n') + '\r\n')]));

  const args = ['import', csv, '--url', d.url, '--batch', '500'];
  const first = await cli(args, { CELLWATCH_TOKEN: INGEST });
  t.equal(first.code, 1, 'exit 1: some rows were rejected');
  t.match(first.stdout, /export\.csv: 1,203 records — 1,200 accepted, 0 duplicates, 3 rejected/, 'the final count');
  // Each data row spans two lines (the quoted newline), so the bad rows start on lines 2402, 2403, 2404.
  t.match(first.stdout, /line 2402: receivedAt: "yesterday"/, 'a bad row with its file line and reason');
  t.match(first.stdout, /line 2403: cell "NOPE" is not in the inventory/, 'an unknown cell without lat/lon');
  t.match(first.stdout, /line 2404: channel must be one of/);
  t.match(first.stdout, /ignored columns or fields: "Ticket"/);
  t.equal(first.stderr, '', 'no progress bar when stderr is not a terminal');
  const stored = await api(d, '/complaints/CSV-7');
  t.match(stored.body, { id: 'CSV-7', channel: 'hotline', text: 'slow, "very" slow\nsince the evening — 网络很慢 7' });
  const local = await api(d, '/complaints?limit=2000');
  t.equal(local.body.count, 1200, 'every good row is stored, once');

  const again = await cli(args, { CELLWATCH_TOKEN: INGEST });
  t.match(again.stdout, /1,203 records — 0 accepted, 1,200 duplicates, 3 rejected/, 'a re-run: duplicates');

  const jsonl = join(dir, 'crm.jsonl');
  writeFileSync(
    jsonl,
    [
      JSON.stringify({ id: 'J-1', receivedAt: now - MIN, channel: 'online', category: 'billing', cell: 'F-1' }),
      '{"id": "J-2", "receivedAt": ',
      '',
      JSON.stringify({
        id: 'J-3',
        receivedAt: iso(now - MIN),
        channel: 'social',
        category: 'network',
        lat: 31.2,
        lon: 121.4,
      }),
    ].join('\n') + '\n',
  );
  const j = await cli(['import', jsonl, '--url', d.url, '--token', INGEST]);
  t.equal(j.code, 1);
  t.match(j.stdout, /crm\.jsonl: 3 records — 2 accepted, 0 duplicates, 1 rejected/);
  t.match(j.stdout, /line 2: invalid JSON/);
  t.equal((await api(d, '/complaints/J-3')).body.locatedCell, 'A-1', 'JSON lines with an address, located');

  const clean = join(dir, 'clean.csv');
  writeFileSync(clean, `id,receivedAt,channel,category,cell\nOK-1,${iso(now - MIN)},app,network,A-1\n`);
  const ok = await cli(['import', clean, '--url', d.url, '--token', INGEST]);
  t.equal(ok.code, 0, 'exit 0 when every row was accepted');
  t.match(ok.stdout, /clean\.csv: 1 record — 1 accepted, 0 duplicates, 0 rejected/);

  const noHeader = join(dir, 'noheader.csv');
  writeFileSync(noHeader, `NH-1,${iso(now - MIN)},app,network,A-1\n`);
  const nh = await cli(['import', noHeader, '--url', d.url, '--token', INGEST]);
  t.equal(nh.code, 1);
  t.match(nh.stdout, /stopped: .*the header has no id, receivedAt, channel, category columns/);
  t.equal((await api(d, '/complaints/NH-1')).status, 404, 'nothing posted');

  const viewer = await cli(['import', clean, '--url', d.url, '--token', VIEWER]);
  t.equal(viewer.code, 1);
  t.match(viewer.stdout, /refuses the token \(403/, 'a viewer token: refused, said why');
  const missing = await cli(['import', join(dir, 'nope.csv'), '--url', d.url, '--token', INGEST]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /ENOENT/);

  if (hasBinary('script')) {
    // A terminal: script(1) gives the child a pseudo-terminal.
    const tty = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${CLI} import ${csv} --url ${d.url} --token ${INGEST} --batch 200`, '/dev/null'],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    t.match(tty.stdout, /\r\[#+-*\] +\d+% {2}[\d,]+ accepted, [\d,]+ duplicates, \d+ rejected/, 'a progress bar');
    t.match(tty.stdout, /\r\[#{25}\] 100%/, 'that ends at 100%');
    t.match(tty.stdout, /1,203 records — 0 accepted, 1,200 duplicates, 3 rejected/);
  }
});

void t.test('cellwatch context prints what GET /api/v1/context answers', async (t) => {
  const d = await daemon(t);
  const now = Date.now();
  // A-1 bad for the last two hours and still bad: an ongoing window.
  const samples = Array.from({ length: 24 }, (_, i) => ({
    cell: 'A-1',
    ts: now - 120 * MIN + i * 5 * MIN,
    intervalS: 300,
    dlMbps: 1,
    ulMbps: 2,
    latencyMs: 30,
    activeUsers: 20,
    available: true,
  }));
  const pushed = await api(d, '/samples', {
    method: 'POST',
    token: INGEST,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(samples),
  });
  t.equal(pushed.status, 202);
  await api(d, '/complaints', {
    method: 'POST',
    token: INGEST,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      { id: 'CX-1', receivedAt: now - 30 * MIN, channel: 'app', category: 'network', cell: 'A-2' },
      { id: 'CX-2', receivedAt: now - 20 * MIN, channel: 'app', category: 'network', cell: 'A-1' },
    ]),
  });
  let windows: { cell: string }[] = [];
  for (let i = 0; i < 50 && windows.length === 0; i++) {
    windows = (await api(d, '/windows')).body.windows as { cell: string }[];
    if (windows.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(windows.length, 1, 'the detector found the window');

  // "YYYY-MM-DD HH:MM" in the daemon's zone (Shanghai, UTC+8 all year): 15 minutes ago.
  const at = new Date(now - 15 * MIN + 8 * 60 * MIN).toISOString().slice(0, 16).replace('T', ' ');
  const q = `cell=A-1&at=${encodeURIComponent(at)}`;
  const fromApi = await api(d, `/context?${q}`);
  t.equal(fromApi.status, 200);
  const json = await cli(['context', '--cell', 'A-1', '--at', at, '--url', d.url, '--json'], {
    CELLWATCH_TOKEN: VIEWER,
  });
  t.equal(json.code, 0);
  t.strictSame(JSON.parse(json.stdout), fromApi.body, '--json prints the API’s answer');
  t.match(fromApi.body, {
    windows: [{ cell: 'A-1', status: 'ongoing' }],
    complaintCount: 2,
    timeZone: 'Asia/Shanghai',
  });

  const text = await cli(['context', '--cell', 'A-1', '--at', at, '--url', d.url, '--token', VIEWER]);
  t.equal(text.code, 0);
  t.match(text.stdout, new RegExp(`^Cell A-1 at ${at} \\(Asia/Shanghai\\)`), 'the place and the local time asked');
  const said = (fromApi.body.summary as string).split(' ').slice(0, 8).join(' ');
  t.ok(text.stdout.includes(said), 'the summary to read out');
  t.match(text.stdout, /Windows within ±72 h \(1\):\n {2}ongoing +since \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  t.match(text.stdout, /Other complaints here within ±72 h: 2/);

  const byComplaint = await cli(['context', '--complaint', 'CX-1', '--url', d.url, '--token', VIEWER, '--json']);
  t.strictSame(JSON.parse(byComplaint.stdout), (await api(d, '/context?complaint=CX-1')).body, '--complaint');
  const byPlace = await cli(['context', '--lat', '31.2018', '--lon', '121.4', '--url', d.url, '--token', VIEWER]);
  t.equal(byPlace.code, 0);
  t.match(byPlace.stdout, /^31\.2018, 121\.4 at /);

  const unknown = await cli(['context', '--cell', 'NOPE', '--url', d.url, '--token', VIEWER]);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /404: cell "NOPE" is not in the inventory/);
  const usage = await cli(['context', '--lat', '31.2', '--url', d.url]);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--lat and --lon go together/);
  const refused = await cli(['context', '--cell', 'A-1', '--url', d.url, '--token', INGEST]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /403/);
});

void t.test('a complaint answered 202 survives a SIGKILL right after', async (t) => {
  const d = await daemon(t);
  const now = Date.now();
  const posted: string[] = [];
  for (let round = 0; round < 3; round++) {
    const batch = Array.from({ length: 50 }, (_, i) => ({
      id: `K${round}-${i}`,
      receivedAt: now - (i + 1) * MIN,
      channel: 'hotline',
      category: i % 5 ? 'network' : 'billing',
      cell: `A-${1 + (i % 3)}`,
    }));
    const csvRow = `K${round}-csv,${iso(now - MIN)},app,network,A-1`;
    const [json, csv] = await Promise.all([
      api(d, '/complaints', {
        method: 'POST',
        token: INGEST,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      }),
      api(d, '/complaints', {
        method: 'POST',
        token: INGEST,
        headers: { 'content-type': 'text/csv' },
        body: `id,receivedAt,channel,category,cell\n${csvRow}\n`,
      }),
    ]);
    t.equal(json.status, 202, `round ${round}: 202 for the JSON batch`);
    t.equal(json.body.accepted, 50);
    t.equal(csv.status, 202, `round ${round}: 202 for the CSV row`);
    // Killed at once: no graceful stop, no flush.
    await d.kill();
    posted.push(...batch.map((c) => c.id), `K${round}-csv`);
    await d.start();
    const all = await api(d, '/complaints?limit=5000');
    const ids = new Set((all.body.complaints as { id: string }[]).map((c) => c.id));
    t.same(
      posted.filter((id) => !ids.has(id)),
      [],
      `round ${round}: every complaint answered 202 is there after the restart`,
    );
    t.equal(ids.size, posted.length, `round ${round}: and none twice`);
    const again = await api(d, '/complaints', {
      method: 'POST',
      token: INGEST,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    t.match(again.body, { accepted: 0, duplicates: 50 }, `round ${round}: re-sent after the crash: duplicates`);
  }
  const k = await api(d, '/complaints/K0-1');
  t.match(
    k.body,
    { id: 'K0-1', locatedCell: 'A-2', correlation: { explained: false } },
    'correlated after the restart',
  );
});
