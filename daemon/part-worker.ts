import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread running one of the daemon's part scripts (daemon/analyze-part.ts,
 * daemon/bulk-match-part.ts), as a queue of its answers: each answer is an object with a `kind`, and
 * `next(kind)` waits for the next of that kind. A script reports a failure as `{ kind: 'error',
 * message }`; that, an uncaught error or a non-zero exit fails every wait from then on.
 */
export class PartWorker {
  private readonly worker: Worker;
  private readonly inbox: { kind: string }[] = [];
  private waiting: { kind: string; resolve: (m: { kind: string }) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  /** `script`: the part's file name beside this one, without extension. */
  constructor(script: string) {
    // Compiled, the part is a .js beside this file; under the test runner, the TypeScript source.
    const js = new URL(`./${script}.js`, import.meta.url);
    const file = existsSync(fileURLToPath(js)) ? js : new URL(`./${script}.ts`, import.meta.url);
    this.worker = new Worker(file);
    this.worker.on('message', (m: { kind: string; message?: string }) => {
      if (m.kind === 'error') this.fail(new Error(`${script} (worker thread): ${m.message}`));
      else this.deliver(m);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`the ${script} worker thread exited with code ${code}`));
    });
  }

  post(msg: unknown, transfer: readonly ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  next<T>(kind: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const i = this.inbox.findIndex((m) => m.kind === kind);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      this.waiting = { kind, resolve: resolve as (m: { kind: string }) => void, reject };
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private deliver(m: { kind: string }): void {
    const w = this.waiting;
    if (w && w.kind === m.kind) {
      this.waiting = undefined;
      w.resolve(m);
    } else this.inbox.push(m);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }
}
