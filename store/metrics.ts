import type { CounterMetric, GaugeMetric, HistogramMetric, Metrics } from '../model/index.js';

/** The write pipeline's self-metrics, on the daemon's `/metrics`. */
export class StoreMetrics {
  readonly queuePoints: GaugeMetric<'backend'>;
  readonly spoolBytes: GaugeMetric<'backend'>;
  readonly spoolPoints: GaugeMetric<'backend'>;
  readonly batchesRetried: CounterMetric<'backend'>;
  readonly deadLettered: CounterMetric<'backend'>;
  readonly dropped: CounterMetric<'backend'>;
  readonly written: CounterMetric<'backend'>;
  readonly writeSeconds: HistogramMetric<'backend' | 'outcome'>;
  readonly backendUp: GaugeMetric<'backend'>;

  constructor(metrics: Metrics, backend: string) {
    const labels = { backend };
    const labelNames = ['backend'] as const;
    const gauge = (name: string, help: string) => metrics.gauge({ name, help, labelNames });
    const counter = (name: string, help: string) => metrics.counter({ name, help, labelNames });
    this.queuePoints = gauge(
      'cellwatch_store_queue_points',
      'Points accepted by the write pipeline and not yet durable (in memory)',
    );
    this.spoolBytes = gauge('cellwatch_store_spool_bytes', 'Bytes in the disk spool (what spoolMaxBytes limits)');
    this.spoolPoints = gauge('cellwatch_store_spool_points', 'Points in the disk spool waiting to be replayed');
    this.batchesRetried = counter(
      'cellwatch_store_batches_retried_total',
      'Batch sends that failed retryably and were retried (from memory or the spool)',
    );
    this.deadLettered = counter(
      'cellwatch_store_points_dead_lettered_total',
      'Points the backend refused for their content, written to the dead-letter file',
    );
    this.dropped = counter(
      'cellwatch_store_points_dropped_total',
      'Points refused because the disk spool was full (the export was rejected)',
    );
    this.written = counter('cellwatch_store_points_written_total', 'Points acknowledged by the backend');
    this.backendUp = gauge(
      'cellwatch_store_backend_up',
      '1 while the backend accepts writes, 0 while the pipeline spools',
    );
    this.writeSeconds = metrics.histogram({
      name: 'cellwatch_store_write_seconds',
      help: 'Latency of one batch write to the backend',
      labelNames: ['backend', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    for (const m of [this.queuePoints, this.spoolBytes, this.spoolPoints, this.backendUp]) m.set(labels, 0);
    for (const m of [this.batchesRetried, this.deadLettered, this.dropped, this.written]) m.inc(labels, 0);
    this.backendUp.set(labels, 1);
  }
}
