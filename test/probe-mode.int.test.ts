/**
 * `cellwatch probe` as a device runs it: the compiled CLI in a child process, probing a TCP listener
 * of ours every 200 ms and pushing to a stand-in central on loopback. The central goes away, the
 * device buffers; the device is killed (SIGKILL) and started again, still without a central; the
 * central comes back; SIGTERM. Every sample the device logged as buffered arrives exactly once, in
 * the order measured.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import type { Sample } from '../model/index.js';
import { StandInCentral } from './helpers/central.js';
import { spawnCellwatch, type CellwatchProcess } from './helpers/cellwatch.js';
import { freePort, makeTempDir, waitFor } from './helpers/service.js';

const TOKEN = 'ingest-token-0123456789abcdef';
const key = (s: Pick<Sample, 'cell' | 'ts'>) => `${s.cell}@${s.ts}`;

/** The samples a device run logged as buffered (on disk), in order. */
function buffered(proc: CellwatchProcess): string[] {
  return proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        const line = JSON.parse(l) as { msg?: string; buffered?: [string, number][] };
        return line.msg === 'probe samples buffered' ? line.buffered!.map(([cell, ts]) => key({ cell, ts })) : [];
      } catch {
        return []; // a line cut off by SIGKILL
      }
    });
}

void t.test('cellwatch probe: a central outage and a device restart lose nothing and keep the order', async (t) => {
  const central = await StandInCentral.start(t, TOKEN);
  const sockets = new Set<Socket>();
  const target = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    target.close();
  });
  const port = (target.address() as { port: number }).port;
  const closed = await freePort();
  const dir = await makeTempDir('cellwatch-probe-device-');
  writeFileSync(join(dir, 'ingest.token'), `${TOKEN}\n`);
  const config = join(dir, 'device.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      log: { level: 'debug', format: 'json' },
      central: { url: central.url, tokenFile: join(dir, 'ingest.token'), maxRetryDelay: '300ms', timeout: '2s' },
      probes: [
        { name: 'gw', kind: 'tcp-connect', host: '127.0.0.1', port, cell: 'P-1', interval: '200ms', timeout: '100ms' },
        {
          name: 'dead',
          kind: 'tcp-connect',
          host: '127.0.0.1',
          port: closed,
          cell: 'P-2',
          interval: '200ms',
          timeout: '100ms',
        },
      ],
    }),
  );
  const device = () => spawnCellwatch(t, ['probe', '--config', config]);
  const tail = (p: CellwatchProcess) => p.output().slice(-1500);

  const first = device();
  await waitFor(() => central.accepted.length >= 6, 20_000, `results at the central (device output: ${tail(first)})`);
  await central.down();
  const atOutage = buffered(first).length;
  await waitFor(() => buffered(first).length >= atOutage + 6, 20_000, 'results buffered during the outage');
  first.child.kill('SIGKILL');
  t.equal((await first.exited).signal, 'SIGKILL', 'the device was killed');

  const second = device();
  await waitFor(
    () => /buffered by a previous run/.test(second.output()) && buffered(second).length >= 4,
    20_000,
    `the restarted device finds its buffer and keeps measuring (output: ${tail(second)})`,
  );
  t.equal(central.accepted.length <= atOutage, true, 'nothing reached the central while it was down');
  await central.up();
  const measured = () => [...buffered(first), ...buffered(second)];
  await waitFor(
    () => central.accepted.length >= measured().length - 2,
    20_000,
    'the buffer is sent once the central is back',
  );
  second.child.kill('SIGTERM');
  const exit = await second.exited;
  t.equal(exit.code, 0, `a clean stop (output: ${exit.code === 0 ? '' : tail(second)})`);

  const expected = measured();
  const all = central.accepted.map(key);
  t.ok(expected.length >= 16, `results from before, during and after the outage (${expected.length} samples)`);
  t.equal(new Set(all).size, all.length, 'no sample arrived twice');
  // SIGKILL can land between a tick's fsync and its log line: that tick's samples are on disk and
  // arrive, but the log (our ground truth) never named them. Only that one tick may arrive unnamed.
  const lastLogged = Math.max(...buffered(first).map((k) => Number(k.split('@')[1])));
  const firstAfter = Math.min(...buffered(second).map((k) => Number(k.split('@')[1])));
  const named = new Set(expected);
  const unnamed = all.filter((k) => !named.has(k));
  const ticks = new Set(unnamed.map((k) => Number(k.split('@')[1])));
  t.ok(
    ticks.size <= 1 && [...ticks].every((ts) => ts > lastLogged && ts < firstAfter),
    `samples the log did not name are at most the tick cut off by the kill (${unnamed.join(', ') || 'none'})`,
  );
  const got = all.filter((k) => named.has(k));
  t.same(got, expected, 'every buffered sample arrived, exactly once, in the order measured');
  t.ok(
    central.accepted.filter((s) => s.cell === 'P-2').every((s) => s.dlMbps === 0),
    'the closed port’s results are bad samples, carried like the others',
  );
});

void t.test('cellwatch probe without a central section says what is missing', async (t) => {
  const dir = await makeTempDir('cellwatch-probe-nocentral-');
  const config = join(dir, 'device.yaml');
  writeFileSync(config, 'probes: []\n');
  const proc = spawnCellwatch(t, ['probe', '--config', config]);
  const exit = await proc.exited;
  t.equal(exit.code, 2, 'a config error');
  t.match(proc.output(), /central: required by `cellwatch probe`/);
});
