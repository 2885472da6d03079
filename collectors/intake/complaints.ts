import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import type { Complaint, ComplaintCategory, ComplaintChannel, ComplaintSymptom, EpochMs } from '../../model/index.js';
import { idProblem } from './fields.js';
import type { Rejection } from './index.js';
import { csvNumber } from './samples.js';
import { Tally } from './tally.js';
import { csvEventOptions, detectDelimiter, firstLine, normalizeText, type CsvEvent } from './text.js';
import { describe, parseTime, type TimeVerdict } from './time.js';

/*
 * Complaints from a CRM: one JSON object, an array, JSONL or CSV as operators export it.
 *
 * The rules (docs/intake.md says them to integrators):
 * - `id`: the CRM's id, 1–128 printable characters (a number is taken as its digits); the key of
 *   idempotency, so it is trimmed (" 4711" and "4711" are one complaint);
 * - `receivedAt`: RFC 3339 or epoch ms; with `now`, not later than now + 10 min;
 * - `issueAt` (optional): when the customer says it happened — not after receivedAt + 10 min (clocks
 *   and "just now" disagree by minutes) and not before receivedAt − 30 days (matching looks back 72 h;
 *   a month-old issue date is a typo or a different problem);
 * - `channel`: hotline, online, social, app; `category`: network, efficiency, billing, attitude;
 *   `symptom` (optional): no-signal, slow-data, call-drop, voice-quality, other — all case-insensitive
 *   ("Hotline", "slow data", "SLOW_DATA" are fine);
 * - a location: `cell`, or `lat` and `lon` together (WGS84 degrees; 0/0, the CRMs' "unknown"
 *   placeholder, is refused), or both; with `isKnownCell`, a cell the inventory does not know needs
 *   coordinates;
 * - `text` (optional): at most 4,000 characters; empty optional fields mean absent;
 * - unknown fields are ignored and counted (CRM exports carry ticket status, agent, customer fields).
 * One rejection per bad record: the first field at fault, and every problem in the message.
 */

export const CHANNELS: readonly ComplaintChannel[] = ['hotline', 'online', 'social', 'app'];
export const CATEGORIES: readonly ComplaintCategory[] = ['network', 'efficiency', 'billing', 'attitude'];
export const SYMPTOMS: readonly ComplaintSymptom[] = ['no-signal', 'slow-data', 'call-drop', 'voice-quality', 'other'];
export const COMPLAINT_FIELDS = [
  'id',
  'receivedAt',
  'issueAt',
  'channel',
  'category',
  'symptom',
  'cell',
  'lat',
  'lon',
  'text',
] as const;
export type ComplaintField = (typeof COMPLAINT_FIELDS)[number];

const MAX_TEXT = 4000;
const MINUTE = 60_000;
const DAY = 86_400_000;

export interface ComplaintOptions {
  /** IANA zone for times written without an offset (CRM exports often write local time). */
  timeZone?: string;
  /** How far issueAt may lie after receivedAt (default 10 min). */
  issueSkewMs?: number;
  /** How far issueAt may lie before receivedAt (default 30 days). */
  maxIssueAgeMs?: number;
  /** With it, receivedAt may not be later than now + issueSkewMs. */
  now?: EpochMs;
  /** The inventory's check: an unknown cell without coordinates is refused. */
  isKnownCell?: (id: string) => boolean;
  /** CSV header names → fields, for exports with their own column names: { "Ticket ID": "id" }. */
  columns?: Record<string, ComplaintField>;
  /** How many rejections keep their reason (default 1000); all are counted. */
  maxRejections?: number;
}

type Ctx = z.RefinementCtx;

function fail(ctx: Ctx, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

const absent = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/*
 * Every field is `z.unknown()` plus a transform that writes the integrator's message; optional ones are
 * wrapped in `.optional()` (zod 4 refuses an undefined result for a required key).
 */
function enumField<T extends string>(field: string, values: readonly T[], required: boolean) {
  return z.unknown().transform((v, ctx): T | undefined => {
    if (absent(v)) return required ? fail(ctx, `${field} is required: one of ${values.join(', ')}`) : undefined;
    if (typeof v !== 'string') return fail(ctx, `${field} must be one of ${values.join(', ')}; got ${describe(v)}`);
    const norm = v
      .trim()
      .toLowerCase()
      .replace(/[\s_]+/g, '-');
    if ((values as readonly string[]).includes(norm)) return norm as T;
    return fail(ctx, `${field} must be one of ${values.join(', ')}; got "${v}"`);
  });
}

function timeField(field: string, required: boolean, timeZone: string | undefined) {
  return z.unknown().transform((v, ctx): EpochMs | undefined => {
    if (absent(v))
      return required
        ? fail(ctx, `${field} is required: an RFC 3339 time such as 2026-11-28T20:15:00+08:00`)
        : undefined;
    const t: TimeVerdict =
      typeof v === 'string' || typeof v === 'number'
        ? parseTime(typeof v === 'string' ? v.trim() : v, timeZone === undefined ? {} : { timeZone })
        : { ok: false, error: `expected an RFC 3339 time or epoch milliseconds, got ${describe(v)}` };
    return t.ok ? t.ms : fail(ctx, `${field}: ${t.error}`);
  });
}

function coordinate(field: 'lat' | 'lon', limit: number, decimalComma: boolean) {
  return z.unknown().transform((v, ctx): number | undefined => {
    if (absent(v)) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? csvNumber(v.trim(), decimalComma) : undefined;
    if (n === undefined || !Number.isFinite(n))
      return fail(ctx, `${field} must be a number of degrees, got ${describe(v)}`);
    if (n < -limit || n > limit) return fail(ctx, `${field} ${n} is outside −${limit}..${limit} degrees`);
    return n;
  });
}

function complaintSchema(opts: ComplaintOptions, decimalComma: boolean) {
  const skew = opts.issueSkewMs ?? 10 * MINUTE;
  const maxAge = opts.maxIssueAgeMs ?? 30 * DAY;
  return z
    .object({
      id: z.unknown().transform((v, ctx): string => {
        if (absent(v)) return fail(ctx, 'id is required: the complaint id in your CRM');
        const s =
          typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
        if (s === undefined) return fail(ctx, `id must be a string (or an integer), got ${describe(v)}`);
        const problem = idProblem(s, 'id');
        return problem ? fail(ctx, `${problem} (printable characters only)`) : s;
      }),
      receivedAt: timeField('receivedAt', true, opts.timeZone),
      issueAt: timeField('issueAt', false, opts.timeZone).optional(),
      channel: enumField('channel', CHANNELS, true),
      category: enumField('category', CATEGORIES, true),
      symptom: enumField('symptom', SYMPTOMS, false).optional(),
      cell: z
        .unknown()
        .transform((v, ctx): string | undefined => {
          if (absent(v)) return undefined;
          if (typeof v !== 'string') return fail(ctx, `cell must be a cell id (a string), got ${describe(v)}`);
          const s = v.trim();
          const problem = idProblem(s, 'cell');
          return problem ? fail(ctx, problem) : s;
        })
        .optional(),
      lat: coordinate('lat', 90, decimalComma).optional(),
      lon: coordinate('lon', 180, decimalComma).optional(),
      text: z
        .unknown()
        .transform((v, ctx): string | undefined => {
          if (absent(v)) return undefined;
          if (typeof v !== 'string') return fail(ctx, `text must be a string, got ${describe(v)}`);
          return v.length > MAX_TEXT ? fail(ctx, `text is ${v.length} characters long (at most ${MAX_TEXT})`) : v;
        })
        .optional(),
    })
    .superRefine((c, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      if ((c.lat === undefined) !== (c.lon === undefined))
        issue(c.lat === undefined ? 'lat' : 'lon', 'give lat and lon together (or neither, with a cell)');
      else if (c.lat === 0 && c.lon === 0) issue('lat', 'lat/lon 0,0 is the usual placeholder for an unknown location');
      const located = c.lat !== undefined && c.lon !== undefined && !(c.lat === 0 && c.lon === 0);
      if (c.cell === undefined && !located && c.lat === undefined)
        issue('cell', 'a complaint needs a location: a cell, or lat and lon');
      else if (c.cell !== undefined && !located && opts.isKnownCell && !opts.isKnownCell(c.cell))
        issue('cell', `cell "${c.cell}" is not in the inventory and the complaint has no lat/lon to locate it`);
      if (c.receivedAt !== undefined && opts.now !== undefined && c.receivedAt > opts.now + skew)
        issue('receivedAt', `receivedAt ${new Date(c.receivedAt).toISOString()} is in the future`);
      if (c.issueAt !== undefined && c.receivedAt !== undefined) {
        if (c.issueAt > c.receivedAt + skew)
          issue(
            'issueAt',
            `issueAt ${new Date(c.issueAt).toISOString()} is after receivedAt ${new Date(c.receivedAt).toISOString()}`,
          );
        else if (c.issueAt < c.receivedAt - maxAge)
          issue('issueAt', `issueAt is more than ${Math.round(maxAge / DAY)} days before receivedAt`);
      }
    });
}

type Schema = ReturnType<typeof complaintSchema>;

const KNOWN = new Set<string>(COMPLAINT_FIELDS);

/** Checks one record (a JSON object, or a CSV row as an object) and keeps the model's key order. */
class ComplaintDecoder {
  readonly tally: Tally;
  private readonly schema: Schema;

  constructor(opts: ComplaintOptions, decimalComma = false) {
    this.tally = new Tally(opts.maxRejections);
    this.schema = complaintSchema(opts, decimalComma);
  }

  decode(v: unknown): { ok: true; complaint: Complaint } | { ok: false; field?: string; error: string } {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return { ok: false, error: `expected a complaint object, got ${describe(v)}` };
    for (const k in v) if (!KNOWN.has(k)) this.tally.ignore(k);
    const r = this.schema.safeParse(v);
    if (!r.success) {
      const issues = r.error.issues;
      const field = issues[0]?.path[0];
      return {
        ok: false,
        ...(typeof field === 'string' ? { field } : {}),
        error: issues.map((i) => i.message).join('; '),
      };
    }
    const d = r.data;
    // In the model's order, so that stored and returned complaints read the same.
    const out: Complaint = {
      id: d.id,
      receivedAt: d.receivedAt!,
      ...(d.issueAt === undefined ? {} : { issueAt: d.issueAt }),
      channel: d.channel!,
      category: d.category!,
      ...(d.symptom === undefined ? {} : { symptom: d.symptom }),
      ...(d.cell === undefined ? {} : { cell: d.cell }),
      ...(d.lat === undefined ? {} : { lat: d.lat, lon: d.lon! }),
      ...(d.text === undefined ? {} : { text: d.text }),
    };
    return { ok: true, complaint: out };
  }

  take(v: unknown, index: number, line: number | undefined, out: (c: Complaint, index: number) => void): void {
    const r = this.decode(v);
    if (r.ok) out(r.complaint, index);
    else this.tally.reject(index, line, r.field, r.error);
  }
}

export type DecodedComplaint = { ok: true; complaint: Complaint } | { ok: false; field?: string; error: string };

/** One JSON value as a complaint, or why not. */
export function decodeComplaint(v: unknown, opts: ComplaintOptions = {}): DecodedComplaint {
  return new ComplaintDecoder(opts).decode(v);
}

export interface ComplaintBatch {
  complaints: Complaint[];
  /** Each accepted complaint's record index (parallel to `complaints`), for rejections found later. */
  indexes: number[];
  /** Records seen (elements, data rows). */
  records: number;
  rejectedCount: number;
  rejected: Rejection[];
  ignoredFields: Record<string, number>;
  /** A problem with the whole input (a CSV header without the required columns); nothing was read. */
  error?: string;
}

/** A push body: one complaint object or an array of them. Rejections carry the element's index. */
export function decodeComplaints(body: unknown, opts: ComplaintOptions = {}): ComplaintBatch {
  const dec = new ComplaintDecoder(opts);
  const complaints: Complaint[] = [];
  const indexes: number[] = [];
  const push = (c: Complaint, i: number) => {
    complaints.push(c);
    indexes.push(i);
  };
  const list = Array.isArray(body) ? body : [body];
  list.forEach((v, i) => dec.take(v, i, undefined, push));
  return batch(complaints, indexes, list.length, dec.tally);
}

function batch(
  complaints: Complaint[],
  indexes: number[],
  records: number,
  tally: Tally,
  error?: string,
): ComplaintBatch {
  const c = tally.counts();
  return {
    complaints,
    indexes,
    records,
    rejectedCount: c.rejectedCount,
    rejected: c.rejected,
    ignoredFields: c.ignoredFields,
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * A CSV header → the field each column fills (undefined for columns that fill none), or why the
 * header cannot work. Names match case-insensitively, after `opts.columns` renames.
 */
export function complaintColumns(
  header: readonly string[],
  opts: ComplaintOptions,
): { fields: (ComplaintField | undefined)[]; unknown: string[] } | { error: string } {
  const byLower = new Map<string, ComplaintField>(COMPLAINT_FIELDS.map((f) => [f.toLowerCase(), f]));
  const renames = new Map<string, ComplaintField>(
    Object.entries(opts.columns ?? {}).map(([k, v]) => [k.trim().toLowerCase(), v]),
  );
  const seen = new Set<ComplaintField>();
  const unknown: string[] = [];
  const fields: (ComplaintField | undefined)[] = [];
  for (const raw of header) {
    const name = raw.trim();
    const f = renames.get(name.toLowerCase()) ?? byLower.get(name.toLowerCase());
    if (f === undefined) {
      unknown.push(name);
      fields.push(undefined);
      continue;
    }
    if (seen.has(f)) return { error: `two columns fill ${f} ("${name}" is the second)` };
    seen.add(f);
    fields.push(f);
  }
  const missing = (['id', 'receivedAt', 'channel', 'category'] as const).filter((f) => !seen.has(f));
  if (missing.length > 0)
    return {
      error: `the header has no ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} (found: ${header.join(', ')})`,
    };
  if (!seen.has('cell') && !(seen.has('lat') && seen.has('lon')))
    return { error: 'the header has neither a cell column nor lat and lon columns' };
  return { fields, unknown };
}

/** A CSV row → the object the schema reads. */
export function complaintRow(
  fields: readonly (ComplaintField | undefined)[],
  row: readonly string[],
): Record<string, string> | string {
  if (row.length > fields.length)
    return `the row has ${row.length} fields, the header ${fields.length} (an unquoted delimiter in a value?)`;
  const o: Record<string, string> = {};
  for (let i = 0; i < row.length; i++) {
    const f = fields[i];
    if (f !== undefined) o[f] = row[i]!;
  }
  return o;
}

/**
 * A CSV text (a `text/csv` body, a small file) → complaints. Rows are validated one by one; the
 * rejection's index is the data row (0-based) and `line` the file line where the row starts.
 */
export function decodeComplaintCsv(input: string | Buffer, opts: ComplaintOptions = {}): ComplaintBatch {
  const text = normalizeText(input);
  const delimiter = detectDelimiter(firstLine(text));
  const events: CsvEvent[] = [];
  parseCsv(
    text,
    csvEventOptions(delimiter, (e) => events.push(e)),
  );
  const rows = new ComplaintRows(opts, delimiter);
  const complaints: Complaint[] = [];
  const indexes: number[] = [];
  for (const e of events) {
    rows.event(e, (c, i) => {
      complaints.push(c);
      indexes.push(i);
    });
  }
  const r = rows.finish();
  return { complaints, indexes, ...r };
}

/**
 * CSV events → complaints: the first record is the header; then every data row is checked on its own.
 * Shared by the in-memory and the streaming reader, so both give the same answer for the same file.
 */
export class ComplaintRows {
  private fields: (ComplaintField | undefined)[] | undefined;
  private unknown: string[] = [];
  private error: string | undefined;
  private readonly dec: ComplaintDecoder;
  private index = 0;
  private header = true;

  constructor(
    private readonly opts: ComplaintOptions,
    delimiter: string,
  ) {
    this.dec = new ComplaintDecoder(opts, delimiter === ';');
  }

  get unknownColumns(): readonly string[] {
    return this.unknown;
  }

  /** Returns the complaint a data row gave, if any. */
  event(e: CsvEvent, out: (c: Complaint, index: number) => void): void {
    if (this.error !== undefined) return;
    if (this.header) {
      this.header = false;
      if ('error' in e) {
        this.error = `unreadable CSV header: ${e.error}`;
        return;
      }
      const cols = complaintColumns(e.record, this.opts);
      if ('error' in cols) this.error = cols.error;
      else {
        this.fields = cols.fields;
        this.unknown = cols.unknown;
      }
      return;
    }
    const index = this.index++;
    if ('error' in e) {
      this.dec.tally.reject(index, e.line, undefined, e.error);
      return;
    }
    const o = complaintRow(this.fields!, e.record);
    if (typeof o === 'string') this.dec.tally.reject(index, e.line, undefined, o);
    else this.dec.take(o, index, e.line, out);
  }

  /** Counts; unknown columns are counted once per data row, as JSON counts keys per object. */
  finish(): Omit<ComplaintBatch, 'complaints' | 'indexes'> {
    if (this.header) this.error ??= 'the CSV has no header row';
    if (this.error !== undefined) return { ...countsOf(new Tally()), records: 0, error: this.error };
    for (const name of this.unknown) for (let i = 0; i < this.index; i++) this.dec.tally.ignore(name);
    return { ...countsOf(this.dec.tally), records: this.index };
  }
}

function countsOf(tally: Tally): Pick<ComplaintBatch, 'rejectedCount' | 'rejected' | 'ignoredFields'> {
  const c = tally.counts();
  return { rejectedCount: c.rejectedCount, rejected: c.rejected, ignoredFields: c.ignoredFields };
}

export { ComplaintDecoder };
