/**
 * Issue 2's first case: one sweep of the simulator's site agents by the daemon's SNMP poll, beside
 * `snmpbulkwalk` of the same agents' cell tables with the same parallelism and max-repetitions.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ManualClock, ManualScheduler } from '../../clock/index.js';
import { MemoryAccumulator } from '../../collectors/index.js';
import { SnmpCollector } from '../../collectors/snmp/index.js';
import { parseConfig } from '../../config/index.js';
import { CELL_TABLE_OID, SimAgents, SimNetwork } from '../../sim/index.js';
import { median, type BenchCase, type BenchRow } from '../index.js';
import { PromMetrics } from '../../daemon/metrics.js';
import { CellInventory } from '../../config/inventory.js';

const run = promisify(execFile);
const T0 = Date.UTC(2026, 10, 30, 19, 0, 0);
const PARALLEL = 16;
const MAX_REPETITIONS = 25;

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export const cases: BenchCase[] = [
  {
    name: 'skeleton: sweep of the simulator’s site agents',
    needs: ['snmpbulkwalk'],
    async run(ctx) {
      const sites = ctx.quick ? 20 : 100;
      const rounds = ctx.quick ? 3 : 5;
      const network = SimNetwork.create({ seed: 7, regions: 2, sites, start: T0 - 3_600_000, timezone: 'UTC' });
      const scheduler = new ManualScheduler(new ManualClock(T0 - 120_000));
      const agents = new SimAgents(network, scheduler, { host: '127.0.0.1', basePort: 0, community: 'public' });
      await agents.start();
      try {
        await scheduler.advanceTo(T0);
        const targets = agents.targets().filter((t) => t.profile === 'cell-table');
        const cfg = parseConfig({
          snmp: {
            concurrency: PARALLEL,
            defaults: { maxRepetitions: MAX_REPETITIONS },
            targets: targets.map((t) => ({
              name: t.name,
              host: t.host,
              port: t.port,
              version: '2c',
              community: t.community,
              profile: t.profile,
              site: t.site,
            })),
          },
        });
        const collector = new SnmpCollector(cfg.snmp, {
          scheduler,
          log: pino({ level: 'silent' }),
          metrics: new PromMetrics(new Registry()),
          inventory: CellInventory.of(network.cells),
        });
        const ours: number[] = [];
        let samples = 0;
        for (let r = 0; r < rounds; r++) {
          const acc = new MemoryAccumulator();
          const started = process.hrtime.bigint();
          await inParallel(targets, PARALLEL, (t) =>
            collector.pollOnce(t.name, acc, T0 + r * 60_000, AbortSignal.timeout(30_000)),
          );
          ours.push(Number(process.hrtime.bigint() - started) / 1e6);
          samples = acc.samples.length;
          if (acc.gaps.length > 0) throw new Error(`sweep had ${acc.gaps.length} gaps: ${acc.gaps[0]?.detail ?? ''}`);
        }
        await collector.stop();

        const baseline: number[] = [];
        let varbinds = 0;
        for (let r = 0; r < rounds; r++) {
          let lines = 0;
          const started = process.hrtime.bigint();
          await inParallel(targets, PARALLEL, async (t) => {
            const { stdout } = await run('snmpbulkwalk', [
              '-v2c',
              '-c',
              t.community,
              `-Cr${MAX_REPETITIONS}`,
              '-On',
              '-m',
              '',
              `${t.host}:${t.port}`,
              CELL_TABLE_OID,
            ]);
            lines += stdout.split('\n').filter(Boolean).length;
          });
          baseline.push(Number(process.hrtime.bigint() - started) / 1e6);
          varbinds = lines;
        }
        ctx.log(
          `${targets.length} agents, ${network.cells.length} cells, ${samples} samples, ${varbinds} varbinds per sweep`,
        );
        const row: BenchRow = {
          case: `skeleton: sweep ${targets.length} site agents (${network.cells.length} cells), ${PARALLEL} in parallel`,
          metric: 'wall ms (median)',
          ours: median(ours),
          baseline: 'snmpbulkwalk ×N',
          baselineValue: median(baseline),
          higherIsBetter: false,
          note: `${varbinds} varbinds per sweep; baseline spawns one snmpbulkwalk per agent, so part of its time is process start-up`,
        };
        return [row];
      } finally {
        await agents.stop();
      }
    },
  },
];
