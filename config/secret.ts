import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * A credential from the config (token, community, key, password). It renders as "[redacted]" in every
 * way a value can reach a log line or an API answer — String(), JSON, util.inspect — so a logged
 * config can never leak it; only `reveal()` hands out the value, at the one place that needs it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

/**
 * A digest of a config value that *does* see secrets (as hashes, never in clear): two configs that
 * differ only by a rotated token or key get different fingerprints. JSON.stringify cannot do this —
 * it prints every Secret as "[redacted]", so a rotation would look like no change at all.
 */
export function fingerprint(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (v instanceof Secret) return { secret: createHash('sha256').update(v.reveal()).digest('hex') };
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)) ?? 'undefined')
    .digest('hex');
}
