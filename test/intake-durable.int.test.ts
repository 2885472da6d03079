/**
 * A 202/204 from the push intake means committed: the compiled daemon (embedded store, which runs in a
 * thread of its own and keeps new samples in `sample_recent` until a bulk move) is SIGKILLed right
 * after its last answer, and every acknowledged sample is there after the restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { spawnCellwatch, waitReady } from './helpers/cellwatch.js';
import { freePort, makeTempDir } from './helpers/service.js';

const CELLS = 400;
const MINUTES = 6;

void t.test('SIGKILL right after the last 202/204: every acknowledged sample survives', async (t) => {
  const dir = await makeTempDir('cellwatch-durable-');
  const port = await freePort('tcp');
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'cellwatch.yaml');
  writeFileSync(
    config,
    `http: { listen: "127.0.0.1:${port}" }\ndataDir: ${join(dir, 'data')}\nlog: { format: json }\n`,
  );
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000;
  const first = spawnCellwatch(t, ['run', '--config', config]);
  await waitReady(url, first);
  // Minutes 0..4 as JSON, two requests at a time (one commit may hold both); minute 5 as line protocol.
  for (let m = 0; m < MINUTES - 1; m += 2) {
    const minutes = [m, m + 1].filter((x) => x < MINUTES - 1);
    const answers = await Promise.all(
      minutes.map((mm) =>
        fetch(`${url}/api/v1/samples`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(
            Array.from({ length: CELLS }, (_, i) => ({ cell: `K-${i}`, ts: t0 + mm * 60_000, dlMbps: mm + 0.5 })),
          ),
        }),
      ),
    );
    t.same(
      answers.map((r) => r.status),
      minutes.map(() => 202),
      `minutes ${minutes.join(', ')} accepted`,
    );
  }
  const lp = Array.from({ length: CELLS }, (_, i) => `cell_kpi,cell=K-${i},source=push dlMbps=9.5 ${t0 + 5 * 60_000}`);
  const last = await fetch(`${url}/write?db=cellwatch&precision=ms`, { method: 'POST', body: lp.join('\n') });
  first.child.kill('SIGKILL');
  t.equal(last.status, 204, 'minute 5 stored (line protocol)');
  t.equal((await first.exited).signal, 'SIGKILL', 'killed: no drain, no flush, no bulk move');

  const second = spawnCellwatch(t, ['run', '--config', config]);
  await waitReady(url, second);
  let total = 0;
  for (const cell of ['K-0', `K-${CELLS / 2}`, `K-${CELLS - 1}`]) {
    const r = await fetch(`${url}/api/v1/cells/${cell}/series?from=${t0}&to=${t0 + 3_600_000}&step=60000`);
    const body = (await r.json()) as { buckets: { ts: number; count: number; dlMbps: number }[] };
    t.same(
      body.buckets.map((b) => [b.ts, b.count, b.dlMbps]),
      Array.from({ length: MINUTES }, (_, m) => [t0 + m * 60_000, 1, m === 5 ? 9.5 : m + 0.5]),
      `${cell}: every acknowledged minute, once`,
    );
    total += body.buckets.length;
  }
  t.equal(total, 3 * MINUTES);
  const latest = await fetch(`${url}/api/v1/cells`);
  t.equal(latest.status, 200, 'cells listed after the restart');
  second.child.kill('SIGTERM');
  await second.exited;
});
