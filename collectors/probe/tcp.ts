import { connect } from 'node:net';
import type { TestContext } from './index.js';
import { socketFailure } from './http.js';
import type { TestResult } from './verdicts.js';

/**
 * One TCP handshake: reachability and round-trip time without raw sockets (no ICMP, no privileges).
 * The time runs from after the name lookup (the DNS probe's number) to the connection's establishment;
 * the connection is closed at once, nothing is sent.
 */
export function tcpConnectTest(host: string, port: number, ctx: TestContext): Promise<TestResult> {
  return new Promise<TestResult>((resolve, reject) => {
    let from = performance.now();
    let done = false;
    const socket = connect({ host, port });
    const end = (r: TestResult | Error) => {
      if (done) return;
      done = true;
      cancel();
      ctx.signal.removeEventListener('abort', onAbort);
      ctx.deadline.removeEventListener('abort', onTimeout);
      socket.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const onAbort = () => end(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted'));
    const onTimeout = () =>
      end({
        ok: false,
        failure: { phase: 'connect', code: 'timeout', message: `no connection within ${ctx.timeoutMs} ms` },
      });
    const cancel = ctx.timers.after(ctx.timeoutMs, onTimeout);
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    ctx.deadline.addEventListener('abort', onTimeout, { once: true });
    socket.once('lookup', (err: Error | null) => {
      if (!err) from = performance.now();
    });
    socket.once('connect', () => end({ ok: true, ms: performance.now() - from }));
    socket.once('error', (err: NodeJS.ErrnoException) => end({ ok: false, failure: socketFailure(err, 'connect') }));
  });
}
