/**
 * The detection core's rules with plain values, one table per file of correlator/: local time on
 * DST days, experience, bad-interval rules and local causes, the window machine, link causes,
 * peak hours, baselines and the target's statistics.
 */
import t from 'tap';
import { BaselineStore, medianMad, robustZ, type HourlyMean } from '../correlator/baseline.js';
import { LinkTimeline, dominantCause, intervalCause, linkTrouble } from '../correlator/causes.js';
import { classifyExperience } from '../correlator/experience.js';
import {
  assessInterval,
  baselineValues,
  type AssessContext,
  type Interval,
  type Verdict,
} from '../correlator/interval.js';
import { HOUR_MS, LocalClock, dayString, parseDay } from '../correlator/localtime.js';
import { busyHour, peakSeconds, peakSlot } from '../correlator/peak.js';
import { DEFAULT_DETECTION_SETTINGS as D, settingsWith } from '../correlator/settings.js';
import { kishN, targetResult, wilson, emptySums } from '../correlator/targets.js';
import { newMachine, stepWindow, toWindow, windowSeverity, type StepContext } from '../correlator/windows.js';
import type { Cause, Sample } from '../model/index.js';

const MIN = 60_000;
const berlin = new LocalClock('Europe/Berlin');

void t.test('local time: Europe/Berlin DST days, hour of week, skipped and repeated local times', async (t) => {
  const day = (s: string) => parseDay(s)!;
  const len = (s: string) => (berlin.dayStart(day(s) + 1) - berlin.dayStart(day(s))) / HOUR_MS;
  t.equal(len('2026-03-28'), 24, 'an ordinary day is 24 h');
  t.equal(len('2026-03-29'), 23, 'spring forward: 23 h');
  t.equal(len('2026-10-25'), 25, 'fall back: 25 h');
  const cases: [string, string, { day: string; minute: number; how: number }][] = [
    ['Monday 00:00 local is hour of week 0', '2026-03-23T00:00:00+01:00', { day: '2026-03-23', minute: 0, how: 0 }],
    [
      'Sunday 23:59 local is hour of week 167',
      '2026-03-29T23:59:00+02:00',
      { day: '2026-03-29', minute: 1439, how: 167 },
    ],
    ['01:59 CET, just before the jump', '2026-03-29T00:59:00Z', { day: '2026-03-29', minute: 119, how: 145 }],
    ['one minute later it is 03:00 CEST', '2026-03-29T01:00:00Z', { day: '2026-03-29', minute: 180, how: 147 }],
    ['the first 02:30 of 2026-10-25 (CEST)', '2026-10-25T00:30:00Z', { day: '2026-10-25', minute: 150, how: 146 }],
    [
      'the second 02:30 (CET) is the same local minute',
      '2026-10-25T01:30:00Z',
      { day: '2026-10-25', minute: 150, how: 146 },
    ],
  ];
  for (const [spec, iso, want] of cases) {
    const ts = Date.parse(iso);
    t.same({ day: dayString(berlin.day(ts)), minute: berlin.minuteOfDay(ts), how: berlin.hourOfWeek(ts) }, want, spec);
  }
  t.equal(berlin.utcOf(day('2026-03-29'), 150), Date.parse('2026-03-29T01:00:00Z'), 'skipped 02:30 → the jump');
  t.equal(berlin.utcOf(day('2026-10-25'), 150), Date.parse('2026-10-25T00:30:00Z'), 'repeated 02:30 → first one');
  t.equal(berlin.utcOf(day('2026-07-01'), 19 * 60), Date.parse('2026-07-01T17:00:00Z'), 'summer 19:00 = 17:00Z');
  const lordHowe = new LocalClock('Australia/Lord_Howe');
  // DST ends 2026-04-05 at 02:00 local (+11 → +10:30), i.e. 15:00Z on the 4th: a half-hour change.
  t.equal(lordHowe.offsetMs(Date.parse('2026-04-04T14:59:00Z')), 11 * HOUR_MS, 'before the change');
  t.equal(lordHowe.offsetMs(Date.parse('2026-04-04T15:00:00Z')), 10.5 * HOUR_MS, 'exact at a half-hour change');
  t.equal(parseDay('2026-02-30'), undefined, 'an impossible date is not a day');
  t.throws(() => new LocalClock('Mars/Olympus'), /unknown IANA time zone/);
});

void t.test('experience: present KPIs decide, down is bad, nothing known is unknown', async (t) => {
  const th = D.experience;
  const base: Sample = { cell: 'C', ts: 0, source: 'snmp' };
  const cases: [string, Partial<Sample>, string, number][] = [
    ['all three pass', { dlMbps: 20, ulMbps: 3, latencyMs: 30 }, 'good', 0],
    ['exactly at the thresholds is good', { dlMbps: 5, ulMbps: 1, latencyMs: 100 }, 'good', 0],
    ['DL below: bad, depth 1 − 2/5', { dlMbps: 2, ulMbps: 3, latencyMs: 30 }, 'bad', 0.6],
    ['latency 200 ms: depth 1 − 100/200', { dlMbps: 20, latencyMs: 200 }, 'bad', 0.5],
    ['the largest shortfall wins', { dlMbps: 4, ulMbps: 0.2 }, 'bad', 0.8],
    ['only latency present and fine: good', { latencyMs: 40 }, 'good', 0],
    ['no experience KPI: unknown', { rsrpDbm: -90, activeUsers: 12 }, 'unknown', 0],
    ['down: bad with depth 1 whatever else', { available: false, dlMbps: 50 }, 'bad', 1],
    ['available missing with KPIs: judged as available', { dlMbps: 9 }, 'good', 0],
    ['available true, no KPIs: unknown', { available: true }, 'unknown', 0],
  ];
  for (const [spec, s, exp, depth] of cases) {
    const v = classifyExperience({ ...base, ...s }, th);
    t.equal(v.experience, exp, spec);
    t.ok(Math.abs(v.depth - depth) < 1e-9, `${spec}: depth ${v.depth}`);
  }
});

const kb = (kind: 'hour-of-week' | 'level', median: number, mad: number) => ({ kind, median, mad, n: 8 });
const ctx = (over: Partial<AssessContext> = {}): AssessContext => ({
  experience: D.experience,
  rules: D.rules,
  hourly: {},
  level: {},
  recentUsers: Number.NaN,
  ...over,
});
const good: Sample = {
  cell: 'C',
  ts: 600_000,
  source: 'snmp',
  intervalS: 60,
  available: true,
  activeUsers: 20,
  dlMbps: 30,
  ulMbps: 4,
  latencyMs: 30,
  rsrpDbm: -90,
  sinrDb: 12,
  prbUtilPct: 40,
  dlVolumeMB: 300,
  ulVolumeMB: 30,
};

void t.test('intervals: absolute and relative breaches, local causes, users', async (t) => {
  const hourly = {
    activeUsers: kb('hour-of-week', 20, 2),
    trafficMbps: kb('hour-of-week', 44, 4),
    dlMbps: kb('hour-of-week', 30, 3),
    latencyMs: kb('hour-of-week', 30, 5),
  };
  const level = { rsrpDbm: kb('level', -90, 2), sinrDb: kb('level', 12, 1.5) };
  const cases: {
    spec: string;
    s: Partial<Sample>;
    c?: Partial<AssessContext>;
    verdict: Verdict;
    cause: Cause;
    kpis: string[];
    users?: number;
  }[] = [
    { spec: 'healthy cell: good', s: {}, c: { hourly, level }, verdict: 'good', cause: 'unknown', kpis: [] },
    {
      spec: 'down: outage, users from the baseline',
      s: { available: false, activeUsers: 0 },
      c: { hourly },
      verdict: 'bad',
      cause: 'outage',
      kpis: ['available'],
      users: 20,
    },
    {
      spec: 'down without baseline: recent users',
      s: { available: false },
      c: { recentUsers: 7 },
      verdict: 'bad',
      cause: 'outage',
      kpis: ['available'],
      users: 7,
    },
    {
      spec: 'down with nothing known: one user',
      s: { available: false },
      verdict: 'bad',
      cause: 'outage',
      kpis: ['available'],
      users: 1,
    },
    {
      spec: 'RSRP −115: coverage even with good throughput',
      s: { rsrpDbm: -115 },
      verdict: 'bad',
      cause: 'coverage',
      kpis: ['rsrpDbm'],
    },
    {
      spec: 'RSRP fine, SINR −2: interference',
      s: { sinrDb: -2, dlMbps: 3 },
      verdict: 'bad',
      cause: 'interference',
      kpis: ['dlMbps', 'sinrDb'],
    },
    {
      spec: 'weak RSRP and low SINR: coverage first',
      s: { rsrpDbm: -118, sinrDb: -3 },
      verdict: 'bad',
      cause: 'coverage',
      kpis: ['rsrpDbm', 'sinrDb'],
    },
    {
      spec: 'RSRP 12 dB under its level: relative coverage',
      s: { rsrpDbm: -102 },
      c: { level },
      verdict: 'bad',
      cause: 'coverage',
      kpis: ['rsrpDbm'],
    },
    {
      spec: 'PRB 92 with DL 3 and 25 users: congestion',
      s: { prbUtilPct: 92, dlMbps: 3, activeUsers: 25 },
      verdict: 'bad',
      cause: 'congestion',
      kpis: ['dlMbps', 'prbUtilPct'],
    },
    {
      spec: 'PRB 92 with DL 8: its users are still fine (prbDlFactor 1): good',
      s: { prbUtilPct: 92, dlMbps: 8, activeUsers: 25 },
      verdict: 'good',
      cause: 'unknown',
      kpis: [],
    },
    {
      spec: 'with prbDlFactor 2, PRB 92 and DL 8 is a drift breach, congestion',
      s: { prbUtilPct: 92, dlMbps: 8, activeUsers: 25 },
      c: { rules: { ...D.rules, prbDlFactor: 2 } },
      verdict: 'bad',
      cause: 'congestion',
      kpis: ['prbUtilPct'],
    },
    { spec: 'PRB 92 with DL 12: fine', s: { prbUtilPct: 92, dlMbps: 12 }, verdict: 'good', cause: 'unknown', kpis: [] },
    {
      spec: 'PRB 92, DL 3, 4 users (few, below baseline): unknown cause',
      s: { prbUtilPct: 92, dlMbps: 3, activeUsers: 4 },
      c: { hourly },
      verdict: 'bad',
      cause: 'unknown',
      kpis: ['dlMbps', 'prbUtilPct'],
    },
    {
      spec: 'DL 12 against a median of 30 (MAD 3): relative drop',
      s: { dlMbps: 12 },
      c: { hourly },
      verdict: 'bad',
      cause: 'unknown',
      kpis: ['dlMbps'],
    },
    {
      spec: 'latency 70 against 30 (MAD 5): relative rise',
      s: { latencyMs: 70 },
      c: { hourly },
      verdict: 'bad',
      cause: 'unknown',
      kpis: ['latencyMs'],
    },
    {
      spec: 'users and traffic collapsed, radio fine: silent failure',
      s: { activeUsers: 2, dlVolumeMB: 30, ulVolumeMB: 3 },
      c: { hourly, level },
      verdict: 'bad',
      cause: 'silent-failure',
      kpis: ['activeUsers', 'trafficMbps'],
    },
    {
      spec: 'users collapsed but traffic normal: not silent',
      s: { activeUsers: 2 },
      c: { hourly, level },
      verdict: 'good',
      cause: 'unknown',
      kpis: [],
    },
    {
      spec: 'no experience KPI and no breach: unknown',
      s: { dlMbps: undefined, ulMbps: undefined, latencyMs: undefined },
      verdict: 'unknown',
      cause: 'unknown',
      kpis: [],
    },
    {
      spec: 'no experience KPI but RSRP −120: bad (drift)',
      s: { dlMbps: undefined, ulMbps: undefined, latencyMs: undefined, rsrpDbm: -120 },
      verdict: 'bad',
      cause: 'coverage',
      kpis: ['rsrpDbm'],
    },
  ];
  for (const c of cases) {
    const iv = assessInterval({ ...good, ...c.s }, 60, ctx(c.c));
    t.equal(iv.verdict, c.verdict, c.spec);
    t.equal(iv.localCause, c.cause, `${c.spec}: cause`);
    t.same([...new Set(iv.breaches.map((b) => b.kpi))].sort(), c.kpis, `${c.spec}: breaches`);
    if (c.users !== undefined) t.equal(iv.users, c.users, `${c.spec}: users`);
  }
  const silent = assessInterval({ ...good, activeUsers: 2, dlVolumeMB: 30, ulVolumeMB: 3 }, 60, ctx({ hourly, level }));
  t.equal(silent.badUsers, 18, 'a silent failure: the 18 users who could not attach had a bad experience');
  t.equal(silent.knownWeight, 20 * 60, 'they count as known user-seconds…');
  t.equal(silent.goodWeight, 2 * 60, '…and only the 2 attached are good');
  const slowToo = assessInterval(
    { ...good, activeUsers: 2, dlVolumeMB: 30, ulVolumeMB: 3, dlMbps: 2.5 },
    60,
    ctx({ hourly, level }),
  );
  t.same(
    [slowToo.localCause, slowToo.badUsers, slowToo.knownWeight, slowToo.goodWeight],
    ['silent-failure', 20, 20 * 60, 0],
    'a silent failure whose 2 attached users are slow too: all 20 users had a bad experience',
  );
  t.equal(slowToo.depth, (2 * 0.5 + 18) / 20, 'depth: the 18 missing had none, the 2 attached half of 5 Mbit/s');
  const blindSilent = assessInterval(
    {
      ...good,
      activeUsers: 2,
      dlVolumeMB: 30,
      ulVolumeMB: 3,
      dlMbps: undefined,
      ulMbps: undefined,
      latencyMs: undefined,
    },
    60,
    ctx({ hourly, level }),
  );
  t.same(
    [blindSilent.experience, blindSilent.localCause, blindSilent.knownWeight, blindSilent.goodWeight],
    ['unknown', 'silent-failure', 18 * 60, 0],
    'a silent failure on a cell without throughput KPIs: the 18 missing users still count, as not good',
  );

  // Which badness a troubled site link explains (then the interval's cause is backhaul).
  const transport: [string, Partial<Sample>, boolean][] = [
    ['DL under the threshold', { dlMbps: 2 }, true],
    ['DL 12 against a median of 30: a relative drop', { dlMbps: 12 }, true],
    ['latency 70 against 30: a relative rise', { latencyMs: 70 }, true],
    ['users and traffic vanished (silent)', { activeUsers: 2, dlVolumeMB: 30, ulVolumeMB: 3 }, true],
    ['down', { available: false }, true],
    ['RSRP −115 with good throughput: radio, not transport', { rsrpDbm: -115 }, false],
    ['SINR 3 against a level of 12: radio', { sinrDb: 3 }, false],
  ];
  for (const [spec, over, want] of transport)
    t.equal(assessInterval({ ...good, ...over }, 60, ctx({ hourly, level })).transport, want, `transport: ${spec}`);
  t.equal(assessInterval({ ...good, dlMbps: 2 }, 60, ctx()).depth, 0.6, 'depth of a DL shortfall');
});

/** Intervals from a string: B bad (experience), D drift-only, G good, U unknown, '_' a 5-minute gap. */
function run(pattern: string, stepMs = MIN) {
  const c: StepContext = { rules: D.rules, cell: 'C1', stream: 'counters', site: undefined, links: new LinkTimeline() };
  const m = newMachine();
  const events: { at: number; id: string; end?: number }[] = [];
  let ts = 0;
  for (const ch of pattern) {
    if (ch === '_') {
      ts += 5 * MIN;
      continue;
    }
    ts += stepMs;
    const s: Sample =
      ch === 'B'
        ? { ...good, ts, dlMbps: 2 }
        : ch === 'D'
          ? { ...good, ts, rsrpDbm: -115 }
          : ch === 'G'
            ? { ...good, ts }
            : { cell: 'C1', ts, source: 'snmp' };
    const iv: Interval = assessInterval(s, stepMs / 1000, ctx());
    for (const acc of stepWindow(m, iv, c))
      events.push({ at: ts / MIN, id: acc.id, ...(acc.end !== undefined ? { end: acc.end / MIN } : {}) });
  }
  return { events, machine: m };
}

void t.test('windows: hysteresis, neutral unknowns, gaps, merging, ids', async (t) => {
  const cases: [string, string, { opens: number; closesAt?: number; end?: number; windows: number }][] = [
    ['one bad interval never opens', 'GBGGG', { opens: 0, windows: 0 }],
    ['two bad open at the second; three good close', 'GBBGGG', { opens: 3, closesAt: 6, end: 3, windows: 1 }],
    ['unknown between two bad does not break the run', 'GBUBGGG', { opens: 4, closesAt: 7, end: 4, windows: 1 }],
    ['unknown does not close: GGUG closes on the third good', 'BBGGUG', { opens: 2, closesAt: 6, end: 2, windows: 1 }],
    ['a good in the closing run resets it', 'BBGGBGGG', { opens: 2, closesAt: 8, end: 5, windows: 1 }],
    ['only unknowns: nothing opens (gaps are neutral)', 'UUUUUU', { opens: 0, windows: 0 }],
    ['bad, 20 min of gap, bad: not consecutive', 'B____B', { opens: 0, windows: 0 }],
    ['bad, 10 min gap, bad: consecutive (within mergeGap)', 'B__B', { opens: 12, windows: 1 }],
    [
      're-opening within 15 min merges into the same window (closed at 5, re-opened)',
      'BBGGGGGBBGGG',
      { opens: 2, closesAt: 12, end: 9, windows: 1 },
    ],
    ['re-opening after 15 min is a new window', 'BBGGG____BBGGG', { opens: 2, closesAt: 30, end: 27, windows: 2 }],
  ];
  for (const [spec, pattern, want] of cases) {
    const { events } = run(pattern);
    const ids = new Set(events.map((e) => e.id));
    t.equal(ids.size, want.windows, `${spec}: windows`);
    if (want.opens) t.equal(events[0]?.at, want.opens, `${spec}: opens at minute ${want.opens}`);
    const closes = events.filter((e) => e.end !== undefined);
    if (want.closesAt !== undefined) {
      t.equal(closes.at(-1)?.at, want.closesAt, `${spec}: closes at minute ${want.closesAt}`);
      t.equal(closes.at(-1)?.end, want.end, `${spec}: ends with the last bad interval`);
    }
  }
  const { machine } = run('GBBGGG');
  const w = toWindow(machine.lastClosed!, {});
  t.equal(w.id, `W-C1-c-${MIN.toString(36)}`, 'id from cell, stream and start (start of the first bad interval)');
  t.equal(w.start, MIN, 'start = start of the first bad interval');
  t.same([w.evidence.badIntervals, w.evidence.goodIntervals], [2, 0], 'the closing run is not part of the window');
  t.equal(w.severity, 0.5 + 0.5 * 1 * 0.6, 'all users bad with depth 0.6: 0.8');
  t.equal(w.userMinutes, 40, '20 users × 2 bad minutes');
  const drift = run('DDGGG').machine.lastClosed!;
  t.ok(windowSeverity(drift) < 0.5, 'KPI drift only: severity below 0.5');
  t.equal(toWindow(drift, {}).cause, 'coverage', 'the drift window has its cause');
});

void t.test('causes: links decide backhaul, majority with priority ties, remediation', async (t) => {
  const down = { link: 'L', site: 'S', start: 0, end: 60_000, operUp: false };
  const busy = { link: 'L', site: 'S', start: 0, end: 60_000, operUp: true, utilPct: 95 };
  const cases: [
    string,
    { localCause: Cause; transport: boolean; available: boolean },
    typeof down | typeof busy | undefined,
    Cause,
  ][] = [
    [
      'a down cell beside a down link is backhaul',
      { localCause: 'outage', transport: true, available: false },
      down,
      'backhaul',
    ],
    [
      'a down cell beside a busy link is still an outage',
      { localCause: 'outage', transport: true, available: false },
      busy,
      'outage',
    ],
    [
      'slow users behind a saturated link: backhaul',
      { localCause: 'congestion', transport: true, available: true },
      busy,
      'backhaul',
    ],
    [
      'a radio-only breach is not the link’s doing',
      { localCause: 'coverage', transport: false, available: true },
      busy,
      'coverage',
    ],
    [
      'no link trouble: the local cause',
      { localCause: 'interference', transport: true, available: true },
      undefined,
      'interference',
    ],
  ];
  for (const [spec, iv, trouble, want] of cases) t.equal(intervalCause(iv, trouble), want, spec);
  // Counts in CAUSE_PRIORITY order: outage, backhaul, coverage, interference, congestion, silent-failure, unknown.
  const windowCauses: [string, number[], Cause][] = [
    ['one cause: that one', [0, 0, 5, 0, 0, 0, 0], 'coverage'],
    ['first in priority with a quarter of the known causes wins', [0, 2, 5, 0, 0, 0, 0], 'backhaul'],
    ['a congested hour with an hour of link saturation inside is backhaul', [0, 181, 0, 0, 237, 0, 0], 'backhaul'],
    ['a stray outage minute does not decide a long congestion window', [1, 0, 0, 0, 30, 0, 0], 'congestion'],
    ['a tie goes to the earlier cause', [2, 2, 0, 0, 0, 0, 0], 'outage'],
    ['unknown never outvotes a known cause: 10 min down after 20 unexplained', [10, 0, 0, 0, 0, 0, 20], 'outage'],
    ['a silent failure with unexplained minutes around it', [0, 0, 0, 0, 0, 4, 9], 'silent-failure'],
    ['only unknown: unknown', [0, 0, 0, 0, 0, 0, 7], 'unknown'],
    ['nothing: unknown', [0, 0, 0, 0, 0, 0, 0], 'unknown'],
    ['five causes, none with a quarter: the most frequent', [4, 4, 4, 4, 5, 0, 0], 'congestion'],
  ];
  for (const [spec, counts, want] of windowCauses) t.equal(dominantCause(counts), want, spec);
  const r = D.rules;
  t.equal(
    linkTrouble({ link: 'L', site: 'S', ts: 60_000, source: 'snmp', utilPct: 89 }, r.backhaulUtilPct, 60),
    undefined,
    '89% is fine',
  );
  t.match(
    linkTrouble(
      { link: 'L', site: 'S', ts: 60_000, source: 'snmp', inMbps: 950, speedMbps: 1000 },
      r.backhaulUtilPct,
      60,
    ),
    { utilPct: 95, start: 0 },
    'utilisation from rates when utilPct is missing',
  );
  const tl = new LinkTimeline();
  t.ok(tl.add(busy));
  t.notOk(tl.add({ ...busy }), 'the same link interval twice is a duplicate');
  t.ok(tl.add({ ...down, start: 30_000, end: 90_000 }));
  t.equal(tl.at('S', 50_000, 60_000)?.operUp, false, 'down beats busy when both overlap');
  t.equal(tl.at('S', 100_000, 160_000), undefined, 'nothing after the trouble');
});

void t.test('peak hours: window membership, midnight, DST lengths', async (t) => {
  const day = parseDay('2026-07-01')!;
  const at = (hhmm: string, d = '2026-07-01') => Date.parse(`${d}T${hhmm}:00+02:00`);
  const evening = { from: 19 * 60, to: 22 * 60 };
  const night = { from: 22 * 60, to: 60 };
  const cases: [string, number, typeof evening | 'busy-hour', { day: number; slot: number } | undefined][] = [
    ['19:00 is in [19:00, 22:00)', at('19:00'), evening, { day, slot: 0 }],
    ['22:00 is not', at('22:00'), evening, undefined],
    ['23:30 is in the night window of its own day', at('23:30'), night, { day, slot: 0 }],
    [
      '00:30 belongs to the night window that started the day before',
      at('00:30', '2026-07-02'),
      night,
      { day, slot: 0 },
    ],
    ['01:00 is past it', at('01:00', '2026-07-02'), night, undefined],
    ['busy-hour mode: slot = local clock hour', at('20:15'), 'busy-hour', { day, slot: 20 }],
  ];
  for (const [spec, ts, peak, want] of cases) t.same(peakSlot(berlin, peak, ts), want, spec);
  const spring = parseDay('2026-03-29')!;
  const autumn = parseDay('2026-10-25')!;
  t.equal(peakSeconds(berlin, evening, day), 3 * 3600, 'an ordinary evening: 3 h');
  t.equal(peakSeconds(berlin, { from: 60, to: 240 }, spring), 2 * 3600, '01:00–04:00 on the spring day lasts 2 h');
  t.equal(peakSeconds(berlin, { from: 60, to: 240 }, autumn), 4 * 3600, '…and 4 h on the autumn day');
  t.equal(peakSeconds(berlin, 'busy-hour', autumn, 2), 7200, 'the repeated 02:00 hour counts twice');
  t.equal(peakSeconds(berlin, 'busy-hour', spring, 2), 0, 'the skipped one does not exist');
});

void t.test('baselines: median/MAD with floors, hour of week, hour-of-day fallback, none, level', async (t) => {
  const mm = medianMad(Float64Array.from([10, 10, 10, 10]), 0.1, 1);
  t.same(mm, { median: 10, mad: 1, runMad: 1 }, 'a MAD of 0 is floored (10% of 10 = 1)');
  t.same(
    medianMad(Float64Array.from([1, 2, 3, 4, 100]), 0, 0),
    { median: 3, mad: 1, runMad: 1 },
    'robust to one outlier',
  );
  t.same(
    medianMad(Float64Array.from([3.4, 3.6, 3.8, 4, 4.1]), 0.1, 1),
    { median: 3.8, mad: 1, runMad: 0.38 },
    'a 4-user cell: one sample is judged with the 1-user floor, a sustained run with the hour spread (10% floor)',
  );
  t.equal(robustZ(5, { kind: 'level', median: 10, mad: 0.6745, n: 9 }), -5, 'z = 0.6745 (x − m) / MAD');
  const clock = new LocalClock('UTC');
  const make = (hours: number[]) => {
    const store = new BaselineStore(D.baseline, clock);
    const means: HourlyMean[] = hours.map((h) => ({
      cell: 'C',
      hour: h * HOUR_MS,
      count: 60,
      activeUsers: 20 + (h % 7),
      dlMbps: 30,
      rsrpDbm: -90,
    }));
    store.seed(means);
    return store;
  };
  const H = 24 * 7 * 10 + 20; // some Thursday 20:00 UTC, ten weeks in
  t.equal(
    make([H - 168, H - 336, H - 504]).hourly('C', H * HOUR_MS).activeUsers?.kind,
    'hour-of-week',
    'three previous weeks at the same hour of week',
  );
  t.equal(
    make([H - 168, H - 336]).hourly('C', H * HOUR_MS).activeUsers?.kind,
    undefined,
    'two weeks and no daily values: none',
  );
  t.equal(
    make([H - 24, H - 48, H - 72]).hourly('C', H * HOUR_MS).activeUsers?.kind,
    'hour-of-day',
    'three previous days: hour-of-day',
  );
  t.equal(
    make([H, H + 168]).hourly('C', H * HOUR_MS).activeUsers,
    undefined,
    'its own hour and later ones never count',
  );
  const day0 = Math.floor(H / 24) * 24;
  const levelHours = Array.from({ length: 48 }, (_, i) => day0 - 1 - i);
  t.equal(make(levelHours).level('C', H * HOUR_MS).rsrpDbm?.kind, 'level', 'two days of hourly RSRP: a level');
  t.equal(make(levelHours.slice(0, 20)).level('C', H * HOUR_MS).rsrpDbm, undefined, 'fewer than 24 hours: none');

  // The hour-of-day fallback compares like days: a Saturday with weekend days, a Monday with working days.
  const SAT = 24 * 7 * 10 + 2 * 24 + 8; // day 72 is a Saturday (1970-01-01 was a Thursday); 08:00 UTC
  const daily = (hours: number[], usersOf: (h: number) => number) => {
    const store = new BaselineStore(D.baseline, clock);
    store.seed(hours.map((h) => ({ cell: 'C', hour: h * HOUR_MS, count: 60, activeUsers: usersOf(h) })));
    return store;
  };
  const weekendOf = (h: number) => [5, 6].includes((Math.floor(h / 24) + 3) % 7);
  // Two weeks of 08:00 hours: 40 users on working days, 10 at weekends.
  const mornings = Array.from({ length: 14 }, (_, i) => SAT - 24 * (i + 1));
  const store = daily(mornings, (h) => (weekendOf(h) ? 10 : 40));
  const likeDays: [string, number, number | undefined][] = [
    ['Saturday 08:00: the four weekend mornings before it (10 users)', SAT, 10],
    ['Friday 08:00: the working-day mornings (40 users)', SAT - 24, 40],
  ];
  for (const [spec, h, median] of likeDays)
    t.same(
      [store.hourly('C', h * HOUR_MS).activeUsers?.kind, store.hourly('C', h * HOUR_MS).activeUsers?.median],
      [median === undefined ? undefined : 'hour-of-day', median],
      spec,
    );
  const oneWeek = daily(mornings.slice(0, 7), (h) => (weekendOf(h) ? 10 : 40));
  t.equal(
    oneWeek.hourly('C', SAT * HOUR_MS).activeUsers,
    undefined,
    'a Saturday after one week: two weekend days, no baseline',
  );
  const everyDay = new BaselineStore({ ...D.baseline, weekendDays: [] }, clock);
  everyDay.seed(
    mornings.map((h) => ({ cell: 'C', hour: h * HOUR_MS, count: 60, activeUsers: weekendOf(h) ? 10 : 40 })),
  );
  t.equal(
    everyDay.hourly('C', SAT * HOUR_MS).activeUsers?.median,
    40,
    'weekendDays: [] compares every day with every day',
  );

  // MAD floors per KPI: a share of |median| for quantities with a natural zero, absolute only for dB.
  const floors: [string, Partial<HourlyMean>, 'activeUsers' | 'dlMbps' | 'rsrpDbm' | 'sinrDb', number][] = [
    ['RSRP −85 dBm, flat: the 2 dB floor, not 10% of 85', { rsrpDbm: -85 }, 'rsrpDbm', 2],
    ['SINR 20 dB, flat: the 1.5 dB floor, not 10% of 20', { sinrDb: 20 }, 'sinrDb', 1.5],
    ['DL 30 Mbit/s, flat: 10% of the median', { dlMbps: 30 }, 'dlMbps', 3],
    ['3 users, flat: the 1-user floor', { activeUsers: 3 }, 'activeUsers', 1],
  ];
  for (const [spec, flat, kpi, mad] of floors) {
    const store = new BaselineStore(D.baseline, clock);
    store.seed(
      Array.from({ length: 24 * 21 }, (_, i) => ({ cell: 'C', hour: (H - 1 - i) * HOUR_MS, count: 60, ...flat })),
    );
    const b =
      kpi === 'rsrpDbm' || kpi === 'sinrDb' ? store.level('C', H * HOUR_MS)[kpi] : store.hourly('C', H * HOUR_MS)[kpi];
    t.equal(b?.mad, mad, spec);
  }
  const lvl = { rsrpDbm: { kind: 'level' as const, median: -85, mad: 2, n: 168 } };
  const fault = assessInterval({ ...good, rsrpDbm: -105 }, 60, ctx({ level: lvl }));
  t.same(
    [fault.verdict, fault.localCause],
    ['bad', 'coverage'],
    'an antenna fault 20 dB under a −85 dBm level is coverage',
  );

  // A down cell's samples are not its demand: its users history (outage weight, busy hour) skips them.
  const hist = new BaselineStore(D.baseline, clock);
  const scratch = new Float64Array(8);
  for (let m = 1; m <= 60; m++) {
    const down = m > 30;
    const s: Sample = down
      ? { cell: 'C', ts: H * HOUR_MS + m * MIN, source: 'snmp', intervalS: 60, available: false, activeUsers: 0 }
      : { ...good, ts: H * HOUR_MS + m * MIN, activeUsers: 24 };
    hist.add('C', s.ts - 1, baselineValues(s, 60, scratch));
  }
  const mean = hist.means().find((x) => x.hour === H * HOUR_MS);
  t.equal(mean?.activeUsers, 24, 'half an hour down: the hour’s users are those of the half hour up, not 12');
  t.equal(mean?.counts?.activeUsers, 30, 'counted over the 30 samples up');
});

void t.test(
  'busy hour: highest mean traffic over 28 days, incomplete hours not zero, bouncing beside it',
  async (t) => {
    const clock = new LocalClock('Europe/Berlin');
    const D0 = parseDay('2026-03-20')!; // before the spring change
    type Hours = { day: number; hour: number; traffic?: number; users?: number; count?: number }[];
    const store = (hours: Hours) => {
      const b = new BaselineStore(D.baseline, clock);
      b.seed(
        hours.map((x) => {
          const m: HourlyMean = { cell: 'C', hour: clock.utcOf(x.day, x.hour * 60), count: x.count ?? 60 };
          if (x.traffic !== undefined) m.trafficMbps = x.traffic;
          if (x.users !== undefined) m.activeUsers = x.users;
          return m;
        }),
      );
      return b;
    };
    /** Every hour of days [D0 − n + 1, D0] at 10 Mbit/s, with some hours changed. */
    const days = (n: number, over: (day: number, hour: number) => number | undefined = () => undefined): Hours => {
      const out: Hours = [];
      for (let d = D0 - n + 1; d <= D0; d++)
        for (let h = 0; h < 24; h++) {
          const v = over(d, h);
          if (v !== -1) out.push({ day: d, hour: h, traffic: v ?? 10 });
        }
      return out;
    };
    const cases: [string, Hours, { hour: number | undefined; bouncing: number | undefined; by: string }][] = [
      [
        'hour 20 busiest every day: 20, and 20 on the day',
        days(28, (_, h) => (h === 20 ? 50 : undefined)),
        { hour: 20, bouncing: 20, by: 'traffic' },
      ],
      [
        'the day itself peaks at 18 (a match): consistent 20, bouncing 18',
        days(28, (d, h) => (h === 20 ? 50 : d === D0 && h === 18 ? 80 : undefined)),
        { hour: 20, bouncing: 18, by: 'traffic' },
      ],
      [
        'hour 21 reported on 3 days only, at 40: its mean is 40, not 40 × 3/28 — missing hours are not zero',
        days(28, (d, h) => (h === 21 ? (d > D0 - 3 ? 40 : -1) : h === 20 ? 30 : undefined)),
        { hour: 21, bouncing: 21, by: 'traffic' },
      ],
      [
        'an hour with 5 samples of 60 is still an hour at its own mean',
        [
          ...days(28, (_, h) => (h === 19 ? 30 : h === 22 ? -1 : undefined)),
          { day: D0, hour: 22, traffic: 45, count: 5 },
        ],
        { hour: 22, bouncing: 22, by: 'traffic' },
      ],
      [
        'the day 28 days back is outside the window, the one 27 back inside',
        [...days(27), { day: D0 - 28, hour: 3, traffic: 10_000 }, { day: D0 - 27, hour: 4, traffic: 20 }],
        { hour: 4, bouncing: 0, by: 'traffic' },
      ],
      ['a tie goes to the earlier hour', days(28), { hour: 0, bouncing: 0, by: 'traffic' }],
      [
        'no volumes: users stand in for traffic',
        Array.from({ length: 24 }, (_, h) => ({ day: D0, hour: h, users: h === 9 ? 30 : 5 })),
        { hour: 9, bouncing: 9, by: 'users' },
      ],
      ['no data: no busy hour', [], { hour: undefined, bouncing: undefined, by: 'none' }],
    ];
    for (const [spec, hours, want] of cases) t.same(busyHour(store(hours), clock, 'C', D0), want, spec);

    // The autumn day has two local 02:00 hours: both count for the clock hour 2, at their mean.
    const autumn = parseDay('2026-10-25')!;
    const first = Date.parse('2026-10-25T00:00:00Z'); // 02:00 CEST; an hour later 02:00 CET
    const evening = Date.parse('2026-10-25T19:00:00Z'); // 20:00 CET
    const repeated: [string, number, number, number, number][] = [
      ['90 then 10 against 45: hour 2 at 50', 90, 10, 45, 2],
      ['10 then 90 against 45: hour 2 at 50 (the second 02:00 counts too)', 10, 90, 45, 2],
      ['90 then 10 against 55: hour 20 (the mean of both, not the busier one)', 90, 10, 55, 20],
    ];
    for (const [spec, a, b2, ev, want] of repeated) {
      const b = new BaselineStore(D.baseline, clock);
      b.seed([
        { cell: 'C', hour: first, count: 60, trafficMbps: a },
        { cell: 'C', hour: first + HOUR_MS, count: 60, trafficMbps: b2 },
        { cell: 'C', hour: evening, count: 60, trafficMbps: ev },
      ]);
      t.equal(busyHour(b, clock, 'C', autumn).hour, want, spec);
    }
  },
);

void t.test('targets: Wilson interval, Kish n, status rules', async (t) => {
  const [lo, hi] = wilson(0.95, 100);
  t.ok(
    Math.abs(lo - 0.8882) < 1e-3 && Math.abs(hi - 0.9785) < 1e-3,
    `Wilson(0.95, 100) ≈ [0.888, 0.978]: ${lo}, ${hi}`,
  );
  t.equal(kishN(10, 10), 10, 'ten equal weights of 1: n = 10');
  t.equal(kishN(100, 100 * 100), 1, 'one cell-interval of 100 users: n = 1, not 100');
  const rule = { goal: 0.95, minUsers: 10, minCoverage: 0.5 };
  const head = { day: '2026-07-01', scope: 'cell' as const, id: 'C', final: true };
  const sums = (good: number, known: number, knownS: number, peakS: number) => ({
    ...emptySums(),
    good,
    known,
    w2: known * 60,
    knownS,
    peakS,
    users: known / peakS,
    cells: 1,
  });
  const cases: [string, ReturnType<typeof sums>, string][] = [
    ['96% good, 20 users, full coverage: met', sums(0.96 * 20 * 10800, 20 * 10800, 10800, 10800), 'met'],
    ['90% good: missed', sums(0.9 * 20 * 10800, 20 * 10800, 10800, 10800), 'missed'],
    ['5 mean users: insufficient-data', sums(5 * 10800, 5 * 10800, 10800, 10800), 'insufficient-data'],
    ['40% of the peak covered: insufficient-data', sums(20 * 4320, 20 * 4320, 4320, 10800), 'insufficient-data'],
    ['nothing known: insufficient-data', sums(0, 0, 0, 10800), 'insufficient-data'],
  ];
  for (const [spec, s, status] of cases) t.equal(targetResult(s, rule, head).status, status, spec);
  const r = targetResult(sums(0.96 * 20 * 10800, 20 * 10800, 10800, 10800), rule, head);
  t.equal(r.users, 20, 'users = known user-seconds / peak seconds');
  t.ok(r.interval && r.interval[0] < 0.96 && r.interval[1] > 0.96, 'the interval holds the ratio');
  t.equal(settingsWith({ rules: { openAfter: 3 } }).rules.closeAfter, 3, 'settingsWith keeps the other defaults');
});

void t.test('baselines: the hourly ring, allocated a day at a time, wraps and keeps exact sums', async (t) => {
  const clock = new LocalClock('UTC');
  const store = new BaselineStore(D.baseline, clock);
  const ring = (D.baseline.weeks + 1) * 168;
  const H = 24 * 7 * 30 + 5; // 05:00 of some day: hours start mid-page
  const values = (users: number) => Float64Array.from([users, NaN, NaN, NaN, NaN, NaN, NaN, NaN]);
  // Two samples per hour over one and a half rings: the first half ring is overwritten by the last.
  for (let h = H; h < H + ring + ring / 2; h++) {
    store.add('C', h * HOUR_MS, values(h % 100));
    store.add('C', h * HOUR_MS + 30 * MIN, values((h % 100) + 1));
  }
  const means = store.means();
  t.equal(means.length, ring, 'one mean per slot of the ring');
  t.same(
    [means[0]!.hour, means[means.length - 1]!.hour],
    [(H + ring / 2) * HOUR_MS, (H + ring + ring / 2 - 1) * HOUR_MS],
    'the newest ring of hours, older ones overwritten',
  );
  t.ok(
    means.every((m) => m.activeUsers === ((m.hour / HOUR_MS) % 100) + 0.5 && m.counts?.activeUsers === 2),
    'every hour: exact mean of its own two samples (a reused slot starts from zero)',
  );
  t.same(store.hourSum('C', H + ring, 'activeUsers'), { sum: (((H + ring) % 100) * 2 + 1) * 100, count: 2 });
  t.same(store.hourSum('C', H, 'activeUsers'), { sum: 0, count: 0 }, 'an overwritten hour is gone');
  store.add('C', H * HOUR_MS, values(7));
  t.same(store.hourSum('C', H, 'activeUsers'), { sum: 0, count: 0 }, 'a sample older than the ring is not added');
  const fresh = new BaselineStore(D.baseline, clock);
  fresh.add('D', (H + 3) * HOUR_MS, values(4));
  t.same(
    fresh.means().map((m) => [m.hour, m.activeUsers]),
    [[(H + 3) * HOUR_MS, 4]],
    'a new cell: one hour, nothing else',
  );
});
