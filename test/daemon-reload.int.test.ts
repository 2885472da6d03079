/**
 * Reload without restart, as an operator does it: edit the file, then SIGHUP or the admin API.
 * The daemon runs from the compiled CLI with the simulator on, plus one real snmpd added and removed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { spawnCellwatch, waitReady } from './helpers/cellwatch.js';
import { SNMPD_INSTALL_HINT, startSnmpd } from './helpers/snmpd.js';
import { eventually, freePort, makeTempDir, requireService, waitFor } from './helpers/service.js';

const ADMIN = 'admin-token-for-reload-test';
const VIEWER = 'viewer-token-for-reload-test';

interface Target {
  target: string;
  state: string;
  lastSuccess?: number;
  rows?: number;
}

void t.test('SIGHUP and POST /admin/reload apply a changed target list; a broken file changes nothing', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const snmpd = await startSnmpd();
  t.teardown(() => snmpd.stop());
  const dir = await makeTempDir('cellwatch-reload-');
  const port = await freePort('tcp');
  const file = join(dir, 'cellwatch.yaml');
  const base = {
    http: { listen: `127.0.0.1:${port}` },
    auth: {
      tokens: [
        { name: 'ops', role: 'admin', token: ADMIN },
        { name: 'wall', role: 'viewer', token: VIEWER },
      ],
    },
    dataDir: join(dir, 'data'),
    sim: { enabled: true, regions: 1, sites: 2, rate: 600, seed: 3 },
    log: { format: 'json' },
  };
  const realTarget = {
    name: 'bh-real',
    host: snmpd.host,
    port: snmpd.port,
    version: '2c',
    community: snmpd.community,
    profile: 'if-mib',
    site: 'S0001',
  };
  writeFileSync(file, stringify(base));

  const daemon = spawnCellwatch(t, ['run', '--config', file]);
  const child = daemon.child;
  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${VIEWER}` } });
  const targets = async () => ((await (await get('/api/v1/collection')).json()) as { targets: Target[] }).targets;
  const byName = async () => new Map((await targets()).map((x) => [x.target, x]));

  await waitReady(url, daemon);
  await waitFor(async () => (await targets()).every((x) => x.state === 'ok'), 10_000, 'simulated targets polled');
  const before = await byName();
  t.strictSame(
    [...before.keys()].sort(),
    ['bh-S0001', 'bh-S0002', 'cells-S0001', 'cells-S0002'],
    'starts with the simulator’s targets',
  );

  // 1. SIGHUP after adding a target: it starts polling, the others keep going.
  writeFileSync(file, stringify({ ...base, snmp: { targets: [realTarget] } }));
  child.kill('SIGHUP');
  await waitFor(
    async () => (await byName()).get('bh-real')?.state === 'ok',
    10_000,
    `bh-real polled after SIGHUP (${daemon.output().slice(-1500)})`,
  );
  const added = await byName();
  t.ok((added.get('bh-real')?.rows ?? 0) >= 1, 'the real snmpd’s interfaces were read');
  // The new target can answer before a kept one's next tick comes round (a loaded CI box): wait for that tick.
  const keptPolled = await eventually(
    async () => (await byName()).get('cells-S0001')!.lastSuccess! > before.get('cells-S0001')!.lastSuccess!,
    10_000,
  );
  t.ok(keptPolled, 'kept targets kept polling');
  const links = (await (await get('/api/v1/cells/S0001-1')).json()) as { collection: Target[] };
  t.ok(
    links.collection.some((c) => c.target === 'bh-real'),
    'the new target shows in its site’s collection state',
  );

  // 2. A broken file: SIGHUP and the API both refuse it, and the running targets stay.
  writeFileSync(file, stringify({ ...base, snmp: { targets: [{ ...realTarget, community: undefined }] } }));
  child.kill('SIGHUP');
  await waitFor(
    () => /reload failed; keeping the running configuration/.test(daemon.output()),
    10_000,
    'reload failure logged',
  );
  const refused = await fetch(`${url}/api/v1/admin/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  t.equal(refused.status, 422, 'the API answers 422 to a broken file');
  t.strictSame(
    ((await refused.json()) as { problems: string[] }).problems,
    ['snmp.targets.0.community: required for SNMPv2c'],
    'with every problem as path: message',
  );
  t.ok((await byName()).has('bh-real'), 'the running target list is unchanged');
  t.notOk(daemon.output().includes(snmpd.community), 'the community string never reached the log');

  // 3. The admin API after removing the target.
  writeFileSync(file, stringify(base));
  const viewerTry = await fetch(`${url}/api/v1/admin/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VIEWER}` },
  });
  t.equal(viewerTry.status, 403, 'a viewer may not reload');
  const res = await fetch(`${url}/api/v1/admin/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  t.equal(res.status, 200);
  const body = (await res.json()) as { reloaded: { snmp: { removed: string[]; kept: string[] } } };
  t.strictSame(body.reloaded.snmp.removed, ['bh-real'], 'reports the removed target');
  t.equal(body.reloaded.snmp.kept.length, 4, 'and the kept ones');
  t.notOk((await byName()).has('bh-real'), 'the removed target is gone');

  // 4. A leaked viewer token is rotated: the old one stops working at once, no restart.
  const ROTATED = 'viewer-token-rotated-0123456789';
  writeFileSync(
    file,
    stringify({ ...base, auth: { tokens: [base.auth.tokens[0], { name: 'wall', role: 'viewer', token: ROTATED }] } }),
  );
  const rotated = await fetch(`${url}/api/v1/admin/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  t.equal(
    ((await rotated.json()) as { reloaded: { tokens: number; restartNeeded: string[] } }).reloaded.tokens,
    2,
    'the new token list is in force',
  );
  t.equal((await get('/api/v1/cells')).status, 401, 'the rotated-out token is refused');
  t.equal(
    (await fetch(`${url}/api/v1/cells`, { headers: { authorization: `Bearer ${ROTATED}` } })).status,
    200,
    'the new token works',
  );

  child.kill('SIGTERM');
  t.equal((await daemon.exited).code, 0, 'clean exit');
});
