import { isIP } from 'node:net';
import { z } from 'zod';
import { SAMPLE_NUMERIC_FIELDS } from '../model/index.js';
import { Secret } from './secret.js';
import { isValidTimeZone, parseClockTime, parseDuration, parseListen, parseSize } from './units.js';

/*
 * The one schema of cellwatch's configuration. Every object is strict (an unknown key is an error,
 * because a typo like `intervall:` must not silently fall back to a default), every default is here,
 * and `config/example.yaml` shows them all.
 */

const duration = (example: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration like "${example}" (units ms, s, m, h, d, w), got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A duration that may be zero ("0s": no wait, no hold-down). */
const durationOrZero = (example: string) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration like "${example}" (units ms, s, m, h, d, w; 0s allowed), got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

const size = z.string().transform((text, ctx) => {
  const bytes = parseSize(text);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size like "512MiB" (units B, KB, MB, GB, KiB, MiB, GiB), got "${text}"`,
    });
    return z.NEVER;
  }
  return bytes;
});

const clockTime = z.string().transform((text, ctx) => {
  const minutes = parseClockTime(text);
  if (minutes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a local time "HH:MM", got "${text}"` });
    return z.NEVER;
  }
  return minutes;
});

const secret = z
  .string()
  .min(1, 'must not be empty')
  .transform((s) => new Secret(s));

const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

// ---------------------------------------------------------------------------------------------

const httpSchema = z.strictObject({
  /** host:port; without API tokens only a loopback host is allowed. */
  listen: z
    .string()
    .default('127.0.0.1:8080')
    .transform((text, ctx) => {
      const parsed = parseListen(text);
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: `expected "host:port" or "[v6]:port", got "${text}"` });
        return z.NEVER;
      }
      return parsed;
    }),
  /** Serve the web board at `/`. */
  board: z.boolean().default(true),
  /** Grace time for open requests and WebSocket clients on shutdown. */
  shutdownGrace: duration('3s').prefault('3s'),
  /** Web origins besides the daemon's own that may open the event stream from a browser. */
  allowedOrigins: z.array(z.url({ protocol: /^https?$/ })).default([]),
  /** The live event stream (`/api/v1/stream`). */
  stream: z
    .strictObject({
      /** Events kept for `?since=` replay, by count and by bytes. */
      history: z.number().int().min(100).max(1_000_000).default(10_000),
      historyBytes: size.prefault('16MiB'),
      /** Unsent bytes after which a client that does not read is closed as a slow consumer. */
      clientBuffer: size.prefault('1MiB'),
      heartbeat: duration('15s').prefault('15s'),
      /** Under load, events are written at most this often (batches per socket write). */
      flushInterval: durationOrZero('10ms').prefault('10ms'),
      /** Lifetime of a browser's single-use stream ticket. */
      ticketTtl: duration('30s').prefault('30s'),
    })
    .prefault({}),
});

export const ROLES = ['viewer', 'operator', 'ingest', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const tokenSchema = z.strictObject({
  name: z.string().min(1),
  role: z.enum(ROLES),
  token: secret.refine((s) => s.reveal().length >= 16, 'must be at least 16 characters (use `openssl rand -hex 24`)'),
});

const authSchema = z.strictObject({ tokens: z.array(tokenSchema).default([]) });

const pipelineSchema = z.strictObject({
  /** Points per request. */
  batchSize: z.number().int().min(1).max(100_000).default(5000),
  /** A partial batch is sent after this long. */
  flushInterval: duration('1s').prefault('1s'),
  /** Requests in flight at once (order is kept per batch sequence). */
  maxInFlight: z.number().int().min(1).max(64).default(2),
  gzip: z.boolean().default(true),
  /** Backoff ceiling between retries of a failing backend. */
  maxRetryDelay: duration('30s').prefault('30s'),
  /** Request timeout. */
  timeout: duration('10s').prefault('10s'),
  /** Disk spool used while the backend is unreachable; reaching the cap is counted and alerted. */
  spoolMaxBytes: size.prefault('1GiB'),
  /** Dead-letter day files older than this are deleted (the points they hold would be past retention too). */
  deadLetterRetention: duration('35d').prefault('35d'),
});

const rollupSchema = z.boolean().default(true);

const storeSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded'),
    /** Raw samples are kept this long; hourly rollups twice as long. */
    retention: duration('35d').prefault('35d'),
    pipeline: pipelineSchema.prefault({}),
  }),
  z.strictObject({
    kind: z.literal('influxdb-v1'),
    url: url.default('http://127.0.0.1:8086'),
    database: z.string().min(1).default('cellwatch'),
    username: z.string().optional(),
    password: secret.optional(),
    /** Retention policy created (if missing) and written to. */
    retentionPolicy: z.string().min(1).default('cellwatch'),
    retention: duration('35d').prefault('35d'),
    /** Create continuous queries for hourly rollups (busy hours, baselines). */
    rollups: rollupSchema,
    pipeline: pipelineSchema.prefault({}),
  }),
  z.strictObject({
    kind: z.literal('influxdb-v2'),
    url: url,
    org: z.string().min(1),
    bucket: z.string().min(1),
    token: secret,
    pipeline: pipelineSchema.prefault({}),
  }),
]);

// ---------------------------------------------------------------------------------------------
// SNMP

const AUTH_PROTOCOLS = ['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
/**
 * `aes` is AES-128. `aes256` is Net-SNMP's AES-256 (Blumenthal key extension, net-snmp's `aes256b`),
 * the variant Debian's snmpd speaks; `aes256r` is the Reeder extension (Cisco's "AES-256C"). They only
 * differ when the authentication hash is shorter than the key (MD5, SHA-1).
 */
const PRIV_PROTOCOLS = ['des', 'aes', 'aes128', 'aes256', 'aes256b', 'aes256r'] as const;

const snmpDefaultsSchema = z.strictObject({
  interval: duration('60s').prefault('60s'),
  timeout: duration('5s').prefault('5s'),
  retries: z.number().int().min(0).max(10).default(1),
  port: z.number().int().min(1).max(65535).default(161),
  /** GETBULK max-repetitions; halved automatically on tooBig. */
  maxRepetitions: z.number().int().min(1).max(1000).default(25),
});

const snmpVersion = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(['1', '2c', '3']));

const snmpTargetSchema = z
  .strictObject({
    name: z.string().min(1),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    version: snmpVersion.default('2c'),
    community: secret.optional(),
    user: z.string().min(1).optional(),
    authProtocol: z.enum(AUTH_PROTOCOLS).optional(),
    authKey: secret.optional(),
    privProtocol: z.enum(PRIV_PROTOCOLS).optional(),
    privKey: secret.optional(),
    /** `cell-table` (built-in), `if-mib` (built-in), or a name under `snmp.profiles`. */
    profile: z.string().min(1).default('cell-table'),
    /** Site this target serves (required for if-mib transport links). */
    site: z.string().min(1).optional(),
    interval: duration('60s').optional(),
    timeout: duration('5s').optional(),
    retries: z.number().int().min(0).max(10).optional(),
    maxRepetitions: z.number().int().min(1).max(1000).optional(),
    /**
     * Poll only these row indexes (e.g. the two uplinks of a big router), with GETs of many OIDs
     * each instead of walking the whole table. An index is a number or a dotted OID suffix.
     */
    indexes: z
      .array(
        z.union([z.number().int().min(0), z.string().regex(/^\d+(\.\d+)*$/, 'expected a row index like 3 or "1.2"')]),
      )
      .min(1)
      .optional(),
  })
  .superRefine((t, ctx) => {
    const need = (cond: boolean, path: string, message: string) => {
      if (cond) ctx.addIssue({ code: 'custom', path: [path], message });
    };
    if (t.version === '3') {
      need(!t.user, 'user', 'required for SNMPv3');
      need(
        !!t.authProtocol !== !!t.authKey,
        t.authProtocol ? 'authKey' : 'authProtocol',
        'authProtocol and authKey go together',
      );
      need(
        !!t.privProtocol !== !!t.privKey,
        t.privProtocol ? 'privKey' : 'privProtocol',
        'privProtocol and privKey go together',
      );
      need(!!t.privProtocol && !t.authProtocol, 'privProtocol', 'privacy needs authentication (authPriv)');
      need(!!t.authKey && t.authKey.reveal().length < 8, 'authKey', 'must be at least 8 characters (RFC 3414)');
      need(!!t.privKey && t.privKey.reveal().length < 8, 'privKey', 'must be at least 8 characters (RFC 3414)');
      need(!!t.community, 'community', 'not used by SNMPv3; remove it');
    } else {
      need(!t.community, 'community', `required for SNMPv${t.version}`);
      need(!!(t.user ?? t.authProtocol ?? t.privProtocol), 'user', `SNMPv3 settings given but version is ${t.version}`);
    }
    need(t.profile === 'if-mib' && !t.site, 'site', 'required for the if-mib profile (links are mapped to sites)');
  });

const profileColumnSchema = z.strictObject({
  /** Column number under the table entry, or a full numeric OID. */
  column: z.union([z.number().int().min(1), z.string().regex(/^\d+(\.\d+)+$/, 'expected a numeric OID')]),
  kind: z.enum(['gauge', 'counter', 'string', 'enum']).default('gauge'),
  /** Multiply the raw value (e.g. 0.01 for centi-dB, 0.001 for kbit/s → Mbit/s). */
  scale: z.number().default(1),
  /** For `enum`: raw integer → value (e.g. { "1": true, "2": false } for available). */
  map: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])).optional(),
});

const profileSchema = z.strictObject({
  /** The table's entry OID (…Entry), numeric. */
  entry: z.string().regex(/^\d+(\.\d+)+$/, 'expected a numeric OID'),
  /** Column holding the cell id; without it, row indexes are looked up in the inventory's `snmpIndex`. */
  cellIdColumn: z.number().int().min(1).optional(),
  /** Sample field → column. Counters become per-interval volumes or rates. */
  columns: z.partialRecord(z.enum([...SAMPLE_NUMERIC_FIELDS, 'available']), profileColumnSchema),
});

const snmpSchema = z.strictObject({
  defaults: snmpDefaultsSchema.prefault({}),
  /** Targets polled at once; the rest wait their turn inside their interval. */
  concurrency: z.number().int().min(1).max(4096).default(64),
  targets: z.array(snmpTargetSchema).default([]),
  profiles: z.record(z.string(), profileSchema).default({}),
});

// ---------------------------------------------------------------------------------------------
// Probes (docs/probes.md)

/** A poll must end by this share of its interval (collectors/running.ts DEADLINE_SHARE). */
const PROBE_DEADLINE_SHARE = 0.8;

const port = z.number().int().min(1).max(65535);

/** An IP address with an optional port, as node:dns's setServers takes it: `10.0.0.53`, `10.0.0.53:5353`, `[::1]:53`. */
const resolverAddress = z.string().refine((text) => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)|([0-9a-fA-F:]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return false;
  const host = m[1] ?? m[2] ?? m[3] ?? '';
  const p = m[4] === undefined ? 53 : Number(m[4]);
  // A bare IPv6 address has colons of its own: it cannot carry a port without brackets.
  if (m[3] !== undefined && m[4] !== undefined) return isIP(`${m[3]}:${m[4]}`) === 6;
  return isIP(host) !== 0 && p >= 1 && p <= 65535;
}, 'expected an IP address, optionally with a port: "10.0.0.53", "10.0.0.53:5353" or "[2001:db8::53]:53"');

const positiveSize = size.refine((bytes) => bytes > 0, 'must be more than 0 bytes');

/** What tells "the network failed the user" from "this probe host cannot test right now". */
const healthCheckSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('tcp-connect'),
      host: z.string().min(1),
      port,
      timeout: duration('2s').prefault('2s'),
    }),
    z.strictObject({
      kind: z.literal('dns'),
      /** A name that always resolves (the check passes when it does). */
      host: z.string().min(1),
      resolver: resolverAddress.optional(),
      timeout: duration('2s').prefault('2s'),
    }),
  ],
  { error: 'expected a health check of kind tcp-connect or dns' },
);

const probeCommon = {
  /** Unique among the probes: names the target in /api/v1/collection, logs and metrics. */
  name: z.string().min(1),
  /** The cell the probe stands in for (exactly one of cell and site). */
  cell: z.string().min(1).optional(),
  /** The site it stands in for: each of the site's inventory cells gets the result. */
  site: z.string().min(1).optional(),
  interval: duration('60s').prefault('60s'),
  /** The longest wait for anything: the connection, the answer, the next byte of a download. */
  timeout: duration('5s').prefault('5s'),
  /** Checked when a test fails: if one of them fails too, the probe host is unhealthy and the result unknown. */
  healthCheck: z.array(healthCheckSchema).default([]),
};

const PROBE_KINDS = ['http-download', 'http-ttfb', 'tcp-connect', 'dns'] as const;

const probeSchema = z
  .discriminatedUnion(
    'kind',
    [
      z.strictObject({
        kind: z.literal('http-download'),
        ...probeCommon,
        url,
        /** The download stops after this many bytes (a bigger file is fine: it is cut off). */
        maxBytes: positiveSize.prefault('10MiB'),
        /** …or after this long, counted from the first byte. */
        maxDuration: duration('10s').prefault('10s'),
      }),
      z.strictObject({ kind: z.literal('http-ttfb'), ...probeCommon, url }),
      z.strictObject({ kind: z.literal('tcp-connect'), ...probeCommon, host: z.string().min(1), port }),
      z.strictObject({
        kind: z.literal('dns'),
        ...probeCommon,
        /** The name to resolve. */
        host: z.string().min(1),
        /** Default: the host's resolvers (/etc/resolv.conf). */
        resolver: resolverAddress.optional(),
        recordType: z.enum(['A', 'AAAA']).default('A'),
      }),
    ],
    { error: `expected kind ${PROBE_KINDS.join(', ')}` },
  )
  .superRefine((p, ctx) => {
    if ((p.cell === undefined) === (p.site === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [p.cell === undefined ? 'cell' : 'site'],
        message: 'give exactly one of cell and site: the cell or site the probe stands in for',
      });
    }
    // The test must be over before the running collector's deadline, or every slow test becomes a gap.
    const longest = p.timeout + (p.kind === 'http-download' ? p.maxDuration : 0);
    const budget = p.interval * PROBE_DEADLINE_SHARE;
    if (longest > budget) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeout'],
        message: `${p.kind === 'http-download' ? 'timeout + maxDuration' : 'timeout'} (${longest / 1000} s) must fit in ${PROBE_DEADLINE_SHARE * 100}% of the interval (${budget / 1000} s): lower it or raise interval`,
      });
    }
  });

/** Probe mode (`cellwatch probe`): where a device at a site pushes its results. */
const centralSchema = z.strictObject({
  /** Base URL of the central cellwatch; results go to `<url>/api/v1/samples`. */
  url,
  /** A token with the `ingest` role on the central daemon. */
  token: z
    .string({ error: 'required: an ingest-role token of the central daemon (token, or tokenFile: /path)' })
    .min(1, 'must not be empty')
    .transform((s) => new Secret(s)),
  /** Samples per request. */
  batchSize: z.number().int().min(1).max(5000).default(500),
  /** Per request. */
  timeout: duration('10s').prefault('10s'),
  /** Backoff ceiling while the central daemon is unreachable or busy. */
  maxRetryDelay: duration('5m').prefault('5m'),
  /** The disk buffer (dataDir/probe-spool) while the central daemon is unreachable. */
  spoolMaxBytes: positiveSize.prefault('256MiB'),
  /** Day files of samples the central refused (dataDir/probe-dead-letter) are deleted after this. */
  deadLetterRetention: duration('35d').prefault('35d'),
});

// ---------------------------------------------------------------------------------------------

const experienceSchema = z.strictObject({
  dlMbps: z.number().positive().default(5),
  ulMbps: z.number().positive().default(1),
  latencyMs: z.number().positive().default(100),
});

const targetSchema = z.strictObject({
  ratio: z.number().gt(0).max(1).default(0.95),
  /** A local-time window, or `busy-hour` (each cell's time-consistent busiest clock hour). */
  peak: z
    .union([z.literal('busy-hour'), z.strictObject({ from: clockTime, to: clockTime })])
    .prefault({ from: '19:00', to: '22:00' }),
  // --- detection (issue 8) ---
  /** Below this many mean concurrent users counted at peak a result is `insufficient-data`. */
  minUsers: z.number().min(0).default(10),
  /** Below this share of the peak time covered by samples with known experience, `insufficient-data`. */
  minCoverage: z.number().min(0).max(1).default(0.5),
  /** Below this many probe tests at peak, the probe-based ratio beside it is `insufficient-data`. */
  minProbeTests: z.number().int().min(1).default(10),
});

/** Degradation windows, baselines, causes: every knob of `correlator/` (docs/detection.md). */
const detectionSchema = z.strictObject({
  /** Consecutive bad intervals that open a window, and good ones that close it. */
  openAfter: z.number().int().min(1).max(100).default(2),
  closeAfter: z.number().int().min(1).max(100).default(3),
  /** A window opening this soon after the previous one's end on the same cell re-opens it. */
  mergeGap: duration('15m').prefault('15m'),
  /** Samples up to this far behind their cell's newest are folded in exactly; older ones are counted as late. */
  lateness: duration('2h')
    .prefault('2h')
    .refine((ms) => ms <= 12 * 3_600_000, 'at most 12h (baselines read data a day old)'),
  /** |robust z| beyond this against the baseline is a relative breach. */
  zThreshold: z.number().positive().default(3.5),
  /** Absolute breaches: RSRP below, SINR below, PRB at or above (with per-user DL below prbDlFactor × experience.dlMbps). */
  rsrpDbm: z.number().default(-110),
  sinrDb: z.number().default(0),
  prbUtilPct: z.number().min(0).max(100).default(80),
  prbDlFactor: z.number().min(1).default(1),
  /** A site link this busy (or down) makes its cells' bad intervals `backhaul`. */
  backhaulUtilPct: z.number().min(0).max(100).default(90),
  /** Silent failure: users and traffic below this share of their baseline median (and below −zThreshold). */
  silentShare: z.number().gt(0).max(1).default(0.3),
  /**
   * …or below that share for this long on end, on a cell expecting at least silentMinUsers users, without
   * one interval's z (a 4-user cell left with 0.6 for an hour): judged against the hour's spread.
   */
  silentSustain: duration('30m').prefault('30m'),
  silentMinUsers: z.number().min(0).default(3),
  /** Congestion needs at least this many users (or the cell's usual users). */
  congestionMinUsers: z.number().min(0).default(10),
  /** Hour-of-week baselines: weeks looked back and weekly values needed. */
  baselineWeeks: z.number().int().min(1).max(12).default(8),
  minBaselineWeeks: z.number().int().min(1).max(12).default(3),
  /** Hour-of-day fallback: days looked back and values needed (days of the same kind only, see weekendDays). */
  fallbackDays: z.number().int().min(1).max(28).default(14),
  minFallbackDays: z.number().int().min(1).max(28).default(3),
  /** RSRP/SINR level baseline: days looked back and hourly values needed. */
  levelDays: z.number().int().min(1).max(28).default(7),
  minLevelHours: z.number().int().min(1).default(24),
  /**
   * Local days whose load is a weekend's: the hour-of-day fallback compares a weekend hour with weekend
   * hours and a working day's with working days' (a business district's Saturday morning is not a
   * silent failure). Fri–Sat or Sat only where that is the weekend; [] to compare every day with every day.
   */
  weekendDays: z
    .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
    .max(6)
    .default(['sat', 'sun'])
    .refine((xs) => new Set(xs).size === xs.length, 'each day once'),
  /** MAD floor: this share of |median| (absolute floors per KPI are built in, see docs/detection.md). */
  madFloorShare: z.number().min(0).max(1).default(0.1),
  /** Days of daily target results kept in memory (the record store keeps history). */
  historyDays: z.number().int().min(2).max(400).default(35),
});

// ---------------------------------------------------------------------------------------------
// Alerts (docs/alerts.md). One block, so that the sinks' and the core's edits merge easily.

/** A sink's name in the notification log and in metrics; default `<kind>` (then `<kind>-2`, …). */
const sinkName = z
  .string()
  .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)')
  .optional();

const webhookSinkSchema = z.strictObject({
  kind: z.literal('webhook'),
  name: sinkName,
  url,
  /** Standard Webhooks signing secret: `whsec_<base64>` or any raw string. Unsigned without it. */
  secret: secret.optional(),
  timeout: duration('10s').prefault('10s'),
});
const trapSinkSchema = z
  .strictObject({
    kind: z.literal('snmp-trap'),
    name: sinkName,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(162),
    version: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(['2c', '3'])).default('2c'),
    /** `trap`: fire and forget (UDP); `inform`: acknowledged by the manager, retried. */
    mode: z.enum(['trap', 'inform']).default('trap'),
    community: secret.optional(),
    user: z.string().min(1).optional(),
    authProtocol: z.enum(AUTH_PROTOCOLS).optional(),
    authKey: secret.optional(),
    privProtocol: z.enum(PRIV_PROTOCOLS).optional(),
    privKey: secret.optional(),
    /** Our SNMPv3 engine id, as the manager is configured with it (traps only; informs discover). */
    engineId: z
      .string()
      .regex(/^(0x)?([0-9a-fA-F]{2}){5,32}$/, 'expected 5 to 32 octets of hex, e.g. 0x8000000001020304')
      .optional(),
    timeout: duration('5s').prefault('5s'),
    retries: z.number().int().min(0).max(10).default(1),
  })
  .superRefine((s, ctx) => {
    const need = (cond: boolean, path: string, message: string) => {
      if (cond) ctx.addIssue({ code: 'custom', path: [path], message });
    };
    if (s.version === '3') {
      need(!s.user, 'user', 'required for SNMPv3');
      need(
        !!s.authProtocol !== !!s.authKey,
        s.authProtocol ? 'authKey' : 'authProtocol',
        'authProtocol and authKey go together',
      );
      need(
        !!s.privProtocol !== !!s.privKey,
        s.privProtocol ? 'privKey' : 'privProtocol',
        'privProtocol and privKey go together',
      );
      need(!!s.privProtocol && !s.authProtocol, 'privProtocol', 'privacy needs authentication (authPriv)');
      need(!!s.authKey && s.authKey.reveal().length < 8, 'authKey', 'must be at least 8 characters (RFC 3414)');
      need(!!s.privKey && s.privKey.reveal().length < 8, 'privKey', 'must be at least 8 characters (RFC 3414)');
      need(
        s.mode === 'trap' && !s.engineId,
        'engineId',
        'required for SNMPv3 traps (the manager localizes the keys with it); informs discover the manager instead',
      );
      need(!!s.community, 'community', 'not used by SNMPv3; remove it');
    } else {
      need(!s.community, 'community', 'required for SNMPv2c');
      need(
        !!(s.user ?? s.authProtocol ?? s.privProtocol ?? s.engineId),
        'user',
        'SNMPv3 settings given but version is 2c',
      );
    }
  });
const alertmanagerSinkSchema = z
  .strictObject({
    kind: z.literal('alertmanager'),
    name: sinkName,
    /** Base URL of an existing Alertmanager; alerts are posted to `${url}/api/v2/alerts`. */
    url,
    /** Firing alerts are re-posted this often, with endsAt 4× ahead (as Prometheus does). */
    resendInterval: duration('1m').prefault('1m'),
    timeout: duration('10s').prefault('10s'),
    username: z.string().min(1).optional(),
    password: secret.optional(),
    token: secret.optional(),
  })
  .superRefine((s, ctx) => {
    if (!!s.username !== !!s.password) {
      ctx.addIssue({
        code: 'custom',
        path: [s.username ? 'password' : 'username'],
        message: 'username and password go together',
      });
    }
    if (s.password && s.token)
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'basic auth or a bearer token, not both' });
  });
const logSinkSchema = z.strictObject({ kind: z.literal('log'), name: sinkName });

/** `for`: how long a condition holds before it fires; `holdDown`: how long it stays clear before it resolves. */
const kindPolicy = (forDefault: string, holdDownDefault: string) =>
  z
    .strictObject({
      for: durationOrZero('0s').prefault(forDefault),
      holdDown: durationOrZero('5m').prefault(holdDownDefault),
    })
    .prefault({});

const alertsSchema = z.strictObject({
  sinks: z
    .array(z.discriminatedUnion('kind', [webhookSinkSchema, trapSinkSchema, alertmanagerSinkSchema, logSinkSchema]))
    .default([]),
  /** Base of the board links in alerts (`${externalURL}/#/cell/<id>`); default: http://<http.listen>. */
  externalURL: url.optional(),
  kinds: z
    .strictObject({
      cell_degraded: kindPolicy('0s', '5m'),
      site_outage: kindPolicy('0s', '5m'),
      backhaul_down: kindPolicy('0s', '5m'),
      target_at_risk: kindPolicy('0s', '10m'),
      probe_disagreement: kindPolicy('15m', '15m'),
      complaint_hotspot: kindPolicy('0s', '5m'),
      silent_degradation: kindPolicy('0s', '5m'),
      complaint_sla_risk: kindPolicy('0s', '0s'),
      collection_gap: kindPolicy('0s', '0s'),
      store_backlog: kindPolicy('0s', '1m'),
    })
    .prefault({}),
  grouping: z
    .strictObject({
      /** Wait before a new group's first notification (0s: right after the batch of events at hand). */
      groupWait: durationOrZero('0s').prefault('0s'),
      /** groupWait of incident groups (a site's cells), so that a site's cells arrive as one incident. */
      incidentGroupWait: durationOrZero('10s').prefault('10s'),
      /** At most one notification per group this often (a change after it is sent at once). */
      groupInterval: duration('30s').prefault('30s'),
      /** Unchanged, unacked firing groups are sent again this often. */
      repeatInterval: duration('4h').prefault('4h'),
      /** Alerts per notification (0 = all); the rest are counted in truncatedAlerts. */
      maxAlerts: z.number().int().min(0).max(10_000).default(100),
    })
    .prefault({}),
  /** Parent alerts (site_outage, backhaul_down) mute their cells' notifications. */
  inhibition: z.boolean().default(true),
  flapping: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Percent state change (Nagios' weighting over 21 samples) below which flapping stops … */
      low: z.number().min(0).max(100).default(5),
      /** … and at which it starts. */
      high: z.number().min(0).max(100).default(20),
      /** A steady condition is sampled this often; every change is a sample too. */
      sampleInterval: duration('2m').prefault('2m'),
    })
    .refine((f) => f.low <= f.high, { path: ['low'], message: 'must not be above flapping.high' })
    .prefault({}),
  collectionGap: z.strictObject({ consecutive: z.number().int().min(1).max(100).default(2) }).prefault({}),
  delivery: z
    .strictObject({
      initialRetryDelay: duration('500ms').prefault('500ms'),
      maxRetryDelay: duration('30s').prefault('30s'),
      /** A delivery still failing after this long is given up and recorded as failed. */
      giveUpAfter: duration('1h').prefault('1h'),
      /** Groups waiting per sink; beyond it the oldest waiting notification is dropped and counted. */
      queueLimit: z.number().int().min(1).max(1_000_000).default(10_000),
    })
    .prefault({}),
  /** How often time-driven changes (for, hold-down, silences ending) are evaluated. */
  evaluationInterval: duration('1s').prefault('1s'),
  /** Resolved alerts, delivery records and expired silences are kept this long. */
  history: duration('90d').prefault('90d'),
});

/** Push intake: `POST /api/v1/samples` and the InfluxDB-v1-compatible `/write` (docs/intake.md). */
const fieldValue = z.union([z.number(), z.string(), z.boolean()]);
const idSource = z.union([
  z.strictObject({ tag: z.string().min(1), map: z.record(z.string(), z.string().min(1)).optional() }),
  z.strictObject({ value: z.string().min(1) }),
]);
const mappingCondition = z
  .strictObject({
    field: z.string().min(1).optional(),
    tag: z.string().min(1).optional(),
    eq: fieldValue.optional(),
    ne: fieldValue.optional(),
    lt: z.number().optional(),
    le: z.number().optional(),
    gt: z.number().optional(),
    ge: z.number().optional(),
    in: z.array(fieldValue).min(1).optional(),
    notIn: z.array(fieldValue).min(1).optional(),
    missing: z.boolean().optional(),
  })
  .refine((c) => (c.field === undefined) !== (c.tag === undefined), { message: 'give exactly one of field or tag' });
const measurementMapping = z.strictObject({
  measurement: z.string().min(1),
  kind: z.enum(['cell', 'link']).default('cell'),
  cell: idSource.optional(),
  link: idSource.optional(),
  site: idSource.optional(),
  source: z.enum(['snmp', 'probe', 'push', 'sim', 'import']).optional(),
  sourceTag: z.string().min(1).optional(),
  intervalS: z.number().positive().max(86_400).optional(),
  fields: z
    .record(z.string().min(1), z.strictObject({ to: z.string().min(1), scale: z.number().optional() }))
    .default({}),
  failure: z.array(mappingCondition).optional(),
});
const intakeSchema = z.strictObject({
  /** Largest push body (JSON, CSV or line protocol; after gzip is undone). */
  maxBody: size.prefault('32MiB'),
  /** Samples per second one token may push, sustained, and the burst above it (429 with Retry-After beyond). */
  ratePerToken: z.number().int().min(1).default(200_000),
  burst: z.number().int().min(1).default(1_000_000),
  /** Measurements other agents write to `/write` (Telegraf's ping, http_response…), besides cellwatch's own. */
  mappings: z.array(measurementMapping).default([]),
});

/** Complaint matching, hot spots and the handling targets (docs/complaints.md). */
const complaintsSchema = z.strictObject({
  /** Cells within this distance of a complaint's location are candidates (km). */
  radiusKm: z.number().positive().max(50).default(1.5),
  /** Windows overlapping [issueAt or receivedAt − lookback, receivedAt + after] are candidates. */
  lookback: duration('72h').prefault('72h'),
  after: duration('2h').prefault('2h'),
  /** A complaint is explained when its best score reaches this. */
  explainAt: z.number().gt(0).max(1).default(0.5),
  hotspot: z
    .strictObject({
      /** This many network complaints on one cell or cluster of nearby cells within `span` make a hot spot. */
      minComplaints: z.number().int().min(2).max(1000).default(3),
      span: duration('72h').prefault('72h'),
      /** A site's cluster: the sites within this distance (km; 0: the site alone), plus its listed neighbours. */
      clusterKm: z.number().min(0).max(10).default(1),
      /** Whether the sites of a site's cells' inventory neighbours are in its cluster. */
      clusterNeighbours: z.boolean().default(true),
    })
    .prefault({}),
  handling: z
    .strictObject({
      /** First response is due this long after receipt (the plan's 72 hours). */
      firstResponse: duration('72h').prefault('72h'),
      /** Complaints this close to missing their first response are raised. */
      warnBefore: duration('12h').prefault('12h'),
      /** Goals: share first-responded in time, share resolved, share satisfied. */
      goals: z
        .strictObject({
          firstResponse: z.number().gt(0).max(1).default(1),
          resolution: z.number().gt(0).max(1).default(0.9),
          satisfaction: z.number().gt(0).max(1).default(0.85),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Largest POST /api/v1/complaints body. */
  maxBody: size.prefault('8MiB'),
});

/** Regions of the simulated network unless configured (`demo --sites 2` lowers it to fit). */
export const DEFAULT_SIM_REGIONS = 4;

const simSchema = z
  .strictObject({
    /** Run the built-in simulated network (what `cellwatch demo` turns on). */
    enabled: z.boolean().default(false),
    seed: z.number().int().default(1),
    regions: z.number().int().min(1).max(50).default(DEFAULT_SIM_REGIONS),
    sites: z.number().int().min(1).max(5000).default(80),
    /**
     * Poll interval of the simulated sites' SNMP targets, and the agents' update step (whole minutes).
     * Five minutes keeps the 80-site demo at 60× well inside one core; real RAN counters come in 15.
     */
    interval: duration('5m')
      .prefault('5m')
      .refine((ms) => ms % 60_000 === 0, 'must be whole minutes (the simulator steps minute by minute)'),
    /**
     * `opening`: a few incidents in the first simulated hours (congestion, a site outage, a backhaul
     * saturation, interference, weak coverage, a sleeping cell) so a fresh demo has something to show at
     * once; `none`: only the seeded schedule. `cellwatch demo` uses `opening` unless the file says otherwise.
     */
    scenario: z.enum(['none', 'opening']).default('none'),
    /** Simulated seconds per real second. */
    rate: z.number().positive().max(3600).default(60),
    /** Simulated start time (ISO 8601 in the file, epoch ms once parsed); default: now. */
    start: z.iso
      .datetime({ offset: true })
      .transform((iso) => Date.parse(iso))
      .optional(),
    /**
     * Simulated time computed before the network goes live (e.g. `3d`): every cell's and link's samples
     * over [start − history, start) at the poll interval, with that time's complaints and care answers,
     * go through the same store, detection and complaint intake as live data — the board opens on past
     * days' targets, filled charts and baselines. Only into a data dir the detector has no state in.
     */
    history: durationOrZero('3d')
      .prefault('0s')
      .refine((ms) => ms <= 28 * 86_400_000, 'at most 28d'),
    /** Loopback address the per-site SNMP agents listen on. */
    host: z.string().default('127.0.0.1'),
    /** First UDP port of the per-site agents; 0 picks free ports. */
    basePort: z.number().int().min(0).max(65000).default(0),
    community: secret.prefault('public'),
  })
  .refine((sim) => sim.sites >= sim.regions, {
    path: ['sites'],
    message: 'need at least one site per region (lower sim.regions or raise sim.sites)',
  });

const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** `auto`: readable lines on a terminal, JSON otherwise. */
  format: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

export const configSchema = z.strictObject({
  timezone: z
    .string()
    .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
    .refine(isValidTimeZone, 'unknown IANA time zone'),
  http: httpSchema.prefault({}),
  auth: authSchema.prefault({}),
  store: storeSchema.prefault({ kind: 'embedded' }),
  dataDir: z.string().min(1).default('./data'),
  /** Cells CSV: id, site, region, lat, lon, neighbours (";"-separated), snmpIndex (optional). */
  inventory: z.string().min(1).optional(),
  snmp: snmpSchema.prefault({}),
  /** Active probes (docs/probes.md), run by the daemon or by `cellwatch probe` on a device. */
  probes: z.array(probeSchema).default([]),
  /** Where `cellwatch probe` pushes its results; the daemon does not read it. */
  central: centralSchema.optional(),
  experience: experienceSchema.prefault({}),
  target: targetSchema.prefault({}),
  detection: detectionSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  complaints: complaintsSchema.prefault({}),
  intake: intakeSchema.prefault({}),
  sim: simSchema.prefault({}),
  log: logSchema.prefault({}),
});

/**
 * Checks across sections. They read the raw (substituted) input rather than the parsed config so that
 * they report even when other parts of the file are broken: an operator sees every problem at once.
 */
export function crossCheck(raw: unknown): string[] {
  const problems: string[] = [];
  const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const snmp = obj(obj(raw).snmp);
  const profiles = Object.keys(obj(snmp.profiles));
  const names = new Map<unknown, number>();
  if (profiles.includes('if-mib'))
    problems.push(
      'snmp.profiles.if-mib: "if-mib" is the built-in transport-link profile and cannot be redefined; choose another name',
    );
  list(snmp.targets).forEach((t, i) => {
    const { name, profile = 'cell-table', site } = obj(t);
    if (
      typeof profile === 'string' &&
      profile !== 'cell-table' &&
      profile !== 'if-mib' &&
      !profiles.includes(profile)
    ) {
      problems.push(
        `snmp.targets.${i}.profile: unknown profile "${profile}" (built-in: cell-table, if-mib; defined: ${profiles.join(', ') || 'none'})`,
      );
    }
    // A table without a cell-id column is mapped through the inventory: site + row index → cell.
    const def = typeof profile === 'string' ? obj(obj(snmp.profiles)[profile]) : {};
    if (
      typeof profile === 'string' &&
      profiles.includes(profile) &&
      def.cellIdColumn === undefined &&
      site === undefined
    ) {
      problems.push(
        `snmp.targets.${i}.site: required because profile "${profile}" has no cellIdColumn (rows are mapped to cells by site and snmpIndex)`,
      );
    }
    const first = names.get(name);
    if (name !== undefined && first !== undefined)
      problems.push(
        `snmp.targets.${i}.name: duplicate target name ${JSON.stringify(name)} (also at snmp.targets.${first})`,
      );
    else names.set(name, i);
  });
  const probeNames = new Map<unknown, number>();
  list(obj(raw).probes).forEach((p, i) => {
    const { name } = obj(p);
    const first = probeNames.get(name);
    if (name !== undefined && first !== undefined)
      problems.push(`probes.${i}.name: duplicate probe name ${JSON.stringify(name)} (also at probes.${first})`);
    else probeNames.set(name, i);
  });
  const tokens = new Map<unknown, number>();
  list(obj(obj(raw).auth).tokens).forEach((t, i) => {
    const { token } = obj(t);
    if (token !== undefined && tokens.has(token))
      problems.push(`auth.tokens.${i}.token: the same token is configured at auth.tokens.${tokens.get(token)}`);
    else tokens.set(token, i);
  });
  return problems;
}

export type Config = z.output<typeof configSchema>;
export type StoreConfig = Config['store'];
export type PipelineConfig = StoreConfig['pipeline'];
export type SnmpConfig = Config['snmp'];
export type SnmpTargetConfig = SnmpConfig['targets'][number];
export type SnmpProfileConfig = SnmpConfig['profiles'][string];
export type SimConfig = Config['sim'];
export type DetectionConfig = Config['detection'];
export type ProbeConfig = Config['probes'][number];
export type ProbeKind = ProbeConfig['kind'];
export type HealthCheckConfig = ProbeConfig['healthCheck'][number];
export type CentralConfig = NonNullable<Config['central']>;
