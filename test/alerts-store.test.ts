/**
 * The alert records on a real SQLite file in a temp dir: episodes with their transitions and acks,
 * silences, the notification log — written, queried, and read back after the file is reopened.
 */
import t from 'tap';
import type { StoredAlert } from '../store/records/alerts.js';
import { setHash } from '../store/records/notifications.js';
import { makeTempDir } from './helpers/service.js';
import { ALERT_MIGRATIONS, harness, openAlertStores, win, windowInput } from './helpers/alerts.js';

const episode = (over: Partial<StoredAlert>): StoredAlert => ({
  id: 'fp1-a',
  fingerprint: 'fp1',
  rule: 'cell_degraded',
  kind: 'cell_degraded',
  state: 'firing',
  severity: 'major',
  scope: 'cell',
  labels: { alertname: 'cell_degraded', cell: 'C1' },
  annotations: { summary: 'Cell C1 degraded' },
  summary: 'Cell C1 degraded',
  startsAt: 1000,
  firedAt: 1000,
  updatedAt: 1000,
  flapping: false,
  current: true,
  memory: '{}',
  region: 'north',
  cell: 'C1',
  ...over,
});

void t.test('alert episodes, transitions and acks survive a reopen; queries filter and order', async (t) => {
  const dir = await makeTempDir('cw-alert-records');
  let o = openAlertStores(dir);
  t.equal(o.db.pragma('user_version', { simple: true }), ALERT_MIGRATIONS.length, 'every migration applied');
  o.stores.alerts.save(
    [
      episode({}),
      episode({ id: 'fp2-a', fingerprint: 'fp2', kind: 'collection_gap', region: 'south', startsAt: 5000 }),
    ],
    [
      {
        alert: 'fp1-a',
        fingerprint: 'fp1',
        kind: 'cell_degraded',
        at: 1000,
        type: 'pending',
        state: 'pending',
        severity: 'major',
        reason: 'r',
      },
      {
        alert: 'fp1-a',
        fingerprint: 'fp1',
        kind: 'cell_degraded',
        at: 1000,
        type: 'firing',
        state: 'firing',
        severity: 'major',
        reason: 'r',
      },
    ],
  );
  o.stores.alerts.save(
    [episode({ ack: { by: 'anna', at: 2000, comment: 'on it', severity: 'major' }, updatedAt: 2000 })],
    [
      {
        alert: 'fp1-a',
        fingerprint: 'fp1',
        kind: 'cell_degraded',
        at: 2000,
        type: 'acked',
        state: 'firing',
        severity: 'major',
        reason: 'on it',
        by: 'anna',
        comment: 'on it',
      },
    ],
    [{ alert: 'fp1-a', fingerprint: 'fp1', by: 'anna', at: 2000, comment: 'on it', severity: 'major' }],
  );
  o.db.close();

  o = openAlertStores(dir);
  t.equal(o.db.pragma('user_version', { simple: true }), ALERT_MIGRATIONS.length, 'reopen: nothing re-migrated');
  const got = o.stores.alerts.get('fp1-a');
  t.match(got?.alert, { state: 'firing', ackedBy: 'anna', ack: { comment: 'on it' }, labels: { cell: 'C1' } });
  t.same(
    got?.transitions.map((x) => x.type),
    ['pending', 'firing', 'acked'],
    'transitions in order',
  );
  t.match(got?.acks, [{ by: 'anna', comment: 'on it' }]);
  t.same(
    o.stores.alerts.current().map((a) => a.id),
    ['fp1-a', 'fp2-a'],
    'current episodes',
  );

  // A second episode of fp1 takes over as current; the first is resolved history.
  o.stores.alerts.save([episode({ state: 'resolved', endsAt: 3000, resolvedAt: 3000, updatedAt: 3000 })]);
  o.stores.alerts.save([episode({ id: 'fp1-b', startsAt: 9000, firedAt: 9000, updatedAt: 9000 })]);
  t.same(
    o.stores.alerts.current().map((a) => a.id),
    ['fp2-a', 'fp1-b'],
    'the newest episode is current',
  );
  const ids = (q: Parameters<typeof o.stores.alerts.list>[0]) => o.stores.alerts.list(q).map((a) => a.id);
  t.same(ids({}), ['fp1-b', 'fp2-a', 'fp1-a'], 'newest first');
  t.same(ids({ state: 'firing' }), ['fp1-b', 'fp2-a']);
  t.same(ids({ state: ['resolved'] }), ['fp1-a']);
  t.same(ids({ kind: 'collection_gap' }), ['fp2-a']);
  t.same(ids({ region: 'north' }), ['fp1-b', 'fp1-a']);
  t.same(ids({ from: 4000 }), ['fp1-b', 'fp2-a'], 'from: episodes still open or ended after it');
  t.same(ids({ to: 5000 }), ['fp1-a'], 'to: episodes that started before it');
  t.same(ids({ limit: 1 }), ['fp1-b']);
  t.equal(o.stores.alerts.prune(3000), 0, 'nothing resolved before the cut-off');
  o.stores.alerts.retire(['fp2-a']);
  t.equal(o.stores.alerts.prune(10_000), 1, 'a resolved episode no longer current is pruned with its history');
  t.equal(o.stores.alerts.get('fp1-a'), undefined);
  t.equal(o.stores.alerts.get('fp2-a')?.alert.current, false, 'retired but unresolved: kept');
  o.db.close();
});

void t.test('silences and the notification log', async (t) => {
  const dir = await makeTempDir('cw-alert-silences');
  let o = openAlertStores(dir);
  const s = {
    id: 's1',
    matchers: [{ name: 'region', op: '=~' as const, value: 'north|east' }],
    startsAt: 0,
    endsAt: 1000,
    createdBy: 'anna',
    comment: 'maintenance',
    createdAt: 0,
    updatedAt: 0,
  };
  o.stores.silences.save(s);
  o.stores.silences.save({ ...s, id: 's2', startsAt: 500, endsAt: 5000, createdAt: 1 });
  t.same(
    o.stores.silences.unexpired(1000).map((x) => x.id),
    ['s2'],
    'an ended silence is not loaded',
  );
  o.stores.silences.save({ ...s, endsAt: 400, updatedAt: 400 });
  t.equal(o.stores.silences.get('s1')?.endsAt, 400, 'expiry rewrites endsAt');

  o.stores.notifications.record({
    id: 'n1',
    groupKey: 'g',
    sink: 'hook',
    status: 'firing',
    firing: ['b|major', 'a|major'],
    resolved: [],
    alerts: 2,
    result: 'sent',
    reason: 'first',
    attempts: 1,
    firstAttemptAt: 10,
    at: 10,
  });
  o.stores.notifications.record({
    id: 'n2',
    groupKey: 'g',
    sink: 'hook',
    status: 'resolved',
    firing: [],
    resolved: ['a', 'b'],
    alerts: 2,
    result: 'failed',
    reason: 'HTTP 400',
    attempts: 1,
    firstAttemptAt: 20,
    at: 20,
  });
  o.db.close();

  o = openAlertStores(dir);
  t.same(
    o.stores.silences.list().map((x) => x.id),
    ['s2', 's1'],
    'silences survive, newest first',
  );
  const entry = o.stores.notifications.entry('g', 'hook');
  t.match(entry, { firing: ['b|major', 'a|major'], at: 10 }, 'a failed delivery does not replace the entry');
  t.equal(entry?.firingHash, setHash(['a|major', 'b|major']), 'the hash does not depend on order');
  t.not(setHash(['a']), setHash(['b']));
  t.same(
    o.stores.notifications.deliveries({ groupKey: 'g' }).map((d) => `${d.id}:${d.result}`),
    ['n2:failed', 'n1:sent'],
  );
  t.equal(o.stores.notifications.entry('g', 'other'), undefined, 'per sink');
  o.stores.notifications.prune(100);
  t.same(o.stores.notifications.deliveries(), [], 'old deliveries pruned');
  t.ok(
    o.stores.notifications.entry('g', 'hook'),
    'an entry with firing alerts is kept (acked problems are not re-sent)',
  );
  t.equal(o.stores.silences.prune(1000), 1, 'silences ended long ago are pruned');
  o.db.close();
});

void t.test('the manager answers the API queries from the store', async (t) => {
  const h = harness(await makeTempDir('cw-alert-api'));
  const t0 = h.clock.now();
  h.manager.handle([
    windowInput('opened', win('C1', { start: t0, region: 'north' })),
    windowInput('opened', win('C2', { start: t0, region: 'south' })),
  ]);
  h.manager.handle(windowInput('closed', win('C2', { start: t0, region: 'south' })));
  await h.timers.advance(6 * 60_000);
  h.manager.tick();
  const firing = h.manager.list({ state: 'firing' });
  t.same(
    firing.map((a) => a.cell),
    ['C1'],
  );
  t.match(firing[0], { generatorURL: 'http://board.test/#/cell/C1', flapPercent: 6.3 });
  t.notOk('memory' in firing[0]!, 'the lifecycle memory is not part of the view');
  const resolved = h.manager.list({ state: 'resolved', region: 'south' });
  t.equal(resolved.length, 1);
  const detail = h.manager.get(resolved[0]!.id);
  t.same(
    detail?.transitions.map((x) => x.type),
    ['pending', 'firing', 'clearing', 'resolved'],
  );
  t.equal(detail?.alert.endsAt, t0, 'ended when the window closed, not when the hold-down ran out');
  t.equal(h.manager.get('nope'), undefined);
  const seen: string[] = [];
  const off = h.manager.onTransition((tr, a) => seen.push(`${tr.type}:${a.cell}`));
  h.manager.handle(windowInput('opened', win('C3', { start: t0 })));
  off();
  h.manager.handle(windowInput('opened', win('C4', { start: t0 })));
  t.same(seen, ['pending:C3', 'firing:C3'], 'listeners see transitions with the alert, until they unsubscribe');
  const bad = h.manager.createSilence({ matchers: [], endsAt: t0, createdBy: '', comment: '' });
  t.match(bad, { ok: false, problems: [/at least one matcher/, /after startsAt/, /createdBy/, /comment/, /future/] });
  await h.manager.close();
  t.ok(
    h.sinks.every((s) => s.closed),
    'close closes the sinks',
  );
  h.opened.db.close();
});
