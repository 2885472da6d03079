/**
 * Collectors turn the network into Samples. The shape is Telegraf's: the scheduler calls
 * `gather(acc, signal)` once per tick, and the collector reports everything it learned into the
 * accumulator. A target that fails is reported with `acc.addError` / `acc.addGap` and never stops
 * the others; the collector itself does not throw for a single bad target.
 *
 * Long-lived collectors (trap listener, push intake) implement `ServiceCollector` instead.
 */
import type { CollectionGap, EpochMs, LinkSample, Sample } from '../model/index.js';

export interface Accumulator {
  addSample(sample: Sample): void;
  addLink(link: LinkSample): void;
  /** The target gave no data for this tick: a monitoring gap, not a network fault. */
  addGap(gap: CollectionGap): void;
  /** Something went wrong that an operator should read in the logs (names the target). */
  addError(target: string, err: Error): void;
}

export interface Collector {
  readonly name: string;
  /** Collect one tick. `tick` is the event time to stamp; `signal` aborts at the tick's deadline. */
  gather(acc: Accumulator, tick: EpochMs, signal: AbortSignal): Promise<void>;
}

export interface ServiceCollector {
  readonly name: string;
  start(acc: Accumulator): Promise<void>;
  stop(): Promise<void>;
}

/** An accumulator that keeps everything in arrays: for tests, `analyze`, and benchmarks. */
export class MemoryAccumulator implements Accumulator {
  readonly samples: Sample[] = [];
  readonly links: LinkSample[] = [];
  readonly gaps: CollectionGap[] = [];
  readonly errors: { target: string; err: Error }[] = [];
  addSample(sample: Sample): void {
    this.samples.push(sample);
  }
  addLink(link: LinkSample): void {
    this.links.push(link);
  }
  addGap(gap: CollectionGap): void {
    this.gaps.push(gap);
  }
  addError(target: string, err: Error): void {
    this.errors.push({ target, err });
  }
}
