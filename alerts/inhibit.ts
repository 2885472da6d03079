/**
 * Inhibition, Alertmanager's rules: while an alert matching a rule's `source` matchers is firing, the
 * notifications of alerts matching its `target` matchers that carry the same values for every label
 * in `equal` are muted. An alert never inhibits itself. A missing `equal` label counts as the empty
 * string on both sides (Alertmanager's behaviour), so rules list labels both kinds always carry.
 *
 * The defaults make one fibre cut or one site power loss one incident: the parent (`site_outage`,
 * `backhaul_down`) mutes its cells' `cell_degraded`, the hot spots on those cells (the complaints are
 * explained) and the site's `collection_gap` (an agent behind a dead backhaul cannot answer).
 */
import { matchesAll, type Matcher } from './matchers.js';

export interface InhibitRule {
  name: string;
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

const PARENTS: Matcher = { name: 'alertname', op: '=~', value: 'site_outage|backhaul_down' };

export const DEFAULT_INHIBIT_RULES: readonly InhibitRule[] = [
  {
    name: 'incident mutes its cells',
    source: [PARENTS],
    target: [{ name: 'alertname', op: '=', value: 'cell_degraded' }],
    equal: ['incident'],
  },
  {
    name: 'incident mutes the complaints it explains',
    source: [PARENTS],
    target: [{ name: 'alertname', op: '=~', value: 'complaint_hotspot|silent_degradation' }],
    equal: ['site'],
  },
  {
    name: 'incident mutes the blind collector of its site',
    source: [PARENTS],
    target: [{ name: 'alertname', op: '=', value: 'collection_gap' }],
    equal: ['site'],
  },
];

/** Key under which a firing source is indexed for rule `i`: the rule and its `equal` label values. */
export function inhibitKey(i: number, rule: InhibitRule, labels: Readonly<Record<string, string>>): string {
  let key = String(i);
  for (const name of rule.equal) key += `\u0000${labels[name] ?? ''}`;
  return key;
}

/** The keys a firing alert with `labels` provides as a source (one per rule whose source it matches). */
export function sourceKeys(rules: readonly InhibitRule[], labels: Readonly<Record<string, string>>): string[] {
  const keys: string[] = [];
  rules.forEach((r, i) => {
    if (matchesAll(r.source, labels)) keys.push(inhibitKey(i, r, labels));
  });
  return keys;
}

/**
 * The first rule that mutes `labels`, given the firing sources: `sources(key)` lists the fingerprints
 * of firing alerts indexed under a key (see sourceKeys). Undefined when nothing inhibits it.
 */
export function inhibitedBy(
  rules: readonly InhibitRule[],
  labels: Readonly<Record<string, string>>,
  self: string,
  sources: (key: string) => ReadonlySet<string> | undefined,
): { rule: string; by: string } | undefined {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (!matchesAll(r.target, labels)) continue;
    const fps = sources(inhibitKey(i, r, labels));
    if (!fps) continue;
    for (const fp of fps) if (fp !== self) return { rule: r.name, by: fp };
  }
  return undefined;
}
