import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { reuseMetric } from '../store/metrics.js';

/** The daemon's own Prometheus registry: process metrics plus what each stage registers on it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cellwatch_' });
  return registry;
}

/** Counters of the ingest path between collectors and the store. */
export class IngestMetrics {
  readonly samples: Counter<'source'>;
  readonly links: Counter;
  readonly gaps: Counter<'reason'>;
  readonly collectorErrors: Counter;
  readonly exportFailures: Counter;
  readonly ready: Gauge;
  constructor(registry: Registry) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      reuseMetric(registry, name, () => new Counter<L>({ name, help, labelNames, registers: [registry] }));
    this.samples = counter('cellwatch_samples_total', 'Cell samples accepted from collectors', ['source']);
    this.links = counter('cellwatch_link_samples_total', 'Transport link samples accepted from collectors');
    this.gaps = counter('cellwatch_collection_gaps_total', 'Polls that yielded no data, by reason', ['reason']);
    this.collectorErrors = counter('cellwatch_collector_errors_total', 'Errors reported by collectors');
    this.exportFailures = counter('cellwatch_export_failures_total', 'Batches the store pipeline refused (see logs)');
    this.ready = reuseMetric(
      registry,
      'cellwatch_ready',
      () =>
        new Gauge({ name: 'cellwatch_ready', help: '1 when the daemon is started and serving', registers: [registry] }),
    );
  }
}
