/**
 * The cell page: a range (the last 24 h by default) of per-user throughput, active users, RSRP/SINR
 * and PRB utilisation as uPlot charts with a shared cursor; degradation windows shaded in their cause's
 * colour and named, the peak hours and the cell's busy hour marked, complaints on the cell as marks;
 * the same windows, complaints and alerts as tables (the charts' text alternative).
 */
import { get } from './api.js';
import type { App, ComplaintRow } from './app.js';
import { CAUSE_COLOUR, CAUSE_WORDS, compactTable, formText, h, severityBadge, swatch } from './dom.js';
import {
  alertScopeId,
  duration,
  localBands,
  localDateTime,
  pct,
  zonedToEpoch,
  type AlertView,
  type WindowView,
} from './model.js';
import uPlot from './vendor/uplot.js';

const HOUR = 3_600_000;

interface CellDetail {
  at: number;
  id: string;
  site?: string;
  region?: string;
  tech?: string;
  status: string;
  latest: Record<string, number | boolean | string> | null;
  busyHour?: number | null;
  todayRatio?: number | null;
}

type Bucket = Record<string, number> & { ts: number };

interface ChartSpec {
  title: string;
  unit: string;
  series: { key: string; label: string; colour: string; dash?: number[]; scale?: string }[];
  /** A threshold line (the good-experience floor, the congestion line), labelled. */
  line?: { value: number; label: string; scale?: string };
  scales?: string[];
}

const RANGES: [string, number][] = [
  ['6 h', 6 * HOUR],
  ['24 h', 24 * HOUR],
  ['3 days', 72 * HOUR],
  ['7 days', 7 * 24 * HOUR],
];

export class CellPage {
  private charts: uPlot[] = [];
  private timer?: number;
  private root!: HTMLElement;
  private id = '';
  private span = 24 * HOUR;
  private fixed?: { from: number; to: number };

  constructor(private readonly app: App) {}

  mount(root: HTMLElement, id: string): void {
    this.root = root;
    this.id = id;
    root.replaceChildren(h('p', { class: 'loading' }, `loading cell ${id}…`));
    void this.load();
    // The default range ends now: keep it moving while the page is open.
    this.timer = window.setInterval(() => {
      if (!this.fixed) void this.load();
    }, 30_000);
  }

  unmount(): void {
    clearInterval(this.timer);
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  private async load(): Promise<void> {
    const id = this.id;
    let cell: CellDetail;
    try {
      cell = await get<CellDetail>(`cells/${encodeURIComponent(id)}`);
    } catch (err) {
      this.root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Cell ${id}: ${(err as Error).message}`));
      return;
    }
    this.app.seen(cell.at);
    const to = this.fixed?.to ?? cell.at;
    const from = this.fixed?.from ?? to - this.span;
    const [series, windows, complaints, alerts] = await Promise.all([
      get<{ stepMs: number; buckets: Bucket[] }>(`cells/${encodeURIComponent(id)}/series`, { from, to }),
      get<{ windows: WindowView[] }>('windows', { cell: id, from, to }),
      get<{ complaints: ComplaintRow[] }>('complaints', { cell: id, from, to, limit: 1000 }),
      get<{ alerts: AlertView[] }>('alerts', {
        from,
        to,
        limit: 2000,
        ...(cell.region ? { region: cell.region } : {}),
      }),
    ]);
    const mine = alerts.alerts.filter(
      (a) =>
        (a.labels.cell ?? a.cell) === id || (!a.labels.cell && cell.site && (a.labels.site ?? a.site) === cell.site),
    );
    this.render(cell, from, to, series.stepMs, series.buckets, windows.windows, complaints.complaints, mine);
  }

  private render(
    cell: CellDetail,
    from: number,
    to: number,
    stepMs: number,
    buckets: Bucket[],
    windows: WindowView[],
    complaints: ComplaintRow[],
    alerts: AlertView[],
  ): void {
    const tz = this.app.tz;
    for (const c of this.charts) c.destroy();
    this.charts = [];
    const exp = this.app.session.display.experience;
    const specs: ChartSpec[] = [
      {
        title: 'Per-user throughput',
        unit: 'Mbit/s',
        series: [
          { key: 'dlMbps', label: 'downlink Mbit/s', colour: '#1f77b4' },
          { key: 'ulMbps', label: 'uplink Mbit/s', colour: '#ff7f0e', dash: [6, 4] },
        ],
        line: { value: exp.dlMbps, label: `good ≥ ${exp.dlMbps} Mbit/s` },
      },
      {
        title: 'Active users',
        unit: 'users',
        series: [{ key: 'activeUsers', label: 'active users', colour: '#2ca02c' }],
      },
      {
        title: 'Radio: RSRP and SINR',
        unit: 'dBm / dB',
        series: [
          { key: 'rsrpDbm', label: 'RSRP dBm', colour: '#9467bd', scale: 'dbm' },
          { key: 'sinrDb', label: 'SINR dB', colour: '#8c564b', dash: [6, 4], scale: 'db' },
        ],
        scales: ['dbm', 'db'],
      },
      {
        title: 'PRB utilisation',
        unit: '%',
        series: [{ key: 'prbUtilPct', label: 'PRB %', colour: '#d62728' }],
        line: { value: 80, label: 'congested ≥ 80 %' },
      },
    ];
    // A regular grid: a bucket with no sample is a gap in the line, not a zero.
    const xs: number[] = [];
    const byTs = new Map(buckets.map((b) => [b.ts, b]));
    for (let t = Math.floor(from / stepMs) * stepMs; t < to; t += stepMs) xs.push(t);
    const peak = this.app.session.display.peak;
    const peakBands = peak === 'busy-hour' ? [] : localBands(from, to, peak.fromMinute, peak.toMinute, tz);
    const busy =
      typeof cell.busyHour === 'number' ? localBands(from, to, cell.busyHour * 60, cell.busyHour * 60 + 60, tz) : [];
    const shaded = windows.map((w) => ({ w, start: Math.max(w.start, from), end: Math.min(w.end ?? to, to) }));
    const marks = complaints.map((c) => ({ c, at: c.issueAt ?? c.receivedAt }));

    const header = this.header(cell, from, to);
    const figures = specs.map((spec, i) => {
      const fig = h('figure', { class: 'chart', 'data-chart': spec.series[0]!.key });
      const cap = h('figcaption', {}, `${spec.title} (${spec.unit})`);
      fig.append(cap);
      const data: uPlot.AlignedData = [
        xs.map((t) => t / 1000),
        ...spec.series.map((s) => xs.map((t) => byTs.get(t)?.[s.key] ?? null)),
      ];
      const opts: uPlot.Options = {
        width: 600,
        height: 170,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
        cursor: { sync: { key: `cell-${cell.id}` } },
        legend: { live: true },
        scales: { x: { time: true, min: from / 1000, max: to / 1000 } },
        axes: [
          { stroke: axisColour() },
          { stroke: axisColour(), scale: spec.series[0]!.scale ?? 'y', label: spec.series[0]!.label, size: 60 },
          ...(spec.series[1]?.scale && spec.series[1].scale !== spec.series[0]!.scale
            ? [
                {
                  stroke: axisColour(),
                  scale: spec.series[1].scale,
                  side: 1 as const,
                  label: spec.series[1].label,
                  size: 60,
                  grid: { show: false },
                },
              ]
            : []),
        ],
        series: [
          { label: 'time', value: (_u, v) => (v === null ? '–' : localDateTime(v * 1000, tz)) },
          ...spec.series.map((s) => ({
            label: s.label,
            stroke: s.colour,
            width: 1.6,
            ...(s.dash ? { dash: s.dash } : {}),
            ...(s.scale ? { scale: s.scale } : {}),
            spanGaps: false,
          })),
        ],
        hooks: {
          drawClear: [
            (u: uPlot) => {
              const n = drawBands(u, peakBands, busy, shaded, i === 0);
              fig.dataset.shaded = String(n);
            },
          ],
          draw: [(u: uPlot) => drawMarks(u, marks, spec.line)],
        },
      };
      const chart = new uPlot(opts, data, fig);
      this.charts.push(chart);
      return fig;
    });
    const key = h(
      'p',
      { class: 'chart-key' },
      h('span', { class: 'key-peak' }, '▒ peak hours'),
      peak === 'busy-hour' ? ' (each cell’s busy hour)' : '',
      ' · ',
      h('span', { class: 'key-busy' }, '┆ busy hour'),
      typeof cell.busyHour === 'number' ? ` ${String(cell.busyHour).padStart(2, '0')}:00` : ' (not known yet)',
      ' · ',
      h('span', { class: 'key-complaint' }, '✉ complaint'),
      ' · windows shaded in their cause’s colour and named above the first chart',
    );
    this.root.replaceChildren(
      header,
      key,
      h('div', { class: 'charts' }, figures),
      this.windowTable(windows, tz),
      this.complaintTable(complaints, tz),
      this.alertTable(alerts, tz),
    );
    const size = () => {
      const w = Math.max(320, (this.root.querySelector('.charts') as HTMLElement).clientWidth - 8);
      for (const c of this.charts) c.setSize({ width: w, height: 170 });
    };
    size();
    document.body.dataset.cellPage = cell.id;
  }

  private header(cell: CellDetail, from: number, to: number): HTMLElement {
    const tz = this.app.tz;
    const l = cell.latest ?? {};
    const fmt = (k: string, d = 1) => (typeof l[k] === 'number' ? l[k].toFixed(d) : '–');
    const range = h(
      'div',
      { class: 'range', role: 'group', 'aria-label': 'time range' },
      RANGES.map(([label, ms]) =>
        h(
          'button',
          {
            'aria-pressed': !this.fixed && this.span === ms ? 'true' : 'false',
            onclick: () => {
              this.span = ms;
              this.fixed = undefined;
              void this.load();
            },
          },
          `last ${label}`,
        ),
      ),
      h(
        'form',
        {
          class: 'custom-range',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const f = new FormData(e.target as HTMLFormElement);
            const a = zonedToEpoch(formText(f, 'from'), tz);
            const b = zonedToEpoch(formText(f, 'to'), tz);
            if (a !== undefined && b !== undefined && a < b) {
              this.fixed = { from: a, to: b };
              void this.load();
            }
          },
        },
        h(
          'label',
          {},
          'from ',
          h('input', { name: 'from', type: 'datetime-local', value: localDateTime(from, tz).replace(' ', 'T') }),
        ),
        ' ',
        h(
          'label',
          {},
          'to ',
          h('input', { name: 'to', type: 'datetime-local', value: localDateTime(to, tz).replace(' ', 'T') }),
        ),
        ' ',
        h('button', { type: 'submit' }, 'Show'),
      ),
    );
    return h(
      'header',
      { class: 'cell-header' },
      h('h2', {}, `Cell ${cell.id}`),
      h(
        'p',
        {},
        `site ${cell.site ?? '–'} · region ${cell.region ?? '–'}${cell.tech ? ` · ${cell.tech}` : ''} · status `,
        h('strong', { class: `status-${cell.status}` }, cell.status),
        ` · today at peak ${pct(cell.todayRatio ?? null)} good`,
        ' · ',
        h('a', { href: `#/agent?cell=${encodeURIComponent(cell.id)}` }, 'agent lookup for this cell'),
      ),
      h(
        'p',
        { class: 'latest' },
        `latest: DL ${fmt('dlMbps')} Mbit/s · UL ${fmt('ulMbps')} Mbit/s · ${fmt('activeUsers', 0)} users · ` +
          `RSRP ${fmt('rsrpDbm', 0)} dBm · SINR ${fmt('sinrDb')} dB · PRB ${fmt('prbUtilPct', 0)} %`,
        typeof l.ts === 'number' ? ` (at ${localDateTime(l.ts, tz)})` : '',
      ),
      h('p', {}, `${localDateTime(from, tz)} – ${localDateTime(to, tz)} (${tz})`),
      range,
    );
  }

  private windowTable(windows: WindowView[], tz: string): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'h-windows' },
      h('h3', { id: 'h-windows' }, `Degradation windows (${windows.length})`),
      windows.length === 0
        ? h('p', {}, 'None in this range.')
        : compactTable(
            { id: 'cell-windows' },
            ['Cause', 'From', 'To', 'Lasted', 'Users affected', 'Severity', 'What to do'],
            windows,
            (w) =>
              h(
                'tr',
                { 'data-window': w.id, 'data-cause': w.cause },
                h('td', {}, swatch(w.cause), ` ${CAUSE_WORDS[w.cause] ?? w.cause}`),
                h('td', {}, localDateTime(w.start, tz)),
                h('td', {}, w.end !== undefined ? localDateTime(w.end, tz) : 'ongoing'),
                h('td', {}, duration((w.end ?? w.lastBad) - w.start)),
                h('td', { class: 'num' }, w.usersAffected.toLocaleString()),
                h('td', { class: 'num' }, w.severity.toFixed(2)),
                h('td', {}, w.remediation ?? ''),
              ),
          ),
    );
  }

  private complaintTable(complaints: ComplaintRow[], tz: string): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'h-complaints' },
      h('h3', { id: 'h-complaints' }, `Complaints on this cell (${complaints.length})`),
      complaints.length === 0
        ? h('p', {}, 'None in this range.')
        : compactTable(
            {},
            ['Complaint', 'Received', 'Says it happened', 'Category', 'Channel', 'Explained'],
            complaints,
            (c) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/agent?complaint=${encodeURIComponent(c.id)}` }, c.id)),
                h('td', {}, localDateTime(c.receivedAt, tz)),
                h('td', {}, c.issueAt ? localDateTime(c.issueAt, tz) : '–'),
                h('td', {}, c.category),
                h('td', {}, c.channel),
                h('td', {}, c.correlation ? (c.correlation.explained ? '✓ yes' : '✗ no') : '–'),
              ),
          ),
    );
  }

  private alertTable(alerts: AlertView[], tz: string): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'h-cell-alerts' },
      h('h3', { id: 'h-cell-alerts' }, `Alerts (${alerts.length})`),
      alerts.length === 0
        ? h('p', {}, 'None in this range.')
        : compactTable({}, ['Severity', 'What', 'Where', 'State', 'From', 'To', 'Summary'], alerts, (a) =>
            h(
              'tr',
              {},
              h('td', {}, severityBadge(a.severity)),
              h('td', {}, a.kind.replace(/_/g, ' ')),
              h('td', {}, alertScopeId(a)),
              h('td', {}, a.state + (a.ackedBy ? `, acked by ${a.ackedBy}` : '')),
              h('td', {}, localDateTime(a.startsAt, tz)),
              h('td', {}, a.endsAt ? localDateTime(a.endsAt, tz) : '–'),
              h('td', {}, a.summary),
            ),
          ),
    );
  }
}

function axisColour(): string {
  return getComputedStyle(document.body).getPropertyValue('--fg').trim() || '#222';
}

/** Peak hours, busy hour and windows behind the lines; returns how many windows were drawn. */
function drawBands(
  u: uPlot,
  peak: [number, number][],
  busy: [number, number][],
  windows: { w: WindowView; start: number; end: number }[],
  labels: boolean,
): number {
  const { ctx } = u;
  const { top, height } = u.bbox;
  const x = (ms: number) => u.valToPos(ms / 1000, 'x', true);
  ctx.save();
  ctx.fillStyle = 'rgba(128,128,128,0.13)';
  for (const [a, b] of peak) ctx.fillRect(x(a), top, x(b) - x(a), height);
  ctx.strokeStyle = 'rgba(80,80,80,0.7)';
  ctx.setLineDash([3, 3]);
  ctx.lineWidth = 1;
  for (const [a, b] of busy) ctx.strokeRect(x(a), top + 1, x(b) - x(a), height - 2);
  ctx.setLineDash([]);
  let drawn = 0;
  const dpr = devicePixelRatio || 1;
  ctx.font = `${Math.round(11 * dpr)}px system-ui, sans-serif`;
  for (const { w, start, end } of windows) {
    if (end <= start) continue;
    const colour = CAUSE_COLOUR[w.cause] ?? '#888';
    ctx.globalAlpha = 0.22;
    ctx.fillStyle = colour;
    ctx.fillRect(x(start), top, Math.max(2, x(end) - x(start)), height);
    ctx.globalAlpha = 1;
    ctx.fillRect(x(start), top, Math.max(2, x(end) - x(start)), 3 * dpr);
    if (labels) {
      ctx.fillStyle = colour;
      ctx.fillText(CAUSE_WORDS[w.cause] ?? w.cause, x(start) + 3, top + 15 * dpr);
    }
    drawn++;
  }
  ctx.restore();
  return drawn;
}

function drawMarks(
  u: uPlot,
  marks: { c: ComplaintRow; at: number }[],
  line: { value: number; label: string; scale?: string } | undefined,
): void {
  const { ctx } = u;
  const { top, left, width, height } = u.bbox;
  const dpr = devicePixelRatio || 1;
  ctx.save();
  if (line) {
    const y = u.valToPos(line.value, line.scale ?? 'y', true);
    if (y >= top && y <= top + height) {
      ctx.strokeStyle = 'rgba(60,60,60,0.8)';
      ctx.setLineDash([2, 4]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = 'rgba(60,60,60,0.9)';
      ctx.font = `${Math.round(10 * dpr)}px system-ui, sans-serif`;
      ctx.fillText(line.label, left + width - ctx.measureText(line.label).width - 4, y - 3);
    }
  }
  ctx.strokeStyle = '#c71585';
  ctx.fillStyle = '#c71585';
  ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
  for (const { at } of marks) {
    const x = u.valToPos(at / 1000, 'x', true);
    if (x < left || x > left + width) continue;
    ctx.beginPath();
    ctx.setLineDash([1, 3]);
    ctx.moveTo(x, top + height);
    ctx.lineTo(x, top + 14 * dpr);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillText('✉', x - 5 * dpr, top + 12 * dpr);
  }
  ctx.restore();
}
