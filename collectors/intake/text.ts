import { StringDecoder } from 'node:string_decoder';
import type { Options as CsvParseOptions } from 'csv-parse';

/*
 * Text as exporters write it: UTF-8 with or without a byte-order mark, CRLF or LF. Every reader
 * decodes through `TextNormalizer` so that what comes after sees LF only — csv-parse then counts lines
 * right (it counts the CR of a CRLF inside a quoted field as a line of its own), JSONL lines need no
 * trimming, and a Windows export of complaint texts keeps one kind of line break.
 */

/** Bytes (or strings) → text without BOM and with `\r\n` folded to `\n`, across chunk boundaries. */
export class TextNormalizer {
  private readonly decoder = new StringDecoder('utf8');
  private first = true;
  /** A chunk ended in `\r`: whether a `\n` follows is known only with the next chunk. */
  private pendingCR = false;

  /**
   * `atStart`: the text begins a file, where a byte-order mark is stripped. A later part of a file
   * (read by range) keeps one, as reading the whole file would.
   */
  constructor(atStart = true) {
    this.first = atStart;
  }

  push(chunk: Buffer | string): string {
    let s = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (this.first && s.length > 0) {
      this.first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    return this.fold(s);
  }

  end(): string {
    const rest = this.fold(this.decoder.end());
    if (this.pendingCR) {
      this.pendingCR = false;
      return rest + '\r';
    }
    return rest;
  }

  private fold(s: string): string {
    if (this.pendingCR) {
      this.pendingCR = false;
      s = s.charCodeAt(0) === 10 ? s : '\r' + s;
    }
    if (s.length > 0 && s.charCodeAt(s.length - 1) === 13) {
      this.pendingCR = true;
      s = s.slice(0, -1);
    }
    return s.indexOf('\r\n') < 0 ? s : s.replaceAll('\r\n', '\n');
  }
}

/** One whole text, normalised. */
export function normalizeText(input: Buffer | string): string {
  const n = new TextNormalizer();
  return n.push(input) + n.end();
}

/**
 * The delimiter of a CSV file from its header line: the most frequent of `,` `;` and tab outside
 * quotes (German and French Excel write `;`), `,` when none occurs.
 */
export function detectDelimiter(headerLine: string): ',' | ';' | '\t' {
  let comma = 0;
  let semi = 0;
  let tab = 0;
  let quoted = false;
  for (let i = 0; i < headerLine.length; i++) {
    const c = headerLine.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (quoted) continue;
    else if (c === 44) comma++;
    else if (c === 59) semi++;
    else if (c === 9) tab++;
    else if (c === 10) break;
  }
  if (semi > comma && semi >= tab) return ';';
  if (tab > comma && tab > semi) return '\t';
  return ',';
}

/** csv-parse settings shared by the sample and complaint readers. */
export function csvParseOptions(delimiter: string): CsvParseOptions {
  return {
    delimiter,
    // A stray quote inside an unquoted field ("5" screen") is kept as text, as Excel reads it.
    relax_quotes: true,
    // Rows with more fields than the header are refused by the decoders with a reason; fewer fields
    // mean the trailing ones are empty (some exporters drop trailing empty fields).
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    // Free-text fields up to 4,000 characters (complaints) plus the rest of the row.
    max_record_size: 1_000_000,
  };
}

/** What a CSV reader sees, in file order: a record with the line it starts on, or an unreadable one. */
export type CsvEvent = { record: string[]; line: number } | { error: string; line: number };

/**
 * csv-parse settings that report every record and every unreadable record, in order and synchronously
 * as csv-parse reads them (its `on_record` and `on_skip` hooks; nothing is pushed downstream). An
 * unreadable record is placed on the line after the last record read (csv-parse itself names the
 * line where it gave up, which for an unterminated quote is the end of the file).
 */
export function csvEventOptions(delimiter: string, onEvent: (e: CsvEvent) => void): CsvParseOptions {
  let lastEnd = 0;
  return {
    ...csvParseOptions(delimiter),
    info: false,
    on_record: (record: string[], ctx: { lines: number }) => {
      onEvent({ record, line: recordStartLine(ctx.lines, record) });
      lastEnd = ctx.lines;
      return null;
    },
    on_skip: (err: Error | undefined) => {
      if (err) {
        onEvent({ error: `unreadable CSV from line ${lastEnd + 1}: ${err.message}`, line: lastEnd + 1 });
        lastEnd = errorLine(err) ?? lastEnd;
      }
      return undefined;
    },
  };
}

/** The line a record starts on, from csv-parse's `info.lines` (its last line) and its fields. */
export function recordStartLine(endLine: number, record: readonly string[]): number {
  let line = endLine;
  for (const f of record) {
    if (f.indexOf('\n') < 0) continue;
    for (let i = 0; i < f.length; i++) if (f.charCodeAt(i) === 10) line--;
  }
  return line;
}

/** The line csv-parse was on when it gave up on a record. */
export function errorLine(err: Error): number | undefined {
  const lines = (err as Error & { lines?: unknown }).lines;
  return typeof lines === 'number' ? lines : undefined;
}

/** The first line of a text (the header of a CSV), without its newline. */
export function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}
