import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock/index.js';
import type { StoreConfig } from '../config/index.js';
import type { EpochMs } from '../model/index.js';
import { EmbeddedBackend } from './embedded.js';
import type { Point, SeriesBackend, SeriesReader, SeriesWriter } from './index.js';
import { RecordStore } from './records.js';

export interface Stores {
  /** The one pipeline, in front of the configured backend. */
  writer: SeriesWriter;
  /** Reads from the same backend. */
  reader: SeriesReader;
  records: RecordStore;
  backend: SeriesBackend;
  /** writer.shutdown() (flush/spool), then closes the backend and the records. Idempotent. */
  close(): Promise<void>;
}

export interface StoreDeps {
  dataDir: string;
  clock: Clock;
  log: Logger;
  registry: Registry;
  onEvent?: (e: StoreEvent) => void;
}

/** What the alerts raise; the daemon logs them. */
export type StoreEvent =
  | { kind: 'backend-down'; reason: string; at: EpochMs }
  | { kind: 'backend-up'; at: EpochMs; spooledPoints: number }
  | { kind: 'dead-lettered'; points: number; reason: string; at: EpochMs }
  | { kind: 'dropped'; points: number; reason: string; at: EpochMs };

/**
 * Interim writer (until store/pipeline.ts lands): sends each export straight to the backend in
 * batches and rejects when the backend refuses, so a caller never believes a refused point is stored.
 */
class DirectWriter implements SeriesWriter {
  private closed = false;
  constructor(
    private readonly backend: SeriesBackend,
    private readonly batchSize: number,
  ) {}
  async export(points: readonly Point[]): Promise<void> {
    if (this.closed) throw new Error('writer is shut down');
    for (let i = 0; i < points.length; i += this.batchSize) {
      const r = await this.backend.write(points.slice(i, i + this.batchSize));
      if (!r.ok) throw new Error(`store refused ${Math.min(this.batchSize, points.length - i)} points: ${r.reason}`);
    }
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Opens the record store, the configured series backend and the write pipeline in front of it. */
export async function openStores(cfg: StoreConfig, deps: StoreDeps): Promise<Stores> {
  const records = RecordStore.open(deps.dataDir, deps.log);
  let backend: SeriesBackend & { reader: SeriesReader };
  try {
    switch (cfg.kind) {
      case 'embedded':
        backend = new EmbeddedBackend({ dataDir: deps.dataDir, retentionMs: cfg.retention, clock: deps.clock, log: deps.log });
        break;
      default:
        throw new Error(`store kind "${cfg.kind}" is not available yet`);
    }
    const init = await backend.init();
    if (!init.ok) throw new Error(init.reason);
  } catch (err) {
    records.close();
    throw err;
  }
  const writer = new DirectWriter(backend, cfg.pipeline.batchSize);
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
