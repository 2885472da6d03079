import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CounterMetric, GaugeMetric, HistogramMetric, MetricSpec, Metrics } from '../model/index.js';

const PREFIX = 'cellwatch_';

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus reserves for counters
 * (`promtool check metrics` flags them). Their per-type siblings without the suffix stay and add up
 * to the same totals.
 */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** The daemon's own Prometheus registry: process metrics plus what each component declares on it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(PREFIX + name);
  return registry;
}

/** The Metrics port on a prom-client registry; declaring a metric twice returns the first. */
export class PromMetrics implements Metrics {
  constructor(readonly registry: Registry) {}

  counter<L extends string = never>(spec: MetricSpec<L>): CounterMetric<L> {
    return this.reuse(spec.name, () => new Counter<L>({ ...this.base(spec) }));
  }

  gauge<L extends string = never>(spec: MetricSpec<L>): GaugeMetric<L> {
    return this.reuse(spec.name, () => new Gauge<L>({ ...this.base(spec) }));
  }

  histogram<L extends string = never>(spec: MetricSpec<L> & { buckets: readonly number[] }): HistogramMetric<L> {
    return this.reuse(spec.name, () => new Histogram<L>({ ...this.base(spec), buckets: [...spec.buckets] }));
  }

  private base<L extends string>(spec: MetricSpec<L>) {
    return { name: spec.name, help: spec.help, labelNames: [...(spec.labelNames ?? [])], registers: [this.registry] };
  }

  private reuse<T>(name: string, make: () => T): T {
    return (this.registry.getSingleMetric(name) as T | undefined) ?? make();
  }
}
