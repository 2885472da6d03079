import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config, Role } from '../config/index.js';

/**
 * Bearer tokens with roles. A route asks for a permission; a role grants a set of them:
 *
 *   viewer   read                      (NOC screens, care agents' lookups, Prometheus)
 *   operator read, operate             (ack, silence)
 *   ingest   ingest                    (machines pushing samples and complaints; cannot read)
 *   admin    read, operate, ingest, admin (reload)
 *
 * With no tokens configured there is no authentication at all, which is only safe on loopback: the
 * daemon then refuses to listen anywhere else (see daemon/http.ts).
 */
export type Permission = 'read' | 'operate' | 'ingest' | 'admin';

const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  operator: ['read', 'operate'],
  ingest: ['ingest'],
  admin: ['read', 'operate', 'ingest', 'admin'],
};

/** The roles that hold a permission, in GRANTS' order (for the API document). */
export function rolesWith(permission: Permission): Role[] {
  return (Object.keys(GRANTS) as Role[]).filter((role) => GRANTS[role].includes(permission));
}

export interface Principal {
  name: string;
  role: Role;
}

export type AuthDecision = { ok: true; principal?: Principal } | { ok: false; status: 401 | 403; error: string };

export class Authenticator {
  private tokens: { digest: Buffer; principal: Principal }[] = [];

  constructor(cfg: Config['auth']) {
    this.update(cfg);
  }

  /** Replaces the token list (a reload after a rotation): the old tokens stop working at once. */
  update(cfg: Config['auth']): void {
    this.tokens = cfg.tokens.map((t) => ({
      digest: digest(t.token.reveal()),
      principal: { name: t.name, role: t.role },
    }));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  decide(authorization: string | undefined, needs: Permission): AuthDecision {
    if (!this.enabled) return { ok: true };
    const token = presentedToken(authorization);
    if (token === undefined) return { ok: false, status: 401, error: 'missing bearer token' };
    const presented = digest(token);
    // Compare against every token so the time taken does not reveal which one (or whether one) matched.
    let principal: Principal | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, presented)) principal = t.principal;
    if (!principal) return { ok: false, status: 401, error: 'unknown token' };
    if (!GRANTS[principal.role].includes(needs))
      return { ok: false, status: 403, error: `role ${principal.role} may not ${needs}` };
    return { ok: true, principal };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The token in an Authorization header: `Bearer <t>`, or the forms InfluxDB clients send to `/write`
 * — `Token <t>` (InfluxDB 2 style) and HTTP Basic with the token as the password (Telegraf's and the
 * `influx` CLI's username/password). Never from the URL: tokens in URLs end up in logs.
 */
export function presentedToken(authorization: string | undefined): string | undefined {
  const m = /^(Bearer|Token|Basic)\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  if (m[1]!.toLowerCase() !== 'basic') return m[2]!;
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
}
