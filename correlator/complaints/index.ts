/**
 * The complaint core: which degradation windows explain a customer's complaint, where complaints
 * cluster (hot spots, silent degradations), what a care agent may tell the customer, and how complaint
 * handling meets its targets. Everything here is pure: it imports `model/` only, reads no clock and
 * does no I/O — `now`, the inventory, the windows and a time formatter are arguments. The daemon wires
 * intake, storage, the API and the alerts around it.
 *
 * The matching model (each rule is listed again in the header of the file that applies it):
 *
 *   complaint ──locate──> point + own cell ──candidates──> cells with a spatial weight (place.ts)
 *                                                              │
 *   windows overlapping the complaint's time range on those cells ──score──> matches (scoring.ts)
 *
 * - **Where** (place.ts): the complaint's own cell (weight 1), that cell's neighbours, and the cells
 *   within 1.5 km of its address (or of its cell, when no address is given). Other cells weigh a base
 *   for how they relate to the customer (0.9 near an address that is all we know; 0.8 on the named
 *   cell's sector, 0.6 a neighbour, 0.5 merely near a named cell) × a distance factor (1 to 300 m,
 *   ½ at 1 km) × an aim factor (½ for a sector pointing away from the address, when azimuths are known).
 *   An unknown cell without coordinates cannot be located and is rejected with a reason.
 * - **When** (scoring.ts): with the customer's stated time, 1 inside the window widened by how vague
 *   such times are (±15 min × (1 + days late)), then falling off; without it, 1 while the window is
 *   ongoing when the complaint comes in (or ended within the hour), halving for a window that ended a
 *   day earlier (complaint delays are heavy-tailed), and low for one that starts after the complaint.
 * - **How bad, and does it fit**: windows where users had a bad experience (severity ≥ 0.5) weigh
 *   0.75..1, KPI drifts their severity (so they never explain alone); a stated symptom scales by how
 *   well it fits the cause (no signal fits an outage, hardly congestion).
 * - score = where × when × how bad × fit; explained when the best score ≥ 0.5. Every match carries a
 *   sentence: "cell S0012-2 congested 19:05–21:40, 1.2 km from the address, 3 h before the complaint".
 * - **Incremental and order independent** (correlator.ts): complaints and window events arrive in any
 *   order; each (complaint, window) pair is scored by the same pure functions, so the same inputs give
 *   the same correlations, and a window found after a complaint still explains it.
 * - **Hot spots** (hotspots.ts): three network complaints anchored on one site within 72 h; silent
 *   while fewer than half of them are explained; closed after 72 h without a new one. Evaluated when
 *   drained (`hotspotEvents()`, `finalize(now)`), so a burst of complaints is one evaluation.
 * - **Customer-safe words** (outage-context.ts): the agent's lookup and proactive notices speak of
 *   problems in plain words, with times and dates as the only figures.
 * - **Handling targets** (handling.ts): first response within 72 h, 90% resolved, 85% satisfied.
 *
 * docs/complaints.md describes the model, the scores and the texts for agents and integrators.
 */
export {
  ComplaintCorrelator,
  DEFAULT_CLUSTER_KM,
  DEFAULT_CORRELATOR_OPTIONS,
  siteNeighbourhood,
  type ComplaintOutcome,
  type CorrelationChange,
  type CorrelatorOptions,
  type FinalCorrelation,
} from './correlator.js';
export {
  BULK_RANGE,
  BulkCorrelations,
  BulkScanner,
  matchInBulk,
  planBulk,
  prepareBulk,
  readComplaints,
  scanTakenRanges,
  type BulkOptions,
  type BulkPlan,
  type PreparedBulk,
} from './bulk.js';
export {
  DEFAULT_MATCH_OPTIONS,
  SYMPTOM_FIT,
  candidateRange,
  reasonFor,
  scorePair,
  severityWeight,
  statedTolerance,
  symptomFit,
  timeWeight,
  utcClock,
  type MatchOptions,
  type PairScore,
} from './scoring.js';
export {
  DEFAULT_RADIUS_KM,
  aimFactor,
  candidateCells,
  distanceFactor,
  haversineKm,
  nearestAmong,
  locate,
  spatialWeight,
  type Candidate,
  type ComplaintPlace,
  type GeoPoint,
  type Relation,
} from './place.js';
export {
  DEFAULT_HOTSPOT_OPTIONS,
  HotspotBook,
  hotspotId,
  type Hotspot,
  type HotspotChange,
  type HotspotEntry,
  type HotspotEvent,
  type HotspotKind,
  type HotspotOptions,
} from './hotspots.js';
export {
  AREA_WEIGHT,
  contextFor,
  contextSummary,
  intlTimeWords,
  momentWords,
  noticeFor,
  notices,
  spanWordsFor,
  type ContextOptions,
  type ContextQuery,
  type ContextWindow,
  type Notice,
  type NoticeOptions,
  type OutageContext,
  type TimeWords,
  type WindowStatus,
} from './outage-context.js';
export {
  DEFAULT_HANDLING_TARGETS,
  firstResponseVerdict,
  handlingStats,
  latestFeedback,
  resolutionVerdict,
  slaAtRisk,
  type HandledComplaint,
  type HandlingEvent,
  type HandlingFigures,
  type HandlingGroupBy,
  type HandlingMetric,
  type HandlingOptions,
  type HandlingStats,
  type Rate,
  type SlaRisk,
  type WeakGroup,
} from './handling.js';
