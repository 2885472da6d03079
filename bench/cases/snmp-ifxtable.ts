/**
 * Issue 3, per-varbind efficiency: walk IF-MIB's ifXTable with ~5,000 rows, served by a real snmpd in a
 * network namespace full of veth pairs, with cellwatch's table walker and with `snmpbulkwalk` — same
 * agent, same table, same max-repetitions, same credentials, alternating, in the same run.
 *
 * Needs root and `ip netns`; without them the case reports why it did not run.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SnmpSession, type SnmpCredentials } from '../../collectors/snmp/session.js';
import { walkColumns } from '../../collectors/snmp/walk.js';
import { canCreateNamespaces, createVethNamespace, NETNS_HINT } from '../../test/helpers/netns.js';
import { startSnmpd, type SnmpdServer } from '../../test/helpers/snmpd.js';
import { median, type BenchCase, type BenchContext, type BenchRow } from '../index.js';

const run = promisify(execFile);
const IFX_TABLE = '1.3.6.1.2.1.31.1.1';
const IFX_COLUMNS = Array.from({ length: 19 }, (_, i) => `${IFX_TABLE}.1.${i + 1}`);
const MAX_REPETITIONS = 50;

interface Measure {
  wallMs: number;
  cpuMs: number;
  varbinds: number;
}

async function ourWalk(snmpd: SnmpdServer, credentials: SnmpCredentials): Promise<Measure> {
  const stats = { pdus: 0, retries: 0, timeouts: 0 };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const session = new SnmpSession({
    target: 'bench',
    host: snmpd.host,
    port: snmpd.port,
    credentials,
    timeoutMs: 5000,
    retries: 1,
    deadline: performance.now() + 120_000,
    signal: new AbortController().signal,
    stats,
  });
  try {
    const table = await walkColumns(
      session,
      'bench',
      IFX_COLUMNS,
      [],
      { maxRepetitions: MAX_REPETITIONS, oidsPerGet: 48 },
      { maxVarbinds: 1000, parallel: 4, maxRows: 100_000 },
    );
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, varbinds: table.varbinds };
  } finally {
    session.close();
  }
}

function bulkwalkArgs(snmpd: SnmpdServer, v3: boolean): string[] {
  const auth = v3
    ? [
        '-v3',
        '-l',
        'authPriv',
        '-u',
        snmpd.v3.user,
        '-a',
        'SHA',
        '-A',
        snmpd.v3.authKey,
        '-x',
        'AES',
        '-X',
        snmpd.v3.privKey,
      ]
    : ['-v2c', '-c', snmpd.community];
  return [...auth, `-Cr${MAX_REPETITIONS}`, '-On', '-m', '', `${snmpd.host}:${snmpd.port}`, IFX_TABLE];
}

/** snmpbulkwalk's wall and CPU time (bash's `time` reports the child's user + system CPU). */
async function theirWalk(snmpd: SnmpdServer, v3: boolean): Promise<Measure> {
  const quoted = bulkwalkArgs(snmpd, v3)
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const script = `TIMEFORMAT='%R %U %S'; { time snmpbulkwalk ${quoted} > /dev/null; } 2>&1`;
  const { stdout } = await run('bash', ['-c', script]);
  const [real, user, sys] = stdout.trim().split(/\s+/).slice(-3).map(Number) as [number, number, number];
  return { wallMs: real * 1000, cpuMs: (user + sys) * 1000, varbinds: 0 };
}

async function countBulkwalk(snmpd: SnmpdServer, v3: boolean): Promise<number> {
  const { stdout } = await run('snmpbulkwalk', bulkwalkArgs(snmpd, v3), { maxBuffer: 256 * 1024 * 1024 });
  return stdout.split('\n').filter(Boolean).length;
}

async function measure(
  ctx: BenchContext,
  snmpd: SnmpdServer,
  v3: boolean,
  rounds: number,
  rows: number,
): Promise<BenchRow[]> {
  const credentials: SnmpCredentials = v3
    ? {
        version: '3',
        user: snmpd.v3.user,
        authProtocol: 'sha',
        authKey: snmpd.v3.authKey,
        privProtocol: 'aes',
        privKey: snmpd.v3.privKey,
      }
    : { version: '2c', community: snmpd.community };
  const expected = await countBulkwalk(snmpd, v3);
  await ourWalk(snmpd, credentials); // warm-up: JIT, agent caches
  const ours: Measure[] = [];
  const theirs: Measure[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(await ourWalk(snmpd, credentials));
    theirs.push(await theirWalk(snmpd, v3));
  }
  const got = ours[0]!.varbinds;
  // We walk 19 column OIDs; snmpbulkwalk walks the table OID and so also sees columns the agent lacks as absent.
  if (Math.abs(got - expected) > 19)
    throw new Error(`varbind counts differ: cellwatch ${got}, snmpbulkwalk ${expected}`);
  const label = v3 ? 'v3 authPriv SHA/AES' : 'v2c';
  const wall = median(ours.map((m) => m.wallMs)) / 1000;
  const base = median(theirs.map((m) => m.wallMs)) / 1000;
  ctx.log(
    `${label}: ${got} varbinds; cellwatch ${ours.map((m) => m.wallMs.toFixed(0)).join('/')} ms, snmpbulkwalk ${theirs.map((m) => m.wallMs.toFixed(0)).join('/')} ms`,
  );
  const cpuOurs = (median(ours.map((m) => m.cpuMs)) * 1000) / got;
  const cpuTheirs = (median(theirs.map((m) => m.cpuMs)) * 1000) / expected;
  return [
    {
      case: `snmp: ifXTable walk, ${rows.toLocaleString('en-US')} rows (real snmpd, netns), ${label}`,
      metric: 'wall s (median)',
      ours: wall,
      baseline: `snmpbulkwalk -Cr${MAX_REPETITIONS}`,
      baselineValue: base,
      higherIsBetter: false,
      ...(v3 ? {} : { target: '≤ 1.0× snmpbulkwalk', met: wall <= base }),
      note: `${got.toLocaleString('en-US')} varbinds; ${Math.round(got / wall).toLocaleString('en-US')} varbinds/s vs ${Math.round(expected / base).toLocaleString('en-US')}; cellwatch walks 19 columns in multi-column GETBULKs, 4 groups in flight after the first PDU`,
    },
    {
      case: `snmp: ifXTable walk, ${rows.toLocaleString('en-US')} rows, ${label}`,
      metric: 'CPU µs per varbind (median)',
      ours: cpuOurs,
      baseline: 'snmpbulkwalk (C, output to /dev/null)',
      baselineValue: cpuTheirs,
      higherIsBetter: false,
      note: 'client CPU only (user + system); cellwatch decodes into JS objects in Node',
    },
  ];
}

export const cases: BenchCase[] = [
  {
    name: 'snmp: ifXTable walk vs snmpbulkwalk',
    needs: ['snmpd', 'snmpbulkwalk', 'ip', 'bash'],
    async run(ctx) {
      const pairs = ctx.quick ? 500 : 2500;
      const rounds = ctx.quick ? 3 : 5;
      if (!canCreateNamespaces()) {
        return [
          {
            case: 'snmp: ifXTable walk vs snmpbulkwalk',
            metric: 'wall s',
            ours: Number.NaN,
            higherIsBetter: false,
            note: `not run: ${NETNS_HINT}`,
          },
        ];
      }
      const ns = await createVethNamespace(`cwbench-ifx-${process.pid}`, pairs);
      let snmpd: SnmpdServer | undefined;
      try {
        snmpd = await startSnmpd({ netns: ns.name });
        const rows = 2 * pairs + 2;
        ctx.log(`namespace ${ns.name}: ${rows} interfaces (veth pairs made in ${Math.round(ns.createPairsMs)} ms)`);
        return [
          ...(await measure(ctx, snmpd, false, rounds, rows)),
          ...(await measure(ctx, snmpd, true, rounds, rows)),
        ];
      } finally {
        await snmpd?.stop();
        await ns.destroy();
      }
    },
  },
];
