import type { Logger } from 'pino';
import { SystemClock, realTimers, type Clock } from '../../clock/index.js';
import type { Config } from '../../config/index.js';
import type { Notifier } from '../index.js';
import { AlertmanagerSink } from './alertmanager.js';
import { LogNotifier } from './log.js';
import { SnmpTrapSink } from './snmptrap.js';
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
 * A sink from its config entry. Secrets are revealed here, where the sink is built, and nowhere else.
 *
 * What a sink stamps for its receiver is wall time, whatever the daemon's clock runs at (the demo's
 * is accelerated): a Standard Webhooks receiver rejects a `webhook-timestamp` more than minutes off
 * its own clock, Alertmanager expires alerts by its clock, and sysUpTime counts real centiseconds.
 * The alerts' own times (startsAt, endsAt) stay event time. `deps.wallClock` is for tests.
 */
export function buildSink(entry: SinkConfig, name: string, deps: { log: Logger; wallClock?: Clock }): Notifier {
  const wall = deps.wallClock ?? new SystemClock();
  switch (entry.kind) {
    case 'webhook':
      return new WebhookNotifier({
        name,
        url: entry.url,
        ...(entry.secret ? { secret: entry.secret.reveal() } : {}),
        timeoutMs: entry.timeout,
        clock: wall,
      });
    case 'log':
      return new LogNotifier(name, deps.log.child({ sink: name }));
    case 'snmp-trap':
      return new SnmpTrapSink({
        name,
        host: entry.host,
        port: entry.port,
        version: entry.version,
        mode: entry.mode,
        ...(entry.community ? { community: entry.community.reveal() } : {}),
        ...(entry.version === '3' && entry.user
          ? {
              v3: {
                user: entry.user,
                ...(entry.authProtocol ? { authProtocol: entry.authProtocol } : {}),
                ...(entry.authKey ? { authKey: entry.authKey.reveal() } : {}),
                ...(entry.privProtocol ? { privProtocol: entry.privProtocol } : {}),
                ...(entry.privKey ? { privKey: entry.privKey.reveal() } : {}),
                ...(entry.engineId ? { engineId: entry.engineId } : {}),
              },
            }
          : {}),
        timeoutMs: entry.timeout,
        retries: entry.retries,
        clock: wall,
      });
    case 'alertmanager':
      return new AlertmanagerSink({
        name,
        url: entry.url,
        resendIntervalMs: entry.resendInterval,
        timeoutMs: entry.timeout,
        ...(entry.username && entry.password
          ? { basicAuth: { username: entry.username, password: entry.password.reveal() } }
          : {}),
        ...(entry.token ? { bearerToken: entry.token.reveal() } : {}),
        clock: wall,
        timers: realTimers,
        onResend: (r) => deps.log.debug({ sink: name, ...r }, 'alertmanager resend'),
      });
  }
}
