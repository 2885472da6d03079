/**
 * The SNMP input's own self-metrics, labelled by target (the runner keeps duration, up, last success
 * and skipped ticks for every collector kind). Gauges and counters rather than histograms: thousands
 * of targets × buckets would swamp the registry, and the alerting question is "how is this target now".
 */
import type { CounterMetric, GaugeMetric, Metrics } from '../../model/index.js';

export class SnmpMetrics {
  readonly pdus: CounterMetric<'target'>;
  readonly retries: CounterMetric<'target'>;
  readonly timeouts: CounterMetric<'target'>;
  readonly resets: CounterMetric<'target'>;
  readonly varbinds: CounterMetric<'target'>;
  readonly unmapped: CounterMetric<'target'>;
  readonly slotsBusy: GaugeMetric<'lane'>;

  constructor(metrics: Metrics) {
    const counter = (name: string, help: string) => metrics.counter({ name, help, labelNames: ['target'] as const });
    this.pdus = counter(
      'cellwatch_snmp_pdus_total',
      'Request PDUs sent to the target, retries and SNMPv3 discovery included.',
    );
    this.retries = counter('cellwatch_snmp_retries_total', 'Request PDUs re-sent after a timeout.');
    this.timeouts = counter('cellwatch_snmp_timeouts_total', 'Request PDUs that got no answer in time.');
    this.resets = counter(
      'cellwatch_snmp_counter_resets_total',
      'Counter discontinuities seen (agent restart, counter going down, impossible rate).',
    );
    this.varbinds = counter('cellwatch_snmp_varbinds_total', 'Table and scalar varbinds received from the target.');
    this.unmapped = counter(
      'cellwatch_snmp_unmapped_rows_total',
      'Table rows dropped because no cell id could be found for them.',
    );
    this.slotsBusy = metrics.gauge({
      name: 'cellwatch_snmp_poll_slots_busy',
      help: 'Poll slots (and sockets) in use, by lane.',
      labelNames: ['lane'],
    });
  }

  /** Forgets a removed target's series. */
  remove(target: string): void {
    for (const m of [this.pdus, this.retries, this.timeouts, this.resets, this.varbinds, this.unmapped]) {
      m.remove({ target });
    }
  }
}
