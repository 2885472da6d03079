/**
 * Building what a sink receives: a group's alerts as one Notification (Alertmanager's webhook message,
 * minus transport). Pure.
 *
 * - alerts are ordered firing first, then by severity (critical first), start and fingerprint, so the
 *   head of a truncated message is what matters most;
 * - `commonLabels` / `commonAnnotations` are the pairs every alert of the message shares (computed
 *   over all alerts, also those cut by `maxAlerts`, like Alertmanager);
 * - the message is `firing` when any alert fires, else `resolved`;
 * - the group key reads like Alertmanager's: `{}:{incident="S0001"}`.
 */
import type { AlertNotice, Notification } from './index.js';

const RANK: Record<string, number> = { critical: 4, major: 3, minor: 2, warning: 1 };

export function groupKeyOf(groupLabels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`);
  return `{}:{${pairs.join(',')}}`;
}

export function commonPairs(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  const first = maps[0];
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (maps.every((m) => m[k] === v)) out[k] = v;
  return out;
}

export function compareNotices(a: AlertNotice, b: AlertNotice): number {
  if (a.status !== b.status) return a.status === 'firing' ? -1 : 1;
  const rank = (RANK[b.labels.severity ?? ''] ?? 0) - (RANK[a.labels.severity ?? ''] ?? 0);
  if (rank !== 0) return rank;
  return a.startsAt - b.startsAt || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
}

export interface BuildOptions {
  receiver: string;
  externalURL: string;
  /** 0 = no limit. */
  maxAlerts: number;
}

export function buildNotification(
  groupKey: string,
  groupLabels: Readonly<Record<string, string>>,
  notices: readonly AlertNotice[],
  opts: BuildOptions,
): Notification {
  const sorted = [...notices].sort(compareNotices);
  const kept = opts.maxAlerts > 0 ? sorted.slice(0, opts.maxAlerts) : sorted;
  return {
    groupKey,
    status: sorted.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: opts.receiver,
    groupLabels: { ...groupLabels },
    commonLabels: commonPairs(sorted.map((a) => a.labels)),
    commonAnnotations: commonPairs(sorted.map((a) => a.annotations)),
    externalURL: opts.externalURL,
    alerts: kept,
    truncatedAlerts: sorted.length - kept.length,
  };
}
