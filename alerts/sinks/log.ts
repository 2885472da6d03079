import type { Logger } from 'pino';
import type { Notification, Notifier, NotifyResult } from '../index.js';

/**
 * Log sink: one JSON line per alert of a notification through the injected pino logger (firing at
 * `warn`, resolved at `info`), for journald, Loki or a plain file. Never fails.
 */
export class LogNotifier implements Notifier {
  readonly kind = 'log';

  constructor(
    readonly name: string,
    private readonly log: Logger,
  ) {}

  async notify(n: Notification): Promise<NotifyResult> {
    for (const a of n.alerts) {
      const line = {
        alert: {
          status: a.status,
          fingerprint: a.fingerprint,
          labels: a.labels,
          annotations: a.annotations,
          startsAt: new Date(a.startsAt).toISOString(),
          ...(a.endsAt !== undefined ? { endsAt: new Date(a.endsAt).toISOString() } : {}),
          generatorURL: a.generatorURL,
        },
        groupKey: n.groupKey,
        receiver: n.receiver,
      };
      const msg = `[${a.status}] ${a.labels.alertname ?? 'alert'} ${a.labels.severity ?? ''}: ${a.annotations.summary ?? ''}`;
      if (a.status === 'firing') this.log.warn(line, msg);
      else this.log.info(line, msg);
    }
    if (n.truncatedAlerts > 0)
      this.log.warn(
        { groupKey: n.groupKey, truncatedAlerts: n.truncatedAlerts },
        'alerts left out of the notification',
      );
    return { ok: true };
  }

  async close(): Promise<void> {}
}
