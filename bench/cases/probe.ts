import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ManualClock, ManualScheduler, SystemClock, realTimers } from '../../clock/index.js';
import { MemoryAccumulator } from '../../collectors/index.js';
import { ProbeCollector } from '../../collectors/probe/index.js';
import { CellInventory } from '../../config/inventory.js';
import { parseConfig } from '../../config/index.js';
import { PromMetrics } from '../../daemon/metrics.js';
import { Forwarder, SampleOutbox } from '../../daemon/probe-mode.js';
import type { Sample } from '../../model/index.js';
import { median, type BenchCase } from '../index.js';

const silent = pino({ level: 'silent' });
const TOKEN = 'bench-ingest-token-0123456789';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A loopback HTTP server sending `bytes` of body as fast as the socket takes it. */
async function fastBody(bytes: number): Promise<{ url: string; close(): void }> {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': bytes });
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

/**
 * Probes: how fast the download probe can measure (it must never be the bottleneck of the link it
 * measures) against curl on the same loopback server, and how fast probe mode replays a backlog from
 * its disk buffer to a central intake against a plain fetch loop posting the same batches from memory.
 */
export const cases: BenchCase[] = [
  {
    name: 'probe: download measurement ceiling',
    needs: ['curl'],
    async run(ctx) {
      const bytes = ctx.quick ? 100e6 : 400e6;
      const server = await fastBody(bytes);
      const cfg = parseConfig(
        {
          probes: [
            {
              name: 'dl',
              kind: 'http-download',
              url: server.url,
              cell: 'C',
              maxBytes: '2GB',
              maxDuration: '30s',
              interval: '60s',
            },
          ],
        },
        { env: {} },
      );
      const collector = new ProbeCollector(cfg.probes, {
        scheduler: new ManualScheduler(new ManualClock(0)),
        log: silent,
        metrics: new PromMetrics(new Registry()),
        inventory: CellInventory.empty,
      });
      const ours: number[] = [];
      const curl: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const acc = new MemoryAccumulator();
        await collector.pollOnce('dl', acc, 0, new AbortController().signal);
        ours.push(acc.samples[0]?.dlMbps ?? 0);
        // Asynchronously: the server answering curl lives in this process's event loop.
        const r = await promisify(execFile)('curl', ['-s', '-o', '/dev/null', '-w', '%{speed_download}', server.url]);
        curl.push((Number(r.stdout) * 8) / 1e6);
      }
      server.close();
      ctx.log(`download: probe ${ours.map(Math.round).join(', ')} Mbit/s, curl ${curl.map(Math.round).join(', ')}`);
      return [
        {
          case: `probe: http-download on loopback (${bytes / 1e6} MB, median of 3)`,
          metric: 'Mbit/s measured',
          ours: median(ours),
          baseline: 'curl -w %{speed_download}',
          baselineValue: median(curl),
          higherIsBetter: true,
          target: '≥ 1,000 Mbit/s (measures any access link)',
          met: median(ours) >= 1000,
          note: 'the loopback server shares the probe’s process and core (curl has the server to itself); the probe counts from the first byte, curl from the request',
        },
      ];
    },
  },
  {
    name: 'probe mode: backlog replay to the central',
    async run(ctx) {
      const n = ctx.quick ? 20_000 : 100_000;
      const perRecord = 10;
      let received = 0;
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const samples = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Sample[];
          received += samples.length;
          res.writeHead(202, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ accepted: samples.length, rejected: [] }));
        });
      });
      const url = `http://127.0.0.1:${await listen(server)}`;
      const samples: Sample[] = Array.from({ length: n }, (_, i) => ({
        cell: `S${String(i % 500).padStart(4, '0')}-1`,
        ts: 1_796_040_000_000 + i * 1000,
        source: 'probe',
        available: true,
        latencyMs: 10 + (i % 90) + 0.123,
      }));
      const dir = mkdtempSync(join(tmpdir(), 'cellwatch-bench-probe-'));
      try {
        const central = parseConfig({ central: { url, token: TOKEN, batchSize: 500 } }, { env: {} }).central!;
        // Fill the buffer as a device does during an outage: one record per tick.
        let outbox = SampleOutbox.open(join(dir, 'spool'), central.spoolMaxBytes, silent);
        const fillStart = performance.now();
        for (let i = 0; i < n; i += perRecord) {
          for (const s of samples.slice(i, i + perRecord)) outbox.add(s);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await outbox.settled();
        const fillS = (performance.now() - fillStart) / 1000;
        const bytesPerSample = outbox.bytes / n;
        await outbox.close();
        // A restart: the backlog replays from disk.
        outbox = SampleOutbox.open(join(dir, 'spool'), central.spoolMaxBytes, silent);
        const forwarder = new Forwarder(outbox, central, {
          clock: new SystemClock(),
          timers: realTimers,
          log: silent,
          dataDir: dir,
        });
        const t0 = performance.now();
        forwarder.start();
        while (received < n) await new Promise<void>((resolve) => setImmediate(resolve));
        const ours = n / ((performance.now() - t0) / 1000);
        await forwarder.stop();
        await outbox.close();
        // Baseline: the same 500-sample batches posted from memory, one at a time.
        received = 0;
        const b0 = performance.now();
        for (let i = 0; i < n; i += 500) {
          const res = await fetch(`${url}/api/v1/samples`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify(samples.slice(i, i + 500)),
          });
          await res.text();
        }
        const baseline = n / ((performance.now() - b0) / 1000);
        ctx.log(
          `replay: ${Math.round(ours)} samples/s (plain fetch ${Math.round(baseline)}); fill ${Math.round(n / fillS)} samples/s (${perRecord} per fsynced record); ${bytesPerSample.toFixed(1)} bytes/sample on disk`,
        );
        return [
          {
            case: `probe mode: ${n.toLocaleString('en-US')}-sample backlog replayed from the disk buffer (batches of 500)`,
            metric: 'samples/s',
            ours,
            baseline: 'fetch loop from memory',
            baselineValue: baseline,
            higherIsBetter: true,
            note: `buffer filled at ${Math.round(n / fillS).toLocaleString('en-US')} samples/s in fsynced ${perRecord}-sample records; ${bytesPerSample.toFixed(0)} bytes/sample on disk`,
          },
        ];
      } finally {
        server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
