/**
 * The board's view of the API (the shapes it reads, not the daemon's own types: the HTTP API is the
 * contract) and the pure logic over them — which alerts are live, how incidents group, what the
 * filters keep, what state a cell is in on the map. No DOM and no clock here: test/board-model.test.ts
 * table-tests it under Node.
 */

export type Severity = 'critical' | 'major' | 'minor' | 'warning';
export const SEVERITIES: readonly Severity[] = ['critical', 'major', 'minor', 'warning'];
const RANK: Record<Severity, number> = { critical: 0, major: 1, minor: 2, warning: 3 };

export type Cause = 'outage' | 'backhaul' | 'coverage' | 'interference' | 'congestion' | 'silent-failure' | 'unknown';

export interface AlertView {
  id: string;
  fingerprint: string;
  kind: string;
  state: 'pending' | 'firing' | 'resolved';
  severity: Severity;
  scope: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  summary: string;
  remediation?: string;
  startsAt: number;
  endsAt?: number;
  updatedAt?: number;
  region?: string;
  site?: string;
  cell?: string;
  ackedBy?: string;
  ackedAt?: number;
  silencedBy?: string[];
  inhibitedBy?: string;
  flapping?: boolean;
  generatorURL?: string;
}

export interface WindowView {
  id: string;
  cell: string;
  site?: string;
  region?: string;
  start: number;
  end?: number;
  lastBad: number;
  cause: Cause;
  severity: number;
  usersAffected: number;
  remediation?: string;
}

export interface CellView {
  id: string;
  site?: string;
  region?: string;
  lat?: number;
  lon?: number;
  status: 'up' | 'down' | 'stale' | 'unknown';
}

export type StreamMessage =
  | { type: 'hello'; runId: string; latest: number; oldest: number; heartbeatMs: number }
  | { type: 'heartbeat'; seq: number; at: number; runId: string }
  | { type: 'resync'; reason: string; oldest: number; latest: number; runId: string }
  | { type: 'alert'; seq: number; at: number; transition: string; alert: AlertView }
  | {
      type: 'window';
      seq: number;
      at: number;
      change: 'opened' | 'changed' | 'closed' | 'retracted';
      window: WindowView;
    };

/** Where an alert points: its cell, else its site, region or collection target. */
export function alertScopeId(a: AlertView): string {
  const l = a.labels;
  return l.cell ?? a.cell ?? l.site ?? a.site ?? l.target ?? l.region ?? a.region ?? l.problem ?? a.scope;
}

export function alertRegion(a: AlertView): string | undefined {
  return a.labels.region ?? a.region;
}

/** The live alerts, as the REST snapshot and the stream's events leave them. */
export class AlertBook {
  private readonly byId = new Map<string, AlertView>();
  /** Bumped on every change that can alter what is shown. */
  version = 0;

  reset(alerts: readonly AlertView[]): void {
    this.byId.clear();
    for (const a of alerts) if (a.state !== 'resolved') this.byId.set(a.id, a);
    this.version++;
  }

  /** Applies an alert as an event carries it; returns whether the book changed. */
  apply(a: AlertView): boolean {
    const known = this.byId.get(a.id);
    // Events arrive in order; a REST answer fetched before an event it overlaps must not roll it back.
    if (known?.updatedAt !== undefined && a.updatedAt !== undefined && a.updatedAt < known.updatedAt) return false;
    if (a.state === 'resolved') {
      if (!known) return false;
      this.byId.delete(a.id);
    } else this.byId.set(a.id, a);
    this.version++;
    return true;
  }

  get(id: string): AlertView | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  all(): AlertView[] {
    return [...this.byId.values()];
  }
}

export interface AlertFilter {
  region?: string;
  /** This severity and above. */
  minSeverity?: Severity;
  kind?: string;
  /** Only what concerns this site (the board opened on `#/site/<id>`). */
  site?: string;
}

export function passes(a: AlertView, f: AlertFilter): boolean {
  if (f.region && alertRegion(a) !== f.region) return false;
  if (f.minSeverity && RANK[a.severity] > RANK[f.minSeverity]) return false;
  if (f.kind && a.kind !== f.kind) return false;
  if (f.site && (a.labels.site ?? a.site) !== f.site && a.labels.incident !== f.site) return false;
  return true;
}

/** One line of the board: an alert on its own, or an incident heading its cells' alerts. */
export interface AlertRow {
  key: string;
  /** The incident's parent alert (site outage, backhaul down) or the alert itself. */
  head?: AlertView;
  /** Set for incidents: the site, and the cell alerts grouped under it. */
  incident?: string;
  members: AlertView[];
  severity: Severity;
  startsAt: number;
}

const PARENT_KINDS = new Set(['site_outage', 'backhaul_down']);

export function bySeverityThenNewest(a: { severity: Severity; startsAt: number; key?: string }, b: typeof a): number {
  return RANK[a.severity] - RANK[b.severity] || b.startsAt - a.startsAt || (a.key ?? '').localeCompare(b.key ?? '');
}

/**
 * The rows the board shows: alerts sharing an `incident` label (a site's outage or backhaul failure
 * and its cells) become one expandable row headed by the parent when there is one; everything else is
 * a row of its own. Most severe first, then newest. A group is kept when any of its alerts passes the
 * filter, and shows the ones that do.
 */
export function alertRows(alerts: readonly AlertView[], filter: AlertFilter = {}): AlertRow[] {
  const incidents = new Map<string, AlertView[]>();
  const rows: AlertRow[] = [];
  for (const a of alerts) {
    if (!passes(a, filter)) continue;
    const incident = a.labels.incident;
    if (incident) {
      let list = incidents.get(incident);
      if (!list) incidents.set(incident, (list = []));
      list.push(a);
    } else rows.push({ key: a.id, head: a, members: [a], severity: a.severity, startsAt: a.startsAt });
  }
  for (const [incident, list] of incidents) {
    const head = list.find((a) => PARENT_KINDS.has(a.kind));
    if (!head && list.length === 1) {
      const a = list[0]!;
      rows.push({ key: a.id, head: a, members: [a], severity: a.severity, startsAt: a.startsAt });
      continue;
    }
    const members = list.filter((a) => a !== head).sort(bySeverityThenNewest);
    const severity = list.reduce<Severity>((s, a) => (RANK[a.severity] < RANK[s] ? a.severity : s), 'warning');
    rows.push({
      key: `incident:${incident}`,
      ...(head ? { head } : {}),
      incident,
      members,
      severity,
      startsAt: Math.min(...list.map((a) => a.startsAt)),
    });
  }
  return rows.sort(bySeverityThenNewest);
}

/** Users an alert row hurts: the incident's parent count, or the sum over its cells. */
export function usersAffected(row: AlertRow): number | undefined {
  const own = (a: AlertView) => {
    const v = Number(a.annotations.usersAffected);
    return Number.isFinite(v) ? v : undefined;
  };
  if (row.head && own(row.head) !== undefined) return own(row.head);
  const values = row.members.map(own).filter((v): v is number => v !== undefined);
  return values.length > 0 ? values.reduce((s, v) => s + v, 0) : undefined;
}

/** Label matchers that silence exactly this problem: its kind and the labels that identify it. */
export function silenceMatchers(a: AlertView): { name: string; op: '='; value: string }[] {
  const out = [{ name: 'alertname', op: '=' as const, value: a.labels.alertname ?? a.kind }];
  for (const name of ['cell', 'site', 'target', 'hotspot', 'problem', 'region', 'scope']) {
    const value = a.labels[name];
    if (value !== undefined && value !== '') out.push({ name, op: '=', value });
  }
  return out;
}

// ---- the map -------------------------------------------------------------------------------------

export type CellState = { kind: 'good' } | { kind: 'degraded'; cause: Cause } | { kind: 'down' } | { kind: 'no-data' };

/**
 * A cell's state on the map: down when it says so or an outage window is open on it; no data when its
 * samples stopped (the collector is blind, not the cell known bad); degraded by the cause of its most
 * severe open window; good otherwise.
 */
export function cellState(status: CellView['status'], open: readonly WindowView[]): CellState {
  if (status === 'down') return { kind: 'down' };
  if (status === 'stale' || status === 'unknown') return { kind: 'no-data' };
  if (open.length === 0) return { kind: 'good' };
  const worst = open.reduce((w, x) => (x.severity > w.severity ? x : w));
  if (worst.cause === 'outage') return { kind: 'down' };
  return { kind: 'degraded', cause: worst.cause };
}

/** Open windows by cell, kept from the REST snapshot and the stream's window events. */
export class OpenWindows {
  private readonly byCell = new Map<string, Map<string, WindowView>>();
  version = 0;

  reset(windows: readonly WindowView[]): void {
    this.byCell.clear();
    for (const w of windows) if (w.end === undefined) this.set(w);
    this.version++;
  }

  apply(change: 'opened' | 'changed' | 'closed' | 'retracted', w: WindowView): void {
    if (change === 'closed' || change === 'retracted' || w.end !== undefined) {
      const m = this.byCell.get(w.cell);
      if (m?.delete(w.id) && m.size === 0) this.byCell.delete(w.cell);
    } else this.set(w);
    this.version++;
  }

  of(cell: string): WindowView[] {
    return [...(this.byCell.get(cell)?.values() ?? [])];
  }

  get cells(): number {
    return this.byCell.size;
  }

  private set(w: WindowView): void {
    let m = this.byCell.get(w.cell);
    if (!m) this.byCell.set(w.cell, (m = new Map()));
    m.set(w.id, w);
  }
}

export interface Projection {
  x(lon: number): number;
  y(lat: number): number;
}

/**
 * Longitude/latitude onto a width × height box with a margin: equirectangular, with longitudes shrunk
 * by the cosine of the middle latitude so a city's shape is kept (no tiles, no projection library:
 * a region is a few tens of kilometres).
 */
export function fitProjection(
  points: readonly { lat: number; lon: number }[],
  width: number,
  height: number,
  margin = 12,
): Projection {
  if (points.length === 0) return { x: () => width / 2, y: () => height / 2 };
  let minLat = Infinity;
  let maxLat = -Infinity;
  let minLon = Infinity;
  let maxLon = -Infinity;
  for (const p of points) {
    minLat = Math.min(minLat, p.lat);
    maxLat = Math.max(maxLat, p.lat);
    minLon = Math.min(minLon, p.lon);
    maxLon = Math.max(maxLon, p.lon);
  }
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-6);
  const spanY = Math.max(maxLat - minLat, 1e-6);
  const scale = Math.min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY);
  const offX = (width - spanX * scale) / 2;
  const offY = (height - spanY * scale) / 2;
  return { x: (lon) => offX + (lon - minLon) * k * scale, y: (lat) => offY + (maxLat - lat) * scale };
}

// ---- time in the daemon's zone ---------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, timeZone: string): Record<string, number> {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(ms)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

const pad = (n: number | undefined) => String(n ?? 0).padStart(2, '0');

/** "2026-11-30 19:05" in the zone (what the agent's lookup takes back). */
export function localDateTime(ms: number, timeZone: string): string {
  const p = parts(ms, timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`;
}

export function localTime(ms: number, timeZone: string): string {
  const p = parts(ms, timeZone);
  return `${pad(p.hour)}:${pad(p.minute)}`;
}

/** Minutes after local midnight. */
export function localMinute(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  return (p.hour ?? 0) * 60 + (p.minute ?? 0);
}

/**
 * "2026-11-30 19:05" (or with a T) as the zone's wall time → epoch ms; undefined for other text. The
 * zone's offset is read at the guess and corrected once more, for the hours around a DST change.
 */
export function zonedToEpoch(text: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, hh, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, hh, mi);
  const offset = (t: number) => {
    const p = parts(t, timeZone);
    return Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute) - Math.floor(t / 60_000) * 60_000;
  };
  let t = wall;
  for (let i = 0; i < 2; i++) t = wall - offset(t);
  return t;
}

/** "YYYY-MM-DD" `days` before a local day (calendar arithmetic, no zone needed). */
export function dayBefore(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - days)).toISOString().slice(0, 10);
}

/** "3 h 05 min", "12 min", "2 d 4 h": how long something has lasted. */
export function duration(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${pad(min % 60)} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * Stretches of [from, to) whose local minute of day falls in [fromMinute, toMinute) (a window across
 * midnight when toMinute ≤ fromMinute): the peak hours, or a busy hour, to shade on a chart. Walks in
 * 15-minute steps, which every time zone's offset is a multiple of.
 */
export function localBands(
  from: number,
  to: number,
  fromMinute: number,
  toMinute: number,
  timeZone: string,
): [number, number][] {
  const STEP = 15 * 60_000;
  const inside = (m: number) =>
    fromMinute < toMinute ? m >= fromMinute && m < toMinute : m >= fromMinute || m < toMinute;
  const bands: [number, number][] = [];
  let open: number | undefined;
  for (let t = Math.floor(from / STEP) * STEP; t < to; t += STEP) {
    const on = inside(localMinute(t, timeZone));
    if (on && open === undefined) open = Math.max(t, from);
    if (!on && open !== undefined) {
      bands.push([open, t]);
      open = undefined;
    }
  }
  if (open !== undefined) bands.push([open, to]);
  return bands;
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)} %`;
}

// ---- the good-experience target ------------------------------------------------------------------

export type TargetStatus = 'met' | 'missed' | 'insufficient-data';

/** The probe-based ratio beside the counters' (each probe test is one user's attempt). */
export interface ProbeTargetView {
  ratio: number | null;
  tests: number;
  good: number;
  interval: [number, number] | null;
  status: TargetStatus;
  cells: number;
}

/** One result of `GET /api/v1/targets`: a scope's local day. */
export interface TargetView {
  day: string;
  scope: string;
  id: string;
  ratio: number | null;
  goal: number;
  users: number;
  coverage: number;
  interval: [number, number] | null;
  status: TargetStatus;
  cells: number;
  /** Absent when no probe tested the scope during that day's peak. */
  probes?: ProbeTargetView;
  /** Counters meet the goal while the probes miss it. */
  disagreement?: boolean;
}

export const TARGET_STATUS_WORDS: Record<TargetStatus, string> = {
  met: '✓ met',
  missed: '✗ missed',
  'insufficient-data': '? not enough data',
};

/**
 * The day a target card leads with: today once today's peak has any data; before that (every morning
 * until the peak hours) the latest earlier day with a verdict, so the board does not open on a row of
 * "not enough data" — today's figure is still in its bar.
 */
export function headlineResult(
  results: readonly TargetView[],
  today: string,
): { result?: TargetView; day: string; label: string } {
  const todays = results.find((r) => r.day === today);
  if (todays && todays.ratio !== null) return { result: todays, day: today, label: 'today' };
  const earlier = results
    .filter((r) => r.day < today && r.status !== 'insufficient-data')
    .sort((a, b) => b.day.localeCompare(a.day))[0];
  if (!earlier) return { ...(todays ? { result: todays } : {}), day: today, label: 'today' };
  return { result: earlier, day: earlier.day, label: earlier.day === dayBefore(today, 1) ? 'yesterday' : earlier.day };
}

/** What a card says about the probes, in words (a disagreement is never only a colour). */
export interface ProbeSummary {
  status: TargetStatus | 'none';
  /** "probes 25.0 % of 36 tests" or "no probe data". */
  text: string;
  /** "✗ missed", "? too few tests" or "". */
  verdict: string;
  disagreement: boolean;
}

export function probeSummary(r: TargetView | undefined): ProbeSummary {
  const p = r?.probes;
  if (!p || p.tests === 0) return { status: 'none', text: 'no probe data', verdict: '', disagreement: false };
  const tests = `${p.tests.toLocaleString('en-US')} test${p.tests === 1 ? '' : 's'}`;
  return {
    status: p.status,
    text: `probes ${pct(p.ratio)} of ${tests}`,
    verdict: p.status === 'insufficient-data' ? '? too few tests' : TARGET_STATUS_WORDS[p.status],
    disagreement: r?.disagreement === true,
  };
}

const TARGET_ALERT_KINDS = new Set(['target_at_risk', 'probe_disagreement']);

/** What the live target alerts say, as one key: when it changes, the targets did. */
export function targetAlertKey(alerts: readonly AlertView[]): string {
  return alerts
    .filter((a) => TARGET_ALERT_KINDS.has(a.kind))
    .map((a) => `${a.id}:${a.state}:${a.updatedAt ?? ''}`)
    .sort()
    .join(',');
}
