/**
 * `npm start` as a NOC engineer meets it: the compiled `cellwatch demo` (default sites, rate and
 * scenario) with a webhook sink to a local receiver, and `cellwatch tail` piped beside it. Within a
 * minute of the start the simulator's incidents are live alerts on the stream (plain lines in the
 * pipe) and at the webhook, signed with a timestamp the receiver accepts — the demo's clock runs
 * fast, the signature's must not.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { signingKey, verifySignature } from '../alerts/sinks/webhook.js';
import { CLI, spawnCellwatch, waitReady } from './helpers/cellwatch.js';
import { eventually, freePort, makeTempDir } from './helpers/service.js';
import { webhookReceiver } from './helpers/alerts.js';

const SECRET = 'whsec_' + Buffer.from('the-demo-webhook-secret-32-bytes').toString('base64');
const MINUTE = 60_000;

void t.test('the demo shows live alerts on the stream, in tail and at a webhook within a minute', async (t) => {
  const dir = await makeTempDir('cw-alerts-demo');
  const hook = await webhookReceiver(() => ({ status: 200 }));
  t.teardown(() => hook.close());
  const config = join(dir, 'demo.yaml');
  writeFileSync(config, JSON.stringify({ alerts: { sinks: [{ kind: 'webhook', url: hook.url, secret: SECRET }] } }));
  const port = await freePort('tcp');
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const demo = spawnCellwatch(t, ['demo', '-c', config, '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'd')]);
  // The demo computes a simulated day of past before it serves (seconds; more on a loaded machine).
  await waitReady(url, demo, MINUTE);

  const tail = spawn(process.execPath, [CLI, 'tail', '--url', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void tail.kill('SIGKILL'));
  let lines = '';
  let notices = '';
  tail.stdout.on('data', (d: Buffer) => (lines += d.toString()));
  tail.stderr.on('data', (d: Buffer) => (notices += d.toString()));

  const firing = (text: string) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}[A-Z]+ +\w+ +firing /m.test(text);
  t.ok(
    await eventually(() => firing(lines) && hook.hits.length > 0, MINUTE - (Date.now() - started)),
    `a firing alert in tail and at the webhook within a minute of the start (tail: ${lines.slice(0, 300)})`,
  );
  t.match(
    notices,
    /connected to ws:\/\/127\.0\.0\.1:\d+\/api\/v1\/stream/,
    'tail says where it is connected, on stderr',
  );
  t.notMatch(lines, `${String.fromCharCode(27)}[`, 'plain lines in a pipe');

  const hit = hook.hits[0]!;
  const headers = {
    id: String(hit.headers['webhook-id']),
    timestamp: String(hit.headers['webhook-timestamp']),
    signature: String(hit.headers['webhook-signature']),
  };
  t.ok(
    verifySignature(signingKey(SECRET), headers, hit.body, Math.floor(Date.now() / 1000)),
    'the webhook is signed, its timestamp within 5 minutes of the wall clock',
  );
  const payload = JSON.parse(hit.body) as {
    version: string;
    alerts: {
      status: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      generatorURL: string;
    }[];
  };
  t.equal(payload.version, '4', 'Alertmanager’s webhook version');
  const a = payload.alerts[0]!;
  t.match(a, { status: 'firing', labels: { alertname: /\w+/, severity: /\w+/, scope: /\w+/ } });
  t.ok(a.annotations.summary && a.annotations.remediation, 'it says what is wrong and what to do');
  t.ok(a.generatorURL.startsWith(`${url}/#/`), `linked to the board (${a.generatorURL})`);

  const active = (await (await fetch(`${url}/api/v1/alerts?active=true`)).json()) as { count: number };
  t.ok(active.count > 0, `the API lists them (${active.count} active)`);
  demo.child.kill('SIGTERM');
  t.match(await demo.exited, { code: 0 }, 'the demo stops cleanly');
});
