/**
 * Table retrieval against an in-memory agent whose behaviour each case sets: PDU counts of
 * multi-column GETBULK walks, tooBig halving, SNMPv1 GETNEXT walks ending in noSuchName, GETs of
 * known rows with holes, and agents that misbehave (OIDs going backwards, answers without progress).
 * Plus the poll slots and the SNMP part of the config schema.
 */
import t from 'tap';
import { PollSlots } from '../collectors/snmp/slots.js';
import { linkedSignal } from '../collectors/signals.js';
import { ObjectType, SnmpError, type SnmpVersion, type Varbind } from '../collectors/snmp/session.js';
import { compareOids, getRows, walkColumns, type TableSession, type WalkTuning } from '../collectors/snmp/walk.js';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig } from '../config/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/snmp-config/', import.meta.url));

interface Entry {
  oid: string;
  vb: Varbind;
}

/** An agent over a sorted OID list. `limit`: varbinds per answer above which it says tooBig. */
class FakeAgent implements TableSession {
  readonly entries: Entry[];
  calls: { op: string; oids: number; reps?: number }[] = [];
  constructor(
    readonly version: SnmpVersion,
    values: Record<string, number | [number, unknown]>,
    private readonly opts: { limit?: number; truncateTo?: number; backwards?: boolean; stuck?: boolean } = {},
  ) {
    this.entries = Object.entries(values)
      .map(([oid, v]) => ({
        oid,
        vb: Array.isArray(v) ? { oid, type: v[0], value: v[1] } : { oid, type: ObjectType.Integer, value: v },
      }))
      .sort((a, b) => compareOids(a.oid, b.oid));
  }
  private next(oid: string): Varbind | undefined {
    if (this.opts.stuck)
      return this.entries.find((e) => e.oid === oid)?.vb ?? this.entries.find((e) => compareOids(e.oid, oid) > 0)?.vb;
    if (this.opts.backwards) {
      const m = new RegExp(`^${ENTRY.replace(/\./g, '\\.')}\\.2\\.(\\d+)$`).exec(oid);
      if (m && Number(m[1]) >= 2) return this.entries.find((e) => e.oid === `${ENTRY}.2.${Number(m[1]) - 1}`)?.vb;
    }
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareOids(this.entries[mid]!.oid, oid) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.entries[lo]?.vb;
  }
  async get(oids: string[]): Promise<Varbind[]> {
    this.calls.push({ op: 'get', oids: oids.length });
    if (this.opts.limit && oids.length > this.opts.limit) throw new SnmpError('too-big', 'fake', 'GET answer too big');
    return oids.map((oid) => {
      const hit = this.entries.find((e) => e.oid === oid);
      if (hit) return hit.vb;
      if (this.version === '1') throw new SnmpError('no-such-name', 'fake', `NoSuchName: ${oid}`);
      return { oid, type: ObjectType.NoSuchInstance, value: null };
    });
  }
  async getNext(oids: string[]): Promise<Varbind[]> {
    this.calls.push({ op: 'getnext', oids: oids.length });
    return oids.map((oid) => {
      const vb = this.next(oid);
      if (!vb) throw new SnmpError('no-such-name', 'fake', `NoSuchName: ${oid}`);
      return vb;
    });
  }
  async getBulk(oids: string[], nonRepeaters: number, reps: number): Promise<Varbind[][]> {
    this.calls.push({ op: 'getbulk', oids: oids.length, reps });
    const asked = nonRepeaters + (oids.length - nonRepeaters) * reps;
    if (this.opts.limit && asked > this.opts.limit) throw new SnmpError('too-big', 'fake', 'GETBULK answer too big');
    const out: Varbind[][] = [];
    oids.forEach((oid, i) => {
      const list: Varbind[] = [];
      let at = oid;
      const n = i < nonRepeaters ? 1 : Math.min(reps, this.opts.truncateTo ?? reps);
      for (let k = 0; k < n; k++) {
        const vb = this.next(at) ?? { oid: at, type: ObjectType.EndOfMibView, value: null };
        list.push(vb);
        if (vb.type === ObjectType.EndOfMibView) break;
        at = vb.oid;
      }
      out.push(list);
    });
    return out;
  }
}

const ENTRY = '1.3.6.1.4.1.32473.1.1.1';
const UPTIME = '1.3.6.1.2.1.1.3';

/** A cell-like table: `rows` rows × `cols` columns (2..cols+1), plus sysUpTime and a scalar after the table. */
function table(
  rows: number,
  cols: number,
  skip: (row: number, col: number) => boolean = () => false,
): Record<string, number | [number, unknown]> {
  const v: Record<string, number | [number, unknown]> = {
    [`${UPTIME}.0`]: [ObjectType.TimeTicks, 4242],
    '1.3.6.1.4.1.32473.9.0': 1,
  };
  for (let c = 2; c < cols + 2; c++)
    for (let r = 1; r <= rows; r++) if (!skip(r, c)) v[`${ENTRY}.${c}.${r}`] = r * 100 + c;
  return v;
}
const columns = (cols: number) => Array.from({ length: cols }, (_, i) => `${ENTRY}.${i + 2}`);
const tuning = (maxRepetitions = 25): WalkTuning => ({ maxRepetitions, oidsPerGet: 48 });
const opts = { maxVarbinds: 1000, parallel: 4, maxRows: 10_000 };

void t.test('multi-column GETBULK walk', async (t) => {
  const small = new FakeAgent('2c', table(3, 11));
  const a = await walkColumns(small, 'fake', columns(11), [UPTIME], tuning(), { ...opts, expectedRows: 3 });
  t.equal(a.rows.size, 3);
  t.same(
    a.rows.get('2')!.map((vb) => vb?.value),
    [202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212],
    'every column filed by position',
  );
  t.equal(a.scalars[0]?.value, 4242, 'sysUpTime rides along as a non-repeater');
  t.same(
    small.calls,
    [{ op: 'getbulk', oids: 12, reps: 4 }],
    'a small table of known size: one PDU, sized rows + 1 to see the end',
  );

  const big = new FakeAgent('2c', table(500, 6));
  const b = await walkColumns(big, 'fake', columns(6), [UPTIME], tuning(50), opts);
  t.equal(b.rows.size, 500);
  t.equal(b.varbinds, 500 * 6 + 1);
  // After the first PDU the columns go in 4 concurrent groups (2, 2, 1, 1 columns), 50 rows each per PDU.
  t.ok(
    big.calls.length <= 45,
    `500 rows × 6 columns at 50 repetitions: ${big.calls.length} PDUs (one column per PDU would need 60)`,
  );
  t.ok(big.calls.every((c) => c.op === 'getbulk'));

  const holes = new FakeAgent(
    '2c',
    table(10, 3, (r, c) => c === 3 && r % 2 === 0),
  );
  const h = await walkColumns(holes, 'fake', columns(3), [UPTIME], tuning(), opts);
  t.equal(h.rows.size, 10, 'rows with holes are kept');
  t.equal(h.rows.get('4')![1], undefined, 'the hole is an absent value, not a zero');
  t.equal(h.rows.get('5')![1]?.value, 503);

  const empty = new FakeAgent('2c', { [`${UPTIME}.0`]: [ObjectType.TimeTicks, 1] });
  const e = await walkColumns(empty, 'fake', columns(4), [UPTIME], tuning(), opts);
  t.equal(e.rows.size, 0, 'end of MIB view right away: an empty table, no error');
});

void t.test('tooBig halves max-repetitions and the smaller value is kept for the next poll', async (t) => {
  const agent = new FakeAgent('2c', table(200, 4), { limit: 100 });
  const tune = tuning(50);
  const r = await walkColumns(agent, 'fake', columns(4), [UPTIME], tune, opts);
  t.equal(r.rows.size, 200);
  t.ok(tune.maxRepetitions <= 24, `max-repetitions tuned down to ${tune.maxRepetitions}`);
  const tooBig = agent.calls.filter((c) => 1 + c.oids * (c.reps ?? 0) > 100 + 4);
  t.ok(tooBig.length >= 1 && tooBig.length <= 3, 'a few refused PDUs, then it fits');
  const again = new FakeAgent('2c', table(200, 4), { limit: 100 });
  await walkColumns(again, 'fake', columns(4), [UPTIME], tune, opts);
  t.ok(
    again.calls.every((c) => (c.oids - 1) * (c.reps ?? 0) <= 100),
    'the next poll starts with the value that worked',
  );

  const wide = new FakeAgent('2c', table(3, 8), { limit: 4 });
  const w = await walkColumns(wide, 'fake', columns(8), [UPTIME], tuning(10), opts);
  t.equal(w.rows.size, 3, 'even one row of every column too big: columns are split');
});

void t.test('truncated answers are followed up; agents that loop are stopped with a clear error', async (t) => {
  const trunc = new FakeAgent('2c', table(30, 3), { truncateTo: 2 });
  const r = await walkColumns(trunc, 'fake', columns(3), [UPTIME], tuning(25), opts);
  t.equal(r.rows.size, 30, 'an agent returning fewer repetitions than asked is walked to the end');
  await t.rejects(
    walkColumns(new FakeAgent('2c', table(5, 2), { backwards: true }), 'fake', columns(2), [UPTIME], tuning(), opts),
    /out of order|no progress/,
    'OIDs going backwards',
  );
  await t.rejects(
    walkColumns(new FakeAgent('2c', table(5, 2), { stuck: true }), 'fake', columns(2), [UPTIME], tuning(), opts),
    /no progress/,
    'the same OID again and again',
  );
  await t.rejects(
    walkColumns(new FakeAgent('2c', table(50, 1)), 'fake', columns(1), [UPTIME], tuning(), { ...opts, maxRows: 20 }),
    /more than 20 rows/,
    'a table beyond the row limit is refused',
  );
});

void t.test('SNMPv1: GETNEXT walk, noSuchName ends a column', async (t) => {
  const agent = new FakeAgent('1', table(4, 3));
  const r = await walkColumns(agent, 'fake', columns(3), [UPTIME], tuning(), opts);
  t.equal(r.rows.size, 4);
  t.equal(r.scalars[0]?.value, 4242);
  t.ok(
    agent.calls.every((c) => c.op === 'getnext'),
    'no GETBULK in SNMPv1',
  );
  t.ok(agent.calls[0]!.oids === 4, 'all columns and the scalar in one GETNEXT');
  const last = new FakeAgent(
    '1',
    Object.fromEntries(Object.entries(table(2, 2)).filter(([oid]) => !oid.startsWith('1.3.6.1.4.1.32473.9'))),
  );
  const l = await walkColumns(last, 'fake', columns(2), [UPTIME], tuning(), opts);
  t.equal(l.rows.size, 2, 'a table at the very end of the MIB: noSuchName for the last column ends it');
});

void t.test('known rows by GET: many OIDs per PDU, holes, tooBig splits', async (t) => {
  const agent = new FakeAgent(
    '2c',
    table(100, 5, (r, c) => r === 7 && c === 4),
  );
  const tune = tuning();
  const r = await getRows(agent, 'fake', columns(5), ['3', '7', '99', '1000'], [`${UPTIME}.0`], tune, { parallel: 4 });
  t.same([...r.rows.keys()].sort(), ['3', '7', '99'], 'a row that does not exist gives no row');
  t.equal(r.rows.get('7')![2], undefined, 'noSuchInstance is a hole');
  t.equal(r.scalars[0]?.value, 4242);
  t.same(agent.calls, [{ op: 'get', oids: 21 }], '20 OIDs and sysUpTime.0 in one GET');
  const small = new FakeAgent('2c', table(100, 5), { limit: 8 });
  const tune2 = tuning();
  const s = await getRows(small, 'fake', columns(5), ['1', '2', '3', '4'], [`${UPTIME}.0`], tune2, { parallel: 2 });
  t.equal(s.rows.size, 4);
  t.ok(tune2.oidsPerGet <= 8, `OIDs per GET tuned down to ${tune2.oidsPerGet}`);
  const v1 = new FakeAgent('1', table(3, 2));
  const v = await getRows(v1, 'fake', columns(2), ['1', '5'], [`${UPTIME}.0`], tuning(), { parallel: 1 });
  t.same([...v.rows.keys()], ['1'], 'SNMPv1 noSuchName for a missing row: dropped, the rest still read');
});

void t.test('poll slots: bounded, FIFO, waiters can give up', async (t) => {
  const slots = new PollSlots(2);
  const r1 = await slots.acquire(new AbortController().signal);
  const r2 = await slots.acquire(new AbortController().signal);
  t.equal(slots.inUse, 2);
  const order: number[] = [];
  const giveUp = new AbortController();
  const w3 = slots.acquire(new AbortController().signal).then((r) => (order.push(3), r));
  const w4 = slots.acquire(giveUp.signal);
  const w5 = slots.acquire(new AbortController().signal).then((r) => (order.push(5), r));
  giveUp.abort(new Error('deadline'));
  await t.rejects(w4, /deadline/, 'a waiter whose deadline passed leaves the queue');
  r1();
  r1();
  const r3 = await w3;
  r2();
  const r5 = await w5;
  t.same(order, [3, 5], 'first come, first served; releasing twice frees one slot');
  t.equal(slots.inUse, 2);
  r3();
  r5();
  t.equal(slots.inUse, 0);
});

void t.test('linked signals abort with any source and let go of long-lived ones', async (t) => {
  const long = new AbortController();
  const short = new AbortController();
  const a = linkedSignal([long.signal, short.signal]);
  short.abort(new Error('poll deadline'));
  t.ok(a.signal.aborted);
  t.match(a.signal.reason, /poll deadline/, 'the reason travels');
  const b = linkedSignal([long.signal]);
  b.dispose();
  long.abort(new Error('stop'));
  t.notOk(b.signal.aborted, 'disposed: no longer attached to the long-lived source');
  t.ok(linkedSignal([long.signal]).signal.aborted, 'an already aborted source aborts at once');
});

void t.test('config: SNMP targets and profiles', async (t) => {
  const ok = parseConfig(
    {
      snmp: {
        defaults: { interval: '30s' },
        targets: [
          { name: 'a', host: 'h', community: 'c' },
          {
            name: 'b',
            host: 'h',
            version: 3,
            user: 'u',
            authProtocol: 'sha256',
            authKey: 'k'.repeat(8),
            privProtocol: 'aes256b',
            privKey: 'p'.repeat(8),
            profile: 'if-mib',
            site: 'S1',
            indexes: [1, '2.5'],
          },
        ],
      },
    },
    { env: {} },
  );
  t.equal(ok.snmp.defaults.interval, 30_000);
  const secrets = parseConfig(
    {
      snmp: {
        targets: [
          {
            name: 's',
            host: 'h',
            version: 3,
            user: 'u',
            authProtocol: 'sha',
            authKey: '${AUTH}',
            privProtocol: 'aes',
            privKeyFile: 'priv.key',
          },
        ],
      },
    },
    { env: { AUTH: 'from-the-env' }, baseDir: fixtures },
  );
  t.equal(secrets.snmp.targets[0]!.authKey?.reveal(), 'from-the-env', 'a key from the environment');
  t.equal(secrets.snmp.targets[0]!.privKey?.reveal(), 'from-a-file-123', 'a key from a file');
  t.equal(
    JSON.stringify(secrets.snmp.targets[0]),
    JSON.stringify(secrets.snmp.targets[0]).replace(/from-/g, 'XX'),
    'neither ever prints',
  );
  t.same(ok.snmp.targets[1]!.indexes, [1, '2.5']);
  const problems = (raw: unknown): string[] => {
    try {
      parseConfig(raw, { env: {} });
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  const cases: { spec: string; raw: unknown; want: RegExp }[] = [
    {
      spec: 'profile without cell-id column needs a site',
      raw: {
        snmp: {
          profiles: { p: { entry: '1.3.6.1.4.1.1.1', columns: {} } },
          targets: [{ name: 'a', host: 'h', community: 'c', profile: 'p' }],
        },
      },
      want: /snmp\.targets\.0\.site: required because profile "p" has no cellIdColumn/,
    },
    {
      spec: 'if-mib cannot be redefined',
      raw: { snmp: { profiles: { 'if-mib': { entry: '1.3.6.1.4.1.1.1', cellIdColumn: 1, columns: {} } } } },
      want: /snmp\.profiles\.if-mib: .*built-in/,
    },
    {
      spec: 'bad index',
      raw: { snmp: { targets: [{ name: 'a', host: 'h', community: 'c', indexes: ['x'] }] } },
      want: /snmp\.targets\.0\.indexes\.0/,
    },
    {
      spec: 'unknown profile',
      raw: { snmp: { targets: [{ name: 'a', host: 'h', community: 'c', profile: 'nope' }] } },
      want: /unknown profile "nope"/,
    },
    {
      spec: 'v3 needs a user',
      raw: { snmp: { targets: [{ name: 'a', host: 'h', version: 3 }] } },
      want: /snmp\.targets\.0\.user: required for SNMPv3/,
    },
  ];
  for (const c of cases) t.match(problems(c.raw).join('\n'), c.want, c.spec);
});
