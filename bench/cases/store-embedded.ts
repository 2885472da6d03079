import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Registry } from 'prom-client';
import { ManualClock } from '../../clock/index.js';
import { parseConfig } from '../../config/index.js';
import type { Sample } from '../../model/index.js';
import { openStores } from '../../store/open.js';
import { CELL_FIELDS, samplePoint } from '../../store/schema.js';
import { makeTempDir } from '../../test/helpers/service.js';
import type { BenchCase } from '../index.js';
import { HOUR_MS, exportAll, silent } from './store-data.js';
import { PromMetrics } from '../../daemon/metrics.js';

/**
 * Embedded store inserts: samples through the whole write path (schema mapping, pipeline batching,
 * validation, the SQLite backend with its hourly rollups and latest table), against a naive store of
 * the same table and index that inserts one row per statement in autocommit — what a first version
 * without batching would do.
 */
export const cases: BenchCase[] = [
  {
    name: 'store: embedded SQLite inserts',
    async run(ctx) {
      const cells = 5000;
      const rounds = ctx.quick ? 10 : 60;
      const T0 = Math.floor(Date.UTC(2026, 0, 5) / HOUR_MS) * HOUR_MS;
      const samples: Sample[] = [];
      for (let r = 0; r < rounds; r++) {
        for (let c = 0; c < cells; c++) {
          const i = r * cells + c;
          samples.push({
            cell: `CELL-${c}`,
            ts: T0 + r * 60_000,
            source: 'snmp',
            intervalS: 60,
            dlMbps: 5 + (i % 500) / 10,
            ulMbps: 1 + (i % 90) / 10,
            prbUtilPct: (i * 13) % 100,
            activeUsers: 3 + (i % 40),
            available: i % 97 !== 0,
          });
        }
      }
      const dir = await makeTempDir('cellwatch-bench-embedded');
      const cfg = parseConfig({ dataDir: dir }, { env: {} });
      const stores = await openStores(cfg.store, {
        dataDir: dir,
        clock: new ManualClock(T0 + rounds * 60_000),
        log: silent,
        metrics: new PromMetrics(new Registry()),
      });
      const t0 = performance.now();
      await exportAll(
        (batch) => stores.writer.export(batch),
        samples.map((s) =>
          samplePoint(s, { id: s.cell, site: `S${s.cell.length}`, region: 'R1', lat: 0, lon: 0, neighbours: [] }),
        ),
      );
      const ours = samples.length / ((performance.now() - t0) / 1000);
      const check = (await stores.reader.hourly(T0, T0 + HOUR_MS, ['CELL-1']))[0];
      await stores.close();
      if (check?.count !== Math.min(rounds, 60))
        throw new Error(`embedded store: hourly count ${check?.count}, expected ${Math.min(rounds, 60)}`);

      // Baseline: the same table and index, one INSERT per sample, each its own transaction.
      const naiveN = ctx.quick ? 5_000 : 20_000;
      const db = new BetterSqlite3(join(await makeTempDir('cellwatch-bench-naive'), 'naive.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const cols = CELL_FIELDS.map((f) => `"${f}" REAL`).join(', ');
      db.exec(
        `CREATE TABLE sample (cell TEXT NOT NULL, ts INTEGER NOT NULL, source TEXT NOT NULL, site TEXT, region TEXT, ${cols}); CREATE UNIQUE INDEX s ON sample (cell, ts, source)`,
      );
      const insert = db.prepare(
        `INSERT OR IGNORE INTO sample VALUES (?, ?, ?, ?, ?, ${CELL_FIELDS.map(() => '?').join(', ')})`,
      );
      const t1 = performance.now();
      for (const s of samples.slice(0, naiveN)) {
        const p = samplePoint(s);
        insert.run(
          s.cell,
          s.ts,
          s.source,
          'S',
          'R1',
          ...CELL_FIELDS.map((f) => (p.fields[f] as number | undefined) ?? null),
        );
      }
      const naive = naiveN / ((performance.now() - t1) / 1000);
      db.close();
      ctx.log(
        `embedded: ${Math.round(ours)} samples/s through the pipeline; naive row-at-a-time ${Math.round(naive)}/s`,
      );
      return [
        {
          case: `store: embedded SQLite, ${samples.length.toLocaleString('en-US')} samples (5,000 cells)`,
          metric: 'samples/s inserted',
          ours,
          baseline: 'one INSERT per sample, autocommit (WAL, synchronous=NORMAL)',
          baselineValue: naive,
          higherIsBetter: true,
          target: '≥ 100,000 samples/s',
          met: ours >= 100_000,
          note: 'ours: whole write path incl. hourly rollups and latest table, fsynced batches (synchronous=FULL)',
        },
      ];
    },
  },
];
