import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../../clock/index.js';
import type { Notification, Notifier, NotifyResult } from '../index.js';

/**
 * Webhook sink: Alertmanager's webhook message (version "4"), so receivers written for Alertmanager
 * work unchanged, signed per the Standard Webhooks spec:
 *
 *   webhook-id: <unique per message, the same across its retries>
 *   webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>
 *
 * with the key from a `whsec_<base64>` secret (or the raw secret's bytes). Keep-alive connections;
 * every request has a timeout. 2xx is delivered; 5xx, 408, 429 (with Retry-After), timeouts and
 * network errors are retryable; other 4xx are not (the receiver refuses the content: retrying cannot
 * help). No retries here — the pipeline's retry stage owns them.
 */

export interface WebhookOptions {
  name: string;
  url: string;
  /** `whsec_<base64>` or a raw secret; without one the message is sent unsigned. */
  secret?: string;
  timeoutMs: number;
  /** Stamps `webhook-timestamp` and reads Retry-After dates. */
  clock: Clock;
  /** Sockets kept per host. Default 4. */
  maxSockets?: number;
}

/** Alertmanager's zero time: what its webhook says for an alert with no end yet. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const rfc3339 = (ms: number | undefined) => (ms === undefined ? ZERO_TIME : new Date(ms).toISOString());

/** The JSON body: Alertmanager's webhook payload, version "4". */
export function webhookPayload(n: Notification) {
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.truncatedAlerts,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalURL,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: rfc3339(a.startsAt),
      endsAt: rfc3339(a.endsAt),
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
  };
}

/** The HMAC key of a Standard Webhooks secret. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

export function sign(key: Buffer, id: string, timestampS: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/**
 * A receiver's check (tests and integrators): one of the space-separated `v1,` signatures matches,
 * and the timestamp is within `toleranceS` of `nowS`.
 */
export function verifySignature(
  key: Buffer,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowS - ts) > toleranceS) return false;
  const want = Buffer.from(sign(key, headers.id, ts, body).slice(3), 'base64');
  return headers.signature.split(' ').some((part) => {
    if (!part.startsWith('v1,')) return false;
    const got = Buffer.from(part.slice(3), 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

export class WebhookNotifier implements Notifier {
  readonly kind = 'webhook';
  readonly name: string;
  private readonly url: URL;
  private readonly key: Buffer | undefined;
  private readonly agent: http.Agent;
  private closed = false;

  constructor(private readonly opts: WebhookOptions) {
    this.name = opts.name;
    this.url = new URL(opts.url);
    this.key = opts.secret !== undefined ? signingKey(opts.secret) : undefined;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 4 };
    this.agent = this.url.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  async notify(n: Notification, signal: AbortSignal): Promise<NotifyResult> {
    if (this.closed) return { ok: false, retryable: false, reason: 'sink closed' };
    const body = JSON.stringify(webhookPayload(n));
    const id = n.id ?? randomUUID();
    const timestamp = Math.floor(this.opts.clock.now() / 1000);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'cellwatch',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
    };
    if (this.key) headers['webhook-signature'] = sign(this.key, id, timestamp, body);
    return this.post(body, headers, signal);
  }

  private post(body: string, headers: Record<string, string | number>, outer: AbortSignal): Promise<NotifyResult> {
    return new Promise<NotifyResult>((resolve) => {
      const timeout = AbortSignal.timeout(this.opts.timeoutMs);
      const ctl = new AbortController();
      // Linked by hand: AbortSignal.any() on the pipeline's long-lived signal leaks on Node 20.
      const onOuter = () => ctl.abort(outer.reason);
      const onTimeout = () => ctl.abort(timeout.reason);
      if (outer.aborted) onOuter();
      outer.addEventListener('abort', onOuter, { once: true });
      timeout.addEventListener('abort', onTimeout, { once: true });
      const done = (r: NotifyResult) => {
        outer.removeEventListener('abort', onOuter);
        timeout.removeEventListener('abort', onTimeout);
        resolve(r);
      };
      const mod = this.url.protocol === 'https:' ? https : http;
      const req = mod.request(this.url, { method: 'POST', headers, agent: this.agent, signal: ctl.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 2048) chunks.push(c);
          size += c.length;
        });
        res.on('error', () => undefined);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return done({ ok: true });
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 200).trim();
          const reason = `HTTP ${status}${text ? `: ${text}` : ''}`;
          if (status === 429 || status === 408 || status >= 500) {
            const after = this.retryAfter(res.headers['retry-after']);
            return done({
              ok: false,
              retryable: true,
              reason,
              ...(after !== undefined ? { retryAfterMs: after } : {}),
            });
          }
          done({ ok: false, retryable: false, reason });
        });
      });
      req.on('error', (err) => {
        const reason = timeout.aborted
          ? `timeout after ${this.opts.timeoutMs} ms`
          : outer.aborted
            ? 'aborted (shutting down)'
            : `request failed: ${err.message}`;
        done({ ok: false, retryable: true, reason });
      });
      req.end(body);
    });
  }

  private retryAfter(header: string | undefined): number | undefined {
    if (header === undefined) return undefined;
    const s = Number(header);
    if (Number.isFinite(s) && s >= 0) return s * 1000;
    const at = Date.parse(header);
    return Number.isFinite(at) ? Math.max(0, at - this.opts.clock.now()) : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }
}
