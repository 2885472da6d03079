/**
 * The self-metrics port. Components declare the counters, gauges and histograms they keep through
 * it and never touch a metrics library: the daemon hands in one implementation (prom-client on the
 * daemon's registry, daemon/metrics.ts) that also makes re-declaring a metric return the existing one —
 * a component re-opened in the same process (a restart in tests, a reload) must not throw "already
 * registered". The shapes are prom-client's, so its objects satisfy them as they are.
 */
export type LabelValues<L extends string> = Partial<Record<L, string | number>>;

export interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface CounterMetric<L extends string = string> {
  inc(labels: LabelValues<L>, value?: number): void;
  inc(value?: number): void;
  remove(labels: LabelValues<L>): void;
}

export interface GaugeMetric<L extends string = string> {
  set(labels: LabelValues<L>, value: number): void;
  set(value: number): void;
  inc(labels: LabelValues<L>, value?: number): void;
  inc(value?: number): void;
  dec(labels: LabelValues<L>, value?: number): void;
  dec(value?: number): void;
  remove(labels: LabelValues<L>): void;
}

export interface HistogramMetric<L extends string = string> {
  observe(labels: LabelValues<L>, value: number): void;
  observe(value: number): void;
}

export interface Metrics {
  counter<L extends string = never>(spec: MetricSpec<L>): CounterMetric<L>;
  gauge<L extends string = never>(spec: MetricSpec<L>): GaugeMetric<L>;
  histogram<L extends string = never>(spec: MetricSpec<L> & { buckets: readonly number[] }): HistogramMetric<L>;
}
