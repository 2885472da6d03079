import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import type { Metrics } from '../model/index.js';
import type { StoreConfig } from '../config/index.js';
import type { EpochMs } from '../model/index.js';
import { ThreadedEmbeddedBackend } from './embedded-thread.js';
import type { SeriesBackend, SeriesReader, SeriesWriter } from './index.js';
import { InfluxV1Backend } from './influxv1.js';
import { InfluxV2Backend } from './influxv2.js';
import { WritePipeline } from './pipeline.js';
import { RecordDb } from './records/index.js';

export interface Stores {
  /** The one pipeline, in front of the configured backend. */
  writer: SeriesWriter;
  /** Reads from the same backend. */
  reader: SeriesReader;
  /** The record database: each record kind's store opens on its handle. */
  records: RecordDb;
  backend: SeriesBackend;
  /** writer.shutdown() (flush/spool), then closes the backend and the records. Idempotent. */
  close(): Promise<void>;
}

export interface StoreDeps {
  dataDir: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  onEvent?: (e: StoreEvent) => void;
}

/** What the alerts raise; the daemon logs them. */
export type StoreEvent =
  | { kind: 'backend-down'; reason: string; at: EpochMs }
  | { kind: 'backend-up'; at: EpochMs; spooledPoints: number }
  | { kind: 'dead-lettered'; points: number; reason: string; at: EpochMs }
  | { kind: 'dropped'; points: number; reason: string; at: EpochMs };

/** Opens the record store, the configured series backend and the write pipeline in front of it. */
export async function openStores(cfg: StoreConfig, deps: StoreDeps): Promise<Stores> {
  const records = RecordDb.open(deps.dataDir, deps.log);
  let backend: SeriesBackend & { reader: SeriesReader };
  try {
    switch (cfg.kind) {
      case 'embedded':
        backend = new ThreadedEmbeddedBackend({
          dataDir: deps.dataDir,
          retentionMs: cfg.retention,
          clock: deps.clock,
          log: deps.log,
        });
        break;
      case 'influxdb-v1':
        backend = new InfluxV1Backend({
          url: cfg.url,
          database: cfg.database,
          retentionPolicy: cfg.retentionPolicy,
          retentionMs: cfg.retention,
          rollups: cfg.rollups,
          username: cfg.username,
          password: cfg.password?.reveal(),
          gzip: cfg.pipeline.gzip,
          timeoutMs: cfg.pipeline.timeout,
          maxInFlight: cfg.pipeline.maxInFlight,
          clock: deps.clock,
          pendingHoursFile: join(deps.dataDir, 'rollup-pending.json'),
          log: deps.log,
        });
        break;
      case 'influxdb-v2':
        backend = new InfluxV2Backend({
          url: cfg.url,
          org: cfg.org,
          bucket: cfg.bucket,
          token: cfg.token.reveal(),
          gzip: cfg.pipeline.gzip,
          timeoutMs: cfg.pipeline.timeout,
          maxInFlight: cfg.pipeline.maxInFlight,
          log: deps.log,
        });
        break;
    }
  } catch (err) {
    records.close();
    throw err;
  }
  // The embedded store is a local file: when it fails, a disk spool on the same disk would too.
  const writer = new WritePipeline(backend, cfg.pipeline, { ...deps, spool: cfg.kind !== 'embedded' });
  try {
    await writer.start();
  } catch (err) {
    await backend.close();
    records.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    writer,
    reader: backend.reader,
    records,
    backend,
    close: () =>
      (closing ??= (async () => {
        try {
          await writer.shutdown();
        } finally {
          await backend.close();
          records.close();
        }
      })()),
  };
}
