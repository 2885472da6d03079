/**
 * What every page shares: the session, the live alerts and open windows (kept by the stream), the
 * cells, complaints and hot spots (polled), the daemon's clock as last seen, and change listeners
 * called at most once per animation frame.
 */
import { get, post, type Session } from './api.js';
import { AlertBook, OpenWindows, type AlertView, type CellView, type WindowView } from './model.js';
import { LiveStream, type StreamStatus } from './stream.js';

export interface Hotspot {
  id: string;
  kind: 'hotspot' | 'silent-degradation';
  site?: string;
  cell?: string;
  region?: string;
  cells: { cell: string; complaints: number }[];
  complaints: string[];
  explained: number;
  status: 'open' | 'closed';
}

export interface ComplaintRow {
  id: string;
  receivedAt: number;
  issueAt?: number;
  channel: string;
  category: string;
  cell?: string;
  lat?: number;
  lon?: number;
  correlation: {
    explained: boolean;
    score: number;
    windows: { window: string; cell: string; reason: string }[];
  } | null;
}

type Listener = () => void;

export interface CellList {
  at: number;
  cells: CellView[];
}

export class App {
  readonly alerts = new AlertBook();
  readonly windows = new OpenWindows();
  cells = new Map<string, CellView>();
  cellsVersion = 0;
  private cellsLoadedAt = -Infinity;
  hotspots: Hotspot[] = [];
  /** Network complaints of the last 72 h, by the cell they were located on. */
  complaintsByCell = new Map<string, number>();
  streamStatus: StreamStatus = 'connecting';
  streamDetail = '';
  private serverAt = 0;
  private readonly listeners = new Set<Listener>();
  readonly stream: LiveStream;
  renders = 0;

  constructor(readonly session: Session) {
    this.stream = new LiveStream(session.authRequired, {
      snapshot: () => this.snapshot(),
      events: (batch) => {
        for (const e of batch) {
          this.seen(e.at);
          if (e.type === 'alert') this.alerts.apply(e.alert);
          else this.windows.apply(e.change, e.window);
        }
        this.changed();
      },
      status: (s, detail) => {
        this.streamStatus = s;
        this.streamDetail = detail;
        document.body.dataset.stream = s;
        this.changed();
      },
    });
  }

  get tz(): string {
    return this.session.display.timezone;
  }

  can(p: 'operate' | 'read'): boolean {
    return this.session.permissions.includes(p);
  }

  /** The daemon's time as last heard (its clock runs fast in the demo). */
  now(): number {
    return this.serverAt || Date.now();
  }

  seen(at: number | undefined): void {
    if (at !== undefined && at > this.serverAt) this.serverAt = at;
  }

  subscribe(f: Listener): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  changed(): void {
    this.renders++;
    for (const f of this.listeners) f();
  }

  /** Active alerts and open windows over REST: at start, and after a `resync`. */
  async snapshot(): Promise<void> {
    const [alerts, windows] = await Promise.all([
      get<{ alerts: AlertView[] }>('alerts', { active: 'true' }),
      get<{ windows: WindowView[] }>('windows', { open: 'true', limit: 10_000 }),
    ]);
    this.alerts.reset(alerts.alerts);
    this.windows.reset(windows.windows);
    this.changed();
  }

  async refreshAlerts(): Promise<void> {
    const alerts = await get<{ alerts: AlertView[] }>('alerts', { active: 'true' });
    this.alerts.reset(alerts.alerts);
    this.changed();
  }

  /** Milliseconds since the cells were last loaded (real time). */
  cellsAge(): number {
    return performance.now() - this.cellsLoadedAt;
  }

  async loadCells(): Promise<void> {
    this.adoptCells(await get<CellList>('cells'));
  }

  adoptCells(body: CellList): void {
    this.cellsLoadedAt = performance.now();
    this.seen(body.at);
    this.cells = new Map(body.cells.map((c) => [c.id, c]));
    this.cellsVersion++;
  }

  async loadHotspots(): Promise<void> {
    this.hotspots = (await get<{ hotspots: Hotspot[] }>('hotspots', { open: 'true' })).hotspots;
  }

  async loadComplaintCounts(): Promise<void> {
    const body = await get<{ complaints: ComplaintRow[] }>('complaints', {
      from: this.now() - 72 * 3_600_000,
      category: 'network',
      limit: 10_000,
    });
    const counts = new Map<string, number>();
    for (const c of body.complaints) if (c.cell) counts.set(c.cell, (counts.get(c.cell) ?? 0) + 1);
    this.complaintsByCell = counts;
  }

  async ack(id: string, comment: string): Promise<void> {
    const alert = await post<AlertView>(`alerts/${encodeURIComponent(id)}/ack`, { comment });
    this.alerts.apply(alert);
    this.changed();
  }

  async silence(matchers: { name: string; op: string; value: string }[], durationMs: number, comment: string) {
    await post('silences', { matchers, durationMs, comment });
    await this.refreshAlerts();
  }
}
