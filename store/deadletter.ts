import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock/index.js';
import type { Point } from './index.js';

/**
 * Points the backend refused for their content, kept for a human: `${dataDir}/dead-letter/<UTC day>.jsonl`,
 * one JSON object per line: `{ at, reason, point }`. Appends are fsynced, so a dead-lettered point is
 * as durable as a stored one; nothing rotates or deletes these files (they are small and rare).
 */
export class DeadLetterFile {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly clock: Clock,
  ) {}

  append(points: readonly Point[], reason: string): Promise<void> {
    const at = this.clock.now();
    const text = points.map((point) => JSON.stringify({ at: new Date(at).toISOString(), reason, point })).join('\n') + '\n';
    const file = join(this.dir, `${new Date(at).toISOString().slice(0, 10)}.jsonl`);
    const run = this.chain.then(async () => {
      mkdirSync(this.dir, { recursive: true });
      const fh = await open(file, 'a');
      try {
        await fh.writeFile(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
