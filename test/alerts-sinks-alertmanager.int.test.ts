/**
 * The Alertmanager sink: notices to postable alerts and the firing set's plans (golden cases in
 * test/fixtures/alerts-sinks/), Alertmanager's answers to results, the sink against a scripted HTTP
 * server (faults, auth, batches, the resend lane) with a manual clock and sleeper, then against the
 * real Debian Alertmanager 0.25 with a webhook receiver behind it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import t from 'tap';
import type { AlertNotice, Notification } from '../alerts/index.js';
import {
  AlertmanagerSink,
  FiringSet,
  MAX_BATCH,
  classifyResponse,
  labelName,
  retryAfterMs,
  toPostable,
  type AlertmanagerSinkOptions,
  type PlanVerdict,
  type PostableAlert,
  type ResendReport,
  type Sleeper,
} from '../alerts/sinks/alertmanager.js';
import { ManualClock, SystemClock, realTimers } from '../clock/index.js';
import { ALERTMANAGER_INSTALL_HINT, startAlertmanager, type GettableAlert } from './helpers/alertmanager.js';
import { AlertManager } from '../alerts/manager.js';
import { openAlertStores, silentLog, testOptions, win, windowInput } from './helpers/alerts.js';
import { eventually, freePort, makeTempDir, requireService, waitFor, type Test } from './helpers/service.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/alerts-sinks/${name}`, import.meta.url), 'utf8')) as T;

const VALIDITY = 240_000;

void t.test('notices to postable alerts (golden)', async (t) => {
  const cases = fixture<
    {
      spec: string;
      now: string;
      status: 'firing' | 'resolved';
      notice: Omit<AlertNotice, 'fingerprint' | 'status' | 'startsAt' | 'endsAt'> & {
        startsAt: string;
        endsAt?: string;
      };
      want: PostableAlert | null;
    }[]
  >('alertmanager-postable.json');
  t.ok(cases.length >= 8);
  for (const c of cases) {
    const { startsAt, endsAt, ...rest } = c.notice;
    const notice: AlertNotice = {
      ...rest,
      fingerprint: 'fp',
      status: c.status,
      startsAt: Date.parse(startsAt),
      ...(endsAt ? { endsAt: Date.parse(endsAt) } : {}),
    };
    const got = toPostable(notice, c.status, Date.parse(c.now), VALIDITY);
    t.same(got ?? null, c.want, c.spec);
    if (got) t.ok(Date.parse(got.startsAt) <= Date.parse(got.endsAt), `${c.spec}: startsAt ≤ endsAt`);
  }
});

void t.test('the firing set: what each notice means (golden)', async (t) => {
  type Step = {
    notice: {
      fp: string;
      status: 'firing' | 'resolved';
      labels: Record<string, string>;
      startsAt: number;
      endsAt?: number;
    };
    verdict: PlanVerdict;
    posts: [string, 'firing' | 'resolved', Record<string, string> | null][];
    firing: string[];
  };
  const cases = fixture<{ spec: string; now?: number; steps: Step[] }[]>('alertmanager-plans.json');
  t.ok(cases.length >= 8);
  for (const c of cases) {
    const set = new FiringSet();
    for (const [i, step] of c.steps.entries()) {
      const { fp, ...rest } = step.notice;
      const notice: AlertNotice = { ...rest, fingerprint: fp, annotations: {}, generatorURL: '' };
      const plan = set.apply(notice, c.now ?? 100_000);
      const what = `${c.spec} — step ${i + 1}`;
      t.equal(plan.verdict, step.verdict, `${what}: ${step.verdict}`);
      t.same(
        plan.posts.map((p) => [p.notice.fingerprint, p.status, p.notice.labels]),
        step.posts.map(([f, s, labels]) => [f, s, labels ?? notice.labels]),
        `${what}: posts`,
      );
      t.same(
        set
          .snapshot()
          .map((n) => n.fingerprint)
          .sort(),
        step.firing,
        `${what}: firing afterwards`,
      );
      t.equal(set.size, step.firing.length);
    }
  }
});

void t.test('label names Alertmanager accepts', async (t) => {
  const cases: [string, string, string][] = [
    ['a valid name is kept', 'alertname', 'alertname'],
    ['a dash becomes _', 'alert-name', 'alert_name'],
    ['a leading digit gets a _ prefix', '9lives', '_9lives'],
    ['dots and spaces become _', 'site.id x', 'site_id_x'],
    ['non-ASCII becomes _', 'régión', 'r_gi_n'],
    ['a leading underscore is valid', '_x', '_x'],
  ];
  for (const [spec, name, want] of cases) {
    t.equal(labelName(name), want, spec);
    t.match(labelName(name), /^[a-zA-Z_][a-zA-Z0-9_]*$/, `${spec}: valid`);
  }
});

void t.test("Alertmanager's answers: what retries and what does not", async (t) => {
  const now = Date.parse('2026-12-01T20:00:00Z');
  const cases: { spec: string; status: number; body?: string; retryAfter?: string; want: object }[] = [
    { spec: '200 is delivered', status: 200, want: { ok: true } },
    {
      spec: '400 is the content: never retried',
      status: 400,
      body: '"invalid label set"',
      want: { ok: false, retryable: false, reason: 'HTTP 400 from Alertmanager: "invalid label set"' },
    },
    { spec: '422 (schema) is not retried', status: 422, body: '{"code":601}', want: { ok: false, retryable: false } },
    {
      spec: '401 is configuration: not retried',
      status: 401,
      want: { ok: false, retryable: false, reason: 'HTTP 401 from Alertmanager' },
    },
    { spec: '404 (wrong URL) is not retried', status: 404, want: { ok: false, retryable: false } },
    {
      spec: '301 is not followed and not retried',
      status: 301,
      want: { ok: false, retryable: false, reason: /redirect/ },
    },
    { spec: '408 retries', status: 408, want: { ok: false, retryable: true } },
    {
      spec: '429 retries after Retry-After seconds',
      status: 429,
      retryAfter: '7',
      want: { ok: false, retryable: true, retryAfterMs: 7000 },
    },
    {
      spec: '503 retries after a Retry-After date',
      status: 503,
      retryAfter: 'Tue, 01 Dec 2026 20:00:30 GMT',
      want: { ok: false, retryable: true, retryAfterMs: 30_000 },
    },
    { spec: '500 retries', status: 500, body: 'x'.repeat(2000), want: { ok: false, retryable: true } },
  ];
  for (const c of cases) {
    const got = classifyResponse(c.status, c.body ?? '', c.retryAfter ?? null, now);
    t.match(got, c.want, c.spec);
    if (!got.ok) t.ok(got.reason.length < 400, `${c.spec}: the reason stays short`);
  }
  t.equal(retryAfterMs(undefined, now), undefined, 'no header');
  t.equal(retryAfterMs('soon', now), undefined, 'unreadable header');
  t.equal(retryAfterMs('Tue, 01 Dec 2026 19:00:00 GMT', now), 0, 'a date in the past: at once');
});

// ---------------------------------------------------------------------------------------------
// Against a scripted HTTP server

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: PostableAlert[];
}

type Responder = (req: IncomingMessage, res: ServerResponse) => void;

async function scriptedServer(t: Test): Promise<{
  url: string;
  requests: Recorded[];
  /** Responders for the next requests, in order; afterwards every request gets 200. */
  script: Responder[];
}> {
  const requests: Recorded[] = [];
  const script: Responder[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(text || '[]') as PostableAlert[],
      });
      const next = script.shift();
      if (next) next(req, res);
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.teardown(() => server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, script };
}

/** Sleeps that end only when the test says so. */
class ManualSleeper implements Sleeper {
  readonly calls: number[] = [];
  private pending: (() => void)[] = [];
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.calls.push(ms);
    return new Promise((resolve) => {
      this.pending.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  /** Ends every pending sleep; returns how many there were. */
  wake(): number {
    const woken = this.pending.splice(0);
    for (const resolve of woken) resolve();
    return woken.length;
  }
}

const T0 = Date.parse('2026-12-01T20:00:00Z');

function notice(fp: string, status: 'firing' | 'resolved' = 'firing', extra: Partial<AlertNotice> = {}): AlertNotice {
  return {
    fingerprint: fp,
    status,
    labels: {
      alertname: 'cell_degraded',
      severity: 'major',
      scope: 'cell',
      cell: `cell-${fp}`,
      region: 'R1',
      cause: 'coverage',
    },
    annotations: { summary: `weak coverage on cell-${fp}`, remediation: 'Check tilt and power.', usersAffected: '17' },
    startsAt: T0 - 10 * 60_000,
    ...(status === 'resolved' ? { endsAt: T0 - 60_000 } : {}),
    generatorURL: `http://127.0.0.1:8080/#/alerts/${fp}`,
    ...extra,
  };
}

function notification(alerts: AlertNotice[]): Notification {
  return {
    groupKey: 'g',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'am',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:8080',
    alerts,
    truncatedAlerts: 0,
  };
}

const signal = new AbortController().signal;

function sinkFor(t: Test, opts: Partial<AlertmanagerSinkOptions> & Pick<AlertmanagerSinkOptions, 'url'>) {
  const sleeper = new ManualSleeper();
  const clock = new ManualClock(T0);
  const sink = new AlertmanagerSink({ clock, timers: sleeper, resendIntervalMs: 60_000, timeoutMs: 2000, ...opts });
  t.teardown(() => sink.close());
  return { sink, sleeper, clock };
}

void t.test('the sink over HTTP: the request, auth, faults', async (t) => {
  const am = await scriptedServer(t);

  await t.test('posts a JSON array to <url>/api/v2/alerts, route prefix kept, bearer token sent', async (t) => {
    const { sink } = sinkFor(t, { url: `${am.url}/am/`, bearerToken: 'tok-123456' });
    t.same(await sink.notify(notification([notice('a'), notice('b')]), signal), { ok: true });
    const req = am.requests.at(-1);
    t.equal(req?.method, 'POST');
    t.equal(req?.url, '/am/api/v2/alerts');
    t.equal(req?.headers['content-type'], 'application/json');
    t.equal(req?.headers.authorization, 'Bearer tok-123456');
    t.same(
      req?.body.map((a) => a.labels.cell),
      ['cell-a', 'cell-b'],
    );
    t.equal(req?.body[0]?.endsAt, new Date(T0 + VALIDITY).toISOString(), 'endsAt = now + 4 × resendInterval');
    t.equal(sink.firing, 2);
  });

  await t.test('user:password in the URL becomes basic auth and never shows', async (t) => {
    const { sink } = sinkFor(t, { url: am.url.replace('http://', 'http://noc:p%40ss-w0rd@') });
    t.same(await sink.notify(notification([notice('a')]), signal), { ok: true });
    t.equal(am.requests.at(-1)?.headers.authorization, `Basic ${Buffer.from('noc:p@ss-w0rd').toString('base64')}`);
    for (const shown of [sink.name, inspect(sink, { depth: 6, showHidden: true }), JSON.stringify(sink)]) {
      t.notMatch(shown, 'p@ss-w0rd', 'the password never shows');
      t.notMatch(shown, 'p%40ss-w0rd');
    }
  });

  await t.test('basic auth from options; secrets stay out of inspect and reasons', async (t) => {
    const { sink } = sinkFor(t, { url: am.url, basicAuth: { username: 'u', password: 'hunter2-secret' } });
    am.script.push((_req, res) => res.writeHead(401).end('unauthorized'));
    const r = await sink.notify(notification([notice('a')]), signal);
    t.match(r, { ok: false, retryable: false, reason: /401/ });
    t.notMatch(JSON.stringify(r), 'hunter2-secret');
    t.notMatch(inspect(sink, { depth: 6, showHidden: true }), 'hunter2-secret');
    t.throws(
      () =>
        new AlertmanagerSink({
          url: am.url,
          basicAuth: { username: 'u', password: 'p' },
          bearerToken: 't',
          clock: new ManualClock(0),
          timers: new ManualSleeper(),
        }),
      /exclude each other/,
    );
    t.throws(
      () => new AlertmanagerSink({ url: 'ftp://x', clock: new ManualClock(0), timers: new ManualSleeper() }),
      /http/,
    );
  });

  await t.test('faults: 503 with Retry-After, 429, 400, a redirect, a hang, abort, a closed port', async (t) => {
    const { sink } = sinkFor(t, { url: am.url, timeoutMs: 300 });
    const n = notification([notice('a')]);
    am.script.push((_req, res) => res.writeHead(503, { 'retry-after': '12' }).end('overloaded'));
    t.match(await sink.notify(n, signal), {
      ok: false,
      retryable: true,
      retryAfterMs: 12_000,
      reason: /503.*overloaded/,
    });
    am.script.push((_req, res) => res.writeHead(429).end());
    t.match(await sink.notify(n, signal), { ok: false, retryable: true, reason: /429/ });
    am.script.push((_req, res) => res.writeHead(400).end('"start time must be before end time"'));
    t.match(await sink.notify(n, signal), { ok: false, retryable: false, reason: /400.*start time/ });
    am.script.push((_req, res) => res.writeHead(307, { location: 'http://elsewhere.example/' }).end());
    t.match(await sink.notify(n, signal), { ok: false, retryable: false, reason: /307.*redirect/ });
    const before = am.requests.length;
    am.script.push(() => undefined); // never answers
    t.match(await sink.notify(n, signal), { ok: false, retryable: true, reason: 'Alertmanager timeout after 300 ms' });
    t.equal(am.requests.length, before + 1, 'the redirect was not followed, the hang was one request');
    am.script.push(() => undefined);
    const ac = new AbortController();
    const pending = sink.notify(n, ac.signal);
    await waitFor(() => am.requests.length === before + 2, 2000, 'the request to arrive');
    ac.abort();
    t.same(await pending, { ok: false, retryable: true, reason: 'aborted' }, 'the caller aborting ends the request');
    const closed = await freePort('tcp');
    const { sink: nowhere } = sinkFor(t, { url: `http://127.0.0.1:${closed}` });
    t.match(await nowhere.notify(n, signal), { ok: false, retryable: true, reason: /unreachable \(ECONNREFUSED\)/ });
  });

  await t.test(`big sets go in batches of ${MAX_BATCH} (here 2)`, async (t) => {
    const { sink } = sinkFor(t, { url: am.url, maxBatch: 2 });
    const before = am.requests.length;
    t.same(await sink.notify(notification(['1', '2', '3', '4', '5'].map((f) => notice(f))), signal), { ok: true });
    t.same(
      am.requests.slice(before).map((r) => r.body.length),
      [2, 2, 1],
    );
    am.script.push(
      (_req, res) => res.writeHead(200).end(),
      (_req, res) => res.writeHead(500).end(),
    );
    const report = await sink.resendNow();
    t.match(
      report,
      { alerts: 4, result: { ok: false, retryable: true } },
      'a failing batch fails the resend (4 alerts tried)',
    );
    t.equal(am.requests.length, before + 5, 'and stops it: the third batch was not sent');
  });

  await t.test('an alert with no labels left is refused, the others still go', async (t) => {
    const { sink } = sinkFor(t, { url: am.url });
    const before = am.requests.length;
    const r = await sink.notify(
      notification([notice('ok'), notice('bare', 'firing', { labels: { alertname: '' } })]),
      signal,
    );
    t.match(r, { ok: false, retryable: false, reason: /without labels.*bare/ });
    t.same(
      am.requests.slice(before).flatMap((q) => q.body.map((a) => a.labels.cell)),
      ['cell-ok'],
    );
  });
});

void t.test('the resend loop and the lane (manual clock and sleeper)', async (t) => {
  const am = await scriptedServer(t);
  const reports: ResendReport[] = [];
  const { sink, sleeper, clock } = sinkFor(t, { url: am.url, onResend: (r) => reports.push(r) });

  t.same(sleeper.calls, [60_000], 'the loop sleeps one resend interval');
  t.equal(sleeper.wake(), 1);
  await waitFor(() => sleeper.calls.length === 2, 2000, 'the next sleep');
  t.equal(am.requests.length, 0, 'nothing firing: nothing posted');

  t.same(await sink.notify(notification([notice('a'), notice('b')]), signal), { ok: true });
  clock.advance(60_000);
  sleeper.wake();
  await waitFor(() => reports.length === 1, 2000, 'a resend');
  const resend = am.requests.at(-1);
  t.same(
    resend?.body.map((a) => a.labels.cell),
    ['cell-a', 'cell-b'],
    'every firing alert re-posted',
  );
  t.equal(resend?.body[0]?.endsAt, new Date(clock.now() + VALIDITY).toISOString(), 'with a fresh endsAt');
  t.match(reports[0], { at: clock.now(), alerts: 2, result: { ok: true } });

  // The lane: a resend in flight, then a resolve. The resolve waits its turn; the next resend
  // leaves the resolved alert out — a resend never re-fires what was resolved before it.
  let release: (() => void) | undefined;
  am.script.push((_req, res) => {
    release = () => res.writeHead(200).end();
  });
  const inFlight = sink.resendNow();
  await waitFor(() => release !== undefined, 2000, 'the resend to arrive');
  const resolving = sink.notify(notification([notice('a', 'resolved')]), signal);
  const count = am.requests.length;
  t.notOk(await eventually(() => am.requests.length > count, 200), 'the resolve waits for the resend in flight');
  release?.();
  t.match(await inFlight, { result: { ok: true } });
  t.same(await resolving, { ok: true });
  t.equal(am.requests.at(-1)?.body[0]?.endsAt, new Date(T0 - 60_000).toISOString(), 'the resolve posted its endsAt');
  t.same((await sink.resendNow()).result, { ok: true });
  t.same(
    am.requests.at(-1)?.body.map((a) => a.labels.cell),
    ['cell-b'],
    'the next resend leaves the resolved alert out',
  );

  sink.seed([notice('restored'), notice('gone', 'resolved')]);
  t.equal(sink.firing, 2, 'seeding adds the firing alerts only');
  await sink.resendNow();
  t.same(
    am.requests.at(-1)?.body.map((a) => a.labels.cell),
    ['cell-b', 'cell-restored'],
  );

  const sleeps = sleeper.calls.length;
  await sink.close();
  t.equal(sleeper.calls.length, sleeps, 'close ends the loop without another sleep');
  t.same(await sink.notify(notification([notice('late')]), signal), {
    ok: false,
    retryable: false,
    reason: 'sink closed',
  });
});

void t.test('a broken timer stops the resends and says so instead of spinning', async (t) => {
  const reports: ResendReport[] = [];
  let sleeps = 0;
  const sink = new AlertmanagerSink({
    url: 'http://127.0.0.1:9',
    clock: new ManualClock(T0),
    timers: {
      sleep: async () => {
        sleeps++;
        throw new Error('no timers here');
      },
    },
    onResend: (r) => reports.push(r),
  });
  await waitFor(() => reports.length === 1, 2000, 'the report');
  await sink.close();
  t.equal(sleeps, 1, 'one failed sleep, no second try');
  t.match(reports[0], {
    alerts: 0,
    result: { ok: false, retryable: false, reason: /resends stopped: no timers here/ },
  });
});

void t.test('a long resend yields the lane between batches', async (t) => {
  const am = await scriptedServer(t);
  const { sink } = sinkFor(t, { url: am.url, maxBatch: 1 });
  t.same(await sink.notify(notification([notice('a'), notice('b'), notice('c')]), signal), { ok: true });
  const before = am.requests.length;
  let release: (() => void) | undefined;
  am.script.push((_req, res) => {
    release = () => res.writeHead(200).end();
  });
  const resend = sink.resendNow();
  await waitFor(() => release !== undefined, 2000, 'the first batch to arrive');
  const resolving = sink.notify(notification([notice('c', 'resolved')]), signal);
  release?.();
  t.same(await resolving, { ok: true });
  t.match(await resend, { alerts: 2, result: { ok: true } }, 'the resend posted the two alerts still firing');
  t.same(
    am.requests
      .slice(before)
      .map((r) => r.body.map((a) => `${a.labels.cell}:${Date.parse(a.endsAt) > T0 ? 'firing' : 'resolved'}`)),
    [['cell-a:firing'], ['cell-c:resolved'], ['cell-b:firing']],
    'the resolve went between two batches, and the batch after it left cell-c out',
  );
});

// ---------------------------------------------------------------------------------------------
// Against the real Alertmanager

interface WebhookPayload {
  version: string;
  status: 'firing' | 'resolved';
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    generatorURL: string;
  }[];
}

void t.test('real Alertmanager 0.25: post, read back, resolve, webhook, outage and recovery', async (t) => {
  if (!requireService(t, 'prometheus-alertmanager', ALERTMANAGER_INSTALL_HINT)) return;
  const hooks: WebhookPayload[] = [];
  const receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      hooks.push(JSON.parse(text) as WebhookPayload);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const am = await startAlertmanager({ webhookUrl: hookUrl });
  t.teardown(() => am.stop());

  const clock = new SystemClock();
  const sleeper = new ManualSleeper();
  const reports: ResendReport[] = [];
  const sink = new AlertmanagerSink({
    url: am.url,
    clock,
    timers: sleeper,
    timeoutMs: 2000,
    onResend: (r) => reports.push(r),
  });
  t.teardown(() => sink.close());
  const now = clock.now();
  const at = (fp: string, status: 'firing' | 'resolved' = 'firing', extra: Partial<AlertNotice> = {}) =>
    notice(fp, status, {
      startsAt: now - 5 * 60_000,
      ...(status === 'resolved' ? { endsAt: clock.now() } : {}),
      ...extra,
    });
  const byCell = (alerts: GettableAlert[], cell: string) => alerts.find((a) => a.labels.cell === cell);
  const hooked = (status: string, cell: string, labels: Record<string, string> = {}) =>
    hooks.some(
      (h) =>
        h.version === '4' &&
        h.alerts.some(
          (a) =>
            a.status === status &&
            a.labels.cell === cell &&
            Object.entries(labels).every(([k, v]) => a.labels[k] === v),
        ),
    );

  await t.test('posted alerts are active with their labels, annotations and endsAt', async (t) => {
    t.same(await sink.notify(notification([at('a'), at('b')]), signal), { ok: true });
    const alerts = await am.alerts();
    const a = byCell(alerts, 'cell-a');
    t.equal(alerts.length, 2);
    t.equal(a?.status.state, 'active');
    t.same(a?.labels, at('a').labels, 'labels as posted');
    t.same(a?.annotations, at('a').annotations, 'annotations as posted');
    t.equal(a?.generatorURL, at('a').generatorURL);
    t.equal(Date.parse(a?.startsAt ?? ''), now - 5 * 60_000, 'startsAt as posted');
    const endsIn = Date.parse(a?.endsAt ?? '') - clock.now();
    t.ok(endsIn > VALIDITY - 10_000 && endsIn <= VALIDITY, `endsAt ≈ now + 4 min (${endsIn} ms)`);
    t.ok(
      await eventually(() => hooked('firing', 'cell-a') && hooked('firing', 'cell-b'), 10_000),
      'the webhook behind it was notified',
    );
  });

  await t.test('a resolve takes the alert out at once and is notified as resolved', async (t) => {
    t.same(await sink.notify(notification([at('a', 'resolved')]), signal), { ok: true });
    const alerts = await am.alerts();
    t.notOk(byCell(alerts, 'cell-a'), 'cell-a is no longer active');
    t.ok(byCell(alerts, 'cell-b'), 'cell-b still is');
    t.ok(await eventually(() => hooked('resolved', 'cell-a'), 10_000), 'the webhook got the resolve');
  });

  await t.test('a severity change resolves the old label set and fires the new one', async (t) => {
    const critical = at('b', 'firing', { labels: { ...at('b').labels, severity: 'critical' } });
    t.same(await sink.notify(notification([critical]), signal), { ok: true });
    const alerts = (await am.alerts()).filter((a) => a.labels.cell === 'cell-b');
    t.same(
      alerts.map((a) => a.labels.severity),
      ['critical'],
      'Alertmanager holds only the new label set',
    );
    t.ok(
      await eventually(() => hooked('resolved', 'cell-b', { severity: 'major' }), 10_000),
      'the old one was resolved',
    );
    t.ok(await eventually(() => hooked('firing', 'cell-b', { severity: 'critical' }), 10_000), 'the new one fired');
  });

  await t.test('Alertmanager down: retryable; back up: the resend restores what fires', async (t) => {
    await am.stop({ keepDir: true });
    const down = await sink.notify(notification([at('c')]), signal);
    t.match(
      down,
      { ok: false, retryable: true, reason: /unreachable/ },
      'a post to a stopped Alertmanager is retryable',
    );
    sleeper.wake();
    await waitFor(() => reports.length === 1, 5000, 'a resend while down');
    t.match(
      reports[0],
      { alerts: 2, result: { ok: false, retryable: true } },
      'the resend while down failed, retryably',
    );

    await am.restart();
    t.same(await am.alerts(), [], 'a restarted Alertmanager holds no alerts (it does not persist them)');
    await waitFor(() => sleeper.calls.length >= 2, 2000, 'the next sleep');
    sleeper.wake();
    await waitFor(() => reports.length === 2, 5000, 'a resend after the restart');
    t.match(reports[1], { alerts: 2, result: { ok: true } });
    const alerts = await am.alerts();
    t.same(
      alerts.map((a) => `${a.labels.cell}/${a.labels.severity}`).sort(),
      ['cell-b/critical', 'cell-c/major'],
      'the re-post landed: both firing alerts are back, the one posted during the outage included',
    );
    t.ok(alerts.every((a) => a.status.state === 'active'));
  });

  await t.test('what Alertmanager would refuse is made acceptable before posting', async (t) => {
    const odd = at('d', 'firing', {
      labels: { alertname: 'cell_degraded', cell: 'cell-d', 'site.id': 'S9', empty: '' },
      annotations: { 'board url': 'x' },
      startsAt: clock.now() + 3_600_000,
      generatorURL: 'not a url',
    });
    t.same(await sink.notify(notification([odd]), signal), { ok: true }, 'Alertmanager answered 200');
    const d = byCell(await am.alerts(), 'cell-d');
    t.same(d?.labels, { alertname: 'cell_degraded', cell: 'cell-d', site_id: 'S9' });
    t.same(d?.annotations, { board_url: 'x' });
    t.ok(Date.parse(d?.startsAt ?? '') <= clock.now(), 'a startsAt ahead of the wall clock was clamped');
  });
});

void t.test('a cellwatch restart: what Alertmanager holds keeps being re-posted, not left to expire', async (t) => {
  if (!requireService(t, 'prometheus-alertmanager', ALERTMANAGER_INSTALL_HINT)) return;
  const am = await startAlertmanager();
  t.teardown(() => am.stop());
  const dir = await makeTempDir('cw-am-restart');
  const clock = new SystemClock();
  // endsAt is 4 × resendInterval ahead: 2 s. A sink that forgot its alerts would let them expire.
  const start = () => {
    const opened = openAlertStores(dir);
    const sink = new AlertmanagerSink({ name: 'am', url: am.url, clock, timers: realTimers, resendIntervalMs: 500 });
    const manager = AlertManager.open({
      clock,
      timers: realTimers,
      sinks: [sink],
      stores: opened.stores,
      options: testOptions(),
      log: silentLog,
    });
    return { opened, sink, manager };
  };
  const first = start();
  const w = win('R1', { start: clock.now() - 60_000, region: 'north' });
  first.manager.handle(windowInput('opened', w));
  await first.manager.idle();
  t.ok(await eventually(async () => (await am.alerts()).some((a) => a.labels.cell === 'R1'), 5000), 'posted');
  await first.manager.close();
  first.opened.db.close();

  const second = start();
  t.teardown(async () => {
    await second.manager.close();
    second.opened.db.close();
  });
  t.equal(second.sink.firing, 1, 'the new sink knows what Alertmanager was told is firing');
  second.manager.reconcile([windowInput('opened', w)]);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const held = (await am.alerts()).filter((a) => a.labels.cell === 'R1');
  t.match(held, [{ status: { state: 'active' } }], 'still active at Alertmanager past the first endsAt');
  t.ok(Date.parse(held[0]?.endsAt ?? '') > clock.now(), 'its endsAt moved on: re-posted after the restart');
});
