import type { EpochMs } from '../model/index.js';
export type NotifyResult =
  | { ok: true }
  | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number };
/** One alert as a sink sees it: Alertmanager's shape, times as epoch ms. */
export interface AlertNotice {
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** alertname (= kind), severity, scope, and the scope's ids (cell, site, region), cause when known. */
  labels: Record<string, string>;
  /** summary, description, remediation, usersAffected, evidence, complaints, runbook... */
  annotations: Record<string, string>;
  startsAt: EpochMs;
  endsAt?: EpochMs;
  generatorURL: string;
}
export interface Notification {
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertNotice[];
  truncatedAlerts: number;
}
export interface Notifier {
  readonly name: string;
  readonly kind: string;
  notify(n: Notification, signal: AbortSignal): Promise<NotifyResult>;
  close(): Promise<void>;
}
