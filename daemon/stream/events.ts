import type { Authenticator } from '../auth.js';
import type { House } from '../house/index.js';
import { startStream, type StreamHub } from './index.js';

/**
 * The stream part: the hub and its endpoint, with what the NOC watches published into it — alert
 * transitions (with the alert as it is now) and window changes. Every event carries `severity`,
 * `region` and `kind` where it has them, so the stream's filters apply.
 */
export function startEventStream(h: House, auth: Authenticator): StreamHub {
  const cfg = h.config.http;
  const hub = startStream(h, {
    auth,
    allowedOrigins: cfg.allowedOrigins,
    ticketTtlMs: cfg.stream.ticketTtl,
    options: {
      historyEvents: cfg.stream.history,
      historyBytes: cfg.stream.historyBytes,
      clientBufferBytes: cfg.stream.clientBuffer,
      heartbeatMs: cfg.stream.heartbeat,
      flushIntervalMs: cfg.stream.flushInterval,
    },
  });
  h.bus.on(
    'alert',
    'stream',
    (e) =>
      void hub.publish({
        type: 'alert',
        at: e.at,
        severity: e.alert.severity,
        ...(e.alert.region !== undefined ? { region: e.alert.region } : {}),
        kind: e.alert.kind,
        transition: e.transition.type,
        alert: e.alert,
      }),
  );
  h.bus.on('windows', 'stream', (e) => {
    for (const ev of e.events) {
      hub.publish({
        type: 'window',
        at: ev.at,
        ...(ev.window.region !== undefined ? { region: ev.window.region } : {}),
        kind: ev.window.cause,
        change: ev.change,
        window: ev.window,
      });
    }
  });
  return hub;
}
