/**
 * The live event stream's hub: one numbered history, fanned out to every subscriber whose filter
 * matches, without ever letting a stalled subscriber make the daemon's memory grow.
 *
 *   publish(event) ──seq, JSON + frame once──> history ring (count + bytes bound)
 *        │                                        │
 *        └── pending ──flush: at the end of the turn, then at most every flushIntervalMs──┐
 *                                                                    v
 *            per filter key: one concatenated batch ──> live subscriber sockets (one write each)
 *                                                         └─ unsent > clientBufferBytes ⇒ close 1008
 *            catching-up subscribers (connected with ?since) pull from the history under backpressure
 *            and join the live set when they reach the last flushed seq (no gap, no duplicate)
 *
 * Rules:
 * - Seqs are consecutive from 1 per run; `runId` names the run. A `since` from another run, beyond the
 *   history, or ahead of it gets one `resync` message and then the live stream from now.
 * - Each event is serialised and framed once; subscribers with the same filter share one buffer per
 *   flush, and each subscriber gets one socket write per flush, however many events it carries. The per-subscriber queue is its socket's unsent bytes: over the bound the subscriber is
 *   closed with 1008 "slow consumer: N bytes unsent", counted, and no more is written to it (its socket
 *   is cut after `closeGraceMs` if it does not read the close frame). The others are not slowed.
 * - A subscriber replaying a long history is paced by its socket (write → drain), so a reconnect after
 *   an hour is not a slow consumer; one that falls off the end of the history while replaying is.
 * - Heartbeats every `heartbeatMs`: a WebSocket ping (two unanswered pings and the socket is cut) and a
 *   `{type:'heartbeat', seq, at}` message for browsers, which cannot see pings. The heartbeat's seq is
 *   the newest seq published: a filtered subscriber has everything it matches up to it.
 * - Time comes from the injected Timers (real-time intervals) and Clock (`at` of heartbeats).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, Timers } from '../../clock/index.js';
import type { CounterMetric, EpochMs, GaugeMetric, Metrics } from '../../model/index.js';
import { compileFilter, filterKey, type EventMeta, type StreamFilter } from './filter.js';
import { textFrame } from './frame.js';
import { History, type StreamEntry } from './history.js';

/** What parts publish: a type, its event time, the fields filters read, anything else JSON can carry. */
export interface StreamEvent {
  type: string;
  at: EpochMs;
  severity?: string;
  region?: string;
  kind?: string;
  [field: string]: unknown;
}

export interface StreamOptions {
  /** Events kept for `since` replay, by count… */
  historyEvents: number;
  /** …and by bytes of their frames, whichever bound bites first. */
  historyBytes: number;
  /** Unsent bytes a live subscriber may have queued before it is closed as a slow consumer. */
  clientBufferBytes: number;
  /** Ping and heartbeat interval (real time). */
  heartbeatMs: number;
  /** After a close frame, how long a subscriber has to read it before its socket is cut. */
  closeGraceMs: number;
  maxClients: number;
  /** An event whose JSON is larger is dropped (and logged): it would make every subscriber "slow". */
  maxEventBytes: number;
  /**
   * Under load, events are written at most once per this many ms (0: at the end of every turn). An
   * event after a quiet spell goes out at once; a burst waits at most this long. Each write to a
   * socket is a system call and a wake-up of the reader: 100 subscribers × 1,000 turns/s is 100,000
   * of them a second, and on a 2-core box that alone costs more than a core.
   */
  flushIntervalMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  historyEvents: 10_000,
  historyBytes: 16 * 2 ** 20,
  clientBufferBytes: 2 ** 20,
  heartbeatMs: 15_000,
  closeGraceMs: 5_000,
  maxClients: 1_000,
  maxEventBytes: 256 * 2 ** 10,
  flushIntervalMs: 10,
};

/** A subscriber's socket as the hub needs it (the endpoint adapts a `ws` WebSocket and its socket). */
export interface StreamConnection {
  /** Writes complete frames; false when the socket's buffer is full (wait for `onDrain`). */
  write(frames: Buffer): boolean;
  /** Bytes written but not yet taken by the kernel. */
  readonly unsent: number;
  readonly open: boolean;
  onDrain(fn: () => void): void;
  ping(): void;
  /** Starts the closing handshake (the close frame queues behind what is unsent). */
  close(code: number, reason: string): void;
  /** Cuts the socket. */
  terminate(): void;
}

export interface SubscribeOptions {
  filter: StreamFilter;
  since?: number;
  runId?: string;
  /** Who subscribed (the token's name), for logs. */
  principal?: string;
  remote?: string;
}

/** The endpoint's handle on one subscriber: it reports pongs and the socket's end. */
export interface Subscription {
  readonly id: number;
  pong(): void;
  /** The socket closed (for whatever reason); idempotent. */
  gone(): void;
}

export type ResyncReason = 'too old' | 'restarted' | 'ahead';
export type DisconnectReason = 'slow-consumer' | 'heartbeat' | 'shutdown' | 'client';
type ClientState = 'catching-up' | 'live' | 'closing';

interface Client {
  id: number;
  conn: StreamConnection;
  key: string;
  filter: StreamFilter;
  matches: (e: EventMeta) => boolean;
  /** The last seq this subscriber was sent (or skipped, as not matching). */
  cursor: number;
  state: ClientState;
  awaitingPongs: number;
  waitingDrain: boolean;
  principal?: string;
  remote?: string;
  cancelTerminate?: () => void;
}

export interface StreamClientInfo {
  id: number;
  state: ClientState;
  cursor: number;
  unsent: number;
  awaitingPongs: number;
  filter: StreamFilter;
  principal?: string;
}

export interface StreamStats {
  runId: string;
  /** Newest seq published (0 before the first). */
  seq: number;
  oldest: number;
  historyEvents: number;
  historyBytes: number;
  clients: number;
  published: number;
  oversize: number;
  disconnects: Record<DisconnectReason, number>;
}

const CONTROL = { hello: 'hello', heartbeat: 'heartbeat', resync: 'resync' } as const;
/** Replay is written in chunks of about this size, each waiting for the socket to take the last. */
const REPLAY_CHUNK_BYTES = 64 * 1024;

export interface StreamHubDeps {
  timers: Timers;
  /** `at` of heartbeats: the daemon's clock (event time, accelerated in the demo). */
  clock: Clock;
  metrics?: Metrics;
  log?: Logger;
  /** Default: random. Tests pin it. */
  runId?: string;
}

export class StreamHub {
  readonly runId: string;
  readonly options: StreamOptions;
  private seq = 0;
  /** Newest seq every live subscriber has been handed (the pending batch starts after it). */
  private flushed = 0;
  private readonly history: History;
  private pending: StreamEntry[] = [];
  private flushQueued = false;
  /** A flush happened less than flushIntervalMs ago: what is published now waits for the interval's end. */
  private cooling = false;
  private cancelCooling: () => void = () => {};
  private nextId = 1;
  private readonly clients = new Map<number, Client>();
  private readonly live = new Set<Client>();
  private readonly catchingUp = new Set<Client>();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private cancelBeat: () => void = () => {};
  private closed?: Promise<void>;
  private allGone?: () => void;
  private published = 0;
  private oversize = 0;
  private readonly disconnects: Record<DisconnectReason, number> = {
    'slow-consumer': 0,
    heartbeat: 0,
    shutdown: 0,
    client: 0,
  };
  private readonly metrics?: {
    clients: GaugeMetric;
    events: CounterMetric;
    disconnects: CounterMetric<'reason'>;
  };

  constructor(
    options: Partial<StreamOptions>,
    private readonly deps: StreamHubDeps,
  ) {
    this.options = { ...DEFAULT_STREAM_OPTIONS, ...options };
    this.runId = deps.runId ?? randomBytes(6).toString('hex');
    this.history = new History(this.options.historyEvents, this.options.historyBytes);
    if (deps.metrics) {
      this.metrics = {
        clients: deps.metrics.gauge({ name: 'cellwatch_stream_clients', help: 'Connected stream subscribers' }),
        events: deps.metrics.counter({ name: 'cellwatch_stream_events_total', help: 'Events published to the stream' }),
        disconnects: deps.metrics.counter({
          name: 'cellwatch_stream_disconnects_total',
          help: 'Stream subscribers gone, by reason (slow-consumer, heartbeat, shutdown, client)',
          labelNames: ['reason'],
        }),
      };
      this.metrics.clients.set(0);
    }
    this.armBeat();
  }

  /**
   * Numbers the event, keeps it in the history and queues it for the subscribers (written at the end
   * of this turn, together with whatever else is published in it). Returns its seq, or undefined when
   * it was dropped as oversize or the hub is closed. Throws on an event without a type or time.
   */
  publish(event: StreamEvent): number | undefined {
    if (typeof event.type !== 'string' || event.type === '') throw new TypeError('stream event needs a type');
    if (!Number.isFinite(event.at)) throw new TypeError(`stream event ${event.type} needs a numeric at`);
    if (this.state !== 'open') return undefined;
    // seq goes first, for people reading the stream; a publisher's own `seq` field would shadow it.
    const body = JSON.stringify('seq' in event ? { ...event, seq: undefined } : event);
    const seq = this.seq + 1;
    const frame = textFrame(`{"seq":${seq},${body.slice(1)}`);
    if (frame.length > this.options.maxEventBytes) {
      this.oversize++;
      this.deps.log?.warn(
        { type: event.type, bytes: frame.length, limit: this.options.maxEventBytes },
        'stream event over the size limit dropped',
      );
      return undefined;
    }
    this.seq = seq;
    const entry: StreamEntry = { seq, frame, type: event.type, ...meta(event) };
    this.history.push(entry);
    this.pending.push(entry);
    this.published++;
    this.metrics?.events.inc();
    if (!this.flushQueued && !this.cooling) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        if (!this.cooling) this.flush();
      });
    }
    return seq;
  }

  /**
   * Hands the events published since the last flush to the live subscribers: at the end of the turn
   * of the first publish, then at most once per `flushIntervalMs` while events keep coming.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const head = batch[batch.length - 1]!.seq;
    const built = new Map<string, Buffer | null>();
    for (const c of this.live) {
      let frames = built.get(c.key);
      if (frames === undefined) {
        frames = concatMatching(batch, c.matches);
        built.set(c.key, frames);
      }
      c.cursor = head;
      if (frames) this.send(c, frames);
    }
    this.flushed = head;
    if (this.options.flushIntervalMs > 0 && !this.cooling) {
      this.cooling = true;
      this.cancelCooling = this.deps.timers.after(this.options.flushIntervalMs, () => {
        this.cooling = false;
        this.flush();
      });
    }
    if (this.catchingUp.size > 0) {
      const oldest = this.history.oldest(this.seq + 1);
      for (const c of this.catchingUp) if (c.cursor + 1 < oldest) this.slow(c);
    }
  }

  /** Whether a new subscriber would be taken, and if not the HTTP answer for the upgrade. */
  admission(): { ok: true } | { ok: false; status: 503; error: string } {
    if (this.state !== 'open') return { ok: false, status: 503, error: 'the daemon is stopping' };
    if (this.clients.size >= this.options.maxClients)
      return { ok: false, status: 503, error: `stream is at its ${this.options.maxClients}-subscriber limit` };
    return { ok: true };
  }

  /**
   * Takes a connected subscriber: a hello, then (for `since`) the replay or a resync, then live.
   * Synchronous, so nothing published can fall between the replay and the live stream.
   */
  subscribe(conn: StreamConnection, opts: SubscribeOptions): Subscription {
    if (this.state !== 'open') throw new Error('stream hub is closed');
    this.flush();
    const c: Client = {
      id: this.nextId++,
      conn,
      key: filterKey(opts.filter),
      filter: opts.filter,
      matches: compileFilter(opts.filter),
      cursor: this.flushed,
      state: 'live',
      awaitingPongs: 0,
      waitingDrain: false,
      ...(opts.principal !== undefined ? { principal: opts.principal } : {}),
      ...(opts.remote !== undefined ? { remote: opts.remote } : {}),
    };
    this.clients.set(c.id, c);
    this.metrics?.clients.set(this.clients.size);
    const oldest = this.history.oldest(this.seq + 1);
    conn.write(
      control({
        type: CONTROL.hello,
        runId: this.runId,
        latest: this.flushed,
        oldest,
        heartbeatMs: this.options.heartbeatMs,
        filter: opts.filter,
      }),
    );
    const resync = resyncReason(opts, this.runId, this.flushed, oldest);
    if (resync) {
      conn.write(control({ type: CONTROL.resync, reason: resync, oldest, latest: this.flushed, runId: this.runId }));
    } else if (opts.since !== undefined && opts.since < this.flushed) {
      c.cursor = opts.since;
      c.state = 'catching-up';
      this.catchingUp.add(c);
      this.deps.log?.debug({ client: c.id, since: opts.since, latest: this.flushed }, 'stream subscriber replaying');
      this.pump(c);
      return this.handle(c);
    }
    this.live.add(c);
    return this.handle(c);
  }

  private handle(c: Client): Subscription {
    return {
      id: c.id,
      pong: () => {
        c.awaitingPongs = 0;
      },
      gone: () => this.remove(c, 'client'),
    };
  }

  /** Writes replay chunks while the socket takes them; joins the live set on reaching the flushed seq. */
  private pump(c: Client): void {
    while (c.state === 'catching-up') {
      if (c.cursor >= this.flushed) {
        c.state = 'live';
        this.catchingUp.delete(c);
        this.live.add(c);
        return;
      }
      if (c.cursor + 1 < this.history.oldest(this.seq + 1)) return this.slow(c);
      if (c.waitingDrain) return;
      const frames: Buffer[] = [];
      let bytes = 0;
      let seq = c.cursor;
      while (seq < this.flushed && bytes < REPLAY_CHUNK_BYTES) {
        const e = this.history.get(++seq)!;
        if (c.matches(e)) {
          frames.push(e.frame);
          bytes += e.frame.length;
        }
      }
      c.cursor = seq;
      if (frames.length === 0) continue;
      if (!c.conn.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes))) {
        c.waitingDrain = true;
        c.conn.onDrain(() => {
          c.waitingDrain = false;
          this.pump(c);
        });
        return;
      }
    }
  }

  private send(c: Client, frames: Buffer): void {
    if (!c.conn.open) return;
    c.conn.write(frames);
    if (c.conn.unsent > this.options.clientBufferBytes) this.slow(c);
  }

  /** Closes a subscriber that cannot keep up, with the reason in the close frame. */
  private slow(c: Client): void {
    let unsent = c.conn.unsent;
    if (c.state === 'catching-up')
      for (let s = Math.max(c.cursor + 1, this.history.oldest(this.seq + 1)); s <= this.flushed; s++) {
        const e = this.history.get(s);
        if (e && c.matches(e)) unsent += e.frame.length;
      }
    this.deps.log?.warn(
      { client: c.id, principal: c.principal, remote: c.remote, unsent, limit: this.options.clientBufferBytes },
      'stream subscriber too slow; closing it',
    );
    this.count('slow-consumer');
    this.startClosing(c, 1008, `slow consumer: ${unsent} bytes unsent`);
  }

  private startClosing(c: Client, code: number, reason: string): void {
    if (c.state === 'closing') return;
    c.state = 'closing';
    this.live.delete(c);
    this.catchingUp.delete(c);
    c.conn.close(code, reason);
    c.cancelTerminate = this.deps.timers.after(this.options.closeGraceMs, () => c.conn.terminate());
  }

  private remove(c: Client, reason: DisconnectReason): void {
    if (!this.clients.delete(c.id)) return;
    if (c.state !== 'closing') this.count(reason);
    c.cancelTerminate?.();
    this.live.delete(c);
    this.catchingUp.delete(c);
    this.metrics?.clients.set(this.clients.size);
    if (this.clients.size === 0) this.allGone?.();
  }

  private count(reason: DisconnectReason): void {
    this.disconnects[reason]++;
    this.metrics?.disconnects.inc({ reason });
  }

  private armBeat(): void {
    this.cancelBeat = this.deps.timers.after(this.options.heartbeatMs, () => this.beat());
  }

  private beat(): void {
    if (this.state !== 'open') return;
    this.flush();
    const frame = control({ type: CONTROL.heartbeat, seq: this.flushed, at: this.deps.clock.now(), runId: this.runId });
    for (const c of this.clients.values()) {
      if (c.state === 'closing') continue;
      if (c.awaitingPongs >= 2) {
        this.deps.log?.info({ client: c.id, principal: c.principal }, 'stream subscriber missed two pongs; cut');
        this.remove(c, 'heartbeat');
        c.conn.terminate();
        continue;
      }
      c.awaitingPongs++;
      c.conn.ping();
      if (c.state === 'live') this.send(c, frame);
    }
    this.armBeat();
  }

  /**
   * Stops taking events and subscribers and closes every subscriber with 1001 "going away"; resolves
   * when all are gone (those that do not answer the close are cut after `closeGraceMs`). Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.flush();
      this.state = 'closing';
      this.cancelBeat();
      this.cancelCooling();
      const gone = new Promise<void>((resolve) => (this.allGone = resolve));
      for (const c of [...this.clients.values()]) {
        if (c.state !== 'closing') this.count('shutdown');
        this.startClosing(c, 1001, 'going away');
      }
      if (this.clients.size > 0) await gone;
      this.state = 'closed';
    })();
    return this.closed;
  }

  stats(): StreamStats {
    return {
      runId: this.runId,
      seq: this.seq,
      oldest: this.history.oldest(this.seq + 1),
      historyEvents: this.history.length,
      historyBytes: this.history.bytes,
      clients: this.clients.size,
      published: this.published,
      oversize: this.oversize,
      disconnects: { ...this.disconnects },
    };
  }

  clientList(): StreamClientInfo[] {
    return [...this.clients.values()].map((c) => ({
      id: c.id,
      state: c.state,
      cursor: c.cursor,
      unsent: c.conn.unsent,
      awaitingPongs: c.awaitingPongs,
      filter: c.filter,
      ...(c.principal !== undefined ? { principal: c.principal } : {}),
    }));
  }
}

function meta(e: StreamEvent): Omit<EventMeta, 'type'> {
  const out: { severity?: string; region?: string; kind?: string } = {};
  if (typeof e.severity === 'string') out.severity = e.severity;
  if (typeof e.region === 'string') out.region = e.region;
  if (typeof e.kind === 'string') out.kind = e.kind;
  return out;
}

function control(message: Record<string, unknown>): Buffer {
  return textFrame(JSON.stringify(message));
}

/** Why a `since` cannot be replayed from this history, if it cannot. */
export function resyncReason(
  req: { since?: number; runId?: string },
  runId: string,
  latest: number,
  oldest: number,
): ResyncReason | undefined {
  if (req.since === undefined) return undefined;
  if (req.runId !== undefined && req.runId !== runId) return 'restarted';
  if (req.since > latest) return 'ahead';
  if (req.since + 1 < oldest) return 'too old';
  return undefined;
}

function concatMatching(batch: readonly StreamEntry[], matches: (e: EventMeta) => boolean): Buffer | null {
  let bytes = 0;
  const frames: Buffer[] = [];
  for (const e of batch)
    if (matches(e)) {
      frames.push(e.frame);
      bytes += e.frame.length;
    }
  if (frames.length === 0) return null;
  return frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes);
}
