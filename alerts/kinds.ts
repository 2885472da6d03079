/**
 * The vocabulary the decisions share: alert kinds, scopes, and the condition a rule hands to the
 * lifecycle. Plain data only.
 */
import type { AlertSeverity, EpochMs } from '../model/index.js';

export const ALERT_KINDS = [
  'cell_degraded',
  'site_outage',
  'backhaul_down',
  'target_at_risk',
  'probe_disagreement',
  'complaint_hotspot',
  'silent_degradation',
  'complaint_sla_risk',
  'collection_gap',
  'store_backlog',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** What part of the network an alert is about; the board link follows it. */
export type AlertScope = 'cell' | 'site' | 'region' | 'network';

export const SEVERITY_RANK: Record<AlertSeverity, number> = { warning: 1, minor: 2, major: 3, critical: 4 };

/** Everything an alert says, as the rule that raised it last described it. */
export interface AlertSpec {
  kind: AlertKind;
  fingerprint: string;
  /** Notification labels: alertname, severity, scope, the scope's ids, cause, incident… */
  labels: Record<string, string>;
  /** summary, description, remediation, usersAffected, evidence, windows, complaints… */
  annotations: Record<string, string>;
  severity: AlertSeverity;
  scope: AlertScope;
  summary: string;
  remediation?: string;
  usersAffected?: number;
  /** When the problem itself began (a window's start, the first missed poll), if known. */
  since?: EpochMs;
  region?: string;
  /**
   * The labels of the alert's notification group: `{incident}` for an incident's parent and children
   * (one group, one notification), else the alert's own identity (one group per problem).
   */
  groupLabels: Record<string, string>;
  /** The board path of the scope, e.g. `/#/cell/S0001-1` (the manager prefixes the external URL). */
  boardPath: string;
}

/** A rule's verdict about one problem: it holds (with its description) or it is clear. */
export type ConditionUpdate =
  | { fingerprint: string; kind: AlertKind; active: true; spec: AlertSpec }
  | {
      fingerprint: string;
      kind: AlertKind;
      active: false;
      reason: string;
      /** Skip the hold-down: the problem never was (a retracted window) or cannot be checked (restart). */
      immediate?: boolean;
    };
