/**
 * Whether a sink must be sent a group's notification, against what it was last sent (the notification
 * log) — Alertmanager's DedupStage.needsUpdate, with the reason as a value.
 *
 * Keys: a firing alert is `fingerprint|severity[|flapping]`, so a new severity or the start and end of
 * flapping are news; a resolved alert is its fingerprint. The rules, in order:
 * - never notified: only if something fires (a group that only resolved was never news to this sink);
 * - an alert fires that the last notification did not carry (by key): notify;
 * - nothing fires any more: notify if the last notification had firing alerts (all resolved), else not;
 * - an alert resolved that the last notification did not list as resolved: notify;
 * - nothing changed: notify only when `repeatInterval` has passed since the last one (the caller
 *   passes Infinity when every firing alert is acked or flapping: those are not repeated).
 */
import type { EpochMs } from '../model/index.js';

/** What a sink was last sent for a group, successfully. */
export interface LogEntry {
  firing: readonly string[];
  resolved: readonly string[];
  at: EpochMs;
}

export type NotifyReason =
  'first' | 'new-firing' | 'all-resolved' | 'newly-resolved' | 'repeat' | 'unchanged' | 'never-fired' | 'quiet';

export interface NotifyDecision {
  notify: boolean;
  reason: NotifyReason;
}

export function needsNotify(
  entry: LogEntry | undefined,
  firingNow: ReadonlySet<string>,
  resolvedNow: ReadonlySet<string>,
  repeatInterval: number,
  now: EpochMs,
): NotifyDecision {
  if (!entry) return firingNow.size > 0 ? { notify: true, reason: 'first' } : { notify: false, reason: 'never-fired' };
  const sentFiring = new Set(entry.firing);
  for (const k of firingNow) if (!sentFiring.has(k)) return { notify: true, reason: 'new-firing' };
  if (firingNow.size === 0)
    return entry.firing.length > 0 ? { notify: true, reason: 'all-resolved' } : { notify: false, reason: 'quiet' };
  const sentResolved = new Set(entry.resolved);
  for (const k of resolvedNow) if (!sentResolved.has(k)) return { notify: true, reason: 'newly-resolved' };
  if (now - entry.at >= repeatInterval) return { notify: true, reason: 'repeat' };
  return { notify: false, reason: 'unchanged' };
}

/** The fingerprint inside a firing key. */
export function keyFingerprint(key: string): string {
  const bar = key.indexOf('|');
  return bar < 0 ? key : key.slice(0, bar);
}
