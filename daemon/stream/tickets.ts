import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock/index.js';
import type { EpochMs } from '../../model/index.js';
import type { Principal } from '../auth.js';

export interface Ticket {
  ticket: string;
  expiresAt: EpochMs;
}

export type Redemption =
  | { ok: true; principal?: Principal }
  | { ok: false; reason: 'unknown ticket' | 'ticket expired' | 'ticket already used' };

interface Issued {
  expiresAt: EpochMs;
  principal?: Principal;
  used: boolean;
}

/**
 * Single-use, short-lived stream tickets for browsers, whose WebSocket API cannot send an
 * Authorization header: a page holding a token asks `POST /stream/ticket` (bearer auth, read
 * permission) and opens `/stream?ticket=…`. The token itself never goes in a URL; a ticket in one is
 * worth little — it expires in seconds and works once, as whoever asked for it.
 *
 * Expiry is judged on a *real-time* clock (the demo's accelerated clock would expire a 30 s ticket in
 * half a second). A used or expired ticket is remembered until a TTL after its expiry, so the answer
 * can say which it was; the book is pruned on every call (tickets are issued in expiry order, so the
 * oldest are at the front of the map) and bounded in size.
 */
export class StreamTickets {
  private readonly issued = new Map<string, Issued>();

  constructor(
    private readonly wallClock: Clock,
    readonly ttlMs = 30_000,
    private readonly maxOutstanding = 10_000,
  ) {}

  issue(principal?: Principal): Ticket {
    const now = this.wallClock.now();
    this.prune(now);
    // A flood of requests must not grow the book without bound: the oldest outstanding go first.
    while (this.issued.size >= this.maxOutstanding) this.issued.delete(this.issued.keys().next().value!);
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = now + this.ttlMs;
    this.issued.set(ticket, { expiresAt, used: false, ...(principal ? { principal } : {}) });
    return { ticket, expiresAt };
  }

  redeem(ticket: string): Redemption {
    const now = this.wallClock.now();
    this.prune(now);
    const t = this.issued.get(ticket);
    if (!t) return { ok: false, reason: 'unknown ticket' };
    if (t.used) return { ok: false, reason: 'ticket already used' };
    if (now >= t.expiresAt) return { ok: false, reason: 'ticket expired' };
    t.used = true;
    return t.principal ? { ok: true, principal: t.principal } : { ok: true };
  }

  get size(): number {
    return this.issued.size;
  }

  private prune(now: EpochMs): void {
    for (const [key, t] of this.issued) {
      if (now < t.expiresAt + this.ttlMs) break;
      this.issued.delete(key);
    }
  }
}
