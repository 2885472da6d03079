/**
 * Test plumbing for the alerts: manual time for the pipeline's sleeps, a recording Notifier (a fake,
 * named as one), builders of windows and inputs, and a real SQLite record store in a temp dir.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { pino } from 'pino';
import type { AlertNotice, Notification, Notifier, NotifyResult, Timers } from '../../alerts/index.js';
import { AlertManager, alertManagerOptions, type AlertManagerOptions } from '../../alerts/manager.js';
import type { AlertInput } from '../../alerts/rules.js';
import { ManualClock } from '../../clock/index.js';
import { parseConfig } from '../../config/index.js';
import { CellInventory } from '../../config/inventory.js';
import type { Cause, Cell, EpochMs, Window, WindowEvent } from '../../model/index.js';
import { recordMigrations } from '../../store/records/index.js';
import { openDatabase } from '../../store/sqlite.js';
import { AlertRecords } from '../../store/records/alerts.js';
import { NotificationRecords } from '../../store/records/notifications.js';
import { SilenceRecords } from '../../store/records/silences.js';

export const silentLog = pino({ level: 'silent' });

/**
 * Sleeps that resolve when the test moves a ManualClock past their deadline. `advanceTo` wakes the
 * due sleepers in deadline order, letting the work they start settle before the next one.
 */
export class ManualTimers implements Timers {
  private sleepers: { at: EpochMs; seq: number; wake: () => void }[] = [];
  private seq = 0;

  constructor(readonly clock: ManualClock) {}

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        resolve();
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const entry = { at: this.clock.now() + Math.max(0, ms), seq: this.seq++, wake };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get pending(): number {
    return this.sleepers.length;
  }

  async advanceTo(t: EpochMs, settle: () => Promise<void> = settleIo): Promise<void> {
    await settle();
    for (;;) {
      let next: (typeof this.sleepers)[number] | undefined;
      for (const s of this.sleepers)
        if (s.at <= t && (!next || s.at < next.at || (s.at === next.at && s.seq < next.seq))) next = s;
      if (!next) break;
      const due = next.at;
      if (due > this.clock.now()) this.clock.set(due);
      const woken = this.sleepers.filter((s) => s.at <= due);
      this.sleepers = this.sleepers.filter((s) => s.at > due);
      for (const s of woken) s.wake();
      await settle();
    }
    if (t > this.clock.now()) this.clock.set(t);
    await settle();
  }

  advance(ms: number, settle?: () => Promise<void>): Promise<void> {
    return this.advanceTo(this.clock.now() + ms, settle);
  }
}

/** Lets promise chains and pending I/O callbacks run. */
export async function settleIo(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export interface Received {
  at: EpochMs;
  n: Notification;
  result: NotifyResult;
}

/** A Notifier that records every call; `respond` scripts its answers (default: ok). */
export class RecordingNotifier implements Notifier {
  readonly kind = 'recording';
  readonly calls: Received[] = [];
  respond: (n: Notification, call: number) => NotifyResult | Promise<NotifyResult> = () => ({ ok: true });
  closed = false;
  /** What each `resume` after a restart said was firing. */
  readonly resumed: AlertNotice[][] = [];

  constructor(
    readonly name: string,
    private readonly clock: { now(): EpochMs },
  ) {}

  async notify(n: Notification): Promise<NotifyResult> {
    const result = await this.respond(n, this.calls.length);
    this.calls.push({ at: this.clock.now(), n: structuredClone(n), result });
    return result;
  }

  resume(firing: readonly AlertNotice[]): void {
    this.resumed.push([...firing]);
  }

  /** Successful deliveries only. */
  get delivered(): Received[] {
    return this.calls.filter((c) => c.result.ok);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Stores

/** The whole record schema: the alert kinds' tables are steps of it. */
export const ALERT_MIGRATIONS = recordMigrations;

export interface OpenedStores {
  db: Database;
  stores: { alerts: AlertRecords; silences: SilenceRecords; notifications: NotificationRecords };
}

export function openAlertStores(dir: string): OpenedStores {
  const db = openDatabase(join(dir, 'cellwatch.db'), ALERT_MIGRATIONS, silentLog, { synchronous: 'NORMAL' });
  return {
    db,
    stores: {
      alerts: new AlertRecords(db),
      silences: new SilenceRecords(db),
      notifications: new NotificationRecords(db),
    },
  };
}

/** The defaults of `alerts:` with overrides in config syntax. */
export function testOptions(alerts: Record<string, unknown> = {}): AlertManagerOptions {
  const cfg = parseConfig({ alerts }, { env: {} });
  return alertManagerOptions(cfg.alerts, 'http://board.test');
}

export interface Harness {
  clock: ManualClock;
  timers: ManualTimers;
  manager: AlertManager;
  sinks: RecordingNotifier[];
  opened: OpenedStores;
}

export function harness(
  dir: string,
  opts: {
    alerts?: Record<string, unknown>;
    sinks?: string[];
    start?: EpochMs;
    inventory?: CellInventory;
    clock?: ManualClock;
    timers?: ManualTimers;
  } = {},
): Harness {
  const clock = opts.clock ?? new ManualClock(opts.start ?? Date.UTC(2026, 10, 30, 19, 0));
  const timers = opts.timers ?? new ManualTimers(clock);
  const sinks = (opts.sinks ?? ['hook']).map((name) => new RecordingNotifier(name, clock));
  const opened = openAlertStores(dir);
  const manager = AlertManager.open({
    clock,
    timers,
    sinks,
    stores: opened.stores,
    options: testOptions(opts.alerts),
    ...(opts.inventory ? { inventory: opts.inventory } : {}),
    log: silentLog,
    random: () => 0.5,
    newId: (() => {
      let n = 0;
      return () => `silence-${++n}`;
    })(),
  });
  return { clock, timers, manager, sinks, opened };
}

// ---------------------------------------------------------------------------------------------
// Builders

export function cells(site: string, n: number, region = 'north'): Cell[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${site}-${i + 1}`,
    site,
    region,
    lat: 31 + i * 0.001,
    lon: 121,
    neighbours: [],
  }));
}

export function inventoryOf(...groups: Cell[][]): CellInventory {
  return CellInventory.of(groups.flat());
}

const REMEDY: Record<Cause, string> = {
  outage: 'Site visit: restore power or the radio unit',
  backhaul: 'Transport repair: restore the site link',
  coverage: 'Tilt, power or a new site',
  interference: 'Check PCI plan, neighbours and downtilt',
  congestion: 'Load balancing, then a carrier add',
  'silent-failure': 'Restart the cell; check its alarms',
  unknown: 'Investigate',
};

export function win(
  cell: string,
  opts: Partial<Window> & { cause?: Cause; start?: EpochMs; site?: string; region?: string } = {},
): Window {
  const cause = opts.cause ?? 'congestion';
  const start = opts.start ?? 0;
  return {
    id: `w-${cell}-${start}`,
    cell,
    stream: 'counters',
    start,
    lastBad: start,
    cause,
    severity: 0.7,
    usersAffected: 40,
    userMinutes: 400,
    worst: {},
    evidence: {
      kpis:
        cause === 'outage'
          ? [{ kpi: 'available', worst: 0, intervals: 2 }]
          : [{ kpi: 'prbUtilPct', worst: 97, threshold: 80, intervals: 2 }],
      badIntervals: 2,
      goodIntervals: 0,
      unknownIntervals: 0,
      ...(cause === 'backhaul' ? { link: { link: 'bh-1:2', operUp: false } } : {}),
    },
    remediation: REMEDY[cause],
    ...opts,
  };
}

export function windowInput(change: WindowEvent['change'], window: Window, at: EpochMs = window.start): AlertInput {
  return { type: 'window', event: { change, window, at } };
}

// ---------------------------------------------------------------------------------------------
// A real receiver

export interface Hit {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on a free loopback port (a real HTTP server); `reply` picks each answer. */
export async function webhookReceiver(
  reply: (hit: Hit, n: number) => { status: number; headers?: Record<string, string> } | 'hang',
) {
  const hits: Hit[] = [];
  const hung: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      hits.push(hit);
      const r = reply(hit, hits.length - 1);
      if (r === 'hang') {
        hung.push(res);
        return;
      }
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.status >= 400 ? `status ${r.status}` : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hung) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
