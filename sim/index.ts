/**
 * The simulated mobile network that cellwatch's demo, tests and benchmarks run against.
 *
 * `SimNetwork` is pure: topology, a KPI model that follows from load and radio, a seeded incident
 * schedule, complaints and the ground truth behind them — every value a function of
 * (seed, options, injected incidents, time), so any minute can be computed on its own, in any order,
 * and two networks from the same seed agree everywhere. `SimAgents` serves a network over SNMP: one
 * net-snmp agent per site on loopback, updated from an injected Scheduler.
 *
 * The model and its formulas are described in sim/README.md.
 */
import type { Cell, Complaint, ComplaintCategory, EpochMs } from '../model/index.js';

export interface SimOptions {
  seed: number;
  regions: number;
  sites: number;
  /** Simulated time at which the network "begins" (incidents are scheduled after it). */
  start: EpochMs;
  /** Diurnal load follows local time here (IANA, e.g. 'Asia/Shanghai'). */
  timezone: string;
  /** 'auto' (default): a seeded schedule; tests can add their own with addIncident. */
  incidents?: 'auto' | 'none';
  /** Default 0.06: a 80-site network sees about five incidents per simulated day. */
  incidentRatePerSiteDay?: number;
}

export type AreaType = 'business' | 'residential' | 'mixed';
/** Distance class from the region centre: drives site density, radio baseline and load. */
export type Ring = 'downtown' | 'suburban' | 'edge';

export interface SimSite {
  id: string;
  region: string;
  lat: number;
  lon: number;
  /** Cell ids, in snmpIndex order. */
  cells: string[];
  linkSpeedMbps: number;
  linkKind: 'fibre' | 'microwave';
  area: AreaType;
  ring: Ring;
}

export interface SimRegion {
  id: string;
  name: string;
  lat: number;
  lon: number;
}

/**
 * The KPIs of one cell over one 60-s interval. While `available` is false every other field is 0:
 * there is nothing to measure (the users the cell would have served are in the ground truth).
 */
export interface CellState {
  available: boolean;
  activeUsers: number;
  /** Mean per-user throughput while transferring (the UE-throughput KPI), Mbit/s. */
  dlMbps: number;
  ulMbps: number;
  latencyMs: number;
  rsrpDbm: number;
  rsrqDb: number;
  sinrDb: number;
  prbUtilPct: number;
  /** Carried volume in the interval, megabytes (10^6 bytes); whole octets, so counters add up exactly. */
  dlVolumeMB: number;
  ulVolumeMB: number;
}

export interface LinkState {
  operUp: boolean;
  speedMbps: number;
  /** Towards the site (downlink traffic) / from the site, mean over the interval. */
  inMbps: number;
  outMbps: number;
  /** Per-interval increments. */
  inErrors: number;
  outErrors: number;
}

/**
 * `sleeping` (a silent failure: the cell reports itself available with normal radio KPIs, but most
 * users cannot attach) is never scheduled automatically; tests inject it with `addIncident`.
 */
export type IncidentKind = 'outage' | 'coverage' | 'interference' | 'congestion' | 'backhaul' | 'sleeping';

export interface Incident {
  id: string;
  kind: IncidentKind;
  site: string;
  cells: string[];
  start: EpochMs;
  end: EpochMs;
  /** 0..1 */
  severity: number;
  /** Backhaul only: the link is down (not just saturated), so every cell of the site is out of service. */
  linkDown?: boolean;
}

export interface SimComplaint extends Complaint {
  /** The incident that made this customer complain, or null for noise (and non-network categories). */
  cause: string | null;
}

/** What an incident really did, measured over its whole duration. */
export interface IncidentTruth extends Incident {
  /** Cells of the incident that had at least one interval of bad experience during it. */
  affectedCells: string[];
  /** User-minutes with bad experience on the incident's cells during it (an unavailable cell counts the users it would have served). */
  affectedUserMinutes: number;
  /** Bad cell-intervals (cell-minutes) on the incident's cells during it. */
  badCellMinutes: number;
  /** Complaints this incident caused, whenever they arrive. */
  complaints: number;
}

export interface ComplaintTruth {
  id: string;
  cause: string | null;
  category: ComplaintCategory;
  /** The cell the customer was really on (also for complaints that only give a location). */
  cell: string;
  /** When the problem really happened for this customer. */
  issueAt: EpochMs;
  receivedAt: EpochMs;
  /**
   * Whether the customer's cell really gave a bad experience in the minute of `issueAt`. Always true
   * for incident complaints; true for a noise complaint that happens to fall on a cell degraded by
   * load alone (a window there explains it, though no incident does).
   */
  badAtIssue: boolean;
}

export interface GroundTruth {
  from: EpochMs;
  to: EpochMs;
  /** Incidents overlapping [from, to). */
  incidents: IncidentTruth[];
  /** Complaints received in [from, to). */
  complaints: ComplaintTruth[];
}

/** Experience thresholds the simulator's ground truth uses (DESIGN.md's defaults). */
export const GOOD_EXPERIENCE = { dlMbps: 5, ulMbps: 1, latencyMs: 100 } as const;

/** True when a cell interval gives its users a good experience by DESIGN.md's default thresholds. */
export function isGood(s: CellState): boolean {
  return (
    s.available &&
    s.dlMbps >= GOOD_EXPERIENCE.dlMbps &&
    s.ulMbps >= GOOD_EXPERIENCE.ulMbps &&
    s.latencyMs <= GOOD_EXPERIENCE.latencyMs
  );
}

export interface SimAgentsOptions {
  /** Loopback address, e.g. 127.0.0.1. */
  host: string;
  /** First UDP port (site i gets basePort + i); 0 = pick free UDP ports. */
  basePort: number;
  community: string;
  /** An SNMPv3 authPriv user (SHA + AES-128) on every agent. */
  v3?: { user: string; authKey: string; privKey: string };
  /** Clock time between updates; a multiple of 60 000. Default 60 000. */
  stepMs?: number;
}

export interface SimTarget {
  name: string;
  host: string;
  port: number;
  version: '2c';
  community: string;
  profile: 'cell-table' | 'if-mib';
  site: string;
}

export { SimNetwork } from './network.js';
export { SimAgents, CELL_TABLE_OID, CELL_ENTRY_OID } from './agents.js';
export type { Cell };
export { careEvents, type CareEvent } from './care.js';
