import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Point } from './index.js';

/*
 * The disk spool: an append-only log of batches that the backend has not acknowledged yet, replayed
 * in order on recovery and at start-up.
 *
 * Layout: `${dir}/seg-<16 hex>.spool` segment files, each a run of records
 *   [u32 payload bytes][u32 point count][u32 checksum][payload: JSON array of points]
 * and `${dir}/cursor.json`: the first record not yet acknowledged ({ segment, offset }).
 *
 * - Every append is fsynced (group commit: batches waiting together share one fdatasync) before
 *   it resolves; only then is a batch "durable" and its export acknowledged.
 * - A crash in the middle of an append leaves a torn record at the tail of the last segment; it is
 *   cut off at open (that append never resolved, so nothing acknowledged is lost).
 * - The cursor is written after acknowledged progress without fsync: losing it only means some
 *   batches are sent twice, which InfluxDB (and the embedded store) absorb — points are keyed by
 *   series and timestamp, so a replay is idempotent.
 * - Segments entirely behind the cursor are deleted; the size cap counts every byte on disk.
 */

const HEADER = 12;
const MAX_RECORD = 512 * 1024 * 1024;

export class SpoolFullError extends Error {
  constructor(
    readonly points: number,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`disk spool is full (${bytes} of ${maxBytes} bytes): ${points} points refused`);
    this.name = 'SpoolFullError';
  }
}

export interface SpoolRecord {
  segment: number;
  offset: number;
  /** Offset just past this record. */
  end: number;
  points: Point[];
}

interface Segment {
  id: number;
  size: number;
}

function checksum(payload: Buffer): number {
  return createHash('md5').update(payload).digest().readUInt32LE(0);
}

const segName = (id: number) => `seg-${id.toString(16).padStart(16, '0')}.spool`;

/** Points in the spool's compact form: [measurement, tags, fields, ts]. */
type Packed = [string, Record<string, string>, Record<string, number | boolean | string>, number];

export interface SpoolOptions {
  maxBytes: number;
  /** Segment size before rotating; defaults to min(64 MiB, maxBytes / 8). */
  segmentBytes?: number;
  log: Logger;
}

export class DiskSpool {
  private segments: Segment[] = [];
  private cursor = { segment: 0, offset: 0 };
  private writer?: { id: number; fh: FileHandle };
  private appending: Promise<void> = Promise.resolve();
  private readers = new Map<number, FileHandle>();
  private unackedPoints = 0;
  private unackedRecords = 0;
  private closed = false;
  private readonly segmentBytes: number;

  private constructor(
    readonly dir: string,
    private readonly opts: SpoolOptions,
  ) {
    this.segmentBytes =
      opts.segmentBytes ?? Math.max(64 * 1024, Math.min(64 * 1024 * 1024, Math.floor(opts.maxBytes / 8)));
  }

  /** Opens the spool, cutting off a torn tail and counting what is left to replay. */
  static open(dir: string, opts: SpoolOptions): DiskSpool {
    mkdirSync(dir, { recursive: true });
    const spool = new DiskSpool(dir, opts);
    spool.recover();
    return spool;
  }

  /** Bytes on disk (what the cap limits). */
  get bytes(): number {
    return this.segments.reduce((a, s) => a + s.size, 0);
  }

  /** Points appended and not yet acknowledged. */
  get pendingPoints(): number {
    return this.unackedPoints;
  }

  get pendingRecords(): number {
    return this.unackedRecords;
  }

  isEmpty(): boolean {
    return this.unackedRecords === 0;
  }

  private recover(): void {
    const ids = readdirSync(this.dir)
      .map((f) => /^seg-([0-9a-f]{16})\.spool$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => parseInt(m[1]!, 16))
      .sort((a, b) => a - b);
    this.segments = ids.map((id) => ({ id, size: statSync(join(this.dir, segName(id))).size }));
    try {
      const c = JSON.parse(readFileSync(join(this.dir, 'cursor.json'), 'utf8')) as { segment: number; offset: number };
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset)) this.cursor = c;
    } catch {
      // No cursor yet (or unreadable): start from the first segment; re-sending is idempotent.
    }
    const first = this.segments[0];
    // Segment ids only grow (see nextSegmentId), so the cursor never points past the newest one; if
    // it does, files were moved by hand: replay everything there is (idempotent) rather than skip it.
    if (first && (this.cursor.segment < first.id || this.cursor.segment > this.segments[this.segments.length - 1]!.id))
      this.cursor = { segment: first.id, offset: 0 };
    if (!first) return;
    // Count records from the cursor on; verify the last segment fully (a crash can only tear its tail).
    const last = this.segments[this.segments.length - 1]!;
    for (const seg of this.segments) {
      if (seg.id < this.cursor.segment) continue;
      const file = join(this.dir, segName(seg.id));
      const fd = openSync(file, 'r');
      try {
        let off = seg.id === this.cursor.segment ? this.cursor.offset : 0;
        const header = Buffer.alloc(HEADER);
        while (off < seg.size) {
          const intact = (): boolean => {
            if (readSync(fd, header, 0, HEADER, off) < HEADER) return false;
            const len = header.readUInt32LE(0);
            if (len > MAX_RECORD || off + HEADER + len > seg.size) return false;
            if (seg !== last) return true;
            const payload = Buffer.alloc(len);
            readSync(fd, payload, 0, len, off + HEADER);
            return checksum(payload) === header.readUInt32LE(8);
          };
          if (!intact()) {
            if (seg === last) {
              this.opts.log.warn(
                { segment: segName(seg.id), offset: off, size: seg.size },
                'spool: cutting off a torn record left by a crash during an append',
              );
              truncateSync(file, off);
              seg.size = off;
            } else {
              this.opts.log.error(
                { segment: segName(seg.id), offset: off },
                'spool: segment ends in a torn record; skipping the rest of it',
              );
            }
            break;
          }
          this.unackedRecords++;
          this.unackedPoints += header.readUInt32LE(4);
          off += HEADER + header.readUInt32LE(0);
        }
      } finally {
        closeSync(fd);
      }
    }
  }

  /**
   * Appends batches as one group commit: written, then fdatasync'ed, then resolved. Refuses (with
   * SpoolFullError, nothing written) when the batches would take the spool past its cap.
   */
  append(batches: readonly (readonly Point[])[]): Promise<void> {
    const run = this.appending.then(() => this.doAppend(batches));
    this.appending = run.catch(() => undefined);
    return run;
  }

  private async doAppend(batches: readonly (readonly Point[])[]): Promise<void> {
    if (this.closed) throw new Error('spool is closed');
    const buffers: Buffer[] = [];
    let size = 0;
    let points = 0;
    for (const batch of batches) {
      const payload = Buffer.from(
        JSON.stringify(batch.map((p): Packed => [p.measurement, p.tags, p.fields, p.ts])),
        'utf8',
      );
      const header = Buffer.alloc(HEADER);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(batch.length, 4);
      header.writeUInt32LE(checksum(payload), 8);
      buffers.push(header, payload);
      size += HEADER + payload.length;
      points += batch.length;
    }
    if (this.bytes + size > this.opts.maxBytes) throw new SpoolFullError(points, this.bytes, this.opts.maxBytes);
    let seg = this.segments[this.segments.length - 1];
    if (!seg || (seg.size > 0 && seg.size + size > this.segmentBytes)) {
      seg = { id: Math.max(seg?.id ?? 0, this.cursor.segment) + 1, size: 0 };
      await this.openWriter(seg.id);
      this.segments.push(seg);
    } else if (this.writer?.id !== seg.id) {
      await this.openWriter(seg.id);
    }
    const fh = this.writer!.fh;
    const start = seg.size;
    try {
      let written = 0;
      while (written < size) {
        const { bytesWritten } = await fh.writev(
          written === 0 ? buffers : [Buffer.concat(buffers).subarray(written)],
          start + written,
        );
        written += bytesWritten;
      }
      await fh.datasync();
    } catch (err) {
      // Leave no partial record behind: the next append (or the next start) must find a clean tail.
      await fh.truncate(start).catch(() => undefined);
      throw err;
    }
    seg.size = start + size;
    this.unackedRecords += batches.length;
    this.unackedPoints += points;
  }

  private async openWriter(id: number): Promise<void> {
    await this.writer?.fh.close();
    this.writer = undefined;
    const fh = await open(join(this.dir, segName(id)), 'a+');
    this.writer = { id, fh };
    // A new file is durable only once its directory entry is: fsync the directory too.
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  /**
   * Up to `max` records from the cursor on (or from just after `after`), oldest first, without
   * acknowledging them.
   */
  async peek(max: number, after?: SpoolRecord): Promise<SpoolRecord[]> {
    const out: SpoolRecord[] = [];
    let { segment, offset } = after ? { segment: after.segment, offset: after.end } : this.cursor;
    for (const seg of this.segments) {
      if (seg.id < segment) continue;
      if (seg.id > segment) {
        segment = seg.id;
        offset = 0;
      }
      let fh = this.readers.get(seg.id);
      if (!fh) {
        fh = await open(join(this.dir, segName(seg.id)), 'r');
        this.readers.set(seg.id, fh);
      }
      while (offset < seg.size && out.length < max) {
        const header = Buffer.alloc(HEADER);
        await fh.read(header, 0, HEADER, offset);
        const len = header.readUInt32LE(0);
        const end = offset + HEADER + len;
        if (len > MAX_RECORD || end > seg.size) {
          offset = seg.size; // torn tail of an older segment, already logged at open
          break;
        }
        const payload = Buffer.alloc(len);
        await fh.read(payload, 0, len, offset + HEADER);
        let points: Point[] = [];
        if (checksum(payload) !== header.readUInt32LE(8)) {
          this.opts.log.error({ segment: segName(seg.id), offset }, 'spool: record fails its checksum; skipped');
        } else {
          points = (JSON.parse(payload.toString('utf8')) as Packed[]).map(([measurement, tags, fields, ts]) => ({
            measurement,
            tags,
            fields,
            ts,
          }));
        }
        out.push({ segment: seg.id, offset, end, points });
        offset = end;
      }
      if (out.length >= max) break;
    }
    return out;
  }

  /** Marks `record` (the oldest unacknowledged one) as delivered; deletes segments left behind. */
  async ack(record: SpoolRecord, points = record.points.length): Promise<void> {
    this.cursor = { segment: record.segment, offset: record.end };
    this.unackedRecords = Math.max(0, this.unackedRecords - 1);
    this.unackedPoints = Math.max(0, this.unackedPoints - points);
    // Move to the next segment when this one is done and a newer one exists.
    const seg = this.segments.find((s) => s.id === record.segment);
    const next = this.segments.find((s) => s.id > record.segment);
    if (seg && next && record.end >= seg.size) this.cursor = { segment: next.id, offset: 0 };
    const cursorFile = join(this.dir, 'cursor.json');
    writeFileSync(`${cursorFile}.tmp`, JSON.stringify(this.cursor));
    renameSync(`${cursorFile}.tmp`, cursorFile);
    // Deleting a finished segment closes and unlinks a file an append may be writing at this very
    // moment (the spool catching up while collectors still spool): run it in the append chain, so it
    // sees the segment as it is after that append, record counted and all. An append only adds to a
    // segment or starts a newer one, so when nothing is finished now nothing will be after it: most
    // acks then need not wait for the appends (and their fsync) at all.
    if (!this.segments.some((s) => this.finished(s))) return;
    const cleanup = this.appending.then(() => this.dropFinishedSegments());
    this.appending = cleanup.catch(() => undefined);
    await cleanup;
  }

  /** Behind the cursor, or the cursor's own segment read to its end with nothing left to replay. */
  private finished(s: Segment): boolean {
    return (
      s.id < this.cursor.segment || (this.isEmpty() && s.id === this.cursor.segment && this.cursor.offset >= s.size)
    );
  }

  private async dropFinishedSegments(): Promise<void> {
    for (const s of [...this.segments]) {
      if (!this.finished(s)) continue;
      if (this.writer?.id === s.id) {
        await this.writer.fh.close();
        this.writer = undefined;
      }
      await this.readers.get(s.id)?.close();
      this.readers.delete(s.id);
      await unlink(join(this.dir, segName(s.id))).catch(() => undefined);
      this.segments = this.segments.filter((x) => x !== s);
    }
  }

  /**
   * Records counted as pending that no peek can find: an inconsistency (it once came from a segment
   * deleted under an append). Forgets them and returns their points, for the caller to count and
   * raise as dropped, so a replayer never waits for data that is not there.
   */
  forgetUnreadable(): number {
    const points = this.unackedPoints;
    this.unackedRecords = 0;
    this.unackedPoints = 0;
    return points;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.appending;
    this.closed = true;
    await this.writer?.fh.close();
    this.writer = undefined;
    for (const fh of this.readers.values()) await fh.close();
    this.readers.clear();
  }
}
