import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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
    this.samples = new Counter({ name: 'cellwatch_samples_total', help: 'Cell samples accepted from collectors', labelNames: ['source'], registers: [registry] });
    this.links = new Counter({ name: 'cellwatch_link_samples_total', help: 'Transport link samples accepted from collectors', registers: [registry] });
    this.gaps = new Counter({ name: 'cellwatch_collection_gaps_total', help: 'Polls that yielded no data, by reason', labelNames: ['reason'], registers: [registry] });
    this.collectorErrors = new Counter({ name: 'cellwatch_collector_errors_total', help: 'Errors reported by collectors', registers: [registry] });
    this.exportFailures = new Counter({ name: 'cellwatch_export_failures_total', help: 'Batches the store pipeline refused (see logs)', registers: [registry] });
    this.ready = new Gauge({ name: 'cellwatch_ready', help: '1 when the daemon is started and serving', registers: [registry] });
  }
}
