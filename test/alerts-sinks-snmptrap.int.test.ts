/**
 * The SNMP trap sink: the MIB module parsed on its own terms (its OID assignments, OBJECTS clauses,
 * textual conventions) against the OIDs and encodings the sink sends; golden notices to varbinds
 * (test/fixtures/alerts-sinks/traps.json); then the real Debian snmptrapd receiving v2c and v3
 * authPriv traps and informs, and refusing a wrong key.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { inspect, promisify } from 'node:util';
import t from 'tap';
import snmp from 'net-snmp';
import type { AlertNotice, Notification } from '../alerts/index.js';
import {
  ALERT_OBJECTS,
  CW_ALERT_OBJECTS,
  MAX_OCTETS,
  SEVERITY_INDETERMINATE,
  SEVERITY_VALUES,
  SNMP_TRAP_OID_0,
  SYS_UPTIME_0,
  SnmpTrapSink,
  TRAP_NAMES,
  TRAP_OIDS,
  alertTrap,
  classifySendError,
  dateAndTime,
  utf8Prefix,
  type SnmpTrapSinkOptions,
  type TrapVarbind,
} from '../alerts/sinks/snmptrap.js';
import { ManualClock } from '../clock/index.js';
import { CELL_ENTRY, CELL_TABLE_PROFILE } from '../collectors/snmp/profiles.js';
import { findBinary, freePort, makeTempDir, requireService, type Test } from './helpers/service.js';
import {
  SNMPTRAPD_INSTALL_HINT,
  startSnmptrapd,
  type ReceivedTrap,
  type SnmptrapdServer,
} from './helpers/snmptrapd.js';

const MIB_URL = new URL('../mibs/CELLWATCH-MIB.txt', import.meta.url);
const MIB_TEXT = readFileSync(MIB_URL, 'utf8');

// ---------------------------------------------------------------------------------------------
// A small reader for this MIB module's own definitions. Debian ships no IETF base MIBs, so neither
// snmptranslate nor smilint can load the module; the imported roots are the only outside facts.

const IMPORTED_ROOTS: Record<string, string> = { enterprises: '1.3.6.1.4.1' };

interface MibDefinition {
  name: string;
  macro: string;
  parent: string;
  id: number;
  /** The definition's text between its macro keyword and `::=`, comments and strings removed. */
  body: string;
}

interface Mib {
  defs: Map<string, MibDefinition>;
  oid(name: string): string;
  /** A NOTIFICATION-TYPE's OBJECTS, or an OBJECT-GROUP's OBJECTS, in order. */
  objects(name: string): string[];
  /** An OBJECT-TYPE's SYNTAX clause, whitespace collapsed. */
  syntax(name: string): string;
  access(name: string): string;
  /** A TEXTUAL-CONVENTION's SYNTAX clause. */
  tc(name: string): string;
}

/** Removes ASN.1 comments (`--` to the end of the line or the next `--`) and the text of quoted strings. */
function stripMib(text: string): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      out += '""';
      i = end < 0 ? text.length : end + 1;
    } else if (c === '-' && text[i + 1] === '-') {
      const eol = text.indexOf('\n', i + 2);
      const close = text.indexOf('--', i + 2);
      const stop = eol < 0 ? text.length : eol;
      i = close >= 0 && close < stop ? close + 2 : stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function parseMib(text: string): Mib {
  const clean = stripMib(text);
  const defs = new Map<string, MibDefinition>();
  const macros = [
    'OBJECT IDENTIFIER',
    'MODULE-IDENTITY',
    'OBJECT-IDENTITY',
    'OBJECT-TYPE',
    'NOTIFICATION-TYPE',
    'OBJECT-GROUP',
    'NOTIFICATION-GROUP',
    'MODULE-COMPLIANCE',
  ];
  const re = new RegExp(
    `(?:^|\\n)\\s*([a-z][A-Za-z0-9-]*)\\s+(${macros.join('|')})\\b([\\s\\S]*?)::=\\s*\\{\\s*([A-Za-z][A-Za-z0-9-]*)\\s+(\\d+)\\s*\\}`,
    'g',
  );
  for (const m of clean.matchAll(re)) {
    const [, name, macro, body, parent, id] = m as unknown as [string, string, string, string, string, string];
    if (defs.has(name)) throw new Error(`MIB defines ${name} twice`);
    defs.set(name, { name, macro, parent, id: Number(id), body });
  }
  const oid = (name: string): string => {
    const root = IMPORTED_ROOTS[name];
    if (root) return root;
    const def = defs.get(name);
    if (!def) throw new Error(`MIB has no definition of ${name}`);
    return `${oid(def.parent)}.${def.id}`;
  };
  const get = (name: string) => {
    const def = defs.get(name);
    if (!def) throw new Error(`MIB has no definition of ${name}`);
    return def;
  };
  const clause = (body: string, keyword: string, until: string[]) => {
    const m = new RegExp(`\\b${keyword}\\s+([\\s\\S]*?)(?=\\b(?:${until.join('|')})\\b|$)`).exec(body);
    return (m?.[1] ?? '').replace(/\s+/g, ' ').trim();
  };
  return {
    defs,
    oid,
    objects(name) {
      const m = /\bOBJECTS\s*\{([^}]*)\}/.exec(get(name).body);
      return (m?.[1] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    },
    syntax: (name) => clause(get(name).body, 'SYNTAX', ['UNITS', 'MAX-ACCESS']),
    access: (name) => clause(get(name).body, 'MAX-ACCESS', ['STATUS']),
    tc(name) {
      const m = new RegExp(
        `\\n${name}\\s*::=\\s*TEXTUAL-CONVENTION([\\s\\S]*?)\\bSYNTAX\\s+([\\s\\S]*?)\\n\\s*\\n`,
      ).exec(clean);
      if (!m) throw new Error(`MIB has no textual convention ${name}`);
      return (m[2] ?? '').replace(/\s+/g, ' ').trim();
    },
  };
}

const mib = parseMib(MIB_TEXT);

/** The MIB SYNTAX each of the sink's encodings stands for. */
const SYNTAX_OF: Record<(typeof ALERT_OBJECTS)[number]['syntax'], RegExp> = {
  adminString: /^SnmpAdminString\b/,
  text: /^CwAlertText$/,
  severity: /^CwSeverity$/,
  gauge: /^Gauge32$/,
  dateAndTime: /^DateAndTime$/,
};
const TYPE_OF: Record<(typeof ALERT_OBJECTS)[number]['syntax'], number> = {
  adminString: snmp.ObjectType.OctetString,
  text: snmp.ObjectType.OctetString,
  severity: snmp.ObjectType.Integer,
  gauge: snmp.ObjectType.Gauge,
  dateAndTime: snmp.ObjectType.OctetString,
};

const nameOfOid = new Map([...mib.defs.keys()].map((name) => [mib.oid(name), name]));

void t.test('the MIB module: the OIDs the sink uses are the ones it defines', async (t) => {
  t.equal(mib.oid('cellwatch'), '1.3.6.1.4.1.32473', 'module identity on the documentation enterprise arc');
  t.equal(mib.defs.get('cellwatch')?.macro, 'MODULE-IDENTITY');
  const oids = [...mib.defs.keys()].map((n) => mib.oid(n));
  t.equal(new Set(oids).size, oids.length, 'no OID is assigned twice');

  for (const status of ['firing', 'resolved'] as const) {
    const name = TRAP_NAMES[status];
    t.equal(mib.defs.get(name)?.macro, 'NOTIFICATION-TYPE', `${name} is a NOTIFICATION-TYPE`);
    t.equal(TRAP_OIDS[status], mib.oid(name), `${status} traps carry ${name}'s OID`);
    t.equal(mib.oid(name).split('.').at(-2), '0', `${name} sits under a 0 arc (RFC 3584 round trip)`);
    t.same(
      mib.objects(name),
      ALERT_OBJECTS.map((o) => o.name),
      `${name}'s OBJECTS are the sink's varbinds, in the same order`,
    );
  }
  t.same(mib.objects('cwAlertObjectGroup'), mib.objects('cwAlertFiring'), 'the object group lists every varbind');
  t.equal(mib.oid('cwAlertObjects'), CW_ALERT_OBJECTS);

  for (const obj of ALERT_OBJECTS) {
    t.equal(mib.defs.get(obj.name)?.macro, 'OBJECT-TYPE', `${obj.name} is an OBJECT-TYPE`);
    t.equal(mib.oid(obj.name), `${CW_ALERT_OBJECTS}.${obj.id}`, `${obj.name} is cwAlertObjects.${obj.id}`);
    t.equal(mib.access(obj.name), 'accessible-for-notify', `${obj.name} is accessible-for-notify`);
    t.match(mib.syntax(obj.name), SYNTAX_OF[obj.syntax], `${obj.name} has the syntax the sink encodes (${obj.syntax})`);
    const size = /\(SIZE \((\d+)\.\.(\d+)\)\)/.exec(mib.syntax(obj.name));
    t.equal(obj.maxOctets, size ? Number(size[2]) : undefined, `${obj.name}: a narrower SIZE is the sink's cut`);
    t.match(
      MIB_TEXT,
      new RegExp(`${obj.name} OBJECT-TYPE[\\s\\S]*?DESCRIPTION\\s+"[^"]{20,}"`),
      `${obj.name} is described`,
    );
  }
});

void t.test('the MIB module: encodings match its textual conventions', async (t) => {
  const severity = mib.tc('CwSeverity');
  const named = Object.fromEntries(
    [...severity.matchAll(/([a-z]+)\((\d+)\)/g)].map((m) => [m[1] ?? '', Number(m[2])] as const),
  );
  t.same(
    named,
    { ...SEVERITY_VALUES, indeterminate: SEVERITY_INDETERMINATE },
    'CwSeverity names the numbers the sink sends',
  );
  t.match(mib.tc('CwAlertText'), /^OCTET STRING \(SIZE \(0\.\.(\d+)\)\)$/);
  t.equal(Number(/\.\.(\d+)/.exec(mib.tc('CwAlertText'))?.[1]), MAX_OCTETS.text, 'CwAlertText size is the cut');
  t.match(MIB_TEXT, /CwAlertText ::= TEXTUAL-CONVENTION\s+DISPLAY-HINT "1024t"/, 'CwAlertText displays as UTF-8');
  t.match(MIB_TEXT, /'0000000000000000'H/, 'endsAt while firing is documented');
});

void t.test('the MIB module: the cell table is the built-in cell-table profile', async (t) => {
  t.equal(mib.oid('cwCellEntry'), CELL_ENTRY, 'cwCellEntry is the profile entry');
  const column = (name: string) => Number(mib.oid(name).slice(CELL_ENTRY.length + 1));
  t.equal(column('cwCellId'), CELL_TABLE_PROFILE.cellIdColumn, 'cell-id column');
  const mibColumns: Record<string, string> = {
    available: 'cwCellAvailable',
    dlVolumeMB: 'cwCellDlOctets',
    ulVolumeMB: 'cwCellUlOctets',
    activeUsers: 'cwCellActiveUsers',
    dlMbps: 'cwCellUeThpDlKbps',
    ulMbps: 'cwCellUeThpUlKbps',
    rsrpDbm: 'cwCellRsrpDbm',
    sinrDb: 'cwCellSinrCentiDb',
    rsrqDb: 'cwCellRsrqCentiDb',
    prbUtilPct: 'cwCellPrbUtilPct',
  };
  const profile = CELL_TABLE_PROFILE.columns as Record<string, { column: number | string; kind: string }>;
  t.same(Object.keys(profile).sort(), Object.keys(mibColumns).sort(), 'every profile field has a MIB column');
  for (const [field, name] of Object.entries(mibColumns)) {
    t.equal(column(name), profile[field]?.column, `${field} is ${name}`);
    const counter = profile[field]?.kind === 'counter';
    t.equal(
      /^Counter64$/.test(mib.syntax(name)),
      counter,
      `${name}: Counter64 exactly when the profile reads a counter`,
    );
  }
});

void t.test('the MIB module passes smilint (SMIv2) when smitools is installed', async (t) => {
  const smilint = findBinary('smilint');
  if (!smilint) {
    // Optional tool, not in the CI package list: without the IETF base modules smilint needs the
    // stubs below, so this is an extra check rather than a required one.
    t.pass('smilint not installed (apt-get install smitools): SMIv2 lint skipped', { skip: true });
    return;
  }
  const dir = await makeTempDir('cellwatch-smi');
  const { writeFile } = await import('node:fs/promises');
  for (const [name, text] of Object.entries(SMI_STUBS)) await writeFile(`${dir}/${name}`, text);
  const run = await promisify(execFile)(smilint, ['-l', '6', '-s', MIB_URL.pathname], {
    env: { ...process.env, SMIPATH: dir },
  }).then(
    (r) => ({ out: r.stdout + r.stderr, code: 0 }),
    (e: { stdout?: string; stderr?: string; code?: number }) => ({
      out: (e.stdout ?? '') + (e.stderr ?? ''),
      code: e.code ?? 1,
    }),
  );
  t.equal(run.out.trim(), '', 'smilint -l 6 reports nothing');
  t.equal(run.code, 0);
});

// ---------------------------------------------------------------------------------------------
// Notices to varbinds

function printable(v: TrapVarbind): string | number {
  if (typeof v.value === 'number') return v.value;
  const name = nameOfOid.get(v.oid.replace(/\.0$/, '')) ?? '';
  return mib.syntax(name) === 'DateAndTime' ? `hex:${v.value.toString('hex').toUpperCase()}` : v.value.toString('utf8');
}

void t.test('notices to notifications (golden)', async (t) => {
  const cases = JSON.parse(readFileSync(new URL('./fixtures/alerts-sinks/traps.json', import.meta.url), 'utf8')) as {
    spec: string;
    now: number;
    notice: AlertNotice;
    want: { trap: string; varbinds: Record<string, unknown> };
  }[];
  t.ok(cases.length >= 6);
  for (const c of cases) {
    const got = alertTrap(c.notice, c.now);
    t.equal(got.trapOid, mib.oid(c.want.trap), `${c.spec}: ${c.want.trap}`);
    t.same(
      got.varbinds.map((v) => v.oid),
      mib.objects(c.want.trap).map((name) => `${mib.oid(name)}.0`),
      `${c.spec}: one .0 instance per OBJECTS entry, in order`,
    );
    const byName = Object.fromEntries(
      got.varbinds.map((v) => [nameOfOid.get(v.oid.slice(0, -2)) ?? v.oid, printable(v)]),
    );
    const wanted = Object.fromEntries(Object.keys(c.want.varbinds).map((k) => [k, byName[k]]));
    t.same(wanted, c.want.varbinds, c.spec);
    for (const [i, obj] of ALERT_OBJECTS.entries())
      t.equal(got.varbinds[i]?.type, TYPE_OF[obj.syntax], `${c.spec}: ${obj.name} has its BER type`);
  }
});

void t.test('text is cut to the MIB sizes at a UTF-8 character boundary', async (t) => {
  const cases: { spec: string; text: string; max: number; want: string }[] = [
    { spec: 'short text is kept', text: 'abc', max: 255, want: 'abc' },
    { spec: 'exactly at the limit is kept', text: 'a'.repeat(255), max: 255, want: 'a'.repeat(255) },
    { spec: 'ASCII is cut at the limit', text: 'a'.repeat(300), max: 255, want: 'a'.repeat(255) },
    {
      spec: 'a 2-octet character straddling the limit goes',
      text: 'a' + 'é'.repeat(600),
      max: 1024,
      want: 'a' + 'é'.repeat(511),
    },
    { spec: 'a 3-octet character straddling the limit goes', text: '华'.repeat(100), max: 10, want: '华'.repeat(3) },
    { spec: 'a 4-octet character straddling the limit goes', text: 'x😀', max: 4, want: 'x' },
  ];
  for (const c of cases) {
    const got = utf8Prefix(c.text, c.max);
    t.equal(got.toString('utf8'), c.want, c.spec);
    t.ok(got.length <= c.max, `${c.spec}: within ${c.max} octets`);
  }
  const long: AlertNotice = {
    fingerprint: 'x'.repeat(100),
    status: 'firing',
    labels: { alertname: 'k'.repeat(300), severity: 'major' },
    annotations: { summary: 's'.repeat(5000) },
    startsAt: 0,
    generatorURL: '',
  };
  const got = alertTrap(long, 0).varbinds;
  t.equal((got[0]?.value as Buffer).length, 64, 'fingerprint cut to its SIZE (1..64)');
  t.equal((got[1]?.value as Buffer).length, 255, 'SnmpAdminString cut to 255 octets');
  t.equal((got[8]?.value as Buffer).length, 1024, 'CwAlertText cut to 1024 octets');
});

void t.test('DateAndTime encoding', async (t) => {
  const cases: { spec: string; at: number; want: string }[] = [
    { spec: 'epoch', at: 0, want: '07B2010100000000' + '2B0000' },
    { spec: 'deci-seconds are floored', at: Date.UTC(2026, 11, 31, 23, 59, 59, 999), want: '07EA0C1F173B3B092B0000' },
    { spec: 'a leap day', at: Date.UTC(2028, 1, 29, 12, 0, 0, 100), want: '07EC021D0C0000012B0000' },
    { spec: 'not a time: eight zero octets', at: NaN, want: '0000000000000000' },
  ];
  for (const c of cases) t.equal(dateAndTime(c.at).toString('hex').toUpperCase(), c.want, c.spec);
});

void t.test('send errors: what retries and what does not', async (t) => {
  const err = (name: string, message: string, code?: string | number) =>
    Object.assign(new Error(message), { name, code });
  const cases: { spec: string; err: Error; retryable: boolean; reason: RegExp }[] = [
    {
      spec: 'an inform nobody acknowledges',
      err: err('RequestTimedOutError', 'Request timed out'),
      retryable: true,
      reason: /timeout/,
    },
    {
      spec: 'DNS failure',
      err: err('Error', 'getaddrinfo ENOTFOUND nms', 'ENOTFOUND'),
      retryable: true,
      reason: /ENOTFOUND/,
    },
    {
      spec: 'no route',
      err: err('Error', 'send EHOSTUNREACH', 'EHOSTUNREACH'),
      retryable: true,
      reason: /EHOSTUNREACH/,
    },
    {
      spec: 'wrong digest (auth key)',
      err: err(
        'ResponseInvalidError',
        'Wrong Digest (incorrect password, community or key)',
        snmp.ResponseInvalidCode.EAuthFailure,
      ),
      retryable: false,
      reason: /refused the credentials/,
    },
    {
      spec: 'unknown user',
      err: err('ResponseInvalidError', 'Unknown User Name', snmp.ResponseInvalidCode.EAuthFailure),
      retryable: false,
      reason: /Unknown User Name/,
    },
    {
      spec: 'stale engine time resynchronizes: retry',
      err: err('ResponseInvalidError', 'Not In Time Window', snmp.ResponseInvalidCode.EAuthFailure),
      retryable: true,
      reason: /Not In Time Window/,
    },
    {
      spec: 'the manager answered with an error status',
      err: err('RequestFailedError', 'genErr'),
      retryable: false,
      reason: /genErr/,
    },
  ];
  for (const c of cases) {
    const r = classifySendError(c.err, 'inform');
    t.equal(r.ok, false, c.spec);
    if (r.ok) continue;
    t.equal(r.retryable, c.retryable, `${c.spec}: retryable ${c.retryable}`);
    t.match(r.reason, c.reason, `${c.spec}: reason`);
  }
});

void t.test('construction: settings that can never work are refused at once', async (t) => {
  const clock = new ManualClock(0);
  const base = { host: '127.0.0.1', clock };
  t.throws(() => new SnmpTrapSink({ ...base, version: '2c' }), /community/);
  t.throws(() => new SnmpTrapSink({ ...base, version: '3' }), /user/);
  t.throws(
    () =>
      new SnmpTrapSink({ ...base, version: '3', v3: { user: 'u', authProtocol: 'sha256', authKey: 'k'.repeat(8) } }),
    /engineId/,
    'v3 traps without a fixed engine id: the manager could not localize the keys',
  );
  t.throws(() => new SnmpTrapSink({ ...base, version: '3', v3: { user: 'u', engineId: '0x1234' } }), /5 to 32 octets/);
  t.throws(
    () =>
      new SnmpTrapSink({
        ...base,
        version: '3',
        v3: { user: 'u', privProtocol: 'aes', privKey: 'p'.repeat(8), engineId: '8000000001' },
      }),
    /privacy needs authentication/,
  );
  const informs = new SnmpTrapSink({ ...base, version: '3', mode: 'inform', v3: { user: 'u' } });
  t.equal(informs.mode, 'inform', 'informs need no engine id: they discover the manager');
  await informs.close();

  const secret = 'very-secret-community';
  const sink = new SnmpTrapSink({ ...base, version: '2c', community: secret });
  t.notMatch(
    inspect(sink, { depth: 5, showHidden: true }),
    secret,
    'the community never shows when the sink is logged',
  );
  t.notMatch(JSON.stringify(sink), secret);
  await sink.close();
  const closed = await sink.notify(notification([firing('a')]), new AbortController().signal);
  t.same(closed, { ok: false, retryable: false, reason: 'sink closed' });
});

// ---------------------------------------------------------------------------------------------
// Against the real snmptrapd

const T0 = Date.UTC(2026, 11, 1, 19, 0, 0);

function firing(fingerprint: string, extra: Partial<AlertNotice> = {}): AlertNotice {
  return {
    fingerprint,
    status: 'firing',
    labels: {
      alertname: 'cell_degraded',
      severity: 'major',
      scope: 'cell',
      cell: `${fingerprint}-cell`,
      site: 'S1',
      region: 'R1',
      cause: 'coverage',
    },
    annotations: {
      summary: `weak coverage on ${fingerprint}\tsince 19:00\nsee board`,
      remediation: 'Check tilt and power.',
      usersAffected: '17',
    },
    startsAt: T0,
    generatorURL: `http://127.0.0.1:8080/#/alerts/${fingerprint}`,
    ...extra,
  };
}

function resolved(fingerprint: string): AlertNotice {
  return { ...firing(fingerprint), status: 'resolved', endsAt: T0 + 30 * 60_000 };
}

function notification(alerts: AlertNotice[]): Notification {
  return {
    groupKey: 'g',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'nms',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:8080',
    alerts,
    truncatedAlerts: 0,
  };
}

/** What snmptrapd decoded must be what the sink built: same OIDs in the same order, same values. */
function assertReceived(t: Test, got: ReceivedTrap | undefined, notice: AlertNotice, now: number, what: string): void {
  if (!got) {
    t.fail(`${what}: not received`);
    return;
  }
  const sent = alertTrap(notice, now);
  t.equal(got.trapOid, sent.trapOid, `${what}: notification OID`);
  t.same(
    got.varbinds.map((v) => v.oid),
    [SYS_UPTIME_0, SNMP_TRAP_OID_0, ...ALERT_OBJECTS.map((o) => `${mib.oid(o.name)}.0`)],
    `${what}: sysUpTime.0, snmpTrapOID.0, then exactly the MIB's OBJECTS`,
  );
  const values = got.varbinds.slice(2).map((v) => (Buffer.isBuffer(v.value) ? v.value.toString('hex') : v.value));
  const expected = sent.varbinds.map((v) => (Buffer.isBuffer(v.value) ? v.value.toString('hex') : v.value));
  t.same(values, expected, `${what}: every value as sent`);
  const summary = got.varbinds[2 + ALERT_OBJECTS.findIndex((o) => o.name === 'cwAlertSummary')]?.value;
  t.equal(
    Buffer.isBuffer(summary) ? summary.toString('utf8') : summary,
    notice.annotations.summary,
    `${what}: text intact`,
  );
}

void t.test('real snmptrapd: v2c and v3 authPriv traps and informs', async (t) => {
  if (!requireService(t, 'snmptrapd', SNMPTRAPD_INSTALL_HINT)) return;
  const trapd: SnmptrapdServer = await startSnmptrapd();
  t.teardown(() => trapd.stop());
  const clock = new ManualClock(T0 + 60_000);
  const sinks: SnmpTrapSink[] = [];
  const make = (o: Partial<SnmpTrapSinkOptions> & Pick<SnmpTrapSinkOptions, 'version'>) => {
    const sink = new SnmpTrapSink({ host: trapd.host, port: trapd.port, clock, timeoutMs: 1000, retries: 1, ...o });
    sinks.push(sink);
    return sink;
  };
  t.teardown(() => Promise.all(sinks.map((s) => s.close())));
  const v3 = {
    user: trapd.v3.user,
    authProtocol: trapd.v3.authProtocol,
    authKey: trapd.v3.authKey,
    privProtocol: trapd.v3.privProtocol,
    privKey: trapd.v3.privKey,
  };
  const signal = new AbortController().signal;
  let expected = 0;

  await t.test('v2c trap: firing, then resolved, one notification per alert', async (t) => {
    const sink = make({ version: '2c', community: trapd.community });
    const notices = [firing('v2a'), firing('v2b', { labels: { ...firing('v2b').labels, region: '华东' } })];
    t.same(await sink.notify(notification(notices), signal), { ok: true });
    t.same(await sink.notify(notification([resolved('v2a')]), signal), { ok: true });
    expected += 3;
    const got = (await trapd.waitForTraps(expected)).slice(-3);
    for (const g of got) t.equal(g.version, '2c');
    for (const g of got) t.equal(g.security, trapd.community);
    assertReceived(t, got[0], notices[0]!, clock.now(), 'v2c firing');
    assertReceived(t, got[1], notices[1]!, clock.now(), 'v2c firing with UTF-8 region');
    assertReceived(t, got[2], resolved('v2a'), clock.now(), 'v2c resolved');
    t.equal(got[2]?.trapOid, TRAP_OIDS.resolved);
    const uptime = got[0]?.varbinds[0]?.value;
    t.ok(typeof uptime === 'number' && uptime >= 0, 'sysUpTime.0 is a TimeTicks value');
  });

  await t.test('v2c inform: acknowledged by snmptrapd', async (t) => {
    const sink = make({ version: '2c', community: trapd.community, mode: 'inform' });
    t.same(
      await sink.notify(notification([firing('inf2c')]), signal),
      { ok: true },
      'ok only after the acknowledgement',
    );
    expected += 1;
    assertReceived(t, (await trapd.waitForTraps(expected)).at(-1), firing('inf2c'), clock.now(), 'v2c inform');
  });

  await t.test('v3 authPriv (SHA-256/AES) trap with the configured engine id', async (t) => {
    const sink = make({ version: '3', v3: { ...v3, engineId: `0x${trapd.v3.engineId}` } });
    t.same(await sink.notify(notification([firing('v3trap'), resolved('v3trap')]), signal), { ok: true });
    expected += 2;
    const got = (await trapd.waitForTraps(expected)).slice(-2);
    for (const g of got) t.equal(g.version, '3');
    for (const g of got) t.equal(g.security, trapd.v3.user);
    assertReceived(t, got[0], firing('v3trap'), clock.now(), 'v3 firing');
    assertReceived(t, got[1], resolved('v3trap'), clock.now(), 'v3 resolved');
  });

  await t.test('v3 authPriv inform: engine discovered, acknowledged', async (t) => {
    const sink = make({ version: '3', mode: 'inform', v3 });
    t.same(await sink.notify(notification([firing('v3inf')]), signal), { ok: true });
    t.same(
      await sink.notify(notification([resolved('v3inf')]), signal),
      { ok: true },
      'a second inform on the same engine',
    );
    expected += 2;
    const got = (await trapd.waitForTraps(expected)).slice(-2);
    assertReceived(t, got[0], firing('v3inf'), clock.now(), 'v3 inform firing');
    assertReceived(t, got[1], resolved('v3inf'), clock.now(), 'v3 inform resolved');
  });

  await t.test('a wrong v3 key is not received (and a wrong key on an inform is not retried)', async (t) => {
    const engineId = trapd.v3.engineId;
    const badAuth = make({ version: '3', v3: { ...v3, authKey: 'not-the-auth-key', engineId } });
    const badPriv = make({ version: '3', v3: { ...v3, privKey: 'not-the-priv-key', engineId } });
    const good = make({ version: '3', v3: { ...v3, engineId } });
    t.same(
      await badAuth.notify(notification([firing('badauth')]), signal),
      { ok: true },
      'a trap cannot know it was refused',
    );
    t.same(await badPriv.notify(notification([firing('badpriv')]), signal), { ok: true });
    // snmptrapd handles datagrams in order: once the later good trap is printed, the bad ones
    // have been dealt with, so their absence is final.
    t.same(await good.notify(notification([firing('after-bad')]), signal), { ok: true });
    expected += 1;
    const got = await trapd.waitForTraps(expected);
    const fingerprints = got.map((g) => Buffer.from(g.varbinds[2]?.value as Buffer).toString('utf8'));
    t.equal(fingerprints.at(-1), 'after-bad', 'the good trap after the bad ones arrived');
    t.notOk(fingerprints.includes('badauth'), 'wrong auth key: not received');
    t.notOk(fingerprints.includes('badpriv'), 'wrong priv key: not received');
    t.match(trapd.log(), /Authentication failed for cwnotify/, 'snmptrapd saw and refused the wrong auth key');
    t.match(trapd.log(), /error parsing ScopedPDU|decrypt/i, 'snmptrapd could not decrypt the wrong priv key');

    const badInform = make({ version: '3', mode: 'inform', v3: { ...v3, authKey: 'not-the-auth-key' } });
    const r = await badInform.notify(notification([firing('badinform')]), signal);
    t.equal(r.ok, false, 'an inform with a wrong auth key fails');
    if (!r.ok)
      t.match(
        r,
        { retryable: false, reason: /refused the credentials \(Wrong Digest/ },
        'refused by a USM report, not retried',
      );
  });

  await t.test('an inform to a port nobody answers is retryable; abort ends the wait', async (t) => {
    const silent = await freePort('udp');
    const sink = new SnmpTrapSink({
      version: '2c',
      community: 'x',
      host: '127.0.0.1',
      port: silent,
      mode: 'inform',
      timeoutMs: 200,
      retries: 0,
      clock,
    });
    sinks.push(sink);
    const r = await sink.notify(notification([firing('nobody')]), signal);
    t.match(r, { ok: false, retryable: true }, 'silence is retryable');
    const slow = new SnmpTrapSink({
      version: '2c',
      community: 'x',
      host: '127.0.0.1',
      port: silent,
      mode: 'inform',
      timeoutMs: 10_000,
      retries: 0,
      clock,
    });
    sinks.push(slow);
    const ac = new AbortController();
    const pending = slow.notify(notification([firing('nobody')]), ac.signal);
    ac.abort();
    t.same(await pending, { ok: false, retryable: true, reason: 'aborted' }, 'abort answers at once');
  });
});

// Minimal stand-ins for the IETF base modules smilint needs, written for this check only (they
// define just what CELLWATCH-MIB imports).
const SMI_STUBS: Record<string, string> = {
  'SNMPv2-SMI': `SNMPv2-SMI DEFINITIONS ::= BEGIN
org OBJECT IDENTIFIER ::= { iso 3 }
dod OBJECT IDENTIFIER ::= { org 6 }
internet OBJECT IDENTIFIER ::= { dod 1 }
private OBJECT IDENTIFIER ::= { internet 4 }
enterprises OBJECT IDENTIFIER ::= { private 1 }
snmpV2 OBJECT IDENTIFIER ::= { internet 6 }
snmpModules OBJECT IDENTIFIER ::= { snmpV2 3 }
MODULE-IDENTITY MACRO ::= BEGIN END
OBJECT-IDENTITY MACRO ::= BEGIN END
OBJECT-TYPE MACRO ::= BEGIN END
NOTIFICATION-TYPE MACRO ::= BEGIN END
Integer32 ::= INTEGER (-2147483648..2147483647)
Counter32 ::= [APPLICATION 1] IMPLICIT INTEGER (0..4294967295)
Gauge32 ::= [APPLICATION 2] IMPLICIT INTEGER (0..4294967295)
Unsigned32 ::= [APPLICATION 2] IMPLICIT INTEGER (0..4294967295)
TimeTicks ::= [APPLICATION 3] IMPLICIT INTEGER (0..4294967295)
Counter64 ::= [APPLICATION 6] IMPLICIT INTEGER (0..18446744073709551615)
END
`,
  'SNMPv2-TC': `SNMPv2-TC DEFINITIONS ::= BEGIN
TEXTUAL-CONVENTION MACRO ::= BEGIN END
DisplayString ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "255a"
    STATUS current
    DESCRIPTION "stub"
    SYNTAX OCTET STRING (SIZE (0..255))
DateAndTime ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "2d-1d-1d,1d:1d:1d.1d,1a1d:1d"
    STATUS current
    DESCRIPTION "stub"
    SYNTAX OCTET STRING (SIZE (8 | 11))
END
`,
  'SNMPv2-CONF': `SNMPv2-CONF DEFINITIONS ::= BEGIN
OBJECT-GROUP MACRO ::= BEGIN END
NOTIFICATION-GROUP MACRO ::= BEGIN END
MODULE-COMPLIANCE MACRO ::= BEGIN END
END
`,
  'SNMP-FRAMEWORK-MIB': `SNMP-FRAMEWORK-MIB DEFINITIONS ::= BEGIN
IMPORTS MODULE-IDENTITY, snmpModules FROM SNMPv2-SMI
        TEXTUAL-CONVENTION FROM SNMPv2-TC;
snmpFrameworkMIB MODULE-IDENTITY
    LAST-UPDATED "200210140000Z"
    ORGANIZATION "stub"
    CONTACT-INFO "stub"
    DESCRIPTION "stub"
    REVISION "200210140000Z"
    DESCRIPTION "stub"
    ::= { snmpModules 10 }
SnmpAdminString ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "255t"
    STATUS current
    DESCRIPTION "stub"
    SYNTAX OCTET STRING (SIZE (0..255))
END
`,
};
