import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlib } from 'node:zlib';
import type { WriteResult } from './index.js';

const gzip = promisify(gzipCb);

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A keep-alive HTTP client for one InfluxDB endpoint: the hot write path. Plain `node:http` with a
 * persistent agent is what reached 1.07× curl here (TOOLCHAIN.md), so nothing heavier sits on it.
 */
export class InfluxHttp {
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  readonly base: URL;

  constructor(
    url: string,
    private readonly opts: { timeoutMs: number; maxSockets: number; headers?: Record<string, string> },
  ) {
    this.base = new URL(url.endsWith('/') ? url : `${url}/`);
    const https = this.base.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: opts.maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets: opts.maxSockets });
    this.request = https ? httpsRequest : httpRequest;
  }

  /** Sends one request; rejects only on network errors and timeouts (an HTTP error is an answer). */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    // One UTF-8 conversion, reused for the length and the socket write.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = this.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.opts.headers,
            ...headers,
            ...(bytes !== undefined ? { 'content-length': String(bytes.length) } : {}),
          },
          timeout: this.opts.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(bytes);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Level 1: most of gzip's size gain on line protocol at a fraction of the CPU of the default level. */
export function gzipBody(body: string): Promise<Buffer> {
  return gzip(body, { level: zlib.Z_BEST_SPEED });
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: string; message?: string };
    return parsed.error ?? parsed.message ?? body;
  } catch {
    return body;
  }
}

/**
 * What an InfluxDB write answer means for the pipeline. Only content errors (400, 413, 422 and other
 * 4xx) are non-retryable — they get bisected and dead-lettered. Authentication (401/403) and a missing
 * database or bucket (404) are the server's configuration, not the data's fault: the points are
 * kept (spooled) and the outage is raised, never dead-lettered.
 */
export function classifyWrite(a: HttpAnswer, now: number, what: string): WriteResult {
  if (a.status >= 200 && a.status < 300) return { ok: true };
  const text = errorText(a.body).trim().slice(0, 500);
  const reason = `${what} answered ${a.status}${text ? `: ${text}` : ''}`;
  if (a.status === 401 || a.status === 403)
    return { ok: false, retryable: true, reason: `${reason} (check the credentials)` };
  if (a.status === 404) return { ok: false, retryable: true, reason };
  if (a.status === 408 || a.status === 429 || a.status >= 500) {
    const after = retryAfterMs(a.headers['retry-after'], now);
    return after === undefined
      ? { ok: false, retryable: true, reason }
      : { ok: false, retryable: true, reason, retryAfterMs: after };
  }
  return { ok: false, retryable: false, reason, status: a.status };
}
