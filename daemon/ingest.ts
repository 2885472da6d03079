import type { Logger } from 'pino';
import type { Accumulator } from '../collectors/index.js';
import type { Cell, CollectionGap, LinkSample, Sample } from '../model/index.js';
import type { Point, SeriesWriter } from '../store/index.js';
import { linkPoint, samplePoint } from '../store/schema.js';
import type { IngestMetrics } from './metrics.js';

export interface IngestDeps {
  writer: SeriesWriter;
  /** Collection gaps are records, not series: they go to the record store. */
  recordGaps: (gaps: CollectionGap[]) => void;
  inventory: () => ReadonlyMap<string, Cell>;
  metrics: IngestMetrics;
  log: Logger;
  /** Every accepted sample also goes here (later: the detector); must not throw. */
  onSamples?: (samples: Sample[]) => void;
}

/** Site → region per inventory version (the inventory map is replaced, never mutated, on reload). */
const siteRegionCache = new WeakMap<ReadonlyMap<string, Cell>, Map<string, string>>();

/**
 * The daemon's Accumulator. Collectors hand it values synchronously; it gathers everything added in
 * the same turn of the event loop into one export, so a poll of a 6-cell site becomes one call into
 * the write pipeline, not six. `drain()` waits for every export started so far — the stop sequence
 * calls it between stopping the collectors and flushing the writer.
 */
export class Ingest implements Accumulator {
  private points: Point[] = [];
  private samples: Sample[] = [];
  private gaps: CollectionGap[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: IngestDeps) {}

  addSample(sample: Sample): void {
    const cell = this.deps.inventory().get(sample.cell);
    this.points.push(samplePoint(sample, cell));
    this.samples.push(sample);
    this.deps.metrics.samples.inc({ source: sample.source });
    this.schedule();
  }

  addLink(link: LinkSample): void {
    const region = this.siteRegion(link.site);
    this.points.push(linkPoint(link, region));
    this.deps.metrics.links.inc();
    this.schedule();
  }

  addGap(gap: CollectionGap): void {
    this.gaps.push(gap);
    this.deps.metrics.gaps.inc({ reason: gap.reason });
    this.schedule();
  }

  addError(target: string, err: Error): void {
    this.deps.metrics.collectorErrors.inc();
    this.deps.log.warn({ target, err: err.message }, 'collector error');
  }

  /** Resolves when everything added so far has been exported (durable) or its failure logged. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private siteRegion(site: string): string | undefined {
    const inventory = this.deps.inventory();
    let regions = siteRegionCache.get(inventory);
    if (!regions) {
      regions = new Map([...inventory.values()].map((c) => [c.site, c.region]));
      siteRegionCache.set(inventory, regions);
    }
    return regions.get(site);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const points = this.points;
    const samples = this.samples;
    const gaps = this.gaps;
    this.points = [];
    this.samples = [];
    this.gaps = [];
    if (gaps.length > 0) {
      try {
        this.deps.recordGaps(gaps);
      } catch (err) {
        this.deps.log.error({ err, gaps: gaps.length }, 'could not record collection gaps');
      }
    }
    if (samples.length > 0) this.deps.onSamples?.(samples);
    if (points.length === 0) return;
    const done = this.deps.writer.export(points).then(
      () => undefined,
      (err: unknown) => {
        // The pipeline spools and dead-letters on its own; reaching here means it refused the batch
        // outright (e.g. shut down). Count and log it so the loss is never silent.
        this.deps.metrics.exportFailures.inc();
        this.deps.log.error({ err, points: points.length }, 'store refused a batch of points');
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}
