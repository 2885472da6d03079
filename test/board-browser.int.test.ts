/**
 * The board in a real browser (Debian's chromium through playwright-core) against `cellwatch demo`
 * (the compiled CLI, tokens configured, clock at 120×): sign in, see an alert arrive live, ack and
 * silence it, open its cell and see the window shaded, look the place up on the agent page and read
 * the summary, look a complaint up by id, see the complaint handling view, then restart the daemon
 * and see the board reconnect and resync. Screenshots of each page land in .artefacts/board/
 * (`npm run screenshots` also refreshes docs/screenshots/ for the README).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { artefactDir, chromiumPath, launchChromium, publishScreenshot } from './helpers/browser.js';
import { spawnCellwatch, waitReady, type CellwatchProcess } from './helpers/cellwatch.js';
import { freePort, makeTempDir, requireService, waitFor } from './helpers/service.js';

const TOKENS = {
  viewer: 'viewer-token-board-0123456789',
  operator: 'operator-token-board-0123456789',
  ingest: 'ingest-token-board-0123456789',
};
const HOUR = 3_600_000;
const MIN = 60_000;
/** A Thursday, 20:30 UTC: inside the peak hours, 1.5 h of them already in the history. */
const DEMO_START = '2026-11-26T20:30:00Z';

/** What board/main.ts exposes to tests (read-only counters). */
interface BoardGlobal {
  cellwatchBoard: { received: number; alerts: number; renders: number };
}

interface Demo {
  url: string;
  proc: CellwatchProcess;
}

async function startDemo(t: Test, args: string[], url: string): Promise<Demo> {
  const proc = spawnCellwatch(t, args, { ...process.env, NODE_ENV: 'test' });
  await waitReady(url, proc, 30_000);
  return { url, proc };
}

async function api<T>(url: string, path: string, token: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${url}/api/v1/${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface TargetRow {
  id: string;
  status: string;
  probes?: { ratio: number | null; tests: number; status: string };
  disagreement?: boolean;
}

/**
 * Probe results pushed as a probe device does (`source: probe`, an ingest token): every 5 min over the
 * last 95 min of today's peak, failing downloads (`dlMbps: 0`, as collectors/probe writes a failed
 * test) on a cell of the first region whose counters meet the goal, passing ones on a cell of another
 * region. The first becomes a disagreement; the regions left have no probe data.
 */
async function pushProbes(t: Test, url: string): Promise<{ failing: string; passing: string; none: string[] }> {
  const cells = await api<{ at: number; cells: { id: string; region?: string }[] }>(url, 'cells', TOKENS.viewer);
  const day = new Date(cells.at).toISOString().slice(0, 10);
  const regions = await api<{ results: TargetRow[] }>(url, `targets?scope=region&day=${day}`, TOKENS.viewer);
  const failing = regions.results.find((r) => r.status === 'met')?.id;
  if (!failing) throw new Error(`no region meets the goal today: ${JSON.stringify(regions.results)}`);
  const passing = regions.results.find((r) => r.id !== failing)!.id;
  const cellOf = (region: string) => cells.cells.find((c) => c.region === region)!.id;
  const samples: object[] = [];
  for (let ts = Math.floor(cells.at / (5 * MIN)) * 5 * MIN - 95 * MIN; ts <= cells.at; ts += 5 * MIN) {
    samples.push({ cell: cellOf(failing), ts, source: 'probe', available: true, dlMbps: 0 });
    samples.push({ cell: cellOf(passing), ts, source: 'probe', available: true, dlMbps: 42.5 });
  }
  const pushed = await api<{ accepted: number }>(url, 'samples', TOKENS.ingest, {
    method: 'POST',
    body: JSON.stringify(samples),
  });
  t.equal(pushed.accepted, samples.length, `${samples.length} probe results pushed with the ingest token`);
  const after = await api<{ results: TargetRow[] }>(url, `targets?scope=region&day=${day}`, TOKENS.viewer);
  const byId = new Map(after.results.map((r) => [r.id, r]));
  t.match(
    byId.get(failing),
    { status: 'met', probes: { ratio: 0, status: 'missed' }, disagreement: true },
    `${failing}: counters meet the goal, probes miss it — a disagreement in /targets`,
  );
  t.match(byId.get(passing), { probes: { ratio: 1 }, disagreement: false }, `${passing}: the probes pass`);
  const none = after.results.filter((r) => !r.probes).map((r) => r.id);
  return { failing, passing, none };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.waitForSelector('dialog.action input[name=token]');
  await page.fill('dialog.action input[name=token]', token);
  await page.click('dialog.action button[type=submit]');
}

async function shot(page: Page, name: string): Promise<string> {
  const file = join(artefactDir(), name);
  await page.screenshot({ path: file, fullPage: true });
  publishScreenshot(file, name);
  return file;
}

void t.test('the board, the cell page, the agent page and complaint handling in chromium', async (t) => {
  const executable = chromiumPath();
  if (!requireService(t, executable ?? 'chromium', 'apt-get install chromium')) return;
  const dir = await makeTempDir('cellwatch-board-');
  const config = join(dir, 'cellwatch.yaml');
  writeFileSync(
    config,
    [
      'timezone: UTC',
      'auth:',
      '  tokens:',
      `    - { name: noc-viewer, role: viewer, token: "${TOKENS.viewer}" }`,
      `    - { name: noc-operator, role: operator, token: "${TOKENS.operator}" }`,
      `    - { name: crm, role: ingest, token: "${TOKENS.ingest}" }`,
      '',
    ].join('\n'),
  );
  const port = await freePort('tcp');
  const url = `http://127.0.0.1:${port}`;
  const args = ['demo', '-c', config, '--sites', '8', '--rate', '120', '--listen', `127.0.0.1:${port}`];
  // Two weeks of simulated past, going live during the peak hours (19:00–22:00 in the config's zone):
  // the board opens on today's figures and 14 days of bars, the cell page on a full day. Screenshots
  // show that, and the same day each time (seeded network, fixed start).
  args.push('--start', DEMO_START, '--history', '14d', '--data-dir', join(dir, 'data'));
  let demo = await startDemo(t, args, url);

  // ---- probes beside the counters: failing tests in a region whose counters meet the goal ----------
  const probes = await pushProbes(t, url);

  const browser = await launchChromium(executable!);
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const requests: string[] = [];
  const sockets: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // ---- sign in: a wrong token is refused in the dialog, the operator's is taken -------------------
  await page.goto(`${url}/`);
  await signIn(page, 'not-a-token-at-all-000');
  await page.waitForSelector('dialog.action .error:text("unknown token")');
  t.pass('a wrong token is refused with the reason');
  await shot(page, 'signin.png');
  await signIn(page, TOKENS.operator);
  await page.waitForSelector('body[data-stream="live"]', { timeout: 15_000 });
  t.match(await page.textContent('#who'), /noc-operator \(operator\)/, 'signed in as the operator');
  // Windows the history left open are alerts already: the one to ack must arrive after the board opened.
  const atStart = await page.$$eval('tr.alert', (rows) => rows.map((r) => r.getAttribute('data-alert')));

  // ---- the network overview: today's figures, 14 days of bars, the probes beside the counters ------
  const card = (id: string) => `#overview article.target[data-scope="${id}"]`;
  await page.waitForSelector(`${card(probes.failing)}[data-disagreement="true"]`, { timeout: 30_000 });
  const failingCard = (await page.textContent(card(probes.failing))) ?? '';
  t.match(
    failingCard,
    /probes 0\.0 % of \d+ tests ✗ missed/,
    'the probe ratio, with its test count, beside the counters',
  );
  t.match(failingCard, /Disagreement: counters meet the goal, probes miss it/, 'the disagreement said in words');
  t.match(await page.textContent(card(probes.passing)), /probes 100\.0 % of \d+ tests/);
  t.notOk(await page.$(`${card(probes.passing)}[data-disagreement]`), 'no disagreement where the probes pass');
  for (const id of probes.none)
    t.match(await page.textContent(`${card(id)} .probes`), /no probe data/, `${id}: no probe data`);
  const network = (await page.textContent(card('network'))) ?? '';
  t.match(network, /\d+\.\d %/, `the network card leads with a ratio: ${network.slice(0, 80)}`);
  t.notMatch(network, /coverage 0 %/, 'with data covering the peak');
  t.match(network, /95 % CI \d+\.\d %–\d+\.\d %/, 'and its confidence interval');
  const bars = await page.$$eval(`${card('network')} svg rect.bar:not(.bar-none)`, (r) => r.length);
  t.ok(bars >= 14, `14 days of bars from the history (${bars})`);

  // ---- an alert arrives live; ack and silence it from the board ----------------------------------
  const fresh = atStart.map((id) => `:not([data-alert="${id}"])`).join('');
  const row = await page.waitForSelector(`tr.alert[data-cell]${fresh}:has(button.ack)`, { timeout: 90_000 });
  const alertId = (await row.getAttribute('data-alert'))!;
  const cell = (await row.getAttribute('data-cell'))!;
  t.notOk(atStart.includes(alertId), `alert ${alertId} on ${cell} was not on the board when it opened`);
  t.ok(
    await page.evaluate(() => (globalThis as unknown as BoardGlobal).cellwatchBoard.received > 0),
    'it came over the stream',
  );
  // Live rows keep arriving above it: a click aimed between two renders can land on what moved into
  // the button's place. Clicked again (up to three times) until its dialog is open.
  for (let attempt = 1; ; attempt++) {
    await page.click(`tr[data-alert="${alertId}"] button.ack`);
    const opened = await page
      .waitForSelector('dialog.action textarea[name=comment]', { timeout: 5_000 })
      .then(() => true)
      .catch(() => false);
    if (opened || attempt === 3) break;
  }
  await page.fill('dialog.action textarea[name=comment]', 'looking at it');
  await page.click('dialog.action button[type=submit]');
  await page.waitForSelector(`tr[data-alert="${alertId}"].acked`);
  t.match(
    await page.textContent(`tr[data-alert="${alertId}"] td.state`),
    /acked by noc-operator/,
    'the row says who acked',
  );
  const acked = await api<{ alert: { ackedBy?: string } }>(url, `alerts/${alertId}`, TOKENS.viewer);
  t.equal(acked.alert.ackedBy, 'noc-operator', 'the daemon has the ack');
  await page.click(`tr[data-alert="${alertId}"] button.silence`);
  await page.selectOption('dialog.action select[name=duration]', '3600000');
  await page.fill('dialog.action textarea[name=comment]', 'field team on site');
  await page.click('dialog.action button[type=submit]');
  await page.waitForSelector('dialog.action', { state: 'detached' });
  const silences = await api<{ silences: { matchers: { name: string; value: string }[]; createdBy: string }[] }>(
    url,
    'silences',
    TOKENS.viewer,
  );
  t.ok(
    silences.silences.some(
      (s) => s.createdBy === 'noc-operator' && s.matchers.some((m) => m.name === 'cell' && m.value === cell),
    ),
    'a silence on that cell, by the operator',
  );
  await page.waitForSelector('#map-legend li');
  t.ok(Number(await page.getAttribute('body', 'data-map-cells')) >= 18, 'the map draws the cells');
  // Collection health is read every 15 s: by then every simulated site has answered a poll.
  await waitFor(
    async () => /^✓ (\d+) of \1 targets answering$/.test((await page.textContent('#collection p')) ?? ''),
    30_000,
    'collection health to show every target answering',
  );
  t.pass('collection health: every target answering');
  // The target cards are read again after a target alert changes: wait for that before the picture.
  await page.waitForSelector('#overview[data-fresh="true"]', { timeout: 15_000 });
  await shot(page, 'board.png');

  // ---- its cell page: the window shaded -----------------------------------------------------------
  await page.click(`tr[data-alert="${alertId}"] a[href^="#/cell/"]`);
  await page.waitForSelector(`body[data-cell-page="${cell}"]`, { timeout: 15_000 });
  await page.waitForSelector('#cell-windows tr[data-window]');
  const shaded = await page.getAttribute('figure[data-chart="dlMbps"]', 'data-shaded');
  t.ok(Number(shaded) >= 1, `the window is shaded on the throughput chart (${shaded})`);
  t.equal(await page.$$eval('.charts figure canvas', (c) => c.length), 4, 'four charts drawn by uPlot');
  await shot(page, 'cell.png');

  // ---- the agent page: the same place by coordinates ----------------------------------------------
  const info = await api<{ lat: number; lon: number; at: number }>(url, `cells/${cell}`, TOKENS.viewer);
  await page.goto(`${url}/#/agent`);
  await page.check('input[name=mode][value=place]');
  await page.fill('#agent-lat', String(info.lat));
  await page.fill('#agent-lon', String(info.lon));
  await page.click('.agent-form button[type=submit]');
  const summary = (await (await page.waitForSelector('#agent-summary')).textContent()) ?? '';
  t.match(summary, /problem/, `the summary tells of the problem: "${summary}"`);
  t.notMatch(summary, /^We found no network problem in this area at that time\.$/, 'not the all-clear');
  t.notMatch(summary, new RegExp(cell), 'no cell id in what is read out');

  // ---- a complaint by id --------------------------------------------------------------------------
  const complaints = [
    {
      id: 'C-BOARD-1',
      receivedAt: info.at,
      issueAt: info.at - 10 * 60_000,
      channel: 'hotline',
      category: 'network',
      cell,
    },
    { id: 'C-BOARD-RISK', receivedAt: info.at - 65 * HOUR, channel: 'online', category: 'billing', cell },
  ];
  const intake = await api<{ accepted: number }>(url, 'complaints', TOKENS.ingest, {
    method: 'POST',
    body: JSON.stringify(complaints),
  });
  t.equal(intake.accepted, 2, 'two complaints taken in');
  await page.goto(`${url}/#/agent?complaint=C-BOARD-1`);
  await page.waitForSelector('#agent-complaint');
  t.match(await page.textContent('#agent-complaint h3'), /Complaint C-BOARD-1/);
  t.match(
    await page.textContent('#agent-explained'),
    /Explained by the network/,
    'explained by the window on its cell',
  );
  t.ok(((await page.textContent('#agent-summary')) ?? '').length > 20, 'a summary to read out');
  await shot(page, 'agent.png');

  // ---- complaint handling --------------------------------------------------------------------------
  await page.goto(`${url}/#/complaints`);
  await page.waitForSelector('body[data-handling="loaded"]');
  t.match(await page.textContent('#at-risk'), /C-BOARD-RISK/, 'the unanswered complaint is at risk of missing 72 h');
  t.match(await page.textContent('#handling-tiles'), /First response within 72 h/);
  await shot(page, 'complaints.png');

  // ---- a viewer sees and cannot act ----------------------------------------------------------------
  const viewer = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  viewer.on('request', (r) => requests.push(r.url()));
  await viewer.goto(`${url}/`);
  await signIn(viewer, TOKENS.viewer);
  await viewer.waitForSelector('tr.alert', { timeout: 15_000 });
  t.match(await viewer.textContent('#who'), /\(viewer\)/);
  t.equal(await viewer.$$eval('button.ack, button.silence', (b) => b.length), 0, 'no ack or silence for a viewer');
  await viewer.close();

  // ---- the daemon restarts: the board reconnects and resyncs ---------------------------------------
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-stream="live"]');
  demo.proc.child.kill('SIGTERM');
  await demo.proc.exited;
  const firstRunOutput = demo.proc.output();
  await page.waitForSelector('body[data-stream="offline"]', { timeout: 15_000 });
  t.pass('the board says it is offline');
  demo = await startDemo(t, args, url);
  await page.waitForSelector('body[data-stream="live"]', { timeout: 45_000 });
  const active = await api<{ count: number }>(url, 'alerts?active=true', TOKENS.viewer);
  await waitFor(
    async () =>
      (await page.evaluate(() => (globalThis as unknown as BoardGlobal).cellwatchBoard.alerts)) === active.count,
    15_000,
    `the board to hold the ${active.count} active alerts after the restart`,
  );
  t.pass(`back live with the ${active.count} active alerts of the restarted daemon`);

  // ---- tokens never in a URL, never in the log -----------------------------------------------------
  const secrets = Object.values(TOKENS);
  t.notOk(
    requests.some((u) => secrets.some((s) => u.includes(s))),
    `no request URL carries a token (${requests.length} requests)`,
  );
  t.ok(sockets.length >= 2 && sockets.every((u) => /[?&]ticket=/.test(u)), 'the stream is opened with tickets');
  t.notOk(
    secrets.some((s) => firstRunOutput.includes(s) || demo.proc.output().includes(s)),
    'the daemon never logs a token',
  );
  t.strictSame(pageErrors, [], 'no script errors on any page');
});
