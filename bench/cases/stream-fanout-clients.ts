/**
 * The stream benchmark's subscribers, in a process of their own (so the server's RSS is its own and
 * the two do not share an event loop): N WebSocket clients that do the handshake, read frames, answer
 * pings, and for every event take `now − pub` (the publisher's timestamp in the payload) into a
 * latency histogram. They parse only frame headers and that one field — at 100 clients × 10,000
 * events/s a JSON.parse per message would make the measuring instrument the bottleneck.
 *
 * The bench runner imports every file in bench/cases; imported, this module only exports.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

export const STREAM_CLIENTS_ROLE = 'CELLWATCH_BENCH_STREAM_CLIENTS';

export type ClientsCommand =
  | { type: 'connect'; port: number; path: string; count: number }
  | { type: 'stall'; port: number; path: string }
  | { type: 'disconnect' }
  | { type: 'reset' }
  | { type: 'report' };

export interface ClientsReport {
  /** Events received over all clients since the last reset. */
  received: number;
  perClientMin: number;
  perClientMax: number;
  /** The latency histogram, sparse: [bucket, count] with buckets of HISTOGRAM_STEP_MS. */
  buckets: [number, number][];
  max: number;
  /** CPU the clients process used per second of wall time since the reset. */
  cpuMsPerS: number;
}

export const HISTOGRAM_STEP_MS = 0.01;

/** Latency in 10 µs steps up to 5 s (over that: the last bucket); exact enough for p99 ≤ 50 ms. */
export class Histogram {
  private buckets = new Uint32Array(500_001);
  count = 0;
  max = 0;
  add(ms: number): void {
    const i = Math.min(this.buckets.length - 1, Math.max(0, Math.round(ms / HISTOGRAM_STEP_MS)));
    this.buckets[i]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }
  merge(sparse: readonly [number, number][], max: number): void {
    for (const [i, n] of sparse) this.buckets[i]! += n;
    this.count += sparse.reduce((a, [, n]) => a + n, 0);
    this.max = Math.max(this.max, max);
  }
  sparse(): [number, number][] {
    const out: [number, number][] = [];
    this.buckets.forEach((n, i) => {
      if (n > 0) out.push([i, n]);
    });
    return out;
  }
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return i * HISTOGRAM_STEP_MS;
    }
    return this.max;
  }
  reset(): void {
    this.buckets = new Uint32Array(this.buckets.length);
    this.count = 0;
    this.max = 0;
  }
}

const PUB = Buffer.from('"pub":');
const now = () => performance.timeOrigin + performance.now();

/** Reads frames of one connection; calls back per event with its latency. */
class FrameReader {
  private pending: Buffer | null = null;
  received = 0;
  closed?: { code: number; reason: string };
  constructor(
    private readonly socket: Socket,
    private readonly histogram: Histogram,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let i = 0;
    const t = now();
    while (buf.length - i >= 2) {
      const b0 = buf[i]!;
      let len = buf[i + 1]! & 0x7f;
      let header = 2;
      if (len === 126) {
        if (buf.length - i < 4) break;
        len = buf.readUInt16BE(i + 2);
        header = 4;
      } else if (len === 127) {
        if (buf.length - i < 10) break;
        len = Number(buf.readBigUInt64BE(i + 2));
        header = 10;
      }
      const start = i + header;
      const end = start + len;
      if (end > buf.length) break;
      const opcode = b0 & 0x0f;
      if (opcode === 1) {
        const at = buf.indexOf(PUB, start);
        if (at >= 0 && at < end) {
          // Digits by hand: half the cost of a string and Number() per message, and this runs a million times a second.
          let v = 0;
          let scale = 0;
          for (let p = at + PUB.length; p < end; p++) {
            const c = buf[p]!;
            if (c === 0x2e) scale = 1;
            else if (c >= 0x30 && c <= 0x39) {
              v = v * 10 + (c - 0x30);
              if (scale) scale *= 10;
            } else break;
          }
          this.histogram.add(t - (scale ? v / scale : v));
          this.received++;
        }
      } else if (opcode === 9) this.pong(buf.subarray(start, end));
      else if (opcode === 8)
        this.closed = {
          code: len >= 2 ? buf.readUInt16BE(start) : 1005,
          reason: buf.toString('utf8', start + 2, end),
        };
      i = end;
    }
    this.pending = i < buf.length ? Buffer.from(buf.subarray(i)) : null;
  }

  /** A client's frames are masked; a zero mask leaves the payload as it is. */
  private pong(payload: Buffer): void {
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x8a;
    frame[1] = 0x80 | payload.length;
    payload.copy(frame, 6);
    this.socket.write(frame);
  }
}

function open(port: number, path: string): Promise<{ socket: Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
    req.on('response', (res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

async function serve(send: (m: unknown) => void): Promise<void> {
  const histogram = new Histogram();
  let readers: FrameReader[] = [];
  let sockets: Socket[] = [];
  let stalled: Socket | undefined;
  let cpu = process.cpuUsage();
  let since = performance.now();
  process.on('message', (cmd: ClientsCommand & { id: number }) => {
    void (async () => {
      try {
        switch (cmd.type) {
          case 'connect':
            for (let i = 0; i < cmd.count; i++) {
              const { socket, head } = await open(cmd.port, cmd.path);
              socket.setNoDelay(true);
              const reader = new FrameReader(socket, histogram);
              if (head.length > 0) reader.push(head);
              socket.on('data', (c: Buffer) => reader.push(c));
              socket.on('error', () => {});
              readers.push(reader);
              sockets.push(socket);
            }
            return send({ id: cmd.id });
          case 'stall': {
            const { socket } = await open(cmd.port, cmd.path);
            // Never reads: the kernel buffers fill, then the server's queue for it does.
            socket.pause();
            socket.on('error', () => {});
            stalled = socket;
            return send({ id: cmd.id });
          }
          case 'disconnect':
            for (const s of sockets) s.destroy();
            stalled?.destroy();
            readers = [];
            sockets = [];
            stalled = undefined;
            histogram.reset();
            return send({ id: cmd.id });
          case 'reset':
            histogram.reset();
            for (const r of readers) r.received = 0;
            cpu = process.cpuUsage();
            since = performance.now();
            return send({ id: cmd.id });
          case 'report': {
            const counts = readers.map((r) => r.received);
            const used = process.cpuUsage(cpu);
            const report: ClientsReport = {
              received: histogram.count,
              perClientMin: Math.min(...counts),
              perClientMax: Math.max(...counts),
              buckets: histogram.sparse(),
              max: histogram.max,
              cpuMsPerS: (used.user + used.system) / 1000 / ((performance.now() - since) / 1000),
            };
            return send({ id: cmd.id, report });
          }
        }
      } catch (err) {
        send({ id: cmd.id, error: (err as Error).message });
      }
    })();
  });
  send({ ready: true });
  await new Promise<void>((resolve) => process.once('disconnect', resolve));
  process.exit(0);
}

if (process.env[STREAM_CLIENTS_ROLE] === '1' && process.send) {
  const send = process.send.bind(process);
  void serve((m) => send(m));
}
