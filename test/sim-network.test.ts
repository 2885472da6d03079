import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseInventory } from '../config/inventory.js';
import { SimNetwork, isGood, type CellState, type SimOptions } from '../sim/index.js';
import { distanceKm } from '../sim/topology.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Monday 2026-03-02 00:00 in Shanghai (UTC+8, no DST).
const START = Date.parse('2026-03-02T00:00:00+08:00');
const at = (day: number, hour: number, minute = 0) => START + day * DAY + hour * HOUR + minute * MIN;

const base: SimOptions = { seed: 42, regions: 4, sites: 80, start: START, timezone: 'Asia/Shanghai' };
const make = (o: Partial<SimOptions> = {}) => SimNetwork.create({ ...base, ...o });

/** Users and good users over every minute of [from, to), stepping `stepMin`. */
function experience(net: SimNetwork, from: number, to: number, stepMin = 1, cells = net.cells.map((c) => c.id)) {
  let users = 0;
  let good = 0;
  for (let ts = from + MIN; ts <= to; ts += stepMin * MIN) {
    for (const c of cells) {
      const s = net.cellState(c, ts);
      users += s.activeUsers;
      if (isGood(s)) good += s.activeUsers;
    }
  }
  return { users, good, share: good / users };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

void t.test('determinism: the same seed gives the same network, incidents, KPIs and complaints', async (t) => {
  const a = make();
  const b = make();
  t.strictSame(a.cells, b.cells, 'cells');
  t.strictSame(a.sites, b.sites, 'sites');
  t.strictSame(a.regions, b.regions, 'regions');
  t.equal(a.inventoryCsv(), b.inventoryCsv(), 'inventory');
  t.strictSame(a.incidents(START, at(7, 0)), b.incidents(START, at(7, 0)), 'incidents over a week');
  // Sample KPIs in a different order on each network: values must not depend on history.
  const samples: [string, number][] = [];
  for (let k = 0; k < 60; k++)
    samples.push([a.cells[(k * 37) % a.cells.length]!.id, at(k % 7, (k * 5) % 24, (k * 13) % 60)]);
  const fromA = samples.map(([c, ts]) => a.cellState(c, ts));
  const fromB = [...samples]
    .reverse()
    .map(([c, ts]) => b.cellState(c, ts))
    .reverse();
  t.strictSame(fromA, fromB, 'cellState at sampled (cell, minute) pairs, computed in opposite orders');
  t.strictSame(a.complaints(START, at(5, 0)), b.complaints(START, at(5, 0)), 'complaints');
  t.strictSame(a.groundTruth(START, at(5, 0)), b.groundTruth(START, at(5, 0)), 'ground truth');

  const c = make({ seed: 43 });
  t.notSame(
    c.cells.map((x) => [x.lat, x.lon]),
    a.cells.map((x) => [x.lat, x.lon]),
    'another seed places cells elsewhere',
  );
  t.notSame(
    c.incidents(START, at(7, 0)).map((i) => i.id),
    a.incidents(START, at(7, 0)).map((i) => i.id),
    'another seed schedules other incidents',
  );
});

void t.test('purity: cellState is the same whether computed first or after other work', async (t) => {
  const cell = 'S0005-2';
  const ts = at(1, 20, 30);
  const first = make().cellState(cell, ts);
  const busy = make();
  for (let m = 0; m < 300; m += 7) busy.cellState(cell, at(1, 12, m));
  busy.complaints(START, at(3, 0));
  busy.groundTruth(START, at(3, 0));
  busy.linkState('S0005', ts);
  t.strictSame(busy.cellState(cell, ts), first);
  t.strictSame(
    busy.cellState(cell, ts + 25_000),
    first,
    'a time inside the minute names the interval ending at the minute',
  );
});

void t.test('topology', async (t) => {
  const net = make();
  const cellIds = new Set(net.cells.map((c) => c.id));
  t.equal(net.sites.length, 80);
  t.equal(net.regions.length, 4);
  t.strictSame(
    net.regions.map((r) => r.id),
    ['R1', 'R2', 'R3', 'R4'],
  );
  t.equal(net.sites[0]!.id, 'S0001');
  for (const s of net.sites) {
    if (s.cells.length < 3 || s.cells.length > 6) t.fail(`${s.id} has ${s.cells.length} cells`);
    s.cells.forEach((id, i) => {
      const c = net.cells.find((x) => x.id === id)!;
      if (c.snmpIndex !== i + 1 || c.site !== s.id || c.region !== s.region || id !== `${s.id}-${i + 1}`)
        t.fail(`${id}: wrong index/site/region`);
    });
    if (![1000, 300, 400, 500].includes(s.linkSpeedMbps)) t.fail(`${s.id}: link speed ${s.linkSpeedMbps}`);
  }
  for (const c of net.cells) {
    const siblings = net.sites.find((s) => s.id === c.site)!.cells.filter((x) => x !== c.id);
    if (c.neighbours.length > 12) t.fail(`${c.id}: ${c.neighbours.length} neighbours`);
    if (!siblings.every((x) => c.neighbours.includes(x))) t.fail(`${c.id}: own-site cells missing from neighbours`);
    if (!c.neighbours.every((n) => cellIds.has(n) && n !== c.id)) t.fail(`${c.id}: unknown or self neighbour`);
    if (!['LTE1800', 'LTE2600', 'NR3500'].includes(c.tech!)) t.fail(`${c.id}: tech ${c.tech}`);
  }
  t.ok(
    net.cells.filter((c) => c.neighbours.some((n) => !n.startsWith(c.site))).length > 0.9 * net.cells.length,
    'most cells have neighbours on other sites',
  );

  // Regions 50–300 km from their nearest other region.
  for (const r of net.regions) {
    const nearest = Math.min(...net.regions.filter((x) => x !== r).map((x) => distanceKm(r.lat, r.lon, x.lat, x.lon)));
    t.ok(nearest >= 50 && nearest <= 300, `${r.id}: nearest region ${nearest.toFixed(0)} km`);
  }
  // Denser downtown than at the edge.
  const nearestSite = (ring: string) =>
    median(
      net.sites
        .filter((s) => s.ring === ring)
        .map((s) =>
          Math.min(
            ...net.sites
              .filter((x) => x !== s && x.region === s.region)
              .map((x) => distanceKm(s.lat, s.lon, x.lat, x.lon)),
          ),
        ),
    );
  const downtown = nearestSite('downtown');
  const edge = nearestSite('edge');
  t.ok(
    downtown >= 0.2 && downtown <= 1.2,
    `downtown inter-site distance ~0.5 km (median nearest ${downtown.toFixed(2)} km)`,
  );
  t.ok(edge > 1.5 * downtown && edge <= 4, `edge sites sparser (median nearest ${edge.toFixed(2)} km)`);

  const inv = parseInventory(net.inventoryCsv(), 'sim');
  t.strictSame(inv.problems, [], 'the inventory CSV loads without problems');
  t.strictSame(inv.cells, net.cells, 'and round-trips every cell');
  t.ok(net.inventoryCsv().startsWith('id,site,region,lat,lon,neighbours,tech,snmpIndex\n'));
});

void t.test('options are validated with clear errors', async (t) => {
  t.throws(() => make({ timezone: 'Mars/Olympus' }), /timezone: unknown IANA time zone "Mars\/Olympus"/);
  t.throws(() => make({ sites: 0 }), /sites: must be an integer/);
  t.throws(() => make({ regions: 5, sites: 3 }), /at least one site per region/);
  t.throws(() => make({ incidentRatePerSiteDay: -1 }), /incidentRatePerSiteDay/);
});

void t.test('load follows local time', async (t) => {
  const net = make({ incidents: 'none' });
  const users = (day: number, hour: number, filter: (area: string) => boolean = () => true) => {
    let sum = 0;
    for (const s of net.sites)
      if (filter(s.area))
        for (const c of s.cells)
          for (let m = 0; m < 60; m += 10) sum += net.cellState(c, at(day, hour, m + 1)).activeUsers;
    return sum;
  };
  const busiestHour = (day: number, area: string) => {
    let best = 0;
    let bestUsers = -1;
    for (let h = 0; h < 24; h++) {
      const u = users(day, h, (a) => a === area);
      if (u > bestUsers) [best, bestUsers] = [h, u];
    }
    return best;
  };
  const cases: { spec: string; check: () => boolean | string }[] = [
    { spec: 'peak hour (20 h) carries > 4× the night (04 h)', check: () => users(1, 20) > 4 * users(1, 4) },
    {
      spec: 'residential cells peak in the evening (19–22 h)',
      check: () =>
        [19, 20, 21, 22].includes(busiestHour(1, 'residential')) || `busiest ${busiestHour(1, 'residential')} h`,
    },
    {
      spec: 'business cells peak in office hours (9–16 h)',
      check: () =>
        (busiestHour(1, 'business') >= 9 && busiestHour(1, 'business') <= 16) ||
        `busiest ${busiestHour(1, 'business')} h`,
    },
    {
      spec: 'business cells are quieter on Sunday afternoon than on Tuesday afternoon',
      check: () => users(6, 14, (a) => a === 'business') < 0.7 * users(1, 14, (a) => a === 'business'),
    },
    { spec: 'the night trough is around 04 h', check: () => users(1, 4) < users(1, 1) && users(1, 4) < users(1, 7) },
  ];
  for (const c of cases) {
    const r = c.check();
    t.ok(r === true, c.spec, typeof r === 'string' ? { found: r } : {});
  }

  // The same seed in another zone peaks at the same *local* hour.
  const berlin = make({ incidents: 'none', timezone: 'Europe/Berlin', start: Date.parse('2026-03-02T00:00:00+01:00') });
  const localUsers = (n: SimNetwork, start: number, hour: number) => {
    let sum = 0;
    for (const c of n.cells) sum += n.cellState(c.id, start + DAY + hour * HOUR + 30 * MIN).activeUsers;
    return sum;
  };
  const bStart = Date.parse('2026-03-02T00:00:00+01:00');
  t.ok(localUsers(berlin, bStart, 20) > 3 * localUsers(berlin, bStart, 4), 'Berlin: 20 h local busier than 04 h local');
});

void t.test('plausibility of a healthy network', async (t) => {
  for (const seed of [1, 2, 3, 42]) {
    const net = make({ seed, incidents: 'none' });
    const peak = experience(net, at(1, 20), at(1, 21));
    t.ok(
      peak.share >= 0.93 && peak.share <= 0.995,
      `seed ${seed}: good-experience share over the 20–21 h peak is ${peak.share.toFixed(4)} (0.93..0.995)`,
    );
    const night = experience(net, at(1, 3), at(1, 4), 5);
    t.ok(night.share > peak.share, `seed ${seed}: night (${night.share.toFixed(4)}) better than peak`);
  }
  const net = make({ incidents: 'none' });
  const lte = net.cells.filter((c) => c.tech === 'LTE1800').map((c) => c.id);
  const dlAt = (ts: number) => median(lte.map((c) => net.cellState(c, ts).dlMbps));
  const peakDl = dlAt(at(1, 20, 30));
  const nightDl = dlAt(at(1, 4, 30));
  t.ok(
    peakDl < nightDl,
    `LTE1800 median per-user DL lower at peak (${peakDl.toFixed(1)}) than at night (${nightDl.toFixed(1)})`,
  );
  t.ok(peakDl > 10, `most cells at peak comfortably above 5 Mbit/s (median ${peakDl.toFixed(1)})`);
  const prbAt = (ts: number) => median(lte.map((c) => net.cellState(c, ts).prbUtilPct));
  t.ok(prbAt(at(1, 20, 30)) > 2 * prbAt(at(1, 4, 30)), 'PRB utilisation follows load');

  // Ranges every interval must respect.
  for (const c of net.cells.slice(0, 60)) {
    for (const ts of [at(2, 4, 1), at(2, 12, 1), at(2, 20, 31)]) {
      const s = net.cellState(c.id, ts);
      const bad = [
        s.rsrpDbm < -110 || s.rsrpDbm > -70 ? 'rsrp' : '',
        s.sinrDb < -2 || s.sinrDb > 24 ? 'sinr' : '',
        s.rsrqDb < -19.5 || s.rsrqDb > -3 ? 'rsrq' : '',
        s.prbUtilPct < 0 || s.prbUtilPct > 100 ? 'prb' : '',
        s.latencyMs < 5 || s.latencyMs > 600 ? 'latency' : '',
        s.activeUsers < 0 ? 'users' : '',
      ].filter(Boolean);
      if (bad.length > 0)
        t.fail(`${c.id} at ${new Date(ts).toISOString()}: ${bad.join(', ')} out of range`, { state: s });
    }
  }

  // Volumes add up: the site's cells carry (about) what its backhaul carries.
  for (const site of net.sites.slice(0, 10)) {
    const ts = at(1, 20, 10);
    const cellMB = site.cells.reduce((sum, c) => sum + net.cellState(c, ts).dlVolumeMB, 0);
    const linkMB = (net.linkState(site.id, ts).inMbps * 60) / 8;
    if (!(linkMB >= cellMB && linkMB <= cellMB * 1.05 + 5))
      t.fail(`${site.id}: link carried ${linkMB.toFixed(1)} MB for ${cellMB.toFixed(1)} MB of cell traffic`);
  }
  t.pass('volumes checked');
});

void t.test('incident effects', async (t) => {
  // Peak hour of a Tuesday; the healthy state is computed on a network without incidents.
  const ts = at(1, 20, 30);
  const inc = { start: at(1, 20, 0), end: at(1, 21, 0), severity: 0.7 };
  const healthy = make({ incidents: 'none' });
  const site = healthy.sites.find((s) => s.cells.length >= 4 && s.linkKind === 'fibre')!;
  const lte = site.cells.find((c) => healthy.cells.find((x) => x.id === c)!.tech === 'LTE1800')!;
  const before = (c: string): CellState => healthy.cellState(c, ts);
  const after = (i: Parameters<SimNetwork['addIncident']>[0]) => {
    const n = make({ incidents: 'none' });
    n.addIncident(i);
    return n;
  };

  const cases: { spec: string; run: () => void }[] = [
    {
      spec: 'congestion: PRB ≥ 90 % and per-user DL < 5 Mbit/s, users ×2 or more',
      run: () => {
        const s = after({ ...inc, kind: 'congestion', site: site.id, cells: [lte] }).cellState(lte, ts);
        t.ok(s.prbUtilPct >= 90, `prb ${s.prbUtilPct}`);
        t.ok(s.dlMbps < 5, `dl ${s.dlMbps}`);
        t.ok(s.activeUsers >= 2 * before(lte).activeUsers, `users ${s.activeUsers} vs ${before(lte).activeUsers}`);
        t.ok(s.latencyMs > 100, `latency ${s.latencyMs}`);
      },
    },
    {
      spec: 'congestion on an NR cell too',
      run: () => {
        const nrSite = healthy.sites.find((s) =>
          s.cells.some((c) => healthy.cells.find((x) => x.id === c)!.tech === 'NR3500'),
        )!;
        const nr = nrSite.cells.find((c) => healthy.cells.find((x) => x.id === c)!.tech === 'NR3500')!;
        const s = after({ ...inc, kind: 'congestion', site: nrSite.id, cells: [nr], severity: 0.3 }).cellState(nr, ts);
        t.ok(s.prbUtilPct >= 90 && s.dlMbps < 5, `prb ${s.prbUtilPct}, dl ${s.dlMbps}`);
      },
    },
    {
      spec: 'outage: unavailable, no users, no traffic; other cells untouched',
      run: () => {
        const n = after({ ...inc, kind: 'outage', site: site.id, cells: [lte] });
        const s = n.cellState(lte, ts);
        t.equal(s.available, false);
        t.equal(s.activeUsers, 0);
        t.equal(s.dlVolumeMB, 0);
        t.equal(isGood(s), false);
        const other = site.cells.find((c) => c !== lte)!;
        t.strictSame(n.cellState(other, ts), before(other));
        t.ok(n.expectedUsers(lte, ts) > 1, 'the users it would have served are still known');
      },
    },
    {
      spec: 'coverage: RSRP ≥ 10 dB lower, throughput down',
      run: () => {
        const s = after({ ...inc, kind: 'coverage', site: site.id, cells: [lte] }).cellState(lte, ts);
        t.ok(s.rsrpDbm <= before(lte).rsrpDbm - 10, `rsrp ${s.rsrpDbm} vs ${before(lte).rsrpDbm}`);
        t.ok(s.ulMbps < before(lte).ulMbps && s.dlMbps < before(lte).dlMbps, 'throughput down');
      },
    },
    {
      spec: 'interference: SINR < 0 with RSRP unchanged',
      run: () => {
        const s = after({ ...inc, kind: 'interference', site: site.id, cells: [lte], severity: 0.1 }).cellState(
          lte,
          ts,
        );
        t.ok(s.sinrDb < 0, `sinr ${s.sinrDb}`);
        t.equal(s.rsrpDbm, before(lte).rsrpDbm);
        t.ok(s.dlMbps < before(lte).dlMbps / 2, 'throughput collapses');
      },
    },
    {
      spec: 'backhaul saturation: every cell of the site slower, link ~100 % utilised',
      run: () => {
        const n = after({ ...inc, kind: 'backhaul', site: site.id, cells: [], severity: 1 });
        for (const c of site.cells) {
          const s = n.cellState(c, ts);
          t.ok(s.available && s.dlMbps < before(c).dlMbps, `${c}: dl ${s.dlMbps} < ${before(c).dlMbps}`);
        }
        const link = n.linkState(site.id, ts);
        t.ok(link.operUp && link.inMbps / link.speedMbps >= 0.95, `link in ${link.inMbps} of ${link.speedMbps}`);
        t.ok(healthy.linkState(site.id, ts).inMbps / site.linkSpeedMbps < 0.5, 'healthy link far from full');
      },
    },
    {
      spec: 'backhaul down: link down, site out of service',
      run: () => {
        const n = after({ ...inc, kind: 'backhaul', site: site.id, cells: [], linkDown: true });
        t.equal(n.linkState(site.id, ts).operUp, false);
        t.ok(site.cells.every((c) => !n.cellState(c, ts).available));
      },
    },
    {
      spec: 'nothing changes outside the incident window',
      run: () => {
        const n = after({ ...inc, kind: 'outage', site: site.id, cells: [lte] });
        t.strictSame(n.cellState(lte, inc.start), healthy.cellState(lte, inc.start), 'minute ending at start');
        t.strictSame(n.cellState(lte, inc.end + MIN), healthy.cellState(lte, inc.end + MIN), 'minute after end');
        t.equal(n.cellState(lte, inc.start + MIN).available, false, 'first minute inside');
      },
    },
  ];
  for (const c of cases) await t.test(c.spec, async () => c.run());

  const bad: { spec: string; inc: Parameters<SimNetwork['addIncident']>[0]; err: RegExp }[] = [
    { spec: 'unknown site', inc: { ...inc, kind: 'outage', site: 'S9999', cells: [] }, err: /unknown site "S9999"/ },
    {
      spec: 'cell of another site',
      inc: { ...inc, kind: 'outage', site: 'S0001', cells: ['S0002-1'] },
      err: /cell "S0002-1" is not on site S0001/,
    },
    {
      spec: 'severity above 1',
      inc: { ...inc, kind: 'outage', site: 'S0001', cells: [], severity: 2 },
      err: /severity must be within 0..1/,
    },
    {
      spec: 'end before start',
      inc: { ...inc, kind: 'outage', site: 'S0001', cells: [], end: inc.start },
      err: /start < end/,
    },
    {
      spec: 'unknown kind',
      inc: { ...inc, kind: 'flood' as 'outage', site: 'S0001', cells: [] },
      err: /unknown kind "flood"/,
    },
  ];
  const n = make({ incidents: 'none' });
  for (const b of bad) t.throws(() => n.addIncident(b.inc), b.err, `rejects ${b.spec}`);
  n.addIncident({ ...inc, id: 'X1', kind: 'outage', site: 'S0001', cells: [] });
  t.throws(
    () => n.addIncident({ ...inc, id: 'X1', kind: 'outage', site: 'S0001', cells: [] }),
    /already in use/,
    'rejects a duplicate id',
  );
  t.equal(n.incidents(START, at(3, 0)).length, 1, 'and keeps the good one only');
});

void t.test('model Samples and LinkSamples', async (t) => {
  const net = make({ incidents: 'none' });
  const site = net.sites[2]!;
  const ts = at(1, 20, 5);
  const s = net.sample(site.cells[0]!, ts + 10_000);
  t.match(s, { cell: site.cells[0], ts, source: 'sim', intervalS: 60, available: true });
  t.equal(s.dlMbps, net.cellState(site.cells[0]!, ts).dlMbps);
  const l = net.linkSample(site.id, ts);
  t.match(l, {
    link: `bh-${site.id}:1`,
    site: site.id,
    ts,
    source: 'sim',
    speedMbps: site.linkSpeedMbps,
    operUp: true,
  });
  t.ok(l.utilPct! > 0 && l.utilPct! < 100);
  net.addIncident({
    kind: 'outage',
    site: site.id,
    cells: [site.cells[0]!],
    start: ts - 10 * MIN,
    end: ts + 10 * MIN,
    severity: 1,
  });
  t.strictSame(
    net.sample(site.cells[0]!, ts),
    { cell: site.cells[0], ts, source: 'sim', intervalS: 60, available: false, activeUsers: 0 },
    'a down cell has no radio KPIs',
  );
});

void t.test('interval samples: what a collector polling every 5 min would store', async (t) => {
  const net = make({ sites: 8, regions: 2 });
  const site = net.sites[1]!;
  const ts = at(1, 20, 5);
  const { samples, links } = net.intervalSamples(ts + 30_000, 5 * MIN);
  t.equal(samples.length, net.cells.length, 'one sample per cell');
  t.equal(links.length, net.sites.length, 'one link sample per site');
  const s = samples.find((x) => x.cell === site.cells[0])!;
  const last = net.cellState(site.cells[0]!, ts);
  t.match(s, { ts, source: 'sim', intervalS: 300, dlMbps: last.dlMbps, activeUsers: last.activeUsers });
  let volume = 0;
  for (let k = 0; k < 5; k++) volume += net.cellState(site.cells[0]!, ts - k * MIN).dlVolumeMB;
  t.ok(Math.abs(s.dlVolumeMB! - volume) < 1e-6, 'volumes over the whole interval, gauges of its last minute');
  const l = links.find((x) => x.site === site.id)!;
  let inMbps = 0;
  for (let k = 0; k < 5; k++) inMbps += net.linkState(site.id, ts - k * MIN).inMbps / 5;
  t.match(l, { link: `bh-${site.id}:1`, ts, intervalS: 300, speedMbps: site.linkSpeedMbps });
  t.ok(Math.abs(l.inMbps! - inMbps) < 0.01, 'link rates averaged over the interval');
  net.addIncident({ kind: 'outage', site: site.id, cells: [], start: ts - 2 * MIN, end: ts + MIN, severity: 1 });
  const down = net.intervalSamples(ts, 5 * MIN).samples.find((x) => x.cell === site.cells[0])!;
  t.strictSame(down, { cell: site.cells[0], ts, source: 'sim', intervalS: 300, available: false, activeUsers: 0 });
  t.throws(() => net.intervalSamples(ts, 90_000), /multiple of 60000/, 'whole minutes only');
});

void t.test('the seeded incident schedule', async (t) => {
  const days = 14;
  const net = make();
  const list = net.incidents(START, at(days, 0));
  const perDay = list.length / days;
  t.ok(perDay >= 2 && perDay <= 10, `a handful per day for 80 sites (${perDay.toFixed(1)})`);
  t.strictSame(
    new Set(list.map((i) => i.kind)),
    new Set(['outage', 'coverage', 'interference', 'congestion', 'backhaul']),
    'every kind occurs',
  );
  for (const i of list) {
    const site = net.sites.find((s) => s.id === i.site)!;
    const minutes = (i.end - i.start) / MIN;
    const problems = [
      i.start < START ? 'starts before the network' : '',
      minutes < 10 || minutes > 360 ? `lasts ${minutes} min` : '',
      i.severity < 0 || i.severity > 1 ? 'severity' : '',
      i.cells.length === 0 || !i.cells.every((c) => site.cells.includes(c)) ? 'cells' : '',
      i.kind === 'backhaul' && i.cells.length !== site.cells.length ? 'backhaul must take the whole site' : '',
    ].filter(Boolean);
    if (problems.length > 0) t.fail(`${i.id}: ${problems.join(', ')}`);
  }
  t.equal(make({ incidents: 'none' }).incidents(START, at(days, 0)).length, 0, "'none' schedules nothing");
  const busy = make({ incidentRatePerSiteDay: 0.5 }).incidents(START, at(days, 0)).length;
  t.ok(busy > 4 * list.length, `the rate scales the schedule (${busy} vs ${list.length})`);
  // A window query sees exactly the incidents overlapping it.
  const from = at(3, 10);
  const to = at(3, 14);
  t.strictSame(
    net.incidents(from, to).map((i) => i.id),
    list.filter((i) => i.end > from && i.start < to).map((i) => i.id),
  );
});

void t.test('complaints and ground truth', async (t) => {
  const days = 7;
  const from = START;
  const to = at(days, 0);
  const net = make();
  const complaints = net.complaints(from, to);
  const truth = net.groundTruth(from, to);
  const byId = new Map(truth.complaints.map((c) => [c.id, c]));
  const incidents = new Map(net.incidents(from - 3 * DAY, to).map((i) => [i.id, i]));
  const cells = new Map(net.cells.map((c) => [c.id, c]));

  t.equal(complaints.length, truth.complaints.length, 'ground truth covers every complaint');
  t.equal(new Set(complaints.map((c) => c.id)).size, complaints.length, 'ids are unique');
  t.ok(
    complaints.every((c, i) => i === 0 || complaints[i - 1]!.receivedAt <= c.receivedAt),
    'sorted by receivedAt',
  );
  t.ok(
    complaints.every((c) => c.receivedAt >= from && c.receivedAt < to),
    'all received inside the window',
  );
  t.ok(
    complaints.every((c) => /^SIM-/.test(c.id)),
    'ids look like SIM-…',
  );

  const network = complaints.filter((c) => c.category === 'network');
  const noise = network.filter((c) => c.cause === null);
  const noiseShare = noise.length / network.length;
  t.ok(
    network.length / days >= 5,
    `enough network complaints to correlate (${(network.length / days).toFixed(1)} per day)`,
  );
  t.ok(
    noiseShare >= 0.1 && noiseShare <= 0.45,
    `noise share of network complaints ${noiseShare.toFixed(2)} (0.10..0.45)`,
  );
  t.strictSame(
    new Set(complaints.map((c) => c.category)),
    new Set(['network', 'billing', 'efficiency', 'attitude']),
    'all categories',
  );
  t.strictSame(
    new Set(complaints.map((c) => c.channel)),
    new Set(['hotline', 'online', 'social', 'app']),
    'all channels',
  );
  t.ok(
    complaints.filter((c) => c.category !== 'network').every((c) => c.cause === null),
    'other categories have no network cause',
  );
  const withIssue = network.filter((c) => c.issueAt !== undefined).length / network.length;
  t.ok(withIssue > 0.35 && withIssue < 0.65, `about half give issueAt (${withIssue.toFixed(2)})`);

  let delayProblems = 0;
  let causeProblems = 0;
  let locationProblems = 0;
  for (const c of complaints) {
    const g = byId.get(c.id)!;
    const delay = g.receivedAt - g.issueAt;
    if (delay < MIN || delay > 48 * HOUR || (c.issueAt !== undefined && c.issueAt > c.receivedAt)) delayProblems++;
    if (c.cell === undefined && (c.lat === undefined || c.lon === undefined)) locationProblems++;
    if (c.cell !== undefined && c.cell !== g.cell) locationProblems++;
    const home = cells.get(g.cell)!;
    if (c.lat !== undefined && distanceKm(c.lat, c.lon!, home.lat, home.lon) > 2) locationProblems++;
    if (c.cause !== null) {
      if (!g.badAtIssue) causeProblems++;
      const inc = incidents.get(c.cause);
      const near = inc && (inc.cells.includes(g.cell) || inc.cells.some((x) => home.neighbours.includes(x)));
      if (!inc || !near || inc.start >= c.receivedAt || g.issueAt < inc.start || g.issueAt >= inc.end) causeProblems++;
    }
  }
  t.equal(delayProblems, 0, 'every delay within [1 min, 48 h], issueAt never after receivedAt');
  t.equal(
    causeProblems,
    0,
    'every cause names an incident on the cell (or a neighbour), before receipt, covering the issue time, when the cell was bad',
  );
  const noiseBad = truth.complaints.filter((c) => c.category === 'network' && c.cause === null && c.badAtIssue).length;
  t.ok(
    noiseBad < noise.length / 2,
    `some noise falls on cells degraded by load alone, most does not (${noiseBad} of ${noise.length})`,
  );
  t.equal(locationProblems, 0, 'located by the right cell and/or within 2 km');
  const delays = truth.complaints.map((c) => c.receivedAt - c.issueAt);
  t.ok(median(delays) > 30 * MIN && median(delays) < 12 * HOUR, `median delay ${(median(delays) / HOUR).toFixed(1)} h`);
  t.ok(
    delays.some((d) => d > 24 * HOUR),
    'a heavy tail reaches past a day',
  );

  // More complaints per user-minute where incidents are than where they are not.
  let incidentUserMinutes = 0;
  const incidentCellMinutes = new Set<string>();
  for (const inc of truth.incidents) {
    for (let ts = Math.floor(inc.start / MIN) * MIN + MIN; ts <= Math.ceil(inc.end / MIN) * MIN; ts += MIN) {
      for (const c of inc.cells) {
        const key = `${c}@${ts}`;
        if (incidentCellMinutes.has(key)) continue;
        incidentCellMinutes.add(key);
        incidentUserMinutes += net.expectedUsers(c, ts);
      }
    }
  }
  let allUserMinutes = 0;
  for (let ts = from + 10 * MIN; ts <= to; ts += 10 * MIN)
    for (const c of net.cells) allUserMinutes += 10 * net.expectedUsers(c.id, ts);
  const inIncident = network.filter((c) => {
    const g = byId.get(c.id)!;
    return incidentCellMinutes.has(`${g.cell}@${Math.floor(g.issueAt / MIN) * MIN + MIN}`);
  }).length;
  const rateIn = inIncident / incidentUserMinutes;
  const rateOut = (network.length - inIncident) / (allUserMinutes - incidentUserMinutes);
  t.ok(
    rateIn > 20 * rateOut,
    `complaints per user-minute: ${rateIn.toExponential(2)} in incident cells vs ${rateOut.toExponential(2)} elsewhere`,
  );

  // Ground-truth bookkeeping.
  for (const i of truth.incidents) {
    const counted = truth.complaints.filter((c) => c.cause === i.id).length;
    if (!i.affectedCells.every((c) => i.cells.includes(c))) t.fail(`${i.id}: affected cells outside the incident`);
    if (i.affectedUserMinutes > 0 !== i.affectedCells.length > 0) t.fail(`${i.id}: affected users and cells disagree`);
    if (counted > i.complaints) t.fail(`${i.id}: ${counted} complaints in the window, ${i.complaints} in all`);
  }
  t.ok(
    truth.incidents.filter((i) => i.affectedUserMinutes > 0).length > truth.incidents.length / 2,
    'most incidents hurt someone',
  );

  // Windows compose: [a, b) + [b, c) = [a, c).
  const mid = at(3, 13, 17);
  t.strictSame(
    [...net.complaints(from, mid), ...net.complaints(mid, to)].map((c) => c.id),
    complaints.map((c) => c.id),
  );
});

void t.test('an injected outage at peak yields affected users and complaints', async (t) => {
  const net = make({ incidents: 'none' });
  const site = net.sites[3]!;
  const inc = net.addIncident({
    kind: 'outage',
    site: site.id,
    cells: [],
    start: at(2, 19, 0),
    end: at(2, 22, 0),
    severity: 1,
  });
  t.match(inc.id, /^INJ-/);
  const truth = net.groundTruth(at(2, 0), at(5, 0));
  const it = truth.incidents.find((i) => i.id === inc.id)!;
  let expected = 0;
  for (let ts = inc.start + MIN; ts <= inc.end; ts += MIN)
    for (const c of site.cells) expected += net.expectedUsers(c, ts);
  t.ok(
    Math.abs(it.affectedUserMinutes - expected) < 0.01 * expected + 1,
    `affected user-minutes ${it.affectedUserMinutes.toFixed(0)} = the users the cells would have carried (${expected.toFixed(0)})`,
  );
  t.strictSame(it.affectedCells, site.cells);
  t.equal(it.badCellMinutes, site.cells.length * 180);
  t.ok(it.complaints >= 3, `a 3-hour site outage at peak draws complaints (${it.complaints})`);
  t.equal(
    truth.complaints.filter((c) => c.cause === inc.id).length,
    it.complaints,
    'all of them arrive within the following two days',
  );
});

void t.test('golden: a small network is byte-for-byte what it was (UPDATE_GOLDEN=1 rewrites)', async (t) => {
  // Catches unintended model changes: a deliberate one updates the fixture in the same commit.
  const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sim-golden');
  const net = SimNetwork.create({
    seed: 2026,
    regions: 2,
    sites: 8,
    start: START,
    timezone: 'Asia/Shanghai',
    incidentRatePerSiteDay: 0.5,
  });
  const kpis = [at(1, 4, 0), at(1, 12, 30), at(1, 20, 45)].map((ts) => ({
    ts,
    cells: Object.fromEntries(net.cells.map((c) => [c.id, net.cellState(c.id, ts)])),
    links: Object.fromEntries(net.sites.map((s) => [s.id, net.linkState(s.id, ts)])),
  }));
  const files: Record<string, string> = {
    'inventory.csv': net.inventoryCsv(),
    'kpis.json': JSON.stringify(kpis, null, 1) + '\n',
    'truth.json': JSON.stringify(net.groundTruth(START, at(3, 0)), null, 1) + '\n',
    'complaints.json': JSON.stringify(net.complaints(START, at(3, 0)), null, 1) + '\n',
  };
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(fixtures, { recursive: true });
    for (const [name, body] of Object.entries(files)) writeFileSync(join(fixtures, name), body);
  }
  for (const [name, body] of Object.entries(files)) t.equal(body, readFileSync(join(fixtures, name), 'utf8'), name);
});

void t.test('ground truth stays a pure function of the incidents, whatever was asked before addIncident', async (t) => {
  const opts = { seed: 23, regions: 1, sites: 40, start: START, timezone: 'UTC', incidents: 'none' as const };
  const from = START + 2 * DAY;
  const to = from + DAY;
  const asked = SimNetwork.create(opts);
  const noise = asked.groundTruth(from, to).complaints.find((c) => c.cause === null && !c.badAtIssue);
  if (!noise) return t.fail('the seed must give a background complaint on a healthy cell');
  const cell = asked.cells.find((c) => c.id === noise.cell)!;
  const outage = {
    kind: 'outage' as const,
    site: cell.site,
    cells: [cell.id],
    start: noise.issueAt - 10 * MIN,
    end: noise.issueAt + 10 * MIN,
    severity: 1,
  };
  asked.addIncident({ ...outage, id: 'T1' });
  const fresh = SimNetwork.create(opts);
  fresh.addIncident({ ...outage, id: 'T1' });
  const truth = (n: SimNetwork) => n.groundTruth(from, to).complaints.map((c) => [c.id, c.badAtIssue]);
  t.strictSame(truth(asked), truth(fresh), 'same truth as a network that had the incident from the start');
  t.equal(
    asked.groundTruth(from, to).complaints.find((c) => c.id === noise.id)?.badAtIssue,
    true,
    'the complaint now falls in the outage',
  );
});
