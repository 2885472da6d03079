import type { Logger } from 'pino';
import type { Clock } from '../../clock/index.js';
import type { Config } from '../../config/index.js';
import type { Notifier } from '../index.js';
import { LogNotifier } from './log.js';
import { WebhookNotifier } from './webhook.js';

/**
 * Sinks from the `alerts.sinks` config list. Names default to the kind, numbered from the second of a
 * kind on (`webhook`, `webhook-2`): they key the notification log, so renaming a sink makes it a new
 * receiver that has been sent nothing yet.
 */

export type SinkConfig = Config['alerts']['sinks'][number];

export function sinkNames(entries: readonly SinkConfig[]): string[] {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    if (e.name !== undefined) return e.name;
    const n = (seen.get(e.kind) ?? 0) + 1;
    seen.set(e.kind, n);
    return n === 1 ? e.kind : `${e.kind}-${n}`;
  });
}

/**
 * The webhook and log sinks; undefined for the kinds built elsewhere (`snmp-trap`, `alertmanager`),
 * which the daemon constructs from their own modules against the same Notifier contract.
 */
export function buildSink(entry: SinkConfig, name: string, deps: { clock: Clock; log: Logger }): Notifier | undefined {
  switch (entry.kind) {
    case 'webhook':
      return new WebhookNotifier({
        name,
        url: entry.url,
        ...(entry.secret ? { secret: entry.secret.reveal() } : {}),
        timeoutMs: entry.timeout,
        clock: deps.clock,
      });
    case 'log':
      return new LogNotifier(name, deps.log.child({ sink: name }));
    default:
      return undefined;
  }
}
