import type { Logger } from 'pino';
import { configSchema, fingerprint, type Config } from '../../config/index.js';

/** Every top-level section, in the schema's order (optional ones included even when absent). */
export const CONFIG_SECTIONS = Object.keys(configSchema.shape) as (keyof Config)[];

/** A subscriber's answer for its section: applied (with what to report), or it needs a restart. */
export type ReloadAnswer =
  /** `changed`: for an `everyReload` subscriber whose section text is unchanged, whether what it reads (a file) changed. */
  { applied: true; report?: Record<string, unknown>; changed?: boolean } | { applied: false; why?: string };

export type SectionSubscriber<K extends keyof Config> = (
  next: Config[K],
  prev: Config[K],
  config: Config,
) => ReloadAnswer | Promise<ReloadAnswer>;

export interface ReloadResult {
  /** Sections that changed and were applied. */
  applied: string[];
  /** Sections that changed but keep their running values until a restart. */
  restartNeeded: string[];
  /** What the subscribers reported (e.g. `snmp: {added, removed, …}`, `tokens: 2`). */
  [report: string]: unknown;
}

export const APPLIED: ReloadAnswer = { applied: true };
export const RESTART: ReloadAnswer = { applied: false };

/**
 * Reload as a coordinator (Alertmanager's `config.Coordinator.Subscribe`): each part subscribes to the
 * config sections it can apply live and answers "applied" or "restart needed". A section that changed
 * and that nobody subscribes to is reported as needing a restart — so a new knob is never silently
 * copied into the running config with nothing applying it. Sections are offered in the config's key
 * order (the inventory before the collectors that map rows through it), one subscriber at a time.
 * The running config takes the new value of every applied section and keeps the old one of the rest.
 */
export class ReloadCoordinator {
  private readonly subscribers = new Map<
    keyof Config,
    { fn: SectionSubscriber<keyof Config>; everyReload: boolean }[]
  >();

  constructor(
    private running: Config,
    private readonly log: Logger,
  ) {}

  get config(): Config {
    return this.running;
  }

  /**
   * `everyReload`: also called when the section's text is unchanged, for sections that name a file
   * whose content may have changed (the inventory CSV).
   */
  subscribe<K extends keyof Config>(section: K, fn: SectionSubscriber<K>, opts: { everyReload?: boolean } = {}): void {
    const list = this.subscribers.get(section) ?? [];
    list.push({ fn: fn as unknown as SectionSubscriber<keyof Config>, everyReload: opts.everyReload ?? false });
    this.subscribers.set(section, list);
  }

  async reload(next: Config): Promise<ReloadResult> {
    const result: ReloadResult = { applied: [], restartNeeded: [] };
    const merged: Record<string, unknown> = { ...this.running };
    // Compared by fingerprint, which sees rotated secrets (JSON would print them all as "[redacted]").
    for (const section of CONFIG_SECTIONS) {
      const changed = fingerprint(this.running[section]) !== fingerprint(next[section]);
      const subs = (this.subscribers.get(section) ?? []).filter((s) => changed || s.everyReload);
      if (!changed && subs.length === 0) continue;
      let applied = subs.length > 0;
      let contentChanged = false;
      for (const sub of subs) {
        const answer = await sub.fn(next[section], this.running[section], next);
        if (!answer.applied) applied = false;
        else {
          Object.assign(result, answer.report);
          contentChanged ||= answer.changed ?? false;
        }
      }
      if (!changed) {
        if (contentChanged) result.applied.push(section);
        continue;
      }
      if (applied) {
        result.applied.push(section);
        merged[section] = next[section];
      } else {
        result.restartNeeded.push(section);
      }
    }
    this.running = merged as Config;
    if (result.restartNeeded.length > 0) {
      this.log.warn(
        { sections: result.restartNeeded },
        'config sections changed that need a restart; kept the running values',
      );
    }
    this.log.info(result, 'config reloaded');
    return result;
  }
}
