import type { Logger } from 'pino';
import type { Timers } from '../../clock/index.js';

export interface StopFailure {
  part: string;
  error: string;
}

/**
 * The daemon's parts in the order they were built, each with its close registered right beside its
 * construction (Alertmanager defers every component's Close next to where it is made). Stop runs the
 * closes in reverse — what started last stops first: the HTTP API (it starts last, once everything it
 * serves exists), then the collectors, then the ingest drain, … the stores last — every one of them even
 * when an earlier one fails or hangs, within one deadline; all failures are reported together.
 */
export class Lifecycle {
  private readonly parts: { name: string; close: () => unknown }[] = [];

  constructor(
    private readonly log: Logger,
    private readonly timers: Timers,
  ) {}

  /** Registers the close of the part just built. */
  defer(name: string, close: () => unknown): void {
    this.parts.push({ name, close });
  }

  /** Names in start order (for the start-up log and the architecture test). */
  get names(): string[] {
    return this.parts.map((p) => p.name);
  }

  /**
   * Closes every part, last first. A close still running when the deadline passes is reported as a
   * failure and left behind so that the parts before it (the stores, which flush what was accepted)
   * still get their turn. Idempotent: the list empties as it runs.
   */
  async closeAll(deadlineMs: number): Promise<StopFailure[]> {
    const failures: StopFailure[] = [];
    const deadline = performance.now() + deadlineMs;
    while (this.parts.length > 0) {
      const part = this.parts.pop()!;
      const left = Math.max(0, deadline - performance.now());
      let cancel = () => {};
      const timeout = new Promise<'timeout'>((resolve) => (cancel = this.timers.after(left, () => resolve('timeout'))));
      try {
        const outcome = await Promise.race([Promise.resolve().then(part.close), timeout]);
        if (outcome === 'timeout')
          failures.push({ part: part.name, error: `did not close within the ${deadlineMs} ms stop deadline` });
      } catch (err) {
        failures.push({ part: part.name, error: err instanceof Error ? err.message : String(err) });
      } finally {
        cancel();
      }
    }
    if (failures.length > 0) this.log.error({ failures }, `stop: ${failures.length} part(s) failed to close cleanly`);
    return failures;
  }
}
