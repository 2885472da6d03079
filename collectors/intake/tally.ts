import type { IntakeCounts, Rejection } from './index.js';

/** At most this many rejections are kept with their reasons; the rest are only counted. */
export const DEFAULT_MAX_REJECTIONS = 1000;

/** At most this many distinct unknown field names are counted; later new names are dropped. */
export const MAX_IGNORED_NAMES = 1000;

/**
 * What a decoding run counts: accepted samples and links, refusals (their reasons kept up to a cap, so a
 * garbage file of a million lines cannot fill memory with a million messages), and ignored field names.
 */
export class Tally {
  samples = 0;
  links = 0;
  linksIgnored = 0;
  rejectedCount = 0;
  readonly rejected: Rejection[] = [];
  private readonly ignored = new Map<string, number>();
  /** A new unknown field name came when MAX_IGNORED_NAMES were already counted. */
  namesDropped = false;

  constructor(private readonly maxRejections = DEFAULT_MAX_REJECTIONS) {}

  reject(index: number, line: number | undefined, field: string | undefined, error: string): void {
    this.rejectedCount++;
    if (this.rejected.length >= this.maxRejections) return;
    // Keys in one order (index, line, field, error), so answers and golden files read the same.
    this.rejected.push({
      index,
      ...(line === undefined ? {} : { line }),
      ...(field === undefined ? {} : { field }),
      error,
    });
  }

  ignore(field: string): void {
    // Bounded: a sender with a new field name per record must not grow this without limit.
    const n = this.ignored.get(field);
    if (n !== undefined) this.ignored.set(field, n + 1);
    else if (this.ignored.size < MAX_IGNORED_NAMES) this.ignored.set(field, 1);
    else this.namesDropped = true;
  }

  counts(): IntakeCounts {
    return {
      samples: this.samples,
      links: this.links,
      linksIgnored: this.linksIgnored,
      rejectedCount: this.rejectedCount,
      rejected: this.rejected,
      ignoredFields: Object.fromEntries(this.ignored),
    };
  }
}
