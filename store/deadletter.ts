import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock/index.js';
import type { Point } from './index.js';

const DAY_MS = 86_400_000;
const dayOf = (ts: number) => new Date(ts).toISOString().slice(0, 10);

/**
 * Points the backend refused for their content, kept for a human: `${dataDir}/dead-letter/<UTC day>.jsonl`,
 * one JSON object per line: `{ at, reason, point }`. Appends are fsynced, so a dead-lettered point is
 * as durable as a stored one. Day files older than the retention are deleted when a new day's file is
 * started: a device that sends bad data for months must not fill the disk.
 */
export class DeadLetterFile {
  private chain: Promise<void> = Promise.resolve();
  private currentDay?: string;

  constructor(
    readonly dir: string,
    private readonly clock: Clock,
    private readonly retentionMs: number,
  ) {}

  append(points: readonly Point[], reason: string): Promise<void> {
    const at = this.clock.now();
    const text =
      points.map((point) => JSON.stringify({ at: new Date(at).toISOString(), reason, point })).join('\n') + '\n';
    const day = dayOf(at);
    const run = this.chain.then(async () => {
      mkdirSync(this.dir, { recursive: true });
      if (day !== this.currentDay) {
        this.currentDay = day;
        this.prune(at);
      }
      const fh = await open(join(this.dir, `${day}.jsonl`), 'a');
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

  /** Deletes day files whose whole day ended more than the retention before `now`. */
  private prune(now: number): void {
    const oldest = dayOf(now - this.retentionMs - DAY_MS);
    for (const f of readdirSync(this.dir)) {
      const m = /^(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(f);
      if (m && m[1]! <= oldest) rmSync(join(this.dir, f), { force: true });
    }
  }
}
