import type { EpochMs, SampleSource } from '../../model/index.js';
import {
  CELL_NUMBER_FIELDS,
  LINK_NUMBER_FIELDS,
  SAMPLE_SOURCES,
  isSource,
  type CellNumberField,
  type LinkNumberField,
} from './fields.js';
import type { IntakeCounts, SampleSink } from './index.js';
import {
  LineScanner,
  parseLine,
  timestampMs,
  type FieldValue,
  type LinePoint,
  type Precision,
} from './lineprotocol.js';
import { SampleDecoder, type SampleOptions } from './samples.js';

/*
 * Line-protocol points → Samples, by a mapping that is plain data (config YAML, no code):
 *
 *   - measurement: ping                       # Telegraf's ping input
 *     cell: { tag: url, map: { "10.1.0.1": S0001-1, "10.1.0.2": S0001-2 } }
 *     fields:
 *       average_response_ms: { to: latencyMs }
 *     failure:                                 # any condition true → the test failed
 *       - { field: result_code, ne: 0 }
 *       - { field: percent_packet_loss, ge: 100 }
 *
 * The rules:
 * - a measurement no mapping names is refused ("unknown measurement"), as is a point whose id tag is
 *   missing or (with `map`) not in the table — never guessed;
 * - a mapped field fills its Sample field, multiplied by `scale`; a number where a flag is expected
 *   must be 0 or 1, a string or a boolean where a number is expected refuses the point; the result is
 *   range-checked like any other sample (fields.ts);
 * - fields the mapping does not name are ignored and counted;
 * - with `failure` conditions, a failed test is a sample with `dlMbps: 0` (and `available: true`, as
 *   the probe collector reports its own failed tests) — a user would have failed too, so it is a *bad*
 *   experience, not missing data, yet no claim that the cell is down; a passed one has `available: true`.
 *   For a link mapping a failed test is `operUp: false`;
 * - a point that yields no KPI at all is refused (it would be an empty sample).
 * Defaults: `CELLWATCH_MAPPING`, cellwatch's own schema (docs/schema.md), so an export re-imports.
 */

/** Where an id (cell, link, site) comes from: a tag's value, optionally through a table, or fixed. */
export type IdSource = { tag: string; map?: Record<string, string> } | { value: string };

export type CellTarget = CellNumberField | 'available';
export type LinkTarget = LinkNumberField | 'operUp';

export interface FieldMapping<T extends string = CellTarget | LinkTarget> {
  /** The Sample (or LinkSample) field this line-protocol field fills. */
  to: T;
  /** Multiplier applied before the range check (seconds → ms: 1000; bit/s → Mbit/s: 1e-6). Default 1. */
  scale?: number;
}

/** One test on a field or a tag; every comparison given must hold. */
export interface Condition {
  field?: string;
  tag?: string;
  eq?: FieldValue;
  ne?: FieldValue;
  lt?: number;
  le?: number;
  gt?: number;
  ge?: number;
  in?: FieldValue[];
  notIn?: FieldValue[];
  /** True: holds when the field/tag is absent; false: when present. */
  missing?: boolean;
}

export interface MeasurementMapping {
  measurement: string;
  /** Cell samples (default) or transport-link samples. */
  kind?: 'cell' | 'link';
  /** kind cell: where the cell id comes from. */
  cell?: IdSource;
  /** kind link: where the link id and its site come from. */
  link?: IdSource;
  site?: IdSource;
  /** A fixed source for these samples (default: the caller's, e.g. push). */
  source?: SampleSource;
  /** A tag naming the source (cellwatch's own `source` tag); a missing or unknown value falls back to `source`. */
  sourceTag?: string;
  /** The interval every sample describes, seconds, unless a field gives `intervalS`. */
  intervalS?: number;
  fields: Record<string, FieldMapping>;
  /** Any condition true → the test failed (dlMbps: 0; for a link operUp: false); none true → available. */
  failure?: Condition[];
}

const CELL_TARGETS = new Set<string>([...CELL_NUMBER_FIELDS, 'available']);
const LINK_TARGETS = new Set<string>([...LINK_NUMBER_FIELDS, 'operUp']);

/** cellwatch's own measurements (docs/schema.md): every field by its own name, booleans as 1/0. */
export const CELLWATCH_MAPPING: readonly MeasurementMapping[] = [
  {
    measurement: 'cell_kpi',
    cell: { tag: 'cell' },
    sourceTag: 'source',
    fields: Object.fromEntries([...CELL_TARGETS].map((f) => [f, { to: f as CellTarget }])),
  },
  {
    measurement: 'link',
    kind: 'link',
    link: { tag: 'link' },
    site: { tag: 'site' },
    sourceTag: 'source',
    fields: Object.fromEntries([...LINK_TARGETS].map((f) => [f, { to: f as LinkTarget }])),
  },
];

interface CompiledField {
  name: string;
  to: string;
  scale: number;
  flag: boolean;
}

interface Compiled {
  m: MeasurementMapping;
  link: boolean;
  fields: Map<string, CompiledField>;
  /** Field names, for "expected one of" messages. */
  names: string;
}

/** Mappings checked and indexed by measurement. */
export interface CompiledMappings {
  readonly byMeasurement: ReadonlyMap<string, Compiled>;
  readonly measurements: readonly string[];
}

export type CompileResult = { ok: true; mappings: CompiledMappings } | { ok: false; errors: string[] };

function idSourceProblem(v: IdSource | undefined, path: string): string | undefined {
  if (v === undefined) return `${path}: required`;
  if ('value' in v) return v.value === '' ? `${path}.value: must not be empty` : undefined;
  if (!v.tag) return `${path}.tag: must not be empty`;
  return undefined;
}

/**
 * Checks mappings (the lead's zod schema checks their shape; this checks their meaning) and indexes
 * them. Problems are `path: message`, as config errors are.
 */
export function compileMappings(list: readonly MeasurementMapping[]): CompileResult {
  const errors: string[] = [];
  const byMeasurement = new Map<string, Compiled>();
  list.forEach((m, i) => {
    const path = `[${i}]`;
    if (!m.measurement) errors.push(`${path}.measurement: must not be empty`);
    if (byMeasurement.has(m.measurement)) errors.push(`${path}.measurement: "${m.measurement}" is mapped twice`);
    const link = m.kind === 'link';
    const targets = link ? LINK_TARGETS : CELL_TARGETS;
    const idErrors = link
      ? [idSourceProblem(m.link, `${path}.link`), idSourceProblem(m.site, `${path}.site`)]
      : [idSourceProblem(m.cell, `${path}.cell`)];
    for (const e of idErrors) if (e) errors.push(e);
    if (m.source !== undefined && !isSource(m.source))
      errors.push(`${path}.source: must be one of ${SAMPLE_SOURCES.join(', ')}`);
    const fields = new Map<string, CompiledField>();
    for (const [name, f] of Object.entries(m.fields)) {
      if (!targets.has(f.to))
        errors.push(`${path}.fields.${name}.to: "${f.to}" is not a ${link ? 'link' : 'cell'} sample field`);
      const scale = f.scale ?? 1;
      if (!Number.isFinite(scale) || scale === 0)
        errors.push(`${path}.fields.${name}.scale: must be a finite non-zero number`);
      fields.set(name, { name, to: f.to, scale, flag: f.to === 'available' || f.to === 'operUp' });
    }
    (m.failure ?? []).forEach((c, j) => {
      if ((c.field === undefined) === (c.tag === undefined))
        errors.push(`${path}.failure[${j}]: give exactly one of field or tag`);
      const tests = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'notIn', 'missing'].filter(
        (k) => c[k as keyof Condition] !== undefined,
      );
      if (tests.length === 0)
        errors.push(`${path}.failure[${j}]: give at least one comparison (eq, ne, lt, le, gt, ge, in, notIn, missing)`);
    });
    if (fields.size === 0 && !m.failure?.length)
      errors.push(`${path}.fields: map at least one field (or give failure conditions)`);
    byMeasurement.set(m.measurement, { m, link, fields, names: [...fields.keys()].join(', ') });
  });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, mappings: { byMeasurement, measurements: [...byMeasurement.keys()] } };
}

/** The point field a mapping took a sample field from (looked up only for an error message). */
function originOf(mappings: CompiledMappings, p: LinePoint, target: string): string | undefined {
  const c = mappings.byMeasurement.get(p.measurement);
  if (!c) return undefined;
  for (const f of c.fields.values()) if (f.to === target && p.fields[f.name] !== undefined) return f.name;
  return undefined;
}

let defaultCompiled: CompiledMappings | undefined;
/** CELLWATCH_MAPPING, compiled once. */
export function cellwatchMappings(): CompiledMappings {
  if (!defaultCompiled) {
    const r = compileMappings(CELLWATCH_MAPPING);
    if (!r.ok) throw new Error(`built-in mapping is invalid: ${r.errors.join('; ')}`);
    defaultCompiled = r.mappings;
  }
  return defaultCompiled;
}

function holds(c: Condition, p: LinePoint): boolean {
  const v: FieldValue | undefined = c.field !== undefined ? p.fields[c.field] : p.tags[c.tag!];
  if (c.missing !== undefined && (v === undefined) !== c.missing) return false;
  if (v === undefined) return c.missing === true;
  if (c.eq !== undefined && v !== c.eq) return false;
  if (c.ne !== undefined && v === c.ne) return false;
  if (c.in !== undefined && !c.in.includes(v)) return false;
  if (c.notIn !== undefined && c.notIn.includes(v)) return false;
  if (c.lt !== undefined || c.le !== undefined || c.gt !== undefined || c.ge !== undefined) {
    if (typeof v !== 'number') return false;
    if (c.lt !== undefined && !(v < c.lt)) return false;
    if (c.le !== undefined && !(v <= c.le)) return false;
    if (c.gt !== undefined && !(v > c.gt)) return false;
    if (c.ge !== undefined && !(v >= c.ge)) return false;
  }
  return true;
}

interface Fault {
  field?: string;
  error: string;
}

function resolveId(src: IdSource, p: LinePoint, what: string): string | Fault {
  if ('value' in src) return src.value;
  const v = p.tags[src.tag];
  if (v === undefined)
    return { field: src.tag, error: `${p.measurement} point without a "${src.tag}" tag (it names the ${what})` };
  if (!src.map) return v;
  const mapped = Object.hasOwn(src.map, v) ? src.map[v] : undefined;
  if (mapped === undefined)
    return { field: src.tag, error: `${src.tag}="${v}" is not in the ${p.measurement} mapping's ${what} table` };
  return mapped;
}

/**
 * One point → a sample-shaped object for SampleDecoder (which range-checks it), or why not. The
 * object's own field names are the Sample's (`originOf` tells which point field filled one, so a
 * range error names what the sender sent.
 */
export function mapPoint(
  mappings: CompiledMappings,
  p: LinePoint,
  ignore?: (field: string) => void,
): { value: Record<string, unknown> } | Fault {
  const c = mappings.byMeasurement.get(p.measurement);
  if (!c) {
    const known = mappings.measurements.join(', ');
    return { error: `unknown measurement "${p.measurement}" (mapped: ${known})` };
  }
  const m = c.m;
  const o: Record<string, unknown> = {};
  if (c.link) {
    o.kind = 'link';
    const link = resolveId(m.link!, p, 'link');
    if (typeof link !== 'string') return link;
    const site = resolveId(m.site!, p, 'site');
    if (typeof site !== 'string') return site;
    o.link = link;
    o.site = site;
  } else {
    const cell = resolveId(m.cell!, p, 'cell');
    if (typeof cell !== 'string') return cell;
    o.cell = cell;
  }
  o.ts = p.ts;
  const tagged = m.sourceTag !== undefined ? p.tags[m.sourceTag] : undefined;
  const source = isSource(tagged) ? tagged : m.source;
  if (source !== undefined) o.source = source;
  if (m.intervalS !== undefined) o.intervalS = m.intervalS;
  let kpis = 0;
  for (const name in p.fields) {
    const f = c.fields.get(name);
    if (!f) {
      ignore?.(name);
      continue;
    }
    const v = p.fields[name]!;
    if (f.flag) {
      if (typeof v === 'boolean') o[f.to] = v;
      else if (v === 1 || v === 0) o[f.to] = v === 1;
      else
        return { field: name, error: `field ${name} (→ ${f.to}) must be a boolean or 0/1, got ${JSON.stringify(v)}` };
    } else if (typeof v === 'number') {
      o[f.to] = f.scale === 1 ? v : v * f.scale;
    } else {
      return {
        field: name,
        error: `field ${name} (→ ${f.to}) must be a number, got the ${typeof v} ${JSON.stringify(v)}`,
      };
    }
    kpis++;
  }
  if (m.failure && m.failure.length > 0) {
    const failed = m.failure.some((cond) => holds(cond, p));
    if (c.link) {
      if (failed || o.operUp === undefined) o.operUp = !failed;
    } else {
      // As a failed probe test of our own (collectors/probe/verdicts.ts): bad for the user, yet no
      // word that the cell is down — `available: false` would make it an outage (and a site's outage).
      if (failed) o.dlMbps = 0;
      o.available ??= true;
    }
    kpis++;
  }
  if (kpis === 0)
    return { error: `${p.measurement} point has none of the mapped fields (${c.names || 'none mapped'})` };
  return { value: o };
}

// ---------------------------------------------------------------------------------------------------
// The common line, read straight into a sample-shaped object

/*
 * Nearly every pushed line is a `cell_kpi` point as cellwatch's own export writes it (and Telegraf-
 * like senders of our schema): a few known tags, known fields, plain decimals, a timestamp. The general
 * path builds a point (tags and fields objects, a `Number(slice)` per value), then maps it to a
 * sample; for this shape the sample can be read off the text in one pass. Whatever does not have the
 * shape — escapes, quotes, unknown or repeated tags or fields, exponents, more than 15 digits, no
 * timestamp, anything the general path would refuse — is left to the general path, which gives its
 * answer; so the fast path changes what the common line costs, never what any line yields
 * (test/intake-lineprotocol-fast.test.ts compares both on a table of lines).
 */

const FAST_MEASUREMENT = 'cell_kpi,';
/** The series key limit (65,535 bytes) cannot be reached by a line this short, even in 3-byte characters. */
const MAX_FAST_LINE = 20_000;
/** Mantissas of up to 15 digits are exact doubles, and so is 10^k for k ≤ 15: m / 10^k is then rounded once, as Number() rounds. */
const MAX_FAST_DIGITS = 15;
const POW10 = Array.from({ length: MAX_FAST_DIGITS + 1 }, (_, k) => 10 ** k);

interface FastField {
  name: string;
  bit: number;
  flag: boolean;
}
const FAST_FIELDS = new Map<string, FastField>(
  [...CELL_TARGETS].map((name, i) => [name, { name, bit: 2 ** i, flag: name === 'available' }]),
);
/** The n-th field key of the last line: senders write their fields in one order. */
const fieldMemo: (FastField | undefined)[] = [];
const fastNames: string[] = [];
const fastValues: (number | boolean)[] = [];
/** Where the last plainNumber / plainBoolean ended. */
let valueEnd = 0;

const TAG_CELL = 1;
const TAG_SOURCE = 2;
const TAG_SITE = 4;
const TAG_REGION = 8;

/** Whether `word` is written at i: startsWith, but inlined (a call per field measured as much as the rest). */
function textAt(buf: string, i: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (buf.charCodeAt(i + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** The tag key [i, eq) as a bit, or 0 for any other key. */
function tagBit(buf: string, i: number, eq: number): number {
  const n = eq - i;
  if (n === 4) return textAt(buf, i, 'cell') ? TAG_CELL : textAt(buf, i, 'site') ? TAG_SITE : 0;
  if (n === 6) return textAt(buf, i, 'source') ? TAG_SOURCE : textAt(buf, i, 'region') ? TAG_REGION : 0;
  return 0;
}

/** The source named by [i, end), as its constant string, or undefined (mapPoint's isSource test). */
function sourceAt(buf: string, i: number, end: number): SampleSource | undefined {
  for (const s of SAMPLE_SOURCES) if (s.length === end - i && textAt(buf, i, s)) return s;
  return undefined;
}

/** `-`? digits, at most one `.`, an `i` after an integer; NaN when the text is anything else. */
function plainNumber(buf: string, i: number): number {
  const n = buf.length;
  const neg = buf.charCodeAt(i) === 45;
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; i < n; i++) {
    const c = buf.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else break;
  }
  if (digits === 0 || digits > MAX_FAST_DIGITS) return Number.NaN;
  if (buf.charCodeAt(i) === 105 /* i */) {
    if (frac >= 0) return Number.NaN;
    i++;
  }
  valueEnd = i;
  const v = frac > 0 ? m / POW10[frac]! : m;
  return neg ? -v : v;
}

const TRUE_WORDS = ['true', 'True', 'TRUE'];
const FALSE_WORDS = ['false', 'False', 'FALSE'];

/** 1 (true), 0 (false) or −1 (not a boolean 1.6 reads). */
function plainBoolean(buf: string, i: number): number {
  const n = buf.length;
  let end = i;
  while (end < n) {
    const c = buf.charCodeAt(end);
    if (c === 44 || c === 32) break;
    end++;
  }
  valueEnd = end;
  const c0 = buf.charCodeAt(i);
  const truthy = c0 === 116 || c0 === 84;
  if (end - i === 1) return truthy ? 1 : c0 === 102 || c0 === 70 ? 0 : -1;
  for (const w of truthy ? TRUE_WORDS : FALSE_WORDS)
    if (w.length === end - i && buf.startsWith(w, i)) return truthy ? 1 : 0;
  return -1;
}

/**
 * A `cell_kpi` line of the common shape as the object `mapPoint` builds from it with cellwatch's own
 * mapping (same keys, same order, same values), or undefined: then the general path reads it.
 */
export function readCellKpiLine(buf: string, precision: Precision): Record<string, unknown> | undefined {
  const n = buf.length;
  if (n > MAX_FAST_LINE || !buf.startsWith(FAST_MEASUREMENT)) return undefined;
  let i = FAST_MEASUREMENT.length;
  let tags = 0;
  let cell: string | undefined;
  let source: SampleSource | undefined;
  // Tags: key=value pairs up to the first space; each key one of four, once; values without escapes.
  for (;;) {
    const eq = buf.indexOf('=', i);
    if (eq < 0) return undefined;
    const bit = tagBit(buf, i, eq);
    if (bit === 0 || (tags & bit) !== 0) return undefined;
    tags |= bit;
    let j = eq + 1;
    for (; j < n; j++) {
      const c = buf.charCodeAt(j);
      if (c === 44 || c === 32) break;
      if (c === 61 || c === 92 || c === 34) return undefined; // = \ "
    }
    if (j === eq + 1 || j === n) return undefined;
    if (bit === TAG_CELL) cell = buf.slice(eq + 1, j);
    else if (bit === TAG_SOURCE) source = sourceAt(buf, eq + 1, j);
    i = j + 1;
    if (buf.charCodeAt(j) === 32) break;
  }
  if (cell === undefined) return undefined;
  // Fields: known keys, each once; plain numbers, or booleans for the flag.
  let seen = 0;
  let count = 0;
  for (;;) {
    let f = fieldMemo[count];
    let eq: number;
    if (f !== undefined && buf.charCodeAt(i + f.name.length) === 61 && textAt(buf, i, f.name)) {
      eq = i + f.name.length;
    } else {
      eq = buf.indexOf('=', i);
      if (eq < 0) return undefined;
      f = FAST_FIELDS.get(buf.slice(i, eq));
      if (f === undefined) return undefined;
      fieldMemo[count] = f;
    }
    if ((seen & f.bit) !== 0) return undefined;
    seen |= f.bit;
    const c = buf.charCodeAt(eq + 1);
    let value: number | boolean;
    if ((c >= 48 && c <= 57) || c === 45 || c === 46) {
      const v = plainNumber(buf, eq + 1);
      if (v !== v) return undefined;
      if (!f.flag) value = v;
      else if (v === 1 || v === 0) value = v === 1;
      else return undefined;
    } else if (c === 116 || c === 84 || c === 102 || c === 70) {
      if (!f.flag) return undefined;
      const b = plainBoolean(buf, eq + 1);
      if (b < 0) return undefined;
      value = b === 1;
    } else return undefined;
    fastNames[count] = f.name;
    fastValues[count] = value;
    count++;
    const after = buf.charCodeAt(valueEnd);
    i = valueEnd + 1;
    if (after === 32) break;
    if (after !== 44) return undefined; // the end of the line (no timestamp: the general path's "now") or junk
  }
  // The timestamp: digits (a sign at most) to the end of the line.
  if (i >= n) return undefined;
  let ts = 0;
  for (let k = buf.charCodeAt(i) === 45 ? i + 1 : i; k < n; k++) {
    const c = buf.charCodeAt(k);
    if (c < 48 || c > 57) return undefined;
    ts = ts * 10 + (c - 48);
  }
  // Milliseconds short of the range limit are the number itself; the rest as the general path reads them.
  if (precision !== 'ms' || n - i > 13 || (n - i === 13 && buf.charCodeAt(i) >= 57) || buf.charCodeAt(i) === 45) {
    const t = timestampMs(buf.slice(i, n), precision);
    if (typeof t !== 'number') return undefined;
    ts = t;
  }
  const o: Record<string, unknown> = {};
  o.cell = cell;
  o.ts = ts;
  if (source !== undefined) o.source = source;
  for (let k = 0; k < count; k++) o[fastNames[k]!] = fastValues[k];
  return o;
}

export interface LineProtocolOptions extends SampleOptions {
  precision?: Precision;
  /** Time for lines without a timestamp (epoch ms): the request's arrival, say. */
  now: EpochMs;
  /** Default: CELLWATCH_MAPPING. */
  mappings?: CompiledMappings;
  /**
   * Skip the DDL section of an `influx_inspect export` file (its `CREATE DATABASE …` lines between
   * `# DDL` and `# DML`), so an export reads as it is.
   */
  exportSections?: boolean;
}

/**
 * Streaming line protocol → samples: feed text with `push`, end with `end()`. Every non-blank line is
 * one record: its rejection carries its index and line number.
 */
export class LineProtocolDecoder {
  readonly dec: SampleDecoder;
  private readonly scanner: LineScanner;
  private index = 0;

  constructor(
    private readonly sink: SampleSink,
    opts: LineProtocolOptions,
  ) {
    this.dec = new SampleDecoder(opts);
    const mappings = opts.mappings ?? cellwatchMappings();
    const lineOpts = { precision: opts.precision ?? 'n', now: opts.now };
    // Only cellwatch's own cell_kpi mapping has a fast path (a configured one cannot replace it).
    const fast = mappings.byMeasurement.get('cell_kpi')?.m === CELLWATCH_MAPPING[0];
    const ignore = (f: string) => this.dec.tally.ignore(f);
    let ddl = false;
    this.scanner = new LineScanner((block, line) => {
      if (opts.exportSections && block.charCodeAt(0) === 35 /* # */) {
        const marker = block.trim();
        if (marker === '# DDL') ddl = true;
        else if (marker === '# DML') ddl = false;
      }
      if (ddl) return;
      if (fast) {
        const o = readCellKpiLine(block, lineOpts.precision);
        // A fault is left to the general path below, which reads the line again and names the field.
        if (o !== undefined && this.dec.decodeInto(o, this.sink) === undefined) {
          this.index++;
          return;
        }
      }
      const v = parseLine(block, lineOpts);
      if (v === null) return;
      const index = this.index++;
      if (!v.ok) {
        this.dec.tally.reject(index, line, undefined, v.error);
        return;
      }
      if (Number.isNaN(v.point.ts)) {
        this.dec.tally.reject(index, line, 'ts', 'the line has no timestamp (lines of a file need one)');
        return;
      }
      const mapped = mapPoint(mappings, v.point, ignore);
      if ('error' in mapped) {
        this.dec.tally.reject(index, line, mapped.field, mapped.error);
        return;
      }
      const fault = this.dec.decodeInto(mapped.value, this.sink);
      if (fault) {
        const from = fault.field !== undefined ? originOf(mappings, v.point, fault.field) : undefined;
        const error = from !== undefined && from !== fault.field ? `field ${from}: ${fault.error}` : fault.error;
        this.dec.tally.reject(index, line, from ?? fault.field, error);
      }
    });
  }

  push(text: string): void {
    this.scanner.push(text);
  }

  /** Ends the input; returns the counts and `lines` (non-blank, non-comment lines). */
  end(): IntakeCounts & { lines: number } {
    this.scanner.push('', true);
    return { ...this.dec.tally.counts(), lines: this.index };
  }

  get lines(): number {
    return this.index;
  }
}

/**
 * A whole line-protocol body (a `/write` request) → the sink; counts and rejections. The body is read
 * as InfluxDB reads it: bytes as UTF-8, nothing stripped (a CR before a newline refuses that line).
 */
export function decodeLineProtocol(
  body: string | Buffer,
  sink: SampleSink,
  opts: LineProtocolOptions,
): IntakeCounts & { lines: number } {
  const d = new LineProtocolDecoder(sink, opts);
  d.push(typeof body === 'string' ? body : body.toString('utf8'));
  return d.end();
}
