/**
 * The care side of complaints: the agent's context lookup and proactive notices (exact sentences for
 * the three situations an agent meets, then a sweep over generated cases checking that no text ever
 * carries a cell id, a KPI or vendor term, a cause as the system spells it, or a figure that is not a
 * time or date), and the handling targets (first response, resolution, satisfaction, SLA risk).
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CellInventory } from '../config/inventory.js';
import {
  contextFor,
  firstResponseVerdict,
  handlingStats,
  intlTimeWords,
  noticeFor,
  notices,
  slaAtRisk,
  type HandledComplaint,
  type HandlingEvent,
} from '../correlator/complaints/index.js';
import type { Alert, Cause, Cell, Complaint, Window } from '../model/index.js';
import { mulberry32 as rng } from '../sim/seeded.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ZONE = 'Asia/Shanghai';
const words = intlTimeWords(ZONE);
/** Local wall time in Shanghai (UTC+8, no DST). */
const local = (s: string) => Date.parse(`${s}:00+08:00`);

const cells = (
  JSON.parse(readFileSync(new URL('./fixtures/complaints-match/inventory.json', import.meta.url), 'utf8')) as {
    cells: Cell[];
  }
).cells;
const inventory = CellInventory.of(cells);

function win(id: string, cell: string, cause: Cause, start: number, end: number | undefined, severity = 0.8): Window {
  const w: Window = {
    id,
    cell,
    stream: 'counters',
    start,
    lastBad: end ?? start,
    cause,
    severity,
    usersAffected: 10,
    userMinutes: 100,
    worst: {},
    evidence: { kpis: [], badIntervals: 2, goodIntervals: 0, unknownIntervals: 0 },
    remediation: 'load balancing, then carrier add',
  };
  if (end !== undefined) w.end = end;
  return w;
}

void t.test('time words in the configured zone', async (t) => {
  t.equal(words.time(local('2026-11-28T19:05')), '7:05 pm');
  t.equal(words.time(local('2026-11-28T12:00')), '12:00 pm', 'noon is 12, not 0');
  t.equal(words.time(local('2026-11-28T00:10')), '12:10 am');
  t.equal(words.date(local('2026-11-28T19:05')), 'Saturday 28 November');
  t.equal(words.day(local('2026-11-28T23:59')) - words.day(local('2026-11-28T00:00')), 0, 'one local day');
  t.equal(words.day(local('2026-11-29T00:00')) - words.day(local('2026-11-28T23:59')), 1, 'midnight local, not UTC');
});

void t.test('the agent lookup: the three answers an agent reads out', async (t) => {
  const now = local('2026-11-28T15:00');
  const congestion = win('W1', 'S0001-1', 'congestion', local('2026-11-27T19:05'), local('2026-11-27T21:40'));
  const yes = contextFor({ cell: 'S0001-1', at: local('2026-11-27T20:15') }, [congestion], { inventory, now, words });
  t.match(yes, { ok: true, windows: [{ id: 'W1', status: 'resolved', when: 'at-the-time', customerImpact: true }] });
  if (yes.ok)
    t.equal(
      yes.summary,
      'Yes — there was a network problem in this area yesterday from 7:05 pm to 9:40 pm: the network was overloaded and data was slow. It has been fixed.',
    );

  const coverage = win('W2', 'S0001-4', 'coverage', local('2026-11-28T14:10'), undefined, 0.7);
  const ongoing = contextFor({ lat: 31.2312, lon: 121.47, at: now }, [coverage], { inventory, now, words });
  if (ongoing.ok)
    t.equal(
      ongoing.summary,
      'We are aware of a problem with the mobile signal in this area since 2:10 pm today; engineers are working on it. It can take a few days to fix completely.',
    );
  t.match(ongoing, { ok: true, windows: [{ id: 'W2', status: 'ongoing' }] });

  const none = contextFor({ cell: 'S0002-2', at: local('2026-11-28T09:00') }, [], { inventory, now, words });
  if (none.ok) t.equal(none.summary, 'We found no network problem in this area at that time.');

  const drift = win('W3', 'S0001-1', 'unknown', local('2026-11-28T08:00'), local('2026-11-28T10:00'), 0.3);
  const kpiOnly = contextFor({ cell: 'S0001-1', at: local('2026-11-28T09:00') }, [drift], { inventory, now, words });
  t.match(kpiOnly, { ok: true, windows: [{ id: 'W3', customerImpact: false }] }, 'a KPI drift is listed for the agent');
  if (kpiOnly.ok)
    t.equal(kpiOnly.summary, 'We found no network problem in this area at that time.', 'but not read out as a problem');

  const elsewhere = win('W4', 'S0009-1', 'outage', local('2026-11-28T08:00'), undefined, 1);
  const far = contextFor({ cell: 'S0001-1', at: now }, [elsewhere], { inventory, now, words });
  t.match(far, { ok: true, windows: [] }, 'a problem 10 km away is not "this area"');

  const before = win('W5', 'S0001-1', 'outage', local('2026-11-26T22:30'), local('2026-11-27T01:10'), 1);
  const other = contextFor({ cell: 'S0001-1', at: local('2026-11-28T09:00') }, [before], {
    inventory,
    now,
    words,
    complaintCount: 3,
  });
  if (other.ok)
    t.equal(
      other.summary,
      'We found no network problem in this area at that time. There was one from 10:30 pm on Thursday 26 November to 1:10 am yesterday: the mobile network was down, so calls and data did not work; it has been fixed. Other customers in this area have reported problems too, and we have asked our engineers to check.',
      'names the nearest other problem, across midnight; others complained, so it is being checked',
    );

  const alerts: Alert[] = [
    {
      id: 'A1',
      fingerprint: 'f1',
      rule: 'cell_degraded',
      severity: 'major',
      state: 'firing',
      labels: { cell: 'S0001-4' },
      summary: 's',
      startsAt: now,
    },
    {
      id: 'A2',
      fingerprint: 'f2',
      rule: 'cell_degraded',
      severity: 'major',
      state: 'firing',
      labels: { cell: 'S0009-1' },
      summary: 's',
      startsAt: now,
    },
    {
      id: 'A3',
      fingerprint: 'f3',
      rule: 'cell_degraded',
      severity: 'major',
      state: 'resolved',
      labels: { site: 'S0001' },
      summary: 's',
      startsAt: now,
    },
  ];
  const withAlerts = contextFor({ cell: 'S0001-1', at: now }, [coverage], {
    inventory,
    now,
    words,
    alerts,
    complaintCount: 2,
  });
  t.match(withAlerts, { ok: true, complaintCount: 2 });
  if (withAlerts.ok) {
    t.same(
      withAlerts.alerts.map((a) => a.id),
      ['A1'],
      'open alerts of the area only',
    );
    t.match(withAlerts.summary, /Other customers in this area have reported it too\.$/);
  }
  t.match(contextFor({ cell: 'NOPE', at: now }, [], { inventory, now, words }), { ok: false, reason: 'unknown-cell' });
});

void t.test('proactive notices', async (t) => {
  const now = local('2026-11-28T15:00');
  const site = [
    win('W1', 'S0001-1', 'outage', local('2026-11-28T13:40'), undefined, 1),
    win('W2', 'S0001-2', 'outage', local('2026-11-28T13:42'), undefined, 0.9),
  ];
  const n = noticeFor(site, { inventory, now, words });
  t.match(n, {
    id: 'N-S0001-20261128T0540Z',
    status: 'ongoing',
    cause: 'outage',
    start: local('2026-11-28T13:40'),
    area: { cells: ['S0001-1', 'S0001-2'], sites: ['S0001'], centre: { lat: 31.23, lon: 121.47 }, radiusKm: 1 },
    text: 'We are aware of a problem with the mobile service in this area since 1:40 pm today. Engineers are working on it. It is usually fixed within a few hours.',
    expectedFix: 'It is usually fixed within a few hours.',
  });
  const done = noticeFor([win('W3', 'S0002-1', 'congestion', local('2026-11-28T09:00'), local('2026-11-28T10:30'))], {
    inventory,
    now,
    words,
  });
  t.match(done, {
    status: 'resolved',
    resolvedAt: local('2026-11-28T10:30'),
    text: 'The problem with mobile data speeds in this area today from 9:00 am to 10:30 am has been fixed. We are sorry for the trouble.',
  });
  t.equal(
    noticeFor([win('W4', 'S0001-1', 'unknown', now - HOUR, undefined, 0.2)], { inventory, now, words }),
    undefined,
    'KPI drift: no notice',
  );
  const two = noticeFor([site[0]!, win('W5', 'S0002-1', 'outage', now - HOUR, undefined)], { inventory, now, words });
  t.match(
    two,
    { area: { sites: ['S0001', 'S0002'], radiusKm: 1.4 } },
    'two masts 0.8 km apart: centre between, 0.4 + 1 km',
  );
  const list = notices([...site, win('W3', 'S0002-1', 'congestion', now - 6 * HOUR, now - 5 * HOUR)], {
    inventory,
    now,
    words,
  });
  t.same(
    list.map((x) => x.id),
    ['N-S0001-20261128T0540Z'],
    'ongoing only by default, one per site',
  );
  const recent = notices([...site, win('W3', 'S0002-1', 'congestion', now - 6 * HOUR, now - 5 * HOUR)], {
    inventory,
    now,
    words,
    resolvedWithinMs: DAY,
  });
  t.same(
    recent.map((x) => x.status),
    ['ongoing', 'resolved'],
    'recently resolved on request, after the ongoing',
  );
});

/** Patterns no customer-safe text may contain. */
const FORBIDDEN: [string, RegExp][] = [
  ['a cell or site id', /\b[A-Z]\d{3,}(-\d+)?\b/],
  [
    'a KPI or vendor term',
    /\b(KPI|PRB|RSRP|RSRQ|SINR|CQI|LTE|NR|5G|4G|eNB|gNB|eNodeB|MHz|dBm?|Mbit|Mbps|latency|throughput|sector|cell|site|window|severity|score)\b/i,
  ],
  ['a cause as the system spells it', /\b(outage|backhaul|coverage|interference|congestion|silent-failure|unknown)\b/i],
  ['remediation jargon', /\b(carrier add|tilt|PCI|neighbour|load balancing)\b/i],
];
const TIME = /\b\d{1,2}:\d{2} (am|pm)\b/g;
const DATE =
  /\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December)\b/g;

void t.test('no summary or notice ever carries jargon, ids or figures other than times and dates', async (t) => {
  const r = rng(9);
  const causes: Cause[] = ['outage', 'backhaul', 'coverage', 'interference', 'congestion', 'silent-failure', 'unknown'];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const base = local('2026-11-20T00:00');
  const texts: string[] = [];
  for (let k = 0; k < 400; k++) {
    const now = base + Math.floor(r() * 10 * DAY);
    const ws: Window[] = [];
    for (let i = Math.floor(r() * 4); i > 0; i--) {
      const start = now - Math.floor(r() * 4 * DAY);
      const open = r() < 0.3;
      const end = open ? undefined : Math.min(now, start + Math.floor(5 + r() * 600) * MIN);
      ws.push(win(`W${k}-${i}`, pick(cells).id, pick(causes), start, end, Math.round(r() * 100) / 100));
    }
    const at = now - Math.floor(r() * 3 * DAY);
    const q =
      r() < 0.5
        ? { cell: pick(cells).id, at }
        : { lat: 31.23 + (r() - 0.5) * 0.02, lon: 121.47 + (r() - 0.5) * 0.02, at };
    const ctx = contextFor(q, ws, { inventory, now, words, complaintCount: Math.floor(r() * 4) });
    if (ctx.ok) texts.push(ctx.summary);
    const n = noticeFor(ws, { inventory, now, words });
    if (n) texts.push(n.text, n.expectedFix);
    for (const x of notices(ws, { inventory, now, words, resolvedWithinMs: DAY })) texts.push(x.text);
  }
  t.ok(texts.length > 600, `${texts.length} texts checked`);
  t.ok(
    texts.some((x) => x.startsWith('Yes — ')),
    'the sweep reaches "yes, there was a problem"',
  );
  t.ok(
    texts.some((x) => x.startsWith('We are aware')),
    'the sweep reaches ongoing problems',
  );
  t.ok(
    texts.some((x) => x.startsWith('We found no')),
    'the sweep reaches "no problem"',
  );
  const bad: string[] = [];
  for (const text of texts) {
    for (const [what, re] of FORBIDDEN) if (re.test(text)) bad.push(`${what}: ${text}`);
    const rest = text.replace(TIME, '').replace(DATE, '');
    if (/\d/.test(rest)) bad.push(`a figure that is not a time or date: ${text}`);
  }
  t.same(bad.slice(0, 5), [], 'no forbidden pattern in any text');
});

// ---------------------------------------------------------------------------------------------
// Handling targets

const R0 = Date.parse('2026-11-01T00:00:00Z');
function handled(
  id: string,
  hoursIn: number,
  events: HandlingEvent[],
  over: Partial<Complaint> = {},
  extra: Partial<HandledComplaint> = {},
): HandledComplaint {
  return {
    complaint: {
      id,
      receivedAt: R0 + hoursIn * HOUR,
      channel: 'hotline',
      category: 'network',
      cell: 'S0001-1',
      ...over,
    },
    events,
    ...extra,
  };
}
const at = (id: string, hoursIn: number) => R0 + hoursIn * HOUR;

void t.test('first response verdicts (table)', async (t) => {
  const now = R0 + 200 * HOUR;
  const rows: [string, HandledComplaint, string][] = [
    ['answered after 10 h: met', handled('a', 0, [{ kind: 'responded', at: at('a', 10) }]), 'met'],
    ['answered after exactly 72 h: met', handled('b', 0, [{ kind: 'responded', at: at('b', 72) }]), 'met'],
    ['answered after 73 h: missed', handled('c', 0, [{ kind: 'responded', at: at('c', 73) }]), 'missed'],
    ['never answered, 200 h old: missed', handled('d', 0, []), 'missed'],
    ['never answered, 10 h old: pending, not yet missed', handled('e', 190, []), 'pending'],
    [
      'resolved without a separate response: the resolution answered it',
      handled('f', 0, [{ kind: 'resolved', at: at('f', 5) }]),
      'met',
    ],
    ['a response after now is not seen yet', handled('g', 190, [{ kind: 'responded', at: now + HOUR }]), 'pending'],
  ];
  for (const [spec, h, want] of rows) t.equal(firstResponseVerdict(h, now), want, spec);
});

void t.test('handling stats: overall, per group, weakest, explained share', async (t) => {
  const now = R0 + 30 * DAY;
  const items: HandledComplaint[] = [];
  // Hotline: 10 complaints, all answered within a day, 9 resolved, feedback 8 satisfied of 10.
  for (let i = 0; i < 10; i++)
    items.push(
      handled(
        `h${i}`,
        i * 24,
        [
          { kind: 'responded', at: at('', i * 24 + 20) },
          ...(i < 9 ? [{ kind: 'resolved' as const, at: at('', i * 24 + 30) }] : []),
          { kind: 'feedback', at: at('', i * 24 + 40), satisfied: i < 8 },
        ],
        {},
        { region: 'R1', explained: i % 2 === 0 },
      ),
    );
  // App: 6 complaints, 2 answered late, none resolved; one changed its mind to satisfied.
  for (let i = 0; i < 6; i++)
    items.push(
      handled(
        `a${i}`,
        i * 24,
        [
          { kind: 'responded', at: at('', i * 24 + (i < 2 ? 100 : 5)) },
          ...(i === 0
            ? [
                { kind: 'feedback' as const, at: at('', 200), satisfied: false },
                { kind: 'feedback' as const, at: at('', 300), satisfied: true, score: 4 },
              ]
            : []),
        ],
        { channel: 'app', category: i < 3 ? 'billing' : 'network' },
        { region: 'R2' },
      ),
    );
  // Out of the period, and one still too young to be missed.
  items.push(handled('old', -100, []));
  items.push(handled('young', 30 * 24 - 5, [], { channel: 'app' }));

  const s = handlingStats(items, { from: R0, to: R0 + 31 * DAY, now, by: 'channel' });
  t.equal(s.complaints, 17, 'period filter: 16 + the young one');
  t.match(s.firstResponse, { met: 14, counted: 16, pending: 1, share: 0.875, target: 1, onTarget: false });
  t.match(s.resolution, { met: 9, counted: 16, pending: 1, share: 0.5625, target: 0.9, onTarget: false });
  t.match(
    s.satisfaction,
    { met: 9, counted: 11, share: 0.8182, target: 0.85, onTarget: false },
    'latest feedback counts',
  );
  t.match(s.explainedByNetwork, { network: 14, known: 10, explained: 5, share: 0.5 });
  t.same(
    s.groups.map((g) => g.group),
    ['app', 'hotline'],
  );
  const hotline = s.groups.find((g) => g.group === 'hotline')!;
  t.match(hotline, {
    firstResponse: { share: 1, onTarget: true },
    resolution: { share: 0.9, onTarget: true },
    satisfaction: { share: 0.8, onTarget: false },
  });
  t.same(
    s.weakest.map((w) => `${w.group} ${w.metric}`),
    ['app resolution', 'app firstResponse', 'hotline satisfaction'],
    'largest shortfall first; app satisfaction (1 answer) is below the minimum group size',
  );
  const byRegion = handlingStats(items, { from: R0, to: R0 + 31 * DAY, now, by: 'region' });
  t.same(
    byRegion.groups.map((g) => [g.group, g.complaints]),
    [
      ['R1', 10],
      ['R2', 6],
      ['unknown', 1],
    ],
  );
  const byCategory = handlingStats(items, { from: R0, to: R0 + 31 * DAY, now, by: 'category' });
  t.same(
    byCategory.groups.map((g) => [g.group, g.complaints]),
    [
      ['billing', 3],
      ['network', 14],
    ],
  );
});

void t.test('SLA risk: complaints nearing 72 h without a first response', async (t) => {
  const now = R0 + 100 * HOUR;
  const items = [
    handled('fresh', 90, []),
    handled('near', 35, [], {}, { region: 'R1' }),
    handled('answered', 35, [{ kind: 'responded', at: at('', 40) }]),
    handled('late', 20, []),
    handled('ancient', -300, []),
  ];
  const risks = slaAtRisk(items, now, { warnBeforeMs: 12 * HOUR });
  t.same(
    risks.map((r) => [r.complaint, r.state, r.remainingMs / HOUR]),
    [
      ['late', 'overdue', -8],
      ['near', 'at-risk', 7],
    ],
  );
  t.equal(risks[1]!.region, 'R1');
});
