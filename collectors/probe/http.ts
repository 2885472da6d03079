import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Cancel } from '../../clock/index.js';
import type { TestContext } from './index.js';
import type { TestFailure, TestPhase, TestResult } from './verdicts.js';

export type HttpTest = { kind: 'ttfb' } | { kind: 'download'; maxBytes: number; maxDurationMs: number };

const USER_AGENT = 'cellwatch-probe/1';

/**
 * One HTTP test on a fresh connection (no keep-alive: connect time is part of what a user waits for).
 * Times are taken after the name lookup (that is the DNS probe's number) and reported in the details:
 * `connectMs`, `ttfbMs` (request sent → response head), and for a download `bytes`, `stoppedBy`.
 *
 * Download throughput counts from the first body byte, so the server's think time (TTFB) is not in it:
 * bytes after the first read ÷ time from the first read to the end — the end being the last byte
 * (body complete, or `maxBytes` reached) or the `maxDuration` cap. `timeout` bounds every wait: for
 * the connection, for the response, and between two reads of the body (a stall).
 */
export function httpTest(url: URL, test: HttpTest, ctx: TestContext): Promise<TestResult> {
  return new Promise<TestResult>((resolve, reject) => {
    const started = performance.now();
    let from = started;
    let phase: TestPhase = 'connect';
    let connectMs: number | undefined;
    let ttfbMs: number | undefined;
    let bytes = 0;
    let firstRead: { at: number; bytes: number } | undefined;
    let lastRead = 0;
    let done = false;
    let cancelWait: Cancel = () => undefined;
    let cancelCap: Cancel = () => undefined;

    const details = (): Record<string, string | number> => ({
      ...(connectMs !== undefined ? { connectMs: round1(connectMs) } : {}),
      ...(ttfbMs !== undefined ? { ttfbMs: round1(ttfbMs) } : {}),
      ...(test.kind === 'download' && phase === 'body' ? { bytes } : {}),
    });
    const end = (r: TestResult | Error) => {
      if (done) return;
      done = true;
      cancelWait();
      cancelCap();
      ctx.signal.removeEventListener('abort', onAbort);
      ctx.deadline.removeEventListener('abort', onDeadline);
      req.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const fail = (failure: TestFailure) => end({ ok: false, failure, details: details() });
    const waitFor = (what: () => TestFailure) => {
      cancelWait();
      cancelWait = ctx.timers.after(ctx.timeoutMs, () => fail(what()));
    };
    const timedOut = (): TestFailure => ({
      phase,
      code: 'timeout',
      message: waitingMessage(phase, ctx.timeoutMs, bytes),
    });
    const finishDownload = (stoppedBy: 'end' | 'maxBytes' | 'maxDuration' | 'deadline') => {
      const stop = stoppedBy === 'end' || stoppedBy === 'maxBytes' ? lastRead : performance.now();
      const first = firstRead;
      const measuredMs = first ? stop - first.at : 0;
      const measuredBytes = first ? bytes - first.bytes : 0;
      if (!first || measuredBytes <= 0 || measuredMs <= 0) {
        fail({
          phase: 'body',
          code: 'too-small',
          message: `the download ended after ${bytes} bytes in ${first ? 'one read' : 'no read'}: too small to time; point the probe at a larger file`,
        });
        return;
      }
      end({
        ok: true,
        mbps: (measuredBytes * 8) / measuredMs / 1000,
        details: { ...details(), measuredMs: round1(measuredMs), stoppedBy },
      });
    };

    const onAbort = () => end(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted'));
    // The poll's deadline came first (a loaded host): a download has measured enough; anything else timed out.
    const onDeadline = () =>
      phase === 'body' && test.kind === 'download' ? finishDownload('deadline') : fail(timedOut());

    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req: ClientRequest = send(url, {
      method: 'GET',
      agent: false,
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', 'cache-control': 'no-cache' },
    });
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    ctx.deadline.addEventListener('abort', onDeadline, { once: true });
    waitFor(timedOut);

    req.on('socket', (socket: Socket) => {
      socket.once('lookup', (err: Error | null) => {
        if (!err) from = performance.now();
      });
      socket.once('connect', () => {
        connectMs = performance.now() - from;
        phase = 'first-byte';
        waitFor(timedOut);
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(socketFailure(err, phase, bytes)));
    req.on('response', (res: IncomingMessage) => {
      const now = performance.now();
      ttfbMs = now - from - (connectMs ?? 0);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        fail({
          phase: 'first-byte',
          code: 'http',
          status,
          message: `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`,
        });
        return;
      }
      if (test.kind === 'ttfb') {
        // What the user waited from the moment the name was known: the handshake and the server's answer.
        end({ ok: true, ms: now - from, details: details() });
        return;
      }
      phase = 'body';
      waitFor(timedOut);
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        const at = performance.now();
        bytes += chunk.length;
        lastRead = at;
        if (!firstRead) {
          firstRead = { at, bytes: chunk.length };
          cancelCap = ctx.timers.after(test.maxDurationMs, () => finishDownload('maxDuration'));
        }
        if (bytes >= test.maxBytes) finishDownload('maxBytes');
        else waitFor(timedOut);
      });
      res.on('end', () => finishDownload('end'));
      res.on('error', (err: NodeJS.ErrnoException) => fail(socketFailure(err, 'body', bytes)));
      res.on('close', () => {
        if (!res.complete)
          fail({ phase: 'body', code: 'ECONNRESET', message: `connection reset after ${bytes} bytes` });
      });
    });
    req.end();
  });
}

function waitingMessage(phase: TestPhase, ms: number, bytes: number): string {
  switch (phase) {
    case 'connect':
    case 'lookup':
      return `no connection within ${ms} ms`;
    case 'body':
      return `stalled: no data for ${ms} ms after ${bytes} bytes`;
    default:
      return `no response within ${ms} ms`;
  }
}

/** A socket error in words, keeping Node's code for the verdict. */
export function socketFailure(
  err: NodeJS.ErrnoException & { hostname?: string },
  phase: TestPhase,
  bytes = 0,
): TestFailure {
  const code = err.code ?? 'error';
  // An error before the connect event came from the name lookup when Node says so (getaddrinfo codes).
  const at: TestPhase =
    phase === 'connect' && (err.syscall === 'getaddrinfo' || code.startsWith('EAI_')) ? 'lookup' : phase;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: phase === 'body' ? `connection reset after ${bytes} bytes` : 'connection reset by the server',
    EPIPE: 'connection closed by the server',
    ENOTFOUND: `name not found (${err.hostname ?? 'host'})`,
    EAI_AGAIN: `the name lookup got no answer (${err.hostname ?? 'host'}): the probe host's resolver is not answering`,
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable from the probe host',
    ENETDOWN: 'the probe host network is down',
    EADDRNOTAVAIL: 'the probe host has no address to connect from',
  };
  return { phase: at, code, message: words[code] ?? err.message };
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
