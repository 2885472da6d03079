/**
 * `cellwatch tail`: the live alert stream in a terminal. One line per event — time, severity, kind,
 * state, scope, summary, users, cause — coloured by severity on a terminal and plain when piped (no
 * ANSI when stdout is not a TTY, or with NO_COLOR). After a drop it reconnects with backoff and
 * `since`, so nothing is missed or shown twice while the daemon's history still holds it; beyond
 * that (or after a daemon restart) the server says "resync" and tail prints a notice saying so.
 *
 * Notices (connected, dropped, resync) go to stderr, so `cellwatch tail | grep critical` sees events only.
 */
import { MessageChannel } from 'node:worker_threads';
import type { Command } from 'commander';
import { WebSocket } from 'ws';
import { realTimers, type Timers } from '../clock/index.js';
import { SEVERITIES } from './stream/filter.js';

export interface TailOptions {
  /** The daemon (`http://host:port`) or its stream URL (`ws://host:port/api/v1/stream`). */
  url: string;
  token?: string;
  severity?: string[];
  minSeverity?: string;
  region?: string[];
  kind?: string[];
  /** Event types to show; default alerts only. */
  type?: string[];
  /** Default: stdout is a TTY and NO_COLOR is unset. */
  color?: boolean;
  /** Time zone of the printed times; default the terminal's. */
  timeZone?: string;
  /** First and longest wait between reconnects (each failed attempt doubles it, with jitter). */
  backoff?: { initialMs: number; maxMs: number };
}

export interface TailOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface TailDeps {
  stdout: TailOutput;
  /** Notices; default stdout. */
  stderr?: TailOutput;
  connect?: (url: string, headers: Record<string, string>) => WebSocket;
  timers?: Timers;
  /** Aborting ends the tail (Ctrl-C). */
  signal?: AbortSignal;
  random?: () => number;
  env?: Record<string, string | undefined>;
}

/** The daemon refused us in a way retrying cannot fix (bad token, bad filter). */
export class TailRefused extends Error {
  override readonly name = 'TailRefused';
}

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 };

interface Cursor {
  runId?: string;
  seq?: number;
}

type SessionEnd =
  | { kind: 'closed'; code: number; reason: string; hello: boolean }
  | { kind: 'refused'; status: number; error: string }
  | { kind: 'aborted' };

/** Runs until `signal` aborts (resolves) or the daemon refuses the request (rejects with TailRefused). */
export async function runTail(opts: TailOptions, deps: TailDeps): Promise<void> {
  const timers = deps.timers ?? realTimers;
  const connect = deps.connect ?? ((url, headers) => new WebSocket(url, { headers }));
  const random = deps.random ?? Math.random;
  const env = deps.env ?? process.env;
  const color = opts.color ?? (Boolean(deps.stdout.isTTY) && !env.NO_COLOR);
  const notices = deps.stderr ?? deps.stdout;
  const noticeColor = opts.color ?? (Boolean(notices.isTTY) && !env.NO_COLOR);
  const notice = (text: string) => notices.write(`${noticeColor ? `${DIM}-- ${text}${RESET}` : `-- ${text}`}\n`);
  const format = { color, ...(opts.timeZone ? { timeZone: opts.timeZone } : {}) };
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const cursor: Cursor = {};
  let failures = 0;
  let everConnected = false;

  for (;;) {
    if (deps.signal?.aborted) return;
    const url = streamUrl(opts, cursor);
    const end = await session(url, opts.token, {
      connect,
      timers,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onMessage: (m) => {
        switch (m.type) {
          case 'hello': {
            const resumed = cursor.seq !== undefined;
            if (!resumed) cursor.seq = num(m.latest);
            if (!resumed) cursor.runId = str(m.runId);
            notice(
              resumed
                ? `reconnected; resuming after seq ${cursor.seq}`
                : `${everConnected ? 'reconnected' : 'connected'} to ${redactUrl(url)} (run ${cursor.runId}, seq ${cursor.seq})`,
            );
            everConnected = true;
            failures = 0;
            return;
          }
          case 'resync':
            notice(`resync: ${resyncText(m, cursor)}; the board or GET /api/v1/alerts has the current state`);
            cursor.seq = num(m.latest);
            cursor.runId = str(m.runId);
            return;
          case 'heartbeat':
            cursor.seq = Math.max(cursor.seq ?? 0, num(m.seq));
            return;
          default:
            if (typeof m.seq === 'number') cursor.seq = m.seq;
            if (!firedAtOnce(m)) deps.stdout.write(`${formatEvent(m, format)}\n`);
        }
      },
      onStalled: (ms) => notice(`no message for ${Math.round(ms / 1000)} s; reconnecting`),
    });
    if (end.kind === 'aborted') return;
    if (end.kind === 'refused') {
      if (end.status >= 400 && end.status < 500 && end.status !== 408 && end.status !== 429)
        throw new TailRefused(`the daemon refused the stream: ${end.status} ${end.error}`);
      notice(`the daemon answered ${end.status} ${end.error}`);
    }
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures, 20));
    const wait = Math.round(base * (0.5 + random() / 2));
    const after = wait < 1000 ? `${wait} ms` : `${(wait / 1000).toFixed(1)} s`;
    if (end.kind === 'closed') {
      const why = `${end.code}${end.reason ? ` ${end.reason}` : ''}`;
      notice(`connection ${end.hello ? 'lost' : 'failed'} (${why}); retrying in ${after}`);
    } else notice(`retrying in ${after}`);
    failures++;
    try {
      await timers.sleep(wait, deps.signal);
    } catch {
      return;
    }
  }
}

/**
 * A `pending` transition whose alert already fires (a kind with no `for`: both happened in one step,
 * and the `firing` event follows): one line per change is enough in a terminal.
 */
function firedAtOnce(m: Record<string, unknown>): boolean {
  return m.type === 'alert' && m.transition === 'pending' && isRecord(m.alert) && m.alert.state === 'firing';
}

function resyncText(m: Record<string, unknown>, cursor: Cursor): string {
  switch (m.reason) {
    case 'too old':
      return `events after seq ${cursor.seq ?? 0} were missed (the daemon's history now starts at seq ${num(m.oldest)})`;
    case 'restarted':
      return `the daemon restarted (run ${cursor.runId ?? '?'} → ${str(m.runId)}); events in between may be missed`;
    default:
      return `the daemon does not know seq ${cursor.seq ?? 0} (${str(m.reason)}, run ${str(m.runId)})`;
  }
}

/** One connection, from connect to close; resolves how it ended. */
function session(
  url: string,
  token: string | undefined,
  io: {
    connect: NonNullable<TailDeps['connect']>;
    timers: Timers;
    signal?: AbortSignal;
    onMessage: (m: Record<string, unknown>) => void;
    onStalled: (ms: number) => void;
  },
): Promise<SessionEnd> {
  return new Promise((resolve) => {
    const ws = io.connect(url, token ? { authorization: `Bearer ${token}` } : {});
    let hello = false;
    let refused: { status: number; error: string } | undefined;
    let seen = false;
    let quiet = 0;
    let cancelWatch = () => {};
    // Two heartbeat periods without any message (the daemon sends one every period): the link is dead.
    const watch = (periodMs: number) => {
      cancelWatch = io.timers.after(periodMs, () => {
        quiet = seen ? 0 : quiet + 1;
        seen = false;
        if (quiet >= 2) {
          io.onStalled(periodMs * quiet);
          ws.terminate();
          return;
        }
        watch(periodMs);
      });
    };
    const onAbort = () => ws.close(1000, 'tail stopped');
    io.signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('message', (data: Buffer) => {
      seen = true;
      let m: unknown;
      try {
        m = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (!m || typeof m !== 'object') return;
      const msg = m as Record<string, unknown>;
      if (msg.type === 'hello') {
        hello = true;
        const period = num(msg.heartbeatMs);
        if (period > 0) watch(period);
      }
      io.onMessage(msg);
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8').slice(0, 1000)));
      res.on('end', () => {
        let error = body;
        try {
          const parsed = (JSON.parse(body) as { error?: unknown }).error;
          if (typeof parsed === 'string') error = parsed;
        } catch {
          // not JSON: keep the text
        }
        refused = { status: res.statusCode ?? 0, error };
        ws.terminate();
      });
    });
    let failure = '';
    ws.on('error', (err) => (failure = err.message));
    ws.on('close', (code: number, reason: Buffer) => {
      cancelWatch();
      io.signal?.removeEventListener('abort', onAbort);
      if (io.signal?.aborted) resolve({ kind: 'aborted' });
      else if (refused) resolve({ kind: 'refused', ...refused });
      else resolve({ kind: 'closed', code, reason: reason.toString('utf8') || failure, hello });
    });
  });
}

/** The stream URL for the options, resuming after the cursor when there is one. */
export function streamUrl(opts: TailOptions, cursor: Cursor = {}): string {
  const u = new URL(opts.url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (!u.pathname.endsWith('/api/v1/stream')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v1/stream`;
  const q = u.searchParams;
  const list = (key: string, values: string[] | undefined) => {
    if (values && values.length > 0) q.set(key, values.join(','));
  };
  list('type', opts.type ?? ['alert']);
  list('severity', opts.severity);
  if (opts.minSeverity) q.set('minSeverity', opts.minSeverity);
  list('region', opts.region);
  list('kind', opts.kind);
  if (cursor.seq !== undefined) q.set('since', String(cursor.seq));
  if (cursor.runId !== undefined) q.set('runId', cursor.runId);
  return u.toString();
}

function redactUrl(url: string): string {
  const u = new URL(url);
  u.search = '';
  return u.toString();
}

// ---------------------------------------------------------------------------------------------
// One line per event.

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const SEVERITY_STYLE: Record<string, string> = {
  critical: '\x1b[1;97;41m',
  major: '\x1b[1;31m',
  minor: '\x1b[33m',
  warning: '\x1b[36m',
};
const STATE_STYLE: Record<string, string> = { resolved: '\x1b[32m', firing: '\x1b[1m' };

export interface FormatOptions {
  color: boolean;
  timeZone?: string;
}

type Fields = Record<string, unknown>;

/**
 * An event as one line. Alert events may carry the alert flat or under `alert` (the API's view, with
 * `labels` and `annotations`); each field is taken from wherever it is found first. Text from the
 * server is stripped of control characters: a summary must not move the cursor or recolour the terminal.
 */
export function formatEvent(e: Fields, opts: FormatOptions): string {
  const a: Fields = isRecord(e.alert) ? e.alert : {};
  const labels: Fields = isRecord(a.labels) ? a.labels : isRecord(e.labels) ? e.labels : {};
  const notes: Fields = isRecord(a.annotations) ? a.annotations : isRecord(e.annotations) ? e.annotations : {};
  const pick = (...vs: unknown[]): string | undefined => {
    for (const v of vs) if ((typeof v === 'string' && v !== '') || typeof v === 'number') return clean(String(v));
    return undefined;
  };
  const paint = (style: string | undefined, text: string) => (opts.color && style ? `${style}${text}${RESET}` : text);

  const time = paint(DIM, formatTime(num(e.at), opts.timeZone));
  const severity = pick(e.severity, a.severity, labels.severity);
  const kind = pick(e.kind, a.kind, a.rule, labels.alertname) ?? (e.type === 'alert' ? undefined : pick(e.type));
  const state = pick(e.transition, e.state, a.state);
  const scope = scopeText(e, a, labels, pick);
  const summary = pick(e.summary, a.summary, notes.summary);
  const users = pick(roundUsers(e.usersAffected), roundUsers(a.usersAffected), notes.usersAffected);
  const cause = pick(e.cause, a.cause, labels.cause);

  const parts = [time];
  const sev = (severity ?? '-').toUpperCase().padEnd(8);
  parts.push(paint(severity ? SEVERITY_STYLE[severity] : undefined, sev));
  parts.push((kind ?? '-').padEnd(18));
  if (state) parts.push(paint(STATE_STYLE[state], state.padEnd(8)));
  if (scope) parts.push(scope);
  if (summary) parts.push(summary);
  if (users) parts.push(`users ${users}`);
  if (cause) parts.push(`cause ${cause}`);
  return parts.join('  ').trimEnd();
}

/** Users affected are estimates (users weighted by time): whole users read better than 11.9. */
function roundUsers(v: unknown): unknown {
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : v;
}

function scopeText(
  e: Fields,
  a: Fields,
  labels: Fields,
  pick: (...vs: unknown[]) => string | undefined,
): string | undefined {
  const level = pick(e.scope, a.scope, labels.scope);
  const cell = pick(e.cell, a.cell, labels.cell);
  const site = pick(e.site, a.site, labels.site);
  const region = pick(e.region, a.region, labels.region);
  const at = (what: string, id: string | undefined) => (id ? `${what} ${id}` : what);
  if (level === 'network') return 'network';
  if (level === 'region' || (!level && !cell && !site && region)) return at('region', region);
  const where = level === 'site' || (!level && !cell && site) ? at('site', site) : cell ? at('cell', cell) : level;
  if (!where) return undefined;
  return region ? `${where} (${region})` : where;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

function formatTime(at: number, timeZone: string | undefined): string {
  if (!Number.isFinite(at)) return '????-??-?? ??:??:??';
  const key = timeZone ?? '';
  let f = timeFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    timeFormats.set(key, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number.NaN;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '?';
}

// ---------------------------------------------------------------------------------------------
// The command.

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

interface TailFlags {
  url: string;
  token?: string;
  severity?: string[];
  minSeverity?: string;
  region?: string[];
  kind?: string[];
  type: string[];
  color?: boolean;
  tz?: string;
}

/** `cellwatch tail`, for cli.ts: `registerTailCommand(program)`. */
export function registerTailCommand(program: Command): Command {
  return program
    .command('tail')
    .description('show live alerts in the terminal (colour on a TTY, plain lines when piped); reconnects by itself')
    .option('--url <url>', 'the daemon', 'http://127.0.0.1:8080')
    .option('--token <token>', 'API token with read permission (default: $CELLWATCH_TOKEN, which ps cannot see)')
    .option('--severity <list>', `only these severities (${SEVERITIES.join(',')})`, list)
    .option('--min-severity <level>', 'this severity and above')
    .option('--region <list>', 'only these regions', list)
    .option('--kind <list>', 'only these alert kinds, e.g. cell_degraded,collection_gap', list)
    .option('--type <list>', 'event types', list, ['alert'])
    .option('--color', 'colour even when stdout is not a terminal')
    .option('--no-color', 'never colour')
    .option('--tz <zone>', 'time zone of the printed times (default: this terminal’s)')
    .action(async (flags: TailFlags) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const release = holdProcessOpen();
      const token = flags.token ?? process.env.CELLWATCH_TOKEN;
      try {
        await runTail(
          {
            url: flags.url,
            type: flags.type,
            ...(token ? { token } : {}),
            ...(flags.severity ? { severity: flags.severity } : {}),
            ...(flags.minSeverity ? { minSeverity: flags.minSeverity } : {}),
            ...(flags.region ? { region: flags.region } : {}),
            ...(flags.kind ? { kind: flags.kind } : {}),
            ...(flags.color !== undefined ? { color: flags.color } : {}),
            ...(flags.tz ? { timeZone: flags.tz } : {}),
          },
          { stdout: process.stdout, stderr: process.stderr, signal: stop.signal },
        );
      } catch (err) {
        if (!(err instanceof TailRefused)) throw err;
        process.stderr.write(`cellwatch tail: ${err.message}\n`);
        process.exitCode = 1;
      } finally {
        release();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/**
 * The Timers port never holds the process open (a daemon's timers must not keep it from exiting),
 * but a tail waiting out a reconnect backoff has nothing else alive: an open message port keeps the
 * event loop running until released.
 */
function holdProcessOpen(): () => void {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', () => {});
  return () => {
    port1.close();
    port2.close();
  };
}
