import type { AlertInput } from '../alerts/index.js';
import {
  decodeComplaintCsv,
  decodeComplaints,
  type ComplaintBatch,
  type Rejection,
} from '../collectors/intake/index.js';
import type { Config } from '../config/index.js';
import {
  ComplaintCorrelator,
  candidateCells,
  candidateRange,
  intlTimeWords,
  locate,
  slaAtRisk,
  type CorrelationChange,
  type HotspotEvent,
  type MatchOptions,
} from '../correlator/complaints/index.js';
import type { Alert, Complaint, ComplaintCorrelation, EpochMs, Inventory, Window } from '../model/index.js';
import { ComplaintRecords, type RecordDb, type StoredComplaint, type WindowRecords } from '../store/index.js';
import { registerComplaintRoutes } from './api/complaints.js';
import type { House } from './house/index.js';

/** Finalising, hot-spot housekeeping and the first-response watch run this often (clock time). */
const HOUSEKEEPING_MS = 60_000;
/**
 * Hot spots are evaluated this long (real time) after the first intake or window change that
 * touched them, once for everything that came in meanwhile: an import posting batch after batch is
 * a few evaluations a second, not one per batch (each evaluates every neighbourhood it touched).
 */
const HOTSPOT_SETTLE_MS = 200;
/** Unanswered complaints are watched this long after receipt (past due they stay raised a week). */
const WATCH_MS = 10 * 86_400_000;

/**
 * Windows from the store that complaints can reach but the correlator no longer holds: it holds every
 * window ending at or after `heldFrom` (and every open one), so only closed windows ending before it
 * are read — over each complaint's candidate range, the ranges merged into disjoint spans, one query
 * per span. A complaint imported a month late is then matched against the windows of its time.
 */
export function windowsInReach(
  windows: WindowRecords,
  complaints: readonly Complaint[],
  options: Pick<MatchOptions, 'lookbackMs' | 'afterMs' | 'minScore'>,
  heldFrom: EpochMs,
  loaded?: Array<[EpochMs, EpochMs]>,
): Window[] {
  const spans = complaints
    .map((c) => candidateRange(c, options))
    .filter(([from]) => from < heldFrom)
    .map(([from, to]): [number, number] => [from, Math.min(to, heldFrom)])
    .sort((a, b) => a[0] - b[0]);
  const merged = mergeSpans(spans);
  const out = new Map<string, Window>();
  // The store's span is open at both ends ([from, to)); the correlator's candidate range is closed.
  for (const [from, to] of loaded ? uncovered(merged, loaded) : merged)
    for (const w of windows.list({ from: from - 1, to: to + 1, open: false, limit: Number.MAX_SAFE_INTEGER }))
      if (w.end !== undefined && w.end !== null && w.end < heldFrom) out.set(w.id, w);
  if (loaded) loaded.splice(0, loaded.length, ...mergeSpans([...loaded, ...merged].sort((a, b) => a[0] - b[0])));
  return [...out.values()];
}

/** Sorted spans with the overlapping ones joined. */
function mergeSpans(sorted: ReadonlyArray<readonly [EpochMs, EpochMs]>): Array<[EpochMs, EpochMs]> {
  const merged: Array<[EpochMs, EpochMs]> = [];
  for (const [from, to] of sorted) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The parts of sorted, disjoint `spans` that sorted, disjoint `covered` spans leave out. */
export function uncovered(
  spans: ReadonlyArray<readonly [EpochMs, EpochMs]>,
  covered: ReadonlyArray<readonly [EpochMs, EpochMs]>,
): Array<[EpochMs, EpochMs]> {
  const out: Array<[EpochMs, EpochMs]> = [];
  let i = 0;
  for (const [from, to] of spans) {
    let at = from;
    while (i < covered.length && covered[i]![1] < at) i++;
    for (let j = i; j < covered.length && covered[j]![0] <= to && at <= to; j++) {
      if (covered[j]![0] > at) out.push([at, covered[j]![0]]);
      at = Math.max(at, covered[j]![1]);
    }
    if (at < to) out.push([at, to]);
  }
  return out;
}

/** What `POST /complaints` answers: DESIGN.md's 202 body. */
export interface IntakeResult {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
  /** All rejections, when more were found than are listed. */
  rejectedCount: number;
  ignoredFields?: Record<string, number>;
}

export interface Complaints {
  records: ComplaintRecords;
  correlator(): ComplaintCorrelator;
  /**
   * What holds now for the alerts: the open hot spots and the complaints at risk of missing their
   * first response. The alerts re-assert them after a restart (what they do not re-assert resolves).
   */
  alertConditions(now: EpochMs): AlertInput[];
  /**
   * Validates, commits, correlates: the one path of the API, `cellwatch import` and the demo's feed.
   * `error` when nothing could be read at all (a CSV without the required header).
   */
  intake(body: unknown, format: 'json' | 'csv'): IntakeResult | { error: string };
}

/** The correlator's options from config, with reasons written in the configured time zone. */
export function correlatorOptions(cfg: Config) {
  const c = cfg.complaints;
  const words = intlTimeWords(cfg.timezone);
  return {
    radiusKm: c.radiusKm,
    lookbackMs: c.lookback,
    afterMs: c.after,
    explainAt: c.explainAt,
    formatTime: (ms: EpochMs) => words.time(ms),
    hotspots: {
      minComplaints: c.hotspot.minComplaints,
      windowMs: c.hotspot.span,
      clusterKm: c.hotspot.clusterKm,
      clusterNeighbours: c.hotspot.clusterNeighbours,
    },
  };
}

/** Hot spots as the alert rules take them. */
function hotspotInputs(events: readonly HotspotEvent[]): AlertInput[] {
  return events.map((e) => ({
    type: 'hotspot',
    hotspot: {
      id: e.hotspot.id,
      kind: e.hotspot.kind,
      cells: e.hotspot.cells.map((c) => c.cell),
      ...(e.hotspot.site !== undefined ? { site: e.hotspot.site } : {}),
      ...(e.hotspot.region !== undefined ? { region: e.hotspot.region } : {}),
      complaints: e.hotspot.complaints.length,
      start: e.hotspot.openedAt,
      ...(e.hotspot.status === 'closed' ? { end: e.superseded ? e.at : e.hotspot.closesAt } : {}),
      open: e.hotspot.status === 'open',
      ...(e.superseded ? { superseded: true } : {}),
    },
  }));
}

/**
 * How many complaints each open window explains (as its best match): evidence for the window's alert.
 * `update` returns the windows whose count changed, as alert inputs. Closed windows are forgotten (their
 * alert is clearing; later matches are the correlator's to report, not the alert's).
 */
export class ExplainedCounts {
  /** complaint → the window that explains it best. */
  private readonly by = new Map<string, { window: string; cell: string }>();
  private readonly counts = new Map<string, { cell: string; n: number }>();

  update(changes: readonly { complaint: string; correlation: ComplaintCorrelation }[]): AlertInput[] {
    const touched = new Set<string>();
    for (const c of changes) {
      const best = c.correlation.explained ? c.correlation.windows[0] : undefined;
      const old = this.by.get(c.complaint);
      if (old?.window === best?.window) continue;
      if (old) {
        const entry = this.counts.get(old.window);
        if (entry) entry.n--;
        touched.add(old.window);
        this.by.delete(c.complaint);
      }
      if (best) {
        this.by.set(c.complaint, { window: best.window, cell: best.cell });
        const entry = this.counts.get(best.window) ?? { cell: best.cell, n: 0 };
        entry.n++;
        this.counts.set(best.window, entry);
        touched.add(best.window);
      }
    }
    const out: AlertInput[] = [];
    for (const w of touched) {
      const entry = this.counts.get(w);
      if (!entry) continue;
      out.push({ type: 'window-complaints', window: w, cell: entry.cell, complaints: entry.n });
      if (entry.n <= 0) this.counts.delete(w);
    }
    return out;
  }

  /** A window closed or was retracted. */
  forget(window: string): void {
    if (!this.counts.delete(window)) return;
    for (const [complaint, at] of this.by) if (at.window === window) this.by.delete(complaint);
  }

  /** Keeps only these windows (after a rebuild: the ones still open). */
  keep(windows: ReadonlySet<string>): void {
    for (const w of [...this.counts.keys()]) if (!windows.has(w)) this.forget(w);
  }

  /** The counts as alert inputs (after a restart). */
  inputs(): AlertInput[] {
    return [...this.counts].map(([window, e]) => ({
      type: 'window-complaints' as const,
      window,
      cell: e.cell,
      complaints: e.n,
    }));
  }
}

/**
 * The complaints part. Intake validates every record (bad ones rejected with index, field and reason,
 * the rest kept), commits the batch in one SQLite transaction — so a 202 means committed, and a repeat
 * of an id is a duplicate even when posted concurrently — and then correlates the network complaints
 * against the windows the detector publishes (a window found later still explains an earlier
 * complaint: window events re-score the complaints near them). Hot spots and complaints nearing
 * their first-response deadline go to the alerts.
 */
export function startComplaints(
  h: House,
  needs: {
    records: RecordDb;
    windows: WindowRecords;
    inventory: () => Inventory;
    alerts: (inputs: readonly AlertInput[]) => void;
    openAlerts: (where?: (labels: Readonly<Record<string, string>>) => boolean) => readonly Alert[];
  },
): Complaints {
  const log = h.logFor('complaints');
  const records = new ComplaintRecords(needs.records.db);
  const cfg = () => h.config;

  let explained = new ExplainedCounts();
  /** Spans of old windows read back from the store since the correlator last dropped windows. */
  let readBack: Array<[EpochMs, EpochMs]> = [];
  const build = (inventory: Inventory, config: Config = cfg()): ComplaintCorrelator => {
    const c = new ComplaintCorrelator(inventory, correlatorOptions(config));
    readBack = [];
    explained = new ExplainedCounts();
    const now = h.clock.now();
    const horizon = now - config.complaints.lookback - config.complaints.after - 86_400_000;
    // Windows and complaints still within reach of each other, so a restart correlates as before.
    c.addWindows(needs.windows.list({ from: horizon, limit: Number.MAX_SAFE_INTEGER }));
    const recent = records.list({ from: horizon, limit: 1_000_000 }).reverse();
    // A complaint received lately about a problem long before (its issueAt) needs that time's windows.
    const older = windowsInReach(
      needs.windows,
      recent.map((r) => r.complaint),
      c.options,
      now - c.options.windowRetentionMs,
    );
    if (older.length > 0) c.addWindows(older);
    const added = c.addComplaints(recent.map((r) => r.complaint)).outcomes;
    explained.update(
      added.flatMap((o) => (o.status === 'added' ? [{ complaint: o.id, correlation: o.correlation }] : [])),
    );
    explained.keep(new Set(needs.windows.list({ open: true, limit: 100_000 }).map((w) => w.id)));
    c.hotspotEvents(); // not news: the alerts re-assert the open ones at start (alertConditions)
    return c;
  };
  let correlator = build(needs.inventory());

  const saveChanges = (changes: readonly CorrelationChange[]) => {
    if (changes.length === 0) return;
    records.setCorrelations(changes.map((c) => ({ complaint: c.complaint, correlation: c.correlation })));
    const counts = explained.update(changes);
    if (counts.length > 0) needs.alerts(counts);
  };
  const raise = (events: readonly HotspotEvent[]) => {
    if (events.length > 0) needs.alerts(hotspotInputs(events));
  };

  let hotspotsDue: (() => void) | undefined;
  const hotspotsSoon = () => {
    hotspotsDue ??= h.timers.after(HOTSPOT_SETTLE_MS, () => {
      hotspotsDue = undefined;
      raise(correlator.hotspotEvents());
    });
  };
  h.defer('complaints:hotspots', () => hotspotsDue?.());

  h.bus.on('windows', 'complaints', (e) => {
    for (const ev of e.events) if (ev.change === 'closed' || ev.change === 'retracted') explained.forget(ev.window.id);
    saveChanges(correlator.applyWindowEvents(e.events).correlations);
    hotspotsSoon();
  });
  h.bus.on('inventory', 'complaints', (e) => {
    correlator = build(e.inventory);
  });
  // Matching knobs apply at once (the correlator is rebuilt from the store); the body limit is a route's.
  h.onReload('complaints', (next, prev, config) => {
    if (next.maxBody !== prev.maxBody) return { applied: false, why: 'maxBody is fixed when the routes are built' };
    correlator = build(needs.inventory(), config);
    return { applied: true };
  });

  const where = (c: Complaint, inventory: Inventory): { cell?: string; region?: string } => {
    const place = locate(c, inventory, cfg().complaints.radiusKm);
    if (!place.ok) return c.cell !== undefined ? { cell: c.cell } : {};
    const best = place.own?.id ?? candidateCells(place, inventory, cfg().complaints.radiusKm)[0]?.cell ?? c.cell;
    const region = best !== undefined ? inventory.cell(best)?.region : undefined;
    return { ...(best !== undefined ? { cell: best } : {}), ...(region !== undefined ? { region } : {}) };
  };

  const intake = (body: unknown, format: 'json' | 'csv'): IntakeResult | { error: string } => {
    const inventory = needs.inventory();
    const now = h.clock.now();
    const opts = { now, timeZone: cfg().timezone, isKnownCell: (id: string) => inventory.has(id) };
    const batch: ComplaintBatch =
      format === 'csv' ? decodeComplaintCsv(body as string | Buffer, opts) : decodeComplaints(body, opts);
    const rejected = [...batch.rejected];
    let rejectedCount = batch.rejectedCount;
    if (batch.error !== undefined) return { error: batch.error };
    // Within one request the first of two equal ids wins; the store decides against earlier requests.
    const seen = new Set<string>();
    const fresh: { complaint: Complaint; cell?: string; region?: string }[] = [];
    let duplicates = 0;
    batch.complaints.forEach((c) => {
      if (seen.has(c.id)) {
        duplicates++;
        return;
      }
      seen.add(c.id);
      fresh.push({ complaint: c, ...where(c, inventory) });
    });
    const { accepted, duplicates: known } = records.insert(fresh);
    duplicates += known.length;
    const acceptedSet = new Set(accepted);
    const added = fresh.filter((f) => acceptedSet.has(f.complaint.id)).map((f) => f.complaint);
    // Complaints filed (or imported) long after their problem: the windows of their time come back
    // from the store first; the next housekeeping finalises those complaints and drops the windows again.
    // A month's import comes in hundreds of batches over the same weeks: what was read back since the
    // last housekeeping is not read (nor re-applied) again.
    const older = windowsInReach(
      needs.windows,
      added,
      correlator.options,
      now - correlator.options.windowRetentionMs,
      readBack,
    ).filter((w) => !correlator.holdsWindow(w.id));
    if (older.length > 0) saveChanges(correlator.addWindows(older).correlations);
    const changes: { complaint: string; correlation: ComplaintCorrelation }[] = [];
    for (const o of correlator.addComplaints(added).outcomes) {
      if (o.status === 'added') changes.push({ complaint: o.id, correlation: o.correlation });
      // The decoder checked places already; a complaint the correlator cannot place is stored but
      // unexplained, and said so.
      else if (o.status === 'rejected')
        log.warn({ complaint: o.id, reason: o.message }, 'complaint could not be placed');
    }
    records.setCorrelations(changes);
    const counts = explained.update(changes);
    if (counts.length > 0) needs.alerts(counts);
    // Closed long ago: no alert to give evidence to, and no 'closed' event will come to forget them.
    for (const w of older) explained.forget(w.id);
    hotspotsSoon();
    rejectedCount = Math.max(rejectedCount, rejected.length);
    return {
      accepted: accepted.length,
      duplicates,
      rejected,
      rejectedCount,
      ...(Object.keys(batch.ignoredFields).length > 0 ? { ignoredFields: batch.ignoredFields } : {}),
    };
  };

  // Housekeeping on event time: finished complaints leave the correlator's memory (they are stored),
  // hot spots close, and complaints nearing 72 h without a first response are raised.
  let watched = new Set<string>();
  const housekeeping = (now: EpochMs) => {
    const done = correlator.finalize(now);
    readBack = [];
    saveChanges(
      done.finalised.map((f) => ({ complaint: f.complaint.id, correlation: f.correlation, explainedChanged: false })),
    );
    raise(done.hotspots);
    const inputs = riskInputs(now);
    if (inputs.length > 0) needs.alerts(inputs);
  };
  /** Complaints at risk now as alert inputs, plus the clearing of those no longer at risk. */
  const riskInputs = (now: EpochMs): AlertInput[] => {
    const open = records.list({ unanswered: true, from: now - WATCH_MS, limit: 100_000 }, true);
    const risks = slaAtRisk(
      open.map((r) => handled(r)),
      now,
      { warnBeforeMs: cfg().complaints.handling.warnBefore, responseWithinMs: cfg().complaints.handling.firstResponse },
    );
    const inputs: AlertInput[] = risks.map((r) => ({
      type: 'sla-risk',
      risk: {
        complaint: r.complaint,
        receivedAt: r.receivedAt,
        dueAt: r.dueAt,
        ...(r.region !== undefined ? { region: r.region } : {}),
        category: r.category,
        channel: r.channel,
      },
    }));
    const now_ = new Set(risks.map((r) => r.complaint));
    for (const id of watched) if (!now_.has(id)) inputs.push({ type: 'sla-cleared', complaint: id, at: now });
    watched = now_;
    return inputs;
  };
  const job = h.scheduler.every('complaints:housekeeping', HOUSEKEEPING_MS, (tick) => housekeeping(tick));
  h.defer('complaints', () => job.cancel());

  const alertConditions = (now: EpochMs): AlertInput[] => {
    const open = correlator
      .hotspots(now, { open: true })
      .map((hotspot) => ({ change: 'opened' as const, hotspot, at: now }));
    return [...hotspotInputs(open), ...riskInputs(now).filter((i) => i.type === 'sla-risk'), ...explained.inputs()];
  };
  const complaints: Complaints = { records, correlator: () => correlator, intake, alertConditions };
  h.routes((api) =>
    registerComplaintRoutes(api, {
      complaints,
      windows: needs.windows,
      inventory: needs.inventory,
      now: () => h.clock.now(),
      config: cfg,
      openAlerts: needs.openAlerts,
      onEvent: (id) => {
        // An answer may take a complaint off the at-risk list at once.
        if (watched.has(id)) housekeeping(h.clock.now());
      },
    }),
  );
  log.info({ held: correlator.size }, 'complaints started');
  return complaints;
}

/** A stored complaint as the handling figures take it. */
export function handled(r: StoredComplaint) {
  return {
    complaint: r.complaint,
    events: r.events.map((e) =>
      e.kind === 'feedback'
        ? {
            kind: 'feedback' as const,
            at: e.at,
            satisfied: e.satisfied ?? false,
            ...(e.score !== undefined ? { score: e.score } : {}),
          }
        : { kind: e.kind, at: e.at },
    ),
    ...(r.region !== undefined ? { region: r.region } : {}),
    ...(r.correlation ? { explained: r.correlation.explained } : {}),
  };
}
