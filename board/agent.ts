/**
 * The care agent's page: look up a complaint by id, a cell, or a place (coordinates) at a time, and
 * read out the customer-safe summary — large, first. Below it, for the agent: the problems found and
 * whether they are fixed, whether the complaint was explained by the network and why, and any
 * proactive notice for the area. The lookup is in the URL's hash (`#/agent?complaint=C-1`), so a link
 * from the board or the CRM opens it directly; nothing secret goes there.
 */
import { ApiError, get } from './api.js';
import type { App } from './app.js';
import { CAUSE_WORDS, compactTable, formText, h, swatch } from './dom.js';
import { localDateTime, type Cause } from './model.js';

interface ContextAnswer {
  at: number;
  atTime: string;
  cells: string[];
  windows: {
    id: string;
    cell: string;
    cause: Cause;
    severity: number;
    start: number;
    end?: number;
    status: 'ongoing' | 'resolved';
    customerImpact: boolean;
    when: 'at-the-time' | 'before' | 'after';
  }[];
  alerts: { id: string; summary: string; severity: string }[];
  complaintCount: number;
  summary: string;
}

interface ComplaintDetail {
  id: string;
  receivedAt: number;
  issueAt?: number;
  channel: string;
  category: string;
  cell?: string;
  locatedCell?: string;
  text?: string;
  correlation?: {
    explained: boolean;
    score: number;
    windows: { window: string; cell: string; score: number; reason: string }[];
  } | null;
  handling?: { firstResponse: string; resolution: string };
}

interface Notice {
  id: string;
  text: string;
  status: string;
  expectedFix?: string;
  area?: { cells?: string[] };
}

type Mode = 'complaint' | 'cell' | 'place';

export class AgentPage {
  private root!: HTMLElement;
  private result!: HTMLElement;

  constructor(private readonly app: App) {}

  mount(root: HTMLElement, query: URLSearchParams): void {
    this.root = root;
    const tz = this.app.tz;
    const mode: Mode = query.has('complaint') ? 'complaint' : query.has('lat') ? 'place' : 'cell';
    const field = (name: string, label: string, attrs: Record<string, string> = {}) =>
      h(
        'label',
        { class: `field field-${name}` },
        label,
        h('br'),
        h('input', { name, id: `agent-${name}`, value: query.get(name) ?? '', ...attrs }),
      );
    const cells = h(
      'datalist',
      { id: 'cell-ids' },
      [...this.app.cells.keys()].slice(0, 5000).map((id) => h('option', { value: id })),
    );
    const form = h(
      'form',
      { class: 'agent-form', 'aria-label': 'look up', onsubmit: (e: Event) => this.submit(e) },
      h(
        'fieldset',
        { class: 'modes' },
        h('legend', {}, 'Look up by'),
        (['complaint', 'cell', 'place'] as const).map((m) =>
          h(
            'label',
            {},
            h('input', {
              type: 'radio',
              name: 'mode',
              value: m,
              checked: m === mode,
              onchange: () => this.showFields(form, m),
            }),
            ` ${m === 'complaint' ? 'complaint id' : m === 'cell' ? 'cell' : 'place (coordinates)'}`,
          ),
        ),
      ),
      field('complaint', 'Complaint id', { autocomplete: 'off', spellcheck: 'false' }),
      field('cell', 'Cell', { list: 'cell-ids', autocomplete: 'off', spellcheck: 'false' }),
      field('lat', 'Latitude', { inputmode: 'decimal', placeholder: '31.2304' }),
      field('lon', 'Longitude', { inputmode: 'decimal', placeholder: '121.4737' }),
      h(
        'label',
        { class: 'field field-at' },
        `When (${tz}; empty = now)`,
        h('br'),
        h('input', {
          name: 'at',
          id: 'agent-at',
          type: 'datetime-local',
          value: (query.get('at') ?? '').replace(' ', 'T'),
        }),
      ),
      cells,
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Look up')),
    );
    this.showFields(form, mode);
    this.result = h('div', { class: 'agent-result', 'aria-live': 'polite' });
    root.replaceChildren(
      h('div', { class: 'agent' }, h('h2', {}, 'What happened at this place and time?'), form, this.result),
    );
    if (query.has('complaint') || query.has('cell') || query.has('lat')) void this.lookup(query);
    else form.querySelector<HTMLInputElement>('input[name=complaint], input[name=cell]')?.focus();
  }

  unmount(): void {}

  private showFields(form: HTMLFormElement, mode: Mode): void {
    const show: Record<string, Mode[]> = {
      complaint: ['complaint'],
      cell: ['cell'],
      lat: ['place'],
      lon: ['place'],
      at: ['cell', 'place'],
    };
    for (const [name, modes] of Object.entries(show)) {
      const el = form.querySelector(`.field-${name}`) as HTMLElement;
      el.hidden = !modes.includes(mode);
    }
  }

  private submit(e: Event): void {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const mode = formText(f, 'mode') as Mode;
    const q = new URLSearchParams();
    const text = (k: string) => formText(f, k).trim();
    if (mode === 'complaint') q.set('complaint', text('complaint'));
    if (mode === 'cell') q.set('cell', text('cell'));
    if (mode === 'place') {
      q.set('lat', text('lat'));
      q.set('lon', text('lon'));
    }
    if (mode !== 'complaint' && text('at')) q.set('at', text('at').replace('T', ' '));
    // The lookup goes into the hash so the page can be linked and reloaded; the router calls back.
    const next = `#/agent?${q.toString()}`;
    if (location.hash === next) void this.lookup(q);
    else location.hash = next;
  }

  private async lookup(q: URLSearchParams): Promise<void> {
    const tz = this.app.tz;
    this.result.replaceChildren(h('p', { class: 'loading' }, 'looking up…'));
    const params: Record<string, string> = {};
    for (const k of ['complaint', 'cell', 'lat', 'lon', 'at']) {
      const v = q.get(k);
      if (v) params[k] = v;
    }
    let ctx: ContextAnswer;
    let complaint: ComplaintDetail | undefined;
    try {
      [ctx, complaint] = await Promise.all([
        get<ContextAnswer>('context', params),
        params.complaint
          ? get<ComplaintDetail>(`complaints/${encodeURIComponent(params.complaint)}`)
          : Promise.resolve(undefined),
      ]);
    } catch (err) {
      const msg = err instanceof ApiError ? [err.message, ...err.problems].join(': ') : (err as Error).message;
      this.result.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Cannot look this up: ${msg}`));
      return;
    }
    const cell = complaint?.locatedCell ?? complaint?.cell ?? params.cell ?? ctx.cells[0];
    const notices = cell
      ? await get<{ notices: Notice[] }>('notices', { cell }).then(
          (b) => b.notices,
          () => [] as Notice[],
        )
      : [];
    const ongoing = ctx.windows.filter((w) => w.customerImpact && w.status === 'ongoing');
    const status = ongoing.length
      ? { cls: 'ongoing', text: '▲ A problem is ongoing in this area' }
      : ctx.windows.some((w) => w.customerImpact)
        ? { cls: 'resolved', text: '✓ There was a problem; it has been fixed' }
        : { cls: 'none', text: '○ No network problem found' };
    this.result.replaceChildren(
      h(
        'section',
        { class: 'summary-box', 'aria-labelledby': 'h-summary' },
        h('h3', { id: 'h-summary' }, 'Read to the customer'),
        h('blockquote', { class: 'summary', id: 'agent-summary' }, ctx.summary),
        h('p', { class: `status-line status-${status.cls}` }, status.text),
      ),
      complaint ? this.complaintPart(complaint, tz) : '',
      h(
        'section',
        { 'aria-labelledby': 'h-found' },
        h('h3', { id: 'h-found' }, `Problems in the area around ${localDateTime(ctx.at, tz)} (± 72 h)`),
        ctx.windows.length === 0
          ? h('p', {}, 'None.')
          : compactTable(
              { id: 'agent-windows' },
              ['Cell', 'What', 'From', 'To', 'Status', 'When', 'Customers noticed'],
              ctx.windows,
              (w) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `#/cell/${encodeURIComponent(w.cell)}` }, w.cell)),
                  h('td', {}, swatch(w.cause), ` ${CAUSE_WORDS[w.cause] ?? w.cause}`),
                  h('td', {}, localDateTime(w.start, tz)),
                  h('td', {}, w.end !== undefined ? localDateTime(w.end, tz) : '–'),
                  h('td', {}, w.status === 'ongoing' ? '▲ ongoing' : '✓ fixed'),
                  h('td', {}, w.when.replace(/-/g, ' ')),
                  h('td', {}, w.customerImpact ? 'yes' : 'no (only measurements drifted)'),
                ),
            ),
        h(
          'p',
          {},
          `Other complaints about this area then: ${ctx.complaintCount}. Cells looked at: ${ctx.cells.join(', ') || '–'}.`,
        ),
        ctx.alerts.length ? h('p', {}, `Open alerts: ${ctx.alerts.map((a) => a.summary).join('; ')}`) : '',
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-notices' },
        h('h3', { id: 'h-notices' }, 'Proactive notices for the area'),
        notices.length === 0
          ? h('p', {}, 'None.')
          : h(
              'ul',
              { class: 'notices' },
              notices.map((n) => h('li', {}, h('strong', {}, n.status), ` — ${n.text}`)),
            ),
      ),
    );
    document.body.dataset.agentLookup = params.complaint ?? params.cell ?? `${params.lat},${params.lon}`;
  }

  private complaintPart(c: ComplaintDetail, tz: string): HTMLElement {
    const corr = c.correlation;
    return h(
      'section',
      { 'aria-labelledby': 'h-complaint', id: 'agent-complaint' },
      h('h3', { id: 'h-complaint' }, `Complaint ${c.id}`),
      h(
        'p',
        {},
        `${c.category} complaint via ${c.channel}, received ${localDateTime(c.receivedAt, tz)}` +
          (c.issueAt ? `, says it happened ${localDateTime(c.issueAt, tz)}` : '') +
          ((c.locatedCell ?? c.cell) ? `, located on cell ${c.locatedCell ?? c.cell}` : '') +
          '.',
      ),
      c.text ? h('p', { class: 'quote' }, `“${c.text}”`) : '',
      corr === undefined
        ? h('p', {}, 'Not a network complaint: not matched against the network.')
        : corr === null
          ? h('p', {}, 'Not matched yet.')
          : h(
              'div',
              {},
              h(
                'p',
                { class: corr.explained ? 'ok-text' : 'warn-text', id: 'agent-explained' },
                corr.explained
                  ? `✓ Explained by the network (score ${corr.score.toFixed(2)})`
                  : `✗ Not explained by a known network problem (best score ${corr.score.toFixed(2)})`,
              ),
              corr.windows.length
                ? h(
                    'ul',
                    {},
                    corr.windows.map((w) => h('li', {}, `${w.reason} — score ${w.score.toFixed(2)}`)),
                  )
                : '',
            ),
      c.handling
        ? h('p', {}, `First response: ${c.handling.firstResponse}; resolution: ${c.handling.resolution}.`)
        : '',
    );
  }
}
