/**
 * Bulk matching: a whole set of complaints against a whole set of windows in one pass — `cellwatch
 * analyze --complaints`, and any correlation of a file or a past period. The answers are the live
 * correlator's (correlator.ts) to the last digit and reason: the same pair function (place.ts,
 * scoring.ts) decides every pair. Only the layout differs, because here nothing arrives later:
 *
 * - Windows become columns (start, end, severity weight, cause, cell as numbers) sorted by start per
 *   site, so finding a complaint's windows is a binary search over a Float64Array and scoring a pair
 *   reads numbers, not objects. Windows on cells the inventory does not know can only be a
 *   complaint's own cell: they are listed per cell id.
 * - Complaints become columns too, in one pass in the given order (`prepareBulk`): what decides an
 *   outcome without windows — duplicates by id, not about the network, cannot be located — is settled
 *   there, and what scoring needs is kept as numbers. The scan (`BulkScanner`) then reads only
 *   columns, so any range of complaints can be scanned by any thread: `matchInBulk` scans them all in
 *   this one; daemon/bulk-match.ts shares the ranges with a worker thread over shared buffers.
 * - A complaint is scored in scratch arrays: time factors first as an upper bound (spatial ≤ 1), then
 *   the spatial weight of the window's cell — per named cell from a memo of its candidates (a cell
 *   alone decides them), per address computed once per cell and complaint.
 * - Results are columns (status, the listed windows, best first). Each window's score and reason
 *   (a sentence for people) are built when an outcome is read, from the same functions the live
 *   correlator uses: a million complaints need not cost millions of strings nobody reads.
 *
 * Duplicates by id, non-network complaints and complaints that cannot be located get the outcome the
 * live correlator gives them; a window id given twice keeps the version the live correlator would
 * (the newest `lastBad`; at a tie, a closed one over an open one, then the later in the list).
 */
import type {
  Cause,
  Cell,
  Complaint,
  ComplaintCorrelation,
  ComplaintMatch,
  Inventory,
  Window,
} from '../../model/index.js';
import { DEFAULT_CORRELATOR_OPTIONS, type ComplaintOutcome, type CorrelatorOptions } from './correlator.js';
import {
  FLAT_KM_PER_DEG,
  MastMeasure,
  QUERY_MARGIN_KM,
  TILE_HALF_DIAGONAL_KM,
  candidateCells,
  haversineKm,
  locate,
  nearestAmong,
  spatialWeight,
  tileOf,
  type GeoPoint,
  type Located,
} from './place.js';
import {
  SYMPTOM_FIT,
  candidateRange,
  combine,
  feltCause,
  reasonFor,
  scorePair,
  severityWeight,
  statedTime,
  statedTolerance,
  symptomFit,
  timeWeightAt,
  windowSpan,
  type ComplaintTimes,
  type MatchOptions,
} from './scoring.js';

/** The causes symptomFit knows (the rows of its table), by index. */
const CAUSES = Object.keys(SYMPTOM_FIT) as readonly Cause[];
/** Symptoms in fit-table order; 0 is "none given" (and anything symptomFit does not know: fit 1). */
const SYMPTOMS = [undefined, 'no-signal', 'slow-data', 'call-drop', 'voice-quality', 'other'] as const;
const FIT_COLUMNS = CAUSES.length + 1; // the last column: a cause symptomFit does not know

const RAD = Math.PI / 180;
/** A shade under place.ts's km per degree: the site filter's flat distances err short, so it errs wide. */
const KM_PER_DEG = FLAT_KM_PER_DEG * 0.99;

/** A complaint's outcome, as the scan and the reader see it. */
const enum Status {
  /** Located, to be scanned (and, after the scan, not explained). */
  Added,
  /** Added, and its best match reaches explainAt. */
  Explained,
  Duplicate,
  Ignored,
  Rejected,
}

/** Complaint flags: which optional fields were given. */
const HAS_ISSUE = 1;
const HAS_ADDRESS = 2;

/** The numbers of the options the scan reads (a worker thread gets these; formatTime is a function). */
export type BulkOptions = Pick<
  MatchOptions,
  'radiusKm' | 'lookbackMs' | 'afterMs' | 'explainAt' | 'minScore' | 'maxMatches'
>;

/**
 * Everything a scan reads, as typed arrays (in SharedArrayBuffers when the plan is to be shared with
 * a worker thread) and a few small plain values: structured-cloneable, no complaint or window object.
 */
export interface BulkPlan {
  options: BulkOptions;
  /** Each window's start: what the scan binary-searches (per site, closed ones sorted by start). */
  start: Float64Array;
  /**
   * What scoring a pair reads, side by side (one or two cache lines per window, not one per column):
   * per window, `score` holds start, end, severity weight and cause (index into CAUSES), and
   * `place` its cell (index, -1 when the inventory does not know it) and the cell's slot in its site.
   */
  score: Float64Array;
  place: Int32Array;
  /** Site s's closed windows are [closed[s], open[s]); its open ones [open[s], closed[s + 1]). */
  closed: Int32Array;
  open: Int32Array;
  maxSpan: Float64Array;
  /** Each window's id: equal scores list the smaller id first (cloned to a worker: cheaper than ranking them here). */
  ids: string[];
  /** Windows on cells the inventory does not know, per cell id. */
  unknownCell: Map<string, number[]>;
  /** Per complaint: Status, then (Added) what the scan needs. */
  status: Uint8Array;
  flags: Uint8Array;
  receivedAt: Float64Array;
  issueAt: Float64Array;
  lat: Float64Array;
  lon: Float64Array;
  /** The named cell: its index, -1 none, or -2 - k for unknownIds[k] (a cell the inventory does not know). */
  cell: Int32Array;
  /** Index into SYMPTOMS (0: none, or one symptomFit does not know). */
  symptom: Uint8Array;
  /** The unknown cells windows name, then one standing for any other unknown cell. */
  unknownIds: string[];
  /** After the scan: how many windows each complaint lists. */
  count: Int32Array;
  /** How many complaints are read into the columns so far (Atomics: written by one thread, waited on by others). */
  read: Int32Array;
}

/** A plan, and what only the thread that made it holds: the windows and the rejections. */
export interface PreparedBulk {
  plan: BulkPlan;
  /** The windows in the plan's order (window i of the columns is windows[i]). */
  windows: Window[];
  rejected: Map<number, Extract<ComplaintOutcome, { status: 'rejected' }>>;
  /** The inventory as indices, as the plan numbers cells and sites. */
  geometry: InventoryGeometry;
}

type Alloc = <T extends Float64Array | Int32Array | Uint8Array>(
  type: { new (n: number): T; new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  n: number,
) => T;

/**
 * The windows and the complaints as columns, in one pass over the complaints in the given order:
 * duplicates, complaints not about the network and those that cannot be located are settled here.
 * `shared`: in SharedArrayBuffers, for scanning in more than one thread.
 */
export function prepareBulk(
  inventory: Inventory,
  windows: readonly Window[],
  complaints: readonly Complaint[],
  options: Partial<CorrelatorOptions> = {},
  shared = false,
): PreparedBulk {
  const prepared = planBulk(inventory, windows, complaints.length, options, shared);
  readComplaints(prepared, inventory, complaints);
  return prepared;
}

/**
 * The plan before its complaints are read (readComplaints): the windows as columns, and room for n
 * complaints. Everything a scan reads is in place, so it can go to a worker thread before the
 * complaints are read, and the worker scan each range as soon as it is read (`plan.read`).
 */
export function planBulk(
  inventory: Inventory,
  windows: readonly Window[],
  n: number,
  options: Partial<CorrelatorOptions> = {},
  shared = false,
): PreparedBulk {
  const { radiusKm, lookbackMs, afterMs, explainAt, minScore, maxMatches } = {
    ...DEFAULT_CORRELATOR_OPTIONS,
    ...options,
  };
  const alloc: Alloc = (type, n) =>
    shared ? new type(new SharedArrayBuffer(Math.max(1, n) * type.BYTES_PER_ELEMENT)) : new type(n);
  const geo = new InventoryGeometry(inventory);
  const table = windowColumns(windows, geo, alloc);
  // A cell the inventory does not know matters to the scan only through its windows, and through
  // being named at all (other cells then weigh as another cell's, not as an address's): the ids
  // with windows, then one that stands for any other (a string no cell and no window has).
  const unknownIds = [...table.columns.unknownCell.keys()];
  let anyOther = '\u0000';
  while (geo.cellIndex.has(anyOther) || table.columns.unknownCell.has(anyOther)) anyOther += '\u0000';
  unknownIds.push(anyOther);
  return {
    plan: {
      options: { radiusKm, lookbackMs, afterMs, explainAt, minScore, maxMatches },
      ...table.columns,
      status: alloc(Uint8Array, n),
      flags: alloc(Uint8Array, n),
      receivedAt: alloc(Float64Array, n),
      issueAt: alloc(Float64Array, n),
      lat: alloc(Float64Array, n),
      lon: alloc(Float64Array, n),
      cell: alloc(Int32Array, n),
      symptom: alloc(Uint8Array, n),
      unknownIds,
      count: alloc(Int32Array, n),
      read: alloc(Int32Array, 1),
    },
    windows: table.windows,
    rejected: new Map(),
    geometry: geo,
  };
}

/**
 * Reads the complaints into a plan, in the given order (a later id is a duplicate of an earlier
 * one), publishing how many are read every BULK_RANGE complaints (`plan.read`, through Atomics: a
 * worker waiting on it scans a range as soon as it is read).
 */
export function readComplaints(prepared: PreparedBulk, inventory: Inventory, complaints: readonly Complaint[]): void {
  const { plan, rejected } = prepared;
  const { cellIndex } = prepared.geometry;
  const { status, flags, receivedAt, issueAt, lat, lon, cell, symptom, unknownIds } = plan;
  const unknownIndex = new Map(unknownIds.map((id, k) => [id, k]));
  const anyOther = unknownIds.length - 1;
  const n = complaints.length;
  const seen = new IdTable(complaints);
  // Only whether it can be located matters here: the nearest mast is the scan's to find.
  const noNearest = () => undefined;
  for (let i = 0; i < n; i++) {
    if (i % BULK_RANGE === 0 && i > 0) publish(plan.read, i);
    // Each field read once: complaints come in as many shapes as their optional fields combine (a
    // dozen in a typical file), and every read of a field of such a megamorphic object is slow.
    const c = complaints[i]!;
    const idSlot = seen.slot(c.id);
    if (seen.at(idSlot) >= 0) {
      status[i] = Status.Duplicate;
      continue;
    }
    if (c.category !== 'network') {
      // The live correlator does not hold an ignored complaint: the same id later is added.
      status[i] = Status.Ignored;
      continue;
    }
    const received = c.receivedAt;
    if (!Number.isFinite(received)) {
      status[i] = Status.Rejected;
      rejected.set(i, { id: c.id, status: 'rejected', reason: 'bad-time', field: 'receivedAt', message: 'not a time' });
      continue;
    }
    const cellId = c.cell;
    const la = c.lat;
    const lo = c.lon;
    const hasLat = la !== undefined && la !== null;
    const hasLon = lo !== undefined && lo !== null;
    const hasAddress = hasLat && hasLon;
    // A known cell alone always locates; anything else is locate()'s to judge.
    const known = cellId ? cellIndex.get(cellId) : undefined;
    if (hasLat || hasLon || known === undefined) {
      const located = locate(c, inventory, plan.options.radiusKm, noNearest);
      if (!located.ok) {
        status[i] = Status.Rejected;
        const { reason, field, message } = located;
        rejected.set(i, { id: c.id, status: 'rejected', reason, field, message });
        continue;
      }
    }
    seen.put(idSlot, i);
    status[i] = Status.Added;
    receivedAt[i] = received;
    const issue = c.issueAt;
    if (issue !== undefined && issue !== null) {
      flags[i] = HAS_ISSUE;
      issueAt[i] = issue;
    }
    if (hasAddress) {
      flags[i]! |= HAS_ADDRESS;
      lat[i] = la;
      lon[i] = lo;
    }
    cell[i] = !cellId ? -1 : known !== undefined ? known : -2 - (unknownIndex.get(cellId) ?? anyOther);
    const sym = SYMPTOMS.indexOf(c.symptom);
    symptom[i] = sym < 0 ? 0 : sym;
  }
  publish(plan.read, n);
}

function publish(read: Int32Array, upTo: number): void {
  Atomics.store(read, 0, upTo);
  Atomics.notify(read, 0);
}

/** The inventory's cells and sites as indices: the same numbers in every thread built from the same inventory. */
class InventoryGeometry {
  readonly cells: readonly Cell[];
  readonly cellIndex = new Map<string, number>();
  readonly cellSite: Int32Array;
  /** A cell's position among its site's cells, and each site's number of cells. */
  readonly cellSlot: Int32Array;
  readonly siteSize: Int32Array;
  readonly nSites: number;

  constructor(inventory: Inventory) {
    this.cells = inventory.cells;
    this.nSites = inventory.sites.length;
    const siteIndex = new Map<string, number>();
    inventory.sites.forEach((s, i) => siteIndex.set(s, i));
    this.cellSite = new Int32Array(this.cells.length);
    this.cellSlot = new Int32Array(this.cells.length);
    this.siteSize = new Int32Array(this.nSites);
    this.cells.forEach((c, i) => {
      this.cellIndex.set(c.id, i);
      const site = siteIndex.get(c.site)!;
      this.cellSite[i] = site;
      this.cellSlot[i] = this.siteSize[site]!++;
    });
  }
}

type WindowColumns = Pick<
  BulkPlan,
  'start' | 'score' | 'place' | 'closed' | 'open' | 'maxSpan' | 'ids' | 'unknownCell'
>;

/** The windows as columns: per site, closed windows by start, then the site's open ones. */
function windowColumns(
  ws: readonly Window[],
  geo: InventoryGeometry,
  alloc: Alloc,
): { columns: WindowColumns; windows: Window[] } {
  const { cellIndex, cellSite, cellSlot, nSites } = geo;
  // As addWindows: each window an 'opened' or 'closed' event at its lastBad; the newest event wins
  // (a tie: closed over opened, then the later in the list). Typed arrays, not a Map and objects:
  // what this builds and drops would otherwise push a heap holding a million complaints into a
  // full collection.
  const isOpen = (w: Window) => w.end === undefined || w.end === null;
  const at = (w: Window) => (Number.isFinite(w.lastBad) ? w.lastBad : -Infinity);
  const byId = new IdTable(ws);
  const keep = new Uint8Array(ws.length);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    const slot = byId.slot(w.id);
    const j = byId.at(slot);
    if (j >= 0) {
      const o = ws[j]!;
      if (at(w) < at(o) || (at(w) === at(o) && Number(!isOpen(w)) < Number(!isOpen(o)))) continue;
      keep[j] = 0;
    }
    byId.put(slot, i);
    keep[i] = 1;
  }
  // By site (unknown cells after the last), closed before open, then start: counted into place.
  const cellOf = new Int32Array(ws.length);
  const siteOf = new Int32Array(ws.length);
  const first = alloc(Int32Array, nSites + 2);
  for (let i = 0; i < ws.length; i++) {
    if (!keep[i]) continue;
    const c = cellIndex.get(ws[i]!.cell) ?? -1;
    cellOf[i] = c;
    siteOf[i] = c < 0 ? nSites : cellSite[c]!;
    first[siteOf[i]! + 1]!++;
  }
  for (let s = 0; s <= nSites; s++) first[s + 1]! += first[s]!;
  const order = new Int32Array(first[nSites + 1]!);
  const fill = first.slice();
  for (let i = 0; i < ws.length; i++) if (keep[i]) order[fill[siteOf[i]!]!++] = i;
  for (let s = 0; s <= nSites; s++)
    order
      .subarray(first[s], first[s + 1])
      .sort((x, y) => Number(isOpen(ws[x]!)) - Number(isOpen(ws[y]!)) || ws[x]!.start - ws[y]!.start);
  const n = order.length;
  const windows: Window[] = [];
  const start = alloc(Float64Array, n);
  const score = alloc(Float64Array, 4 * n);
  const place = alloc(Int32Array, 2 * n);
  // Site s's windows are [first[s], first[s + 1]); open[s] counts its closed ones, then offsets them.
  const open = alloc(Int32Array, nSites + 1);
  const maxSpan = alloc(Float64Array, nSites + 1);
  const unknownCell = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const w = ws[order[i]!]!;
    const c = cellOf[order[i]!]!;
    const site = siteOf[order[i]!]!;
    windows.push(w);
    if (!isOpen(w)) open[site]!++;
    start[i] = w.start;
    score[4 * i] = w.start;
    score[4 * i + 1] = isOpen(w) ? Infinity : w.end!;
    score[4 * i + 2] = severityWeight(w.severity);
    const k = CAUSES.indexOf(feltCause(w));
    score[4 * i + 3] = k < 0 ? CAUSES.length : k;
    place[2 * i] = c;
    place[2 * i + 1] = c < 0 ? -1 : cellSlot[c]!;
    if (c < 0) {
      let l = unknownCell.get(w.cell);
      if (!l) unknownCell.set(w.cell, (l = []));
      l.push(i);
    } else if (!isOpen(w)) maxSpan[site] = Math.max(maxSpan[site]!, w.end! - w.start);
  }
  for (let s = 0; s <= nSites; s++) open[s]! += first[s]!;
  const ids = windows.map((w) => w.id);
  return { columns: { start, score, place, closed: first, open, maxSpan, ids, unknownCell }, windows };
}

/**
 * The spatial side of an address: the sites that can hold a cell within the radius of its ~300 m
 * tile, and their masts (what its nearest mast is found among). One per tile, kept.
 */
class AddressTiles {
  /** By row, then column: small integers hash faster than the key (beyond small-integer range, a float). */
  private readonly tiles = new Map<number, Map<number, { sites: Int32Array; masts: GeoPoint[] }>>();
  private lastLat = NaN;
  private lastLon = NaN;
  private last: { sites: Int32Array; masts: GeoPoint[] } | undefined;
  /** The distinct points of each site's cells (a remote radio head stands apart from its mast). */
  private readonly siteMasts: GeoPoint[][] = [];

  constructor(
    private readonly inventory: Inventory,
    private readonly geo: InventoryGeometry,
    private readonly radiusKm: number,
  ) {
    for (const id of inventory.sites) {
      const points: GeoPoint[] = [];
      for (const x of inventory.cellsOfSite(id))
        if (!points.some((p) => p.lat === x.lat && p.lon === x.lon)) points.push(x);
      this.siteMasts.push(points);
    }
  }

  at(p: GeoPoint): { sites: Int32Array; masts: GeoPoint[] } {
    // locate asks for the nearest mast, then the scan for the sites: the same point twice running.
    if (this.last && this.lastLat === p.lat && this.lastLon === p.lon) return this.last;
    const t = tileOf(p);
    let row = this.tiles.get(t.row);
    if (!row) this.tiles.set(t.row, (row = new Map()));
    let tile = row.get(t.column);
    if (!tile) {
      const { cellSite, cellIndex } = this.geo;
      const sites = new Set<number>();
      for (const n of this.inventory.within(t.lat, t.lon, this.radiusKm + QUERY_MARGIN_KM + TILE_HALF_DIAGONAL_KM))
        sites.add(cellSite[cellIndex.get(n.cell.id)!]!);
      const masts: GeoPoint[] = [];
      for (const site of sites) for (const m of this.siteMasts[site]!) masts.push(m);
      tile = { sites: Int32Array.from(sites), masts };
      row.set(t.column, tile);
    }
    this.lastLat = p.lat;
    this.lastLon = p.lon;
    this.last = tile;
    return tile;
  }

  /** The nearest mast within the radius, as locate() asks for it. */
  readonly nearest = (p: GeoPoint): number | undefined => nearestAmong(p, this.at(p).masts, this.radiusKm);
}

/** A named cell's candidates (its own cell, its neighbours, the cells within the radius): the same for every complaint naming it alone. */
interface CellCandidates {
  sites: Int32Array;
  /** The weight of each cell of sites[k] at weights[offsets[k] + its position in the site] (0: no candidate). */
  offsets: Int32Array;
  weights: Float64Array;
}

/**
 * Scans ranges of a plan's complaints against its windows: for each, sets its status (explained or
 * not) and count, and returns the windows each lists, best first, one complaint after another. One
 * per thread (its memos and scratch arrays are its own); any thread may scan any range.
 */
export class BulkScanner {
  readonly scan: (from: number, to: number) => Int32Array;
  /** How many complaints of the plan are read (see BulkPlan.read). */
  readonly read: Int32Array;

  constructor(inventory: Inventory, plan: BulkPlan) {
    this.scan = bulkScan(inventory, plan);
    this.read = plan.read;
  }
}

function bulkScan(inventory: Inventory, plan: BulkPlan): (from: number, to: number) => Int32Array {
  const o = plan.options;
  const { radiusKm, minScore, maxMatches } = o;
  const geo = new InventoryGeometry(inventory);
  const { cells, cellIndex, cellSite, cellSlot, siteSize, nSites } = geo;
  const { start, score, place: cellOf, closed, open, maxSpan, ids, unknownCell } = plan;
  // Each site's point (its first cell's) and how far its farthest cell stands from it.
  const siteLat = new Float64Array(nSites);
  const siteLon = new Float64Array(nSites);
  const siteSpread = new Float64Array(nSites);
  inventory.sites.forEach((id, k) => {
    const cs = inventory.cellsOfSite(id);
    siteLat[k] = cs[0]!.lat;
    siteLon[k] = cs[0]!.lon;
    for (const x of cs) siteSpread[k] = Math.max(siteSpread[k]!, haversineKm(cs[0]!.lat, cs[0]!.lon, x.lat, x.lon));
  });
  const tiles = new AddressTiles(inventory, geo, radiusKm);

  const fitTable = new Float64Array(SYMPTOMS.length * FIT_COLUMNS);
  for (let s = 0; s < SYMPTOMS.length; s++)
    for (let k = 0; k < FIT_COLUMNS; k++)
      fitTable[s * FIT_COLUMNS + k] = symptomFit(SYMPTOMS[s], {
        cause: CAUSES[k] ?? ('?' as Cause),
        evidence: undefined!,
      });

  // The sites of a named cell and of its neighbours (a neighbour may stand beyond the radius).
  const ownSites = new Map<number, Int32Array>();
  const ownSitesOf = (own: number): Int32Array => {
    let s = ownSites.get(own);
    if (!s) {
      const set = new Set([cellSite[own]!]);
      for (const n of inventory.neighbours(cells[own]!.id)) set.add(cellSite[cellIndex.get(n.id)!]!);
      ownSites.set(own, (s = Int32Array.from(set)));
    }
    return s;
  };
  const byCell = new Map<number, CellCandidates>();
  const candidatesOf = (place: Located, own: number): CellCandidates => {
    let cc = byCell.get(own);
    if (!cc) {
      const bySite = new Map<number, Map<number, number>>();
      for (const cand of candidateCells(place, inventory, radiusKm)) {
        if (cand.weight < minScore) continue;
        const k = cellIndex.get(cand.cell)!;
        let ws = bySite.get(cellSite[k]!);
        if (!ws) bySite.set(cellSite[k]!, (ws = new Map()));
        ws.set(cellSlot[k]!, cand.weight);
      }
      // One array per named cell, site after site: the scan reads it near its windows' columns.
      const sites = Int32Array.from(bySite.keys());
      const offsets = new Int32Array(sites.length);
      let size = 0;
      sites.forEach((site, k) => {
        offsets[k] = size;
        size += siteSize[site]!;
      });
      const weights = new Float64Array(size);
      sites.forEach((site, k) => {
        for (const [slot, w] of bySite.get(site)!) weights[offsets[k]! + slot] = w;
      });
      cc = { sites, offsets, weights };
      byCell.set(own, cc);
    }
    return cc;
  };
  const cellPlace: (Located | undefined)[] = [];

  // Per complaint scratch: a cell's spatial weight (NaN: not worked out yet), sites visited, matches.
  const weightOf = new Float64Array(cells.length).fill(NaN);
  const touched: number[] = [];
  const mast = new MastMeasure();
  const siteStamp = new Int32Array(nSites);
  /** Per site, where pastTo found its answer last (its complaints come roughly in time order). */
  const hint = new Int32Array(nSites + 1);
  let stamp = 0;
  let mWin = new Int32Array(64);
  let mScore = new Float64Array(64);
  let m = 0;
  // The windows listed by the complaints of one range, in order (grown by doubling: a range is small).
  let listed = new Int32Array(1024);
  let nListed = 0;

  let place!: Located;
  let received = 0;
  let issue: number | undefined;
  let tau = 0;
  let from = 0;
  let to = 0;
  let fitRow = 0;

  /** The spatial weight of a window's cell for an address (0 when no candidate or under minScore). */
  const addressWeight = (k: number): number => {
    const known = weightOf[k]!;
    if (known === known) return known;
    const cell = cells[k]!;
    let w = cell.id === place.ownId ? 1 : mast.weigh(place, cell, radiusKm);
    if (w < minScore) w = 0;
    weightOf[k] = w;
    touched.push(k);
    return w;
  };

  /** Scores window i; `spatial` is its cell's weight, or -1 to work it out for the address. */
  const consider = (i: number, spatial: number): void => {
    if (spatial === 0) return;
    const time = timeWeightAt(issue, tau, received, score[4 * i]!, score[4 * i + 1]!);
    const fit = fitTable[fitRow + score[4 * i + 3]!]!;
    const severity = score[4 * i + 2]!;
    if (combine(1, time, severity, fit) < minScore) return;
    const k = cellOf[2 * i]!;
    const where = spatial >= 0 ? spatial : addressWeight(k);
    if (where === 0) return;
    const pair = combine(where, time, severity, fit);
    if (pair < minScore) return;
    if (m === mWin.length) {
      mWin = grow(mWin, new Int32Array(m * 2));
      mScore = grow(mScore, new Float64Array(m * 2));
    }
    mWin[m] = i;
    mScore[m++] = pair;
  };

  // A named cell's candidate weights (from weights[at + the window cell's slot]), or none: an address.
  let weights: Float64Array | undefined;
  let at = 0;
  const spatialOf = (i: number): number => (weights === undefined ? -1 : weights[at + cellOf[2 * i + 1]!]!);

  /**
   * The first of site s's closed windows [lo, hi) starting after `to`, searched from where it was for
   * the site's last complaint, in steps doubling away from there: complaints near in time (a file in
   * arrival order) find it in a step or two, where a binary search takes eight; at worst twice that.
   */
  const pastTo = (lo: number, hi: number, s: number): number => {
    let a = hint[s]!;
    if (a < lo || a > hi) a = lo;
    let b: number;
    if (a < hi && start[a]! <= to) {
      // Forward: start[a] ≤ to; gallop until a start beyond `to` (or the end), then halve.
      let step = 1;
      while (a + step < hi && start[a + step]! <= to) {
        a += step;
        step *= 2;
      }
      b = Math.min(hi, a + step);
      a++;
    } else if (a > lo && start[a - 1]! > to) {
      // Back: start[a - 1] > to; gallop down until a start at or before `to` (or the beginning).
      b = a - 1;
      let step = 1;
      while (b - step >= lo && start[b - step]! > to) {
        b -= step;
        step *= 2;
      }
      a = Math.max(lo, b - step + 1);
    } else return a;
    // The answer is in [a, b]: start[b] > to or b = hi, and everything before a starts at or before `to`.
    while (a < b) {
      const mid = (a + b) >> 1;
      if (start[mid]! <= to) a = mid + 1;
      else b = mid;
    }
    hint[s] = a;
    return a;
  };

  /** Scores the windows of site s that overlap [from, to]. */
  const scanSite = (s: number): void => {
    if (siteStamp[s] === stamp) return;
    siteStamp[s] = stamp;
    const lo = closed[s]!;
    const hi = open[s]!;
    const openEnd = closed[s + 1]!;
    for (let i = hi; i < openEnd; i++) if (start[i]! <= to) consider(i, spatialOf(i));
    if (lo === hi) return;
    // Just past the last closed window starting at or before `to`; then back while one could reach `from`.
    const a = pastTo(lo, hi, s);
    const stop = from - maxSpan[s]!;
    for (let i = a - 1; i >= lo && start[i]! >= stop; i--) if (score[4 * i + 1]! >= from) consider(i, spatialOf(i));
  };

  /** Complaint i as the definitions read it (its place and times), in one shape. */
  const complaintAt = (i: number): ComplaintTimes & Pick<Complaint, 'cell' | 'lat' | 'lon'> => {
    const k = plan.cell[i]!;
    const f = plan.flags[i]!;
    return {
      receivedAt: plan.receivedAt[i]!,
      issueAt: f & HAS_ISSUE ? plan.issueAt[i]! : undefined,
      cell: k >= 0 ? cells[k]!.id : k === -1 ? undefined : plan.unknownIds[-2 - k]!,
      lat: f & HAS_ADDRESS ? plan.lat[i]! : undefined,
      lon: f & HAS_ADDRESS ? plan.lon[i]! : undefined,
    };
  };

  const scanOne = (i: number): void => {
    const c = complaintAt(i);
    const own = plan.cell[i]! >= 0 ? plan.cell[i]! : undefined;
    // A complaint naming a known cell and no address is located by that cell alone: one place per cell.
    place =
      own !== undefined && !(plan.flags[i]! & HAS_ADDRESS)
        ? (cellPlace[own] ??= oneShape(locate(c, inventory, radiusKm, tiles.nearest) as Located))
        : oneShape(locate(c, inventory, radiusKm, tiles.nearest) as Located);
    received = c.receivedAt;
    [from, to] = candidateRange(c, o);
    issue = statedTime(c);
    tau = statedTolerance(c);
    fitRow = plan.symptom[i]! * FIT_COLUMNS;
    m = 0;
    stamp++;
    mast.reset();
    if (place.pointFrom === 'cell') {
      // Named cell alone: its candidates and their weights per site are memoised.
      const cc = candidatesOf(place, own!);
      weights = cc.weights;
      for (let k = 0; k < cc.sites.length; k++) {
        at = cc.offsets[k]!;
        scanSite(cc.sites[k]!);
      }
      weights = undefined;
    } else {
      // The named cell's and its neighbours' sites first; then those of the tile that can hold a cell
      // within the radius (their point within the radius plus their spread).
      if (own !== undefined) {
        const extra = ownSitesOf(own);
        for (let k = 0; k < extra.length; k++) scanSite(extra[k]!);
      }
      const tile = tiles.at(place.point);
      const { lat, lon } = place.point;
      // A flat-earth distance is exact to well under the margin at these few km, and needs no trigonometry.
      const kmPerLon = KM_PER_DEG * Math.cos(lat * RAD);
      const reach = radiusKm + QUERY_MARGIN_KM;
      for (let k = 0; k < tile.sites.length; k++) {
        const site = tile.sites[k]!;
        if (siteStamp[site] === stamp || closed[site] === closed[site + 1]) continue;
        const dy = (siteLat[site]! - lat) * KM_PER_DEG;
        const dx = (siteLon[site]! - lon) * kmPerLon;
        const r = reach + siteSpread[site]!;
        if (dx * dx + dy * dy > r * r) continue;
        scanSite(site);
      }
      if (own === undefined && place.ownId !== undefined) {
        // A cell the inventory does not know: only its own windows can be about it (weight 1).
        for (const w of unknownCell.get(place.ownId) ?? [])
          if (start[w]! <= to && score[4 * w + 1]! >= from) consider(w, 1);
      }
      for (const k of touched) weightOf[k] = NaN;
      touched.length = 0;
    }
    if (m === 0) return;
    // Best first, then the smaller window id (an insertion sort: a complaint has a handful of matches).
    for (let k = 1; k < m; k++) {
      const ws = mScore[k]!;
      const ww = mWin[k]!;
      let j = k - 1;
      for (; j >= 0 && (mScore[j]! < ws || (mScore[j] === ws && ids[mWin[j]!]! > ids[ww]!)); j--) {
        mScore[j + 1] = mScore[j]!;
        mWin[j + 1] = mWin[j]!;
      }
      mScore[j + 1] = ws;
      mWin[j + 1] = ww;
    }
    if (mScore[0]! >= o.explainAt) plan.status[i] = Status.Explained;
    const take = Math.min(maxMatches, m);
    if (nListed + take > listed.length) listed = grow(listed, new Int32Array(2 * (nListed + take)));
    for (let k = 0; k < take; k++) listed[nListed++] = mWin[k]!;
    plan.count[i] = take;
  };

  return (first, end) => {
    nListed = 0;
    for (let i = first; i < end; i++) if (plan.status[i] === Status.Added) scanOne(i);
    return listed.slice(0, nListed);
  };
}

/** How many complaints a thread takes at a time: enough to even out a slower thread, few enough to stay cheap to hand out. */
export const BULK_RANGE = 16_384;

/**
 * Scans ranges of BULK_RANGE complaints, taking the next one from a counter the threads share
 * (`next`, through Atomics) until none is left: a slower thread takes fewer. Range r's listed windows
 * are at `listed[r]`.
 */
export function scanTakenRanges(
  scanner: BulkScanner,
  size: number,
  next: Int32Array,
): { r: number; listed: Int32Array }[] {
  const out: { r: number; listed: Int32Array }[] = [];
  for (let r = Atomics.add(next, 0, 1); r * BULK_RANGE < size; r = Atomics.add(next, 0, 1)) {
    const end = Math.min(size, (r + 1) * BULK_RANGE);
    // A range is scanned once it is read: the thread reading the complaints publishes its progress.
    for (let read = Atomics.load(scanner.read, 0); read < end; read = Atomics.load(scanner.read, 0))
      Atomics.wait(scanner.read, 0, read);
    out.push({ r, listed: scanner.scan(r * BULK_RANGE, end) });
  }
  return out;
}

/** The outcome of every complaint, as columns; `outcome(i)` builds the i-th one as the live correlator gives it. */
export class BulkCorrelations {
  /** Network complaints explained by a window. */
  readonly explainedCount: number;
  /** Where complaint i's listed windows start in `listedWindow` (i + 1: where they end). */
  private readonly listed: Int32Array;
  private readonly listedWindow: Int32Array;
  private readonly status: Uint8Array;
  private readonly windows: Window[];
  private readonly rejected: ReadonlyMap<number, Extract<ComplaintOutcome, { status: 'rejected' }>>;
  private readonly options: CorrelatorOptions;
  private readonly nearest: (p: GeoPoint) => number | undefined;
  /** "19:05–21:40" per window, built when a reason first needs it. */
  private readonly spans: (string | undefined)[] = [];

  /** `ranges[r]`: the windows listed by complaints r · BULK_RANGE onwards, as scanTakenRanges returns them. */
  constructor(
    private readonly complaints: readonly Complaint[],
    prepared: PreparedBulk,
    ranges: readonly Int32Array[],
    private readonly inventory: Inventory,
    options: Partial<CorrelatorOptions> = {},
  ) {
    const { plan } = prepared;
    this.options = { ...DEFAULT_CORRELATOR_OPTIONS, ...options };
    this.status = plan.status;
    this.windows = prepared.windows;
    this.rejected = prepared.rejected;
    this.nearest = new AddressTiles(inventory, prepared.geometry, this.options.radiusKm).nearest;
    const n = complaints.length;
    this.listed = new Int32Array(n + 1);
    let explained = 0;
    for (let i = 0; i < n; i++) {
      this.listed[i + 1] = this.listed[i]! + ((plan.status[i] as Status) <= Status.Explained ? plan.count[i]! : 0);
      if (plan.status[i] === Status.Explained) explained++;
    }
    this.explainedCount = explained;
    this.listedWindow = new Int32Array(this.listed[n]!);
    let k = 0;
    for (const r of ranges) {
      this.listedWindow.set(r, k);
      k += r.length;
    }
    if (k !== this.listed[n])
      throw new Error(`bulk match: ${k} windows listed by the ranges, ${this.listed[n]} counted`);
  }

  get size(): number {
    return this.complaints.length;
  }

  explained(i: number): boolean {
    return this.status[i] === Status.Explained;
  }

  outcome(i: number): ComplaintOutcome {
    const c = this.complaints[i]!;
    switch (this.status[i] as Status) {
      case Status.Duplicate:
        return { id: c.id, status: 'duplicate' };
      case Status.Ignored:
        return { id: c.id, status: 'ignored', reason: 'not-network' };
      case Status.Rejected:
        return this.rejected.get(i)!;
      default:
        return { id: c.id, status: 'added', correlation: this.correlation(i) };
    }
  }

  private correlation(i: number): ComplaintCorrelation {
    const from = this.listed[i]!;
    const to = this.listed[i + 1]!;
    if (from === to) return { explained: false, score: 0, windows: [] };
    const c = this.complaints[i]!;
    const { radiusKm, formatTime } = this.options;
    const place = locate(c, this.inventory, radiusKm, this.nearest) as Located;
    const windows: ComplaintMatch[] = [];
    for (let k = from; k < to; k++) {
      const wi = this.listedWindow[k]!;
      const w = this.windows[wi]!;
      const where = spatialWeight(place, w.cell, this.inventory, radiusKm)!;
      const span = (this.spans[wi] ??= windowSpan(w, formatTime));
      const reason = reasonFor(c, w, where, place.ownId, span);
      // The score again from the definition: the same number the match ranked by (a property test
      // holds the two paths to it), and a million of them need not be kept.
      windows.push({ window: w.id, cell: w.cell, score: scorePair(c, w, where).score, reason });
    }
    const score = windows[0]!.score;
    return { explained: score >= this.options.explainAt, score, windows };
  }
}

/**
 * Correlates every complaint with the windows, in this thread: outcome i is what
 * `ComplaintCorrelator.addComplaints` gives complaint i after `addWindows(windows)`.
 */
export function matchInBulk(
  inventory: Inventory,
  windows: readonly Window[],
  complaints: readonly Complaint[],
  options: Partial<CorrelatorOptions> = {},
): BulkCorrelations {
  const prepared = prepareBulk(inventory, windows, complaints, options);
  // By ranges, as threads take them (this one takes all, in order): the scratch for listed windows
  // stays a range's size (grown to a million complaints' size, its old buffers set off full collections).
  const taken = scanTakenRanges(new BulkScanner(inventory, prepared.plan), complaints.length, new Int32Array(1));
  const ranges = taken.map((x) => x.listed);
  return new BulkCorrelations(complaints, prepared, ranges, inventory, options);
}

/**
 * Records by id: an open-addressed table of indices keyed by an FNV-1a hash of the id (a Set or Map
 * of a million strings cost twice as much, and its garbage more). Each slot keeps the hash beside the
 * index, in one cache line: a probe past another id compares numbers, not that record's id (a record
 * read anywhere in the heap was a cache miss, ~15 % of reading the complaints).
 */
class IdTable {
  /** Slot k: [2k] the record's index + 1 (0: empty), [2k + 1] its id's hash. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private hash = 0;

  constructor(private readonly records: readonly { id: string }[]) {
    let size = 16;
    while (size < records.length * 2) size *= 2;
    this.slots = new Int32Array(2 * size);
    this.mask = size - 1;
  }

  /** The slot holding `id`, or the empty one where it would go (put() there). */
  slot(id: string): number {
    let h = 0x811c9dc5;
    for (let k = 0; k < id.length; k++) h = Math.imul(h ^ id.charCodeAt(k), 0x01000193);
    this.hash = h;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const j = this.slots[2 * slot]!;
      if (j === 0 || (this.slots[2 * slot + 1] === h && this.records[j - 1]!.id === id)) return slot;
    }
  }

  /** The record in a slot, or -1. */
  at(slot: number): number {
    return this.slots[2 * slot]! - 1;
  }

  /** Record i in the slot slot() last returned, for the id it was asked. */
  put(slot: number, i: number): void {
    this.slots[2 * slot] = i + 1;
    this.slots[2 * slot + 1] = this.hash;
  }
}

/**
 * A place with every optional field present (undefined when absent): locate() adds them as they
 * apply, and the weights read them per candidate cell — of a handful of shapes, every read was a
 * polymorphic lookup.
 */
function oneShape(p: Located): Located {
  return { ok: true, point: p.point, pointFrom: p.pointFrom, ownId: p.ownId, own: p.own, nearestKm: p.nearestKm };
}

function grow<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
