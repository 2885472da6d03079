/**
 * Table rows → Samples and LinkSamples, given the previous poll's counter readings. Pure: no I/O and
 * no clock (the caller passes the tick and the elapsed time), so the whole mapping is tested with
 * hand-built varbinds.
 */
import type { Cell, EpochMs, LinkSample, Sample } from '../../model/index.js';
import { counterDelta, octetRate, type CounterKind } from './counters.js';
import type { CellProfile, FieldSpec, LinkProfile } from './profiles.js';
import { ObjectType, type Varbind } from './session.js';
import type { TableData } from './walk.js';

/** What one row's counters read last time: column position → raw value; plus its discontinuity stamp. */
export interface RowCounters {
  values: Map<number, bigint>;
  discontinuity?: number;
}

/** Counter state of one target: row index → readings. Rows gone from the table are dropped. */
export type CounterState = Map<string, RowCounters>;

export interface MapContext {
  target: string;
  site?: string;
  tick: EpochMs;
  /** Seconds since the previous successful poll; undefined on the first. */
  elapsedS?: number;
  /** Stamped as Sample.intervalS. */
  intervalS: number;
  /** The agent restarted since the previous poll (sysUpTime): every counter starts over. */
  reboot: boolean;
  prev: CounterState;
  /** Row index → inventory cell, for tables without a cell-id column (or rows whose id is missing). */
  cellByIndex: (index: string) => Cell | undefined;
}

export interface Mapped<T> {
  items: T[];
  next: CounterState;
  /** Ids (cells or links) whose counters were reset or impossible this poll: a counter-reset gap. */
  resets: string[];
  /** Row indexes that could not be mapped to a cell (no id value, not in the inventory). */
  unmapped: string[];
}

/** A numeric value of any SNMP integer-ish type; Counter64 Buffers become Numbers (precision loss is fine for gauges). */
export function numeric(vb: Varbind | undefined): number | undefined {
  if (!vb) return undefined;
  switch (vb.type) {
    case ObjectType.Integer:
    case ObjectType.Counter32:
    case ObjectType.Gauge32:
    case ObjectType.TimeTicks:
      return typeof vb.value === 'number' ? vb.value : undefined;
    case ObjectType.Counter64: {
      const b = counterValue(vb);
      return b === undefined ? undefined : Number(b);
    }
    case ObjectType.OctetString: {
      const n = Number.parseFloat(text(vb) ?? '');
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

/** A counter as BigInt: Counter64 arrives as a 1–9 byte big-endian Buffer, Counter32 as a number. */
export function counterValue(vb: Varbind | undefined): bigint | undefined {
  if (!vb) return undefined;
  if (vb.type === ObjectType.Counter64) {
    const buf = vb.value;
    if (typeof buf === 'bigint') return buf;
    if (!Buffer.isBuffer(buf)) return typeof buf === 'number' ? BigInt(Math.trunc(buf)) : undefined;
    let v = 0n;
    for (const byte of buf) v = (v << 8n) | BigInt(byte);
    return BigInt.asUintN(64, v);
  }
  if (
    vb.type === ObjectType.Counter32 ||
    vb.type === ObjectType.Gauge32 ||
    vb.type === ObjectType.Integer ||
    vb.type === ObjectType.TimeTicks
  ) {
    return typeof vb.value === 'number' && vb.value >= 0 ? BigInt(Math.trunc(vb.value)) : undefined;
  }
  return undefined;
}

function counterKind(vb: Varbind): CounterKind {
  return vb.type === ObjectType.Counter32 ? 'counter32' : 'counter64';
}

export function text(vb: Varbind | undefined): string | undefined {
  if (!vb) return undefined;
  if (Buffer.isBuffer(vb.value)) return vb.value.toString('utf8').replace(/\0+$/, '');
  if (typeof vb.value === 'string') return vb.value;
  if (typeof vb.value === 'number') return String(vb.value);
  return undefined;
}

/**
 * raw × scale, computed as raw ÷ (1/scale) when the scale is the inverse of an integer (0.01, 0.001,
 * 1e-6): decimal scales are not exact in binary, and -1320 × 0.01 would be -13.200000000000001.
 */
export function applyScale(raw: number, scale: number): number {
  if (scale === 1) return raw;
  const inverse = 1 / scale;
  const whole = Math.round(inverse);
  return whole > 1 && Math.abs(inverse - whole) < 1e-6 * whole ? raw / whole : raw * scale;
}

/** Fields that say nothing while a cell is down (the agent reports zeros, not measurements). */
const MEASURED_WHILE_UP: ReadonlySet<string> = new Set([
  'dlMbps',
  'ulMbps',
  'latencyMs',
  'rsrpDbm',
  'rsrqDb',
  'sinrDb',
  'prbUtilPct',
  'activeUsers',
]);

function fieldValue(spec: FieldSpec, vb: Varbind): number | boolean | undefined {
  switch (spec.kind) {
    case 'enum': {
      const raw = numeric(vb);
      const mapped = raw === undefined ? undefined : spec.map?.[String(raw)];
      if (spec.field === 'available') return typeof mapped === 'boolean' ? mapped : undefined;
      if (typeof mapped === 'number') return applyScale(mapped, spec.scale);
      return spec.map ? undefined : raw === undefined ? undefined : applyScale(raw, spec.scale);
    }
    case 'string': {
      const n = Number.parseFloat(text(vb) ?? '');
      return Number.isFinite(n) ? applyScale(n, spec.scale) : undefined;
    }
    default: {
      const n = numeric(vb);
      return n === undefined ? undefined : applyScale(n, spec.scale);
    }
  }
}

export function mapCellRows(profile: CellProfile, table: TableData, ctx: MapContext): Mapped<Sample> {
  const items: Sample[] = [];
  const next: CounterState = new Map();
  const resets: string[] = [];
  const unmapped: string[] = [];
  for (const [index, row] of table.rows) {
    const idText = profile.cellIdPos !== undefined ? text(row[profile.cellIdPos])?.trim() : undefined;
    const cell = idText ? idText : ctx.cellByIndex(index)?.id;
    if (!cell) {
      unmapped.push(index);
      continue;
    }
    const sample: Sample = { cell, ts: ctx.tick, source: 'snmp', intervalS: ctx.intervalS };
    const before = ctx.prev.get(index);
    const counters: RowCounters = { values: new Map() };
    let reset = false;
    for (const spec of profile.fields) {
      const vb = row[spec.pos];
      if (!vb) continue;
      if (spec.kind === 'counter') {
        const cur = counterValue(vb);
        if (cur === undefined) continue;
        counters.values.set(spec.pos, cur);
        const d = counterDelta(before?.values.get(spec.pos), cur, counterKind(vb), { discontinuity: ctx.reboot });
        if (!d.ok) {
          if (d.reason !== 'first') reset = true;
          continue;
        }
        // Volumes are per interval; any other counter-mapped field is a per-second rate.
        const isVolume = spec.field === 'dlVolumeMB' || spec.field === 'ulVolumeMB';
        if (!isVolume && !(ctx.elapsedS && ctx.elapsedS > 0)) continue;
        const v = applyScale(Number(d.delta), spec.scale);
        (sample as unknown as Record<string, number>)[spec.field] = isVolume ? v : v / ctx.elapsedS!;
        continue;
      }
      const v = fieldValue(spec, vb);
      if (v === undefined) continue;
      (sample as unknown as Record<string, number | boolean>)[spec.field] = v;
    }
    if (sample.available === false) {
      for (const f of MEASURED_WHILE_UP) delete (sample as unknown as Record<string, unknown>)[f];
    }
    if (reset) resets.push(cell);
    next.set(index, counters);
    items.push(sample);
  }
  return { items, next, resets, unmapped };
}

export function mapLinkRows(profile: LinkProfile, table: TableData, ctx: MapContext): Mapped<LinkSample> {
  const items: LinkSample[] = [];
  const next: CounterState = new Map();
  const resets: string[] = [];
  const p = profile.pos;
  const site = ctx.site ?? '';
  for (const [index, row] of table.rows) {
    const link = `${ctx.target}:${index}`;
    const sample: LinkSample = { link, site, ts: ctx.tick, source: 'snmp', intervalS: ctx.intervalS };
    const before = ctx.prev.get(index);
    const counters: RowCounters = { values: new Map() };
    const disc = numeric(row[p.discontinuity ?? -1]);
    if (disc !== undefined) counters.discontinuity = disc;
    const discontinuity =
      ctx.reboot || (before?.discontinuity !== undefined && disc !== undefined && disc !== before.discontinuity);

    const rawSpeed = numeric(row[p.speed]);
    const speedMbps = rawSpeed === undefined ? undefined : rawSpeed * p.speedScale;
    if (speedMbps !== undefined) sample.speedMbps = speedMbps;
    const oper = numeric(row[p.operStatus]);
    if (oper !== undefined) sample.operUp = oper === 1;

    let reset = false;
    const rate = (pos: number): number | undefined => {
      const vb = row[pos];
      const cur = counterValue(vb);
      if (!vb || cur === undefined) return undefined;
      counters.values.set(pos, cur);
      const r = octetRate(before?.values.get(pos), cur, counterKind(vb), ctx.elapsedS ?? 0, {
        ...(speedMbps !== undefined ? { speedMbps } : {}),
        discontinuity,
      });
      if (r.ok) return r.mbps;
      if (r.reason !== 'first') reset = true;
      return undefined;
    };
    const delta = (pos: number): number | undefined => {
      const vb = row[pos];
      const cur = counterValue(vb);
      if (!vb || cur === undefined) return undefined;
      counters.values.set(pos, cur);
      const d = counterDelta(before?.values.get(pos), cur, counterKind(vb), { discontinuity });
      if (d.ok) return Number(d.delta);
      if (d.reason !== 'first') reset = true;
      return undefined;
    };
    const inMbps = rate(p.inOctets);
    const outMbps = rate(p.outOctets);
    if (inMbps !== undefined) sample.inMbps = inMbps;
    if (outMbps !== undefined) sample.outMbps = outMbps;
    if (speedMbps !== undefined && speedMbps > 0 && (inMbps !== undefined || outMbps !== undefined)) {
      sample.utilPct = (Math.max(inMbps ?? 0, outMbps ?? 0) / speedMbps) * 100;
    }
    const inErrors = delta(p.inErrors);
    const outErrors = delta(p.outErrors);
    if (inErrors !== undefined) sample.inErrors = inErrors;
    if (outErrors !== undefined) sample.outErrors = outErrors;
    if (reset) resets.push(link);
    next.set(index, counters);
    items.push(sample);
  }
  return { items, next, resets, unmapped: [] };
}
