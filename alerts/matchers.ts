/**
 * Label matchers, Alertmanager's: `=` and `!=` compare strings, `=~` and `!~` test a regular
 * expression that is *anchored* at both ends (`region=~"north"` does not match "north-east"), and a
 * missing label reads as the empty string. Shared by silences and inhibition rules.
 */

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export type MatcherCheck = { ok: true } | { ok: false; reason: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// Compiled regexes are cached by source: silences and inhibit rules match on every flush.
const compiled = new Map<string, RegExp>();

function regex(value: string): RegExp {
  let re = compiled.get(value);
  if (!re) {
    re = new RegExp(`^(?:${value})$`, 'u');
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(value, re);
  }
  return re;
}

/** Is the matcher well-formed (name, operator, a regex that compiles)? */
export function checkMatcher(m: Matcher): MatcherCheck {
  if (!LABEL_NAME.test(m.name)) return { ok: false, reason: `"${m.name}" is not a label name` };
  if (!['=', '!=', '=~', '!~'].includes(m.op)) return { ok: false, reason: `unknown operator "${m.op}"` };
  if (m.op === '=~' || m.op === '!~') {
    try {
      regex(m.value);
    } catch (err) {
      return { ok: false, reason: `invalid regular expression: ${(err as Error).message}` };
    }
  }
  return { ok: true };
}

export function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return regex(m.value).test(v);
    case '!~':
      return !regex(m.value).test(v);
  }
}

/** All matchers match (an empty list matches everything: callers that must not allow that check). */
export function matchesAll(ms: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of ms) if (!matches(m, labels)) return false;
  return true;
}

const MATCHER_TEXT = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/;

/** `region="north"`, `cell=~"S0001-.*"`, `severity!=warning` → a Matcher; undefined when malformed. */
export function parseMatcher(text: string): Matcher | undefined {
  const m = MATCHER_TEXT.exec(text);
  if (!m) return undefined;
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
  return { name: m[1]!, op: m[2] as MatchOp, value };
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
