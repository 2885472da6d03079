import type { LinkSample, Sample, SampleSource } from '../../model/index.js';

/*
 * The field table every sample decoder checks against — JSON objects, CSV rows and mapped line-protocol
 * points alike — so a value means the same and has the same sane range whichever way it arrived.
 *
 * Ranges are physical or protocol limits, not "normal" values: they catch unit mix-ups (kbit/s sent as
 * Mbit/s, centi-dB sent as dB, a fraction sent as a percent would still pass — ranges cannot see that)
 * and garbage, never a bad cell. RSRP −160..−20 dBm and RSRQ −45..20 dB cover 3GPP's extended reporting
 * ranges (TS 36.133 §9.1.4: −156..−31 dBm, −34..2.5 dB) with room; SINR −30..60 dB the same.
 */

export interface NumberSpec {
  min: number;
  max: number;
  /** min itself is excluded (an interval of 0 s describes nothing). */
  minExclusive?: boolean;
}

export type CellNumberField = Exclude<keyof Sample, 'cell' | 'ts' | 'source' | 'available'>;
export type LinkNumberField = Exclude<keyof LinkSample, 'link' | 'site' | 'ts' | 'source' | 'operUp'>;

const DAY_S = 86_400;

export const CELL_NUMBERS: Readonly<Record<CellNumberField, NumberSpec>> = {
  intervalS: { min: 0, max: DAY_S, minExclusive: true },
  dlMbps: { min: 0, max: 100_000 },
  ulMbps: { min: 0, max: 100_000 },
  latencyMs: { min: 0, max: 600_000 },
  rsrpDbm: { min: -160, max: -20 },
  rsrqDb: { min: -45, max: 20 },
  sinrDb: { min: -30, max: 60 },
  prbUtilPct: { min: 0, max: 100 },
  activeUsers: { min: 0, max: 10_000_000 },
  dlVolumeMB: { min: 0, max: 1e9 },
  ulVolumeMB: { min: 0, max: 1e9 },
};

export const LINK_NUMBERS: Readonly<Record<LinkNumberField, NumberSpec>> = {
  intervalS: { min: 0, max: DAY_S, minExclusive: true },
  inMbps: { min: 0, max: 10_000_000 },
  outMbps: { min: 0, max: 10_000_000 },
  speedMbps: { min: 0, max: 10_000_000 },
  utilPct: { min: 0, max: 100 },
  inErrors: { min: 0, max: 1e15 },
  outErrors: { min: 0, max: 1e15 },
};

export const CELL_NUMBER_FIELDS = Object.keys(CELL_NUMBERS) as CellNumberField[];
export const LINK_NUMBER_FIELDS = Object.keys(LINK_NUMBERS) as LinkNumberField[];

export const SAMPLE_SOURCES: readonly SampleSource[] = ['snmp', 'probe', 'push', 'sim', 'import'];

/** Ids (cell, link, site): what survives every store and the line protocol unharmed. */
export const MAX_ID_LENGTH = 128;

/** Why a number is out of its field's range, or undefined. NaN and ±Infinity are never in range. */
export function rangeProblem(v: number, spec: NumberSpec): string | undefined {
  if (spec.minExclusive ? v > spec.min : v >= spec.min) {
    if (v <= spec.max) return undefined;
  } else if (v !== v) {
    return 'is not a number';
  }
  if (v === Infinity || v === -Infinity) return `${v} is not a finite number`;
  return `${v} is outside ${spec.minExclusive ? '(' : '['}${spec.min}, ${spec.max}]`;
}

/**
 * Why a string cannot be an id, or undefined. Control characters and a trailing backslash cannot be
 * carried as a line-protocol tag value (store/lineprotocol.ts refuses them): refusing them here gives
 * the sender the reason instead of a dead letter later.
 */
export function idProblem(v: unknown, what: string): string | undefined {
  if (typeof v !== 'string') return `${what} must be a string`;
  const n = v.length;
  if (n === 0) return `${what} must not be empty`;
  if (n > MAX_ID_LENGTH) return `${what} is ${n} characters long (at most ${MAX_ID_LENGTH})`;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 127) return `${what} contains a control character`;
  }
  if (v.charCodeAt(n - 1) === 92) return `${what} must not end with a backslash`;
  return undefined;
}

export function isSource(v: unknown): v is SampleSource {
  return v === 'snmp' || v === 'probe' || v === 'push' || v === 'sim' || v === 'import';
}
