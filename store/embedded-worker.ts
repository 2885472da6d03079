import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.js';
import { EmbeddedBackend } from './embedded.js';
import {
  type EmbeddedCall,
  type EmbeddedLogLevel,
  type EmbeddedReply,
  type ThreadData,
  LOG_LEVELS,
  decodeBatch,
} from './embedded-thread.js';

/*
 * The embedded series store's thread (see store/embedded-thread.ts): the EmbeddedBackend itself, its
 * SQLite connection, inserts, commits and moves, answering the daemon's thread call by call.
 */

const data = workerData as ThreadData;
const port = parentPort!;
/** Clock time as the daemon's clock last said (each call carries it): prunes follow the daemon's clock. */
let now = data.now;
const clock: Clock = { now: () => now, rate: data.rate };
const reply = (r: EmbeddedReply) => port.postMessage(r);
const logAt =
  (level: EmbeddedLogLevel) =>
  (obj: object, msg?: string): void => {
    const o = obj as { err?: unknown };
    // Errors do not survive the structured clone whole: their message and stack do.
    const err = o.err instanceof Error ? { message: o.err.message, stack: o.err.stack } : o.err;
    reply({ kind: 'log', level, obj: err === undefined ? obj : { ...obj, err }, msg });
  };
const log = Object.fromEntries(LOG_LEVELS.map((l) => [l, logAt(l)])) as unknown as Logger;

const backend = new EmbeddedBackend({ dataDir: data.dataDir, retentionMs: data.retentionMs, clock, log });

async function answer(call: EmbeddedCall): Promise<unknown> {
  switch (call.kind) {
    case 'init':
      return backend.init();
    case 'write':
      return backend.write(decodeBatch(call.batch));
    case 'prune':
      return backend.prune(call.at);
    case 'close':
      return backend.close();
    case 'latest':
      return backend.reader.latest(call.cells);
    case 'latestLinks':
      return backend.reader.latestLinks();
    case 'series':
      return backend.reader.series(call.cell, call.from, call.to, call.resolutionMs);
    case 'hourly':
      return backend.reader.hourly(call.from, call.to, call.cells);
  }
}

port.on('message', (call: EmbeddedCall) => {
  now = call.now;
  answer(call).then(
    (value) => reply({ kind: 'reply', id: call.id, value }),
    (err: unknown) => reply({ kind: 'reply', id: call.id, error: (err as Error).message ?? String(err) }),
  );
});
