import { CellInventory, fingerprint, loadInventoryFile } from '../config/index.js';
import type { Inventory } from '../model/index.js';
import type { House } from './house/index.js';
import type { Simulation } from './simulation.js';

/**
 * The inventory part: one immutable Inventory value — the simulator's cells, or the `inventory` CSV —
 * replaced as a whole when a reload re-reads the file (also when only its content changed: the path
 * alone says nothing), announced on the bus for the parts that index it.
 */
export function startInventory(h: House, sim: Simulation | undefined): () => Inventory {
  const log = h.logFor('inventory');
  const load = (file: string | undefined): Inventory | undefined => {
    if (!file) return CellInventory.empty;
    const { cells, problems } = loadInventoryFile(file);
    for (const p of problems) log.warn({ inventory: file }, `inventory row rejected: ${p}`);
    // An unreadable file, or one without the required columns, is a broken edit: not a network of no cells.
    if (cells.length === 0 && problems.length > 0) return undefined;
    log.info({ inventory: file, cells: cells.length, rejected: problems.length }, 'inventory loaded');
    return CellInventory.of(cells);
  };
  let current: Inventory = sim
    ? CellInventory.of(sim.network.cells)
    : (load(h.config.inventory) ?? CellInventory.empty);
  let version = fingerprint(current.cells);
  // The simulator's network is fixed for the process: a changed `inventory` key then needs a restart.
  if (!sim) {
    h.onReload(
      'inventory',
      (file) => {
        const next = load(file);
        if (!next) {
          log.error({ inventory: file }, 'inventory unusable; keeping the running one');
          return { applied: true, report: { inventory: current.size } };
        }
        const nextVersion = fingerprint(next.cells);
        const changed = nextVersion !== version;
        if (changed) {
          current = next;
          version = nextVersion;
          h.bus.emit('inventory', { at: h.clock.now(), inventory: next });
        }
        return { applied: true, changed, report: { inventory: next.size } };
      },
      { everyReload: true },
    );
  }
  return () => current;
}
