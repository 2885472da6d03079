import type { Sample } from '../model/index.js';
import type { SeriesReader } from '../store/index.js';
import { byCell } from '../store/reading.js';
import type { House } from './house/index.js';

/**
 * The newest sample of every cell, in memory. The board asks for it every 2 s per viewer; asking the
 * store each time means an unbounded "last per series" query on InfluxDB (every shard of the
 * retention). The daemon writes every sample itself, so it keeps the answer: seeded once from the
 * store at start (what earlier runs wrote), then updated as samples are accepted.
 */
export class LatestSamples {
  private readonly byCell = new Map<string, Sample>();

  async seed(reader: SeriesReader): Promise<void> {
    this.update(await reader.latest());
  }

  /** Keeps a sample if it is newer than what is known for its cell (late or replayed data is older). */
  update(samples: readonly Sample[]): void {
    for (const s of samples) {
      const known = this.byCell.get(s.cell);
      if (!known || s.ts >= known.ts) this.byCell.set(s.cell, s);
    }
  }

  latest(cells?: readonly string[]): Sample[] {
    if (cells) return cells.map((c) => this.byCell.get(c)).filter((s): s is Sample => s !== undefined);
    return [...this.byCell.values()].sort(byCell);
  }
}

/**
 * The latest-KPI part: seeded from the store, then fed every accepted sample from the bus. A store that
 * cannot be read at start (InfluxDB down: the write pipeline spools meanwhile) leaves it to fill as
 * samples arrive — the daemon must run to say the store is down.
 */
export async function startLatest(h: House, reader: SeriesReader): Promise<LatestSamples> {
  const latest = new LatestSamples();
  await latest
    .seed(reader)
    .catch((err: unknown) =>
      h.logFor('latest').warn({ err }, 'latest KPIs could not be read from the store; they fill as samples arrive'),
    );
  h.bus.on('samples', 'latest-kpis', (e) => latest.update(e.samples));
  return latest;
}
