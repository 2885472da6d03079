/**
 * `cellwatch import FILE`: complaints from a CSV (as operators export it) or JSON-lines file into a
 * running daemon, through the same `POST /api/v1/complaints` as any CRM:
 *
 *   FILE ──stream──> records (CSV rows as written, JSON lines) ──batches of 500──> POST /api/v1/complaints
 *                        │                                                            │ 202 {accepted, duplicates, rejected}
 *                        └── unreadable rows: rejected here, with their line          └──> rejections mapped back to file lines
 *
 * - The daemon validates: its time zone reads local times, its inventory knows the cells, and a 202
 *   means the batch is committed. The file is only split here (CSV batches keep the header and the
 *   delimiter), so `import` and a CRM posting the same rows get the same answer.
 * - Idempotent by id: a re-run after a failure counts what went through as duplicates, so an import
 *   cut short is simply run again.
 * - A daemon that is busy (429, 503) or unreachable is retried with backoff; a refused token, a
 *   header without the required columns or a batch over the body limit stops the import at once.
 * - Progress on stderr when it is a terminal; the final count and the first rejections on stdout.
 *   Exit 0 when every record was accepted or a duplicate, 1 when some were rejected or it stopped.
 */
import type { Command } from 'commander';
import { readRawComplaints, type RawComplaintFile, type RawComplaintRecord } from '../collectors/intake/index.js';
import { realTimers, type Timers } from '../clock/index.js';

export interface ImportOptions {
  file: string;
  /** The daemon, `http://host:port`. */
  url: string;
  token?: string;
  /** Complaints per request (default 500). */
  batch?: number;
  format?: 'csv' | 'jsonl';
  /** Rejections printed (default 20); all are counted. */
  show?: number;
}

export interface ImportIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  timers?: Timers;
}

export interface ImportRejection {
  /** Record index in the file (0-based data rows / non-blank lines). */
  index: number;
  line: number;
  field?: string;
  error: string;
}

export interface ImportResult {
  file: string;
  format: 'csv' | 'jsonl';
  records: number;
  accepted: number;
  duplicates: number;
  rejectedCount: number;
  /** The first rejections (up to 1,000), in file order. */
  rejected: ImportRejection[];
  ignoredFields: Record<string, number>;
  /** Why the import stopped before the end of the file. */
  error?: string;
}

/** The daemon said no in a way a retry cannot change. */
export class ImportRefused extends Error {
  override readonly name = 'ImportRefused';
}

const KEEP_REJECTIONS = 1000;
const RETRIES = 8;

interface Posted {
  index: number;
  line: number;
}

interface Answer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; field?: string; error: string }[];
  rejectedCount: number;
  ignoredFields?: Record<string, number>;
}

/** Every field quoted, so commas, quotes and newlines in the text survive as the daemon reads them. */
function csvLine(fields: readonly string[], delimiter: string): string {
  return fields.map((f) => `"${f.replaceAll('"', '""')}"`).join(delimiter);
}

export async function runImport(opts: ImportOptions, io: ImportIo): Promise<ImportResult> {
  const timers = io.timers ?? realTimers;
  const batchSize = Math.max(1, Math.floor(opts.batch ?? 500));
  const endpoint = `${opts.url.replace(/\/+$/, '')}/api/v1/complaints`;
  const result: ImportResult = {
    file: opts.file,
    format: opts.format ?? 'csv',
    records: 0,
    accepted: 0,
    duplicates: 0,
    rejectedCount: 0,
    rejected: [],
    ignoredFields: {},
  };
  const reject = (r: ImportRejection) => {
    result.rejectedCount++;
    if (result.rejected.length < KEEP_REJECTIONS) result.rejected.push(r);
  };
  const bar = progressBar(io.stderr);

  let pending: { record: RawComplaintRecord; value: unknown }[] = [];
  const send = async (file: RawComplaintFile) => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const posted: Posted[] = batch.map((b) => ({ index: b.record.index, line: b.record.line }));
    const csv = file.format === 'csv';
    const body = csv
      ? [
          csvLine(file.header!, file.delimiter!),
          ...batch.map((b) => csvLine(b.value as string[], file.delimiter!)),
        ].join('\n') + '\n'
      : JSON.stringify(batch.map((b) => b.value));
    const answer = await post(endpoint, body, csv ? 'text/csv; charset=utf-8' : 'application/json', opts.token, timers);
    result.accepted += answer.accepted;
    result.duplicates += answer.duplicates;
    // The daemon counts every rejection and lists the first ones; the ones not listed still count.
    for (const r of answer.rejected) {
      const at = posted[r.index];
      reject({
        index: at?.index ?? -1,
        line: at?.line ?? 0,
        ...(r.field !== undefined ? { field: r.field } : {}),
        error: r.error,
      });
    }
    result.rejectedCount += Math.max(0, answer.rejectedCount - answer.rejected.length);
    for (const [k, n] of Object.entries(answer.ignoredFields ?? {}))
      result.ignoredFields[k] = (result.ignoredFields[k] ?? 0) + n;
  };

  let file: RawComplaintFile | undefined;
  try {
    file = await readRawComplaints(
      opts.file,
      async (record, f) => {
        file = f;
        if ('error' in record) reject({ index: record.index, line: record.line, error: record.error });
        else pending.push({ record, value: 'csv' in record ? record.csv : record.json });
        if (pending.length >= batchSize) await send(f);
        bar.update(f.bytes, result);
      },
      {
        ...(opts.format ? { format: opts.format } : {}),
        // Small reads: a batch is posted before the next is read, so the bar follows the posting.
        chunkBytes: 64 * 1024,
        onProgress: (bytes, total) => bar.total(total, bytes, result),
      },
    );
    result.format = file.format;
    if (file.error !== undefined) result.error = `${opts.file}: ${file.error}`;
    else await send(file);
    result.records = file.records;
  } catch (err) {
    if (!(err instanceof ImportRefused)) throw err;
    result.records = file?.records ?? result.records;
    result.error = err.message;
  }
  bar.done();
  result.rejected.sort((a, b) => a.index - b.index);
  io.stdout.write(importSummary(result, opts.show ?? 20));
  return result;
}

/** POST one batch; retried while the daemon is busy or unreachable, refused at once when it says no. */
async function post(
  url: string,
  body: string,
  type: string,
  token: string | undefined,
  timers: Timers,
): Promise<Answer> {
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
    } catch (err) {
      if (attempt >= RETRIES) {
        const why = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
        throw new ImportRefused(`cannot reach the daemon at ${url} (${why}), ${attempt} attempts`);
      }
      await timers.sleep(wait);
      wait = Math.min(wait * 2, 15_000);
      continue;
    }
    const text = await res.text();
    if (res.status === 202) return JSON.parse(text) as Answer;
    const said = errorText(text);
    if (res.status === 429 || res.status === 503 || res.status >= 500) {
      if (attempt >= RETRIES) throw new ImportRefused(`the daemon answered ${res.status} ${said} ${attempt} times`);
      const after = Number(res.headers.get('retry-after'));
      await timers.sleep(Number.isFinite(after) && after > 0 ? after * 1000 : wait);
      wait = Math.min(wait * 2, 15_000);
      continue;
    }
    if (res.status === 401 || res.status === 403)
      throw new ImportRefused(`the daemon refuses the token (${res.status} ${said}): use an ingest or admin token`);
    if (res.status === 413)
      throw new ImportRefused(`a batch is over the daemon's complaints.maxBody (${said}): lower --batch`);
    throw new ImportRefused(`the daemon refused a batch: ${res.status} ${said}`);
  }
}

function errorText(text: string): string {
  try {
    const b = JSON.parse(text) as { error?: unknown; message?: unknown };
    const said = b.error ?? b.message;
    return typeof said === 'string' ? said : text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

const n = (x: number) => x.toLocaleString('en-US');

export function importSummary(r: ImportResult, show: number): string {
  const lines = [
    `${r.file}: ${n(r.records)} record${r.records === 1 ? '' : 's'} — ${n(r.accepted)} accepted, ${n(r.duplicates)} duplicate${r.duplicates === 1 ? '' : 's'}, ${n(r.rejectedCount)} rejected`,
  ];
  for (const x of r.rejected.slice(0, show)) {
    const field = x.field !== undefined && !x.error.includes(x.field) ? ` ${x.field}` : '';
    lines.push(`  line ${x.line}${field}: ${x.error}`);
  }
  if (r.rejectedCount > Math.min(show, r.rejected.length))
    lines.push(`  … and ${n(r.rejectedCount - Math.min(show, r.rejected.length))} more`);
  const ignored = Object.keys(r.ignoredFields);
  if (ignored.length > 0) lines.push(`ignored columns or fields: ${ignored.map((k) => `"${k}"`).join(', ')}`);
  if (r.error !== undefined)
    lines.push(
      `stopped: ${r.error}`,
      `  ${n(r.accepted)} complaints were committed before that; run the import again — repeats count as duplicates`,
    );
  return lines.join('\n') + '\n';
}

/** "[#######---------] 47%  12,000 accepted" on a terminal; nothing otherwise. */
function progressBar(out: ImportIo['stderr']) {
  let size = 0;
  let last = '';
  const draw = (bytes: number, r: ImportResult) => {
    if (!out.isTTY) return;
    const pct = size > 0 ? Math.min(100, Math.floor((bytes / size) * 100)) : 0;
    const line = `[${'#'.repeat(Math.floor(pct / 4)).padEnd(25, '-')}] ${String(pct).padStart(3)}%  ${n(r.accepted)} accepted, ${n(r.duplicates)} duplicates, ${n(r.rejectedCount)} rejected`;
    if (line === last) return;
    last = line;
    out.write(`\r${line}`);
  };
  return {
    total: (total: number, bytes: number, r: ImportResult) => {
      size = total;
      draw(bytes, r);
    },
    update: draw,
    done: () => {
      if (out.isTTY && last !== '') out.write('\n');
    },
  };
}

interface ImportFlags {
  url: string;
  token?: string;
  batch: number;
  format?: 'csv' | 'jsonl';
  show: number;
}

/** `cellwatch import`, for cli.ts. */
export function registerImportCommand(program: Command): Command {
  return program
    .command('import')
    .description('import complaints from a CSV or JSON-lines file into a running daemon (idempotent by id)')
    .argument('<file>', 'complaints: .csv (header row; BOM, CRLF, quoted fields fine) or .jsonl, optionally .gz')
    .option('--url <url>', 'the daemon', 'http://127.0.0.1:8080')
    .option('--token <token>', 'API token with the ingest role (default: $CELLWATCH_TOKEN, which ps cannot see)')
    .option('--batch <n>', 'complaints per request', (v) => Number(v), 500)
    .option('--format <format>', 'csv or jsonl (default: from the name, else sniffed)')
    .option('--show <n>', 'rejections to print', (v) => Number(v), 20)
    .action(async (file: string, flags: ImportFlags) => {
      if (flags.format !== undefined && flags.format !== 'csv' && flags.format !== 'jsonl') {
        process.stderr.write(`cellwatch import: --format must be csv or jsonl, not "${String(flags.format)}"\n`);
        process.exit(2);
      }
      if (!Number.isInteger(flags.batch) || flags.batch < 1 || flags.batch > 100_000) {
        process.stderr.write('cellwatch import: --batch must be a whole number from 1 to 100000\n');
        process.exit(2);
      }
      const token = flags.token ?? process.env.CELLWATCH_TOKEN;
      try {
        const r = await runImport(
          {
            file,
            url: flags.url,
            batch: flags.batch,
            show: flags.show,
            ...(token ? { token } : {}),
            ...(flags.format ? { format: flags.format } : {}),
          },
          { stdout: process.stdout, stderr: process.stderr },
        );
        process.exitCode = r.error !== undefined || r.rejectedCount > 0 ? 1 : 0;
      } catch (err) {
        process.stderr.write(`cellwatch import: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
