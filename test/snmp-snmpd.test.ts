/**
 * The SNMP collector against the real Debian snmpd: a synthetic cell table served through
 * pass_persist (test/fixtures/snmp-passpersist/table, fed from a JSON state file the test rewrites),
 * and the machine's own IF-MIB; SNMPv1, v2c and v3 authPriv.
 */
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ManualClock, ManualScheduler } from '../clock/index.js';
import { MemoryAccumulator } from '../collectors/index.js';
import { SnmpCollector } from '../collectors/snmp/index.js';
import { parseConfig, type SnmpConfig } from '../config/index.js';
import type { Cell } from '../model/index.js';
import { requireService, makeTempDir, type Test } from './helpers/service.js';
import { SNMPD_INSTALL_HINT, startSnmpd, type SnmpdServer } from './helpers/snmpd.js';

const HELPER = fileURLToPath(new URL('./fixtures/snmp-passpersist/table', import.meta.url));
const CELL_TABLE = '1.3.6.1.4.1.32473.1.1';
const ENTRY = `${CELL_TABLE}.1`;
const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

type Col = [type: string, value: string | number];
interface Row {
  index: string;
  cols: Record<string, Col>;
}

/** One cwCellEntry row with DESIGN.md's columns. */
function cellRow(index: number, id: string, v: { available?: 1 | 2; dl?: bigint; ul?: bigint; users?: number; thpDl?: number; thpUl?: number; rsrp?: number; sinr?: number; rsrq?: number; prb?: number }): Row {
  const cols: Record<string, Col> = { '2': ['string', id] };
  if (v.available !== undefined) cols['3'] = ['integer', v.available];
  if (v.dl !== undefined) cols['4'] = ['counter64', v.dl.toString()];
  if (v.ul !== undefined) cols['5'] = ['counter64', v.ul.toString()];
  if (v.users !== undefined) cols['6'] = ['gauge', v.users];
  if (v.thpDl !== undefined) cols['7'] = ['gauge', v.thpDl];
  if (v.thpUl !== undefined) cols['8'] = ['gauge', v.thpUl];
  if (v.rsrp !== undefined) cols['9'] = ['integer', v.rsrp];
  if (v.sinr !== undefined) cols['10'] = ['integer', v.sinr];
  if (v.rsrq !== undefined) cols['11'] = ['integer', v.rsrq];
  if (v.prb !== undefined) cols['12'] = ['gauge', v.prb];
  return { index: String(index), cols };
}

class TableState {
  private n = 0;
  constructor(readonly file: string) {}
  /** Atomic replace, so the helper never reads half a file. */
  async write(rows: Row[], entry = ENTRY): Promise<void> {
    const tmp = `${this.file}.${++this.n}`;
    await writeFile(tmp, JSON.stringify({ entry, rows }));
    await rename(tmp, this.file);
  }
}

async function cellSnmpd(t: Test): Promise<{ snmpd: SnmpdServer; state: TableState }> {
  const dir = await makeTempDir('cw-snmp-pp');
  const state = new TableState(join(dir, 'state.json'));
  await state.write([]);
  const snmpd = await startSnmpd({ extraConfig: `pass_persist .${CELL_TABLE} ${HELPER} ${state.file}\n` });
  t.teardown(() => snmpd.stop());
  return { snmpd, state };
}

function snmpConfig(targets: unknown[], extra: Record<string, unknown> = {}): SnmpConfig {
  return parseConfig({ snmp: { targets, ...extra } }, { env: {} }).snmp;
}

function collector(cfg: SnmpConfig, opts: { inventory?: Map<string, Cell>; clock?: ManualClock } = {}) {
  const clock = opts.clock ?? new ManualClock(T0);
  const scheduler = new ManualScheduler(clock);
  const registry = new Registry();
  const c = new SnmpCollector(cfg, { scheduler, log: pino({ level: 'silent' }), registry, inventory: opts.inventory ?? new Map() });
  return { c, clock, scheduler, registry };
}


void t.test('v2c cell-table poll of a pass_persist table into Samples', async (t) => {
  if (!requireService(t, 'snmpd', SNMPD_INSTALL_HINT)) return;
  const { snmpd, state } = await cellSnmpd(t);
  await state.write([
    cellRow(1, 'S1-1', { available: 1, dl: 1_000_000_000n, ul: 200_000_000n, users: 12, thpDl: 23_500, thpUl: 4_250, rsrp: -95, sinr: 1250, rsrq: -1075, prb: 47 }),
    cellRow(2, 'S1-2', { available: 2, dl: 5n, ul: 7n, users: 0, thpDl: 0, thpUl: 0, rsrp: 0, sinr: 0, rsrq: 0, prb: 0 }),
  ]);
  const cfg = snmpConfig([{ name: 'site-1', host: snmpd.host, port: snmpd.port, version: '2c', community: snmpd.community, profile: 'cell-table' }]);
  const { c, clock, scheduler, registry } = collector(cfg);
  const acc = new MemoryAccumulator();
  await c.start(acc);
  t.teardown(() => c.stop());

  t.equal(c.status()[0]?.state, 'pending', 'a target is pending until its first poll');
  await scheduler.advance(60_000);
  t.same(acc.errors.map((e) => e.err.message), [], 'no errors');
  t.equal(acc.samples.length, 2, 'one sample per row');
  const s1 = acc.samples.find((s) => s.cell === 'S1-1')!;
  t.match(s1, { source: 'snmp', ts: T0 + 60_000, intervalS: 60, available: true, activeUsers: 12, rsrpDbm: -95, prbUtilPct: 47 });
  t.equal(s1.dlMbps, 23.5, 'kbit/s gauge → Mbit/s');
  t.equal(s1.ulMbps, 4.25);
  t.equal(s1.sinrDb, 12.5, 'centi-dB → dB');
  t.equal(s1.rsrqDb, -10.75);
  t.notOk('dlVolumeMB' in s1, 'no volume on the first poll: nothing to subtract from');
  const s2 = acc.samples.find((s) => s.cell === 'S1-2')!;
  t.equal(s2.available, false, '2 = down');
  t.notOk('dlMbps' in s2 || 'rsrpDbm' in s2 || 'activeUsers' in s2, 'a down cell carries no measured KPIs (the agent reports zeros, not measurements)');

  await state.write([
    cellRow(1, 'S1-1', { available: 1, dl: 1_450_000_000n, ul: 230_000_000n, users: 14, thpDl: 21_000, thpUl: 4_000, rsrp: -96, sinr: 1100, rsrq: -1100, prb: 52 }),
    cellRow(2, 'S1-2', { available: 1, dl: 2_000_005n, ul: 1_000_007n, users: 3, thpDl: 30_000, thpUl: 6_000, rsrp: -90, sinr: 1500, rsrq: -900, prb: 5 }),
  ]);
  await scheduler.advance(60_000);
  const second = acc.samples.slice(2);
  t.equal(second.length, 2);
  const n1 = second.find((s) => s.cell === 'S1-1')!;
  t.equal(n1.dlVolumeMB, 450, 'Counter64 octet delta → MB');
  t.equal(n1.ulVolumeMB, 30);
  t.equal(n1.intervalS, 60, 'seconds since the previous successful poll');
  t.equal(second.find((s) => s.cell === 'S1-2')!.dlVolumeMB, 2);
  t.equal(c.status()[0]?.state, 'ok');
  t.equal(c.status()[0]?.rows, 2);
  t.equal(c.status()[0]?.lastSuccess, T0 + 120_000);
  const metrics = await registry.getMetricsAsJSON();
  const pdus = metrics.find((m) => m.name === 'cellwatch_snmp_pdus_total')!.values.find((v) => v.labels.target === 'site-1')!.value;
  t.ok(pdus >= 2 && pdus <= 4, `a 2-row table costs about one PDU per poll (got ${pdus} for 2 polls)`);
  t.equal(clock.now(), T0 + 120_000);
  t.same(acc.gaps, [], 'no gaps');
});
