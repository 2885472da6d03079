import type { EpochMs, LinkSample, Sample, SampleSource } from '../../model/index.js';
import {
  CELL_NUMBER_FIELDS,
  CELL_NUMBERS,
  LINK_NUMBER_FIELDS,
  LINK_NUMBERS,
  SAMPLE_SOURCES,
  idProblem,
  isSource,
  rangeProblem,
  type CellNumberField,
  type LinkNumberField,
  type NumberSpec,
} from './fields.js';
import type { IntakeCounts, SampleSink } from './index.js';
import { Tally } from './tally.js';
import { describe, parseTime } from './time.js';

/*
 * Samples from JSON values and CSV rows: DESIGN.md's fields, checked against fields.ts.
 *
 * The rules:
 * - an object is a cell sample, or a link sample when `kind` is "link" or it has `link` and no `cell`;
 * - `cell` / `link` / `site`: non-empty strings of at most 128 characters, no control characters;
 * - `ts`: epoch milliseconds or RFC 3339 (time.ts), within 2000–2100 and the caller's notBefore/notAfter;
 * - `source`: one of snmp, probe, push, sim, import (and among the caller's allowed ones); absent means
 *   the caller's default (push for the API, import for files);
 * - KPIs: finite numbers within their field's range; `null` or an empty CSV cell means absent;
 *   `available` / `operUp`: a boolean, or 0 / 1;
 * - unknown fields are ignored and counted (see index.ts); with `unknownFields: 'reject'` they refuse
 *   the record instead.
 *
 * This is the hot path of `cellwatch analyze` (millions of lines): the common case — an object whose
 * keys are all known — is validated in place and handed on as the Sample itself, with no copy and one
 * pass of direct property reads (monomorphic: a file's objects share JSON.parse's hidden class). Only
 * objects carrying nulls, unknown keys, `kind` or a string time take the copying path.
 */

export interface SampleOptions {
  /** Source of samples that do not name one: `push` unless given. */
  source?: SampleSource;
  /** Sources a sample may claim; default all. The push API may, say, refuse `snmp`. */
  sources?: readonly SampleSource[];
  /** Refuse samples timestamped before / after these (e.g. notAfter = now + 5 min for pushes). */
  notBefore?: EpochMs;
  notAfter?: EpochMs;
  unknownFields?: 'ignore' | 'reject';
  /** How many rejections keep their reason (default 1000); all are counted. */
  maxRejections?: number;
}

export type DecodedSample =
  | { ok: true; kind: 'cell'; sample: Sample }
  | { ok: true; kind: 'link'; link: LinkSample }
  | { ok: false; field?: string; error: string };

/** A refusal while decoding one record: which field, and why. */
interface Fault {
  field?: string;
  error: string;
}

const CELL_KEYS = new Set<string>(['cell', 'ts', 'source', 'kind', 'available', ...CELL_NUMBER_FIELDS]);
const LINK_KEYS = new Set<string>(['link', 'site', 'ts', 'source', 'kind', 'operUp', ...LINK_NUMBER_FIELDS]);

/** True when `v` is not a number within `spec` (NaN compares false everywhere, so it is caught). */
function outOfRange(v: number, spec: NumberSpec): boolean {
  return !((spec.minExclusive ? v > spec.min : v >= spec.min) && v <= spec.max);
}

function numberFault(field: string, v: unknown, spec: NumberSpec): Fault {
  if (typeof v !== 'number') return { field, error: `${field} must be a number, got ${describe(v)}` };
  return { field, error: `${field} ${rangeProblem(v, spec) ?? 'is out of range'}` };
}

/** The options resolved once per run, and the run's tally. */
export class SampleDecoder {
  readonly tally: Tally;
  private readonly defaultSource: SampleSource;
  private readonly allowed: ReadonlySet<SampleSource>;
  private readonly notBefore: number;
  private readonly notAfter: number;
  private readonly rejectUnknown: boolean;

  constructor(opts: SampleOptions = {}) {
    this.tally = new Tally(opts.maxRejections);
    this.defaultSource = opts.source ?? 'push';
    this.allowed = new Set(opts.sources ?? SAMPLE_SOURCES);
    this.notBefore = opts.notBefore ?? -Infinity;
    this.notAfter = opts.notAfter ?? Infinity;
    this.rejectUnknown = opts.unknownFields === 'reject';
  }

  /** Decodes one parsed JSON value into the sink, or records why not. */
  take(v: unknown, sink: SampleSink, index: number, line?: number): void {
    const fault = this.decodeInto(v, sink);
    if (fault !== undefined) this.tally.reject(index, line, fault.field, fault.error);
  }

  /** Undefined when the value went to the sink. */
  decodeInto(v: unknown, sink: SampleSink): Fault | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return { error: `expected a sample object, got ${describe(v)}` };
    const o = v as Record<string, unknown>;
    const kind = o.kind;
    if (kind !== undefined && kind !== 'cell' && kind !== 'link')
      return { field: 'kind', error: `kind must be "cell" or "link", got ${describe(kind)}` };
    if (kind === undefined && o.link !== undefined && o.cell !== undefined)
      return { field: 'kind', error: 'the sample has both cell and link: say which with kind "cell" or "link"' };
    const isLink = kind === undefined ? o.link !== undefined : kind === 'link';
    if (isLink) {
      const r = this.link(o);
      if ('error' in r) return r;
      if (sink.addLink) {
        sink.addLink(r);
        this.tally.links++;
      } else this.tally.linksIgnored++;
      return undefined;
    }
    const r = this.cellInPlace(o);
    if (r !== undefined) return r;
    sink.add(o as unknown as Sample);
    this.tally.samples++;
    return undefined;
  }

  private time(o: Record<string, unknown>): Fault | number {
    const ts = o.ts;
    let ms: number;
    if (typeof ts === 'number' && ts >= 946_684_800_000 && ts < 4_102_444_800_000 && Number.isInteger(ts)) ms = ts;
    else {
      if (ts === undefined || ts === null) return { field: 'ts', error: 'ts is required (epoch ms or RFC 3339)' };
      const t = parseTime(ts);
      if (!t.ok) return { field: 'ts', error: `ts: ${t.error}` };
      ms = t.ms;
    }
    if (ms < this.notBefore || ms > this.notAfter)
      return {
        field: 'ts',
        error: `ts ${new Date(ms).toISOString()} is ${ms < this.notBefore ? 'older than the intake accepts' : 'in the future'}`,
      };
    return ms;
  }

  private sourceOf(v: unknown): Fault | SampleSource {
    if (v === undefined || v === null) return this.defaultSource;
    if (!isSource(v))
      return { field: 'source', error: `source must be one of ${SAMPLE_SOURCES.join(', ')}; got ${describe(v)}` };
    if (!this.allowed.has(v)) return { field: 'source', error: `source "${v}" is not accepted here` };
    return v;
  }

  /**
   * Validates a cell sample, normalising it in place (ts to a number, available to a boolean, the
   * default source); when it carries anything beyond the Sample's own fields, a clean copy replaces
   * its content. Returns the fault, or undefined when `o` is now a valid Sample.
   */
  private cellInPlace(o: Record<string, unknown>): Fault | undefined {
    const idFault = idProblem(o.cell, 'cell');
    if (idFault !== undefined) return { field: 'cell', error: o.cell === undefined ? 'cell is required' : idFault };
    // Fields seen, to tell whether the object holds anything else; `copy` when it must be rebuilt.
    let known = 2;
    let copy = false;
    const t = this.time(o);
    if (typeof t !== 'number') return t;
    if (t !== o.ts) o.ts = t;
    const src = o.source;
    if (src !== undefined) {
      known++;
      if (src === null) copy = true;
    }
    const source = this.sourceOf(src);
    if (typeof source !== 'string') return source;
    if (src !== source) o.source = source;
    if (o.kind !== undefined) {
      known++;
      copy = true;
    }
    // Direct reads, one per field: cheaper than a loop of keyed reads on the hot path.
    let v: unknown;
    const N = CELL_NUMBERS;
    v = o.intervalS;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.intervalS)) return numberFault('intervalS', v, N.intervalS);
    }
    v = o.dlMbps;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.dlMbps)) return numberFault('dlMbps', v, N.dlMbps);
    }
    v = o.ulMbps;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.ulMbps)) return numberFault('ulMbps', v, N.ulMbps);
    }
    v = o.latencyMs;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.latencyMs)) return numberFault('latencyMs', v, N.latencyMs);
    }
    v = o.rsrpDbm;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.rsrpDbm)) return numberFault('rsrpDbm', v, N.rsrpDbm);
    }
    v = o.rsrqDb;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.rsrqDb)) return numberFault('rsrqDb', v, N.rsrqDb);
    }
    v = o.sinrDb;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.sinrDb)) return numberFault('sinrDb', v, N.sinrDb);
    }
    v = o.prbUtilPct;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.prbUtilPct)) return numberFault('prbUtilPct', v, N.prbUtilPct);
    }
    v = o.activeUsers;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.activeUsers))
        return numberFault('activeUsers', v, N.activeUsers);
    }
    v = o.dlVolumeMB;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.dlVolumeMB)) return numberFault('dlVolumeMB', v, N.dlVolumeMB);
    }
    v = o.ulVolumeMB;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (typeof v !== 'number' || outOfRange(v, N.ulVolumeMB)) return numberFault('ulVolumeMB', v, N.ulVolumeMB);
    }
    v = o.available;
    if (v !== undefined) {
      known++;
      if (v === null) copy = true;
      else if (v === 1 || v === 0) o.available = v === 1;
      else if (typeof v !== 'boolean')
        return { field: 'available', error: `available must be true, false, 1 or 0; got ${describe(v)}` };
    }
    let keys = 0;
    for (const _k in o) keys++;
    if (keys !== known) {
      for (const k in o) {
        if (CELL_KEYS.has(k)) continue;
        if (this.rejectUnknown) return { field: k, error: `unknown field "${k}"` };
        this.tally.ignore(k);
      }
      copy = true;
    }
    if (copy) rebuild(o);
    return undefined;
  }

  private link(o: Record<string, unknown>): Fault | LinkSample {
    const idFault = idProblem(o.link, 'link');
    if (idFault !== undefined) return { field: 'link', error: o.link === undefined ? 'link is required' : idFault };
    const siteFault = idProblem(o.site, 'site');
    if (siteFault !== undefined)
      return { field: 'site', error: o.site === undefined ? 'site is required for a link sample' : siteFault };
    const ts = this.time(o);
    if (typeof ts !== 'number') return ts;
    const source = this.sourceOf(o.source);
    if (typeof source !== 'string') return source;
    const l: LinkSample = { link: o.link as string, site: o.site as string, ts, source };
    for (const f of LINK_NUMBER_FIELDS) {
      const v = o[f];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || outOfRange(v, LINK_NUMBERS[f])) return numberFault(f, v, LINK_NUMBERS[f]);
      l[f] = v;
    }
    const up = o.operUp;
    if (up !== undefined && up !== null) {
      if (up === 1 || up === 0 || typeof up === 'boolean') l.operUp = up === 1 || up === true;
      else return { field: 'operUp', error: `operUp must be true, false, 1 or 0; got ${describe(up)}` };
    }
    for (const k in o) {
      if (LINK_KEYS.has(k)) continue;
      if (this.rejectUnknown) return { field: k, error: `unknown field "${k}"` };
      this.tally.ignore(k);
    }
    return l;
  }
}

/** Leaves exactly the Sample's own, non-null fields in `o`, in the model's order. */
function rebuild(o: Record<string, unknown>): void {
  const s: Record<string, unknown> = { cell: o.cell, ts: o.ts, source: o.source };
  for (const f of CELL_NUMBER_FIELDS) if (o[f] !== undefined && o[f] !== null) s[f] = o[f];
  if (o.available !== undefined && o.available !== null) s.available = o.available;
  for (const k of Object.keys(o)) delete o[k];
  Object.assign(o, s);
}

/** One JSON value as a sample or link, or why not. The value may be normalised in place. */
export function decodeSample(v: unknown, opts: SampleOptions = {}): DecodedSample {
  let got: DecodedSample | undefined;
  const sink: SampleSink = {
    add: (sample) => (got = { ok: true, kind: 'cell', sample }),
    addLink: (link) => (got = { ok: true, kind: 'link', link }),
  };
  const fault = new SampleDecoder(opts).decodeInto(v, sink);
  if (fault) return { ok: false, ...fault };
  return got!;
}

/**
 * A push body: an array of samples (or one sample object). Each element is decoded on its own; the
 * rejections carry the element's index.
 */
export function decodeSamples(body: unknown, sink: SampleSink, opts: SampleOptions = {}): IntakeCounts {
  const dec = new SampleDecoder(opts);
  if (Array.isArray(body)) for (let i = 0; i < body.length; i++) dec.take(body[i], sink, i);
  else dec.take(body, sink, 0);
  return dec.tally.counts();
}

// ---------------------------------------------------------------------------------------------------
// CSV rows

/** Whole-input problems: the header cannot be read as samples, so no row could be. */
export class HeaderError extends Error {
  override name = 'HeaderError';
}

export interface CsvOptions extends SampleOptions {
  /** The field delimiter; `;` also makes `,` the decimal separator (German and French Excel). */
  delimiter?: string;
}

type Column =
  | { kind: 'id'; field: 'cell' | 'link' | 'site' }
  | { kind: 'ts' }
  | { kind: 'source' }
  | { kind: 'kind' }
  | { kind: 'flag'; field: 'available' | 'operUp' }
  | { kind: 'number'; field: CellNumberField | LinkNumberField; cell?: NumberSpec; link?: NumberSpec }
  | { kind: 'unknown'; name: string };

const CSV_KNOWN = new Set<string>([...CELL_KEYS, ...LINK_KEYS]);

/**
 * Decodes CSV rows (string arrays, as csv-parse gives them) against a header of DESIGN.md field
 * names, in any order. Unknown columns are ignored and reported; `cell` (or `link` + `site`) and `ts`
 * are required columns, and a header without them is a `HeaderError`.
 */
export class SampleCsvDecoder {
  readonly dec: SampleDecoder;
  private readonly columns: Column[];
  private readonly decimalComma: boolean;
  private rows = 0;
  readonly unknownColumns: string[] = [];

  constructor(header: readonly string[], opts: CsvOptions = {}) {
    this.dec = new SampleDecoder(opts);
    this.decimalComma = opts.delimiter === ';';
    const seen = new Set<string>();
    this.columns = header.map((raw) => {
      const name = raw.trim();
      if (name !== '' && seen.has(name)) throw new HeaderError(`column "${name}" appears twice in the header`);
      seen.add(name);
      if (!CSV_KNOWN.has(name)) {
        if (opts.unknownFields === 'reject') throw new HeaderError(`unknown column "${name}"`);
        this.unknownColumns.push(name);
        return { kind: 'unknown', name };
      }
      if (name === 'cell' || name === 'link' || name === 'site') return { kind: 'id', field: name };
      if (name === 'ts') return { kind: 'ts' };
      if (name === 'source') return { kind: 'source' };
      if (name === 'kind') return { kind: 'kind' };
      if (name === 'available' || name === 'operUp') return { kind: 'flag', field: name };
      const f = name as CellNumberField | LinkNumberField;
      return {
        kind: 'number',
        field: f,
        ...(f in CELL_NUMBERS ? { cell: CELL_NUMBERS[f as CellNumberField] } : {}),
        ...(f in LINK_NUMBERS ? { link: LINK_NUMBERS[f as LinkNumberField] } : {}),
      };
    });
    if (!seen.has('ts')) throw new HeaderError('the header has no "ts" column');
    if (!seen.has('cell') && !seen.has('link'))
      throw new HeaderError('the header has neither a "cell" nor a "link" column');
  }

  get tally(): Tally {
    return this.dec.tally;
  }

  /** One data row (`index` 0-based among data rows, `line` where it starts in the file). */
  row(values: readonly string[], sink: SampleSink, index: number, line?: number): void {
    this.rows++;
    const fault = this.decodeRow(values, sink);
    if (fault) this.dec.tally.reject(index, line, fault.field, fault.error);
  }

  /** Ends the input: unknown columns are counted once per data row, as JSON counts keys per object. */
  finish(): IntakeCounts {
    for (const name of this.unknownColumns) for (let i = 0; i < this.rows; i++) this.dec.tally.ignore(name);
    return this.dec.tally.counts();
  }

  private decodeRow(values: readonly string[], sink: SampleSink): Fault | undefined {
    const cols = this.columns;
    if (values.length > cols.length)
      return {
        error: `the row has ${values.length} fields, the header ${cols.length} (an unquoted delimiter in a value?)`,
      };
    const o: Record<string, unknown> = {};
    let isLink = false;
    let kindGiven = false;
    for (let i = 0; i < values.length; i++) {
      let s = values[i]!;
      const col = cols[i]!;
      if (s.length === 0) continue;
      if (s.charCodeAt(0) <= 32 || s.charCodeAt(s.length - 1) <= 32) {
        s = s.trim();
        if (s.length === 0) continue;
      }
      switch (col.kind) {
        case 'unknown':
          break;
        case 'id':
          o[col.field] = s;
          break;
        case 'ts':
          o.ts = /^\d+$/.test(s) ? Number(s) : s;
          break;
        case 'source':
          o.source = s;
          break;
        case 'kind':
          kindGiven = true;
          if (s !== 'cell' && s !== 'link') return { field: 'kind', error: `kind must be cell or link, got "${s}"` };
          isLink = s === 'link';
          break;
        case 'flag': {
          const f = csvFlag(s);
          if (f === undefined)
            return { field: col.field, error: `${col.field} must be 1, 0, true or false; got "${s}"` };
          o[col.field] = f;
          break;
        }
        case 'number': {
          const n = csvNumber(s, this.decimalComma);
          if (n === undefined) return { field: col.field, error: `${col.field} must be a number, got "${s}"` };
          o[col.field] = n;
          break;
        }
      }
    }
    if (!kindGiven) isLink = o.link !== undefined && o.cell === undefined;
    return this.dec.decodeInto(isLink ? { ...o, kind: 'link' } : o, sink);
  }
}

function csvFlag(s: string): boolean | undefined {
  if (s === '1' || s === 'true' || s === 'TRUE' || s === 'True') return true;
  if (s === '0' || s === 'false' || s === 'FALSE' || s === 'False') return false;
  return undefined;
}

/**
 * A decimal number as a spreadsheet writes it, strictly: JavaScript's Number() would also take
 * "0x1F", "0b1", "Infinity" and " 12 ", none of which is a measurement.
 */
export function csvNumber(s: string, decimalComma = false): number | undefined {
  if (decimalComma && s.includes(',')) {
    if (s.includes('.')) return undefined;
    s = s.replace(',', '.');
  }
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(s.length - 1);
  const digitOrDot = (c: number) => (c >= 48 && c <= 57) || c === 46;
  if (!(digitOrDot(first) || first === 45 || first === 43) || !digitOrDot(last)) return undefined;
  if (first === 48 && s.length > 1) {
    const c = s.charCodeAt(1) | 32;
    if (c === 120 /* x */ || c === 98 /* b */ || c === 111 /* o */) return undefined;
  }
  const n = +s;
  return n === n ? n : undefined;
}
