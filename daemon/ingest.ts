import type { Logger } from 'pino';
import type { Accumulator } from '../collectors/index.js';
import type { CollectionGap, CounterMetric, EpochMs, Inventory, LinkSample, Metrics, Sample } from '../model/index.js';
import type { Point, SeriesWriter } from '../store/index.js';
import { linkPoint, samplePoint } from '../store/schema.js';
import type { House } from './house/index.js';
import type { EventBus } from './house/events.js';

/** Counters of the ingest path between collectors and the store. */
export class IngestMetrics {
  readonly samples: CounterMetric<'source'>;
  readonly links: CounterMetric;
  readonly gaps: CounterMetric<'reason'>;
  readonly collectorErrors: CounterMetric;
  readonly exportFailures: CounterMetric;
  constructor(metrics: Metrics) {
    this.samples = metrics.counter({
      name: 'cellwatch_samples_total',
      help: 'Cell samples accepted from collectors',
      labelNames: ['source'],
    });
    this.links = metrics.counter({
      name: 'cellwatch_link_samples_total',
      help: 'Transport link samples accepted from collectors',
    });
    this.gaps = metrics.counter({
      name: 'cellwatch_collection_gaps_total',
      help: 'Polls that yielded no data, by reason',
      labelNames: ['reason'],
    });
    this.collectorErrors = metrics.counter({
      name: 'cellwatch_collector_errors_total',
      help: 'Errors reported by collectors',
    });
    this.exportFailures = metrics.counter({
      name: 'cellwatch_export_failures_total',
      help: 'Batches the store pipeline refused (see logs)',
    });
  }
}

export interface IngestDeps {
  writer: SeriesWriter;
  bus: EventBus;
  inventory: () => Inventory;
  metrics: IngestMetrics;
  log: Logger;
}

/**
 * Where collectors hand over what they gathered. Values arrive synchronously; everything added in the
 * same turn of the event loop becomes one export into the write pipeline (a poll of a 6-cell site is
 * one call, not six) and one event per kind on the bus (samples for the detector and the board, gaps
 * for the records and the alerts). `drain()` waits for every export started so far — the stop
 * sequence runs it after the collectors have stopped and before the stores flush.
 *
 * Real `setImmediate` here (not the injected timers): batching per event-loop turn is about the
 * process, not about time.
 */
export class Ingest {
  private points: Point[] = [];
  private samples: Sample[] = [];
  private links: LinkSample[] = [];
  private gaps: CollectionGap[] = [];
  private collected: { collector: string; target: string; ts: EpochMs }[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: IngestDeps) {}

  /** The accumulator a collector of this kind reports into. */
  accumulator(collector: string): Accumulator {
    return {
      addSample: (s) => this.addSample(s),
      addLink: (l) => this.addLink(l),
      addGap: (g) => this.addGap(g),
      addError: (target, err) => this.addError(target, err),
      addCollected: (target, ts) => {
        this.collected.push({ collector, target, ts });
        this.schedule();
      },
    };
  }

  addSample(sample: Sample): void {
    this.points.push(samplePoint(sample, this.deps.inventory().cell(sample.cell)));
    this.samples.push(sample);
    this.deps.metrics.samples.inc({ source: sample.source });
    this.schedule();
  }

  addLink(link: LinkSample): void {
    this.points.push(linkPoint(link, this.deps.inventory().regionOfSite(link.site)));
    this.links.push(link);
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
    this.deps.log.debug({ target, err: err.message }, 'collector error');
  }

  /**
   * Pushed data (the push API, `/write`): published like collected data, exported at once, and the
   * promise settles when the points are durable — so the caller's 202 means accepted. A full spool
   * rejects it (the caller answers 503); nothing of the request is then published as accepted.
   */
  async push(samples: readonly Sample[], links: readonly LinkSample[]): Promise<void> {
    if (samples.length === 0 && links.length === 0) return;
    const inventory = this.deps.inventory();
    const points: Point[] = [];
    for (const s of samples) points.push(samplePoint(s, inventory.cell(s.cell)));
    for (const l of links) points.push(linkPoint(l, inventory.regionOfSite(l.site)));
    await this.deps.writer.export(points, { flush: true });
    const bySource = new Map<string, number>();
    for (const s of samples) bySource.set(s.source, (bySource.get(s.source) ?? 0) + 1);
    for (const [source, n] of bySource) this.deps.metrics.samples.inc({ source }, n);
    if (links.length > 0) this.deps.metrics.links.inc(links.length);
    const bus = this.deps.bus;
    // Links first: they are the context of the cells' windows (backhaul), and a pushed backlog of hours
    // could otherwise close and settle a window before its site's link trouble is known. A pushed body
    // may list a cell's samples newest first (an export, a script): the detector takes any order, but a
    // late sample re-judges its track from there on, so reversed input would cost O(n²). In time order
    // it costs what collected data does; the results are the same.
    if (links.length > 0) bus.emit('links', { at: newest(links), links: inTimeOrder(links) });
    if (samples.length > 0) bus.emit('samples', { at: newest(samples), samples: inTimeOrder(samples) });
  }

  /** Resolves when everything added so far has been exported (durable) or its failure logged. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const { points, samples, links, gaps, collected } = this;
    this.points = [];
    this.samples = [];
    this.links = [];
    this.gaps = [];
    this.collected = [];
    const bus = this.deps.bus;
    if (gaps.length > 0) bus.emit('gaps', { at: newest(gaps), gaps });
    // Links before samples, as for pushed data (see push).
    if (links.length > 0) bus.emit('links', { at: newest(links), links });
    if (samples.length > 0) bus.emit('samples', { at: newest(samples), samples });
    for (const c of collected) bus.emit('collected', { at: c.ts, collector: c.collector, target: c.target });
    if (points.length === 0) return;
    const done = this.deps.writer.export(points).then(
      () => undefined,
      (err: unknown) => {
        // The pipeline spools and dead-letters on its own; reaching here means it refused the batch
        // outright (e.g. shut down, spool full). Count and log it so the loss is never silent.
        this.deps.metrics.exportFailures.inc();
        this.deps.log.error({ err, points: points.length }, 'store refused a batch of points');
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}

/** The items sorted by ts (stable), or the same array when it already is. */
function inTimeOrder<T extends { ts: EpochMs }>(items: readonly T[]): readonly T[] {
  for (let i = 1; i < items.length; i++)
    if (items[i]!.ts < items[i - 1]!.ts) return [...items].sort((a, b) => a.ts - b.ts);
  return items;
}

function newest(items: readonly { ts: EpochMs }[]): EpochMs {
  let at = -Infinity;
  for (const i of items) if (i.ts > at) at = i.ts;
  return at;
}

/** The ingest part: the accumulator every collector reports into, drained at stop after the collectors. */
export function startIngest(h: House, writer: SeriesWriter, inventory: () => Inventory): Ingest {
  const ingest = new Ingest({
    writer,
    bus: h.bus,
    inventory,
    metrics: new IngestMetrics(h.metrics),
    log: h.logFor('ingest'),
  });
  h.defer('ingest', () => ingest.drain());
  return ingest;
}
