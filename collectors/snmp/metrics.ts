/**
 * The collector's self-metrics, labelled by target, so `/metrics` shows which target is slow, retrying
 * or silent. Gauges of the last poll rather than histograms: thousands of targets × buckets would
 * swamp the registry, and the alerting question is "how is this target now".
 */
import { Counter, Gauge, type Registry } from 'prom-client';

function counter(registry: Registry, name: string, help: string): Counter<'target'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'target'>;
  return new Counter({ name, help, labelNames: ['target'], registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = ['target']): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export class SnmpMetrics {
  readonly duration: Gauge;
  readonly pdus: Counter<'target'>;
  readonly retries: Counter<'target'>;
  readonly timeouts: Counter<'target'>;
  readonly lastSuccess: Gauge;
  readonly skipped: Counter<'target'>;
  readonly resets: Counter<'target'>;
  readonly up: Gauge;
  readonly varbinds: Counter<'target'>;
  readonly unmapped: Counter<'target'>;
  readonly slotsBusy: Gauge;

  constructor(registry: Registry) {
    this.duration = gauge(
      registry,
      'cellwatch_snmp_poll_duration_seconds',
      'Wall time of the last poll of the target (successful or not).',
    );
    this.pdus = counter(
      registry,
      'cellwatch_snmp_pdus_total',
      'Request PDUs sent to the target, retries and SNMPv3 discovery included.',
    );
    this.retries = counter(registry, 'cellwatch_snmp_retries_total', 'Request PDUs re-sent after a timeout.');
    this.timeouts = counter(registry, 'cellwatch_snmp_timeouts_total', 'Request PDUs that got no answer in time.');
    this.lastSuccess = gauge(
      registry,
      'cellwatch_snmp_last_success_timestamp_seconds',
      'Clock time (tick) of the last successful poll, Unix seconds.',
    );
    this.skipped = counter(
      registry,
      'cellwatch_snmp_skipped_ticks_total',
      'Ticks skipped because the previous poll of the target was still running.',
    );
    this.resets = counter(
      registry,
      'cellwatch_snmp_counter_resets_total',
      'Counter discontinuities seen (agent restart, counter going down, impossible rate).',
    );
    this.up = gauge(registry, 'cellwatch_snmp_up', '1 when the last poll of the target succeeded, 0 when it failed.');
    this.varbinds = counter(
      registry,
      'cellwatch_snmp_varbinds_total',
      'Table and scalar varbinds received from the target.',
    );
    this.unmapped = counter(
      registry,
      'cellwatch_snmp_unmapped_rows_total',
      'Table rows dropped because no cell id could be found for them.',
    );
    this.slotsBusy = gauge(registry, 'cellwatch_snmp_poll_slots_busy', 'Poll slots (and sockets) in use, by lane.', [
      'lane',
    ]);
  }

  /** Forgets a removed target's series. */
  remove(target: string): void {
    for (const m of [
      this.duration,
      this.pdus,
      this.retries,
      this.timeouts,
      this.lastSuccess,
      this.skipped,
      this.resets,
      this.up,
      this.varbinds,
      this.unmapped,
    ]) {
      m.remove({ target });
    }
  }
}
