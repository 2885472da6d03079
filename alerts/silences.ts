/**
 * Silences, decided purely: a silence mutes the notifications of every alert its matchers all match,
 * from `startsAt` until `endsAt`. It never stops an alert from being tracked, stored or streamed — the
 * board still shows it, marked silenced.
 *
 * The rules (Alertmanager's, with its validation):
 * - a silence is `pending` before `startsAt`, `active` in [startsAt, endsAt), `expired` from `endsAt`;
 *   expiring one early sets `endsAt` to now;
 * - it needs at least one matcher, and at least one matcher that does not match the empty string, so
 *   that `{}` or `alertname=~".*"` cannot mute everything by accident;
 * - `endsAt` must be after `startsAt`; `createdBy` and `comment` are required (who and why).
 */
import type { EpochMs } from '../model/index.js';
import { checkMatcher, matches, matchesAll, type Matcher } from './matchers.js';

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: EpochMs;
  endsAt: EpochMs;
  createdBy: string;
  comment: string;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

export type SilenceStatus = 'pending' | 'active' | 'expired';

export function silenceStatus(s: Pick<Silence, 'startsAt' | 'endsAt'>, now: EpochMs): SilenceStatus {
  if (now >= s.endsAt) return 'expired';
  if (now < s.startsAt) return 'pending';
  return 'active';
}

/** Problems with a silence as `field: message`; empty when it is valid. */
export function silenceProblems(
  s: Pick<Silence, 'matchers' | 'startsAt' | 'endsAt' | 'createdBy' | 'comment'>,
): string[] {
  const problems: string[] = [];
  if (s.matchers.length === 0) problems.push('matchers: at least one matcher is required');
  s.matchers.forEach((m, i) => {
    const c = checkMatcher(m);
    if (!c.ok) problems.push(`matchers.${i}: ${c.reason}`);
  });
  if (s.matchers.length > 0 && problems.length === 0 && s.matchers.every((m) => matches(m, {})))
    problems.push(
      'matchers: at least one matcher must not match the empty string (this silence would mute everything)',
    );
  if (!Number.isFinite(s.startsAt) || !Number.isFinite(s.endsAt)) problems.push('endsAt: start and end must be times');
  else if (s.endsAt <= s.startsAt) problems.push('endsAt: must be after startsAt');
  if (s.createdBy.trim() === '') problems.push('createdBy: required');
  if (s.comment.trim() === '') problems.push('comment: required (say why)');
  return problems;
}

/** Ids of the silences that mute `labels` at `now`, sorted. */
export function silencedBy(
  labels: Readonly<Record<string, string>>,
  silences: Iterable<Silence>,
  now: EpochMs,
): string[] {
  const ids: string[] = [];
  for (const s of silences) if (silenceStatus(s, now) === 'active' && matchesAll(s.matchers, labels)) ids.push(s.id);
  return ids.sort();
}
