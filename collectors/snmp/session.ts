/**
 * One poll's conversation with one agent, on top of net-snmp's client: our own retries (so every
 * re-send and timeout is counted per target), a per-PDU timeout that never runs past the poll's
 * deadline, abort on the poll's signal, and errors classified into what an operator acts on:
 * timeout, unreachable, auth, error.
 *
 * A session lives for one poll and owns one UDP socket; the collector's concurrency limit is therefore
 * also the bound on open sockets.
 */
import snmp from 'net-snmp';

export type SnmpVersion = '1' | '2c' | '3';

export interface SnmpCredentials {
  version: SnmpVersion;
  community?: string;
  user?: string;
  authProtocol?: string;
  authKey?: string;
  privProtocol?: string;
  privKey?: string;
}

/** A varbind as net-snmp decodes it: Counter64 and OctetString values are Buffers, told apart by `type`. */
export interface Varbind {
  oid: string;
  type: number;
  value: unknown;
}

export const ObjectType = {
  Integer: 2,
  OctetString: 4,
  Null: 5,
  OID: 6,
  IpAddress: 64,
  Counter32: 65,
  Gauge32: 66,
  TimeTicks: 67,
  Opaque: 68,
  Counter64: 70,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

export type SnmpErrorKind = 'timeout' | 'unreachable' | 'auth' | 'error' | 'aborted' | 'too-big' | 'no-such-name';

/** A failed request, naming the target, with the class the collection-gap reason is taken from. */
export class SnmpError extends Error {
  constructor(
    readonly kind: SnmpErrorKind,
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${target}: ${message}`, options);
    this.name = 'SnmpError';
  }
}

/** Counts of one poll, added to the per-target metrics when it ends. */
export interface RequestStats {
  pdus: number;
  retries: number;
  timeouts: number;
}

export interface SessionOptions {
  /** Target name, for error messages. */
  target: string;
  host: string;
  port: number;
  credentials: SnmpCredentials;
  /** Per-PDU timeout, real ms. */
  timeoutMs: number;
  /**
   * A shorter timeout for the very first PDU of a target known to answer fast: if it stays silent,
   * the poll moves to the suspect lane early (`beforeRetry`) and tries again with the full timeout
   * (there is always at least one full try). A slow answer costs one extra PDU, never a gap.
   */
  quickFirstTryMs?: number;
  /** Re-sends after a PDU timed out. */
  retries: number;
  /** performance.now() after which no PDU is sent and waits are cut short. */
  deadline: number;
  signal: AbortSignal;
  stats: RequestStats;
  /**
   * Awaited before a re-send while the agent has not answered anything yet (the collector moves the
   * poll to the lane of silent targets there). Throwing ends the poll with that error.
   */
  beforeRetry?: () => Promise<void>;
}

/** The subset of net-snmp's Session this module drives (its typings lack the mutable timeout). */
interface NetSnmpSession {
  timeout: number;
  retries: number;
  msgSecurityParameters?: unknown;
  get(oids: string[], cb: (err: Error | null, varbinds?: Varbind[]) => void): void;
  getNext(oids: string[], cb: (err: Error | null, varbinds?: Varbind[]) => void): void;
  getBulk(
    oids: string[],
    nonRepeaters: number,
    maxRepetitions: number,
    cb: (err: Error | null, varbinds?: (Varbind | Varbind[])[]) => void,
  ): void;
  close(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

const AUTH: Record<string, number> = {
  md5: snmp.AuthProtocols.md5,
  sha: snmp.AuthProtocols.sha,
  sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384,
  sha512: snmp.AuthProtocols.sha512,
};
const PRIV: Record<string, number> = {
  des: snmp.PrivProtocols.des,
  aes: snmp.PrivProtocols.aes,
  aes128: snmp.PrivProtocols.aes,
  aes256: snmp.PrivProtocols.aes256b,
  aes256b: snmp.PrivProtocols.aes256b,
  aes256r: snmp.PrivProtocols.aes256r,
};

const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNREFUSED',
  'EADDRNOTAVAIL',
  'EHOSTDOWN',
  'ENETDOWN',
]);

export class SnmpSession {
  /** Re-sends after a timeout; may change mid-poll (a suspect target gets more once it answers). */
  retries: number;
  private readonly session: NetSnmpSession;
  private closed = false;
  /** Some request of this session got an answer. */
  private answered = false;
  private quickTried = false;
  /** Longest round trip of an answered request, ms (sizes the next poll's quick first try). */
  maxRttMs = 0;
  private readonly onAbort = () => this.close();

  constructor(private readonly opts: SessionOptions) {
    this.retries = opts.retries;
    const { credentials: c, host, port } = opts;
    const transport = host.includes(':') ? 'udp6' : 'udp4';
    // Retries are ours (counted per target), so net-snmp gets none.
    const common = { port, transport, timeout: opts.timeoutMs, retries: 0, backoff: 1 } as const;
    if (c.version === '3') {
      const level = c.privProtocol
        ? snmp.SecurityLevel.authPriv
        : c.authProtocol
          ? snmp.SecurityLevel.authNoPriv
          : snmp.SecurityLevel.noAuthNoPriv;
      const user: Record<string, unknown> = { name: c.user ?? '', level };
      if (c.authProtocol) {
        user.authProtocol = AUTH[c.authProtocol];
        user.authKey = c.authKey;
      }
      if (c.privProtocol) {
        user.privProtocol = PRIV[c.privProtocol];
        user.privKey = c.privKey;
      }
      this.session = snmp.createV3Session(host, user as unknown as snmp.User, {
        ...common,
        version: snmp.Version3,
      }) as unknown as NetSnmpSession;
    } else {
      const version = c.version === '1' ? snmp.Version1 : snmp.Version2c;
      this.session = snmp.createSession(host, c.community ?? '', { ...common, version }) as unknown as NetSnmpSession;
    }
    // Undecodable datagrams are emitted as 'error'; without a listener they would crash the process.
    this.session.on('error', () => undefined);
    opts.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  get version(): SnmpVersion {
    return this.opts.credentials.version;
  }

  get(oids: string[]): Promise<Varbind[]> {
    return this.request('GET', (s, cb) => s.get(oids, cb));
  }

  getNext(oids: string[]): Promise<Varbind[]> {
    return this.request('GETNEXT', (s, cb) => s.getNext(oids, cb));
  }

  /** One GETBULK; the answer has one array per requested OID (non-repeaters hold at most one varbind). */
  async getBulk(oids: string[], nonRepeaters: number, maxRepetitions: number): Promise<Varbind[][]> {
    const res = await this.request<(Varbind | Varbind[])[]>('GETBULK', (s, cb) =>
      s.getBulk(oids, nonRepeaters, maxRepetitions, cb),
    );
    const out: Varbind[][] = [];
    for (let i = 0; i < oids.length; i++) {
      const r = res[i];
      out.push(r === undefined ? [] : Array.isArray(r) ? r : [r]);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.signal.removeEventListener('abort', this.onAbort);
    try {
      this.session.close();
    } catch {
      // the socket was never bound
    }
  }

  private async request<T>(
    what: string,
    send: (s: NetSnmpSession, cb: (err: Error | null, res?: T) => void) => void,
  ): Promise<T> {
    const { stats, target } = this.opts;
    for (let attempt = 0; ; attempt++) {
      if (this.opts.signal.aborted || this.closed) throw new SnmpError('aborted', target, `${what} aborted`);
      const remaining = this.opts.deadline - performance.now();
      if (remaining <= 0) throw new SnmpError('timeout', target, `poll deadline reached before ${what} could be sent`);
      const quick =
        !this.answered &&
        !this.quickTried &&
        this.opts.quickFirstTryMs !== undefined &&
        this.opts.quickFirstTryMs < this.opts.timeoutMs;
      if (quick) this.quickTried = true;
      this.session.timeout = Math.max(
        1,
        Math.min(quick ? this.opts.quickFirstTryMs! : this.opts.timeoutMs, Math.ceil(remaining)),
      );
      // An SNMPv3 session starts with an engine-discovery exchange: one more PDU on the wire.
      if (this.version === '3' && !this.session.msgSecurityParameters) stats.pdus++;
      stats.pdus++;
      const sentAt = performance.now();
      try {
        const res = await new Promise<T>((resolve, reject) => {
          try {
            send(this.session, (err, res) => (err ? reject(err) : resolve(res as T)));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        this.answered = true;
        this.maxRttMs = Math.max(this.maxRttMs, performance.now() - sentAt);
        return res;
      } catch (err) {
        if (this.opts.signal.aborted || this.closed)
          throw new SnmpError('aborted', target, `${what} aborted`, { cause: err });
        if ((err as Error)?.name === 'RequestTimedOutError') {
          stats.timeouts++;
          // The quick first try counts as a try, but there is always one with the full timeout after it.
          if (quick && attempt >= this.retries) attempt--;
          if ((quick || attempt < this.retries) && this.opts.deadline - performance.now() > 0) {
            if (!this.answered && this.opts.beforeRetry) await this.opts.beforeRetry();
            if (this.opts.deadline - performance.now() > 0) {
              stats.retries++;
              continue;
            }
          }
          if (
            this.version === '3' &&
            this.session.msgSecurityParameters &&
            this.opts.credentials.privProtocol &&
            !this.answered
          ) {
            // The agent answered engine discovery (unencrypted) but never an encrypted request: it could
            // not decrypt them, which it does silently. That is a credentials problem, not a dead device.
            throw new SnmpError(
              'auth',
              target,
              `${this.opts.host}:${this.opts.port} answered SNMPv3 discovery but none of the encrypted requests: wrong privKey or privProtocol for user "${this.opts.credentials.user ?? ''}"`,
              { cause: err },
            );
          }
          throw new SnmpError('timeout', target, this.describeTimeout(attempt + 1), { cause: err });
        }
        throw this.classify(err, what);
      }
    }
  }

  private describeTimeout(tries: number): string {
    const { host, port, credentials } = this.opts;
    const hint =
      credentials.version === '3'
        ? 'agent down or unreachable'
        : `agent down, unreachable, or the community is wrong (SNMPv${credentials.version} agents ignore a wrong community)`;
    return `no answer from ${host}:${port} after ${tries} ${tries === 1 ? 'try' : 'tries'}: ${hint}`;
  }

  private classify(err: unknown, what: string): SnmpError {
    const { target, host, port, credentials } = this.opts;
    const e = err as Error & { code?: unknown; status?: number };
    if (err instanceof snmp.ResponseInvalidError) {
      const code = (err as unknown as { code: number }).code;
      if (code === snmp.ResponseInvalidCode.EAuthFailure || code === snmp.ResponseInvalidCode.ECouldNotDecrypt) {
        return new SnmpError(
          'auth',
          target,
          `SNMPv3 user "${credentials.user ?? ''}" rejected by ${host}:${port}: ${e.message} (check user, authKey/privKey and protocols)`,
          { cause: err },
        );
      }
      if (code === snmp.ResponseInvalidCode.ECommunityNoMatch) {
        return new SnmpError('auth', target, `${host}:${port} answered with another community: ${e.message}`, {
          cause: err,
        });
      }
      return new SnmpError('error', target, `invalid ${what} response from ${host}:${port}: ${e.message}`, {
        cause: err,
      });
    }
    if (err instanceof snmp.RequestFailedError) {
      const status = (err as unknown as { status: number }).status;
      if (status === snmp.ErrorStatus.TooBig)
        return new SnmpError('too-big', target, `${what} answer too big`, { cause: err });
      if (status === snmp.ErrorStatus.NoSuchName)
        return new SnmpError('no-such-name', target, e.message, { cause: err });
      if (status === snmp.ErrorStatus.AuthorizationError)
        return new SnmpError('auth', target, `${host}:${port} refused ${what}: ${e.message}`, { cause: err });
      return new SnmpError('error', target, `${host}:${port} answered ${what} with ${e.message}`, { cause: err });
    }
    if (typeof e?.code === 'string' && UNREACHABLE_CODES.has(e.code)) {
      return new SnmpError('unreachable', target, `cannot reach ${host}:${port}: ${e.message}`, { cause: err });
    }
    return new SnmpError('error', target, `${what} to ${host}:${port} failed: ${e?.message ?? String(err)}`, {
      cause: err,
    });
  }
}

/** The OID a NoSuchName error (SNMPv1's end of a walk) points at, from net-snmp's message. */
export function noSuchNameOid(err: SnmpError): string | undefined {
  return /NoSuchName: ([\d.]+)/.exec(err.message)?.[1];
}
