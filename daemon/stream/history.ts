import type { EventMeta } from './filter.js';

/** One published event as the hub keeps it: its seq, its frame (serialised once) and what filters read. */
export interface StreamEntry extends EventMeta {
  seq: number;
  frame: Buffer;
}

/**
 * The last events published, bounded by count and by bytes (whichever bites first), oldest evicted
 * first. Seqs are consecutive, so the entry of a seq is found by arithmetic, not by search. A fixed
 * ring instead of an array with shift(): at 10,000 events/s an array's shift copies the whole history.
 */
export class History {
  private readonly ring: (StreamEntry | undefined)[];
  private start = 0;
  private count = 0;
  private size = 0;

  constructor(
    readonly maxEvents: number,
    readonly maxBytes: number,
  ) {
    if (!(maxEvents >= 1)) throw new Error(`stream history must hold at least one event, got ${maxEvents}`);
    this.ring = new Array<StreamEntry | undefined>(maxEvents);
  }

  /** Appends (seq must follow the newest) and evicts what no longer fits. */
  push(e: StreamEntry): void {
    if (this.count > 0 && e.seq !== this.newest + 1) throw new Error(`history seq ${e.seq} after ${this.newest}`);
    if (this.count === this.maxEvents) this.evict();
    this.ring[(this.start + this.count) % this.maxEvents] = e;
    this.count++;
    this.size += e.frame.length;
    // The newest event stays even when it alone is over the byte bound: a client must get it live.
    while (this.size > this.maxBytes && this.count > 1) this.evict();
  }

  private evict(): void {
    const e = this.ring[this.start]!;
    this.ring[this.start] = undefined;
    this.start = (this.start + 1) % this.maxEvents;
    this.count--;
    this.size -= e.frame.length;
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.size;
  }

  /** Seq of the oldest entry kept; with nothing kept, `fallback` (the seq the next event will get). */
  oldest(fallback: number): number {
    return this.count === 0 ? fallback : this.ring[this.start]!.seq;
  }

  private get newest(): number {
    return this.ring[(this.start + this.count - 1) % this.maxEvents]!.seq;
  }

  /** The entry of `seq`, if still kept. */
  get(seq: number): StreamEntry | undefined {
    if (this.count === 0) return undefined;
    const i = seq - this.ring[this.start]!.seq;
    if (i < 0 || i >= this.count) return undefined;
    return this.ring[(this.start + i) % this.maxEvents];
  }
}
