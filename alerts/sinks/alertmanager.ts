/**
 * Alerts into an existing Prometheus Alertmanager (`POST /api/v2/alerts`), for operators whose
 * routing, paging and on-call already live there. cellwatch then acts like a Prometheus server:
 * Alertmanager groups, silences, inhibits and notifies; this sink keeps it told what is firing.
 *
 *   notify(n) ──> FiringSet.apply ──> posts ──────────┐
 *                     │ (what is firing)               ├──> one lane ──> POST /api/v2/alerts
 *   every resendInterval ──> batches of 256, each ─────┘     (a turn per notify or per batch)
 *                            read from the set on its turn
 *
 * The rules:
 * - Alertmanager resolves an alert by itself once its `endsAt` passes, so a firing alert is posted
 *   with `endsAt = now + 4 × resendInterval` and re-posted every `resendInterval` while it fires
 *   (Prometheus does the same): three resends in a row may fail before Alertmanager lets go;
 * - a resolve posts `endsAt` = the resolve time; one that never arrives still resolves within
 *   4 × resendInterval, because the alert is no longer re-posted;
 * - the same fingerprint with other labels (a severity or cause that changed) is another alert to
 *   Alertmanager, whose identity is the label set: the old label set is resolved and the new one fires;
 * - a firing notice that started before a resolve already seen for its fingerprint is a late
 *   retry, not news: it is dropped instead of re-firing a resolved alert;
 * - Alertmanager lives on wall time: the injected clock must be the wall clock, and event times
 *   ahead of it (an accelerated demo clock, a device clock running fast) are clamped to now so
 *   that `startsAt ≤ endsAt` always holds and resolves take effect at once;
 * - label and annotation names are made valid for Alertmanager (`[a-zA-Z_][a-zA-Z0-9_]*`), empty
 *   labels dropped (Alertmanager drops them too), an invalid generatorURL left out;
 * - posts go through one lane, a notify or a resend batch per turn, so a resend never overtakes a
 *   resolve posted before it and a new alert waits for one batch at most;
 * - retryable: network errors, timeouts, 408, 429 and 5xx (with Retry-After); not retryable: any
 *   other status (400 for content, 401/403/404 for configuration), redirects included;
 * - credentials (basic auth or a bearer token, or user:password in the URL) are held in private
 *   fields and never appear in names, reasons or logs.
 */
import type { Clock } from '../../clock/index.js';
import type { EpochMs } from '../../model/index.js';
import type { AlertNotice, Notification, Notifier, NotifyResult } from '../index.js';

export const DEFAULT_RESEND_INTERVAL_MS = 60_000;
/** `endsAt` of a firing alert is this many resend intervals ahead. */
export const VALIDITY_INTERVALS = 4;
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Alerts per POST (Prometheus' notifier batches the same way). */
export const MAX_BATCH = 256;
/** Fingerprints whose resolve is remembered (to drop late firing retries); the oldest go first. */
const RESOLVED_MEMORY = 10_000;
const BODY_EXCERPT = 300;

/** One alert as Alertmanager's API v2 takes it (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** A label or annotation name as Alertmanager accepts it: invalid characters become `_`. */
export function labelName(name: string): string {
  const safe = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(safe) ? safe : `_${safe}`;
}

function names(record: Record<string, string>, dropEmpty: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) if (!dropEmpty || v !== '') out[labelName(k)] = v;
  return out;
}

/**
 * The notice as Alertmanager should see it at `now`: firing until `now + validityMs`, or resolved
 * at its endsAt (within [startsAt, now]). Undefined when nothing is left to identify it by (no labels).
 */
export function toPostable(
  notice: AlertNotice,
  status: 'firing' | 'resolved',
  now: EpochMs,
  validityMs: number,
): PostableAlert | undefined {
  const labels = names(notice.labels, true);
  if (Object.keys(labels).length === 0) return undefined;
  const startsAt = Math.min(notice.startsAt, now);
  const endsAt = status === 'firing' ? now + validityMs : Math.min(Math.max(notice.endsAt ?? now, startsAt), now);
  const alert: PostableAlert = {
    labels,
    annotations: names(notice.annotations, false),
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
  if (notice.generatorURL && URL.canParse(notice.generatorURL)) alert.generatorURL = notice.generatorURL;
  return alert;
}

/** What one notice means for what Alertmanager should hold. */
export type PlanVerdict = 'fire' | 'update' | 'relabel' | 'resolve' | 'stale';

export interface Plan {
  verdict: PlanVerdict;
  /** What to post, in order. */
  posts: { notice: AlertNotice; status: 'firing' | 'resolved' }[];
}

const labelKey = (labels: Record<string, string>): string => {
  const valid = names(labels, true);
  return JSON.stringify(valid, Object.keys(valid).sort());
};

/**
 * The alerts this sink has told Alertmanager are firing, by fingerprint: the set the resends
 * post, and the judge of what each new notice means. Plain data in, plain plans out.
 */
export class FiringSet {
  private readonly firing = new Map<string, AlertNotice>();
  /** fingerprint → endsAt of the last resolve seen. */
  private readonly resolved = new Map<string, EpochMs>();

  get size(): number {
    return this.firing.size;
  }

  /** `now` stands in for the end of a resolve that carries none (it is posted as ending now, too). */
  apply(notice: AlertNotice, now: EpochMs): Plan {
    const fp = notice.fingerprint;
    const prev = this.firing.get(fp);
    const relabelled = prev !== undefined && labelKey(prev.labels) !== labelKey(notice.labels);
    // The old label set is another alert to Alertmanager: resolve it, or it lingers until it
    // expires. Without an end of its own it ends when the post happens.
    const retire = (endsAt: EpochMs | undefined): Plan['posts'] =>
      prev && relabelled ? [{ notice: { ...prev, status: 'resolved', endsAt }, status: 'resolved' }] : [];
    if (notice.status === 'resolved') {
      this.firing.delete(fp);
      this.remember(fp, notice.endsAt ?? now);
      return { verdict: 'resolve', posts: [...retire(notice.endsAt), { notice, status: 'resolved' }] };
    }
    const resolvedAt = this.resolved.get(fp);
    if (prev === undefined && resolvedAt !== undefined && notice.startsAt < resolvedAt)
      return { verdict: 'stale', posts: [] };
    this.resolved.delete(fp);
    this.firing.set(fp, notice);
    const verdict: PlanVerdict = prev === undefined ? 'fire' : relabelled ? 'relabel' : 'update';
    return { verdict, posts: [...retire(undefined), { notice, status: 'firing' }] };
  }

  /** Firing notices known from elsewhere (the alert store after a restart), re-posted from now on. */
  seed(notices: Iterable<AlertNotice>): void {
    for (const n of notices) if (n.status === 'firing') this.firing.set(n.fingerprint, n);
  }

  snapshot(): AlertNotice[] {
    return [...this.firing.values()];
  }

  fingerprints(): string[] {
    return [...this.firing.keys()];
  }

  get(fingerprint: string): AlertNotice | undefined {
    return this.firing.get(fingerprint);
  }

  private remember(fp: string, endsAt: EpochMs): void {
    this.resolved.delete(fp);
    this.resolved.set(fp, endsAt);
    if (this.resolved.size > RESOLVED_MEMORY) {
      const oldest = this.resolved.keys().next();
      if (!oldest.done) this.resolved.delete(oldest.value);
    }
  }
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: EpochMs): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** What Alertmanager's answer means for the pipeline. */
export function classifyResponse(status: number, body: string, retryAfter: string | null, now: EpochMs): NotifyResult {
  if (status >= 200 && status < 300) return { ok: true };
  const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, BODY_EXCERPT);
  const reason = `HTTP ${status} from Alertmanager${excerpt ? `: ${excerpt}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(retryAfter, now);
    return { ok: false, retryable: true, reason, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  if (status >= 300 && status < 400)
    return { ok: false, retryable: false, reason: `${reason} (redirect: configure the final URL)` };
  return { ok: false, retryable: false, reason };
}

// ---------------------------------------------------------------------------------------------
// The sink

/** The timers port the resend loop sleeps on (clock/ provides it; tests drive a manual one). */
export interface Sleeper {
  /** Resolves after `ms`; resolves or rejects early once `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface AlertmanagerSinkOptions {
  name?: string;
  /** Alertmanager's base URL, with its route prefix if it has one: http://am.example:9093 */
  url: string;
  resendIntervalMs?: number;
  timeoutMs?: number;
  basicAuth?: { username: string; password: string };
  bearerToken?: string;
  /** The wall clock: Alertmanager compares endsAt with its own. */
  clock: Clock;
  timers: Sleeper;
  fetch?: typeof globalThis.fetch;
  maxBatch?: number;
  /** Told after every periodic resend (for logs and metrics); never told about secrets. */
  onResend?: (report: ResendReport) => void;
}

export interface ResendReport {
  at: EpochMs;
  /** Alerts sent in the batches tried (a failed batch ends the resend; the next one starts over). */
  alerts: number;
  result: NotifyResult;
}

/** A request's signal: the caller's, plus a timeout; released when the request ends (no lingering listeners). */
function requestSignal(parent: AbortSignal, timeoutMs: number) {
  const ac = new AbortController();
  const timeout = AbortSignal.timeout(timeoutMs);
  const onParent = () => ac.abort(parent.reason);
  const onTimeout = () => ac.abort(timeout.reason);
  parent.addEventListener('abort', onParent, { once: true });
  timeout.addEventListener('abort', onTimeout, { once: true });
  if (parent.aborted) onParent();
  return {
    signal: ac.signal,
    timedOut: () => timeout.aborted && !parent.aborted,
    release: () => {
      parent.removeEventListener('abort', onParent);
      timeout.removeEventListener('abort', onTimeout);
    },
  };
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return `Alertmanager unreachable (${code ?? (typeof cause?.message === 'string' ? cause.message : message)})`;
}

export class AlertmanagerSink implements Notifier {
  readonly kind = 'alertmanager';
  readonly name: string;
  readonly resendIntervalMs: number;
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly maxBatch: number;
  private readonly clock: Clock;
  private readonly fetch: typeof globalThis.fetch;
  private readonly onResend: ((report: ResendReport) => void) | undefined;
  private readonly set = new FiringSet();
  private readonly stop = new AbortController();
  private lane: Promise<unknown> = Promise.resolve();
  private readonly loop: Promise<void>;
  readonly #authorization: string | undefined;

  constructor(opts: AlertmanagerSinkOptions) {
    const url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`alertmanager sink: expected an http(s) URL, got ${url.protocol}`);
    let basic = opts.basicAuth;
    if (url.username || url.password) {
      // fetch refuses URLs with credentials; they are basic auth, kept out of the URL (and of reasons).
      if (basic || opts.bearerToken) throw new Error('alertmanager sink: credentials both in the URL and in options');
      basic = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
      url.username = '';
      url.password = '';
    }
    if (basic && opts.bearerToken) throw new Error('alertmanager sink: basicAuth and bearerToken exclude each other');
    this.#authorization = basic
      ? `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`
      : opts.bearerToken
        ? `Bearer ${opts.bearerToken}`
        : undefined;
    const base = url.href.endsWith('/') ? url.href : `${url.href}/`;
    this.endpoint = new URL('api/v2/alerts', base).href;
    this.name = opts.name ?? `alertmanager ${url.host}`;
    this.resendIntervalMs = opts.resendIntervalMs ?? DEFAULT_RESEND_INTERVAL_MS;
    if (!(this.resendIntervalMs > 0)) throw new Error('alertmanager sink: resendInterval must be > 0');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBatch = opts.maxBatch ?? MAX_BATCH;
    this.clock = opts.clock;
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.onResend = opts.onResend;
    this.loop = this.resendLoop(opts.timers);
  }

  /** How many alerts this sink keeps firing at Alertmanager. */
  get firing(): number {
    return this.set.size;
  }

  /** Firing alerts from the alert store after a restart: re-posted by the next resend (or resendNow). */
  seed(notices: Iterable<AlertNotice>): void {
    this.set.seed(notices);
  }

  /** Notifier.resume: what Alertmanager was told is firing keeps being re-posted after our restart. */
  resume(firing: readonly AlertNotice[]): void {
    this.seed(firing);
  }

  async notify(n: Notification, signal: AbortSignal): Promise<NotifyResult> {
    if (this.stop.signal.aborted) return { ok: false, retryable: false, reason: 'sink closed' };
    return this.inLane(async () => {
      const now = this.clock.now();
      const posts: PostableAlert[] = [];
      const unlabelled: string[] = [];
      for (const notice of n.alerts)
        for (const p of this.set.apply(notice, now).posts) {
          const alert = toPostable(p.notice, p.status, now, this.validityMs);
          if (alert) posts.push(alert);
          else unlabelled.push(p.notice.fingerprint);
        }
      const result = posts.length > 0 ? await this.post(posts, signal) : ({ ok: true } as const);
      if (result.ok && unlabelled.length > 0)
        return {
          ok: false,
          retryable: false,
          reason: `alerts without labels cannot be posted: ${unlabelled.join(', ')}`,
        };
      return result;
    });
  }

  /** Re-posts every firing alert with a fresh endsAt; what the periodic resend does. */
  async resendNow(signal: AbortSignal = this.stop.signal): Promise<ResendReport> {
    const at = this.clock.now();
    const fingerprints = this.set.fingerprints();
    let alerts = 0;
    for (let i = 0; i < fingerprints.length; i += this.maxBatch) {
      const chunk = fingerprints.slice(i, i + this.maxBatch);
      // Each batch takes its own turn in the lane and reads the set as it is then: a new alert or a
      // resolve waits for one batch, not for the whole resend (Alertmanager 0.25 takes ~0.7 ms per
      // alert), and no batch re-fires what was resolved before its turn.
      const result = await this.inLane(async () => {
        const now = this.clock.now();
        const batch: PostableAlert[] = [];
        for (const fp of chunk) {
          const notice = this.set.get(fp);
          const alert = notice && toPostable(notice, 'firing', now, this.validityMs);
          if (alert) batch.push(alert);
        }
        alerts += batch.length;
        return batch.length > 0 ? this.postBatch(batch, signal) : ({ ok: true } as const);
      });
      if (!result.ok) return { at, alerts, result };
    }
    return { at, alerts, result: { ok: true } };
  }

  async close(): Promise<void> {
    this.stop.abort(new Error(`${this.name} closed`));
    await this.loop;
    await this.lane.catch(() => undefined);
  }

  private get validityMs(): number {
    return VALIDITY_INTERVALS * this.resendIntervalMs;
  }

  private inLane<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task);
    this.lane = run.catch(() => undefined);
    return run;
  }

  private async resendLoop(timers: Sleeper): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      try {
        await timers.sleep(this.resendIntervalMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        // A timer that fails without being aborted would fail again at once: stop rather than
        // spin, and say so (alerts then expire at Alertmanager after 4 × resendInterval).
        const reason = `resend timer failed, resends stopped: ${err instanceof Error ? err.message : String(err)}`;
        this.report({ at: this.clock.now(), alerts: 0, result: { ok: false, retryable: false, reason } });
        break;
      }
      if (signal.aborted) break;
      if (this.set.size === 0) continue;
      this.report(await this.resendNow(signal));
    }
  }

  private report(report: ResendReport): void {
    try {
      this.onResend?.(report);
    } catch {
      // an observer's failure must not end the resends
    }
  }

  private async post(alerts: PostableAlert[], signal: AbortSignal): Promise<NotifyResult> {
    for (let i = 0; i < alerts.length; i += this.maxBatch) {
      const result = await this.postBatch(alerts.slice(i, i + this.maxBatch), signal);
      if (!result.ok) return result;
    }
    return { ok: true };
  }

  private async postBatch(batch: PostableAlert[], caller: AbortSignal): Promise<NotifyResult> {
    if (caller.aborted) return { ok: false, retryable: true, reason: 'aborted' };
    const req = requestSignal(caller, this.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'cellwatch' };
    if (this.#authorization) headers.authorization = this.#authorization;
    try {
      const res = await this.fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(batch),
        signal: req.signal,
        redirect: 'manual',
      });
      const body = await res.text();
      return classifyResponse(res.status, body, res.headers.get('retry-after'), this.clock.now());
    } catch (err) {
      if (caller.aborted) return { ok: false, retryable: true, reason: 'aborted' };
      if (req.timedOut())
        return { ok: false, retryable: true, reason: `Alertmanager timeout after ${this.timeoutMs} ms` };
      return { ok: false, retryable: true, reason: networkReason(err) };
    } finally {
      req.release();
    }
  }
}
