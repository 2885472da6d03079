/**
 * Acceptance tests in Alertmanager's style (its test/with_api_v2): a script of inputs at relative
 * times goes in, the expected notifications must arrive at the sinks within time windows (`At(t)`,
 * `Between(t1, t2)`, seconds from the start), and nothing else may arrive. Time is a ManualClock; the
 * sinks are RecordingNotifiers; the record store is a real SQLite file (the restart case reopens it).
 */
import t from 'tap';
import type { AlertInput } from '../alerts/rules.js';
import type { Notification } from '../alerts/index.js';
import { makeTempDir, type Test } from './helpers/service.js';
import {
  cells,
  harness,
  inventoryOf,
  ManualTimers,
  win,
  windowInput,
  type Harness,
  type RecordingNotifier,
} from './helpers/alerts.js';

type Window2 = [number, number];
const At = (s: number): Window2 => [s, s + 0.5];
const Between = (a: number, b: number): Window2 => [a, b];

interface AlertWant {
  alertname: string;
  status: 'firing' | 'resolved';
  labels?: Record<string, string>;
  annotations?: Record<string, RegExp>;
}

interface Want {
  window: Window2;
  sink?: string;
  status: 'firing' | 'resolved';
  alerts: AlertWant[];
}

const Alert = (
  alertname: string,
  status: 'firing' | 'resolved' = 'firing',
  more: Partial<AlertWant> = {},
): AlertWant => ({
  alertname,
  status,
  ...more,
});

class Script {
  private readonly events: { at: number; run: (h: Harness) => void | Promise<void> }[] = [];
  private readonly wants: Want[] = [];

  at(s: number, run: (h: Harness) => void | Promise<void>): this {
    this.events.push({ at: s, run });
    return this;
  }

  /** Inputs handled at `s` seconds. */
  push(s: number, ...inputs: AlertInput[]): this {
    return this.at(s, (h) => {
      h.manager.handle(inputs);
    });
  }

  want(window: Window2, status: 'firing' | 'resolved', ...alerts: AlertWant[]): this {
    this.wants.push({ window, status, alerts });
    return this;
  }

  wantAt(sink: string, window: Window2, status: 'firing' | 'resolved', ...alerts: AlertWant[]): this {
    this.wants.push({ window, sink, status, alerts });
    return this;
  }

  async run(h: Harness, untilS: number): Promise<void> {
    const t0 = h.clock.now();
    h.manager.start();
    const events = [...this.events].sort((a, b) => a.at - b.at);
    for (const e of events) {
      await h.timers.advanceTo(t0 + e.at * 1000);
      await e.run(h);
    }
    await h.timers.advanceTo(t0 + untilS * 1000);
    await h.manager.idle();
  }

  check(t: Test, h: Harness, t0: number): void {
    for (const sink of h.sinks) {
      const got = sink.delivered.map((r) => ({ at: (r.at - t0) / 1000, n: r.n, used: false }));
      const wants = this.wants.filter((w) => (w.sink ?? h.sinks[0]!.name) === sink.name);
      for (const w of wants) {
        const hit = got.find((g) => !g.used && matches(g.at, g.n, w));
        if (hit) hit.used = true;
        t.ok(hit, `${sink.name}: ${describeWant(w)}`, hit ? {} : { received: got.map((g) => describe(g.at, g.n)) });
      }
      const unexpected = got.filter((g) => !g.used);
      t.same(
        unexpected.map((g) => describe(g.at, g.n)),
        [],
        `${sink.name}: no unexpected notifications`,
      );
    }
  }
}

function matches(at: number, n: Notification, w: Want): boolean {
  if (at < w.window[0] - 1e-9 || at > w.window[1] + 1e-9) return false;
  if (n.status !== w.status || n.alerts.length !== w.alerts.length) return false;
  const left = [...w.alerts];
  for (const a of n.alerts) {
    const i = left.findIndex(
      (x) =>
        x.alertname === a.labels.alertname &&
        x.status === a.status &&
        Object.entries(x.labels ?? {}).every(([k, v]) => a.labels[k] === v) &&
        Object.entries(x.annotations ?? {}).every(([k, re]) => re.test(a.annotations[k] ?? '')),
    );
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

const describe = (at: number, n: Notification) =>
  `${at.toFixed(1)}s ${n.status} [${n.alerts.map((a) => `${a.labels.alertname}${a.labels.cell ? `(${a.labels.cell})` : ''}:${a.status}`).join(', ')}]`;
const describeWant = (w: Want) =>
  `${w.window[0]}–${w.window[1]}s ${w.status} [${w.alerts.map((a) => `${a.alertname}:${a.status}`).join(', ')}]`;

async function play(t: Test, h: Harness, s: Script, untilS: number, after?: (h: Harness) => void): Promise<void> {
  const t0 = h.clock.now();
  await s.run(h, untilS);
  s.check(t, h, t0);
  after?.(h);
  await h.manager.close();
  h.opened.db.close();
}

const MIN = 60;

// ---------------------------------------------------------------------------------------------

void t.test('flapping input: notifications are held while the cell flaps, then its real state is sent', async (t) => {
  const h = harness(await makeTempDir('cw-alerts-flap'), {
    alerts: {
      kinds: { cell_degraded: { holdDown: '1m' } },
      flapping: { sampleInterval: '1m' },
      grouping: { groupInterval: '10s' },
    },
  });
  const s = new Script();
  // The window opens and closes every 2 minutes from 0 to 14 min, then stays closed.
  for (let m = 0; m <= 14; m += 2) {
    const w = win('C1', { start: h.clock.now() + m * 60_000, region: 'north' });
    s.push(m * MIN, windowInput(m % 4 === 0 ? 'opened' : 'closed', { ...w, id: `w-C1-${Math.floor(m / 4)}` }));
  }
  s.want(At(0), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'C1', severity: 'major' } }))
    .want(At(3 * MIN), 'resolved', Alert('cell_degraded', 'resolved'))
    .want(At(4 * MIN), 'firing', Alert('cell_degraded'))
    .want(At(6 * MIN), 'firing', Alert('cell_degraded', 'firing', { annotations: { flapping: /flapping/ } }))
    .want(Between(30 * MIN, 40 * MIN), 'resolved', Alert('cell_degraded', 'resolved'));
  await play(t, h, s, 45 * MIN, (h) => {
    const tracked = h.manager.list({ kind: 'cell_degraded' });
    t.ok(tracked.length >= 4, `every episode is in the history (${tracked.length})`);
  });
});

void t.test('a site outage with twelve cells is one incident notification; its cells are inhibited', async (t) => {
  const site = cells('S0001', 12);
  const h = harness(await makeTempDir('cw-alerts-outage'), { inventory: inventoryOf(site, cells('S0002', 3)) });
  const t0 = h.clock.now();
  const s = new Script();
  // The cells' windows arrive one by one over 4 s (the detector's events of one poll, or of two).
  site.forEach((c, i) =>
    s.push(i * 0.3, windowInput('opened', win(c.id, { cause: 'outage', start: t0 - 120_000, usersAffected: 100 }))),
  );
  // An unrelated congested cell on another site is its own notification.
  s.push(2, windowInput('opened', win('S0002-1', { start: t0 })));
  site.forEach((c) => s.push(20 * MIN, windowInput('closed', win(c.id, { cause: 'outage', start: t0 - 120_000 }))));
  s.want(
    Between(10, 11),
    'firing',
    Alert('site_outage', 'firing', {
      labels: { site: 'S0001', incident: 'S0001', severity: 'critical' },
      annotations: { cellCount: /^12$/, summary: /12 of 12 cells/ },
    }),
  )
    .want(At(2), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'S0002-1' } }))
    .want(At(25 * MIN), 'resolved', Alert('site_outage', 'resolved'));
  await play(t, h, s, 30 * MIN);
});

void t.test('a backhaul failure: one incident; its cells and the blind collector are inhibited', async (t) => {
  const site = cells('S0007', 3, 'south');
  const h = harness(await makeTempDir('cw-alerts-backhaul'), { inventory: inventoryOf(site) });
  const t0 = h.clock.now();
  const ids = site.map((c) => c.id);
  const gap = (s: number) =>
    ({ type: 'gap', gap: { target: 'site-0007', cells: ids, ts: t0 + s * 1000, reason: 'timeout' } }) as AlertInput;
  const s = new Script()
    .push(0, gap(0))
    .push(60, gap(60))
    .push(61, ...site.map((c) => windowInput('opened', win(c.id, { cause: 'backhaul', start: t0 }))))
    .push(120, gap(120))
    .push(10 * MIN, { type: 'collected', target: 'site-0007', ts: t0 + 600_000 })
    .push(11 * MIN, ...site.map((c) => windowInput('closed', win(c.id, { cause: 'backhaul', start: t0 }))));
  // The collection gap fires alone first (the site is not known to be down yet) …
  s.want(
    At(60),
    'firing',
    Alert('collection_gap', 'firing', {
      labels: { target: 'site-0007', site: 'S0007' },
      annotations: { summary: /not known to be down/ },
    }),
  )
    // … its resolution is sent when the target answers, the incident goes out on its own.
    .want(
      Between(71, 72),
      'firing',
      Alert('backhaul_down', 'firing', {
        labels: { incident: 'S0007', cause: 'backhaul' },
        annotations: { summary: /link bh-1:2/ },
      }),
    )
    .want(At(10 * MIN), 'resolved', Alert('collection_gap', 'resolved'))
    .want(At(16 * MIN), 'resolved', Alert('backhaul_down', 'resolved'));
  await play(t, h, s, 20 * MIN);
});

void t.test('a silence mutes matching alerts until it expires; the others go out', async (t) => {
  const h = harness(await makeTempDir('cw-alerts-silence'));
  const t0 = h.clock.now();
  const s = new Script()
    .at(0, (h) => {
      const r = h.manager.createSilence({
        matchers: [{ name: 'region', op: '=~', value: 'north|east' }],
        endsAt: t0 + 30 * 60_000,
        createdBy: 'noc-anna',
        comment: 'planned work in north',
      });
      if (!r.ok) throw new Error(r.problems.join('; '));
    })
    .push(
      60,
      windowInput('opened', win('N1', { region: 'north', start: t0 })),
      windowInput('opened', win('S1', { region: 'south', start: t0 })),
    )
    .push(5 * MIN, windowInput('opened', win('E1', { region: 'east', start: t0 })))
    .at(10 * MIN, (h) => {
      const [silence] = h.manager.listSilences();
      t.equal(silence?.status, 'active', 'the silence is active');
      t.equal(
        h.manager.active().find((a) => a.cell === 'N1')?.silencedBy?.[0],
        silence?.id,
        'the board says why N1 is quiet',
      );
    })
    .at(20 * MIN, (h) => {
      t.ok(h.manager.expireSilence('silence-1'), 'expired early');
    });
  s.want(At(60), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'S1' } }))
    .want(Between(20 * MIN, 20 * MIN + 1), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'N1' } }))
    .want(Between(20 * MIN, 20 * MIN + 1), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'E1' } }));
  await play(t, h, s, 25 * MIN);
});

void t.test('an ack mutes repeats until the alert escalates; an unacked one repeats', async (t) => {
  const h = harness(await makeTempDir('cw-alerts-ack'), { alerts: { grouping: { repeatInterval: '1h' } } });
  const t0 = h.clock.now();
  const a = win('A1', { start: t0, usersAffected: 10 });
  const s = new Script()
    .push(0, windowInput('opened', a), windowInput('opened', win('B1', { start: t0 })))
    .at(10 * MIN, (h) => {
      const view = h.manager.active().find((x) => x.cell === 'A1')!;
      const r = h.manager.ack(view.id, 'noc-bo', 'looking at it');
      t.ok(r.ok, 'acked');
      t.same(h.manager.ack('nope', 'x', 'y'), { ok: false, reason: 'not-found' }, 'unknown alert');
    })
    .push(90 * MIN, windowInput('changed', { ...a, usersAffected: 500, severity: 0.9 }));
  s.want(At(0), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'A1', severity: 'minor' } }))
    .want(At(0), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'B1' } }))
    .want(At(60 * MIN), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'B1' } }))
    .want(At(90 * MIN), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'A1', severity: 'critical' } }))
    .want(At(120 * MIN), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'B1' } }));
  await play(t, h, s, 125 * MIN, (h) => {
    const detail = h.manager.get(h.manager.list({ kind: 'cell_degraded' }).find((x) => x.cell === 'A1')!.id)!;
    t.same(
      detail.transitions.map((x) => x.type),
      ['pending', 'firing', 'acked', 'escalated', 'ack-cleared'],
      'the history tells the story',
    );
    t.equal(detail.acks[0]?.by, 'noc-bo', 'the ack is kept with who and why');
  });
});

void t.test('a restart in the middle: nothing is re-sent, a resolution during the downtime is sent', async (t) => {
  const dir = await makeTempDir('cw-alerts-restart');
  const first = harness(dir);
  const t0 = first.clock.now();
  const x = win('X1', { start: t0 });
  const y = win('Y1', { start: t0 });
  const s1 = new Script().push(0, windowInput('opened', x), windowInput('opened', y));
  s1.want(At(0), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'X1' } })).want(
    At(0),
    'firing',
    Alert('cell_degraded', 'firing', { labels: { cell: 'Y1' } }),
  );
  // The first process dies at 5 minutes without a clean stop (nothing closed: a kill -9 as far as the
  // record store can tell); down until 10 minutes, while Y1's window closed. The new process reopens
  // the same file.
  await s1.run(first, 5 * MIN);
  s1.check(t, first, t0);
  first.clock.set(t0 + 10 * MIN * 1000);
  const second = harness(dir, { clock: first.clock, timers: new ManualTimers(first.clock) });
  t.equal(second.manager.active().length, 2, 'both alerts resumed from SQLite');
  t.same(
    second.sinks[0]!.resumed.map((firing) => firing.map((a) => a.labels.cell).sort()),
    [['X1', 'Y1']],
    'a sink that keeps state (Alertmanager re-posts) is told what it was last sent as firing',
  );
  const s2 = new Script().at(0, (h) => {
    h.manager.reconcile([windowInput('opened', x)]);
  });
  s2.want(At(0), 'resolved', Alert('cell_degraded', 'resolved', { labels: { cell: 'Y1' } }));
  await play(t, second, s2, 10 * MIN, (h) => {
    const rows = h.opened.stores.alerts.list({ kind: 'cell_degraded' });
    t.equal(rows.find((a) => a.cell === 'Y1')?.state, 'resolved', 'Y1 resolved on reconcile');
    t.equal(rows.find((a) => a.cell === 'X1')?.state, 'firing', 'X1 still firing, not re-sent');
  });
});

void t.test('a restart with every kind of problem open: only what ended is sent, the rest continues', async (t) => {
  const dir = await makeTempDir('cw-alerts-restart-kinds');
  const site = cells('S0003', 2, 'east');
  const inventory = inventoryOf(site);
  const first = harness(dir, { inventory });
  const t0 = first.clock.now();
  const gap = (target: string, s: number): AlertInput => ({
    type: 'gap',
    gap: { target, cells: [site[0]!.id], ts: t0 + s * 1000, reason: 'timeout' },
  });
  const hotspot = (id: string, open = true): AlertInput => ({
    type: 'hotspot',
    hotspot: {
      id,
      kind: 'hotspot',
      cells: [site[1]!.id],
      site: 'S0003',
      region: 'east',
      complaints: 3,
      start: t0,
      open,
    },
  });
  const risk: AlertInput = {
    type: 'sla-risk',
    risk: {
      complaint: 'c-1',
      receivedAt: t0 - 70 * 3600_000,
      dueAt: t0 + 2 * 3600_000,
      region: 'east',
      category: 'network',
      channel: 'app',
    },
  };
  const deadLetters: AlertInput = {
    type: 'store',
    event: { kind: 'dead-lettered', points: 12, reason: 'field type conflict', at: t0 },
  };
  const s1 = new Script()
    .push(0, hotspot('h-1'), hotspot('h-2'), risk, deadLetters, gap('snmp-a', 0), gap('snmp-b', 0))
    .push(60, gap('snmp-a', 60), gap('snmp-b', 60), gap('snmp-gone', 0), gap('snmp-gone', 60));
  s1.want(At(0), 'firing', Alert('complaint_hotspot', 'firing', { labels: { hotspot: 'h-1' } }))
    .want(At(0), 'firing', Alert('complaint_hotspot', 'firing', { labels: { hotspot: 'h-2' } }))
    .want(At(0), 'firing', Alert('complaint_sla_risk', 'firing', { labels: { region: 'east' } }))
    .want(At(0), 'firing', Alert('store_backlog', 'firing', { labels: { problem: 'dead-letter' } }))
    .want(At(60), 'firing', Alert('collection_gap', 'firing', { labels: { target: 'snmp-a' } }))
    .want(At(60), 'firing', Alert('collection_gap', 'firing', { labels: { target: 'snmp-b' } }))
    .want(At(60), 'firing', Alert('collection_gap', 'firing', { labels: { target: 'snmp-gone' } }));
  await s1.run(first, 2 * MIN);
  s1.check(t, first, t0);
  // Killed at 2 min, back at 5 min. Meanwhile hot spot h-2 closed; the others still hold, and what the
  // daemon can state at start (hot spots, complaints at risk) it re-asserts. Whether a target answers
  // it cannot know before polling it; points refused before the stop are not known to have stopped.
  first.clock.set(t0 + 5 * MIN * 1000);
  const second = harness(dir, { inventory, clock: first.clock, timers: new ManualTimers(first.clock) });
  const t1 = second.clock.now();
  const s2 = new Script()
    .at(0, (h) => void h.manager.reconcile([hotspot('h-1'), risk]))
    // The collectors start: snmp-gone left the configuration while the daemon was down.
    .push(1, { type: 'monitored', targets: ['snmp-a', 'snmp-b'], at: t1 + 1000 })
    // snmp-a still fails (the alert goes on, silently); snmp-b answers.
    .push(60, gap('snmp-a', 5 * MIN + 60), { type: 'collected', target: 'snmp-b', ts: t0 + 5 * MIN * 1000 + 60_000 });
  s2.want(At(0), 'resolved', Alert('complaint_hotspot', 'resolved', { labels: { hotspot: 'h-2' } }))
    // Its group was looked at when the alerts resumed (nothing new then): group_interval (30 s) applies.
    .want(Between(1, 30), 'resolved', Alert('collection_gap', 'resolved', { labels: { target: 'snmp-gone' } }))
    .want(At(60), 'resolved', Alert('collection_gap', 'resolved', { labels: { target: 'snmp-b' } }))
    // 15 minutes without another refusal, counted from the last one before the stop, then 1 min hold-down.
    .want(
      Between(11 * MIN, 11 * MIN + 1),
      'resolved',
      Alert('store_backlog', 'resolved', { labels: { problem: 'dead-letter' } }),
    );
  await play(t, second, s2, 15 * MIN, (h) => {
    const firing = h.manager
      .active()
      .map((a) => a.labels.hotspot ?? a.labels.target ?? a.kind)
      .sort();
    t.same(firing, ['complaint_sla_risk', 'h-1', 'snmp-a'], 'what still holds is still firing, in the same episodes');
    const gapA = h.manager.list({ kind: 'collection_gap' }).find((a) => a.labels.target === 'snmp-a')!;
    t.equal(gapA.startsAt, t0, 'snmp-a’s episode goes on from before the restart');
    t.match(gapA.summary, /has not answered 3 polls/, 'counting the polls it missed before the restart');
  });
});

void t.test('a restart keeps each alert in the group it was notified in', async (t) => {
  const dir = await makeTempDir('cw-alerts-restart-group');
  const inventory = inventoryOf(cells('S0005', 3));
  const first = harness(dir, { inventory });
  const t0 = first.clock.now();
  // Notified as congestion (a group of its own); then the cause turns out to be the backhaul, which
  // puts the alert in its site's incident — but an episode stays in the group it was notified in.
  const w = win('S0005-1', { start: t0 });
  const s1 = new Script()
    .push(0, windowInput('opened', w))
    .push(60, windowInput('changed', { ...w, cause: 'backhaul', remediation: 'Transport repair' }));
  s1.want(At(0), 'firing', Alert('cell_degraded', 'firing', { labels: { cell: 'S0005-1', cause: 'congestion' } }));
  await s1.run(first, 2 * MIN);
  s1.check(t, first, t0);
  first.clock.set(t0 + 5 * MIN * 1000);
  const second = harness(dir, { inventory, clock: first.clock, timers: new ManualTimers(first.clock) });
  const s2 = new Script().at(0, (h) => {
    h.manager.reconcile([windowInput('opened', { ...w, cause: 'backhaul' })]);
  });
  // No notification: the sink was told about this alert, in that group.
  await play(t, second, s2, 5 * MIN);
});

void t.test('a sink that fails then recovers gets the notification; a healthy sink is not delayed', async (t) => {
  const h = harness(await makeTempDir('cw-alerts-recover'), { sinks: ['flaky', 'healthy'] });
  const flaky = h.sinks[0] as RecordingNotifier;
  flaky.respond = (_n, call) =>
    call < 3 ? { ok: false, retryable: true, reason: 'HTTP 503: down for maintenance' } : { ok: true };
  const t0 = h.clock.now();
  const s = new Script().push(0, windowInput('opened', win('F1', { start: t0 })));
  // Backoff with jitter fixed at 0.75 of 500 ms doubling: retries at 0.375 s, 1.125 s, 2.625 s.
  s.wantAt('flaky', Between(2, 3), 'firing', Alert('cell_degraded')).wantAt(
    'healthy',
    At(0),
    'firing',
    Alert('cell_degraded'),
  );
  await play(t, h, s, 60, (h) => {
    t.equal(flaky.calls.length, 4, 'three failures, then one success');
    const [delivery] = h.opened.stores.notifications.deliveries({ sink: 'flaky' });
    t.match(delivery, { result: 'sent', attempts: 4 }, 'the log records one delivery after 4 attempts');
  });
});
