import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse as csvParser } from 'csv-parse';
import type { Complaint } from '../../model/index.js';
import { ComplaintDecoder, ComplaintRows, complaintColumns, type ComplaintOptions } from './complaints.js';
import type { IntakeCounts, Rejection, SampleSink } from './index.js';
import type { Precision } from './lineprotocol.js';
import { LineProtocolDecoder, type CompiledMappings } from './mapping.js';
import { HeaderError, SampleCsvDecoder, SampleDecoder, type SampleOptions } from './samples.js';
import { DEFAULT_MAX_REJECTIONS, MAX_IGNORED_NAMES, type Tally } from './tally.js';
import { csvEventOptions, detectDelimiter, TextNormalizer, type CsvEvent } from './text.js';

/*
 * Sample and complaint files, streamed: a file is never held in memory whole (except a `.json` array,
 * which only exists small), bad records are reported with their line and the rest are kept.
 *
 *   .jsonl .ndjson → JSON lines     .json → one JSON array     .csv .tsv → CSV (header row)
 *   .lp .txt .line → line protocol   anything else → sniffed from the first bytes
 *   FILE.gz → gunzipped, the inner name decides
 *
 * JSON lines are parsed a slice at a time as one JSON array (`[line,line,…]`): one JSON.parse call
 * per few hundred lines instead of one per line. When a slice does not parse that way (a blank or
 * broken line in it) its lines are parsed one by one, which finds the bad line and its number.
 */

export type SampleFormat = 'jsonl' | 'json' | 'csv' | 'lp';

/** Called after each chunk: bytes of the file read so far, and its size. */
export type FileProgress = (bytesRead: number, totalBytes: number) => void;

export interface SampleFileOptions extends SampleOptions {
  format?: SampleFormat;
  onProgress?: FileProgress;
  /** Line protocol: the timestamps' precision; `auto` (default) guesses it from the first timestamp's digits. */
  precision?: Precision | 'auto';
  /** Line protocol: how measurements become samples (default: cellwatch's own schema). */
  mappings?: CompiledMappings;
  /** Line protocol: time for lines without a timestamp. Without it such lines are refused. */
  now?: number;
  /** A `.json` array is parsed whole up to this size (default 256 MiB); beyond it, use JSON lines. */
  maxJsonBytes?: number;
  /** Bytes per read (default 1 MiB). */
  chunkBytes?: number;
}

export interface SampleFileResult extends IntakeCounts {
  format: SampleFormat;
  /** File bytes read (compressed bytes for .gz). */
  bytes: number;
  /** Records seen: non-blank lines, CSV data rows, array elements. */
  records: number;
  /** The precision used, for line protocol. */
  precision?: Precision;
  /** Things worth telling the user that refused nothing (ignored columns, a guessed precision). */
  warnings: string[];
  /** Set when the file could not be read as samples at all (no header, unreadable, too big). */
  error?: string;
}

const MiB = 1024 * 1024;

function formatFromName(path: string): SampleFormat | undefined {
  const ext = extname(path.endsWith('.gz') ? path.slice(0, -3) : path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.lp' || ext === '.txt' || ext === '.line') return 'lp';
  return undefined;
}

/** The format of a text from its first line: JSON starts with `{` or `[`, line protocol has `=`. */
export function sniffFormat(head: string): SampleFormat {
  const text = head.charCodeAt(0) === 0xfeff ? head.slice(1) : head;
  const t = text.trimStart();
  if (t.startsWith('[')) return 'json';
  if (t.startsWith('{')) return 'jsonl';
  const line = t.split('\n', 1)[0] ?? '';
  if (line.startsWith('#') || line.includes('=')) return 'lp';
  return 'csv';
}

/**
 * The file's text in chunks (BOM stripped, CRLF folded), with progress. Chunks are whatever the stream
 * gives; lines may span them.
 */
async function* textChunks(
  path: string,
  total: number,
  opts: { chunkBytes?: number; onProgress?: FileProgress },
  read: { bytes: number },
  range?: FileRange,
): AsyncGenerator<string> {
  if (range && range.end <= range.start) return;
  const file = createReadStream(path, {
    highWaterMark: opts.chunkBytes ?? MiB,
    ...(range ? { start: range.start, end: range.end - 1 } : {}),
  });
  const gz = path.endsWith('.gz');
  let source: Readable = file;
  if (gz) {
    // Progress counts the compressed bytes, which is what the file's size measures.
    file.on('data', (b) => (read.bytes += b.length));
    source = file.pipe(createGunzip());
    file.on('error', (e) => source.destroy(e));
  }
  const norm = new TextNormalizer(!range || range.start === 0);
  for await (const chunk of source) {
    if (!gz) read.bytes += (chunk as Buffer).length;
    const text = norm.push(chunk as Buffer);
    opts.onProgress?.(read.bytes, total);
    if (text.length > 0) yield text;
  }
  const rest = norm.end();
  if (rest.length > 0) yield rest;
}

/** Reads the first bytes (decompressed) for sniffing. */
async function head(path: string, bytes = 64 * 1024): Promise<string> {
  let out = '';
  for await (const t of textChunks(path, 0, { chunkBytes: bytes }, { bytes: 0 })) {
    out += t;
    if (out.length >= bytes || out.includes('\n')) break;
  }
  return out;
}

/**
 * A file's text for one read: `head` to sniff it, then `chunks` once. A regular file is opened again for
 * each; a pipe (`--samples /dev/stdin`) can be read only once, so what `head` took from it is kept and
 * `chunks` gives it first — sniffing must not eat the first lines.
 */
class TextInput {
  private readonly once: boolean;
  private readonly total: number;
  private source: AsyncGenerator<string> | undefined;
  private peeked = '';

  constructor(
    private readonly path: string,
    stats: Stats,
    private readonly opts: { chunkBytes?: number; onProgress?: FileProgress },
    private readonly read: { bytes: number },
  ) {
    this.once = !stats.isFile();
    this.total = stats.size;
  }

  async head(bytes = 64 * 1024): Promise<string> {
    if (!this.once) return head(this.path, bytes);
    const source = (this.source ??= textChunks(this.path, this.total, this.opts, this.read));
    while (this.peeked.length < bytes && !this.peeked.includes('\n')) {
      const r = await source.next();
      if (r.done) break;
      this.peeked += r.value;
    }
    return this.peeked;
  }

  async *chunks(): AsyncGenerator<string> {
    if (!this.once) {
      yield* textChunks(this.path, this.total, this.opts, this.read);
      return;
    }
    const source = (this.source ??= textChunks(this.path, this.total, this.opts, this.read));
    if (this.peeked.length > 0) {
      const text = this.peeked;
      this.peeked = '';
      yield text;
    }
    yield* source;
  }
}

const SLICE = 64 * 1024;

/** JSON lines into a per-record callback, a slice of lines per JSON.parse when they allow it. */
class JsonLines {
  private pending = '';
  /** Line number of the first line in `pending`. */
  private line = 1;
  private index = 0;

  constructor(
    private readonly onValue: (v: unknown, index: number, line: number) => void,
    private readonly onBad: (index: number, line: number, error: string) => void,
  ) {}

  get records(): number {
    return this.index;
  }

  /** Lines taken so far (newlines, plus a last line without one once `end` has run). */
  get lines(): number {
    return this.line - 1;
  }

  push(text: string): void {
    const buf = this.pending.length > 0 ? this.pending + text : text;
    const last = buf.lastIndexOf('\n');
    if (last < 0) {
      this.pending = buf;
      return;
    }
    this.pending = buf.slice(last + 1);
    this.block(buf.slice(0, last));
  }

  end(): void {
    if (this.pending.trim().length > 0) this.block(this.pending);
    this.pending = '';
  }

  /**
   * Complete lines, in slices of about 64 KiB (a few hundred lines): large enough to save the per-call
   * cost, small enough that the parsed objects die young instead of being promoted by the GC.
   */
  private block(text: string): void {
    for (let p = 0; p < text.length;) {
      let e = p + SLICE >= text.length ? text.length : text.indexOf('\n', p + SLICE);
      if (e < 0) e = text.length;
      this.slice(p === 0 && e === text.length ? text : text.slice(p, e));
      p = e + 1;
    }
  }

  private slice(block: string): void {
    let lines = 1;
    for (let p = block.indexOf('\n'); p >= 0; p = block.indexOf('\n', p + 1)) lines++;
    let values: unknown;
    try {
      values = JSON.parse('[' + block.replaceAll('\n', ',') + ']');
    } catch {
      values = undefined;
    }
    // One value per line, or the block had blank or broken lines: then line by line.
    if (Array.isArray(values) && values.length === lines) {
      for (let i = 0; i < lines; i++) this.onValue(values[i], this.index++, this.line + i);
      this.line += lines;
      return;
    }
    let start = 0;
    for (let i = 0; i < lines; i++) {
      let end = block.indexOf('\n', start);
      if (end < 0) end = block.length;
      const text = block.slice(start, end);
      start = end + 1;
      const line = this.line + i;
      if (text.trim().length === 0) continue;
      const index = this.index++;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (err) {
        this.onBad(index, line, `invalid JSON: ${(err as Error).message}`);
        continue;
      }
      this.onValue(v, index, line);
    }
    this.line += lines;
  }
}

/** The precision of line-protocol timestamps from the digits of the first one. */
export function guessPrecision(text: string): Precision | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /\s(-?\d+)\s*$/.exec(line);
    if (!m) continue;
    const d = m[1]!.replace('-', '').length;
    if (d >= 18) return 'n';
    if (d >= 15) return 'u';
    if (d >= 12) return 'ms';
    if (d >= 9) return 's';
    return undefined;
  }
  return undefined;
}

/**
 * A sample file into a sink: JSON lines, a JSON array, CSV or line protocol (cellwatch's schema or the
 * given mappings), streamed. Bad content never throws — bad records are rejections, and `error` says
 * when nothing could be read; only I/O fails the promise (a missing or unreadable file).
 */
export async function readSampleFile(
  path: string,
  sink: SampleSink,
  opts: SampleFileOptions = {},
): Promise<SampleFileResult> {
  const stats = await stat(path);
  const total = stats.size;
  const options: SampleOptions = { ...opts, source: opts.source ?? 'import' };
  const read = { bytes: 0 };
  const input = new TextInput(path, stats, opts, read);
  const format = opts.format ?? formatFromName(path) ?? sniffFormat(await input.head());
  const warnings: string[] = [];
  const chunks = () => input.chunks();
  const result = (counts: IntakeCounts, records: number, extra: Partial<SampleFileResult> = {}): SampleFileResult => {
    warnings.push(...ignoredWarnings(counts));
    return { format, bytes: read.bytes, records, ...counts, warnings, ...extra };
  };

  if (format === 'jsonl') {
    const r = new SampleLines(sink, options);
    for await (const text of chunks()) r.push(text);
    r.end();
    return result(r.tally.counts(), r.records);
  }

  if (format === 'json') {
    const dec = new SampleDecoder(options);
    const limit = opts.maxJsonBytes ?? 256 * MiB;
    if (total > limit)
      return result(dec.tally.counts(), 0, {
        error: `a .json array of ${Math.round(total / MiB)} MiB is too big to parse at once (limit ${Math.round(limit / MiB)} MiB): write JSON lines (.jsonl), one sample per line`,
      });
    let text = '';
    for await (const t of chunks()) text += t;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return result(dec.tally.counts(), 0, { error: `invalid JSON: ${(err as Error).message}` });
    }
    const list = Array.isArray(body) ? body : [body];
    list.forEach((v, i) => dec.take(v, sink, i));
    return result(dec.tally.counts(), list.length);
  }

  if (format === 'lp') {
    let precision: Precision;
    if (opts.precision === undefined || opts.precision === 'auto') {
      const guess = guessPrecision(await input.head());
      precision = guess ?? 'n';
      warnings.push(
        guess
          ? `timestamps read as precision ${precision} (guessed from the first one; pass a precision to be sure)`
          : 'no timestamp found to guess the precision from: nanoseconds assumed',
      );
    } else precision = opts.precision;
    const noTime = opts.now === undefined;
    const d = new LineProtocolDecoder(sink, {
      ...options,
      precision,
      // A file read now says nothing about when its untimed lines happened: refused unless `now` is given.
      now: opts.now ?? Number.NaN,
      ...(opts.mappings ? { mappings: opts.mappings } : {}),
      exportSections: true,
    });
    // Line protocol keeps CRs as InfluxDB does (a CR before the newline refuses the line there), but
    // a file written on Windows should still read: fold CRLF here, for files only.
    for await (const text of chunks()) d.push(text);
    const counts = d.end();
    if (noTime && counts.rejected.some((r) => r.field === 'ts'))
      warnings.push('lines without a timestamp are refused when reading a file (no "now" given)');
    return result(counts, counts.lines, { precision });
  }

  // CSV
  let decoder: SampleCsvDecoder | undefined;
  let headerError: string | undefined;
  let index = 0;
  await csvEvents(chunks(), (e, delimiter) => {
    if (headerError !== undefined) return;
    if (!decoder) {
      if ('error' in e) {
        headerError = `unreadable CSV header: ${e.error}`;
        return;
      }
      try {
        decoder = new SampleCsvDecoder(e.record, { ...options, delimiter });
      } catch (err) {
        if (!(err instanceof HeaderError)) throw err;
        headerError = err.message;
      }
      return;
    }
    if ('error' in e) decoder.tally.reject(index++, e.line, undefined, e.error);
    else decoder.row(e.record, sink, index++, e.line);
  });
  if (!decoder || headerError !== undefined)
    return result(new SampleDecoder(options).tally.counts(), 0, { error: headerError ?? 'the file is empty' });
  if (decoder.unknownColumns.length > 0)
    warnings.push(
      `ignored unknown column${decoder.unknownColumns.length > 1 ? 's' : ''} ${quoteList(decoder.unknownColumns)}`,
    );
  // The columns are named once in the warnings: per-row counts of them would only repeat it.
  return { format, bytes: read.bytes, records: index, ...decoder.finish(), ignoredFields: {}, warnings };
}

const ignoredWarnings = (counts: IntakeCounts): string[] =>
  Object.entries(counts.ignoredFields).map(
    ([name, n]) => `ignored unknown field "${name}" (${n} time${n === 1 ? '' : 's'})`,
  );

/** The format a sample file is read as: from its name, else sniffed from its first bytes. */
export async function sampleFileFormat(path: string): Promise<SampleFormat> {
  return formatFromName(path) ?? sniffFormat(await head(path));
}

// ---------------------------------------------------------------------------------------------------
// JSON lines by byte range: one big file read by two threads at once

/** Bytes [start, end) of a file. */
export interface FileRange {
  start: number;
  end: number;
}

/** JSON-lines samples decoded into a sink, as text arrives: the whole of `readSampleFile`'s jsonl path. */
class SampleLines {
  private readonly dec: SampleDecoder;
  private readonly lines: JsonLines;

  constructor(sink: SampleSink, options: SampleOptions) {
    const dec = (this.dec = new SampleDecoder(options));
    this.lines = new JsonLines(
      (v, i, l) => dec.take(v, sink, i, l),
      (i, l, e) => dec.tally.reject(i, l, undefined, e),
    );
  }

  get tally(): Tally {
    return this.dec.tally;
  }

  get records(): number {
    return this.lines.records;
  }

  get lineCount(): number {
    return this.lines.lines;
  }

  push(text: string): void {
    this.lines.push(text);
  }

  end(): void {
    this.lines.end();
  }
}

/**
 * Where to cut a plain (uncompressed) JSON-lines file into two byte ranges for two readers: just
 * after the first newline at or past its middle, so that no line, CRLF pair or UTF-8 character is
 * split. One range when there is no such newline (or the file is empty past it).
 */
export function jsonlRanges(path: string): FileRange[] {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (let at = Math.floor(size / 2); at < size;) {
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n <= 0) break;
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) {
        const cut = at + nl + 1;
        return cut < size
          ? [
              { start: 0, end: cut },
              { start: cut, end: size },
            ]
          : [{ start: 0, end: size }];
      }
      at += n;
    }
    return [{ start: 0, end: size }];
  } finally {
    closeSync(fd);
  }
}

/**
 * What reading one range of a JSON-lines file gave: counts, rejections (`index` and `line` counted
 * from the range's start) and how many lines and records the range held.
 */
export interface SampleRangeResult extends IntakeCounts {
  bytes: number;
  records: number;
  lines: number;
  /** A range with more distinct unknown field names than are kept: its counts cannot be joined exactly. */
  namesDropped: boolean;
}

/**
 * Reads consecutive byte ranges of one plain JSON-lines file (from `jsonlRanges`), each as a part of
 * the whole: a byte-order mark is stripped only at byte 0, and the last line of the file may lack its
 * newline. Reading every range in order through one reader is reading the file.
 */
export class SampleRangeReader {
  private readonly lines: SampleLines;
  private bytes = 0;

  constructor(sink: SampleSink, opts: SampleOptions = {}) {
    this.lines = new SampleLines(sink, { ...opts, source: opts.source ?? 'import' });
  }

  async read(path: string, range: FileRange, onBytes?: (bytes: number) => void): Promise<void> {
    const read = { bytes: 0 };
    const before = this.bytes;
    const onProgress = onBytes && (() => onBytes(before + read.bytes));
    for await (const text of textChunks(path, 0, onProgress ? { onProgress } : {}, read, range)) this.lines.push(text);
    this.bytes += read.bytes;
  }

  /** The counts so far, the last line of the file taken (call once every range is read). */
  finish(): SampleRangeResult {
    this.lines.end();
    const t = this.lines.tally;
    return {
      ...t.counts(),
      bytes: this.bytes,
      records: this.lines.records,
      lines: this.lines.lineCount,
      namesDropped: t.namesDropped,
    };
  }
}

/**
 * Two consecutive ranges' results as one read of both would give them: rejections renumbered after
 * the first range's records and lines, at most `maxRejections` kept (the first range's first), and
 * unknown field names in order of first sight. Undefined when the second range dropped field names
 * (more distinct ones than kept): then only reading it after the first gives the right counts.
 */
export function joinSampleRanges(
  first: SampleRangeResult,
  second: SampleRangeResult,
  maxRejections = DEFAULT_MAX_REJECTIONS,
): SampleFileResult | undefined {
  if (second.namesDropped) return undefined;
  const rejected = first.rejected.slice(0, maxRejections);
  for (const r of second.rejected) {
    if (rejected.length >= maxRejections) break;
    rejected.push({
      ...r,
      index: r.index + first.records,
      ...(r.line === undefined ? {} : { line: r.line + first.lines }),
    });
  }
  const ignored = new Map(Object.entries(first.ignoredFields));
  for (const [name, n] of Object.entries(second.ignoredFields)) {
    const had = ignored.get(name);
    if (had !== undefined) ignored.set(name, had + n);
    else if (ignored.size < MAX_IGNORED_NAMES) ignored.set(name, n);
  }
  const counts: IntakeCounts = {
    samples: first.samples + second.samples,
    links: first.links + second.links,
    linksIgnored: first.linksIgnored + second.linksIgnored,
    rejectedCount: first.rejectedCount + second.rejectedCount,
    rejected,
    ignoredFields: Object.fromEntries(ignored),
  };
  return {
    format: 'jsonl',
    bytes: first.bytes + second.bytes,
    records: first.records + second.records,
    ...counts,
    warnings: ignoredWarnings(counts),
  };
}

/** Reads a whole result from one reader that took every range (`SampleRangeReader.finish`). */
export function sampleRangesResult(r: SampleRangeResult): SampleFileResult {
  const { lines: _l, namesDropped: _d, ...counts } = r;
  return { format: 'jsonl', ...counts, warnings: ignoredWarnings(counts) };
}

const quoteList = (names: readonly string[]) => names.map((c) => `"${c}"`).join(', ');

/**
 * CSV events from text chunks, in file order: the delimiter is chosen from the first line, then
 * csv-parse reports each record as it reads it. An async handler (a database write) is awaited before
 * more text is read.
 */
async function csvEvents(
  texts: AsyncIterable<string>,
  onEvent: (e: CsvEvent, delimiter: string) => void | Promise<void>,
): Promise<void> {
  let parser: ReturnType<typeof csvParser> | undefined;
  let delimiter = ',';
  let pending = '';
  let failure: Error | undefined;
  const queue: CsvEvent[] = [];
  const start = (text: string) => {
    delimiter = detectDelimiter(text);
    parser = csvParser(csvEventOptions(delimiter, (e) => queue.push(e)));
    parser.on('error', (e: Error) => (failure = e));
    parser.resume();
  };
  const drain = async () => {
    // Indexed, not shift(): a chunk queues thousands of records, and shift() is linear in them.
    for (let i = 0; i < queue.length; i++) {
      const r = onEvent(queue[i]!, delimiter);
      if (r instanceof Promise) await r;
    }
    queue.length = 0;
    if (failure) throw failure;
  };
  for await (const text of texts) {
    if (!parser) {
      pending += text;
      if (!pending.includes('\n')) continue;
      start(pending);
      parser!.write(pending);
      pending = '';
    } else parser.write(text);
    await drain();
  }
  if (!parser) {
    if (pending.length === 0) return;
    start(pending);
    parser!.write(pending);
  }
  const p = parser!;
  await new Promise<void>((resolve, reject) => {
    p.once('end', resolve);
    p.once('error', reject);
    p.end();
  });
  await drain();
}

// ---------------------------------------------------------------------------------------------------
// Complaints

export type ComplaintFormat = 'csv' | 'jsonl';

/** Where complaints go; an async `add` (a database write) is awaited before the next record. */
export interface ComplaintSink {
  add(c: Complaint): void | Promise<void>;
}

export interface ComplaintFileOptions extends ComplaintOptions {
  format?: ComplaintFormat;
  onProgress?: FileProgress;
  chunkBytes?: number;
}

export interface ComplaintFileResult {
  format: ComplaintFormat;
  bytes: number;
  /** Records seen (CSV data rows, non-blank JSON lines). */
  records: number;
  accepted: number;
  rejectedCount: number;
  rejected: Rejection[];
  ignoredFields: Record<string, number>;
  warnings: string[];
  error?: string;
}

/** A complaint file (CSV as operators export it, or JSON lines) into a sink, streamed. */
export async function readComplaintFile(
  path: string,
  sink: ComplaintSink,
  opts: ComplaintFileOptions = {},
): Promise<ComplaintFileResult> {
  const read = { bytes: 0 };
  const input = new TextInput(path, await stat(path), opts, read);
  const sniffed = (await input.head()).trimStart();
  const format: ComplaintFormat =
    opts.format ?? (formatFromName(path) === 'csv' ? 'csv' : sniffed.startsWith('{') ? 'jsonl' : 'csv');
  const warnings: string[] = [];
  let accepted = 0;
  const chunks = () => input.chunks();
  const done = (dec: ComplaintDecoder, records: number, error?: string): ComplaintFileResult => {
    const c = dec.tally.counts();
    return {
      format,
      bytes: read.bytes,
      records,
      accepted,
      rejectedCount: c.rejectedCount,
      rejected: c.rejected,
      ignoredFields: c.ignoredFields,
      warnings,
      ...(error === undefined ? {} : { error }),
    };
  };

  if (format === 'jsonl') {
    const dec = new ComplaintDecoder(opts);
    const found: Complaint[] = [];
    const lines = new JsonLines(
      (v, i, l) => dec.take(v, i, l, (c) => found.push(c)),
      (i, l, e) => dec.tally.reject(i, l, undefined, e),
    );
    const flush = async () => {
      for (const c of found.splice(0)) {
        const r = sink.add(c);
        if (r instanceof Promise) await r;
        accepted++;
      }
    };
    for await (const text of chunks()) {
      lines.push(text);
      await flush();
    }
    lines.end();
    await flush();
    return done(dec, lines.records);
  }

  let rows: ComplaintRows | undefined;
  await csvEvents(chunks(), async (e, delimiter) => {
    rows ??= new ComplaintRows(opts, delimiter);
    let got: Complaint | undefined;
    rows.event(e, (c) => (got = c));
    if (got) {
      const r = sink.add(got);
      if (r instanceof Promise) await r;
      accepted++;
    }
  });
  const r = (rows ?? new ComplaintRows(opts, ',')).finish();
  if (rows && rows.unknownColumns.length > 0)
    warnings.push(
      `ignored unknown column${rows.unknownColumns.length > 1 ? 's' : ''} ${quoteList(rows.unknownColumns)}`,
    );
  return {
    format,
    bytes: read.bytes,
    records: r.records,
    accepted,
    rejectedCount: r.rejectedCount,
    rejected: r.rejected,
    // The columns are named once in the warnings: per-row counts of them would only repeat it.
    ignoredFields: {},
    warnings,
    ...(r.error === undefined ? {} : { error: r.error }),
  };
}

/** One record of a complaint file as written, for a client that has it validated elsewhere (`cellwatch import`). */
export type RawComplaintRecord =
  | { index: number; line: number; csv: string[] }
  | { index: number; line: number; json: unknown }
  | { index: number; line: number; error: string };

export interface RawComplaintFile {
  format: ComplaintFormat;
  /** CSV: the header row and its delimiter. */
  header?: string[];
  delimiter?: string;
  bytes: number;
  /** Records seen (CSV data rows, non-blank JSON lines), unreadable ones included. */
  records: number;
  /** The file cannot be read as complaints at all (no header, a header without the required columns). */
  error?: string;
}

class StopReading extends Error {}

/**
 * A complaint file's records as written — CSV rows as their fields, JSON lines as their values,
 * unreadable records with their reason — streamed, each with its index and line, validated by no one
 * here: the receiver (the daemon) decides with its own time zone and inventory. The CSV header is
 * checked first, so a file that cannot work stops before anything is handed on.
 */
export async function readRawComplaints(
  path: string,
  onRecord: (r: RawComplaintRecord, file: RawComplaintFile) => void | Promise<void>,
  opts: { format?: ComplaintFormat; onProgress?: FileProgress; chunkBytes?: number } = {},
): Promise<RawComplaintFile> {
  const read = { bytes: 0 };
  const input = new TextInput(path, await stat(path), opts, read);
  const sniffed = (await input.head()).trimStart();
  const format: ComplaintFormat =
    opts.format ?? (formatFromName(path) === 'csv' ? 'csv' : sniffed.startsWith('{') ? 'jsonl' : 'csv');
  const file: RawComplaintFile = { format, bytes: 0, records: 0 };
  const chunks = () => input.chunks();

  if (format === 'jsonl') {
    const found: RawComplaintRecord[] = [];
    const lines = new JsonLines(
      (json, index, line) => found.push({ index, line, json }),
      (index, line, error) => found.push({ index, line, error }),
    );
    const flush = async () => {
      for (const r of found.splice(0)) {
        const p = onRecord(r, file);
        if (p instanceof Promise) await p;
      }
    };
    for await (const text of chunks()) {
      lines.push(text);
      file.bytes = read.bytes;
      await flush();
    }
    lines.end();
    await flush();
    file.records = lines.records;
    file.bytes = read.bytes;
    return file;
  }

  let index = 0;
  try {
    await csvEvents(chunks(), async (e, delimiter) => {
      file.bytes = read.bytes;
      if (file.header === undefined) {
        if ('error' in e) file.error = `unreadable CSV header: ${e.error}`;
        else {
          const cols = complaintColumns(e.record, {});
          if ('error' in cols) file.error = cols.error;
          file.header = e.record;
          file.delimiter = delimiter;
        }
        if (file.error !== undefined) throw new StopReading();
        return;
      }
      const r: RawComplaintRecord =
        'error' in e
          ? { index: index++, line: e.line, error: e.error }
          : { index: index++, line: e.line, csv: e.record };
      file.records = index;
      await onRecord(r, file);
    });
  } catch (err) {
    if (!(err instanceof StopReading)) throw err;
  }
  if (file.header === undefined) file.error ??= 'the file is empty (no CSV header row)';
  file.records = index;
  file.bytes = read.bytes;
  return file;
}
