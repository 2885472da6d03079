/**
 * Alerts northbound as SNMP notifications (v2c, or v3 with authentication and privacy) to an
 * umbrella NOC manager. What each notification carries is defined in mibs/CELLWATCH-MIB.txt; the
 * OIDs below are that module's, and test/alerts-sinks-snmptrap.int.test.ts parses the MIB to keep
 * them equal.
 *
 * The rules:
 * - one SNMPv2-Trap (or InformRequest) per alert notice, never one per group: managers keep one
 *   alarm per fingerprint, and a group's alerts may be firing and resolved at once;
 * - firing and resolved are two notification OIDs (cwAlertFiring, cwAlertResolved), the way
 *   managers pair raise and clear events, with the same varbinds in the MIB's OBJECTS order;
 * - every varbind is always present (zero length or 0 when the alert has no such value), so a
 *   manager's varbind positions never shift;
 * - text is UTF-8 cut at a character boundary to the MIB's size (255 octets for ids, 1024 for
 *   summary, remediation and the board URL); times are DateAndTime in UTC, endsAt eight zero
 *   octets while firing;
 * - `trap` mode is fire-and-forget: ok means the datagram left this host, not that it arrived.
 *   `inform` mode waits for the manager's acknowledgement, re-sends on timeout, and reports a
 *   manager that stays silent as retryable;
 * - delivery is at least once: the first alert that fails ends the notification with its result,
 *   and a retry sends the ones that already went out again (managers deduplicate by fingerprint);
 * - SNMPv3 traps are sent with this sink as the authoritative engine (`engineId`, which the
 *   manager's user entry must name); informs discover the manager's engine instead.
 */
import snmp from 'net-snmp';
import type { Clock } from '../../clock/index.js';
import type { EpochMs } from '../../model/index.js';
import type { AlertNotice, Notification, Notifier, NotifyResult } from '../index.js';

/** The MIB module's identity: the documentation enterprise arc (RFC 5612). */
export const CELLWATCH_OID = '1.3.6.1.4.1.32473';
export const CW_ALERT_NOTIFICATIONS = `${CELLWATCH_OID}.2.0`;
export const CW_ALERT_OBJECTS = `${CELLWATCH_OID}.2.1`;

export const TRAP_OIDS = {
  firing: `${CW_ALERT_NOTIFICATIONS}.1`,
  resolved: `${CW_ALERT_NOTIFICATIONS}.2`,
} as const;
export const TRAP_NAMES = { firing: 'cwAlertFiring', resolved: 'cwAlertResolved' } as const;

/** The first two varbinds of every SNMPv2 notification (RFC 3416 §4.2.6). */
export const SYS_UPTIME_0 = '1.3.6.1.2.1.1.3.0';
export const SNMP_TRAP_OID_0 = '1.3.6.1.6.3.1.1.4.1.0';

/** How a varbind's value is encoded: the MIB's SYNTAX, in the sink's terms. */
export type VarbindSyntax = 'adminString' | 'text' | 'severity' | 'gauge' | 'dateAndTime';

export interface AlertObject {
  /** The object's descriptor in the MIB. */
  name: string;
  /** Its sub-identifier under cwAlertObjects. */
  id: number;
  syntax: VarbindSyntax;
  /** A SIZE narrower than the syntax's own (octets). */
  maxOctets?: number;
  value: (notice: AlertNotice, now: EpochMs) => string | number | Buffer;
}

const label = (key: string) => (n: AlertNotice) => n.labels[key] ?? '';
const annotation = (key: string) => (n: AlertNotice) => n.annotations[key] ?? '';

/** cwAlertFiring's and cwAlertResolved's OBJECTS, in order. */
export const ALERT_OBJECTS: readonly AlertObject[] = [
  { name: 'cwAlertFingerprint', id: 1, syntax: 'adminString', maxOctets: 64, value: (n) => n.fingerprint },
  { name: 'cwAlertName', id: 2, syntax: 'adminString', value: label('alertname') },
  { name: 'cwAlertSeverity', id: 3, syntax: 'severity', value: label('severity') },
  { name: 'cwAlertScope', id: 4, syntax: 'adminString', value: label('scope') },
  { name: 'cwAlertCell', id: 5, syntax: 'adminString', value: label('cell') },
  { name: 'cwAlertSite', id: 6, syntax: 'adminString', value: label('site') },
  { name: 'cwAlertRegion', id: 7, syntax: 'adminString', value: label('region') },
  { name: 'cwAlertCause', id: 8, syntax: 'adminString', value: label('cause') },
  { name: 'cwAlertSummary', id: 9, syntax: 'text', value: annotation('summary') },
  { name: 'cwAlertRemediation', id: 10, syntax: 'text', value: annotation('remediation') },
  { name: 'cwAlertUsersAffected', id: 11, syntax: 'gauge', value: annotation('usersAffected') },
  { name: 'cwAlertStartsAt', id: 12, syntax: 'dateAndTime', value: (n) => dateAndTime(n.startsAt) },
  {
    name: 'cwAlertEndsAt',
    id: 13,
    syntax: 'dateAndTime',
    value: (n, now) => (n.status === 'resolved' ? dateAndTime(n.endsAt ?? now) : NOT_ENDED),
  },
  { name: 'cwAlertBoardURL', id: 14, syntax: 'text', value: (n) => n.generatorURL },
];

/** CwSeverity's named numbers; any other severity label is indeterminate(6). */
export const SEVERITY_VALUES: Readonly<Record<string, number>> = {
  critical: 1,
  major: 2,
  minor: 3,
  warning: 4,
  info: 5,
};
export const SEVERITY_INDETERMINATE = 6;

/** Octet limits of the MIB's string syntaxes (SnmpAdminString, CwAlertText). */
export const MAX_OCTETS: Readonly<Record<'adminString' | 'text', number>> = { adminString: 255, text: 1024 };
const GAUGE_MAX = 2 ** 32 - 1;

/** cwAlertEndsAt while firing: '0000000000000000'H. */
const NOT_ENDED = Buffer.alloc(8);

export interface TrapVarbind {
  oid: string;
  type: number;
  value: Buffer | number;
}

export interface AlertTrap {
  status: 'firing' | 'resolved';
  trapOid: string;
  /** The notification's own varbinds (sysUpTime.0 and snmpTrapOID.0 are prepended by the session). */
  varbinds: TrapVarbind[];
}

/** The notification for one alert notice: which OID, and every varbind of the MIB's OBJECTS. */
export function alertTrap(notice: AlertNotice, now: EpochMs): AlertTrap {
  const varbinds = ALERT_OBJECTS.map((obj): TrapVarbind => {
    const raw = obj.value(notice, now);
    const oid = `${CW_ALERT_OBJECTS}.${obj.id}.0`;
    switch (obj.syntax) {
      case 'severity':
        return { oid, type: snmp.ObjectType.Integer, value: SEVERITY_VALUES[String(raw)] ?? SEVERITY_INDETERMINATE };
      case 'gauge':
        return { oid, type: snmp.ObjectType.Gauge, value: gaugeValue(raw) };
      case 'dateAndTime':
        return { oid, type: snmp.ObjectType.OctetString, value: raw as Buffer };
      default: {
        const max = obj.maxOctets ?? MAX_OCTETS[obj.syntax];
        return { oid, type: snmp.ObjectType.OctetString, value: utf8Prefix(String(raw), max) };
      }
    }
  });
  return { status: notice.status, trapOid: TRAP_OIDS[notice.status], varbinds };
}

/** A count as Gauge32: rounded, clamped to 0..2^32−1; anything that is not a number is 0. */
function gaugeValue(raw: string | number | Buffer): number {
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim() || NaN);
  if (!Number.isFinite(n)) return 0;
  return Math.min(GAUGE_MAX, Math.max(0, Math.round(n)));
}

/** The longest UTF-8 prefix of `text` within `maxOctets`, never splitting a character. */
export function utf8Prefix(text: string, maxOctets: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxOctets) return bytes;
  let end = maxOctets;
  // 10xxxxxx is a continuation byte: back up to the start of the character it belongs to.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** SNMPv2-TC DateAndTime, 11 octets, UTC: year (2), month, day, hour, minutes, seconds, deci-seconds, '+', 0, 0. */
export function dateAndTime(ms: EpochMs): Buffer {
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return Buffer.from(NOT_ENDED);
  const out = Buffer.alloc(11);
  out.writeUInt16BE(d.getUTCFullYear(), 0);
  out[2] = d.getUTCMonth() + 1;
  out[3] = d.getUTCDate();
  out[4] = d.getUTCHours();
  out[5] = d.getUTCMinutes();
  out[6] = d.getUTCSeconds();
  out[7] = Math.floor(d.getUTCMilliseconds() / 100);
  out[8] = 0x2b; // '+'
  return out;
}

// ---------------------------------------------------------------------------------------------
// The sink

export const AUTH_PROTOCOLS = ['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
/** As in the collector: `aes256` is Net-SNMP's AES-256 (Blumenthal), `aes256r` Cisco's (Reeder). */
export const PRIV_PROTOCOLS = ['des', 'aes', 'aes128', 'aes256', 'aes256b', 'aes256r'] as const;
export type TrapAuthProtocol = (typeof AUTH_PROTOCOLS)[number];
export type TrapPrivProtocol = (typeof PRIV_PROTOCOLS)[number];

const AUTH: Record<TrapAuthProtocol, snmp.AuthProtocols> = {
  md5: snmp.AuthProtocols.md5,
  sha: snmp.AuthProtocols.sha,
  sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384,
  sha512: snmp.AuthProtocols.sha512,
};
const PRIV: Record<TrapPrivProtocol, snmp.PrivProtocols> = {
  des: snmp.PrivProtocols.des,
  aes: snmp.PrivProtocols.aes,
  aes128: snmp.PrivProtocols.aes,
  aes256: snmp.PrivProtocols.aes256b,
  aes256b: snmp.PrivProtocols.aes256b,
  aes256r: snmp.PrivProtocols.aes256r,
};

export interface SnmpTrapV3User {
  user: string;
  authProtocol?: TrapAuthProtocol;
  authKey?: string;
  privProtocol?: TrapPrivProtocol;
  privKey?: string;
  /**
   * This sender's snmpEngineID, hex (5–32 octets, `0x` optional). The manager localizes the user's
   * keys with it (Net-SNMP: `createUser -e 0x… user …`), so it must stay the same across restarts.
   * Traps only: informs use the manager's engine, discovered on the first send.
   */
  engineId?: string;
}

export interface SnmpTrapSinkOptions {
  name?: string;
  host: string;
  /** The manager's UDP port; default 162. */
  port?: number;
  version: '2c' | '3';
  /** SNMPv2c community (a secret: never logged). */
  community?: string;
  v3?: SnmpTrapV3User;
  /** `trap` (default): unacknowledged. `inform`: acknowledged, re-sent on timeout. */
  mode?: 'trap' | 'inform';
  /** Informs: wait this long for the acknowledgement before re-sending (default 5 s). */
  timeoutMs?: number;
  /** Informs: re-sends after a timeout (default 1). */
  retries?: number;
  /** sysUpTime.0 is the time since this sink was created, on this clock. */
  clock: Clock;
}

/** A net-snmp error, as far as this sink tells them apart. */
interface SnmpSendError extends Error {
  code?: string | number;
}

// net-snmp's texts for the usmStats reports that a resynchronized engine id or time cures.
const RESYNC_REPORTS = /Unknown Engine ID|Not In Time Window/i;
const HEX_ENGINE_ID = /^(0x)?([0-9a-f]{2}){5,32}$/i;

/** What a failed send means for the pipeline: network trouble and silence retry, bad credentials do not. */
export function classifySendError(err: SnmpSendError, mode: 'trap' | 'inform'): NotifyResult {
  if (err.name === 'RequestTimedOutError')
    return { ok: false, retryable: true, reason: `${mode}: no acknowledgement from the manager (timeout)` };
  if (err.name === 'ResponseInvalidError' && err.code === snmp.ResponseInvalidCode.EAuthFailure) {
    // The manager answered with a USM report: wrong user, keys or level. Re-sending cannot fix
    // that; a stale engine time or id is resynchronized by the session, so those stay retryable.
    const retryable = RESYNC_REPORTS.test(err.message);
    return { ok: false, retryable, reason: `${mode}: manager refused the credentials (${err.message})` };
  }
  if (err.name === 'RequestFailedError') return { ok: false, retryable: false, reason: `${mode}: ${err.message}` };
  const code = typeof err.code === 'string' ? `${err.code}: ` : '';
  return { ok: false, retryable: true, reason: `${mode}: ${code}${err.message}` };
}

export class SnmpTrapSink implements Notifier {
  readonly kind = 'snmp-trap';
  readonly name: string;
  readonly mode: 'trap' | 'inform';
  private session: snmp.Session | undefined;
  private readonly clock: Clock;
  private readonly startedAt: EpochMs;
  private readonly target: { host: string; port: number; timeoutMs: number; retries: number };
  private closed = false;
  // Credentials live only in these private fields, so inspecting the sink (a log line, a crash
  // dump) never shows them.
  readonly #community: string | undefined;
  readonly #user: snmp.User | undefined;
  readonly #engineId: string | undefined;

  constructor(opts: SnmpTrapSinkOptions) {
    const port = opts.port ?? 162;
    this.name = opts.name ?? `snmp-trap ${opts.host}:${port}`;
    this.mode = opts.mode ?? 'trap';
    this.clock = opts.clock;
    this.startedAt = opts.clock.now();
    this.target = { host: opts.host, port, timeoutMs: opts.timeoutMs ?? 5000, retries: opts.retries ?? 1 };
    if (opts.version === '2c') {
      if (!opts.community) throw new Error(`${this.name}: SNMPv2c needs a community`);
      this.#community = opts.community;
    } else {
      const v3 = opts.v3;
      if (!v3?.user) throw new Error(`${this.name}: SNMPv3 needs a user`);
      if (!!v3.authProtocol !== !!v3.authKey) throw new Error(`${this.name}: authProtocol and authKey go together`);
      if (!!v3.privProtocol !== !!v3.privKey) throw new Error(`${this.name}: privProtocol and privKey go together`);
      if (v3.privProtocol && !v3.authProtocol) throw new Error(`${this.name}: privacy needs authentication`);
      if (v3.engineId !== undefined && !HEX_ENGINE_ID.test(v3.engineId))
        throw new Error(`${this.name}: engineId must be 5 to 32 octets of hex, e.g. 0x8000000001020304`);
      if (this.mode === 'trap' && v3.engineId === undefined)
        // A generated id changes on every start, and the manager's user entry is keyed by it.
        throw new Error(`${this.name}: SNMPv3 traps need engineId (the manager's user entry names it)`);
      const level = v3.privProtocol
        ? snmp.SecurityLevel.authPriv
        : v3.authProtocol
          ? snmp.SecurityLevel.authNoPriv
          : snmp.SecurityLevel.noAuthNoPriv;
      this.#user = {
        name: v3.user,
        level,
        ...(v3.authProtocol ? { authProtocol: AUTH[v3.authProtocol], authKey: v3.authKey } : {}),
        ...(v3.privProtocol ? { privProtocol: PRIV[v3.privProtocol], privKey: v3.privKey } : {}),
      };
      this.#engineId = v3.engineId?.replace(/^0x/i, '');
    }
  }

  async notify(n: Notification, signal: AbortSignal): Promise<NotifyResult> {
    if (this.closed) return { ok: false, retryable: false, reason: 'sink closed' };
    const now = this.clock.now();
    for (const notice of n.alerts) {
      if (signal.aborted) return { ok: false, retryable: true, reason: 'aborted' };
      const result = await this.send(alertTrap(notice, now), signal);
      // Stop at the first failure: the rest would meet the same dead manager or bad credentials
      // (an inform to a silent manager costs a whole timeout each), and a retry repeats them all.
      if (!result.ok) return result;
    }
    return { ok: true };
  }

  /** Sends one notification; resolves with the outcome, never rejects. */
  send(trap: AlertTrap, signal?: AbortSignal): Promise<NotifyResult> {
    if (this.closed) return Promise.resolve({ ok: false, retryable: false, reason: 'sink closed' });
    const session = this.open();
    // TimeTicks are centiseconds modulo 2^32 (RFC 2578).
    const upTime = Math.floor((this.clock.now() - this.startedAt) / 10) % 2 ** 32;
    const varbinds = trap.varbinds as snmp.Varbind[];
    return new Promise<NotifyResult>((resolve) => {
      let settled = false;
      const settle = (r: NotifyResult) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const onAbort = () => settle({ ok: false, retryable: true, reason: 'aborted' });
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err: Error | null) => settle(err ? classifySendError(err, this.mode) : { ok: true });
      try {
        if (this.mode === 'inform') session.inform(trap.trapOid, varbinds, { upTime }, (err) => done(err));
        else session.trap(trap.trapOid, varbinds, { upTime }, done);
      } catch (err) {
        done(err as Error);
      }
    });
  }

  private open(): snmp.Session {
    if (this.session) return this.session;
    const { host, port, timeoutMs, retries } = this.target;
    const common = {
      // net-snmp 3.29 sends a v3 inform after the first to `port`, not `trapPort` (simpleGet passes
      // this.port once the engine is known): this session only notifies, so both are the manager's.
      port,
      trapPort: port,
      transport: host.includes(':') ? ('udp6' as const) : ('udp4' as const),
      timeout: timeoutMs,
      retries,
    };
    const session = this.#user
      ? snmp.createV3Session(host, this.#user, {
          ...common,
          version: snmp.Version3,
          ...(this.#engineId ? { engineID: this.#engineId } : {}),
        })
      : snmp.createSession(host, this.#community ?? '', { ...common, version: snmp.Version2c });
    // An undecodable datagram from the manager is emitted as 'error'; unheard, it would crash us.
    session.on('error', () => undefined);
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session) session.close();
  }
}
