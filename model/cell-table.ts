import type { SampleNumericField } from './index.js';

/**
 * DESIGN.md's default SNMP cell table, `cwCellEntry` under the documentation enterprise arc: the one
 * definition that the built-in `cell-table` profile (collectors/snmp/profiles.ts) and the simulator's
 * agents (sim/agents.ts) are both derived from, so a column can never mean one thing to the agent and
 * another to the collector. No standard MIB carries per-cell radio KPIs; real deployments map their
 * vendor's table in a config profile of the same shape.
 */
export const CW_CELL_ENTRY = '1.3.6.1.4.1.32473.1.1.1';

export type CellTableSyntax = 'Integer32' | 'DisplayString' | 'TruthValue' | 'Counter64' | 'Gauge32';

export interface CellTableColumn {
  column: number;
  name: string;
  syntax: CellTableSyntax;
  /** What the column carries: the cell id, availability, or a Sample field. */
  field: 'id' | 'available' | SampleNumericField;
  /** raw × scale = the field in its model unit (kbit/s → Mbit/s 0.001, centi-dB → dB 0.01, octets → MB 1e-6). */
  scale: number;
}

/** The index column (not accessible) is column 1; these are columns 2–12, in order. */
export const CW_CELL_COLUMNS: readonly CellTableColumn[] = [
  { column: 2, name: 'cwCellId', syntax: 'DisplayString', field: 'id', scale: 1 },
  { column: 3, name: 'cwCellAvailable', syntax: 'TruthValue', field: 'available', scale: 1 },
  { column: 4, name: 'cwCellDlOctets', syntax: 'Counter64', field: 'dlVolumeMB', scale: 1e-6 },
  { column: 5, name: 'cwCellUlOctets', syntax: 'Counter64', field: 'ulVolumeMB', scale: 1e-6 },
  { column: 6, name: 'cwCellActiveUsers', syntax: 'Gauge32', field: 'activeUsers', scale: 1 },
  { column: 7, name: 'cwCellUeThpDlKbps', syntax: 'Gauge32', field: 'dlMbps', scale: 0.001 },
  { column: 8, name: 'cwCellUeThpUlKbps', syntax: 'Gauge32', field: 'ulMbps', scale: 0.001 },
  { column: 9, name: 'cwCellRsrpDbm', syntax: 'Integer32', field: 'rsrpDbm', scale: 1 },
  { column: 10, name: 'cwCellSinrCentiDb', syntax: 'Integer32', field: 'sinrDb', scale: 0.01 },
  { column: 11, name: 'cwCellRsrqCentiDb', syntax: 'Integer32', field: 'rsrqDb', scale: 0.01 },
  { column: 12, name: 'cwCellPrbUtilPct', syntax: 'Gauge32', field: 'prbUtilPct', scale: 1 },
];

/** TruthValue (SNMPv2-TC): 1 true, 2 false. */
export const TRUTH_VALUE = { '1': true, '2': false } as const;
