/**
 * `npm start` (`cellwatch demo`) as a newcomer meets it: within the first simulated hours the opening
 * scenario's incidents show as degradation windows with the right cause on the right site — outage,
 * backhaul, congestion, interference, weak coverage and a sleeping cell (whose silent failure needs the
 * baselines the demo seeds from the simulated network's past). Then the demo is killed (SIGKILL, an
 * unclean stop) inside an open window and started again on the same data dir: it resumes its simulated
 * clock, keeps its windows, and never holds two windows of one cell at once.
 */
import t from 'tap';
import type { Window } from '../model/index.js';
import { spawnCellwatch, waitReady, type CellwatchProcess } from './helpers/cellwatch.js';
import { eventually, freePort, makeTempDir } from './helpers/service.js';

const HOUR = 3_600_000;
/** The opening scenario on 8 sites: the sites from the end of the list, one incident each (daemon/simulation.ts). */
const EXPECTED: Record<string, string> = {
  congestion: 'S0008',
  outage: 'S0007',
  backhaul: 'S0006',
  interference: 'S0005',
  coverage: 'S0004',
  'silent-failure': 'S0003',
};

async function demo(dataDir: string): Promise<CellwatchProcess & { url: string }> {
  const port = await freePort('tcp');
  const proc = spawnCellwatch(
    t,
    ['demo', '--sites', '8', '--rate', '600', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
    { ...process.env, NODE_ENV: 'test' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, proc);
  return { ...proc, url };
}

const windows = async (url: string, query = ''): Promise<Window[]> =>
  ((await (await fetch(`${url}/api/v1/windows?limit=10000${query}`)).json()) as { windows: Window[] }).windows;

function overlapping(ws: readonly Window[]): string[] {
  const out: string[] = [];
  for (const cell of new Set(ws.map((w) => w.cell))) {
    const mine = ws.filter((w) => w.cell === cell && w.stream === 'counters').sort((a, b) => a.start - b.start);
    for (let i = 1; i < mine.length; i++)
      if ((mine[i - 1]!.end ?? Infinity) > mine[i]!.start) out.push(`${mine[i - 1]!.id} / ${mine[i]!.id}`);
  }
  return out;
}

void t.test('demo: the opening incidents show as windows with their cause; a kill and restart keep them', async (t) => {
  const dataDir = await makeTempDir('cellwatch-demo-detect-');
  const startedAt = Date.now();
  const first = await demo(dataDir);

  // 600×: a simulated hour is six real seconds. The sleeping cell is the last to show (~1 h in).
  let seen: Window[] = [];
  const all = await eventually(async () => {
    seen = await windows(first.url);
    return Object.keys(EXPECTED).every((c) => seen.some((w) => w.cause === c));
  }, 60_000);
  t.ok(all, `a window of every cause (${[...new Set(seen.map((w) => `${w.cell} ${w.cause}`))].join(', ')})`);
  for (const [cause, site] of Object.entries(EXPECTED)) {
    const w = seen.find((x) => x.cause === cause && x.site === site);
    t.ok(w, `${cause}: on ${site}, where the scenario put it`);
    if (w) t.ok(w.start - startedAt < 3 * HOUR, `${cause}: opened within the first simulated hours`);
  }

  // Kill it inside the sleeping cell's window (90 simulated minutes = 9 real seconds).
  const open = await windows(first.url, '&open=true');
  const silent = open.find((w) => w.cause === 'silent-failure');
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await demo(dataDir);
  t.match(
    second.output(),
    /resumed at \S+, where the last run on this data dir stopped/,
    'the simulated clock resumes',
  );
  const before = await windows(second.url);
  t.ok(
    seen.every((w) => before.some((b) => b.id === w.id)),
    'every window of the first run is still there (same ids)',
  );
  const stillOpen = await windows(second.url, '&open=true');
  for (const w of stillOpen) {
    const cell = (await (await fetch(`${second.url}/api/v1/cells/${w.cell}`)).json()) as { openWindows: Window[] };
    t.ok(
      cell.openWindows.some((x) => x.id === w.id),
      `${w.id}: open in the records and in the detector (nothing left open that nobody will close)`,
    );
  }
  t.ok(silent, 'the sleeping cell’s window was open at the kill');
  // The incidents end within the first simulated hours: every window open at the kill closes, under
  // the same id, and no second window opens beside it.
  const closed = await eventually(async () => {
    const now = await windows(second.url);
    return open.every((o) => now.find((x) => x.id === o.id)?.end !== undefined);
  }, 60_000);
  t.ok(closed, `the ${open.length} windows open at the kill close after the restart`);
  const after = await windows(second.url);
  t.same(overlapping(after), [], 'no cell ever has two windows at once (no duplicate after the restart)');
  const metrics = await (await fetch(`${second.url}/metrics`)).text();
  t.match(metrics, /cellwatch_window_events_total\{change="closed"\} [1-9]/, 'window events are counted');

  second.child.kill('SIGTERM');
  t.equal((await second.exited).code, 0, 'SIGTERM: exit 0');
});
