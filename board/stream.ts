/**
 * The live stream as the board uses it (docs/stream.md): a ticket per connect, the cursor
 * (runId, seq) kept across reconnects so `?since=` replays exactly what was missed, a fresh REST
 * snapshot when the daemon says it cannot (`resync`: restarted, or too far behind), heartbeats
 * watched, backoff from 0.5 s to 30 s with jitter. Events are handed over in batches, at most one per
 * animation frame, so a burst of a thousand costs a few renders and not a thousand.
 */
import { streamTicket } from './api.js';
import type { StreamMessage } from './model.js';

export type StreamStatus = 'connecting' | 'live' | 'offline';
type Event = Extract<StreamMessage, { seq: number; type: 'alert' | 'window' }>;

export interface StreamHandlers {
  /** Fetch the state over REST; events that arrive meanwhile are applied after it. */
  snapshot(): Promise<void>;
  events(batch: Event[]): void;
  status(s: StreamStatus, detail: string): void;
}

export class LiveStream {
  private cursor: { runId?: string; seq?: number } = {};
  private ws?: WebSocket;
  private backoffMs = 500;
  private queue: Event[] = [];
  private flushing = false;
  private syncing: Promise<void> | undefined;
  private watch?: number;
  private quietPeriods = 0;
  private stopped = false;
  /** Events received in this page's life, and alert events among them (the bench and the tests read them). */
  received = 0;
  receivedAlerts = 0;

  get pending(): number {
    return this.queue.length;
  }

  constructor(
    /** Without tokens (a loopback daemon) the stream needs no ticket: one round trip fewer. */
    private readonly needsTicket: boolean,
    private readonly handlers: StreamHandlers,
    private readonly filter: Record<string, string> = { type: 'alert,window' },
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watch);
    this.ws?.close(1000, 'page closed');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.handlers.status('connecting', 'connecting to the live stream…');
    const q = new URLSearchParams(this.filter);
    try {
      if (this.needsTicket) q.set('ticket', await streamTicket());
    } catch (err) {
      this.retry(`cannot reach cellwatch (${(err as Error).message})`);
      return;
    }
    if (this.cursor.seq !== undefined && this.cursor.runId !== undefined) {
      q.set('since', String(this.cursor.seq));
      q.set('runId', this.cursor.runId);
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const base = new URL('api/v1/stream', location.href);
    const ws = new WebSocket(`${scheme}://${base.host}${base.pathname}?${q.toString()}`);
    this.ws = ws;
    ws.onmessage = (m) => this.message(JSON.parse(String(m.data)) as StreamMessage);
    ws.onclose = (e) => {
      clearInterval(this.watch);
      if (this.ws === ws) this.retry(e.reason ? `stream closed: ${e.reason}` : 'stream lost');
    };
  }

  private retry(why: string): void {
    if (this.stopped) return;
    this.handlers.status('offline', `${why}; retrying in ${Math.round(this.backoffMs / 100) / 10} s`);
    const wait = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    setTimeout(() => void this.connect(), wait);
  }

  private message(m: StreamMessage): void {
    this.quietPeriods = 0;
    switch (m.type) {
      case 'hello': {
        this.backoffMs = 500;
        clearInterval(this.watch);
        // Two silent heartbeat periods: the connection is dead even if the socket does not say so.
        this.watch = window.setInterval(() => {
          if (++this.quietPeriods >= 2) this.ws?.close(4000, 'no heartbeat');
        }, m.heartbeatMs);
        const first = this.cursor.runId === undefined;
        this.cursor.runId ??= m.runId;
        if (first) {
          this.cursor.seq = m.latest;
          this.sync();
        }
        this.handlers.status('live', 'live');
        return;
      }
      case 'resync':
        this.cursor = { runId: m.runId, seq: m.latest };
        this.queue = this.queue.filter((e) => e.seq > m.latest);
        this.sync();
        return;
      case 'heartbeat':
        this.cursor.seq = Math.max(this.cursor.seq ?? 0, m.seq);
        return;
      default:
        this.cursor.seq = m.seq;
        this.received++;
        if (m.type === 'alert') this.receivedAlerts++;
        this.queue.push(m);
        this.schedule();
    }
  }

  private sync(): void {
    const run: Promise<void> = this.handlers
      .snapshot()
      .catch((err: unknown) => {
        this.handlers.status('offline', `could not load the current state: ${(err as Error).message}`);
      })
      .finally(() => {
        if (this.syncing === run) this.syncing = undefined;
        this.schedule();
      });
    this.syncing = run;
  }

  private schedule(): void {
    if (this.flushing || this.syncing) return;
    this.flushing = true;
    const flush = () => {
      this.flushing = false;
      if (this.syncing || this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      this.handlers.events(batch);
    };
    // A hidden tab gets no animation frames: a timer keeps it current for when it is shown.
    if (document.hidden) setTimeout(flush, 250);
    else requestAnimationFrame(flush);
  }
}
