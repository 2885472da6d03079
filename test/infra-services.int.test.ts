// The test helpers against the real services: if these pass, an integration test that uses them is
// talking to a real InfluxDB / snmpd / namespace, not to a helper that only looks like it works.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import snmp from 'net-snmp';
import t from 'tap';
import { INFLUXD_INSTALL_HINT, startInfluxDB } from './helpers/influxdb.js';
import { createVethNamespace, requireNetns } from './helpers/netns.js';
import { freePort, makeTempDir, requireCondition, requireService, waitFor, type Test } from './helpers/service.js';
import { SNMPD_INSTALL_HINT, SYS_UPTIME_OID, startSnmpd, type SnmpdServer } from './helpers/snmpd.js';

const IF_NAME_OID = '1.3.6.1.2.1.31.1.1.1.1';

type Session = ReturnType<typeof snmp.createSession>;
type Varbind = { oid: string; type: number; value: unknown };

function v2cSession(server: SnmpdServer, community = server.community): Session {
  return snmp.createSession(server.host, community, {
    port: server.port,
    version: snmp.Version2c,
    timeout: 1_000,
    retries: 0,
  });
}

function v3Session(
  server: SnmpdServer,
  creds: SnmpdServer['v3'] | SnmpdServer['v3sha256'],
  override: { authKey?: string; privKey?: string } = {},
): Session {
  const user = {
    name: creds.user,
    level: snmp.SecurityLevel.authPriv,
    authProtocol: snmp.AuthProtocols[creds.authProtocol],
    authKey: override.authKey ?? creds.authKey,
    privProtocol: snmp.PrivProtocols[creds.privProtocol],
    privKey: override.privKey ?? creds.privKey,
  };
  return snmp.createV3Session(server.host, user, { port: server.port, timeout: 1_000, retries: 0 });
}

function get(session: Session, oid: string): Promise<Varbind> {
  return new Promise((resolve, reject) => {
    session.get([oid], (err, varbinds) => {
      if (err) reject(err);
      else if (!varbinds?.[0]) reject(new Error('empty response'));
      else if (snmp.isVarbindError(varbinds[0])) reject(new Error(snmp.varbindError(varbinds[0])));
      else resolve(varbinds[0] as Varbind);
    });
  });
}

function subtree(session: Session, oid: string): Promise<Varbind[]> {
  const rows: Varbind[] = [];
  return new Promise((resolve, reject) => {
    session.subtree(
      oid,
      50,
      (varbinds) => {
        for (const vb of varbinds) rows.push(vb as Varbind);
      },
      (err) => (err ? reject(err) : resolve(rows)),
    );
  });
}

async function withSession<T>(session: Session, use: (s: Session) => Promise<T>): Promise<T> {
  try {
    return await use(session);
  } finally {
    session.close();
  }
}

/** Running, not a zombie waiting for a reaper that a container's init may never be. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

void t.test('service.ts basics', async (t) => {
  await t.test('freePort hands out ports that can be bound right away', async (t) => {
    const tcp = await freePort('tcp');
    const udp = await freePort('udp');
    t.ok(tcp > 0 && tcp < 65536, `tcp port ${tcp}`);
    t.ok(udp > 0 && udp < 65536, `udp port ${udp}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tcp, '127.0.0.1', resolve);
    });
    t.pass(`bound 127.0.0.1:${tcp}`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  await t.test('waitFor resolves once the check holds, and names what it waited for on timeout', async (t) => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, 2_000, 'the third call');
    t.equal(calls, 3);
    const err = await rejection(waitFor(() => Promise.reject(new Error('connection refused')), 120, 'the frobnicator'));
    t.match(err.message, /^timed out after 120 ms waiting for the frobnicator \(last error: connection refused\)$/);
  });

  await t.test('makeTempDir makes a fresh dir per call', async (t) => {
    const a = await makeTempDir('cellwatch-infra');
    const b = await makeTempDir('cellwatch-infra');
    t.not(a, b);
    t.ok(existsSync(a) && existsSync(b));
    t.match(a, /cellwatch-infra-/);
  });

  // The child runs the helper as a test file would; its service must not outlive it, whether it
  // exits normally ('exit' hook) or is SIGKILLed (no hook runs: PR_SET_PDEATHSIG does the work).
  for (const ending of ['process.exit', 'SIGKILL'] as const) {
    await t.test(`a service dies with its test process (${ending})`, async (t) => {
      const child = fileURLToPath(new URL('./fixtures/service-child/child.ts', import.meta.url));
      const proc = spawn(process.execPath, [...process.execArgv, child, ending === 'process.exit' ? 'exit' : 'wait'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => /^\d+\n/.test(out), 20_000, 'the child to report its service pid');
      const pid = Number(out.trim());
      t.ok(alive(pid), `service ${pid} runs while its test process does`);
      if (ending === 'SIGKILL') proc.kill('SIGKILL');
      await waitFor(() => !alive(pid), 5_000, `service ${pid} to die with its test process`);
      t.notOk(alive(pid), `service ${pid} is gone`);
    });
  }

  await t.test('requireService: go on when present; in CI fail, locally skip with the hint', (t) => {
    const calls: string[] = [];
    const fake = {
      fail: (msg: string) => calls.push(`fail: ${msg}`),
      pass: (msg: string, extra?: { skip?: string }) => calls.push(`pass(skip=${extra?.skip}): ${msg}`),
    } as unknown as Test;
    const savedCI = process.env.CI;
    try {
      t.equal(requireService(fake, 'sh', 'never shown'), true, 'sh is present');
      process.env.CI = 'true';
      t.equal(requireService(fake, 'cellwatch-no-such-binary', 'apt-get install nothing'), false);
      process.env.CI = '';
      t.equal(requireService(fake, 'cellwatch-no-such-binary', 'apt-get install nothing'), false);
      t.equal(requireCondition(fake, true, 'never shown'), true);
    } finally {
      if (savedCI === undefined) delete process.env.CI;
      else process.env.CI = savedCI;
    }
    t.same(calls, [
      'fail: cellwatch-no-such-binary is not installed: apt-get install nothing',
      'pass(skip=cellwatch-no-such-binary is not installed: apt-get install nothing): precondition not met',
    ]);
    t.end();
  });
});

void t.test('InfluxDB 1.6 helper', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;

  await t.test('write, query, crash, restart: the point survives from the WAL', async (t) => {
    const influx = await startInfluxDB();
    t.teardown(() => influx.stop());
    t.match(influx.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.not(influx.port, 8086, 'not on the default HTTP port');
    t.not(influx.rpcPort, 8088, 'not on the default RPC port');

    await influx.query('CREATE DATABASE cw');
    const res = await fetch(`${influx.url}/write?db=cw&precision=s`, {
      method: 'POST',
      body: 'kpi,cell=C1 dlMbps=12.5,activeUsers=7i 1700000000',
    });
    t.equal(res.status, 204, '/write answers 204');
    const select = "SELECT dlMbps, activeUsers FROM kpi WHERE cell = 'C1'";
    const before = await influx.query(select, 'cw');
    t.same(before.results[0].series[0].values, [['2023-11-14T22:13:20Z', 12.5, 7]]);

    await influx.kill();
    t.equal(influx.running(), false, 'killed');
    await influx.restart();
    t.equal(influx.running(), true, 'running again');
    const after = await influx.query(select, 'cw');
    t.same(after.results[0].series[0].values, before.results[0].series[0].values, 'point survived SIGKILL + restart');

    await influx.write(['kpi,cell=C2 dlMbps=3 1700000060'], 'cw', 's');
    const count = await influx.query('SELECT count(dlMbps) FROM kpi', 'cw');
    t.equal(count.results[0].series[0].values[0][1], 2);

    const bad = await rejection(influx.query('SELEKT nonsense', 'cw'));
    t.match(bad.message, /error parsing query/, "a bad statement throws with InfluxDB's message");
    const missingDb = await rejection(influx.write('kpi dlMbps=1', 'nosuchdb'));
    t.match(missingDb.message, /answered 404: .*database not found/);

    await influx.stop();
    t.equal(existsSync(influx.dir), false, 'stop() removed the temp dir');
    const late = await rejection(influx.restart());
    t.match(late.message, /already removed its temp dir/);
  });

  await t.test('two instances side by side, one on a caller-owned dir', async (t) => {
    const dir = join(await makeTempDir('cellwatch-infra'), 'influx');
    const [a, b] = await Promise.all([startInfluxDB(), startInfluxDB({ dir })]);
    t.teardown(() => Promise.all([a.stop(), b.stop()]));
    t.not(a.port, b.port);
    t.not(a.rpcPort, b.rpcPort);
    await a.query('CREATE DATABASE only_in_a');
    const shown = await b.query('SHOW DATABASES');
    t.notOk(JSON.stringify(shown).includes('only_in_a'), 'separate data dirs');
    await b.stop();
    t.ok(existsSync(join(dir, 'meta')), 'a caller-owned dir is kept');
  });

  await t.test("a start-up failure carries influxd's own words", async (t) => {
    const dir = await makeTempDir('cellwatch-infra');
    await writeFile(join(dir, 'meta'), 'a file where a directory must be');
    const err = await rejection(startInfluxDB({ dir, startTimeoutMs: 10_000 }));
    t.match(err.message, /influxd exited with code \d+; last output:\n[\s\S]*meta/);
  });
});

void t.test('snmpd helper', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;

  const passDir = await makeTempDir('cellwatch-infra');
  const helper = join(passDir, 'pass.sh');
  // A minimal pass_persist program: one Counter64 at the top of its range, to prove extraConfig is used.
  await writeFile(
    helper,
    `#!/bin/sh
while read -r cmd; do
  case "$cmd" in
    PING) echo PONG ;;
    get) read -r oid; if [ "$oid" = ".1.3.6.1.4.1.32473.9.1.0" ]; then printf '%s\\ncounter64\\n18446744073709551615\\n' "$oid"; else echo NONE; fi ;;
    getnext) read -r oid; echo NONE ;;
    set) read -r oid; read -r val; echo not-writable ;;
    *) exit 0 ;;
  esac
done
`,
  );
  await chmod(helper, 0o755);

  const agent = await startSnmpd({ extraConfig: `pass_persist .1.3.6.1.4.1.32473.9 ${helper}` });
  t.teardown(() => agent.stop());
  t.equal(agent.host, '127.0.0.1');

  await t.test('v2c walk of ifXTable ifName has the lo row', async (t) => {
    const rows = await withSession(v2cSession(agent), (s) => subtree(s, IF_NAME_OID));
    const names = rows.map((vb) => String(vb.value));
    t.ok(rows.length >= 1, `${rows.length} interfaces`);
    t.ok(names.includes('lo'), `ifName has lo: ${names.join(', ')}`);
    t.ok(
      rows.every((vb) => vb.oid.startsWith(`${IF_NAME_OID}.`)),
      'the walk stays in the column',
    );
  });

  await t.test('extraConfig: a pass_persist Counter64 at 2^64-1 arrives as a Buffer (BER: 9 bytes)', async (t) => {
    const vb = await withSession(v2cSession(agent), (s) => get(s, '1.3.6.1.4.1.32473.9.1.0'));
    t.equal(vb.type, snmp.ObjectType.Counter64);
    t.ok(Buffer.isBuffer(vb.value));
    const value = BigInt(`0x${(vb.value as Buffer).toString('hex')}`);
    t.equal(value, 2n ** 64n - 1n);
  });

  for (const [spec, pick] of [
    ['v3 authPriv SHA/AES answers sysUpTime', (a: SnmpdServer) => a.v3],
    ['v3 authPriv SHA-256/AES-256 answers sysUpTime', (a: SnmpdServer) => a.v3sha256],
  ] as const) {
    await t.test(spec, async (t) => {
      const vb = await withSession(v3Session(agent, pick(agent)), (s) => get(s, SYS_UPTIME_OID));
      t.equal(vb.oid, SYS_UPTIME_OID);
      t.equal(vb.type, snmp.ObjectType.TimeTicks);
      t.ok(typeof vb.value === 'number' && vb.value >= 0, `sysUpTime ${String(vb.value)}`);
    });
  }

  await t.test('a wrong community gets no answer: RequestTimedOutError', async (t) => {
    const err = await rejection(withSession(v2cSession(agent, 'not-the-community'), (s) => get(s, SYS_UPTIME_OID)));
    t.equal(err.name, 'RequestTimedOutError');
  });

  await t.test('a wrong v3 auth key is reported by the agent as a wrong digest', async (t) => {
    const err = await rejection(
      withSession(v3Session(agent, agent.v3, { authKey: 'not-the-auth-key' }), (s) => get(s, SYS_UPTIME_OID)),
    );
    t.equal(err.name, 'ResponseInvalidError');
    t.match(err.message, /Wrong Digest/);
    t.equal((err as Error & { code?: number }).code, snmp.ResponseInvalidCode.EAuthFailure);
  });

  // snmpd decrypts AES with the wrong key into garbage it cannot parse and drops it silently (no
  // usmStatsDecryptionErrors report), so a wrong priv key looks exactly like an unreachable agent.
  await t.test('a wrong v3 priv key with the right auth key gets no answer: RequestTimedOutError', async (t) => {
    const err = await rejection(
      withSession(v3Session(agent, agent.v3, { privKey: 'not-the-priv-key' }), (s) => get(s, SYS_UPTIME_OID)),
    );
    t.equal(err.name, 'RequestTimedOutError');
  });

  await t.test('stop() ends snmpd and removes its dir', async (t) => {
    const other = await startSnmpd();
    await other.stop();
    t.equal(existsSync(other.dir), false);
    const err = await rejection(withSession(v2cSession(other), (s) => get(s, SYS_UPTIME_OID)));
    t.match(err.name, /RequestTimedOutError|Error/, `no agent any more: ${err.message}`);
    await other.stop();
    t.pass('stop() twice is harmless');
  });
});

void t.test('namespace with veth pairs: a big real ifXTable over the uplink', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  if (!requireNetns(t)) return;
  const name = `cw-infra-${process.pid}`;
  const pairs = 50;

  // A leftover from a crashed run must not get in the way.
  const leftover = await createVethNamespace(name, 1);
  const ns = await createVethNamespace(name, pairs);
  t.teardown(async () => {
    await ns.destroy();
    await leftover.destroy();
  });
  t.equal(ns.pairs, pairs);
  t.not(ns.hostAddress, ns.nsAddress);

  const agent = await startSnmpd({ netns: name });
  t.teardown(() => agent.stop());
  t.equal(agent.host, ns.nsAddress, 'the agent listens on the namespace end of the uplink');

  const rows = await withSession(v2cSession(agent), (s) => subtree(s, IF_NAME_OID));
  const names = new Set(rows.map((vb) => String(vb.value)));
  t.ok(rows.length >= 2 * pairs + 2, `ifXTable has ${rows.length} rows (>= ${2 * pairs + 2})`);
  for (const want of ['lo', 'cwuplink', 'cwa0', 'cwb0', `cwa${pairs - 1}`, `cwb${pairs - 1}`])
    t.ok(names.has(want), `has ${want}`);
  t.notOk(names.has(ns.hostLink), 'the host end stays outside');

  await agent.stop();
  await ns.destroy();
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  t.notOk(
    left.split('\n').some((line) => line.split(' ')[0] === name),
    'namespace gone',
  );
  t.throws(() => execFileSync('ip', ['link', 'show', ns.hostLink], { stdio: 'pipe' }), 'host end of the uplink gone');
});
