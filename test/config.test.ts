import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { ConfigError, Secret, fingerprint, loadConfigFile, parseConfig } from '../config/index.js';
import { parseInventory } from '../config/inventory.js';
import { packageRoot } from '../daemon/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cellwatch-config-'));
writeFileSync(join(dir, 'community.txt'), 'from-a-file\n');

function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(raw, { env, baseDir: dir });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

void t.test('invalid configs: every problem reported as path: message', async (t) => {
  const cases: { spec: string; raw: unknown; env?: NodeJS.ProcessEnv; problems: string[] }[] = [
    { spec: 'unknown top-level key', raw: { colour: 'blue' }, problems: ['colour: unknown key'] },
    {
      spec: 'unknown nested key (a typo must not fall back to a default)',
      raw: { snmp: { defaults: { intervall: '30s' } } },
      problems: ['snmp.defaults.intervall: unknown key'],
    },
    {
      spec: 'duration without unit',
      raw: { snmp: { defaults: { interval: '60' } } },
      problems: ['snmp.defaults.interval: expected a duration like "60s" (units ms, s, m, h, d, w), got "60"'],
    },
    {
      spec: 'listen address',
      raw: { http: { listen: 'localhost' } },
      problems: ['http.listen: expected "host:port" or "[v6]:port", got "localhost"'],
    },
    {
      spec: 'store kind',
      raw: { store: { kind: 'influx' } },
      problems: ["store.kind: Invalid discriminator value. Expected 'embedded' | 'influxdb-v1' | 'influxdb-v2'"],
    },
    {
      spec: 'influxdb-v2 needs org, bucket, token',
      raw: { store: { kind: 'influxdb-v2', url: 'http://127.0.0.1:8086' } },
      problems: [
        'store.org: Invalid input: expected string, received undefined',
        'store.bucket: Invalid input: expected string, received undefined',
        'store.token: Invalid input: expected string, received undefined',
      ],
    },
    {
      spec: 'peak window names the bad field',
      raw: { target: { peak: { from: '25:00', to: '22:00' } } },
      problems: ['target.peak.from: expected a local time "HH:MM", got "25:00"'],
    },
    {
      spec: 'peak: neither busy-hour nor a window',
      raw: { target: { peak: 'evening' } },
      problems: ['target.peak: expected "busy-hour"; or expected object, received string'],
    },
    { spec: 'time zone', raw: { timezone: 'Mars/Olympus' }, problems: ['timezone: unknown IANA time zone'] },
    {
      spec: 'missing environment variable',
      raw: { snmp: { targets: [{ name: 'a', host: 'h', community: '${SNMP_COMMUNITY}' }] } },
      problems: ['snmp.targets.0.community: environment variable SNMP_COMMUNITY is not set'],
    },
    {
      spec: 'missing secret file',
      raw: { snmp: { targets: [{ name: 'a', host: 'h', communityFile: 'nope.txt' }] } },
      problems: ['snmp.targets.0.communityFile: cannot read secret file: ENOENT'],
    },
    {
      spec: 'secret given twice',
      raw: { snmp: { targets: [{ name: 'a', host: 'h', community: 'x', communityFile: 'community.txt' }] } },
      problems: ['snmp.targets.0.communityFile: give either community or communityFile, not both'],
    },
    {
      spec: 'v2c needs a community',
      raw: { snmp: { targets: [{ name: 'a', host: 'h' }] } },
      problems: ['snmp.targets.0.community: required for SNMPv2c'],
    },
    {
      spec: 'v3 privacy without authentication',
      raw: {
        snmp: {
          targets: [{ name: 'a', host: 'h', version: 3, user: 'u', privProtocol: 'aes', privKey: 'privpass123' }],
        },
      },
      problems: ['snmp.targets.0.privProtocol: privacy needs authentication (authPriv)'],
    },
    {
      spec: 'v3 key too short',
      raw: {
        snmp: { targets: [{ name: 'a', host: 'h', version: '3', user: 'u', authProtocol: 'sha', authKey: 'short' }] },
      },
      problems: ['snmp.targets.0.authKey: must be at least 8 characters (RFC 3414)'],
    },
    {
      spec: 'if-mib target needs a site',
      raw: { snmp: { targets: [{ name: 'bh', host: 'h', community: 'c', profile: 'if-mib' }] } },
      problems: ['snmp.targets.0.site: required for the if-mib profile (links are mapped to sites)'],
    },
    {
      spec: 'unknown profile and duplicate target are reported even beside other errors',
      raw: {
        log: { level: 'loud' },
        snmp: {
          targets: [
            { name: 'a', host: 'h', community: 'c', profile: 'vendor-x' },
            { name: 'a', host: 'h2', community: 'c' },
          ],
        },
      },
      problems: [
        'log.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"',
        'snmp.targets.0.profile: unknown profile "vendor-x" (built-in: cell-table, if-mib; defined: none)',
        'snmp.targets.1.name: duplicate target name "a" (also at snmp.targets.0)',
      ],
    },
    {
      spec: 'short API token',
      raw: { auth: { tokens: [{ name: 'noc', role: 'operator', token: 'abc' }] } },
      problems: ['auth.tokens.0.token: must be at least 16 characters (use `openssl rand -hex 24`)'],
    },
    {
      spec: 'unknown role',
      raw: { auth: { tokens: [{ name: 'noc', role: 'root', token: 'x'.repeat(20) }] } },
      problems: ['auth.tokens.0.role: Invalid option: expected one of "viewer"|"operator"|"ingest"|"admin"'],
    },
    {
      spec: 'the same token twice',
      raw: {
        auth: {
          tokens: [
            { name: 'a', role: 'viewer', token: 'y'.repeat(20) },
            { name: 'b', role: 'admin', token: 'y'.repeat(20) },
          ],
        },
      },
      problems: ['auth.tokens.1.token: the same token is configured at auth.tokens.0'],
    },
  ];
  for (const c of cases) t.strictSame(problemsOf(c.raw, c.env), c.problems, c.spec);
});

void t.test('valid configs', async (t) => {
  const cfg = parseConfig(
    {
      snmp: {
        targets: [
          { name: 'site-1', host: '127.0.0.1', community: '${COMM}' },
          { name: 'site-2', host: '127.0.0.1', communityFile: 'community.txt', interval: '30s' },
          {
            name: 'bh-1',
            host: '::1',
            version: 3,
            user: 'noc',
            authProtocol: 'sha256',
            authKey: 'authpass123',
            privProtocol: 'aes256b',
            privKey: 'privpass123',
            profile: 'if-mib',
            site: 'S1',
          },
        ],
      },
      target: { peak: 'busy-hour' },
      dataDir: 'state',
    },
    { env: { COMM: 'c0mm' }, baseDir: dir },
  );
  const [a, b, bh] = cfg.snmp.targets;
  t.equal(a?.community?.reveal(), 'c0mm', '${VAR} substituted from the environment');
  t.equal(b?.community?.reveal(), 'from-a-file', 'xFile read, trimmed, relative to the config directory');
  t.equal(b?.interval, 30_000, 'durations are milliseconds');
  t.equal(bh?.version, '3', 'numeric version normalised');
  t.equal(cfg.target.peak, 'busy-hour');
  t.equal(cfg.dataDir, join(dir, 'state'), 'dataDir resolved against the config directory');
  t.equal(cfg.store.kind, 'embedded', 'embedded store by default');
  t.equal(cfg.http.listen.host, '127.0.0.1', 'loopback by default');
});

void t.test('secrets never reach a log line', async (t) => {
  const s = new Secret('hunter2-hunter2');
  const cfg = parseConfig({ auth: { tokens: [{ name: 'noc', role: 'viewer', token: 'topsecret-topsecret' }] } });
  for (const rendered of [
    String(s),
    JSON.stringify({ s }),
    inspect(s),
    JSON.stringify(cfg),
    inspect(cfg, { depth: 10 }),
  ]) {
    t.notMatch(rendered, /hunter2|topsecret/, 'rendered form hides the value');
  }
  t.equal(s.reveal(), 'hunter2-hunter2', 'reveal gives the value');
});

void t.test('config/example.yaml is valid and documents the defaults', async (t) => {
  const example = loadConfigFile(join(packageRoot, 'config/example.yaml'));
  const defaults = parseConfig({}, { baseDir: join(packageRoot, 'config') });
  // The example pins a time zone for illustration; everything else must equal the built-in defaults.
  t.strictSame(
    JSON.parse(JSON.stringify({ ...example, timezone: 'x' })),
    JSON.parse(JSON.stringify({ ...defaults, timezone: 'x' })),
  );
});

void t.test('YAML problems are reported with the file name', async (t) => {
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'http: {listen: "127.0.0.1:8080"\n');
  const fileProblems = (f: string): string[] => {
    try {
      loadConfigFile(f);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  t.match(fileProblems(file), [new RegExp(`^${file}: not valid YAML`)]);
  t.match(fileProblems(join(dir, 'absent.yaml')), [/absent\.yaml: cannot read/]);
});

void t.test('inventory: a bad row is reported with its line and field; the others are kept', async (t) => {
  const csv = [
    'id,site,region,lat,lon,neighbours,tech,snmpIndex',
    'S1-1,S1,R1,31.23,121.47,S1-2;S1-3,LTE1800,1',
    'S1-2,S1,R1,91,121.47,,LTE1800,2',
    'S1-3,S1,R1,31.23,121.47,S1-1,,3',
    'S1-3,S1,R1,31.23,121.47,,,',
    ',S1,R1,31.23,121.47,,,',
    'S1-4,S1,R1,31.23,121.47,,,x',
  ].join('\n');
  const { cells, problems } = parseInventory(csv, 'inv.csv');
  t.strictSame(
    cells.map((c) => c.id),
    ['S1-1', 'S1-3'],
  );
  t.strictSame(cells[0]?.neighbours, ['S1-2', 'S1-3']);
  t.equal(cells[0]?.snmpIndex, 1);
  t.strictSame(problems, [
    'inv.csv:3: lat: expected a latitude in [-90, 90], got "91"',
    'inv.csv:5: id: duplicate cell id "S1-3"',
    'inv.csv:6: id: empty',
    'inv.csv:7: snmpIndex: expected a non-negative integer, got "x"',
  ]);
  t.strictSame(parseInventory('id,site\nS1,S1\n', 'inv.csv').problems, ['inv.csv: missing column(s) region, lat, lon']);
});

void t.test('fingerprint sees rotated secrets that JSON cannot', async (t) => {
  const a = { tokens: [{ name: 'noc', token: new Secret('old-token-0123456789') }] };
  const b = { tokens: [{ name: 'noc', token: new Secret('new-token-0123456789') }] };
  const a2 = { tokens: [{ token: new Secret('old-token-0123456789'), name: 'noc' }] };
  t.equal(JSON.stringify(a), JSON.stringify(b), 'JSON prints both as [redacted] (why fingerprint exists)');
  t.not(fingerprint(a), fingerprint(b), 'a rotated secret changes the fingerprint');
  t.equal(fingerprint(a), fingerprint(a2), 'key order does not');
  t.notMatch(fingerprint(a), /old-token/, 'the secret itself is not in it');
});
