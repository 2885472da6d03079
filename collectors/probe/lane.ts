/**
 * The probe host's link as a shared/exclusive lock. A download fills the link on purpose; a latency
 * test run beside it measures the download's queue (bufferbloat), not the network, and two downloads
 * at once each measure half. So a download runs alone, and latency tests share the link with each
 * other only. Waiters are served in arrival order, and a waiting download keeps newer latency tests
 * back, so a steady stream of short tests can never starve it.
 */
export type LaneMode = 'shared' | 'exclusive';

interface Waiter {
  mode: LaneMode;
  grant: () => void;
}

export class ProbeLane {
  private shared = 0;
  private exclusive = false;
  private readonly queue: Waiter[] = [];

  /** Resolves with a release function; rejects with the signal's reason when it aborts first. */
  acquire(mode: LaneMode, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(reasonOf(signal));
    if (this.queue.length === 0 && this.fits(mode)) return Promise.resolve(this.take(mode));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        mode,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.take(mode));
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(reasonOf(signal));
        this.grantWaiting();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Tests holding the lane now (for status and tests). */
  get holders(): number {
    return this.exclusive ? 1 : this.shared;
  }

  private fits(mode: LaneMode): boolean {
    return mode === 'shared' ? !this.exclusive : !this.exclusive && this.shared === 0;
  }

  private take(mode: LaneMode): () => void {
    if (mode === 'shared') this.shared++;
    else this.exclusive = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (mode === 'shared') this.shared--;
      else this.exclusive = false;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.mode)) this.queue.shift()!.grant();
  }
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
