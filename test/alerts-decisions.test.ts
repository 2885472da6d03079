/**
 * The alert decisions with plain values: golden cases (test/fixtures/alerts-decisions/*.json, one-line
 * spec each) for matchers, needsNotify, Nagios' flap percentage, burn rates and the lifecycle; tables
 * for the rules (inputs → conditions), silences, inhibition, fingerprints and message building.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { burnRate, burnVerdict, windowBurn, type TargetSnapshot } from '../alerts/burn.js';
import { needsNotify, type LogEntry } from '../alerts/dedup.js';
import { fingerprint } from '../alerts/fingerprint.js';
import { percentStateChange } from '../alerts/flapping.js';
import { DEFAULT_INHIBIT_RULES, inhibitedBy, sourceKeys } from '../alerts/inhibit.js';
import type { AlertSpec, ConditionUpdate } from '../alerts/kinds.js';
import { acknowledge, advance, noticeState, observe, type LifecyclePolicy, type Tracker } from '../alerts/lifecycle.js';
import { matches, parseMatcher, type Matcher } from '../alerts/matchers.js';
import { buildNotification, groupKeyOf } from '../alerts/notice.js';
import {
  advanceRules,
  applyInput,
  awaitsEvidence,
  cellSeverity,
  DEFAULT_RULE_CONTEXT,
  incidentThreshold,
  newRuleState,
  resumeRuleMemory,
  type AlertInput,
  type RuleContext,
  type TargetEvent,
} from '../alerts/rules.js';
import { silenceProblems, silenceStatus, silencedBy, type Silence } from '../alerts/silences.js';
import type { AlertNotice } from '../alerts/index.js';
import type { AlertSeverity } from '../model/index.js';
import { cells, inventoryOf, win, windowInput } from './helpers/alerts.js';

const golden = <T>(name: string): T[] =>
  JSON.parse(readFileSync(new URL(`./fixtures/alerts-decisions/${name}`, import.meta.url), 'utf8')) as T[];

void t.test('label matchers (golden)', async (t) => {
  const cases = golden<{ spec: string; matcher: Matcher; labels: Record<string, string>; want: boolean }>(
    'matchers.json',
  );
  t.ok(cases.length >= 10);
  for (const c of cases) t.equal(matches(c.matcher, c.labels), c.want, c.spec);
  t.same(parseMatcher('region=~"north|east"'), { name: 'region', op: '=~', value: 'north|east' }, 'parses =~');
  t.same(parseMatcher('severity!=warning'), { name: 'severity', op: '!=', value: 'warning' }, 'parses bare values');
  t.same(parseMatcher('cell="a\\"b"'), { name: 'cell', op: '=', value: 'a"b' }, 'unescapes quotes');
  t.equal(parseMatcher('no operator'), undefined, 'rejects garbage');
});

void t.test('needsNotify against the notification log (golden)', async (t) => {
  const cases = golden<{
    spec: string;
    entry: LogEntry | null;
    firing: string[];
    resolved: string[];
    repeatMs: number | null;
    now: number;
    want: { notify: boolean; reason: string };
  }>('needs-notify.json');
  for (const c of cases)
    t.same(
      needsNotify(c.entry ?? undefined, new Set(c.firing), new Set(c.resolved), c.repeatMs ?? Infinity, c.now),
      c.want,
      c.spec,
    );
});

void t.test("Nagios' curved percent state change (golden)", async (t) => {
  const cases = golden<{ spec: string; history: string; percent: number }>('flapping.json');
  for (const c of cases) {
    const got = percentStateChange([...c.history].map((ch) => ch === '1'));
    t.ok(Math.abs(got - c.percent) < 0.01, `${c.spec}: ${got.toFixed(3)}%`);
  }
});

void t.test('burn rates (golden) and the multi-window levels', async (t) => {
  const cases = golden<{ spec: string; bad: number; users: number; goal: number; want: number | null }>('burn.json');
  for (const c of cases) {
    const got = burnRate(c.bad, c.users, c.goal);
    if (c.want === null) t.equal(got, undefined, c.spec);
    else t.ok(got !== undefined && Math.abs(got - c.want) < 1e-9, `${c.spec}: ${got}`);
  }
  // Cumulative figures of a day: 100 users a minute; from minute 30 on, `share` of the new ones are bad.
  const day = (share: number, minutes: number): TargetSnapshot[] =>
    Array.from({ length: minutes }, (_, i) => {
      const m = i + 1;
      const bad = Math.max(0, m - 30) * 100 * share;
      return { at: m * 60_000, users: m * 100, bad };
    });
  const half = windowBurn(day(0.5, 45), 45 * 60_000, 10 * 60_000, 0.95);
  t.ok(half !== undefined && Math.abs(half - 10) < 1e-9, `10 minutes at half bad: 10× (${half})`);
  t.equal(windowBurn([], 0, 60_000, 0.95), undefined, 'no data: no burn');
  const windowStart = windowBurn(day(0, 5), 5 * 60_000, 10 * 60_000, 0.95);
  t.equal(windowStart, 0, 'a window reaching before the first snapshot counts from the day’s zero');
  const levels: [number, number, AlertSeverity | undefined][] = [
    [0.6, 45, 'critical'],
    [0.3, 55, 'major'],
    [0.12, 120, 'minor'],
    [0.04, 120, undefined],
  ];
  for (const [share, minutes, want] of levels)
    t.equal(
      burnVerdict(day(share, minutes), minutes * 60_000, 0.95).level?.severity,
      want,
      `${share * 100}% of new users bad for ${minutes - 30} min → ${want ?? 'no alert'}`,
    );
  const recovered = [...day(0.6, 45), { at: 55 * 60_000, users: 5500, bad: 15 * 100 * 0.6 }];
  t.ok(
    burnVerdict(recovered, 55 * 60_000, 0.95).rates.some((r) => r.windowMs === 3600_000 && r.rate >= 2),
    'the hour still burns …',
  );
  t.equal(
    burnVerdict(recovered, 55 * 60_000, 0.95).level,
    undefined,
    '… but the short windows stop a recovered burn from alerting',
  );
});

// ---------------------------------------------------------------------------------------------

const spec = (severity: AlertSeverity = 'major'): AlertSpec => ({
  kind: 'cell_degraded',
  fingerprint: 'fp1',
  labels: { alertname: 'cell_degraded', cell: 'C1', severity },
  annotations: {},
  severity,
  scope: 'cell',
  summary: 'x',
  groupLabels: { alertname: 'cell_degraded', cell: 'C1' },
  boardPath: '/#/cell/C1',
});
const activeU = (severity?: AlertSeverity): ConditionUpdate => ({
  fingerprint: 'fp1',
  kind: 'cell_degraded',
  active: true,
  spec: spec(severity),
});
const clearU = (immediate = false): ConditionUpdate => ({
  fingerprint: 'fp1',
  kind: 'cell_degraded',
  active: false,
  reason: 'window closed',
  ...(immediate ? { immediate } : {}),
});

void t.test('lifecycle scripts (golden)', async (t) => {
  const cases = golden<{
    spec: string;
    policy: { forMs: number; holdDownMs: number; sampleMs?: number };
    steps: { at: number; do: 'active' | 'clear' | 'clear-immediate' | 'tick' | 'ack'; severity?: AlertSeverity }[];
    want: string[];
    state: string;
    endsAt?: number;
    episodes?: number;
    fired?: boolean;
    acked?: boolean;
  }>('lifecycle.json');
  for (const c of cases) {
    const policy: LifecyclePolicy = {
      forMs: c.policy.forMs,
      holdDownMs: c.policy.holdDownMs,
      flap: { enabled: true, lowPct: 5, highPct: 20, sampleMs: c.policy.sampleMs ?? 120_000 },
    };
    let tr: Tracker | undefined;
    const types: string[] = [];
    const episodes = new Set<string>();
    for (const s of c.steps) {
      let step;
      if (s.do === 'tick') step = advance(tr!, policy, s.at);
      else if (s.do === 'ack') {
        const r = acknowledge(tr!, 'noc', 'on it', s.at);
        if (!r.ok) throw new Error(`${c.spec}: ack refused`);
        step = r.step;
      } else
        step = observe(tr, s.do === 'active' ? activeU(s.severity) : clearU(s.do === 'clear-immediate'), policy, s.at);
      tr = step.tracker;
      types.push(...step.transitions.map((x) => x.type));
      if (tr?.episode) episodes.add(tr.episode.id);
    }
    t.same(types, c.want, c.spec);
    t.equal(tr?.episode?.state, c.state, `${c.spec}: ends ${c.state}`);
    if (c.endsAt !== undefined) t.equal(tr?.episode?.endsAt, c.endsAt, `${c.spec}: endsAt is when it cleared`);
    if (c.episodes !== undefined) t.equal(episodes.size, c.episodes, `${c.spec}: ${c.episodes} episode(s)`);
    if (c.fired !== undefined) t.equal(tr?.episode?.firedAt !== undefined, c.fired, `${c.spec}: fired`);
    if (c.acked !== undefined) t.equal(tr?.ack !== undefined, c.acked, `${c.spec}: acked`);
  }
});

void t.test('notices: what sinks see, held while flapping', async (t) => {
  const policy: LifecyclePolicy = {
    forMs: 0,
    holdDownMs: 0,
    flap: { enabled: true, lowPct: 5, highPct: 20, sampleMs: 60_000 },
  };
  let tr = observe(undefined, activeU(), policy, 0).tracker!;
  t.match(noticeState(tr), { status: 'firing', key: 'fp1|major', flapping: false }, 'firing: fingerprint|severity');
  const keys: string[] = [];
  for (let i = 1; i <= 6; i++) {
    tr = observe(tr, i % 2 ? clearU() : activeU(), policy, i * 60_000).tracker!;
    keys.push(`${noticeState(tr)?.status}:${noticeState(tr)?.key}`);
  }
  t.same(
    keys,
    [
      'resolved:fp1',
      'firing:fp1|major',
      'firing:fp1|major|flapping',
      'firing:fp1|major|flapping',
      'firing:fp1|major|flapping',
      'firing:fp1|major|flapping',
    ],
    'once flapping, the notice stays firing (held) whatever the episodes do',
  );
  tr = observe(undefined, activeU(), { ...policy, forMs: 60_000 }, 0).tracker!;
  t.equal(noticeState(tr), undefined, 'a pending alert tells sinks nothing');
});

// ---------------------------------------------------------------------------------------------
// Rules

const summary = (us: ConditionUpdate[]) =>
  us.map((u) => (u.active ? `+${u.kind}:${u.spec.severity}` : `-${u.kind}${u.immediate ? '!' : ''}`));

void t.test('cell severity and the incident threshold', async (t) => {
  const rows: [string, number, number, AlertSeverity][] = [
    ['outage', 1, 5, 'major'],
    ['outage', 1, 20, 'critical'],
    ['congestion', 0.3, 500, 'warning'],
    ['congestion', 0.6, 5, 'minor'],
    ['coverage', 0.6, 20, 'major'],
    ['interference', 0.9, 200, 'critical'],
  ];
  for (const [cause, severity, users, want] of rows)
    t.equal(
      cellSeverity({ cause: cause as 'outage', severity }, users),
      want,
      `${cause} ${severity} with ${users} users: ${want}`,
    );
  const sizes: [number | undefined, number][] = [
    [undefined, 2],
    [1, 1],
    [2, 1],
    [3, 2],
    [12, 2],
  ];
  for (const [size, want] of sizes)
    t.equal(incidentThreshold(size), want, `a site of ${size ?? 'unknown'} cells: ${want}`);
});

void t.test('windows → cell_degraded and the incident parent, with hysteresis', async (t) => {
  const inv = inventoryOf(cells('S1', 3), cells('S2', 1));
  const ctx: RuleContext = { ...DEFAULT_RULE_CONTEXT, inventory: inv };
  const st = newRuleState();
  const w1 = win('S1-1', { cause: 'outage' });
  const w2 = win('S1-2', { cause: 'outage' });
  const step = (i: AlertInput) => summary(applyInput(st, i, ctx, 0));
  t.same(step(windowInput('opened', w1)), ['+cell_degraded:critical'], 'one of three cells down: only the cell');
  const second = applyInput(st, windowInput('opened', w2), ctx, 0);
  t.same(summary(second), ['+cell_degraded:critical', '+site_outage:critical'], 'two of three: the site is down');
  const parent = second.find((u) => u.kind === 'site_outage');
  t.match(parent, {
    spec: { labels: { site: 'S1', region: 'north', incident: 'S1' }, annotations: { cells: 'S1-1,S1-2' } },
  });
  const child = second.find((u) => u.kind === 'cell_degraded');
  t.match(
    child,
    { spec: { labels: { incident: 'S1', cause: 'outage' }, groupLabels: { incident: 'S1' } } },
    'children share the incident group',
  );
  t.same(
    step(windowInput('closed', w1)),
    ['-cell_degraded', '+site_outage:critical'],
    'the parent outlives its children',
  );
  t.same(step(windowInput('closed', w2)), ['-cell_degraded', '-site_outage'], 'the last child closes it');
  t.same(
    step(windowInput('opened', win('S2-1', { cause: 'backhaul' }))),
    ['+cell_degraded:major', '+backhaul_down:critical'],
    'a one-cell site on a failed backhaul is an incident of its own',
  );
  const w3 = win('S1-3');
  step(windowInput('opened', w3));
  t.same(step(windowInput('retracted', w3)), ['-cell_degraded!'], 'a retracted window clears at once');
  const c = applyInput(
    newRuleState(),
    windowInput('opened', win('X9', { cause: 'congestion' })),
    DEFAULT_RULE_CONTEXT,
    0,
  );
  t.match(
    c[0],
    { spec: { labels: { cell: 'X9', cause: 'congestion' }, groupLabels: { alertname: 'cell_degraded', cell: 'X9' } } },
    'no incident label for congestion',
  );
  t.notOk(c[0]?.active && 'incident' in c[0].spec.labels, 'no incident without a site');
});

void t.test('complaints a window explains are evidence of its alert and of its incident', async (t) => {
  const inv = inventoryOf(cells('S1', 2));
  const ctx: RuleContext = { ...DEFAULT_RULE_CONTEXT, inventory: inv };
  const st = newRuleState();
  const w1 = win('S1-1', { cause: 'outage' });
  const w2 = win('S1-2', { cause: 'outage' });
  applyInput(st, windowInput('opened', w1), ctx, 0);
  applyInput(st, windowInput('opened', w2), ctx, 0);
  const counted = (window: string, cell: string, complaints: number) =>
    applyInput(st, { type: 'window-complaints', window, cell, complaints }, ctx, 0);
  const four = counted(w1.id, 'S1-1', 4);
  t.match(
    four,
    [
      {
        kind: 'cell_degraded',
        spec: { severity: 'critical', annotations: { complaints: '4' }, summary: /, 4 customer complaints$/ },
      },
      { kind: 'site_outage', spec: { annotations: { complaints: '4' }, summary: /4 customer complaints/ } },
    ],
    'the cell and its incident say how many complaints they explain; the severity stays',
  );
  t.match(counted(w2.id, 'S1-2', 1), [
    { spec: { summary: /, 1 customer complaint$/ } },
    { spec: { annotations: { complaints: '5' } } },
  ]);
  t.same(counted(w2.id, 'S1-2', 1), [], 'the same count again changes nothing');
  const none = counted(w1.id, 'S1-1', 0);
  t.notOk(none[0]?.active && 'complaints' in none[0].spec.annotations, 'no complaints: no annotation');
  t.same(counted('w-unknown', 'S1-1', 3), [], 'a window the alerts do not hold (closed) is ignored');
  applyInput(st, windowInput('closed', w2), ctx, 0);
  t.same(counted(w2.id, 'S1-2', 2), [], 'nor one that closed');
});

void t.test('hot spots, SLA risk, targets, collection gaps and the store', async (t) => {
  const ctx: RuleContext = { ...DEFAULT_RULE_CONTEXT, inventory: inventoryOf(cells('S1', 3)) };
  const st = newRuleState();
  const h = { id: 'h1', kind: 'hotspot' as const, cells: ['S1-1'], site: 'S1', complaints: 4, start: 0, open: true };
  t.same(summary(applyInput(st, { type: 'hotspot', hotspot: h }, ctx, 0)), ['+complaint_hotspot:minor']);
  t.same(
    summary(applyInput(st, { type: 'hotspot', hotspot: { ...h, kind: 'silent-degradation' } }, ctx, 0)),
    ['-complaint_hotspot!', '+silent_degradation:major'],
    'a hot spot no window explains becomes a silent degradation',
  );
  t.same(
    summary(applyInput(st, { type: 'hotspot', hotspot: { ...h, kind: 'silent-degradation', open: false } }, ctx, 0)),
    ['-silent_degradation'],
  );
  applyInput(st, { type: 'hotspot', hotspot: { ...h, id: 'h2' } }, ctx, 0);
  t.same(
    summary(applyInput(st, { type: 'hotspot', hotspot: { ...h, id: 'h2', open: false, superseded: true } }, ctx, 0)),
    ['-complaint_hotspot!'],
    'a hot spot that goes on under another id clears at once: no hold-down for an identity that ended',
  );

  const risk = (id: string, dueAt: number) =>
    ({
      type: 'sla-risk',
      risk: { complaint: id, receivedAt: 0, dueAt, region: 'north', category: 'network', channel: 'app' },
    }) as AlertInput;
  applyInput(st, risk('c1', 10_000), ctx, 0);
  const two = applyInput(st, risk('c2', 20_000), ctx, 0);
  t.match(
    two,
    [
      {
        active: true,
        kind: 'complaint_sla_risk',
        spec: { severity: 'minor', labels: { region: 'north' }, annotations: { complaints: '2' } },
      },
    ],
    'one alert per region',
  );
  t.match(
    advanceRules(st, ctx, 10_000),
    [{ spec: { severity: 'major', annotations: { overdue: '1' } } }],
    'a deadline passing escalates',
  );
  t.same(advanceRules(st, ctx, 10_001), [], 'nothing new, nothing reported');
  t.match(applyInput(st, { type: 'sla-cleared', complaint: 'c1', at: 0 }, ctx, 0), [
    { spec: { annotations: { complaints: '1' } } },
  ]);
  t.same(
    summary(advanceRules(st, ctx, 20_000 + 24 * 3600_000 + 1)),
    ['-complaint_sla_risk'],
    'a day past its deadline it leaves the list',
  );

  const target = (over: Partial<TargetEvent>): AlertInput => ({
    type: 'target',
    target: {
      day: '2026-11-30',
      scope: 'region',
      id: 'north',
      ratio: 0.97,
      goal: 0.95,
      users: 1000,
      coverage: 1,
      status: 'met',
      final: false,
      ...over,
    },
  });
  t.same(summary(applyInput(st, target({}), ctx, 0)), ['-target_at_risk'], 'meeting the goal with no burn: clear');
  t.same(
    summary(applyInput(st, target({ ratio: 0.9, status: 'missed' }), ctx, 60_000)),
    ['+target_at_risk:major'],
    'below the goal: major',
  );
  t.same(
    summary(applyInput(st, target({ ratio: 0.9, status: 'insufficient-data' }), ctx, 120_000)),
    ['-target_at_risk'],
    'insufficient data: no judgement',
  );
  t.same(
    summary(
      applyInput(
        st,
        target({
          ratio: 0.99,
          burn: [
            { windowMs: 600_000, rate: 12 },
            { windowMs: 120_000, rate: 15 },
          ],
        }),
        ctx,
        180_000,
      ),
    ),
    ['+target_at_risk:critical'],
    'the producer’s own burn rates: 12× and 15× page even above the goal',
  );
  t.same(summary(applyInput(st, target({ final: true }), ctx, 240_000)), ['-target_at_risk'], 'a final day closes it');
  t.same(
    summary(applyInput(st, target({ day: '2026-11-29', ratio: 0.5 }), ctx, 240_000)),
    [],
    'a late update of a past day changes nothing',
  );

  const gap = (ts: number, reason = 'timeout') =>
    ({ type: 'gap', gap: { target: 'site-1', cells: ['S1-1', 'S1-2', 'S1-3'], ts, reason } }) as AlertInput;
  t.same(summary(applyInput(st, gap(0), ctx, 0)), [], 'one missed poll is not blindness yet');
  t.same(summary(applyInput(st, gap(0), ctx, 0)), [], 'the same missed poll twice counts once');
  t.same(summary(applyInput(st, gap(30_000, 'counter-reset'), ctx, 0)), [], 'a counter reset is not blindness');
  const blind = applyInput(st, gap(60_000), ctx, 0);
  t.match(blind, [
    {
      kind: 'collection_gap',
      spec: { severity: 'minor', labels: { target: 'site-1', site: 'S1' }, annotations: { cellCount: '3' } },
    },
  ]);
  t.match(blind[0]?.active && blind[0].spec.summary, /not known to be down/, 'the cells are not said to be down');
  t.same(
    summary(applyInput(st, { type: 'collected', target: 'site-1', ts: 120_000 }, ctx, 0)),
    ['-collection_gap'],
    'the next success resolves it',
  );
  t.same(
    summary(applyInput(newRuleState(), gap(0), { ...ctx, reconciling: true }, 0)),
    ['+collection_gap:minor'],
    'reconciling: one gap re-asserts it',
  );
  applyInput(st, gap(180_000), ctx, 0);
  applyInput(st, gap(240_000), ctx, 0);
  t.same(
    summary(applyInput(st, { type: 'monitored', targets: ['site-1', 'site-2'], at: 0 }, ctx, 0)),
    [],
    'a target still monitored keeps its gap',
  );
  t.match(
    applyInput(st, { type: 'monitored', targets: ['site-2'], at: 0 }, ctx, 0),
    [{ kind: 'collection_gap', active: false, immediate: true, reason: /no longer monitored/ }],
    'a target that left the configuration ends its gap at once (nothing else could)',
  );

  // After a restart: what only new evidence can end is put back into the rules' memory.
  const resumedGap = {
    kind: 'collection_gap' as const,
    labels: { alertname: 'collection_gap', target: 'site-9' },
    annotations: { missedPolls: '4' },
    since: 0,
    updatedAt: 240_000,
  };
  t.ok(awaitsEvidence('collection_gap', resumedGap.labels), 'a gap awaits the next poll');
  t.ok(awaitsEvidence('store_backlog', { problem: 'dead-letter' }), 'dead letters await their quiet period');
  t.notOk(awaitsEvidence('store_backlog', { problem: 'backlog' }), 'the backend’s state is known at start');
  t.notOk(awaitsEvidence('complaint_hotspot', {}), 'open hot spots are known at start');
  const resumed = newRuleState();
  resumeRuleMemory(resumed, resumedGap, ctx);
  t.match(
    applyInput(
      resumed,
      { type: 'gap', gap: { target: 'site-9', cells: ['S1-1'], ts: 600_000, reason: 'timeout' } },
      ctx,
      0,
    ),
    [{ active: true, spec: { summary: /has not answered 5 polls/, since: 0 } }],
    'a resumed gap goes on counting from where it was',
  );
  resumeRuleMemory(resumed, { ...resumedGap, labels: { target: 'site-8' } }, ctx);
  t.same(
    summary(applyInput(resumed, { type: 'collected', target: 'site-8', ts: 1 }, ctx, 0)),
    ['-collection_gap'],
    'a resumed gap ends with the target’s next answer',
  );
  resumeRuleMemory(
    resumed,
    {
      kind: 'store_backlog',
      labels: { problem: 'dead-letter' },
      annotations: { points: '7', reason: 'HTTP 400' },
      since: 0,
      updatedAt: 1000,
    },
    ctx,
  );
  t.same(summary(advanceRules(resumed, ctx, 1000 + 15 * 60_000 - 1)), [], 'resumed dead letters: still quiet-timing');
  t.same(summary(advanceRules(resumed, ctx, 1000 + 15 * 60_000)), ['-store_backlog'], 'then they clear');

  const store = (e: object) => ({ type: 'store', event: e }) as AlertInput;
  t.same(summary(applyInput(st, store({ kind: 'backend-down', reason: 'ECONNREFUSED', at: 0 }), ctx, 0)), [
    '+store_backlog:major',
  ]);
  t.same(summary(applyInput(st, store({ kind: 'dropped', points: 5000, reason: 'spool full', at: 1 }), ctx, 0)), [
    '+store_backlog:critical',
  ]);
  t.same(summary(applyInput(st, store({ kind: 'backend-up', at: 2 }), ctx, 0)), ['-store_backlog']);
  t.same(summary(applyInput(st, store({ kind: 'dead-lettered', points: 3, reason: 'HTTP 400', at: 3 }), ctx, 0)), [
    '+store_backlog:minor',
  ]);
  t.same(
    summary(advanceRules(st, ctx, 3 + 15 * 60_000)),
    ['-store_backlog'],
    'dead letters clear after a quiet period',
  );
});

// ---------------------------------------------------------------------------------------------

void t.test('fingerprints, silences, inhibition, messages', async (t) => {
  const a = fingerprint('cell_degraded', { cell: 'C1', site: 'S1' });
  t.match(a, /^[0-9a-f]{16}$/, '16 hex digits');
  t.equal(fingerprint('cell_degraded', { site: 'S1', cell: 'C1' }), a, 'label order does not matter');
  t.not(fingerprint('cell_degraded', { cell: 'C2', site: 'S1' }), a, 'another cell, another problem');
  t.not(fingerprint('site_outage', { cell: 'C1', site: 'S1' }), a, 'another kind, another problem');

  const s: Silence = {
    id: 's1',
    matchers: [{ name: 'region', op: '=', value: 'north' }],
    startsAt: 100,
    endsAt: 200,
    createdBy: 'anna',
    comment: 'work',
    createdAt: 0,
    updatedAt: 0,
  };
  t.same(
    [silenceStatus(s, 99), silenceStatus(s, 100), silenceStatus(s, 199), silenceStatus(s, 200)],
    ['pending', 'active', 'active', 'expired'],
  );
  t.same(silencedBy({ region: 'north' }, [s], 150), ['s1']);
  t.same(silencedBy({ region: 'north' }, [s], 250), [], 'an expired silence mutes nothing');
  t.same(silencedBy({ region: 'south' }, [s], 150), []);
  const bad = (over: Partial<Silence>) => silenceProblems({ ...s, ...over });
  t.same(bad({}), [], 'valid');
  t.same(bad({ matchers: [] }), ['matchers: at least one matcher is required']);
  t.match(bad({ matchers: [{ name: 'cell', op: '=~', value: '.*' }] }), [/would mute everything/]);
  t.match(bad({ matchers: [{ name: 'cell', op: '=~', value: '(' }] }), [/invalid regular expression/]);
  t.match(bad({ matchers: [{ name: 'bad-name', op: '=', value: 'x' }] }), [/not a label name/]);
  t.same(bad({ endsAt: 100 }), ['endsAt: must be after startsAt']);
  t.same(bad({ createdBy: ' ', comment: '' }), ['createdBy: required', 'comment: required (say why)']);

  const rules = DEFAULT_INHIBIT_RULES;
  const parent = { alertname: 'site_outage', site: 'S1', incident: 'S1' };
  const index = new Map<string, Set<string>>();
  for (const k of sourceKeys(rules, parent)) index.set(k, new Set(['P']));
  const look = (labels: Record<string, string>, self = 'X') =>
    inhibitedBy(rules, labels, self, (k) => index.get(k))?.rule;
  t.equal(look({ alertname: 'cell_degraded', cell: 'S1-1', incident: 'S1' }), 'incident mutes its cells');
  t.equal(
    look({ alertname: 'cell_degraded', cell: 'S2-1', incident: 'S2' }),
    undefined,
    'another incident is not muted',
  );
  t.equal(
    look({ alertname: 'cell_degraded', cell: 'S1-3', site: 'S1' }),
    undefined,
    'a congested cell of the site is not part of the incident',
  );
  t.equal(
    look({ alertname: 'collection_gap', target: 't', site: 'S1' }),
    'incident mutes the blind collector of its site',
  );
  t.equal(look({ alertname: 'collection_gap', target: 't' }), undefined, 'a gap with no known site is not muted');
  t.equal(look(parent, 'P'), undefined, 'an alert never inhibits itself');

  const n = (fp: string, status: 'firing' | 'resolved', severity: string, startsAt: number): AlertNotice => ({
    fingerprint: fp,
    status,
    labels: { alertname: 'cell_degraded', severity, region: 'north', cell: fp },
    annotations: { remediation: 'same', summary: fp },
    startsAt,
    generatorURL: 'http://board/#/cell/' + fp,
  });
  const msg = buildNotification(
    groupKeyOf({ incident: 'S1' }),
    { incident: 'S1' },
    [n('c', 'resolved', 'critical', 0), n('b', 'firing', 'minor', 0), n('a', 'firing', 'critical', 5)],
    { receiver: 'hook', externalURL: 'http://board', maxAlerts: 2 },
  );
  t.equal(msg.groupKey, '{}:{incident="S1"}');
  t.equal(msg.status, 'firing');
  t.same(
    msg.alerts.map((x) => x.fingerprint),
    ['a', 'b'],
    'firing first, critical first; the rest truncated',
  );
  t.equal(msg.truncatedAlerts, 1);
  t.same(msg.commonLabels, { alertname: 'cell_degraded', region: 'north' }, 'labels shared by every alert');
  t.same(msg.commonAnnotations, { remediation: 'same' });
});
