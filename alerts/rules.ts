/**
 * From inputs to conditions: which problems hold, how bad they are, and what to say about them. Pure:
 * `applyInput(state, input, ctx, now)` and `advanceRules(state, ctx, now)` return condition updates
 * for the lifecycle; `state` is the rules' own memory (open windows, gap streaks, today's target
 * snapshots…), updated in place and owned by the caller. No I/O, no clock.
 *
 * The kinds and their rules:
 * - `cell_degraded`: a cell has an open degradation window (any stream). Severity from the worst
 *   window: an outage is major (critical from 20 users), a window that hurt users (severity ≥ 0.5) is
 *   minor, major from 20 and critical from 200 affected users; a KPI drift that hurt nobody is a
 *   warning. A closed window clears it (hold-down applies); a retracted one clears it at once. The
 *   complaints its windows explain (`window-complaints`) are evidence: they change what it says, never
 *   its severity.
 * - `site_outage` / `backhaul_down`: the incident parents. Active when windows caused by outage (or
 *   backhaul) are open on at least min(2, ⌈half⌉) of a site's cells — two cells, or half of a small
 *   site — and, once active, until the last of those windows closes (so the parent outlives its
 *   children and never un-mutes a straggler). Parent and children carry `incident=<site>`: one group,
 *   one notification, and inhibition mutes the children.
 * - `complaint_hotspot` / `silent_degradation`: an open hot spot; one that changes kind clears the
 *   other kind at once.
 * - `complaint_sla_risk`: one alert per region listing the complaints near their first-response
 *   deadline; minor, major once any is overdue; a complaint leaves the list when answered, or a day
 *   after its deadline (it is a missed target then, reported by the handling stats).
 * - `target_at_risk`: a region's or the network's target for today's peak is below its goal (major),
 *   or burns its budget fast (burn.ts, critical/major/minor); clears when the day is final or the
 *   data insufficient.
 * - `probe_disagreement`: the counters of a region or the network meet today's goal while its probes
 *   miss it (minor): the users' stand-ins fail where the cells say all is well — a core, DNS or
 *   transport problem the counters cannot see. Clears when they agree again or the day is final.
 * - `collection_gap`: a target missed `gapsToOpen` consecutive polls (counter resets are not blindness
 *   and are ignored); resolves on its next successful poll, or when the target is no longer monitored
 *   (a `monitored` input that does not list it). The cells are *not* said to be down.
 * - `store_backlog`: the series backend is down and points are spooling (major), or points are being
 *   dropped (critical); clears when the backend is back. Dead-lettered points are a second alert of
 *   this kind (`problem=dead-letter`, minor) that clears after a quiet period.
 */
import type { AlertSeverity, Cause, CollectionGap, EpochMs, Inventory, Window, WindowEvent } from '../model/index.js';
import { burnVerdict, type TargetSnapshot } from './burn.js';
import { fingerprint } from './fingerprint.js';
import { SEVERITY_RANK, type AlertKind, type AlertScope, type AlertSpec, type ConditionUpdate } from './kinds.js';

export { ALERT_KINDS, type AlertKind, type AlertScope } from './kinds.js';

// ---------------------------------------------------------------------------------------------
// Inputs that model/ does not define (yet): the shapes the detection, complaints, collectors and store
// emit, as the alerts consume them.

/** A complaint hot spot or silent degradation, opened and updated by the complaint correlator. */
export interface HotspotEvent {
  id: string;
  kind: 'hotspot' | 'silent-degradation';
  cells: string[];
  site?: string;
  region?: string;
  complaints: number;
  start: EpochMs;
  end?: EpochMs;
  open: boolean;
  /** Closed because its complaints went on under another id (re-keyed, merged): nothing to hold down. */
  superseded?: boolean;
}

/** A complaint nearing its first-response deadline without a response. */
export interface SlaRiskEvent {
  complaint: string;
  receivedAt: EpochMs;
  dueAt: EpochMs;
  region?: string;
  category: string;
  channel: string;
}

/** The good-experience target of a region or the network for one local day (updated as data arrives). */
export interface TargetEvent {
  day: string;
  scope: 'network' | 'region';
  id: string;
  ratio: number;
  goal: number;
  users: number;
  coverage: number;
  status: 'met' | 'missed' | 'insufficient-data' | (string & {});
  /** The day is over: the figure will not change. */
  final: boolean;
  /** Burn rates the producer computed itself, per window length. */
  burn?: { windowMs: number; rate: number }[];
  /** The probe-based ratio of the same scope and peak, when probes tested there. */
  probes?: { ratio: number | null; tests: number; status: string };
  /** Counters met the goal, probes missed it. */
  disagreement?: boolean;
  /** Event time of this update (defaults to `now`). */
  at?: EpochMs;
}

/** The store's health events (store/open.ts StoreEvent, structurally). */
export type StoreHealthEvent =
  | { kind: 'backend-down'; reason: string; at: EpochMs }
  | { kind: 'backend-up'; at: EpochMs; spooledPoints?: number }
  | { kind: 'dead-lettered'; points: number; reason: string; at: EpochMs }
  | { kind: 'dropped'; points: number; reason: string; at: EpochMs };

export type AlertInput =
  | { type: 'window'; event: WindowEvent }
  | { type: 'hotspot'; hotspot: HotspotEvent }
  | { type: 'sla-risk'; risk: SlaRiskEvent }
  | { type: 'sla-cleared'; complaint: string; at: EpochMs }
  | { type: 'target'; target: TargetEvent }
  | { type: 'gap'; gap: CollectionGap }
  | { type: 'collected'; target: string; ts: EpochMs }
  /** How many complaints a window explains now (the complaint correlator's count, 0 when none). */
  | { type: 'window-complaints'; window: string; cell: string; complaints: number }
  /** Every target the collectors poll now (at start and after a reload): gaps of the others end. */
  | { type: 'monitored'; targets: readonly string[]; at: EpochMs }
  | { type: 'store'; event: StoreHealthEvent };

export interface RuleContext {
  /** Sites, regions and cell counts; without it, windows' own site/region are used and parents need 2 cells. */
  inventory?: Pick<Inventory, 'cell' | 'cellsOfSite' | 'regionOfSite'>;
  /** Consecutive missed polls before a collection gap alert. */
  gapsToOpen: number;
  /** A complaint stays listed this long after its deadline. */
  slaOverdueKeepMs: number;
  /** A dead-letter or drop alert clears after this long without another. */
  storeQuietMs: number;
  /**
   * Rebuilding after a restart from current conditions: what is reported is taken as holding (one
   * gap of a target that was already alerting is enough).
   */
  reconciling?: boolean;
}

export const DEFAULT_RULE_CONTEXT: RuleContext = {
  gapsToOpen: 2,
  slaOverdueKeepMs: 24 * 3600_000,
  storeQuietMs: 15 * 60_000,
};

/** Users thresholds of cell severities. */
export const CELL_SEVERITY_USERS = { major: 20, critical: 200 } as const;

interface CellWindows {
  site?: string;
  region?: string;
  windows: Map<string, Window>;
  /** Complaints explained per open window (absent: none). */
  complaints?: Map<string, number>;
}

interface TargetMemory {
  day: string;
  snapshots: TargetSnapshot[];
  /** The day was final: later updates of it (or of older days) change nothing. */
  closed?: boolean;
}

interface GapMemory {
  streak: number;
  lastTs: EpochMs;
  first?: EpochMs;
  last?: CollectionGap;
  open: boolean;
}

export interface RuleState {
  cells: Map<string, CellWindows>;
  /** Active incident parents per site. */
  incidents: Map<string, { outage: boolean; backhaul: boolean }>;
  /** Active hot spots and their kind. */
  hotspots: Map<string, HotspotEvent['kind']>;
  /** Region ('' for none) → complaint id → risk; plus the severity last reported. */
  sla: Map<string, { complaints: Map<string, SlaRiskEvent>; severity?: AlertSeverity }>;
  targets: Map<string, TargetMemory>;
  gaps: Map<string, GapMemory>;
  store: {
    down?: { since: EpochMs; reason: string };
    dropping?: { since: EpochMs; last: EpochMs; points: number; reason: string };
    deadLetter?: { since: EpochMs; last: EpochMs; points: number; reason: string };
  };
}

export function newRuleState(): RuleState {
  return {
    cells: new Map(),
    incidents: new Map(),
    hotspots: new Map(),
    sla: new Map(),
    targets: new Map(),
    gaps: new Map(),
    store: {},
  };
}

export function applyInput(state: RuleState, input: AlertInput, ctx: RuleContext, now: EpochMs): ConditionUpdate[] {
  switch (input.type) {
    case 'window':
      return windowRule(state, input.event, ctx);
    case 'hotspot':
      return hotspotRule(state, input.hotspot);
    case 'sla-risk':
      return slaRisk(state, input.risk, now);
    case 'sla-cleared':
      return slaCleared(state, input.complaint, now);
    case 'target':
      return targetRule(state, input.target, now);
    case 'gap':
      return gapRule(state, input.gap, ctx);
    case 'collected':
      return collectedRule(state, input.target, input.ts);
    case 'window-complaints':
      return windowComplaintsRule(state, input.window, input.cell, input.complaints, ctx);
    case 'monitored':
      return monitoredRule(state, input.targets);
    case 'store':
      return storeRule(state, input.event);
  }
}

/** Time-driven rule changes: SLA deadlines passing, quiet periods of the store's alerts. */
export function advanceRules(state: RuleState, ctx: RuleContext, now: EpochMs): ConditionUpdate[] {
  const out: ConditionUpdate[] = [];
  for (const [region, entry] of state.sla) {
    let removed = false;
    for (const [id, risk] of entry.complaints)
      if (now > risk.dueAt + ctx.slaOverdueKeepMs) {
        entry.complaints.delete(id);
        removed = true;
      }
    const severity = entry.complaints.size > 0 ? slaSeverity(entry.complaints, now) : undefined;
    if (removed || severity !== entry.severity) out.push(...slaUpdate(state, region, now));
  }
  const s = state.store;
  if (s.deadLetter && now - s.deadLetter.last >= ctx.storeQuietMs) {
    delete s.deadLetter;
    out.push(clear('store_backlog', STORE_DEAD_LETTER, 'no dead letters for a while'));
  }
  if (s.dropping && !s.down && now - s.dropping.last >= ctx.storeQuietMs) {
    delete s.dropping;
    out.push(clear('store_backlog', STORE_BACKLOG, 'no dropped points for a while'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function identity(kind: AlertKind, labels: Record<string, string>): string {
  return fingerprint(kind, labels);
}

function clear(kind: AlertKind, idLabels: Record<string, string>, reason: string, immediate = false): ConditionUpdate {
  return { fingerprint: identity(kind, idLabels), kind, active: false, reason, ...(immediate ? { immediate } : {}) };
}

function active(spec: AlertSpec): ConditionUpdate {
  return { fingerprint: spec.fingerprint, kind: spec.kind, active: true, spec };
}

function makeSpec(
  kind: AlertKind,
  idLabels: Record<string, string>,
  fields: Omit<AlertSpec, 'kind' | 'fingerprint' | 'labels' | 'groupLabels'> & { labels?: Record<string, string> },
): AlertSpec {
  // Plain loops rather than spreads: a spec is built for every event of every alert.
  const labels: Record<string, string> = { alertname: kind, severity: fields.severity, scope: fields.scope };
  for (const k in idLabels) if (idLabels[k] !== '') labels[k] = idLabels[k]!;
  if (fields.labels) for (const k in fields.labels) if (fields.labels[k] !== '') labels[k] = fields.labels[k]!;
  const annotations: Record<string, string> = { summary: fields.summary };
  for (const k in fields.annotations) annotations[k] = fields.annotations[k]!;
  if (fields.remediation !== undefined) annotations.remediation = fields.remediation;
  if (fields.usersAffected !== undefined) annotations.usersAffected = String(Math.round(fields.usersAffected));
  let groupLabels: Record<string, string>;
  if (labels.incident !== undefined) groupLabels = { incident: labels.incident };
  else {
    groupLabels = { alertname: kind };
    for (const k in idLabels) if (idLabels[k] !== '') groupLabels[k] = idLabels[k]!;
  }
  const spec: AlertSpec = {
    kind,
    fingerprint: identity(kind, idLabels),
    labels,
    groupLabels,
    annotations,
    severity: fields.severity,
    scope: fields.scope,
    summary: fields.summary,
    boardPath: fields.boardPath,
  };
  if (fields.remediation !== undefined) spec.remediation = fields.remediation;
  if (fields.usersAffected !== undefined) spec.usersAffected = fields.usersAffected;
  if (fields.since !== undefined) spec.since = fields.since;
  if (fields.region !== undefined) spec.region = fields.region;
  return spec;
}

// Not toLocaleString: ICU formatting costs microseconds per call, and summaries are built per event.
const fmtInt = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const pct = (r: number) => `${(r * 100).toFixed(1)}%`;
const iso = (t: EpochMs) => new Date(t).toISOString();
const enc = encodeURIComponent;

/** Up to `max` items, then "and N more". */
function listOf(items: readonly string[], max = 20): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

// ---------------------------------------------------------------------------------------------
// Windows → cell_degraded, site_outage, backhaul_down

const INCIDENT_CAUSES: readonly Cause[] = ['outage', 'backhaul'];

function windowRule(state: RuleState, e: WindowEvent, ctx: RuleContext): ConditionUpdate[] {
  const w = e.window;
  const cellInfo = ctx.inventory?.cell(w.cell);
  let entry = state.cells.get(w.cell);
  if (!entry) {
    entry = { windows: new Map() };
    state.cells.set(w.cell, entry);
  }
  const site = w.site ?? cellInfo?.site ?? entry.site;
  const region = w.region ?? cellInfo?.region ?? entry.region;
  if (site !== undefined) entry.site = site;
  if (region !== undefined) entry.region = region;
  const out: ConditionUpdate[] = [];
  const idLabels = { cell: w.cell };
  if (e.change === 'opened' || e.change === 'changed') entry.windows.set(w.id, w);
  else {
    entry.windows.delete(w.id);
    entry.complaints?.delete(w.id);
  }
  if (entry.windows.size > 0) out.push(active(cellSpec(w.cell, entry)));
  else {
    state.cells.delete(w.cell);
    out.push(
      e.change === 'retracted'
        ? clear('cell_degraded', idLabels, `window ${w.id} retracted (late data showed it never was)`, true)
        : clear('cell_degraded', idLabels, `window ${w.id} closed`),
    );
  }
  if (site !== undefined) out.push(...incidentUpdates(state, site, region, ctx));
  return out;
}

/** Complaint counts change what an alert says (its evidence), never its severity or its key. */
function windowComplaintsRule(
  state: RuleState,
  window: string,
  cell: string,
  complaints: number,
  ctx: RuleContext,
): ConditionUpdate[] {
  const entry = state.cells.get(cell);
  if (!entry?.windows.has(window)) return [];
  const before = entry.complaints?.get(window) ?? 0;
  if (before === complaints) return [];
  if (complaints > 0) (entry.complaints ??= new Map()).set(window, complaints);
  else entry.complaints?.delete(window);
  const out = [active(cellSpec(cell, entry))];
  if (entry.site !== undefined && state.incidents.has(entry.site))
    out.push(...incidentUpdates(state, entry.site, entry.region, ctx));
  return out;
}

function complaintsOf(entry: CellWindows): number {
  let n = 0;
  if (entry.complaints) for (const c of entry.complaints.values()) n += c;
  return n;
}

const complaintWords = (n: number) => (n === 0 ? '' : `, ${n} customer complaint${n === 1 ? '' : 's'}`);

export function cellSeverity(w: Pick<Window, 'cause' | 'severity'>, users: number): AlertSeverity {
  if (w.cause === 'outage') return users >= CELL_SEVERITY_USERS.major ? 'critical' : 'major';
  if (w.severity < 0.5) return 'warning';
  if (users >= CELL_SEVERITY_USERS.critical) return 'critical';
  if (users >= CELL_SEVERITY_USERS.major) return 'major';
  return 'minor';
}

/** The KPIs and link a window's cause was concluded from, as one line. */
export function describeEvidence(w: Window): string {
  const parts = w.evidence.kpis.map((k) => {
    const worst = Number.isInteger(k.worst) ? String(k.worst) : k.worst.toFixed(2);
    if (k.kpi === 'available') return 'cell unavailable';
    if (k.threshold !== undefined) return `${k.kpi} ${worst} (threshold ${k.threshold})`;
    if (k.baseline !== undefined)
      return `${k.kpi} ${worst} (baseline ${k.baseline}${k.z !== undefined ? `, z ${k.z.toFixed(1)}` : ''})`;
    return `${k.kpi} ${worst}`;
  });
  const link = w.evidence.link;
  if (link) {
    const state =
      link.operUp === false
        ? 'down'
        : link.utilPct !== undefined
          ? `${Math.round(link.utilPct)}% utilised`
          : 'degraded';
    parts.push(`link ${link.link} ${state}`);
  }
  parts.push(`${w.evidence.badIntervals} bad intervals`);
  return parts.join('; ');
}

const CAUSE_WORDS: Record<Cause, string> = {
  outage: 'out of service',
  backhaul: 'degraded by its backhaul',
  coverage: 'degraded: weak coverage',
  interference: 'degraded: interference',
  congestion: 'degraded: congestion',
  'silent-failure': 'silently failing (traffic vanished while it reports itself fine)',
  unknown: 'degraded',
};

function worstWindow(windows: Iterable<Window>): Window {
  let worst: Window | undefined;
  for (const w of windows)
    if (
      !worst ||
      (w.cause === 'outage') > (worst.cause === 'outage') ||
      ((w.cause === 'outage') === (worst.cause === 'outage') &&
        (w.severity > worst.severity || (w.severity === worst.severity && w.usersAffected > worst.usersAffected)))
    )
      worst = w;
  return worst!;
}

function cellSpec(cell: string, entry: CellWindows): AlertSpec {
  const windows = [...entry.windows.values()].sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  const worst = worstWindow(windows);
  const users = Math.max(...windows.map((w) => w.usersAffected));
  const severity = cellSeverity(worst, users);
  const incident = entry.site !== undefined && INCIDENT_CAUSES.includes(worst.cause) ? entry.site : undefined;
  const complaints = complaintsOf(entry);
  return makeSpec(
    'cell_degraded',
    { cell },
    {
      severity,
      scope: 'cell',
      labels: { site: entry.site ?? '', region: entry.region ?? '', cause: worst.cause, incident: incident ?? '' },
      summary: `Cell ${cell} ${CAUSE_WORDS[worst.cause]}: ~${fmtInt(users)} users affected${complaintWords(complaints)}`,
      remediation: worst.remediation,
      usersAffected: users,
      since: windows[0]!.start,
      ...(entry.region !== undefined ? { region: entry.region } : {}),
      boardPath: `/#/cell/${enc(cell)}`,
      annotations: {
        description: `${windows.length === 1 ? 'Window' : `${windows.length} windows`} since ${iso(windows[0]!.start)}, cause ${worst.cause}, severity ${worst.severity.toFixed(2)}, ${fmtInt(worst.userMinutes)} user-minutes of bad experience`,
        cause: worst.cause,
        evidence: describeEvidence(worst),
        windows: windows.map((w) => w.id).join(','),
        ...(complaints > 0 ? { complaints: String(complaints) } : {}),
      },
    },
  );
}

/** Cells a site needs down (or on a failed backhaul) to be one incident: two, or half of a small site. */
export function incidentThreshold(siteCells: number | undefined): number {
  if (siteCells === undefined || siteCells <= 0) return 2;
  return Math.min(2, Math.ceil(siteCells / 2));
}

function incidentUpdates(
  state: RuleState,
  site: string,
  region: string | undefined,
  ctx: RuleContext,
): ConditionUpdate[] {
  const byCause: Record<'outage' | 'backhaul', Member[]> = { outage: [], backhaul: [] };
  for (const [cell, entry] of state.cells) {
    if (entry.site !== site) continue;
    for (const cause of ['outage', 'backhaul'] as const) {
      const ws = [...entry.windows.values()].filter((w) => w.cause === cause);
      const complaints = ws.reduce((n, w) => n + (entry.complaints?.get(w.id) ?? 0), 0);
      if (ws.length > 0) byCause[cause].push({ cell, windows: ws, complaints });
    }
  }
  const size = ctx.inventory?.cellsOfSite(site).length;
  const need = incidentThreshold(size || undefined);
  const memory = state.incidents.get(site) ?? { outage: false, backhaul: false };
  const out: ConditionUpdate[] = [];
  for (const cause of ['outage', 'backhaul'] as const) {
    const kind: AlertKind = cause === 'outage' ? 'site_outage' : 'backhaul_down';
    const members = byCause[cause].sort((a, b) => a.cell.localeCompare(b.cell));
    const was = memory[cause];
    const now = members.length >= need || (was && members.length > 0);
    memory[cause] = now;
    if (now) out.push(active(parentSpec(kind, site, region ?? ctx.inventory?.regionOfSite(site), members, size)));
    else if (was) out.push(clear(kind, { site }, `no ${cause} windows left on site ${site}`));
  }
  if (memory.outage || memory.backhaul) state.incidents.set(site, memory);
  else state.incidents.delete(site);
  return out;
}

/** A cell of an incident: its windows of the incident's cause and the complaints they explain. */
interface Member {
  cell: string;
  windows: Window[];
  complaints: number;
}

function parentSpec(
  kind: 'site_outage' | 'backhaul_down',
  site: string,
  region: string | undefined,
  members: Member[],
  siteSize: number | undefined,
): AlertSpec {
  const windows = members.flatMap((m) => m.windows);
  const complaints = members.reduce((n, m) => n + m.complaints, 0);
  const users = members.reduce((sum, m) => sum + Math.max(...m.windows.map((w) => w.usersAffected)), 0);
  const since = Math.min(...windows.map((w) => w.start));
  const cells = members.map((m) => m.cell);
  const of = siteSize ? ` of ${siteSize}` : '';
  const link = windows.find((w) => w.evidence.link)?.evidence.link;
  const summary =
    kind === 'site_outage'
      ? `Site ${site} down: ${cells.length}${of} cells out of service, ~${fmtInt(users)} users affected${complaintWords(complaints)}`
      : `Site ${site} backhaul failing${link ? ` (link ${link.link})` : ''}: ${cells.length}${of} cells degraded, ~${fmtInt(users)} users affected${complaintWords(complaints)}`;
  return makeSpec(
    kind,
    { site },
    {
      severity: 'critical',
      scope: 'site',
      labels: { region: region ?? '', incident: site, cause: kind === 'site_outage' ? 'outage' : 'backhaul' },
      summary,
      remediation: windows[0]!.remediation,
      usersAffected: users,
      since,
      ...(region !== undefined ? { region } : {}),
      boardPath: `/#/site/${enc(site)}`,
      annotations: {
        description: `Incident on site ${site} since ${iso(since)}: ${listOf(cells)}`,
        cells: cells.join(','),
        cellCount: String(cells.length),
        windows: windows.map((w) => w.id).join(','),
        evidence: describeEvidence(worstWindow(windows)),
        ...(complaints > 0 ? { complaints: String(complaints) } : {}),
      },
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Hot spots

function hotspotRule(state: RuleState, h: HotspotEvent): ConditionUpdate[] {
  const out: ConditionUpdate[] = [];
  const kindOf = (k: HotspotEvent['kind']): AlertKind => (k === 'hotspot' ? 'complaint_hotspot' : 'silent_degradation');
  const prev = state.hotspots.get(h.id);
  const idLabels = { hotspot: h.id };
  if (prev !== undefined && (prev !== h.kind || !h.open)) {
    const switched = prev !== h.kind;
    out.push(
      clear(
        kindOf(prev),
        idLabels,
        switched
          ? `hot spot ${h.id} is now a ${h.kind}`
          : h.superseded
            ? `hot spot ${h.id} goes on under another id`
            : `hot spot ${h.id} closed`,
        switched || h.superseded === true,
      ),
    );
    state.hotspots.delete(h.id);
  }
  if (!h.open) return out;
  state.hotspots.set(h.id, h.kind);
  const silent = h.kind === 'silent-degradation';
  const cells = [...h.cells].sort();
  const scope: AlertScope = cells.length === 1 ? 'cell' : h.site ? 'site' : h.region ? 'region' : 'network';
  const where = cells.length === 1 ? `cell ${cells[0]}` : h.site ? `site ${h.site}` : `${cells.length} cells`;
  const boardPath =
    scope === 'cell'
      ? `/#/cell/${enc(cells[0]!)}`
      : scope === 'site'
        ? `/#/site/${enc(h.site!)}`
        : scope === 'region'
          ? `/#/region/${enc(h.region!)}`
          : '/#/network';
  out.push(
    active(
      makeSpec(kindOf(h.kind), idLabels, {
        severity: silent ? 'major' : 'minor',
        scope,
        labels: { cell: cells.length === 1 ? cells[0]! : '', site: h.site ?? '', region: h.region ?? '' },
        summary: silent
          ? `${h.complaints} network complaints around ${where} and no degradation explains them: the network looks fine, the customers say otherwise`
          : `${h.complaints} network complaints around ${where} within 72 h`,
        remediation: silent
          ? 'Check the cells for a silent failure (traffic and users against baseline, alarms, a drive test); ask care for the customers’ symptoms'
          : 'Complaints cluster where the network is degraded: follow the degradation alerts of these cells',
        since: h.start,
        ...(h.region !== undefined ? { region: h.region } : {}),
        boardPath,
        annotations: {
          complaints: String(h.complaints),
          cells: cells.join(','),
          description: `Hot spot ${h.id} since ${iso(h.start)}: ${listOf(cells)}`,
        },
      }),
    ),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Complaint SLA

const SLA_NONE = '';

function slaSeverity(complaints: Map<string, SlaRiskEvent>, now: EpochMs): AlertSeverity {
  for (const r of complaints.values()) if (r.dueAt <= now) return 'major';
  return 'minor';
}

function slaRisk(state: RuleState, risk: SlaRiskEvent, now: EpochMs): ConditionUpdate[] {
  const region = risk.region ?? SLA_NONE;
  // A complaint listed under another region (its location got resolved since) moves.
  for (const [r, entry] of state.sla)
    if (r !== region && entry.complaints.delete(risk.complaint) && entry.complaints.size === 0) state.sla.delete(r);
  let entry = state.sla.get(region);
  if (!entry) {
    entry = { complaints: new Map() };
    state.sla.set(region, entry);
  }
  entry.complaints.set(risk.complaint, risk);
  return slaUpdate(state, region, now);
}

function slaCleared(state: RuleState, complaint: string, now: EpochMs): ConditionUpdate[] {
  for (const [region, entry] of state.sla) if (entry.complaints.delete(complaint)) return slaUpdate(state, region, now);
  return [];
}

function slaUpdate(state: RuleState, region: string, now: EpochMs): ConditionUpdate[] {
  const entry = state.sla.get(region);
  const idLabels = { region };
  if (!entry || entry.complaints.size === 0) {
    state.sla.delete(region);
    return [clear('complaint_sla_risk', idLabels, 'every listed complaint was answered or expired')];
  }
  const risks = [...entry.complaints.values()].sort(
    (a, b) => a.dueAt - b.dueAt || a.complaint.localeCompare(b.complaint),
  );
  const overdue = risks.filter((r) => r.dueAt <= now).length;
  const severity = slaSeverity(entry.complaints, now);
  entry.severity = severity;
  const where = region === SLA_NONE ? 'with no known region' : `in ${region}`;
  return [
    active(
      makeSpec('complaint_sla_risk', idLabels, {
        severity,
        scope: region === SLA_NONE ? 'network' : 'region',
        summary: `${risks.length} complaint${risks.length === 1 ? '' : 's'} ${where} near the 72 h first-response limit${overdue > 0 ? ` (${overdue} overdue)` : ''}`,
        remediation: 'Give these customers a first response (the handling target is 72 h)',
        ...(region !== SLA_NONE ? { region } : {}),
        boardPath: region === SLA_NONE ? '/#/complaints' : `/#/region/${enc(region)}`,
        annotations: {
          complaints: String(risks.length),
          overdue: String(overdue),
          nextDue: iso(risks[0]!.dueAt),
          complaintIds: listOf(risks.map((r) => r.complaint)),
        },
      }),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Targets

/** Snapshots older than the longest burn window (plus one before it) are not needed. */
const TARGET_MEMORY_MS = 2 * 3600_000;

function targetRule(state: RuleState, t: TargetEvent, now: EpochMs): ConditionUpdate[] {
  const mem = state.targets.get(`${t.scope}\u0000${t.id}`);
  // A late update of a past (or closed) day says nothing about today's disagreement either.
  const stale = mem !== undefined && (t.day < mem.day || (t.day === mem.day && mem.closed === true));
  const ratio = ratioRule(state, t, now);
  // Only scopes the probes tested have anything to say about a disagreement.
  return stale || t.probes === undefined ? ratio : [...ratio, disagreementRule(t)];
}

/** Counters fine, probes bad: raised while the day's figures say so, cleared when they agree or the day ends. */
function disagreementRule(t: TargetEvent): ConditionUpdate {
  const idLabels = { scope: t.scope, region: t.scope === 'region' ? t.id : '' };
  if (t.final) return clear('probe_disagreement', idLabels, `day ${t.day} closed`);
  if (!t.disagreement || !t.probes || t.probes.ratio === null)
    return clear('probe_disagreement', idLabels, 'counters and probes agree');
  const name = t.scope === 'network' ? 'The network' : t.id;
  return active(
    makeSpec('probe_disagreement', idLabels, {
      severity: 'minor',
      scope: t.scope,
      summary: `${name}: counters say ${pct(t.ratio)} of users had a good experience at peak on ${t.day}, probes say ${pct(t.probes.ratio)} of ${fmtInt(t.probes.tests)} tests passed (goal ${pct(t.goal)})`,
      remediation:
        'Look at what the counters cannot see: the failing probes in /api/v1/collection (their failure reasons), DNS, the core and the transport behind the cells',
      ...(t.scope === 'region' ? { region: t.id } : {}),
      boardPath: t.scope === 'region' ? `/#/region/${enc(t.id)}` : '/#/network',
      annotations: {
        day: t.day,
        ratio: t.ratio.toFixed(4),
        probeRatio: t.probes.ratio.toFixed(4),
        probeTests: String(t.probes.tests),
        goal: String(t.goal),
      },
    }),
  );
}

function ratioRule(state: RuleState, t: TargetEvent, now: EpochMs): ConditionUpdate[] {
  const key = `${t.scope}\u0000${t.id}`;
  const idLabels = { scope: t.scope, region: t.scope === 'region' ? t.id : '' };
  let mem = state.targets.get(key);
  // A late update of a past (or closed) day: that day is judged already.
  if (mem && (t.day < mem.day || (t.day === mem.day && mem.closed))) return [];
  if (!mem || mem.day !== t.day) {
    mem = { day: t.day, snapshots: [] };
    state.targets.set(key, mem);
  }
  const at = t.at ?? now;
  const snap: TargetSnapshot = { at, users: t.users, bad: t.users * (1 - t.ratio) };
  const last = mem.snapshots[mem.snapshots.length - 1];
  if (!last || at > last.at) mem.snapshots.push(snap);
  else if (at === last.at) mem.snapshots[mem.snapshots.length - 1] = snap;
  const keepFrom = mem.snapshots.findIndex((s) => s.at > at - TARGET_MEMORY_MS);
  if (keepFrom > 1) mem.snapshots.splice(0, keepFrom - 1);

  const name = t.scope === 'network' ? 'The network' : t.id;
  if (t.final) {
    state.targets.set(key, { day: t.day, snapshots: [], closed: true });
    return [clear('target_at_risk', idLabels, `day ${t.day} closed at ${pct(t.ratio)} (${t.status})`)];
  }
  if (t.status === 'insufficient-data') return [clear('target_at_risk', idLabels, 'insufficient data to judge')];
  const verdict = burnVerdict(mem.snapshots, at, t.goal, undefined, t.burn);
  const below = t.ratio < t.goal;
  if (!verdict.level && !below)
    return [clear('target_at_risk', idLabels, `${pct(t.ratio)} meets the goal and burns slowly`)];
  let severity: AlertSeverity = verdict.level?.severity ?? 'major';
  if (below && SEVERITY_RANK[severity] < SEVERITY_RANK.major) severity = 'major';
  const rates = verdict.rates.map((r) => `${Math.round(r.windowMs / 60_000)}m ${r.rate.toFixed(1)}×`).join(', ');
  const burning = verdict.level
    ? `, error budget burning ${verdict.level.rate}× or faster over ${verdict.level.longMs / 60_000} min`
    : '';
  return [
    active(
      makeSpec('target_at_risk', idLabels, {
        severity,
        scope: t.scope,
        summary: `${name}: ${pct(t.ratio)} of users with a good experience at peak so far on ${t.day} (goal ${pct(t.goal)})${burning}`,
        remediation: 'Work the open cell_degraded alerts of this scope with the most affected users first',
        usersAffected: snap.bad,
        ...(t.scope === 'region' ? { region: t.id } : {}),
        boardPath: t.scope === 'region' ? `/#/region/${enc(t.id)}` : '/#/network',
        annotations: {
          day: t.day,
          ratio: t.ratio.toFixed(4),
          goal: String(t.goal),
          users: fmtInt(t.users),
          coverage: t.coverage.toFixed(3),
          burnRates: rates,
        },
      }),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Collection gaps

function gapRule(state: RuleState, g: CollectionGap, ctx: RuleContext): ConditionUpdate[] {
  if (g.reason === 'counter-reset') return [];
  let mem = state.gaps.get(g.target);
  if (!mem) {
    mem = { streak: 0, lastTs: -Infinity, open: false };
    state.gaps.set(g.target, mem);
  }
  if (g.ts <= mem.lastTs) return []; // the same missed poll reported twice, or an older one
  mem.streak += 1;
  mem.lastTs = g.ts;
  mem.first ??= g.ts;
  mem.last = g;
  const need = ctx.reconciling ? 1 : Math.max(1, ctx.gapsToOpen);
  if (mem.streak < need) return [];
  mem.open = true;
  const sites = new Set<string>();
  const regions = new Set<string>();
  for (const c of g.cells) {
    const cell = ctx.inventory?.cell(c);
    if (cell) {
      sites.add(cell.site);
      regions.add(cell.region);
    }
  }
  const site = sites.size === 1 ? [...sites][0]! : undefined;
  const region = regions.size === 1 ? [...regions][0]! : undefined;
  const n = g.cells.length;
  return [
    active(
      makeSpec(
        'collection_gap',
        { target: g.target },
        {
          severity: 'minor',
          scope: site ? 'site' : region ? 'region' : 'network',
          labels: { site: site ?? '', region: region ?? '', reason: g.reason },
          summary: `Monitoring is blind for ${n} cell${n === 1 ? '' : 's'}: target ${g.target} has not answered ${mem.streak} polls (${g.reason}); the cells are not known to be down`,
          remediation: collectorRemedy(g.reason),
          since: mem.first,
          ...(region !== undefined ? { region } : {}),
          boardPath: `/#/collection/${enc(g.target)}`,
          annotations: {
            cells: listOf([...g.cells].sort(), 50),
            cellCount: String(n),
            reason: g.reason,
            missedPolls: String(mem.streak),
            ...(g.detail !== undefined ? { detail: g.detail } : {}),
          },
        },
      ),
    ),
  ];
}

function collectorRemedy(reason: CollectionGap['reason']): string {
  switch (reason) {
    case 'auth':
      return 'Check the SNMP credentials of this target (community, v3 user and keys) against the device';
    case 'skipped-overlap':
      return 'The collector is overloaded: raise snmp.concurrency or the target interval';
    case 'unreachable':
      return 'Check the management network path to the device';
    default:
      return 'Check that the device and its SNMP agent answer from the monitoring server';
  }
}

function monitoredRule(state: RuleState, targets: readonly string[]): ConditionUpdate[] {
  const known = new Set(targets);
  const out: ConditionUpdate[] = [];
  for (const [target, mem] of state.gaps) {
    if (known.has(target)) continue;
    state.gaps.delete(target);
    if (mem.open) out.push(clear('collection_gap', { target }, `target ${target} is no longer monitored`, true));
  }
  return out;
}

function collectedRule(state: RuleState, target: string, ts: EpochMs): ConditionUpdate[] {
  const mem = state.gaps.get(target);
  if (!mem || ts < mem.lastTs) return [];
  state.gaps.delete(target);
  return mem.open ? [clear('collection_gap', { target }, `target ${target} answered at ${iso(ts)}`)] : [];
}

// ---------------------------------------------------------------------------------------------
// Store health

const STORE_BACKLOG = { problem: 'backlog' };
const STORE_DEAD_LETTER = { problem: 'dead-letter' };

function storeRule(state: RuleState, e: StoreHealthEvent): ConditionUpdate[] {
  const s = state.store;
  switch (e.kind) {
    case 'backend-down':
      s.down ??= { since: e.at, reason: e.reason };
      return [backlogSpec(state)];
    case 'backend-up':
      delete s.down;
      delete s.dropping;
      return [clear('store_backlog', STORE_BACKLOG, 'the series backend is back')];
    case 'dropped':
      s.dropping = s.dropping
        ? { ...s.dropping, last: e.at, points: s.dropping.points + e.points, reason: e.reason }
        : { since: e.at, last: e.at, points: e.points, reason: e.reason };
      return [backlogSpec(state)];
    case 'dead-lettered': {
      s.deadLetter = s.deadLetter
        ? { ...s.deadLetter, last: e.at, points: s.deadLetter.points + e.points, reason: e.reason }
        : { since: e.at, last: e.at, points: e.points, reason: e.reason };
      const d = s.deadLetter;
      return [
        active(
          makeSpec('store_backlog', STORE_DEAD_LETTER, {
            severity: 'minor',
            scope: 'network',
            summary: `${fmtInt(d.points)} points refused by the series backend for their content (dead-lettered): ${d.reason}`,
            remediation: 'Inspect dataDir/dead-letter/ for the refused points and fix their source',
            since: d.since,
            boardPath: '/#/store',
            annotations: { points: String(d.points), reason: d.reason },
          }),
        ),
      ];
    }
  }
}

function backlogSpec(state: RuleState): ConditionUpdate {
  const { down, dropping } = state.store;
  const since = Math.min(down?.since ?? Infinity, dropping?.since ?? Infinity);
  const summary = dropping
    ? `Points are being dropped: ${fmtInt(dropping.points)} lost (${dropping.reason})`
    : `The series backend is down (${down?.reason ?? 'unknown'}): points are spooling to disk`;
  return active(
    makeSpec('store_backlog', STORE_BACKLOG, {
      severity: dropping ? 'critical' : 'major',
      scope: 'network',
      summary,
      remediation: dropping
        ? 'The spool is full: bring the backend back or raise store.pipeline.spoolMaxBytes'
        : 'Bring the series backend back; the spool replays in order once it answers',
      ...(Number.isFinite(since) ? { since } : {}),
      boardPath: '/#/store',
      annotations: {
        ...(down ? { backendDown: down.reason } : {}),
        ...(dropping ? { droppedPoints: String(dropping.points) } : {}),
      },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Restarts

/** An alert as it was when the daemon stopped: what `resumeRuleMemory` needs of it. */
export interface ResumedAlert {
  kind: AlertKind;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** The problem's start. */
  since: EpochMs;
  /** When the alert last changed (a dead-letter alert's last refusal, as far as the store knew). */
  updatedAt: EpochMs;
}

/**
 * Whether an alert that is not re-asserted at start must wait for fresh evidence instead of being
 * resolved at once. At start the daemon can state what is true of windows, hot spots, complaints,
 * targets and the store's backend; it cannot say whether a target answers until the target is polled
 * again, nor whether points were refused in the quiet period before the stop. Resolving those at once
 * would send a resolution and, a poll later, the same problem again.
 */
export function awaitsEvidence(kind: AlertKind, labels: Readonly<Record<string, string>>): boolean {
  return kind === 'collection_gap' || (kind === 'store_backlog' && labels.problem === STORE_DEAD_LETTER.problem);
}

/**
 * Puts an alert that awaits evidence back into the rules' memory, so that the next event about it
 * continues its episode: a gap keeps it, an answer (or the target leaving the configuration) ends it;
 * a dead-letter alert ends after its quiet period counted from its last change.
 */
export function resumeRuleMemory(state: RuleState, a: ResumedAlert, ctx: RuleContext): void {
  if (a.kind === 'collection_gap') {
    const target = a.labels.target;
    if (target === undefined || state.gaps.has(target)) return;
    const missed = Number(a.annotations.missedPolls);
    state.gaps.set(target, {
      streak: Number.isInteger(missed) && missed > 0 ? missed : Math.max(1, ctx.gapsToOpen),
      lastTs: -Infinity,
      first: a.since,
      open: true,
    });
  } else if (a.kind === 'store_backlog' && a.labels.problem === STORE_DEAD_LETTER.problem) {
    const points = Number(a.annotations.points);
    state.store.deadLetter ??= {
      since: a.since,
      last: a.updatedAt,
      points: Number.isFinite(points) ? points : 0,
      reason: a.annotations.reason ?? 'before the restart',
    };
  }
}
