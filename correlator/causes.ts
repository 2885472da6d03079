/**
 * Why a cell is degraded, and what to do about it.
 *
 * The rules:
 * - each bad interval has a local cause (interval.ts); the site's transport links then decide
 *   whether it is **backhaul** instead: a link of the site in trouble (`operUp === false`, or
 *   utilisation ≥ `backhaulUtilPct`) during the interval, and the interval's badness is one a link
 *   explains (users' experience or traffic, not a radio KPI). A cell that is down while its site's
 *   link is down is backhaul too — the fix is transport repair, not a site visit; a cell down beside
 *   a merely busy link is still an outage;
 * - a window's cause is the first cause in the priority order outage → backhaul → coverage →
 *   interference → congestion → silent-failure that explains at least a quarter of its bad intervals
 *   with a known cause (else the most frequent); `unknown` only when none has a cause;
 * - links arrive on their own schedule, so a window's cause is re-judged whenever a link sample for
 *   its site and time arrives (order independence), using the trouble kept per site here.
 */
import type { Cause, EpochMs, LinkSample } from '../model/index.js';

export const CAUSE_PRIORITY: readonly Cause[] = [
  'outage',
  'backhaul',
  'coverage',
  'interference',
  'congestion',
  'silent-failure',
  'unknown',
];
export const CAUSE_INDEX: Record<Cause, number> = Object.fromEntries(CAUSE_PRIORITY.map((c, i) => [c, i])) as Record<
  Cause,
  number
>;

export const REMEDIATION: Record<Cause, string> = {
  outage: 'Site visit: check power, hardware and the alarm log of the cell and its site.',
  backhaul: 'Transport repair: check the site link (errors, saturation, fibre/microwave path) and reroute traffic.',
  coverage:
    'Check antenna and feeder (VSWR), tilt and power; if the area is simply far from the site, consider a new site.',
  interference:
    'Find the interference source: check the PCI plan and neighbours, look for external interferers, adjust downtilt.',
  congestion: 'Balance load to neighbours and other layers (mobility/load-balancing parameters); then add a carrier.',
  'silent-failure':
    'The cell is up but not serving: reset or lock/unlock the cell and check its logs (a sleeping cell).',
  unknown: 'Investigate: no single cause stands out in the KPIs.',
};

/** A stretch in which a link of a site was down or saturated. */
export interface LinkTrouble {
  link: string;
  site: string;
  start: EpochMs;
  end: EpochMs;
  operUp?: boolean;
  utilPct?: number;
}

export function linkUtil(l: LinkSample): number | undefined {
  if (l.utilPct !== undefined) return l.utilPct;
  if (l.speedMbps && (l.inMbps !== undefined || l.outMbps !== undefined))
    return (100 * Math.max(l.inMbps ?? 0, l.outMbps ?? 0)) / l.speedMbps;
  return undefined;
}

/** The trouble a link sample reports, or undefined when the link was fine (or said nothing). */
export function linkTrouble(l: LinkSample, utilThreshold: number, defaultIntervalS: number): LinkTrouble | undefined {
  const util = linkUtil(l);
  const down = l.operUp === false;
  if (!down && !(util !== undefined && util >= utilThreshold)) return undefined;
  const t: LinkTrouble = {
    link: l.link,
    site: l.site,
    start: l.ts - (l.intervalS ?? defaultIntervalS) * 1000,
    end: l.ts,
  };
  if (l.operUp !== undefined) t.operUp = l.operUp;
  if (util !== undefined) t.utilPct = util;
  return t;
}

/** Down beats saturated; between two saturations the busier. */
function worse(a: LinkTrouble | undefined, b: LinkTrouble): LinkTrouble {
  if (!a) return b;
  if ((a.operUp === false) !== (b.operUp === false)) return a.operUp === false ? a : b;
  return (b.utilPct ?? 0) > (a.utilPct ?? 0) ? b : a;
}

/** Link trouble per site, sorted by start, for the cause of windows. */
export class LinkTimeline {
  private readonly sites = new Map<string, LinkTrouble[]>();

  /** Adds a trouble; false when the same link already had one ending at the same time (a duplicate). */
  add(t: LinkTrouble): boolean {
    let list = this.sites.get(t.site);
    if (!list) this.sites.set(t.site, (list = []));
    let i = list.length;
    while (i > 0 && list[i - 1]!.start > t.start) i--;
    for (let j = i - 1; j >= 0 && list[j]!.start === t.start; j--) if (list[j]!.link === t.link) return false;
    list.splice(i, 0, t);
    return true;
  }

  /** The worst trouble of the site overlapping [start, end). */
  at(site: string | undefined, start: EpochMs, end: EpochMs): LinkTrouble | undefined {
    if (site === undefined) return undefined;
    const list = this.sites.get(site);
    if (!list || list.length === 0) return undefined;
    // Troubles last one link interval: those starting more than a day before cannot reach `start`.
    let lo = 0;
    let hi = list.length;
    const from = start - 86_400_000;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.start < from) lo = mid + 1;
      else hi = mid;
    }
    let found: LinkTrouble | undefined;
    for (let i = lo; i < list.length && list[i]!.start < end; i++) {
      const t = list[i]!;
      if (t.end > start) found = worse(found, t);
    }
    return found;
  }

  /** Forget trouble that ended before `t`. */
  prune(t: EpochMs): void {
    for (const [site, list] of this.sites) {
      let k = 0;
      while (k < list.length && list[k]!.end < t) k++;
      if (k === list.length) this.sites.delete(site);
      else if (k > 0) list.splice(0, k);
    }
  }

  all(): LinkTrouble[] {
    return [...this.sites.values()].flat();
  }
}

/** The cause of one bad interval, given its site's link trouble at the time. */
export function intervalCause(
  iv: { localCause: Cause; transport: boolean; available: boolean },
  trouble: LinkTrouble | undefined,
): Cause {
  if (trouble && iv.transport && (iv.available || trouble.operUp === false)) return 'backhaul';
  return iv.localCause;
}

/**
 * A window's cause from its bad intervals' causes (counts indexed by CAUSE_PRIORITY): the first cause
 * in priority order that explains at least `CAUSE_MIN_SHARE` of the intervals with a known cause —
 * first match wins, as for one interval, but a stray minute does not decide an hour — else the most
 * frequent known one; `unknown` only when no interval has a cause (it is the absence of one: ten
 * minutes of outage after twenty of unexplained slowness are an outage, not "unknown").
 */
export function dominantCause(counts: ArrayLike<number>): Cause {
  const unknown = CAUSE_INDEX.unknown;
  let known = 0;
  for (let i = 0; i < CAUSE_PRIORITY.length; i++) if (i !== unknown) known += counts[i]!;
  if (known === 0) return 'unknown';
  for (let i = 0; i < CAUSE_PRIORITY.length; i++)
    if (i !== unknown && counts[i]! > 0 && counts[i]! >= CAUSE_MIN_SHARE * known) return CAUSE_PRIORITY[i]!;
  // Several causes, none with a quarter: the most frequent (ties to the earlier).
  let best = -1;
  for (let i = 0; i < CAUSE_PRIORITY.length; i++)
    if (i !== unknown && counts[i]! > (best < 0 ? 0 : counts[best]!)) best = i;
  return CAUSE_PRIORITY[best]!;
}

/** Share of a window's known-cause bad intervals a cause needs to be the window's cause by priority. */
export const CAUSE_MIN_SHARE = 0.25;
