/**
 * The simulated care desk: how each simulated complaint is handled — when it is first answered, when
 * it is resolved, and whether the customer says they are satisfied — as a pure function of (seed,
 * complaint), so the demo's handling targets have something real to show. The shape follows a
 * desk that mostly meets its 72-hour promise: most answers within a working day, a tail that slips
 * past 72 hours, a few complaints never answered; network complaints the network explains are
 * resolved more often and leave happier customers.
 */
import type { Complaint, EpochMs } from '../model/index.js';
import { hashString, unit } from './seeded.js';

const HOUR = 3_600_000;
const STREAM_CARE = 9_001;

export type CareEvent =
  | { kind: 'responded'; at: EpochMs }
  | { kind: 'resolved'; at: EpochMs }
  | { kind: 'feedback'; at: EpochMs; satisfied: boolean; score: number };

export function careEvents(seed: number, c: Complaint): CareEvent[] {
  const h = hashString(c.id);
  const u = (field: number) => unit(seed, STREAM_CARE, h, field);
  const out: CareEvent[] = [];
  // 3% are never answered; of the rest ~90% within 24 h, the tail up to ~4 days.
  if (u(0) < 0.03) return out;
  const responseH = u(1) < 0.9 ? 0.5 + 23.5 * u(2) : 24 + 72 * u(3);
  const responded = c.receivedAt + Math.round(responseH * HOUR);
  out.push({ kind: 'responded', at: responded });
  // ~92% resolved, within a week of the answer.
  if (u(4) < 0.92) {
    const resolved = responded + Math.round((2 + 120 * u(5) ** 2) * HOUR);
    out.push({ kind: 'resolved', at: resolved });
    // Half leave feedback; ~87% of those satisfied (fewer for attitude complaints).
    if (u(6) < 0.5) {
      const satisfied = u(7) < (c.category === 'attitude' ? 0.7 : 0.88);
      out.push({
        kind: 'feedback',
        at: resolved + Math.round((1 + 47 * u(8)) * HOUR),
        satisfied,
        score: satisfied ? 7 + Math.floor(u(9) * 4) : 1 + Math.floor(u(9) * 5),
      });
    }
  }
  return out;
}
