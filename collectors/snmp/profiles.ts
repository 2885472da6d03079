/**
 * Profiles: which table to read and how its columns become Sample or LinkSample fields.
 *
 * - `cell-table` (built in): DESIGN.md's cwCellEntry under the documentation enterprise arc.
 * - `if-mib` (built in): IF-MIB for transport links (ifXTable HC counters, ifHighSpeed,
 *   ifCounterDiscontinuityTime; ifTable oper status and errors). SNMPv1 cannot carry Counter64, so
 *   v1 targets read ifInOctets/ifOutOctets (Counter32, wrap-handled) and ifSpeed instead.
 * - profiles from the config: an operator maps a vendor's cell table column by column.
 *
 * Compiling turns config into flat column lists once, so the per-poll path only indexes arrays.
 */
import type { SnmpProfileConfig } from '../../config/index.js';
import { CW_CELL_COLUMNS, CW_CELL_ENTRY, TRUTH_VALUE, type SampleNumericField } from '../../model/index.js';

export type CellField = SampleNumericField | 'available';
export type ColumnKind = 'gauge' | 'counter' | 'string' | 'enum';

export interface FieldSpec {
  field: CellField;
  /** Position in the profile's column list. */
  pos: number;
  kind: ColumnKind;
  scale: number;
  map?: Record<string, boolean | number | string>;
}

export interface CellProfile {
  kind: 'cells';
  name: string;
  /** Full column OIDs to retrieve, in position order. */
  columns: string[];
  /** Position of the cell-id column, when the table has one. */
  cellIdPos?: number;
  fields: FieldSpec[];
}

export interface LinkProfile {
  kind: 'links';
  name: string;
  columns: string[];
  pos: {
    name?: number;
    inOctets: number;
    outOctets: number;
    /** Mbit/s (ifHighSpeed) or bit/s (ifSpeed), see `speedScale`. */
    speed: number;
    speedScale: number;
    discontinuity?: number;
    operStatus: number;
    inErrors: number;
    outErrors: number;
  };
}

export type Profile = CellProfile | LinkProfile;

export const SYS_UPTIME = '1.3.6.1.2.1.1.3';
export const SYS_UPTIME_INSTANCE = `${SYS_UPTIME}.0`;

/** DESIGN.md's default cell table (cwCellEntry), defined once in model/cell-table.ts. */
export const CELL_ENTRY = CW_CELL_ENTRY;

/** The built-in cell-table profile in config form, so it compiles through the same path as the operators'. */
export const CELL_TABLE_PROFILE: SnmpProfileConfig = {
  entry: CW_CELL_ENTRY,
  cellIdColumn: CW_CELL_COLUMNS.find((c) => c.field === 'id')!.column,
  columns: Object.fromEntries(
    CW_CELL_COLUMNS.filter((c) => c.field !== 'id').map((c) => [
      c.field,
      c.syntax === 'TruthValue'
        ? { column: c.column, kind: 'enum' as const, scale: c.scale, map: TRUTH_VALUE }
        : {
            column: c.column,
            kind: c.syntax === 'Counter64' ? ('counter' as const) : ('gauge' as const),
            scale: c.scale,
          },
    ]),
  ),
};

const IF_ENTRY = '1.3.6.1.2.1.2.2.1';
const IFX_ENTRY = '1.3.6.1.2.1.31.1.1.1';

export const IF_MIB = {
  ifSpeed: `${IF_ENTRY}.5`,
  ifOperStatus: `${IF_ENTRY}.8`,
  ifInOctets: `${IF_ENTRY}.10`,
  ifInErrors: `${IF_ENTRY}.14`,
  ifOutOctets: `${IF_ENTRY}.16`,
  ifOutErrors: `${IF_ENTRY}.20`,
  ifName: `${IFX_ENTRY}.1`,
  ifHCInOctets: `${IFX_ENTRY}.6`,
  ifHCOutOctets: `${IFX_ENTRY}.10`,
  ifHighSpeed: `${IFX_ENTRY}.15`,
  ifCounterDiscontinuityTime: `${IFX_ENTRY}.19`,
} as const;

export function ifMibProfile(version: '1' | '2c' | '3'): LinkProfile {
  if (version === '1') {
    const columns = [
      IF_MIB.ifInOctets,
      IF_MIB.ifOutOctets,
      IF_MIB.ifSpeed,
      IF_MIB.ifOperStatus,
      IF_MIB.ifInErrors,
      IF_MIB.ifOutErrors,
    ];
    return {
      kind: 'links',
      name: 'if-mib',
      columns,
      pos: { inOctets: 0, outOctets: 1, speed: 2, speedScale: 1e-6, operStatus: 3, inErrors: 4, outErrors: 5 },
    };
  }
  const columns = [
    IF_MIB.ifName,
    IF_MIB.ifHCInOctets,
    IF_MIB.ifHCOutOctets,
    IF_MIB.ifHighSpeed,
    IF_MIB.ifCounterDiscontinuityTime,
    IF_MIB.ifOperStatus,
    IF_MIB.ifInErrors,
    IF_MIB.ifOutErrors,
  ];
  return {
    kind: 'links',
    name: 'if-mib',
    columns,
    pos: {
      name: 0,
      inOctets: 1,
      outOctets: 2,
      speed: 3,
      speedScale: 1,
      discontinuity: 4,
      operStatus: 5,
      inErrors: 6,
      outErrors: 7,
    },
  };
}

function columnOid(entry: string, column: number | string): string {
  return typeof column === 'number' ? `${entry}.${column}` : column;
}

/** Compiles a cell profile from its config form. */
export function compileCellProfile(name: string, cfg: SnmpProfileConfig): CellProfile {
  const columns: string[] = [];
  const posOf = (oid: string): number => {
    const i = columns.indexOf(oid);
    if (i >= 0) return i;
    columns.push(oid);
    return columns.length - 1;
  };
  const cellIdPos = cfg.cellIdColumn !== undefined ? posOf(columnOid(cfg.entry, cfg.cellIdColumn)) : undefined;
  const fields: FieldSpec[] = [];
  for (const [field, spec] of Object.entries(cfg.columns) as [
    CellField,
    NonNullable<SnmpProfileConfig['columns'][CellField]>,
  ][]) {
    const map = spec.map ?? (field === 'available' ? TRUTH_VALUE : undefined);
    const kind = field === 'available' && spec.kind === 'gauge' && !spec.map ? 'enum' : spec.kind;
    fields.push({
      field,
      pos: posOf(columnOid(cfg.entry, spec.column)),
      kind,
      scale: spec.scale,
      ...(map ? { map } : {}),
    });
  }
  return { kind: 'cells', name, columns, ...(cellIdPos !== undefined ? { cellIdPos } : {}), fields };
}

export const BUILT_IN_PROFILES = ['cell-table', 'if-mib'] as const;

/** The profile a target uses, or an error naming what is missing. */
export function resolveProfile(
  name: string,
  version: '1' | '2c' | '3',
  defined: Record<string, SnmpProfileConfig>,
): Profile {
  if (name === 'if-mib') return ifMibProfile(version);
  const cfg = defined[name] ?? (name === 'cell-table' ? CELL_TABLE_PROFILE : undefined);
  if (!cfg)
    throw new Error(
      `unknown profile "${name}" (built-in: ${BUILT_IN_PROFILES.join(', ')}; defined: ${Object.keys(defined).join(', ') || 'none'})`,
    );
  return compileCellProfile(name, cfg);
}
