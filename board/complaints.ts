/**
 * Complaint handling for the operator's manager: first response within 72 h, resolved, satisfied —
 * each against its target, overall and by category and channel — and the complaints about to miss
 * their 72 h (or past it), soonest first, each a link to the agent's page.
 */
import { get } from './api.js';
import type { App } from './app.js';
import { compactTable, h } from './dom.js';
import { duration, localDateTime, pct } from './model.js';

interface Rate {
  met: number;
  counted: number;
  pending: number;
  share: number | null;
  target: number;
  onTarget: boolean | null;
}

interface Figures {
  complaints: number;
  firstResponse: Rate;
  resolution: Rate;
  satisfaction: Rate;
}

interface Stats extends Figures {
  groups: ({ group: string } & Figures)[];
  weakest: { metric: string; group: string; share: number; target: number; counted: number }[];
  /** Network complaints, those correlated (known), and those the network explains. */
  explainedByNetwork?: { network: number; known: number; explained: number; share: number | null };
}

interface AtRisk {
  complaint: string;
  receivedAt: number;
  dueAt: number;
  remainingMs: number;
  state: 'at-risk' | 'overdue';
  region?: string;
  category: string;
  channel: string;
}

const DAY = 86_400_000;
const METRICS = [
  ['firstResponse', 'First response within 72 h'],
  ['resolution', 'Resolved'],
  ['satisfaction', 'Satisfied'],
] as const;

export class ComplaintsPage {
  private days = 30;
  private root!: HTMLElement;
  private timer?: number;

  constructor(private readonly app: App) {}

  mount(root: HTMLElement): void {
    this.root = root;
    root.replaceChildren(h('p', { class: 'loading' }, 'loading complaint handling…'));
    void this.load();
    this.timer = window.setInterval(() => void this.load(), 60_000);
  }

  unmount(): void {
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    const to = this.app.now();
    const from = to - this.days * DAY;
    const [all, byCategory, byChannel, risk] = await Promise.all([
      // No `to`: the daemon's now, which includes what arrived since this page last heard its clock.
      get<Stats>('complaints/stats', { from }),
      get<Stats>('complaints/stats', { from, by: 'category' }),
      get<Stats>('complaints/stats', { from, by: 'channel' }),
      get<{ at: number; complaints: AtRisk[] }>('complaints/at-risk'),
    ]);
    this.app.seen(risk.at);
    const tz = this.app.tz;
    const period = h(
      'div',
      { class: 'range', role: 'group', 'aria-label': 'period' },
      [7, 30, 90].map((d) =>
        h(
          'button',
          {
            'aria-pressed': d === this.days ? 'true' : 'false',
            onclick: () => {
              this.days = d;
              void this.load();
            },
          },
          `last ${d} days`,
        ),
      ),
    );
    this.root.replaceChildren(
      h(
        'div',
        { class: 'handling' },
        h('h2', {}, 'Complaint handling'),
        h(
          'p',
          {},
          `${all.complaints.toLocaleString()} ${all.complaints === 1 ? 'complaint' : 'complaints'} received since ${localDateTime(from, tz)}`,
        ),
        period,
        h(
          'div',
          { class: 'tiles', id: 'handling-tiles' },
          METRICS.map(([k, label]) => tile(label, all[k])),
          all.explainedByNetwork
            ? h(
                'article',
                { class: 'tile' },
                h('h3', {}, 'Network complaints explained by the network'),
                h('p', { class: 'ratio' }, pct(all.explainedByNetwork.share)),
                h('p', {}, `${all.explainedByNetwork.explained} of ${all.explainedByNetwork.known}`),
              )
            : '',
        ),
        groupTable('By category', byCategory),
        groupTable('By channel', byChannel),
        all.weakest.length
          ? h(
              'section',
              {},
              h('h3', {}, 'Furthest below target'),
              h(
                'ul',
                {},
                all.weakest.map((w) =>
                  h(
                    'li',
                    {},
                    `${w.group}: ${w.metric} ${pct(w.share)} against ${pct(w.target, 0)} (${w.counted} counted)`,
                  ),
                ),
              ),
            )
          : '',
        this.riskTable(risk.complaints, tz),
      ),
    );
    document.body.dataset.handling = 'loaded';
  }

  private riskTable(list: AtRisk[], tz: string): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'h-risk' },
      h('h3', { id: 'h-risk' }, `Complaints at risk of missing the 72 h first response (${list.length})`),
      list.length === 0
        ? h('p', { class: 'ok-text' }, '✓ None: every complaint due soon has had its first response.')
        : compactTable(
            { id: 'at-risk' },
            ['Complaint', 'Received', 'Due', 'Left', 'Region', 'Category', 'Channel'],
            list,
            (c) =>
              h(
                'tr',
                { class: c.state },
                h('td', {}, h('a', { href: `#/agent?complaint=${encodeURIComponent(c.complaint)}` }, c.complaint)),
                h('td', {}, localDateTime(c.receivedAt, tz)),
                h('td', {}, localDateTime(c.dueAt, tz)),
                h(
                  'td',
                  {},
                  c.state === 'overdue' ? `✗ overdue by ${duration(-c.remainingMs)}` : `▲ ${duration(c.remainingMs)}`,
                ),
                h('td', {}, c.region ?? '–'),
                h('td', {}, c.category),
                h('td', {}, c.channel),
              ),
          ),
    );
  }
}

function mark(r: Rate): string {
  return r.onTarget === null ? '?' : r.onTarget ? '✓' : '✗';
}

function tile(label: string, r: Rate): HTMLElement {
  return h(
    'article',
    { class: `tile ${r.onTarget === false ? 'missed' : r.onTarget ? 'met' : ''}` },
    h('h3', {}, label),
    h('p', { class: 'ratio' }, pct(r.share)),
    h('p', {}, `${mark(r)} target ${pct(r.target, 0)} · ${r.met} of ${r.counted} counted, ${r.pending} pending`),
  );
}

function groupTable(title: string, s: Stats): HTMLElement {
  return h(
    'section',
    {},
    h('h3', {}, title),
    h(
      'table',
      { class: 'compact' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Group'),
          h('th', { scope: 'col', class: 'num' }, 'Complaints'),
          METRICS.map(([, l]) => h('th', { scope: 'col', class: 'num' }, l)),
        ),
      ),
      h(
        'tbody',
        {},
        s.groups.map((g) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, g.group),
            h('td', { class: 'num' }, g.complaints),
            METRICS.map(([k]) => h('td', { class: 'num' }, `${mark(g[k])} ${pct(g[k].share)}`)),
          ),
        ),
      ),
    ),
  );
}
