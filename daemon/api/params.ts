import { z } from 'zod';

/**
 * Query-string values shared by the routes: a time as epoch milliseconds or RFC 3339, a boolean as
 * `true`/`false`, a comma-separated list. Strict objects everywhere: an unknown parameter is a 400, so
 * a typo (`?regoin=`) never silently returns everything. The `.meta` descriptions are for the API
 * document (openapi.ts) and change no parse.
 */
export const timeParam = z
  .string()
  .transform((text, ctx) => {
    const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `expected epoch milliseconds or an RFC 3339 time, got "${text}"` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'epoch milliseconds or RFC 3339' });

export const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true');

export const dayParam = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a local day YYYY-MM-DD');

export const limitParam = z.coerce.number().int().min(1).max(10_000).meta({ description: 'at most this many' });

/** RFC 3339 in UTC with milliseconds, as the API writes times meant for people and integrations. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
