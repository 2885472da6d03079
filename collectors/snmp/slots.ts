/**
 * Poll slots: a counting semaphore with a FIFO queue whose waiters can give up (their poll's
 * deadline passed or it was aborted). Each slot is one poll in flight and therefore one open socket.
 */
export class PollSlots {
  private used = 0;
  private readonly queue: { grant: () => void }[] = [];

  constructor(readonly size: number) {
    if (!(size >= 1)) throw new RangeError(`poll slots: size must be ≥ 1, got ${size}`);
  }

  get inUse(): number {
    return this.used;
  }

  /** Resolves with a release function; rejects when `signal` aborts before a slot is free. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next.grant();
      else this.used--;
    };
  }
}
