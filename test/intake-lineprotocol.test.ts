/**
 * The line-protocol parser: the golden cases of test/fixtures/intake-lineprotocol/cases.json against
 * the parser (counts and, where given, the exact points), then the same cases against a real InfluxDB
 * 1.6 — accept/refuse per line and the values read back — and the chunked scanner against the
 * one-piece parse.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  LineScanner,
  parseLine,
  parseLines,
  parsePrecision,
  type LinePoint,
  type Precision,
} from '../collectors/intake/lineprotocol.js';
import { INFLUXD_INSTALL_HINT, startInfluxDB } from './helpers/influxdb.js';
import { requireService } from './helpers/service.js';

interface Case {
  spec: string;
  body: string;
  precision?: Precision;
  accepted: number;
  refused: number;
  points?: LinePoint[];
  now?: boolean;
  divergence?: string;
}

/** `{{x*70000}}` in a body stands for 70,000 x's (keeps the fixture small). */
const expand = (s: string) => s.replace(/\{\{(.)\*(\d+)\}\}/g, (_, ch: string, n: string) => ch.repeat(Number(n)));
const cases = (
  JSON.parse(readFileSync(new URL('./fixtures/intake-lineprotocol/cases.json', import.meta.url), 'utf8')) as Case[]
).map((c) => ({ ...c, body: expand(c.body) }));

const NOW = Date.UTC(2026, 10, 28, 20, 15, 42, 123);
const UNIT_MS: Record<Precision, number> = { n: 1, u: 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

void t.test('golden cases: counts and points', async (t) => {
  t.ok(cases.length >= 40, `${cases.length} cases`);
  for (const c of cases) {
    const got = parseLines(c.body, { precision: c.precision ?? 'n', now: NOW });
    t.equal(got.points.length, c.accepted, `${c.spec}: accepted`);
    t.equal(got.rejected.length, c.refused, `${c.spec}: refused`);
    if (c.points) t.same(got.points, c.points, `${c.spec}: points`);
    if (c.now)
      for (const p of got.points)
        t.equal(
          p.ts,
          Math.floor(NOW / UNIT_MS[c.precision ?? 'n']) * UNIT_MS[c.precision ?? 'n'],
          `${c.spec}: now, truncated`,
        );
    for (const r of got.rejected)
      t.ok(r.error.length > 0 && r.line! >= 1, `${c.spec}: rejection has a reason and a line`);
  }
});

void t.test('rejections name the line and the reason', async (t) => {
  const got = parseLines('# header\nm v=1 1\n\nm v="open\nstill open\nm v=2 2\nm v=x 3\n', { now: NOW });
  t.same(
    got.rejected.map((r) => [r.index, r.line]),
    [[1, 4]],
    'the unterminated string swallows the lines after it (as in 1.6) and is reported where it starts',
  );
  const bad = parseLines('m v=1 1\nm v=x 3\nm,a=1,a=2 v=1 1', { now: NOW });
  t.same(
    bad.rejected.map((r) => [r.index, r.line, r.error]),
    [
      [1, 2, 'invalid boolean'],
      [2, 3, 'duplicate tags'],
    ],
  );
  t.equal(parseLine('   # comment', { now: NOW }), null, 'comment');
  t.equal(parseLine('', { now: NOW }), null, 'blank');
});

void t.test('chunked scanning gives the same blocks as one piece', async (t) => {
  const body = cases
    .filter((c) => c.body.length < 1000)
    .map((c) => c.body)
    .join('\n');
  const whole: [string, number][] = [];
  new LineScanner((b, l) => whole.push([b, l])).push(body, true);
  // Deterministic pseudo-random chunk sizes, including 1-character chunks around escapes and quotes.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 23) + 1;
  for (const mode of ['tiny', 'random'] as const) {
    const got: [string, number][] = [];
    const scanner = new LineScanner((b, l) => got.push([b, l]));
    for (let i = 0; i < body.length;) {
      const n = mode === 'tiny' ? 1 : rand();
      scanner.push(body.slice(i, i + n), i + n >= body.length);
      i += n;
    }
    t.same(got, whole, `${mode} chunks: same blocks and line numbers`);
  }
});

void t.test('precision parameter', async (t) => {
  const table: [string | undefined, Precision | undefined, string][] = [
    [undefined, 'n', 'absent: nanoseconds, as InfluxDB'],
    ['', 'n', 'empty: nanoseconds'],
    ['ns', 'n', 'ns as InfluxDB 2 spells it'],
    ['u', 'u', 'u'],
    ['us', 'u', 'us means microseconds (1.6 would silently read nanoseconds)'],
    ['ms', 'ms', 'ms'],
    ['s', 's', 's'],
    ['m', 'm', 'm'],
    ['h', 'h', 'h'],
    ['rfc3339', undefined, 'unknown precision is refused, not read as ns'],
    ['S', undefined, 'case matters'],
  ];
  for (const [q, want, spec] of table) t.equal(parsePrecision(q), want, spec);
});

/** Reads every series of a database back as points (epoch ms), sorted. */
async function readBack(url: string, db: string): Promise<LinePoint[]> {
  const params = new URLSearchParams({ q: 'SELECT * FROM /.*/ GROUP BY *', db, epoch: 'ms' });
  const res = (await (await fetch(`${url}/query?${params.toString()}`)).json()) as {
    results: { series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
  };
  const out: LinePoint[] = [];
  for (const s of res.results[0]?.series ?? [])
    for (const row of s.values) {
      const fields: Record<string, number | boolean | string> = {};
      s.columns.forEach((col, i) => {
        if (i > 0 && row[i] !== null) fields[col] = row[i] as number | boolean | string;
      });
      out.push({ measurement: s.name, tags: s.tags ?? {}, fields, ts: row[0] as number });
    }
  return sortPoints(out);
}

const pointKey = (p: LinePoint) => JSON.stringify([p.measurement, Object.entries(p.tags).sort(), p.ts]);

/** Points with the same series and time merged (later fields win), as InfluxDB stores them. */
function merged(points: LinePoint[]): LinePoint[] {
  const byKey = new Map<string, LinePoint>();
  for (const p of points) {
    const k = pointKey(p);
    const prev = byKey.get(k);
    byKey.set(k, prev ? { ...prev, fields: { ...prev.fields, ...p.fields } } : { ...p, tags: { ...p.tags } });
  }
  return sortPoints([...byKey.values()]);
}

function sortPoints(ps: LinePoint[]): LinePoint[] {
  const norm = (p: LinePoint): LinePoint => ({
    ...p,
    tags: Object.fromEntries(Object.entries(p.tags).sort()),
    fields: Object.fromEntries(Object.entries(p.fields).sort()),
  });
  return ps.map(norm).sort((a, b) => (pointKey(a) < pointKey(b) ? -1 : pointKey(a) > pointKey(b) ? 1 : 0));
}

void t.test('the same cases against a real InfluxDB 1.6', async (t) => {
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  let n = 0;
  for (const c of cases) {
    const db = `case${n++}`;
    await influx.query(`CREATE DATABASE ${db}`);
    const precision = c.precision ?? 'n';
    const before = Date.now();
    const res = await fetch(`${influx.url}/write?db=${db}&precision=${precision}`, { method: 'POST', body: c.body });
    const answer = await res.text();
    const after = Date.now();
    const stored = await readBack(influx.url, db);
    const ours = parseLines(c.body, { precision, now: before });
    const wantStatus = ours.rejected.length === 0 ? 204 : 400;
    if (c.divergence) {
      t.not(res.status, wantStatus, `${c.spec}: still a known divergence (${c.divergence})`);
      continue;
    }
    t.equal(res.status, wantStatus, `${c.spec}: InfluxDB answered ${res.status} ${answer.slice(0, 160)}`);
    if (c.now) {
      const unit = UNIT_MS[precision];
      const ts = stored[0]?.ts ?? NaN;
      t.ok(
        ts % unit === 0 && ts >= Math.floor(before / unit) * unit && ts <= after,
        `${c.spec}: InfluxDB stamped ${ts}, truncated to ${precision}`,
      );
      t.same(
        stored.map((p) => ({ ...p, ts: 0 })),
        merged(ours.points).map((p) => ({ ...p, ts: 0 })),
        `${c.spec}: same values`,
      );
    } else {
      t.same(stored, merged(ours.points), `${c.spec}: the values InfluxDB stored are the ones parsed`);
    }
  }
});

/** Lines near the valid ones: each accepted single-line case with one to three random edits. */
function mutations(count: number): string[] {
  const seeds = cases.filter(
    (c) => c.accepted === 1 && c.refused === 0 && !c.body.includes('\n') && c.body.length < 300,
  );
  const alphabet = [
    ' ',
    ',',
    '=',
    '"',
    '\\',
    'i',
    'u',
    '.',
    'e',
    'E',
    '-',
    '+',
    't',
    'f',
    'T',
    '#',
    '\t',
    'x',
    '0',
    '9',
    '\n',
  ];
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 8) % n;
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let s = seeds[rand(seeds.length)]!.body;
    for (let e = 0, edits = 1 + rand(3); e < edits; e++) {
      const at = rand(s.length + 1);
      const ch = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      s =
        op === 0
          ? s.slice(0, at) + ch + s.slice(at)
          : op === 1
            ? s.slice(0, at) + s.slice(at + 1)
            : s.slice(0, at) + ch + s.slice(at + 1);
    }
    out.push(s);
  }
  return out;
}

void t.test('random edits of valid lines: never an exception, and InfluxDB 1.6 agrees on each', async (t) => {
  const bodies = mutations(400);
  let accepted = 0;
  for (const body of bodies) {
    const r = parseLines(body, { now: NOW });
    accepted += r.points.length;
    t.ok(r.points.length + r.rejected.length === r.lines, 'every line has a verdict');
  }
  t.ok(accepted > 50 && accepted < bodies.length * 2, `a mix of accepted and refused (${accepted} points accepted)`);
  if (!requireService(t, 'influxd', INFLUXD_INSTALL_HINT)) return;
  const influx = await startInfluxDB();
  t.teardown(() => influx.stop());
  await influx.query('CREATE DATABASE fuzz');
  let compared = 0;
  for (const body of bodies) {
    const res = await fetch(`${influx.url}/write?db=fuzz&precision=n`, { method: 'POST', body });
    const answer = await res.text();
    // A type conflict with an earlier mutation's point is the database's history, not this line's syntax.
    if (/field type conflict/.test(answer)) continue;
    const ours = parseLines(body, { now: NOW });
    const ok = ours.rejected.length === 0;
    if (ok !== (res.status === 204))
      t.fail(`${JSON.stringify(body)}: InfluxDB ${res.status} ${answer}, cellwatch ${JSON.stringify(ours.rejected)}`);
    compared++;
  }
  t.ok(compared > bodies.length * 0.8, `${compared} of ${bodies.length} mutated bodies compared, all agreeing`);
});
