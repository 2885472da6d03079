import { mkdirSync } from 'node:fs';
import { GapRecords, openStores, type StoreEvent, type Stores } from '../store/index.js';
import type { House } from './house/index.js';

export interface StoreParts extends Stores {
  gaps: GapRecords;
  /**
   * The backend's failure while it lasts (else undefined). Kept here because the pipeline reports a
   * backend that is down at start before any other part listens: the alerts read it when they resume.
   */
  backendDown(): Extract<StoreEvent, { kind: 'backend-down' }> | undefined;
}

/**
 * The stores part: the series backend behind the write pipeline, the record database, and the record
 * kinds this part owns (collection gaps, fed from the bus). Later record kinds open on `records.db`
 * in their own parts. Built first, closed last: everything accepted before then is flushed.
 */
export async function startStores(h: House): Promise<StoreParts> {
  const cfg = h.config;
  mkdirSync(cfg.dataDir, { recursive: true });
  const log = h.logFor('store');
  let down: Extract<StoreEvent, { kind: 'backend-down' }> | undefined;
  const stores = await openStores(cfg.store, {
    dataDir: cfg.dataDir,
    clock: h.clock,
    log,
    metrics: h.metrics,
    onEvent: (e) => {
      if (e.kind === 'backend-down') down = e;
      else if (e.kind === 'backend-up') down = undefined;
      h.bus.emit('store', e);
    },
  });
  h.defer('stores', () => stores.close());
  const gaps = new GapRecords(stores.records.db);
  h.bus.on('gaps', 'gap-records', (e) => gaps.add(e.gaps));
  h.bus.on('store', 'store-log', (e: StoreEvent) => {
    const level = e.kind === 'backend-up' ? 'info' : e.kind === 'backend-down' ? 'warn' : 'error';
    log[level]({ event: e }, `store: ${e.kind}`);
  });
  return { ...stores, gaps, backendDown: () => down };
}
