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
 * - A complaint is scored in scratch arrays: time factors first as an upper bound (spatial ≤ 1), then
 *   the spatial weight of the window's cell — per named cell from a memo of its candidates (a cell
 *   alone decides them), per address computed once per cell and complaint.
 * - Results are columns too (status, the listed windows, best first). Each window's score and reason
 *   (a sentence for people) are built when an outcome is read, from the same functions the live
 *   correlator uses: a million complaints need not cost millions of strings nobody reads.
 *
 * Duplicates by id, non-network complaints and complaints that cannot be located get the outcome the
 * live correlator gives them; a window id given twice keeps the version the live correlator would
 * (the newest `lastBad`; at a tie, a closed one over an open one, then the later in the list).
 */
import type { Cause, Complaint, ComplaintCorrelation, ComplaintMatch, Inventory, Window } from '../../model/index.js';
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
  type ComplaintPlace,
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
} from './scoring.js';

/** The causes symptomFit knows (the rows of its table), by index. */
const CAUSES = Object.keys(SYMPTOM_FIT) as readonly Cause[];
/** Symptoms in fit-table order; 0 is "none given" (and anything symptomFit does not know: fit 1). */
const SYMPTOMS = [undefined, 'no-signal', 'slow-data', 'call-drop', 'voice-quality', 'other'] as const;
const FIT_COLUMNS = CAUSES.length + 1; // the last column: a cause symptomFit does not know

const RAD = Math.PI / 180;
/** A shade under place.ts's km per degree: the site filter's flat distances err short, so it errs wide. */
const KM_PER_DEG = FLAT_KM_PER_DEG * 0.99;

const enum Status {
  Added,
  /** Added, and its best match reaches explainAt. */
  Explained,
  Duplicate,
  Ignored,
  Rejected,
}

/** The windows as columns: per site, closed windows by start, then the site's open ones. */
class WindowColumns {
  readonly windows: Window[] = [];
  /** Each window's start: what the scan binary-searches. */
  readonly start: Float64Array;
  /**
   * What scoring a pair reads, side by side (one or two cache lines per window, not one per column):
   * per window, `score` holds start, end, severity weight and cause (index into CAUSES), and
   * `place` its cell (index, -1 when the inventory does not know it) and the cell's slot in its site.
   */
  readonly score: Float64Array;
  readonly place: Int32Array;
  /** Site s's closed windows are [closed[s], open[s]); its open ones [open[s], closed[s + 1]). */
  readonly closed: Int32Array;
  readonly open: Int32Array;
  readonly maxSpan: Float64Array;
  /** Windows on cells the inventory does not know, per cell id. */
  readonly unknownCell = new Map<string, number[]>();

  constructor(
    ws: readonly Window[],
    cellIndex: ReadonlyMap<string, number>,
    cellSite: Int32Array,
    cellSlot: Int32Array,
    nSites: number,
  ) {
    // As addWindows: each window an 'opened' or 'closed' event at its lastBad; the newest event wins
    // (a tie: closed over opened, then the later in the list). Typed arrays, not a Map and objects:
    // what this builds and drops would otherwise push a heap holding a million complaints into a
    // full collection.
    const isOpen = (w: Window) => w.end === undefined || w.end === null;
    const at = (w: Window) => (Number.isFinite(w.lastBad) ? w.lastBad : -Infinity);
    const ids = new IdTable(ws);
    const keep = new Uint8Array(ws.length);
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      const slot = ids.slot(w.id);
      const j = ids.at(slot);
      if (j >= 0) {
        const o = ws[j]!;
        if (at(w) < at(o) || (at(w) === at(o) && Number(!isOpen(w)) < Number(!isOpen(o)))) continue;
        keep[j] = 0;
      }
      ids.put(slot, i);
      keep[i] = 1;
    }
    // By site (unknown cells after the last), closed before open, then start: counted into place.
    const cellOf = new Int32Array(ws.length);
    const siteOf = new Int32Array(ws.length);
    const first = new Int32Array(nSites + 2);
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
    this.start = new Float64Array(n);
    this.score = new Float64Array(4 * n);
    this.place = new Int32Array(2 * n);
    // Site s's windows are [first[s], first[s + 1]); open[s] counts its closed ones, then offsets them.
    this.closed = first;
    this.open = new Int32Array(nSites + 1);
    this.maxSpan = new Float64Array(nSites + 1);
    for (let i = 0; i < n; i++) {
      const w = ws[order[i]!]!;
      const c = cellOf[order[i]!]!;
      const site = siteOf[order[i]!]!;
      this.windows.push(w);
      if (!isOpen(w)) this.open[site]!++;
      this.start[i] = w.start;
      this.score[4 * i] = w.start;
      this.score[4 * i + 1] = isOpen(w) ? Infinity : w.end!;
      this.score[4 * i + 2] = severityWeight(w.severity);
      const k = CAUSES.indexOf(feltCause(w));
      this.score[4 * i + 3] = k < 0 ? CAUSES.length : k;
      this.place[2 * i] = c;
      this.place[2 * i + 1] = c < 0 ? -1 : cellSlot[c]!;
      if (c < 0) {
        let l = this.unknownCell.get(w.cell);
        if (!l) this.unknownCell.set(w.cell, (l = []));
        l.push(i);
      } else if (!isOpen(w)) this.maxSpan[site] = Math.max(this.maxSpan[site]!, w.end! - w.start);
    }
    for (let s = 0; s <= nSites; s++) this.open[s]! += first[s]!;
  }
}

/** A named cell's candidates (its own cell, its neighbours, the cells within the radius): the same for every complaint naming it alone. */
interface CellCandidates {
  sites: Int32Array;
  /** The weight of each cell of sites[k] at weights[offsets[k] + its position in the site] (0: no candidate). */
  offsets: Int32Array;
  weights: Float64Array;
}

interface AddressTile {
  sites: Int32Array;
  masts: GeoPoint[];
}

/** The outcome of every complaint, as columns; `outcome(i)` builds the i-th one as the live correlator gives it. */
export class BulkCorrelations {
  /** Network complaints explained by a window. */
  readonly explainedCount: number;
  /** "19:05–21:40" per window, built when a reason first needs it. */
  private readonly spans: (string | undefined)[] = [];

  constructor(
    private readonly complaints: readonly Complaint[],
    private readonly table: WindowColumns,
    private readonly status: Uint8Array,
    private readonly listed: Int32Array,
    private readonly listedWindow: Int32Column,
    private readonly rejected: ReadonlyMap<number, Extract<ComplaintOutcome, { status: 'rejected' }>>,
    private readonly inventory: Inventory,
    private readonly options: CorrelatorOptions,
    private readonly nearest: (p: GeoPoint) => number | undefined,
  ) {
    let n = 0;
    for (let i = 0; i < complaints.length; i++) if (status[i] === Status.Explained) n++;
    this.explainedCount = n;
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
      const wi = this.listedWindow.get(k);
      const w = this.table.windows[wi]!;
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
 * Correlates every complaint with the windows: outcome i is what `ComplaintCorrelator.addComplaints`
 * gives complaint i after `addWindows(windows)`.
 */
export function matchInBulk(
  inventory: Inventory,
  windows: readonly Window[],
  complaints: readonly Complaint[],
  options: Partial<CorrelatorOptions> = {},
): BulkCorrelations {
  const o: CorrelatorOptions = { ...DEFAULT_CORRELATOR_OPTIONS, ...options };
  const { radiusKm, minScore, maxMatches } = o;
  const cells = inventory.cells;
  const cellIndex = new Map<string, number>();
  cells.forEach((c, i) => cellIndex.set(c.id, i));
  const siteIndex = new Map<string, number>();
  inventory.sites.forEach((s, i) => siteIndex.set(s, i));
  const cellSite = new Int32Array(cells.length);
  /** A cell's position among its site's cells, and each site's number of cells. */
  const cellSlot = new Int32Array(cells.length);
  const siteSize = new Int32Array(inventory.sites.length);
  cells.forEach((c, i) => {
    const site = siteIndex.get(c.site)!;
    cellSite[i] = site;
    cellSlot[i] = siteSize[site]!++;
  });
  const nSites = inventory.sites.length;
  // Each site's point (its first cell's) and how far its farthest cell stands from it.
  const siteLat = new Float64Array(nSites);
  const siteLon = new Float64Array(nSites);
  const siteSpread = new Float64Array(nSites);
  /** The distinct points of each site's cells (a remote radio head stands apart from its mast). */
  const siteMasts: GeoPoint[][] = [];
  inventory.sites.forEach((id, k) => {
    const cs = inventory.cellsOfSite(id);
    const points: GeoPoint[] = [];
    for (const x of cs) if (!points.some((p) => p.lat === x.lat && p.lon === x.lon)) points.push(x);
    siteMasts.push(points);
    siteLat[k] = cs[0]!.lat;
    siteLon[k] = cs[0]!.lon;
    for (const x of cs) siteSpread[k] = Math.max(siteSpread[k]!, haversineKm(cs[0]!.lat, cs[0]!.lon, x.lat, x.lon));
  });
  const table = new WindowColumns(windows, cellIndex, cellSite, cellSlot, nSites);
  const { start, score, place: cellOf, closed, open, maxSpan } = table;
  const ids = table.windows.map((w) => w.id);

  const fitTable = new Float64Array(SYMPTOMS.length * FIT_COLUMNS);
  for (let s = 0; s < SYMPTOMS.length; s++)
    for (let k = 0; k < FIT_COLUMNS; k++)
      fitTable[s * FIT_COLUMNS + k] = symptomFit(SYMPTOMS[s], {
        cause: CAUSES[k] ?? ('?' as Cause),
        evidence: undefined!,
      });

  const tiles = new Map<number, AddressTile>();
  let lastLat = NaN;
  let lastLon = NaN;
  let lastTile: AddressTile | undefined;
  const tileAt = (p: GeoPoint): AddressTile => {
    // locate asks for the nearest mast, then the scan for the sites: the same point twice running.
    if (lastTile && lastLat === p.lat && lastLon === p.lon) return lastTile;
    const t = tileOf(p);
    let tile = tiles.get(t.key);
    if (!tile) {
      const sites = new Set<number>();
      for (const n of inventory.within(t.lat, t.lon, radiusKm + QUERY_MARGIN_KM + TILE_HALF_DIAGONAL_KM))
        sites.add(cellSite[cellIndex.get(n.cell.id)!]!);
      const masts: GeoPoint[] = [];
      for (const site of sites) for (const m of siteMasts[site]!) masts.push(m);
      tile = { sites: Int32Array.from(sites), masts };
      tiles.set(t.key, tile);
    }
    lastLat = p.lat;
    lastLon = p.lon;
    lastTile = tile;
    return tile;
  };
  const nearest = (p: GeoPoint) => nearestAmong(p, tileAt(p).masts, radiusKm);

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

  const n = complaints.length;
  const status = new Uint8Array(n);
  const listed = new Int32Array(n + 1);
  // Grown in blocks, not by doubling: doubled typed arrays leave their old buffers to the collector,
  // and that external memory set off a full collection of the million complaints (~1 s).
  const listedWindow = new Int32Column();
  const rejected = new Map<number, Extract<ComplaintOutcome, { status: 'rejected' }>>();
  const seen = new IdTable(complaints);
  const cellPlace: (ComplaintPlace | undefined)[] = [];

  // Per complaint scratch: a cell's spatial weight (NaN: not worked out yet), sites visited, matches.
  const weightOf = new Float64Array(cells.length).fill(NaN);
  const touched: number[] = [];
  const mast = new MastMeasure();
  const siteStamp = new Int32Array(nSites);
  let stamp = 0;
  let mWin = new Int32Array(64);
  let mScore = new Float64Array(64);
  let m = 0;

  let c!: Complaint;
  let place!: Located;
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
    const time = timeWeightAt(issue, tau, c.receivedAt, score[4 * i]!, score[4 * i + 1]!);
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

  /** Scores the windows of site s that overlap [from, to]. */
  const scanSite = (s: number): void => {
    if (siteStamp[s] === stamp) return;
    siteStamp[s] = stamp;
    const lo = closed[s]!;
    let hi = open[s]!;
    const openEnd = closed[s + 1]!;
    for (let i = hi; i < openEnd; i++) if (start[i]! <= to) consider(i, spatialOf(i));
    if (lo === hi) return;
    // Just past the last closed window starting at or before `to`; then back while one could reach `from`.
    let a = lo;
    while (a < hi) {
      const mid = (a + hi) >> 1;
      if (start[mid]! <= to) a = mid + 1;
      else hi = mid;
    }
    const stop = from - maxSpan[s]!;
    for (let i = a - 1; i >= lo && start[i]! >= stop; i--) if (score[4 * i + 1]! >= from) consider(i, spatialOf(i));
  };

  for (let i = 0; i < n; i++) {
    // One read of each field into an object of one shape: complaints come in as many shapes as
    // their optional fields combine (a dozen in a typical file), and every later read of a field of
    // such a megamorphic object is a slow lookup (a fifth of the time, measured).
    const given = complaints[i]!;
    c = {
      id: given.id,
      receivedAt: given.receivedAt,
      issueAt: given.issueAt,
      channel: given.channel,
      category: given.category,
      symptom: given.symptom,
      cell: given.cell,
      lat: given.lat,
      lon: given.lon,
    };
    listed[i] = listedWindow.length;
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
    if (!Number.isFinite(c.receivedAt)) {
      status[i] = Status.Rejected;
      rejected.set(i, { id: c.id, status: 'rejected', reason: 'bad-time', field: 'receivedAt', message: 'not a time' });
      continue;
    }
    // A complaint naming a known cell and no address is located by that cell alone: one place per cell.
    const named = (c.lat === undefined || c.lat === null) && (c.lon === undefined || c.lon === null) && c.cell;
    const ownKnown = named ? cellIndex.get(c.cell!) : undefined;
    const located =
      ownKnown === undefined
        ? locate(c, inventory, radiusKm, nearest)
        : (cellPlace[ownKnown] ??= locate(c, inventory, radiusKm, nearest));
    if (!located.ok) {
      status[i] = Status.Rejected;
      const { reason, field, message } = located;
      rejected.set(i, { id: c.id, status: 'rejected', reason, field, message });
      continue;
    }
    seen.put(idSlot, i);
    place = located;
    [from, to] = candidateRange(c, o);
    issue = statedTime(c);
    tau = statedTolerance(c);
    const sym = SYMPTOMS.indexOf(c.symptom);
    fitRow = (sym < 0 ? 0 : sym) * FIT_COLUMNS;
    m = 0;
    stamp++;
    mast.reset();
    const own = place.ownId !== undefined ? cellIndex.get(place.ownId) : undefined;
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
      const tile = tileAt(place.point);
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
        for (const w of table.unknownCell.get(place.ownId) ?? [])
          if (start[w]! <= to && score[4 * w + 1]! >= from) consider(w, 1);
      }
      for (const k of touched) weightOf[k] = NaN;
      touched.length = 0;
    }
    if (m === 0) continue;
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
    if (mScore[0]! >= o.explainAt) status[i] = Status.Explained;
    const take = Math.min(maxMatches, m);
    for (let k = 0; k < take; k++) listedWindow.push(mWin[k]!);
  }
  listed[n] = listedWindow.length;
  return new BulkCorrelations(complaints, table, status, listed, listedWindow, rejected, inventory, o, nearest);
}

/**
 * Records by id: an open-addressed table of indices keyed by an FNV-1a hash of the id (a Set or Map
 * of a million strings cost twice as much, and its garbage more).
 */
class IdTable {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(private readonly records: readonly { id: string }[]) {
    let size = 16;
    while (size < records.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The slot holding `id`, or the empty one where it would go. */
  slot(id: string): number {
    let h = 0x811c9dc5;
    for (let k = 0; k < id.length; k++) h = Math.imul(h ^ id.charCodeAt(k), 0x01000193);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const j = this.slots[slot]!;
      if (j === 0 || this.records[j - 1]!.id === id) return slot;
    }
  }

  /** The record in a slot, or -1. */
  at(slot: number): number {
    return this.slots[slot]! - 1;
  }

  put(slot: number, i: number): void {
    this.slots[slot] = i + 1;
  }
}

/** A growable column of integers in fixed blocks (growing never copies). */
class Int32Column {
  private static readonly BITS = 16;
  private static readonly BLOCK = 1 << Int32Column.BITS;
  private readonly blocks: Int32Array[] = [];
  length = 0;

  push(v: number): void {
    const k = this.length & (Int32Column.BLOCK - 1);
    if (k === 0) this.blocks.push(new Int32Array(Int32Column.BLOCK));
    this.blocks[this.blocks.length - 1]![k] = v;
    this.length++;
  }

  get(i: number): number {
    return this.blocks[i >>> Int32Column.BITS]![i & (Int32Column.BLOCK - 1)]!;
  }
}

function grow<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
