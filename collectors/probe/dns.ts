import { Resolver } from 'node:dns/promises';
import type { TestContext } from './index.js';
import type { TestResult } from './verdicts.js';

export interface DnsTest {
  host: string;
  /** `ip` or `ip:port` (`[v6]:port`); absent: the host's resolvers from /etc/resolv.conf. */
  resolver?: string;
  recordType: 'A' | 'AAAA';
}

/** c-ares answers, in words. The verdict keeps the code (a silent resolver is the probe host's problem). */
const WORDS: Record<string, string> = {
  ENOTFOUND: 'name not found (NXDOMAIN)',
  ENODATA: 'the name has no record of this type',
  ESERVFAIL: 'the resolver could not resolve the name (SERVFAIL)',
  EREFUSED: 'the resolver refused the query (REFUSED)',
  ECONNREFUSED: 'the resolver is not listening (connection refused)',
  ETIMEOUT: 'the resolver did not answer',
  EBADRESP: 'the resolver sent a malformed answer',
};

/**
 * One resolution of `host` through node:dns (c-ares, so a configured resolver is asked directly and no
 * cache of the host's own is in between). Tried twice within the timeout — a stub resolver retries a
 * lost UDP packet too, and the user waits for that — with a timer of ours on top, because c-ares
 * doubles its per-try timeout and would overrun ours.
 */
export function dnsTest(test: DnsTest, ctx: TestContext): Promise<TestResult> {
  if (ctx.signal.aborted)
    return Promise.reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted'));
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(ctx.timeoutMs / 3)), tries: 2 });
  if (test.resolver) resolver.setServers([test.resolver]);
  const started = performance.now();
  let timedOut = false;
  const onTimeout = () => {
    timedOut = true;
    resolver.cancel();
  };
  const onAbort = () => resolver.cancel();
  const cancel = ctx.timers.after(ctx.timeoutMs, onTimeout);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  ctx.deadline.addEventListener('abort', onTimeout, { once: true });
  const lookup = test.recordType === 'AAAA' ? resolver.resolve6(test.host) : resolver.resolve4(test.host);
  return lookup
    .then(
      (addresses): TestResult => ({
        ok: true,
        ms: performance.now() - started,
        details: { answers: addresses.length, ...(addresses[0] ? { address: addresses[0] } : {}) },
      }),
      (err: NodeJS.ErrnoException): TestResult => {
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : err;
        const code = timedOut ? 'timeout' : (err.code ?? 'error');
        const message = timedOut
          ? `the resolver did not answer within ${ctx.timeoutMs} ms`
          : (WORDS[code] ?? err.message);
        return { ok: false, failure: { phase: 'resolve', code, message } };
      },
    )
    .finally(() => {
      cancel();
      ctx.signal.removeEventListener('abort', onAbort);
      ctx.deadline.removeEventListener('abort', onTimeout);
    });
}
