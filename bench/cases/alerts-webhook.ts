import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { AlertManager, alertManagerOptions } from '../../alerts/manager.js';
import { WebhookNotifier } from '../../alerts/sinks/webhook.js';
import type { Timers } from '../../alerts/index.js';
import { SystemClock } from '../../clock/index.js';
import { parseConfig } from '../../config/index.js';
import type { Window } from '../../model/index.js';
import { openDatabase } from '../../store/sqlite.js';
import { AlertRecords, NotificationRecords, SilenceRecords, recordMigrations } from '../../store/records/index.js';
import { freePort, makeTempDir, spawnService, waitForService } from '../../test/helpers/service.js';
import type { BenchCase, BenchRow } from '../index.js';

/**
 * Event → webhook latency, cellwatch beside Alertmanager 0.25 in the same run, both delivering to the
 * same local receiver. Alertmanager is configured as fast as it allows (group_wait 0s, every alert
 * its own group); its "event" is the POST of the alert to /api/v2/alerts (how it receives alerts).
 * cellwatch's event is a window event handed to the alert manager in-process (how the detector feeds
 * it), through rules, lifecycle, SQLite persistence, grouping, dedup and the signed webhook sink.
 * The two are measured alternately, one alert at a time, after a warm-up.
 */

const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const realTimers: Timers = {
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
};

function windowOf(cell: string, start: number): Window {
  return {
    id: `bench-${cell}`,
    cell,
    stream: 'counters',
    start,
    lastBad: start,
    cause: 'congestion',
    severity: 0.7,
    usersAffected: 40,
    userMinutes: 400,
    worst: {},
    evidence: {
      kpis: [{ kpi: 'prbUtilPct', worst: 97, threshold: 80, intervals: 2 }],
      badIntervals: 2,
      goodIntervals: 0,
      unknownIntervals: 0,
    },
    remediation: 'Load balancing, then a carrier add',
  };
}

/** The webhook receiver (CommonJS, evaluated in a worker): posts `{key, at}` per alert received. */
const RECEIVER = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = performance.timeOrigin + performance.now();
    res.writeHead(200).end();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    for (const a of body.alerts) parentPort.postMessage({ key: req.url + ':' + (a.labels.seq || a.labels.cell), at });
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

export const cases: BenchCase[] = [
  {
    name: 'alerts: event → webhook latency against Alertmanager',
    needs: ['prometheus-alertmanager'],
    async run(ctx) {
      // p99 of 60 would be the slowest but one: the quick run keeps enough samples for a tail.
      const n = ctx.quick ? 200 : 1000;
      const warmup = 20;
      const dir = await makeTempDir('cw-bench-alerts');
      // The receiver runs in a worker thread, as a separate program would: its arrival stamps do not
      // wait for the event loop of the cellwatch under test (or it for them).
      const receiver = new Worker(RECEIVER, { eval: true });
      const rxPort = await new Promise<number>((resolve) =>
        receiver.once('message', (m: { port: number }) => resolve(m.port)),
      );
      const waiters = new Map<string, (t: number) => void>();
      receiver.on('message', (m: { key?: string; at?: number }) => {
        if (m.key === undefined || m.at === undefined) return;
        waiters.get(m.key)?.(m.at);
        waiters.delete(m.key);
      });
      const arrival = (key: string) =>
        new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no webhook for ${key} within 10 s`)), 10_000);
          waiters.set(key, (t) => {
            clearTimeout(timer);
            resolve(t);
          });
        });
      const stamp = () => performance.timeOrigin + performance.now();

      const amPort = await freePort();
      writeFileSync(
        join(dir, 'am.yml'),
        [
          'route:',
          '  receiver: hook',
          "  group_by: ['seq']",
          '  group_wait: 0s',
          '  group_interval: 1s',
          '  repeat_interval: 1h',
          'receivers:',
          '  - name: hook',
          '    webhook_configs:',
          `      - url: http://127.0.0.1:${rxPort}/am`,
          '        send_resolved: false',
          '',
        ].join('\n'),
      );
      const am = spawnService('prometheus-alertmanager', 'prometheus-alertmanager', [
        `--config.file=${join(dir, 'am.yml')}`,
        `--storage.path=${join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ]);
      const amUrl = `http://127.0.0.1:${amPort}`;
      const clock = new SystemClock();
      const migrations = recordMigrations;
      const log = pino({ level: 'silent' });
      const db = openDatabase(join(dir, 'cellwatch.db'), migrations, log, { synchronous: 'NORMAL' });
      const cfg = parseConfig({}, { env: {} });
      const manager = AlertManager.open({
        clock,
        timers: realTimers,
        sinks: [
          new WebhookNotifier({
            name: 'hook',
            url: `http://127.0.0.1:${rxPort}/cw`,
            secret: 'whsec_' + Buffer.from('bench-secret-bench-secret-123456').toString('base64'),
            timeoutMs: 10_000,
            clock,
          }),
        ],
        stores: {
          alerts: new AlertRecords(db),
          silences: new SilenceRecords(db),
          notifications: new NotificationRecords(db),
        },
        options: alertManagerOptions(cfg.alerts, 'http://127.0.0.1:8080'),
        log,
      });
      try {
        await waitForService(
          am,
          async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok === true,
          15_000,
          'Alertmanager ready',
        );
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < n + warmup; i++) {
          const seq = `a${i}`;
          const amArrives = arrival(`/am:${seq}`);
          const a0 = stamp();
          const post = await fetch(`${amUrl}/api/v2/alerts`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([{ labels: { alertname: 'bench', seq }, annotations: { summary: 'bench' } }]),
          });
          if (!post.ok) throw new Error(`Alertmanager refused the alert: HTTP ${post.status}`);
          const a1 = await amArrives;
          const cell = `B${i}`;
          const cwArrives = arrival(`/cw:${cell}`);
          const c0 = stamp();
          manager.handle({
            type: 'window',
            event: { change: 'opened', window: windowOf(cell, clock.now()), at: clock.now() },
          });
          const c1 = await cwArrives;
          if (i >= warmup) {
            theirs.push(a1 - a0);
            ours.push(c1 - c0);
          }
          await delay(5);
        }
        const row = (p: number): BenchRow => {
          const o = percentile(ours, p);
          const b = percentile(theirs, p);
          return {
            case: `alerts: event → signed webhook, p${p} (${n} alerts)`,
            metric: 'ms',
            ours: o,
            baseline: 'Alertmanager 0.25, group_wait 0s',
            baselineValue: b,
            higherIsBetter: false,
            target: '≤ 1.0× Alertmanager',
            met: o <= b,
            note: 'cellwatch includes rules, lifecycle, SQLite writes, dedup and signing; Alertmanager includes its HTTP intake',
          };
        };
        ctx.log(
          `alerts: p50 ${percentile(ours, 50).toFixed(2)} ms vs Alertmanager ${percentile(theirs, 50).toFixed(2)} ms; ` +
            `p99 ${percentile(ours, 99).toFixed(2)} vs ${percentile(theirs, 99).toFixed(2)} ms`,
        );
        return [row(50), row(99)];
      } finally {
        await manager.close();
        db.close();
        await am.terminate(5000);
        await receiver.terminate();
      }
    },
  },
  {
    name: 'alerts: window events through the alert core',
    async run(ctx) {
      const cellsN = 2000;
      const rounds = ctx.quick ? 10 : 100;
      const batch = 100;
      const dir = await makeTempDir('cw-bench-alerts-core');
      const log = pino({ level: 'silent' });
      const migrations = recordMigrations;
      const db = openDatabase(join(dir, 'cellwatch.db'), migrations, log, { synchronous: 'NORMAL' });
      const clock = new SystemClock();
      let delivered = 0;
      const manager = AlertManager.open({
        clock,
        timers: realTimers,
        sinks: [
          {
            name: 'null',
            kind: 'null',
            notify: async () => {
              delivered++;
              return { ok: true };
            },
            close: async () => {},
          },
        ],
        stores: {
          alerts: new AlertRecords(db),
          silences: new SilenceRecords(db),
          notifications: new NotificationRecords(db),
        },
        options: alertManagerOptions(parseConfig({}, { env: {} }).alerts, 'http://127.0.0.1:8080'),
        log,
      });
      try {
        const start = clock.now();
        const windows = Array.from({ length: cellsN }, (_, i) => windowOf(`C${i}`, start));
        const t0 = performance.now();
        let events = 0;
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < cellsN; i += batch) {
            const inputs = windows.slice(i, i + batch).map((w) => ({
              type: 'window' as const,
              event: {
                change: r === 0 ? ('opened' as const) : ('changed' as const),
                window: { ...w, usersAffected: 40 + (r % 7) },
                at: start,
              },
            }));
            manager.handle(inputs);
            events += inputs.length;
            // Let the deferred writes and deliveries run between batches, as the event loop would.
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        }
        await manager.idle();
        manager.persist();
        const s = (performance.now() - t0) / 1000;
        ctx.log(`alerts core: ${events} events in ${s.toFixed(2)} s, ${delivered} notifications`);
        if (delivered !== cellsN) throw new Error(`expected ${cellsN} notifications (one per cell), got ${delivered}`);
        return [
          {
            case: `alerts: window events → rules, lifecycle, SQLite, pipeline (${cellsN} cells, batches of ${batch})`,
            metric: 'events/s',
            ours: events / s,
            higherIsBetter: true,
            note: `${events.toLocaleString('en-US')} events; one notification per cell, repeats deduplicated`,
          },
        ];
      } finally {
        await manager.close();
        db.close();
      }
    },
  },
];
