/**
 * Counter logic and row mapping of the SNMP collector, with plain values: golden cases for deltas,
 * sysUpTime verdicts and link rates (test/fixtures/snmp-counters/*.json), then cell and link rows
 * through the built-in and a config-defined profile.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { counterDelta, octetRate, uptimeVerdict, type CounterKind } from '../collectors/snmp/counters.js';
import {
  CELL_ENTRY,
  compileCellProfile,
  ifMibProfile,
  resolveProfile,
  CELL_TABLE_PROFILE,
  IF_MIB,
} from '../collectors/snmp/profiles.js';
import { counterValue, mapCellRows, mapLinkRows, type CounterState, type MapContext } from '../collectors/snmp/rows.js';
import { ObjectType, type Varbind } from '../collectors/snmp/session.js';
import type { TableData } from '../collectors/snmp/walk.js';
import { parseConfig } from '../config/index.js';
import type { Cell } from '../model/index.js';

const golden = <T>(name: string): T[] =>
  JSON.parse(readFileSync(new URL(`./fixtures/snmp-counters/${name}`, import.meta.url), 'utf8')) as T[];
const big = (v: string | null | undefined) => (v === null || v === undefined ? undefined : BigInt(v));

void t.test('counter deltas (golden)', async (t) => {
  const cases = golden<{
    spec: string;
    prev: string | null;
    cur: string;
    kind: CounterKind;
    discontinuity?: boolean;
    maxDelta?: string;
    want: { ok: boolean; delta?: string; wrapped?: boolean; reason?: string };
  }>('deltas.json');
  t.ok(cases.length >= 10);
  for (const c of cases) {
    const got = counterDelta(big(c.prev), BigInt(c.cur), c.kind, {
      ...(c.discontinuity ? { discontinuity: true } : {}),
      ...(c.maxDelta ? { maxDelta: BigInt(c.maxDelta) } : {}),
    });
    const printable = got.ok ? { ok: true, delta: got.delta.toString(), wrapped: got.wrapped } : got;
    t.same(printable, c.want, c.spec);
    if (got.ok) t.ok(got.delta >= 0n, `${c.spec}: never negative`);
  }
});

void t.test('sysUpTime verdicts (golden)', async (t) => {
  const cases = golden<{ spec: string; prev: number | null; cur: number; minMs: number; maxMs: number; want: string }>(
    'uptime.json',
  );
  for (const c of cases)
    t.equal(uptimeVerdict(c.prev ?? undefined, c.cur, { minMs: c.minMs, maxMs: c.maxMs }), c.want, c.spec);
});

void t.test('octet rates capped at the link speed (golden)', async (t) => {
  const cases = golden<{
    spec: string;
    prev: string | null;
    cur: string;
    kind: CounterKind;
    elapsedS: number;
    speedMbps?: number;
    discontinuity?: boolean;
    want: { ok: boolean; mbps?: number; clamped?: boolean; reason?: string };
  }>('rates.json');
  for (const c of cases) {
    const got = octetRate(big(c.prev), BigInt(c.cur), c.kind, c.elapsedS, {
      ...(c.speedMbps !== undefined ? { speedMbps: c.speedMbps } : {}),
      ...(c.discontinuity ? { discontinuity: true } : {}),
    });
    if (c.want.ok) {
      t.ok(got.ok, c.spec);
      if (got.ok) {
        t.ok(Math.abs(got.mbps - c.want.mbps!) < 1e-9, `${c.spec}: ${got.mbps} Mbit/s`);
        t.equal(got.clamped, c.want.clamped, `${c.spec}: clamped`);
        if (c.speedMbps) t.ok(got.mbps <= c.speedMbps, `${c.spec}: never above the speed`);
      }
    } else {
      t.same(got, c.want, c.spec);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Row mapping

const vb = (oid: string, type: number, value: unknown): Varbind => ({ oid, type, value });
const c64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(9); // agents send 1–9 bytes; 9 with a leading zero is the widest
  b.writeBigUInt64BE(v, 1);
  return b;
};
const str = (s: string) => Buffer.from(s, 'utf8');

/** A cell-table TableData: rows by index, columns by the profile's positions. */
function cellTable(
  rows: Record<string, Partial<Record<number, Varbind>>>,
  profile = resolveProfile('cell-table', '2c', {}),
): TableData {
  if (profile.kind !== 'cells') throw new Error('cell profile expected');
  const out = new Map<string, (Varbind | undefined)[]>();
  for (const [index, cols] of Object.entries(rows)) {
    const row: (Varbind | undefined)[] = [];
    for (const [column, v] of Object.entries(cols)) {
      const pos = profile.columns.indexOf(`${CELL_ENTRY}.${column}`);
      if (pos < 0) throw new Error(`column ${column} not in profile`);
      row[pos] = v;
    }
    out.set(index, row);
  }
  return { rows: out, scalars: [], varbinds: 0 };
}

function ctx(over: Partial<MapContext> = {}): MapContext {
  return {
    target: 'site-1',
    tick: 120_000,
    elapsedS: 60,
    intervalS: 60,
    reboot: false,
    prev: new Map(),
    cellByIndex: () => undefined,
    ...over,
  };
}

const fullRow = (id: string, dl: bigint, ul: bigint) => ({
  2: vb('x', ObjectType.OctetString, str(id)),
  3: vb('x', ObjectType.Integer, 1),
  4: vb('x', ObjectType.Counter64, c64(dl)),
  5: vb('x', ObjectType.Counter64, c64(ul)),
  6: vb('x', ObjectType.Gauge32, 9),
  7: vb('x', ObjectType.Gauge32, 12_345),
  8: vb('x', ObjectType.Gauge32, 2_500),
  9: vb('x', ObjectType.Integer, -101),
  10: vb('x', ObjectType.Integer, -250),
  11: vb('x', ObjectType.Integer, -1320),
  12: vb('x', ObjectType.Gauge32, 88),
});

void t.test('Counter64 Buffers of any width become exact BigInts', async (t) => {
  const cases: [string, Buffer, bigint][] = [
    ['one byte', Buffer.from([7]), 7n],
    ['nine bytes with the leading zero of a value ≥ 2^63', c64(2n ** 64n - 1n), 2n ** 64n - 1n],
    ['above 2^53', c64(2n ** 60n + 3n), 2n ** 60n + 3n],
  ];
  for (const [spec, buf, want] of cases) t.equal(counterValue(vb('x', ObjectType.Counter64, buf)), want, spec);
  t.equal(counterValue(vb('x', ObjectType.Counter32, 4294967295)), 4294967295n, 'Counter32 number');
  t.equal(
    counterValue(vb('x', ObjectType.OctetString, Buffer.from([1]))),
    undefined,
    'an OctetString is not a counter even though it is also a Buffer',
  );
});

void t.test('cell rows: gauges, scales, volumes from deltas, resets', async (t) => {
  const profile = resolveProfile('cell-table', '2c', {});
  if (profile.kind !== 'cells') throw new Error('unreachable');
  const first = mapCellRows(
    profile,
    cellTable({ 1: fullRow('C1', 10_000_000n, 1_000_000n) }),
    ctx({ elapsedS: undefined }),
  );
  t.same(
    first.items,
    [
      {
        cell: 'C1',
        ts: 120_000,
        source: 'snmp',
        intervalS: 60,
        available: true,
        activeUsers: 9,
        dlMbps: 12.345,
        ulMbps: 2.5,
        rsrpDbm: -101,
        sinrDb: -2.5,
        rsrqDb: -13.2,
        prbUtilPct: 88,
      },
    ],
    'first poll: gauges only',
  );
  t.same(first.resets, []);

  const second = mapCellRows(
    profile,
    cellTable({ 1: fullRow('C1', 12_500_000n, 1_250_000n) }),
    ctx({ prev: first.next }),
  );
  t.equal(second.items[0]!.dlVolumeMB, 2.5, 'octet delta / 1e6');
  t.equal(second.items[0]!.ulVolumeMB, 0.25);

  const down = mapCellRows(profile, cellTable({ 1: fullRow('C1', 100n, 1_300_000n) }), ctx({ prev: second.next }));
  t.notOk('dlVolumeMB' in down.items[0]!, 'counter went down: no volume');
  t.equal(down.items[0]!.ulVolumeMB, 0.05, 'the other counter still fine');
  t.same(down.resets, ['C1'], 'the cell is reported for a counter-reset gap');
  t.equal(down.items[0]!.dlMbps, 12.345, 'gauges unaffected by a counter reset');

  const afterReset = mapCellRows(
    profile,
    cellTable({ 1: fullRow('C1', 1_000_100n, 1_400_000n) }),
    ctx({ prev: down.next }),
  );
  t.equal(afterReset.items[0]!.dlVolumeMB, 1, 'the reset value is the new baseline');

  const reboot = mapCellRows(
    profile,
    cellTable({ 1: fullRow('C1', 9_000_000n, 9_000_000n) }),
    ctx({ prev: afterReset.next, reboot: true }),
  );
  t.notOk(
    'dlVolumeMB' in reboot.items[0]! || 'ulVolumeMB' in reboot.items[0]!,
    'agent restart: no volumes even though counters went up',
  );
  t.same(reboot.resets, ['C1']);
});

void t.test('cell rows: holes, unavailable cells, inventory mapping, rows that vanish', async (t) => {
  const profile = resolveProfile('cell-table', '2c', {});
  if (profile.kind !== 'cells') throw new Error('unreachable');
  const inv = new Map<string, Cell>([
    ['S9-3', { id: 'S9-3', site: 'S9', region: 'R', lat: 0, lon: 0, neighbours: [], snmpIndex: 3 }],
  ]);
  const m = mapCellRows(
    profile,
    cellTable({
      1: { 2: vb('x', ObjectType.OctetString, str('H1')), 7: vb('x', ObjectType.Gauge32, 5000) },
      2: { ...fullRow('D2', 1n, 1n), 3: vb('x', ObjectType.Integer, 2), 7: vb('x', ObjectType.Gauge32, 0) },
      3: { 7: vb('x', ObjectType.Gauge32, 1000) },
      4: { 7: vb('x', ObjectType.Gauge32, 1000) },
    }),
    ctx({ cellByIndex: (i) => [...inv.values()].find((c) => String(c.snmpIndex) === i) }),
  );
  t.same(
    m.items.find((s) => s.cell === 'H1'),
    { cell: 'H1', ts: 120_000, source: 'snmp', intervalS: 60, dlMbps: 5 },
    'a row with holes keeps what it has; missing fields stay absent (unknown)',
  );
  const d2 = m.items.find((s) => s.cell === 'D2')!;
  t.equal(d2.available, false);
  t.notOk('dlMbps' in d2 || 'activeUsers' in d2 || 'rsrpDbm' in d2, 'a down cell reports no measured KPIs');
  t.ok(
    m.items.some((s) => s.cell === 'S9-3' && s.dlMbps === 1),
    'a row without an id is mapped through the inventory (site + snmpIndex)',
  );
  t.same(m.unmapped, ['4'], 'a row nobody can name is reported, not guessed');
  const later = mapCellRows(
    profile,
    cellTable({ 1: { 2: vb('x', ObjectType.OctetString, str('H1')) } }),
    ctx({ prev: m.next }),
  );
  t.same([...later.next.keys()], ['1'], 'counter state of rows that left the table is dropped (memory stays flat)');
});

void t.test('config profile: a vendor table with kbit/s and centi-dB columns, enum and string kinds', async (t) => {
  const cfg = parseConfig(
    {
      snmp: {
        profiles: {
          'acme-enb': {
            entry: '1.3.6.1.4.1.99999.5.2.1',
            cellIdColumn: 3,
            columns: {
              dlMbps: { column: 10, scale: 0.001 },
              sinrDb: { column: 12, scale: 0.01 },
              rsrpDbm: { column: 13, kind: 'string' },
              available: { column: 4, kind: 'enum', map: { '0': false, '1': true } },
              dlVolumeMB: { column: 20, kind: 'counter', scale: 1e-6 },
              prbUtilPct: { column: '1.3.6.1.4.1.99999.5.3.1.7', kind: 'counter', scale: 0.01 },
            },
          },
        },
      },
    },
    { env: {} },
  );
  const profile = compileCellProfile('acme-enb', cfg.snmp.profiles['acme-enb']!);
  t.same(
    profile.columns.slice(0, 2),
    ['1.3.6.1.4.1.99999.5.2.1.3', '1.3.6.1.4.1.99999.5.2.1.10'],
    'column numbers under the entry, id column first',
  );
  t.ok(profile.columns.includes('1.3.6.1.4.1.99999.5.3.1.7'), 'a full OID is used as given');
  const row = (
    dl: number,
    sinr: number,
    rsrp: string,
    avail: number,
    vol: bigint,
    busy: number,
  ): (Varbind | undefined)[] => {
    const r: (Varbind | undefined)[] = [];
    r[0] = vb('x', ObjectType.OctetString, str('ACME-7'));
    r[profile.columns.indexOf('1.3.6.1.4.1.99999.5.2.1.10')] = vb('x', ObjectType.Gauge32, dl);
    r[profile.columns.indexOf('1.3.6.1.4.1.99999.5.2.1.12')] = vb('x', ObjectType.Integer, sinr);
    r[profile.columns.indexOf('1.3.6.1.4.1.99999.5.2.1.13')] = vb('x', ObjectType.OctetString, str(rsrp));
    r[profile.columns.indexOf('1.3.6.1.4.1.99999.5.2.1.4')] = vb('x', ObjectType.Integer, avail);
    r[profile.columns.indexOf('1.3.6.1.4.1.99999.5.2.1.20')] = vb('x', ObjectType.Counter64, c64(vol));
    r[profile.columns.indexOf('1.3.6.1.4.1.99999.5.3.1.7')] = vb('x', ObjectType.Counter32, busy);
    return r;
  };
  const table = (r: (Varbind | undefined)[]): TableData => ({ rows: new Map([['1', r]]), scalars: [], varbinds: 0 });
  const a = mapCellRows(profile, table(row(42_000, -375, '-97.5', 1, 5_000_000n, 100)), ctx());
  t.same(
    a.items[0],
    {
      cell: 'ACME-7',
      ts: 120_000,
      source: 'snmp',
      intervalS: 60,
      dlMbps: 42,
      sinrDb: -3.75,
      rsrpDbm: -97.5,
      available: true,
    },
    'gauge scales, string number, enum map',
  );
  const b = mapCellRows(profile, table(row(42_000, -375, 'n/a', 1, 8_000_000n, 100 + 6000)), ctx({ prev: a.next }));
  t.equal(b.items[0]!.dlVolumeMB, 3, 'counter → per-interval volume');
  t.equal(b.items[0]!.prbUtilPct, 1, 'a counter on a non-volume field is a per-second rate: 6000 × 0.01 / 60 s');
  t.notOk('rsrpDbm' in b.items[0]!, 'an unparsable string is unknown, not zero');
  const c = mapCellRows(profile, table(row(0, 0, '0', 0, 8_000_000n, 6100)), ctx({ prev: b.next }));
  t.equal(c.items[0]!.available, false, 'enum map 0 → down');
  t.same(CELL_TABLE_PROFILE.cellIdColumn, 2);
});

void t.test('link rows (IF-MIB): rates, speed cap, discontinuity time, errors', async (t) => {
  const p = ifMibProfile('2c');
  const at = (name: keyof typeof IF_MIB) => p.columns.indexOf(IF_MIB[name]);
  const row = (o: {
    in: bigint;
    out: bigint;
    speed?: number;
    disc?: number;
    oper?: number;
    inErr?: number;
    outErr?: number;
  }): (Varbind | undefined)[] => {
    const r: (Varbind | undefined)[] = [];
    r[at('ifName')] = vb('x', ObjectType.OctetString, str('eth0'));
    r[at('ifHCInOctets')] = vb('x', ObjectType.Counter64, c64(o.in));
    r[at('ifHCOutOctets')] = vb('x', ObjectType.Counter64, c64(o.out));
    if (o.speed !== undefined) r[at('ifHighSpeed')] = vb('x', ObjectType.Gauge32, o.speed);
    if (o.disc !== undefined) r[at('ifCounterDiscontinuityTime')] = vb('x', ObjectType.TimeTicks, o.disc);
    r[at('ifOperStatus')] = vb('x', ObjectType.Integer, o.oper ?? 1);
    r[at('ifInErrors')] = vb('x', ObjectType.Counter32, o.inErr ?? 0);
    r[at('ifOutErrors')] = vb('x', ObjectType.Counter32, o.outErr ?? 0);
    return r;
  };
  const table = (r: (Varbind | undefined)[]): TableData => ({ rows: new Map([['7', r]]), scalars: [], varbinds: 0 });
  const c = (prev: CounterState, over: Partial<MapContext> = {}) => ctx({ target: 'bh-1', site: 'S1', prev, ...over });

  const a = mapLinkRows(
    p,
    table(row({ in: 0n, out: 0n, speed: 1000, disc: 0, inErr: 4294967290 })),
    c(new Map(), { elapsedS: undefined }),
  );
  t.same(
    a.items[0],
    { link: 'bh-1:7', site: 'S1', ts: 120_000, source: 'snmp', intervalS: 60, speedMbps: 1000, operUp: true },
    'first poll: no rates',
  );
  const b = mapLinkRows(
    p,
    table(row({ in: 3_750_000_000n, out: 750_000_000n, speed: 1000, disc: 0, inErr: 5, outErr: 2 })),
    c(a.next),
  );
  t.match(
    b.items[0],
    { inMbps: 500, outMbps: 100, utilPct: 50, inErrors: 11, outErrors: 2 },
    'rates from HC octets; Counter32 error wrap',
  );
  const spike = mapLinkRows(
    p,
    table(row({ in: 3_750_000_000n + 75_000_000_000n, out: 800_000_000n, speed: 1000, disc: 0, inErr: 5, outErr: 2 })),
    c(b.next),
  );
  t.notOk('inMbps' in spike.items[0]!, 'a delta the link cannot carry gives no rate');
  t.equal(spike.items[0]!.utilPct, (100 * ((50_000_000 * 8) / 60 / 1e6)) / 1000, 'utilisation from what is known');
  t.same(spike.resets, ['bh-1:7']);
  const disc = mapLinkRows(
    p,
    table(row({ in: 90_000_000_000n, out: 900_000_000n, speed: 1000, disc: 4242, inErr: 6, outErr: 2 })),
    c(spike.next),
  );
  t.notOk(
    'inMbps' in disc.items[0]! || 'outMbps' in disc.items[0]! || 'inErrors' in disc.items[0]!,
    'a changed ifCounterDiscontinuityTime voids every counter of the row',
  );
  t.same(disc.resets, ['bh-1:7']);
  const down = mapLinkRows(
    p,
    table(row({ in: 90_000_000_000n, out: 900_000_000n, speed: 1000, disc: 4242, oper: 2 })),
    c(disc.next),
  );
  t.match(
    down.items[0],
    { operUp: false, inMbps: 0, outMbps: 0 },
    'oper down with counters standing still: zero traffic is a measurement here',
  );
  const v1 = ifMibProfile('1');
  t.same(
    v1.columns,
    [IF_MIB.ifInOctets, IF_MIB.ifOutOctets, IF_MIB.ifSpeed, IF_MIB.ifOperStatus, IF_MIB.ifInErrors, IF_MIB.ifOutErrors],
    'SNMPv1 cannot carry Counter64: 32-bit octets and ifSpeed',
  );
});
