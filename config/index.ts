/**
 * Configuration: one YAML (or JSON) file, read once at start (and again on SIGHUP), checked against
 * one schema. Loading either returns a complete, typed Config with every default filled in, or throws
 * a ConfigError that lists *every* problem as `path: message` — an operator fixes a file in one pass.
 *
 * Secrets never sit in the file in clear unless the operator wants them to: any string may use
 * `${VAR}` (environment), and any secret key `x` may be given as `xFile: /path` instead (the file's
 * trimmed content). Secret values become `Secret` objects that print as "[redacted]".
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, crossCheck, type Config } from './schema.js';

export * from './schema.js';
export { Secret, fingerprint } from './secret.js';
export { parseDuration } from './units.js';
export { detectionSettings } from './detection.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Keys whose value is a credential, and which may therefore also be given as `<key>File`. */
const SECRET_KEYS = new Set(['token', 'password', 'community', 'authKey', 'privKey', 'secret']);

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory that relative `*File` paths and `dataDir`/`inventory` are resolved against. */
  baseDir?: string;
}

export function loadConfigFile(file: string, opts: Omit<LoadOptions, 'baseDir'> = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(raw, { ...opts, baseDir: dirname(resolve(file)) });
}

/** Validates an already-parsed config object (YAML, JSON, or built in code). */
export function parseConfig(raw: unknown, opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? process.cwd();
  const problems: string[] = [];
  const substituted = substitute(raw, [], env, baseDir, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) problems.push(...formatIssues(result.error.issues));
  problems.push(...crossCheck(substituted));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const cfg = result.data;
  cfg.dataDir = resolveFrom(baseDir, cfg.dataDir);
  if (cfg.inventory) cfg.inventory = resolveFrom(baseDir, cfg.inventory);
  return cfg;
}

function resolveFrom(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch the input was evidently aiming at (the one that failed deeper than its root),
      // so `peak: { from: "25:00" }` says what is wrong with `from`, not just "Invalid input".
      const aimed = issue.errors.filter((errs) =>
        errs.some((e) => e.path.length > 0 || (e.code !== 'invalid_type' && e.code !== 'invalid_value')),
      );
      if (aimed.length === 1) return formatIssues(aimed[0]!.map((e) => ({ ...e, path: [...issue.path, ...e.path] })));
      const expected = issue.errors.map((errs) => errs[0]?.message.replace(/^Invalid input: /, '')).join('; or ');
      return [`${formatPath(issue.path)}: ${expected}`];
    }
    return [`${formatPath(issue.path)}: ${issue.message}`];
  });
}

/** Replaces `${VAR}` in strings and turns `xFile` keys of secrets into `x`, collecting problems. */
function substitute(
  value: unknown,
  path: PropertyKey[],
  env: NodeJS.ProcessEnv,
  baseDir: string,
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string | undefined) => {
      if (match === '$$') return '$';
      const v = env[name!];
      if (v === undefined) {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return match; // keep the text, so the schema does not add a second, misleading error here
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, i], env, baseDir, problems));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const secretKey = key.endsWith('File') ? key.slice(0, -'File'.length) : undefined;
    if (secretKey && SECRET_KEYS.has(secretKey)) {
      const here = [...path, key];
      if (secretKey in value) {
        problems.push(`${formatPath(here)}: give either ${secretKey} or ${key}, not both`);
        continue;
      }
      const file = substitute(v, here, env, baseDir, problems);
      if (typeof file !== 'string') {
        problems.push(`${formatPath(here)}: expected a file path`);
        continue;
      }
      try {
        out[secretKey] = readFileSync(resolveFrom(baseDir, file), 'utf8').trim();
      } catch (err) {
        problems.push(
          `${formatPath(here)}: cannot read secret file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
        out[secretKey] = `(unreadable ${key})`; // a stand-in, so the schema does not add a second error here
      }
      continue;
    }
    out[key] = substitute(v, [...path, key], env, baseDir, problems);
  }
  return out;
}
