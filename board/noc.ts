/**
 * The NOC board: the network against its 95 % target (today and 14 days), the live alert list with
 * incidents grouped, ack and silence, filters; the map of cells by state with hot spots; collection
 * health. Renders are driven by the App's change notifications (at most one per animation frame);
 * alert rows are kept by key and rebuilt only when what they show changed.
 */
import { ApiError, get } from './api.js';
import type { App } from './app.js';
import { actionDialog } from './dialogs.js';
import { CAUSE_COLOUR, CAUSE_WORDS, byId, compactTable, h, reconcile, severityBadge, svg, swatch } from './dom.js';
import {
  SEVERITIES,
  alertRows,
  alertScopeId,
  cellState,
  dayBefore,
  duration,
  fitProjection,
  headlineResult,
  localDateTime,
  localTime,
  pct,
  probeSummary,
  silenceMatchers,
  targetAlertKey,
  usersAffected,
  type AlertFilter,
  type AlertRow,
  type AlertView,
  type CellState,
  type CellView,
  type Projection,
  type Severity,
  type TargetView,
  TARGET_STATUS_WORDS,
} from './model.js';

interface CollectionTarget {
  target: string;
  site?: string;
  state: string;
  lastSuccess?: number;
  lastError?: string;
}

export interface NocRoute {
  region?: string;
  site?: string;
  /** A collection target to point at (`#/collection/<target>`). */
  target?: string;
}

const RENDER_EVERY_MS = 250;
const MAP_EVERY_MS = 1000;
const REBUILD_BUDGET = 40;
const ROW_PAGE = 150;

export class NocPage {
  private readonly filter: AlertFilter = {};
  private readonly expanded = new Set<string>();
  private readonly rowCache = new Map<string, { sig: string; rows: HTMLTableRowElement[] }>();
  private unsubscribe?: () => void;
  private timers: number[] = [];
  private drawnAlerts = -1;
  private lastRender = 0;
  private pendingRender: number | undefined;
  /** Rows drawn: the most severe first; the rest behind a button (a wall of 500 rows helps no one). */
  private shown = ROW_PAGE;
  private drawnMap = '';
  private usable = false;
  private mapPoints: { id: string; x: number; y: number; state: CellState }[] = [];
  private collection: CollectionTarget[] = [];
  private el!: {
    overview: HTMLElement;
    alerts: HTMLTableSectionElement;
    alertCount: HTMLElement;
    canvas: HTMLCanvasElement;
    legend: HTMLElement;
    attention: HTMLElement;
    collection: HTMLElement;
    tooltip: HTMLElement;
  };

  constructor(private readonly app: App) {}

  mount(root: HTMLElement, route: NocRoute): void {
    this.filter.region = route.region;
    this.filter.site = route.site;
    root.replaceChildren(this.layout(route));
    this.unsubscribe = this.app.subscribe(() => this.render());
    const every = (ms: number, f: () => Promise<void>) => {
      void f();
      this.timers.push(window.setInterval(() => void f(), ms));
    };
    // Hot spots, complaint counts, collection health and the targets (the daemon's costliest read)
    // wait until the alerts and the map are on screen: on one daemon thread they would delay them.
    this.afterUsable.push(() => every(15_000, () => this.poll()));
    this.afterUsable.push(() => every(60_000, () => this.loadOverview()));
    this.timers.push(window.setInterval(() => this.render(true), 30_000));
    // The map's width comes from here, never read back from the DOM inside a render (a forced layout).
    const resize = new ResizeObserver((entries) => {
      this.mapWidth = Math.round(entries[0]?.contentRect.width ?? this.mapWidth);
      this.render(true);
    });
    resize.observe(this.el.canvas.parentElement!);
    this.cleanup.push(() => resize.disconnect());
  }

  private readonly cleanup: (() => void)[] = [];
  private readonly afterUsable: (() => void)[] = [];
  private mapWidth = 0;
  private lastMap = 0;
  private geometry?: {
    key: string;
    cells: (CellView & { lat: number; lon: number })[];
    proj: Projection;
    at: Map<string, { id: string; x: number; y: number }>;
  };
  private palette?: CSSStyleDeclaration;

  /** A colour of the stylesheet, read once: getComputedStyle after DOM changes forces a style pass. */
  private colours(name: string): string {
    this.palette ??= getComputedStyle(document.body);
    return this.palette.getPropertyValue(name).trim();
  }

  unmount(): void {
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    for (const f of this.cleanup) f();
    clearTimeout(this.pendingRender);
    this.timers = [];
  }

  private async poll(): Promise<void> {
    await Promise.all([
      this.app.cellsAge() > 5_000 ? this.app.loadCells() : undefined,
      this.app.loadHotspots(),
      this.app.loadComplaintCounts(),
      get<{ targets: CollectionTarget[] }>('collection').then((b) => (this.collection = b.targets)),
    ]).catch((err: unknown) => this.problem(err));
    this.render(true);
  }

  private problem(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) return;
    byId('problem').textContent = `cannot load: ${(err as Error).message}`;
  }

  // ---- layout ------------------------------------------------------------------------------------

  private layout(route: NocRoute): HTMLElement {
    const select = (label: string, id: string, options: [string, string][], value: string | undefined) =>
      h(
        'label',
        {},
        label,
        ' ',
        h(
          'select',
          {
            id,
            onchange: (e: Event) => {
              const v = (e.target as HTMLSelectElement).value || undefined;
              if (id === 'f-region') this.filter.region = v;
              if (id === 'f-severity') this.filter.minSeverity = v as Severity | undefined;
              if (id === 'f-kind') this.filter.kind = v;
              this.render(true);
            },
          },
          options.map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)),
        ),
      );
    const regions = [...new Set([...this.app.cells.values()].map((c) => c.region).filter((r): r is string => !!r))];
    const kinds = [
      'cell_degraded',
      'site_outage',
      'backhaul_down',
      'target_at_risk',
      'complaint_hotspot',
      'silent_degradation',
      'complaint_sla_risk',
      'collection_gap',
      'store_backlog',
    ];
    this.el = {
      overview: h('div', { class: 'overview', id: 'overview', 'aria-live': 'polite' }, 'loading the targets…'),
      alerts: h('tbody', { id: 'alert-rows', role: 'rowgroup' }),
      alertCount: h('span', { id: 'alert-count' }),
      canvas: h('canvas', { id: 'map', role: 'img', 'aria-label': 'map of cells', tabindex: '0' }),
      legend: h('ul', { class: 'legend', id: 'map-legend' }),
      attention: h('div', { id: 'attention' }),
      collection: h('div', { id: 'collection' }),
      tooltip: h('div', { class: 'tooltip', role: 'status', hidden: true }),
    };
    this.bindMap();
    const scopeNote = route.site
      ? h('p', { class: 'scope-note' }, `Showing site ${route.site} only. `, h('a', { href: '#/' }, 'Show everything'))
      : route.target
        ? h('p', { class: 'scope-note' }, `Collection target ${route.target}: see collection health below.`)
        : null;
    return h(
      'div',
      { class: 'noc' },
      h('section', { class: 'panel overview-panel', 'aria-labelledby': 'h-overview' }, [
        h('h2', { id: 'h-overview' }, 'Good experience at peak hours, today and the last 14 days'),
        this.el.overview,
      ]),
      h('section', { class: 'panel alerts-panel', 'aria-labelledby': 'h-alerts' }, [
        h('h2', { id: 'h-alerts' }, 'Alerts ', this.el.alertCount),
        scopeNote,
        h(
          'div',
          { class: 'filters', role: 'group', 'aria-label': 'alert filters' },
          select(
            'Region',
            'f-region',
            [['', 'all'], ...regions.sort().map((r): [string, string] => [r, r])],
            route.region,
          ),
          select(
            'Severity',
            'f-severity',
            [['', 'all'], ...SEVERITIES.map((s): [string, string] => [s, `${s} and above`])],
            undefined,
          ),
          select(
            'Kind',
            'f-kind',
            [['', 'all'], ...kinds.map((k): [string, string] => [k, k.replace(/_/g, ' ')])],
            undefined,
          ),
        ),
        h(
          'table',
          { class: 'alerts', role: 'table', 'aria-label': 'live alerts' },
          h('caption', { class: 'sr-only' }, 'Live alerts, most severe first'),
          h(
            'thead',
            { role: 'rowgroup' },
            h(
              'tr',
              { role: 'row' },
              ['', 'Severity', 'What', 'Where', 'Since', 'Users', 'Cause and what to do', 'Complaints', 'State'].map(
                (t) => h('th', { scope: 'col', role: 'columnheader' }, t),
              ),
            ),
          ),
          this.el.alerts,
        ),
      ]),
      h('section', { class: 'panel map-panel', 'aria-labelledby': 'h-map' }, [
        h('h2', { id: 'h-map' }, 'Cells'),
        h('div', { class: 'map-box' }, this.el.canvas, this.el.tooltip),
        this.el.legend,
        h('details', { class: 'attention' }, h('summary', {}, 'Cells that are not good (list)'), this.el.attention),
      ]),
      h('section', { class: 'panel collection-panel', 'aria-labelledby': 'h-collection' }, [
        h('h2', { id: 'h-collection' }, 'Collection health'),
        this.el.collection,
      ]),
    );
  }

  // ---- overview ----------------------------------------------------------------------------------

  private async loadOverview(): Promise<void> {
    try {
      const today = localDateTime(this.app.now(), this.app.tz).slice(0, 10);
      const from = dayBefore(today, 13);
      const [network, regions] = await Promise.all([
        get<{ results: TargetView[] }>('targets', { scope: 'network', from, to: today }),
        get<{ results: TargetView[] }>('targets', { scope: 'region', from, to: today }),
      ]);
      const byId = new Map<string, TargetView[]>();
      for (const r of [...network.results, ...regions.results]) {
        let list = byId.get(r.id);
        if (!list) byId.set(r.id, (list = []));
        list.push(r);
      }
      const ids = ['network', ...[...byId.keys()].filter((k) => k !== 'network').sort()];
      this.el.overview.replaceChildren(
        ...ids.map((id) => this.targetCard(id, byId.get(id) ?? [], today, from)),
        h(
          'p',
          { class: 'note' },
          `Share of users with a good experience at peak hours (goal ${pct(this.app.session.display.goal, 0)}), ` +
            'with the share of peak time covered by data and the 95 % confidence interval; below it the share of ' +
            'probe tests that passed over the same hours. ⚠ marks counters that meet the goal while probes miss it.',
        ),
      );
      // Read after the last target alert seen (tests wait for this before a screenshot).
      if (this.overviewSoon === undefined) this.el.overview.dataset.fresh = 'true';
    } catch (err) {
      this.problem(err);
    }
  }

  private targetCard(id: string, results: TargetView[], today: string, from: string): HTMLElement {
    const { result: now, label } = headlineResult(results, today);
    const goal = now?.goal ?? this.app.session.display.goal;
    const status = now?.status ?? 'insufficient-data';
    const title = id === 'network' ? 'Network' : `Region ${id}`;
    const probes = probeSummary(now);
    return h(
      'article',
      {
        class: `target target-${status}${probes.disagreement ? ' target-disagreement' : ''}`,
        'data-scope': id,
        'data-day': now?.day ?? today,
        'data-probes': probes.status,
        ...(probes.disagreement ? { 'data-disagreement': 'true' } : {}),
      },
      h(
        'h3',
        {},
        id === 'network'
          ? title
          : h('a', { href: `#/region/${encodeURIComponent(id)}`, title: `Filter the board to ${title}` }, title),
        label === 'today' ? '' : h('span', { class: 'day' }, ` · ${label}`),
      ),
      h('p', { class: 'ratio', title: 'counters: users with a good experience' }, pct(now?.ratio ?? null)),
      h('p', { class: 'status' }, TARGET_STATUS_WORDS[status], ` · goal ${pct(goal, 0)}`),
      h(
        'p',
        { class: 'detail' },
        `coverage ${pct(now?.coverage ?? null, 0)}`,
        h('br'),
        now?.interval ? `95 % CI ${pct(now.interval[0])}–${pct(now.interval[1])}` : 'CI –',
        h('br'),
        `${Math.round(now?.users ?? 0).toLocaleString()} users`,
      ),
      h(
        'p',
        {
          class: `probes probes-${probes.status}`,
          title: 'Share of probe tests with a good result over the same peak hours (each test counts once)',
        },
        probes.text,
        probes.verdict ? ' ' : '',
        probes.verdict ? h('span', { class: 'verdict' }, probes.verdict) : '',
      ),
      probes.disagreement
        ? h(
            'p',
            { class: 'disagreement', role: 'note' },
            h('span', { 'aria-hidden': 'true' }, '⚠ '),
            'Disagreement: counters meet the goal, probes miss it',
          )
        : '',
      label === 'today' ? '' : h('p', { class: 'detail today' }, `today: ${this.todayWords(results, today)}`),
      this.sparkline(results, goal, today, from, title),
    );
  }

  /** Today's state in a few words, when the card leads with an earlier day. */
  private todayWords(results: readonly TargetView[], today: string): string {
    const r = results.find((x) => x.day === today);
    if (r && r.coverage > 0) return `${pct(r.coverage, 0)} of the peak covered so far`;
    const peak = this.app.session.display.peak;
    const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    return peak === 'busy-hour'
      ? 'no busy-hour data yet'
      : `no peak data yet (${hhmm(peak.fromMinute)}–${hhmm(peak.toMinute)})`;
  }

  /** 14 days as bars against the goal line; each bar says its day and figure to a screen reader. */
  private sparkline(results: TargetView[], goal: number, today: string, from: string, title: string): Element {
    const W = 168;
    const H = 44;
    const days: string[] = [];
    for (let d = 13; d >= 0; d--) days.push(dayBefore(today, d));
    const byDay = new Map(results.map((r) => [r.day, r]));
    const lo = 0.8;
    const y = (v: number) => H - ((Math.max(lo, Math.min(1, v)) - lo) / (1 - lo)) * H;
    const bw = W / days.length;
    const bars = days.map((d, i) => {
      const r = byDay.get(d);
      const v = r?.ratio;
      const label = `${d}: ${v === null || v === undefined ? 'no data' : pct(v)}${r ? ` (${r.status})` : ''}`;
      const top = v === null || v === undefined ? H - 2 : y(v);
      return svg(
        'rect',
        {
          x: (i * bw + 1).toFixed(1),
          y: top.toFixed(1),
          width: (bw - 2).toFixed(1),
          height: Math.max(2, H - top).toFixed(1),
          class: `bar bar-${r?.status ?? 'none'}`,
        },
        svg('title', {}, document.createTextNode(label)),
      );
    });
    const line = svg('line', { x1: 0, x2: W, y1: y(goal).toFixed(1), y2: y(goal).toFixed(1), class: 'goal' });
    return svg(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}, ${from} to ${today}` },
      ...bars,
      line,
    );
  }

  // ---- alerts ------------------------------------------------------------------------------------

  /**
   * Renders at most every RENDER_EVERY_MS: the stream already hands events over once per frame, but a
   * burst spread over a second would still cost a render per frame; the trailing render catches up.
   */
  private render(force = false): void {
    const wait = this.lastRender + RENDER_EVERY_MS - performance.now();
    if (!force && this.usable && wait > 0) {
      this.pendingRender ??= window.setTimeout(() => {
        this.pendingRender = undefined;
        this.render();
      }, wait);
      return;
    }
    this.lastRender = performance.now();
    const app = this.app;
    if (force || this.drawnAlerts !== app.alerts.version) {
      this.drawnAlerts = app.alerts.version;
      this.renderAlerts();
      this.refreshTargetsOnAlerts();
    }
    const mapKey = `${app.windows.version}:${app.cellsVersion}:${app.hotspots.length}:${this.mapWidth}`;
    // The map redraws at most once a second in a burst (the list is what people read first).
    const mapWait = this.lastMap + MAP_EVERY_MS - performance.now();
    if (this.mapWidth > 0 && mapKey !== this.drawnMap && !force && this.usable && mapWait > 0)
      this.pendingRender ??= window.setTimeout(() => {
        this.pendingRender = undefined;
        this.render();
      }, mapWait);
    else if (this.mapWidth > 0 && (force || mapKey !== this.drawnMap)) {
      this.lastMap = performance.now();
      this.drawnMap = mapKey;
      this.renderMap();
    }
    if (force) this.renderCollection();
    // Usable: the alert rows from the snapshot and the map are drawn. Marked after the next paint
    // (a frame, then a task), which is when a person sees them; the benchmark reads the mark.
    if (!this.usable && app.cells.size > 0 && this.drawnMap !== '' && app.alerts.version > 0) {
      this.usable = true;
      requestAnimationFrame(() =>
        setTimeout(() => {
          performance.mark('cellwatch:usable');
          document.body.dataset.usable = 'true';
          for (const f of this.afterUsable.splice(0)) f();
        }),
      );
    }
  }

  /**
   * The targets change when a target alert fires, resolves or is updated: the cards are read again
   * then (a second later, once for a burst), not only every minute — an accelerated demo moves hours
   * in that minute, and cards that contradict the alert list beside them mislead.
   */
  private refreshTargetsOnAlerts(): void {
    const key = targetAlertKey(this.app.alerts.all());
    if (key === this.targetAlerts) return;
    const first = this.targetAlerts === undefined;
    this.targetAlerts = key;
    if (first || !this.usable || this.overviewSoon !== undefined) return;
    this.el.overview.dataset.fresh = 'false';
    this.overviewSoon = window.setTimeout(() => {
      this.overviewSoon = undefined;
      void this.loadOverview();
    }, 1000);
    this.timers.push(this.overviewSoon);
  }

  private targetAlerts?: string;
  private overviewSoon?: number;

  private renderAlerts(): void {
    const rows = alertRows(this.app.alerts.all(), this.filter);
    const out: HTMLTableRowElement[] = [];
    const keep = new Set<string>();
    // A burst that changes every row is applied a slice per render, most severe first: each render
    // stays short and the list catches up within a few hundred milliseconds.
    let budget = this.usable ? REBUILD_BUDGET : Infinity;
    let behind = false;
    for (const row of rows.slice(0, this.shown)) {
      keep.add(row.key);
      const open = this.expanded.has(row.key);
      const sig = this.signature(row, open);
      let cached = this.rowCache.get(row.key);
      if (!cached || cached.sig !== sig) {
        if (budget <= 0) {
          behind = true;
          if (cached) out.push(...cached.rows);
          continue;
        }
        budget--;
        cached = { sig, rows: this.rowElements(row, open) };
        this.rowCache.set(row.key, cached);
      }
      out.push(...cached.rows);
    }
    if (behind) {
      this.drawnAlerts = -1;
      this.pendingRender ??= window.setTimeout(() => {
        this.pendingRender = undefined;
        this.render();
      }, RENDER_EVERY_MS);
    }
    for (const k of this.rowCache.keys()) if (!keep.has(k)) this.rowCache.delete(k);
    if (out.length === 0)
      out.push(
        h('tr', { role: 'row' }, h('td', { role: 'cell', class: 'empty' }, 'No active alerts match these filters.')),
      );
    const hidden = rows.length - Math.min(rows.length, this.shown);
    if (hidden > 0)
      out.push(
        h(
          'tr',
          { class: 'more', role: 'row' },
          h(
            'td',
            { role: 'cell' },
            h(
              'button',
              {
                onclick: () => {
                  this.shown += ROW_PAGE;
                  this.render(true);
                },
              },
              `Show ${Math.min(hidden, ROW_PAGE)} more (${hidden} less severe or older not shown)`,
            ),
          ),
        ),
      );
    reconcile(this.el.alerts, out);
    const total = this.app.alerts.size;
    this.el.alertCount.textContent = `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'}, ${total} active)`;
  }

  private signature(row: AlertRow, open: boolean): string {
    const parts: (string | number | boolean)[] = [
      open,
      row.severity,
      Math.floor((this.app.now() - row.startsAt) / 60_000),
    ];
    for (const a of row.head ? [row.head, ...row.members] : row.members)
      parts.push(
        a.id,
        a.state,
        a.severity,
        a.ackedBy ?? '',
        (a.silencedBy ?? []).join(),
        a.inhibitedBy ?? '',
        a.updatedAt ?? 0,
      );
    parts.push(this.complaintsFor(row));
    return parts.join('|');
  }

  private complaintsFor(row: AlertRow): number {
    let n = 0;
    const seen = new Set<string>();
    for (const a of row.head ? [row.head, ...row.members] : row.members) {
      const own = Number(a.annotations.complaints);
      if (Number.isFinite(own) && (a.kind.startsWith('complaint') || a.kind === 'silent_degradation')) n += own;
      for (const cell of this.cellsOf(a)) {
        if (seen.has(cell)) continue;
        seen.add(cell);
        n += this.app.complaintsByCell.get(cell) ?? 0;
      }
    }
    return n;
  }

  private cellsOf(a: AlertView): string[] {
    const cell = a.labels.cell ?? a.cell;
    if (cell) return [cell];
    if (a.kind === 'site_outage' || a.kind === 'backhaul_down') {
      const site = a.labels.site ?? a.site;
      return [...this.app.cells.values()].filter((c) => c.site === site).map((c) => c.id);
    }
    return [];
  }

  private rowElements(row: AlertRow, open: boolean): HTMLTableRowElement[] {
    const main = row.head ?? row.members[0]!;
    const tr = this.alertRow(main, row, open);
    if (!row.incident || !open) return [tr];
    return [tr, ...row.members.map((a) => this.alertRow(a, undefined, false))];
  }

  private alertRow(a: AlertView, group: AlertRow | undefined, open: boolean): HTMLTableRowElement {
    const tz = this.app.tz;
    const since = Math.min(a.startsAt, group?.startsAt ?? Infinity);
    const incident = group?.incident;
    const expander = incident
      ? h(
          'button',
          {
            class: 'expand',
            'aria-expanded': open ? 'true' : 'false',
            'aria-label': `${open ? 'Hide' : 'Show'} the ${group.members.length} cell alerts of incident ${incident}`,
            onclick: () => {
              if (open) this.expanded.delete(group.key);
              else this.expanded.add(group.key);
              this.render(true);
            },
          },
          open ? '▾' : '▸',
          ` ${group.members.length}`,
        )
      : '';
    const what = incident && !group.head ? `incident on site ${incident}` : a.kind.replace(/_/g, ' ');
    const scope = alertScopeId(a);
    const cell = a.labels.cell ?? a.cell;
    const where = cell
      ? h('a', { href: `#/cell/${encodeURIComponent(cell)}` }, cell)
      : (a.labels.site ?? a.site)
        ? h('a', { href: `#/site/${encodeURIComponent(a.labels.site ?? a.site!)}` }, `site ${a.labels.site ?? a.site}`)
        : scope;
    const users = group
      ? usersAffected(group)
      : usersAffected({ key: a.id, members: [a], severity: a.severity, startsAt: a.startsAt });
    const cause = a.labels.cause;
    const states: string[] = [];
    if (a.state === 'pending') states.push('pending');
    if (a.ackedBy) states.push(`acked by ${a.ackedBy}`);
    if (a.silencedBy?.length) states.push('silenced');
    if (a.inhibitedBy) states.push('muted by incident');
    if (a.flapping) states.push('flapping');
    const actions =
      this.app.can('operate') && a.state !== 'resolved'
        ? h(
            'span',
            { class: 'actions' },
            a.ackedBy ? '' : h('button', { class: 'ack', onclick: () => this.ack(a) }, 'Ack'),
            h('button', { class: 'silence', onclick: () => this.silence(a) }, 'Silence'),
          )
        : '';
    const complaints = group
      ? this.complaintsFor(group)
      : this.complaintsFor({ key: a.id, members: [a], severity: a.severity, startsAt: a.startsAt });
    return h(
      'tr',
      {
        role: 'row',
        class: `alert sev-row-${a.severity}${group ? '' : ' member'}${a.ackedBy ? ' acked' : ''}`,
        'data-alert': a.id,
        'data-kind': a.kind,
        ...(cell ? { 'data-cell': cell } : {}),
        ...(incident ? { 'data-incident': incident } : {}),
      },
      h('td', { role: 'cell' }, expander),
      h('td', { role: 'cell' }, severityBadge(group?.severity ?? a.severity)),
      h(
        'td',
        { role: 'cell', title: a.summary },
        h('span', { class: 'kind' }, what),
        h('br'),
        h('small', {}, a.summary),
      ),
      h('td', { role: 'cell' }, where),
      h(
        'td',
        { role: 'cell', title: localDateTime(since, tz) },
        localTime(since, tz),
        h('br'),
        h('small', {}, duration(this.app.now() - since)),
      ),
      h('td', { role: 'cell', class: 'num' }, users === undefined ? '–' : users.toLocaleString()),
      h(
        'td',
        { role: 'cell', class: 'remediation' },
        cause ? h('span', { class: 'cause' }, swatch(cause), ` ${CAUSE_WORDS[cause] ?? cause}`) : '',
        cause ? h('br') : '',
        h('small', {}, a.remediation ?? a.annotations.remediation ?? ''),
      ),
      h('td', { role: 'cell', class: 'num' }, String(complaints)),
      h('td', { role: 'cell', class: 'state' }, states.join(', ') || a.state, actions ? h('br') : '', actions),
    );
  }

  private ack(a: AlertView): void {
    actionDialog({
      title: `Acknowledge ${a.kind.replace(/_/g, ' ')} on ${alertScopeId(a)}`,
      body: [h('p', {}, a.summary)],
      fields: [{ name: 'comment', label: 'Comment (what you are doing about it)', kind: 'textarea', required: false }],
      confirm: 'Acknowledge',
      run: (v) => this.app.ack(a.id, v.comment ?? ''),
    });
  }

  private silence(a: AlertView): void {
    const matchers = silenceMatchers(a);
    actionDialog({
      title: `Silence ${a.kind.replace(/_/g, ' ')} on ${alertScopeId(a)}`,
      body: [
        h('p', {}, 'Notifications of alerts matching these labels are muted; the board still shows them.'),
        h(
          'ul',
          { class: 'matchers' },
          matchers.map((m) => h('li', {}, h('code', {}, `${m.name}${m.op}"${m.value}"`))),
        ),
      ],
      fields: [
        {
          name: 'duration',
          label: 'For',
          kind: 'select',
          options: [
            ['3600000', '1 hour'],
            ['7200000', '2 hours'],
            ['14400000', '4 hours'],
            ['86400000', '1 day'],
          ],
        },
        { name: 'comment', label: 'Why (required)', kind: 'textarea', required: true },
      ],
      confirm: 'Silence',
      run: (v) => this.app.silence(matchers, Number(v.duration), v.comment ?? ''),
    });
  }

  // ---- map ---------------------------------------------------------------------------------------

  private bindMap(): void {
    const { canvas, tooltip } = this.el;
    const nearest = (e: MouseEvent) => {
      const r = canvas.getBoundingClientRect();
      const x = e.clientX - r.left;
      const y = e.clientY - r.top;
      let best: (typeof this.mapPoints)[number] | undefined;
      let bestD = 81;
      for (const p of this.mapPoints) {
        const d = (p.x - x) ** 2 + (p.y - y) ** 2;
        if (d < bestD) {
          bestD = d;
          best = p;
        }
      }
      return { best, x, y };
    };
    canvas.addEventListener('mousemove', (e) => {
      const { best, x, y } = nearest(e);
      if (!best) {
        tooltip.hidden = true;
        canvas.style.cursor = '';
        return;
      }
      tooltip.hidden = false;
      tooltip.textContent = `${best.id} — ${stateWords(best.state)}`;
      tooltip.style.left = `${x + 12}px`;
      tooltip.style.top = `${y + 12}px`;
      canvas.style.cursor = 'pointer';
    });
    canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
    canvas.addEventListener('click', (e) => {
      const { best } = nearest(e);
      if (best) location.hash = `#/cell/${encodeURIComponent(best.id)}`;
    });
  }

  private renderMap(): void {
    const { canvas } = this.el;
    const width = Math.max(240, this.mapWidth);
    const height = Math.round(Math.min(Math.max(width * 0.75, 240), 720));
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    // Where each cell is drawn changes only with the cells or the size: kept between redraws.
    const gkey = `${this.app.cellsVersion}:${width}:${height}`;
    if (this.geometry?.key !== gkey) {
      const located = [...this.app.cells.values()].filter(
        (c): c is typeof c & { lat: number; lon: number } => typeof c.lat === 'number' && typeof c.lon === 'number',
      );
      const proj = fitProjection(located, width, height, 28);
      const at = located.map((c) => ({ id: c.id, x: proj.x(c.lon), y: proj.y(c.lat) }));
      spreadSectors(at);
      this.geometry = { key: gkey, cells: located, proj, at: new Map(at.map((p) => [p.id, p])) };
    }
    const { cells, proj, at } = this.geometry;
    const counts = { good: 0, degraded: 0, down: 0, 'no-data': 0 };
    const byCause = new Map<string, number>();
    const layers: Record<CellState['kind'], typeof this.mapPoints> = {
      good: [],
      'no-data': [],
      degraded: [],
      down: [],
    };
    const scopeSite = this.filter.site;
    for (const c of cells) {
      if (this.filter.region && c.region !== this.filter.region) continue;
      const state = cellState(c.status, this.app.windows.of(c.id));
      counts[state.kind]++;
      if (state.kind === 'degraded') byCause.set(state.cause, (byCause.get(state.cause) ?? 0) + 1);
      const p = at.get(c.id)!;
      layers[state.kind].push({ id: c.id, x: p.x, y: p.y, state });
    }
    this.mapPoints = [...layers.good, ...layers['no-data'], ...layers.degraded, ...layers.down];
    const colour = (v: string, fallback: string) => this.colours(v) || fallback;
    const good = colour('--good', '#2e8b57');
    const nodata = colour('--muted', '#888');
    // One path per layer: thousands of separate fills cost more than the drawing itself.
    ctx.fillStyle = good;
    ctx.beginPath();
    for (const p of layers.good) {
      ctx.moveTo(p.x + 2.5, p.y);
      ctx.arc(p.x, p.y, 2.5, 0, 2 * Math.PI);
    }
    ctx.fill();
    ctx.strokeStyle = nodata;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    for (const p of layers['no-data']) {
      ctx.moveTo(p.x + 3.5, p.y);
      ctx.arc(p.x, p.y, 3.5, 0, 2 * Math.PI);
    }
    ctx.stroke();
    for (const p of layers.degraded) {
      const cause = p.state.kind === 'degraded' ? p.state.cause : 'unknown';
      ctx.fillStyle = CAUSE_COLOUR[cause] ?? '#888';
      ctx.beginPath();
      ctx.moveTo(p.x, p.y - 6);
      ctx.lineTo(p.x + 5.5, p.y + 4);
      ctx.lineTo(p.x - 5.5, p.y + 4);
      ctx.closePath();
      ctx.fill();
    }
    ctx.strokeStyle = colour('--bad', '#c0392b');
    ctx.lineWidth = 2.5;
    for (const p of layers.down) {
      ctx.beginPath();
      ctx.moveTo(p.x - 5, p.y - 5);
      ctx.lineTo(p.x + 5, p.y + 5);
      ctx.moveTo(p.x + 5, p.y - 5);
      ctx.lineTo(p.x - 5, p.y + 5);
      ctx.stroke();
    }
    // Hot spots: a dashed ring around the site's cells, labelled (silent degradations in bold).
    ctx.lineWidth = 2;
    ctx.font = '600 11px system-ui, sans-serif';
    for (const hs of this.app.hotspots) {
      const site = hs.site;
      const pts = cells.filter((c) => (site ? c.site === site : c.id === hs.cell));
      if (pts.length === 0) continue;
      const x = pts.reduce((s, c) => s + proj.x(c.lon), 0) / pts.length;
      const y = pts.reduce((s, c) => s + proj.y(c.lat), 0) / pts.length;
      ctx.strokeStyle = colour('--hotspot', '#c71585');
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.arc(x, y, 13, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(hs.kind === 'silent-degradation' ? 'silent' : 'hot spot', x + 15, y - 8);
    }
    // Region names at their cells' centre: the map has no tiles to say where it is.
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.fillStyle = colour('--muted', '#666');
    const regions = new Map<string, { x: number; y: number; n: number }>();
    for (const c of cells) {
      if (!c.region) continue;
      const r = regions.get(c.region) ?? { x: 0, y: 0, n: 0 };
      r.x += proj.x(c.lon);
      r.y += proj.y(c.lat);
      r.n++;
      regions.set(c.region, r);
    }
    for (const [name, r] of regions) ctx.fillText(name, r.x / r.n - 8, r.y / r.n - 18);
    if (scopeSite) {
      const pts = cells.filter((c) => c.site === scopeSite);
      ctx.strokeStyle = colour('--fg', '#000');
      ctx.lineWidth = 1.5;
      for (const c of pts) {
        ctx.beginPath();
        ctx.arc(proj.x(c.lon), proj.y(c.lat), 9, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    const causes = [...byCause.entries()].sort((a, b) => b[1] - a[1]);
    this.el.legend.replaceChildren(
      h('li', {}, h('span', { class: 'glyph good', 'aria-hidden': 'true' }, '●'), ` good ${counts.good}`),
      h(
        'li',
        {},
        h('span', { class: 'glyph degraded', 'aria-hidden': 'true' }, '▲'),
        ` degraded ${counts.degraded}`,
        causes.length
          ? h(
              'span',
              { class: 'causes' },
              ' (',
              causes.flatMap(([c, n], i) => [i ? ', ' : '', swatch(c), ` ${CAUSE_WORDS[c] ?? c} ${n}`]),
              ')',
            )
          : '',
      ),
      h('li', {}, h('span', { class: 'glyph down', 'aria-hidden': 'true' }, '✕'), ` down ${counts.down}`),
      h('li', {}, h('span', { class: 'glyph nodata', 'aria-hidden': 'true' }, '○'), ` no data ${counts['no-data']}`),
      h(
        'li',
        {},
        h('span', { class: 'glyph hotspot', 'aria-hidden': 'true' }, '◌'),
        ` hot spots ${this.app.hotspots.length}`,
      ),
    );
    this.el.canvas.setAttribute(
      'aria-label',
      `Map of ${cells.length} cells: ${counts.good} good, ${counts.degraded} degraded, ${counts.down} down, ` +
        `${counts['no-data']} without data, ${this.app.hotspots.length} complaint hot spots. The list below names them.`,
    );
    document.body.dataset.mapCells = String(this.mapPoints.length);
    const bad = [...layers.down, ...layers.degraded, ...layers['no-data']].slice(0, 300);
    this.el.attention.replaceChildren(
      bad.length === 0
        ? h('p', {}, 'Every cell is good.')
        : h(
            'ul',
            { class: 'cell-list' },
            bad.map((p) =>
              h('li', {}, h('a', { href: `#/cell/${encodeURIComponent(p.id)}` }, p.id), ` — ${stateWords(p.state)}`),
            ),
          ),
    );
  }

  // ---- collection --------------------------------------------------------------------------------

  private renderCollection(): void {
    // A target not polled yet (just started or added) is waiting, not failing.
    const waiting = this.collection.filter((t) => t.state === 'pending').length;
    const failing = this.collection.filter((t) => t.state !== 'ok' && t.state !== 'pending');
    const answering = this.collection.length - failing.length - waiting;
    const store = this.app.alerts.all().filter((a) => a.kind === 'store_backlog');
    const tz = this.app.tz;
    this.el.collection.replaceChildren(
      h(
        'p',
        { class: failing.length ? 'warn-text' : 'ok-text' },
        failing.length ? '▲ ' : '✓ ',
        `${answering} of ${this.collection.length} targets answering`,
        waiting ? `, ${waiting} waiting for their first poll` : '',
      ),
      failing.length
        ? compactTable({}, ['Target', 'Site', 'State', 'Last answer'], failing.slice(0, 30), (t) =>
            h(
              'tr',
              { title: t.lastError ?? '' },
              h('td', {}, t.target),
              h('td', {}, t.site ? h('a', { href: `#/site/${encodeURIComponent(t.site)}` }, t.site) : '–'),
              h('td', {}, t.state),
              h('td', {}, t.lastSuccess ? localDateTime(t.lastSuccess, tz) : 'never'),
            ),
          )
        : '',
      failing.length > 30 ? h('p', {}, `…and ${failing.length - 30} more`) : '',
      h(
        'p',
        { class: store.length ? 'bad-text' : 'ok-text' },
        store.length ? `✗ Store: ${store.map((a) => a.summary).join('; ')}` : '✓ Store: writing, no backlog',
      ),
    );
  }
}

/** A site's cells share the mast's coordinates: draw them on a small ring around it, not on top of each other. */
function spreadSectors(points: { x: number; y: number }[]): void {
  const masts = new Map<string, { x: number; y: number }[]>();
  for (const p of points) {
    const k = `${Math.round(p.x)},${Math.round(p.y)}`;
    const list = masts.get(k);
    if (list) list.push(p);
    else masts.set(k, [p]);
  }
  for (const list of masts.values()) {
    if (list.length < 2) continue;
    list.forEach((p, i) => {
      const a = (2 * Math.PI * i) / list.length - Math.PI / 2;
      p.x += 6 * Math.cos(a);
      p.y += 6 * Math.sin(a);
    });
  }
}

function stateWords(s: CellState): string {
  switch (s.kind) {
    case 'good':
      return 'good';
    case 'down':
      return 'down';
    case 'no-data':
      return 'no data';
    case 'degraded':
      return `degraded (${CAUSE_WORDS[s.cause] ?? s.cause})`;
  }
}
