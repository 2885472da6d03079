import { onClock } from '../clock/index.js';
import {
  AlertManager,
  alertManagerOptions,
  buildSink,
  sinkNames,
  type AlertInput,
  type AlertTransition,
  type AlertView,
} from '../alerts/index.js';
import type { Inventory, TargetResult, WindowEvent } from '../model/index.js';
import { AlertRecords, NotificationRecords, SilenceRecords, type RecordDb } from '../store/index.js';
import { registerAlertRoutes } from './api/alerts.js';
import type { House } from './house/index.js';

export interface Alerting {
  manager: AlertManager;
  /** Feeds inputs that are not on the bus yet (the complaint part's hot spots and SLA risks). */
  handle(inputs: AlertInput | readonly AlertInput[]): void;
  /**
   * Called once the parts that know the current conditions have started (before anything is
   * collected): re-asserts what holds now, resolves what ended while the daemon was down, and starts
   * the evaluation loop.
   */
  resume(current: readonly AlertInput[]): void;
}

/**
 * The alerts part: the alert manager on its record kinds, fed from the bus — window events, collection
 * gaps and answers, the monitored targets, the store's health — and its routes. Decisions run on
 * event time with the clock's timers (group waits and hold-downs follow the demo's accelerated
 * clock); sinks' network waits stay real. At start (`resume`, once the windows, targets, complaints
 * and store can say what holds) the conditions still true are re-asserted: an alert that ended while
 * the daemon was down is resolved, and nothing that was already sent is sent again.
 */
export function startAlerting(
  h: House,
  needs: {
    records: RecordDb;
    inventory: () => Inventory;
    /** Where the board link of each alert points. */
    externalURL: string;
  },
): Alerting {
  const cfg = h.config.alerts;
  const log = h.logFor('alerts');
  const names = sinkNames(cfg.sinks);
  const sinks = cfg.sinks.map((entry, i) => buildSink(entry, names[i]!, { log }));
  const manager = AlertManager.open({
    clock: h.clock,
    timers: onClock(h.clock, h.timers),
    sinks,
    stores: {
      alerts: new AlertRecords(needs.records.db),
      silences: new SilenceRecords(needs.records.db),
      notifications: new NotificationRecords(needs.records.db),
    },
    options: alertManagerOptions(cfg, needs.externalURL),
    inventory: needs.inventory(),
    log,
  });
  h.defer('alerts', () => manager.close());

  const handle = (inputs: AlertInput | readonly AlertInput[]) => void manager.handle(inputs);
  h.bus.on('windows', 'alerts', (e) => handle(e.events.map((event: WindowEvent) => ({ type: 'window', event }))));
  h.bus.on('gaps', 'alerts', (e) => handle(e.gaps.map((gap) => ({ type: 'gap', gap }))));
  h.bus.on('collected', 'alerts', (e) => handle({ type: 'collected', target: e.target, ts: e.at }));
  h.bus.on('monitored', 'alerts', (e) => handle({ type: 'monitored', targets: e.targets, at: e.at }));
  h.bus.on('store', 'alerts', (e) => handle({ type: 'store', event: e }));
  h.bus.on('inventory', 'alerts', (e) => manager.setInventory(e.inventory));
  h.bus.on('targets', 'alerts', (e) => handle(targetInputs(e.results)));
  manager.onTransition((t: AlertTransition, a: AlertView) =>
    h.bus.emit('alert', { at: t.at, transition: t, alert: a }),
  );
  h.routes((api) => registerAlertRoutes(api, { alerts: manager, now: () => h.clock.now() }));
  log.info({ sinks: names }, 'alerts started');
  let resumed = false;
  const resume = (current: readonly AlertInput[]) => {
    if (resumed) return;
    resumed = true;
    manager.reconcile(current);
    manager.start();
  };
  return { manager, handle, resume };
}

/** Network and region results with a ratio, as the alert rules' target input (cells are not paged on). */
export function targetInputs(results: readonly TargetResult[]): AlertInput[] {
  return results
    .filter((r) => r.scope !== 'cell' && r.ratio !== null)
    .map((r) => ({
      type: 'target',
      target: {
        day: r.day,
        scope: r.scope as 'network' | 'region',
        id: r.id,
        ratio: r.ratio!,
        goal: r.goal,
        users: r.users,
        coverage: r.coverage,
        status: r.status,
        final: r.final,
        ...(r.probes ? { probes: { ratio: r.probes.ratio, tests: r.probes.tests, status: r.probes.status } } : {}),
        ...(r.disagreement !== undefined ? { disagreement: r.disagreement } : {}),
      },
    }));
}
