import type { Logger } from 'pino';

/** A summary of suppressed repeats is logged at most this often per key. */
const DEFAULT_EVERY_MS = 5 * 60_000;

interface Entry {
  since: number;
  suppressed: number;
}

/**
 * Warnings that repeat — a slow target on every poll, a skipped tick on every interval — logged the
 * first time and then once per period as one line with the count, per key (a target). One warning per
 * poll floods a deployment's logs with 160 targets × 60 polls an hour; nobody reads the 10,000th line,
 * but everybody needs the first and the count. Periods are real time (people read logs in real time),
 * measured with `performance.now()` unless a clock is given.
 */
export class RepeatedWarnings {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly log: Logger,
    private readonly level: 'warn' | 'info' = 'warn',
    private readonly everyMs = DEFAULT_EVERY_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { since: t, suppressed: 0 });
      this.log[this.level](fields, message);
      return;
    }
    if (t - entry.since < this.everyMs) {
      entry.suppressed++;
      return;
    }
    const minutes = Math.round((t - entry.since) / 60_000);
    this.log[this.level](
      { ...fields, repeats: entry.suppressed + 1, periodMinutes: minutes },
      `${message} (${entry.suppressed + 1} times in the last ${minutes} min)`,
    );
    entry.since = t;
    entry.suppressed = 0;
  }

  /** Forgets `key` and its sub-keys (`key` + NUL + …): a removed target starts afresh if it returns. */
  clear(key: string): void {
    for (const k of this.entries.keys()) if (k === key || k.startsWith(`${key}\0`)) this.entries.delete(k);
  }
}
