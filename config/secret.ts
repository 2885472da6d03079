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
