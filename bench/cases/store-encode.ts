import { InfluxDB, type IPoint } from 'influx';
import type { BenchCase } from '../index.js';
import { encodeLines } from '../../store/lineprotocol.js';
import { benchPoints } from './store-data.js';

/**
 * Line-protocol encoding on one core: cellwatch's encoder against node-influx's serialisation (its
 * `parsePoint` plus the concatenation loop of its `writePoints`, without the HTTP request), over the
 * same points in 5,000-point batches.
 */
export const cases: BenchCase[] = [
  {
    name: 'store: line-protocol encoding',
    async run(ctx) {
      const n = ctx.quick ? 200_000 : 1_000_000;
      const points = benchPoints(n);
      const batches: (typeof points)[] = [];
      for (let i = 0; i < n; i += 5000) batches.push(points.slice(i, i + 5000));
      const influx = new InfluxDB({ database: 'bench' });
      const nodeInfluxPoints: IPoint[][] = batches.map((b) =>
        b.map((p) => ({ measurement: p.measurement, tags: p.tags, fields: p.fields, timestamp: p.ts })),
      );
      const escape = (s: string) => s.replace(/[,= ]/g, '\\$&');
      const nodeInflux = (batch: IPoint[]): string => {
        // node-influx 5.12 writePoints' serialisation, verbatim in structure.
        let payload = '';
        for (const point of batch) {
          const { measurement, tags, fieldsPairs, tagsNames, castedTimestamp } = influx.parsePoint(point, {
            database: 'bench',
            precision: 'ms',
          });
          payload += (payload.length > 0 ? '\n' : '') + measurement;
          for (const tagsName of tagsNames) payload += ',' + escape(tagsName) + '=' + escape(tags?.[tagsName] ?? '');
          for (let i = 0; i < fieldsPairs.length; i += 1)
            payload += (i === 0 ? ' ' : ',') + escape(fieldsPairs[i]![0]) + '=' + fieldsPairs[i]![1];
          if (castedTimestamp !== undefined) payload += ' ' + castedTimestamp;
        }
        return payload;
      };
      const time = (fn: () => number): number => {
        let best = Infinity;
        for (let rep = 0; rep < 3; rep++) {
          const t0 = performance.now();
          const bytes = fn();
          const s = (performance.now() - t0) / 1000;
          if (bytes <= 0) throw new Error('encoder produced nothing');
          best = Math.min(best, s);
        }
        return n / best;
      };
      await Promise.resolve();
      const ours = time(() => batches.reduce((a, b) => a + encodeLines(b).length, 0));
      const theirs = time(() => nodeInfluxPoints.reduce((a, b) => a + nodeInflux(b).length, 0));
      ctx.log(`encode: cellwatch ${Math.round(ours)} points/s, node-influx ${Math.round(theirs)} points/s`);
      return [
        {
          case: 'store: line-protocol encoding (5,000 series, 6 fields)',
          metric: 'points/s, one core',
          ours,
          baseline: 'node-influx serialisation',
          baselineValue: theirs,
          higherIsBetter: true,
          target: '≥ 1,000,000 points/s',
          met: ours >= 1_000_000,
          note: `${n.toLocaleString('en-US')} points, best of 3`,
        },
      ];
    },
  },
];
