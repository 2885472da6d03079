/**
 * Building DOM without innerHTML: text is always a text node, so nothing from the API (cell names,
 * complaint texts, comments) can turn into markup.
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** A compact table (the panels' lists): one heading per column, one row per item. */
export function compactTable<T>(
  attrs: Attrs,
  columns: readonly string[],
  items: readonly T[],
  row: (item: T) => HTMLTableRowElement,
): HTMLTableElement {
  return h(
    'table',
    { ...attrs, class: 'compact' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, items.map(row)),
  );
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** A form field's text ('' for a missing field or a file). */
export function formText(f: FormData, name: string): string {
  const v = f.get(name);
  return typeof v === 'string' ? v : '';
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}

/** Severity and state words with a glyph: colour is never the only signal. */
export const SEVERITY_GLYPH: Record<string, string> = { critical: '⬣', major: '▲', minor: '◆', warning: '●' };

export function severityBadge(severity: string): HTMLElement {
  return h(
    'span',
    { class: `sev sev-${severity}` },
    h('span', { 'aria-hidden': 'true' }, SEVERITY_GLYPH[severity] ?? '•'),
    ` ${severity}`,
  );
}

export const CAUSE_WORDS: Record<string, string> = {
  outage: 'outage',
  backhaul: 'backhaul',
  coverage: 'coverage',
  interference: 'interference',
  congestion: 'congestion',
  'silent-failure': 'silent failure',
  unknown: 'unknown cause',
};

/** Cause colours, shared by the map and the charts' shading (and named in their legends). */
export const CAUSE_COLOUR: Record<string, string> = {
  outage: '#c0392b',
  backhaul: '#8e44ad',
  coverage: '#d35400',
  interference: '#b7950b',
  congestion: '#2471a3',
  'silent-failure': '#6c3483',
  unknown: '#7f8c8d',
};

/** A colour square for a cause (set through CSSOM: the page's CSP allows no inline style attributes). */
export function swatch(cause: string): HTMLElement {
  const el = h('i', { class: 'swatch', 'aria-hidden': 'true' });
  el.style.background = CAUSE_COLOUR[cause] ?? '#888';
  return el;
}

/**
 * Makes `parent`'s children exactly `want`, in order, touching only what differs: a row that stays
 * where it was is not taken out and put back (which would cost its style and layout again).
 */
export function reconcile(parent: Element, want: readonly Node[]): void {
  let cur = parent.firstChild;
  for (const node of want) {
    if (cur === node) {
      cur = cur.nextSibling;
      continue;
    }
    parent.insertBefore(node, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    parent.removeChild(cur);
    cur = next;
  }
}
