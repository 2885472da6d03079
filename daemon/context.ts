/**
 * `cellwatch context`: the care agent's lookup in a terminal — what `GET /api/v1/context` answers,
 * printed for a person (the summary to read out first, then the windows, alerts and the count of
 * other complaints), or the answer itself with `--json`.
 *
 *   cellwatch context --cell C0123 --at "2026-11-28 20:15"     local time of the daemon's zone
 *   cellwatch context --lat 31.2304 --lon 121.4737 --at 2026-11-28T12:15:00Z
 *   cellwatch context --complaint CRM-4711
 *
 * `--at` goes to the daemon as typed: the daemon reads "YYYY-MM-DD HH:MM" in its configured time zone
 * (where the agent and the network are), so the CLI's own zone never shifts the question.
 */
import type { Command } from 'commander';

export interface ContextOptions {
  url: string;
  token?: string;
  cell?: string;
  lat?: number;
  lon?: number;
  complaint?: string;
  at?: string;
}

/** The parts of the context answer the terminal view prints. */
interface ContextAnswer {
  at: number;
  timeZone?: string;
  cells: string[];
  windows: {
    id: string;
    cell: string;
    cause: string;
    severity: number;
    start: number;
    end?: number;
    status: string;
    customerImpact: boolean;
    when: string;
  }[];
  alerts: { severity: string; rule: string; summary: string; labels: Record<string, string> }[];
  complaintCount: number;
  summary: string;
}

export class ContextRefused extends Error {
  override readonly name = 'ContextRefused';
}

/** The daemon's answer to GET /api/v1/context for these options, as JSON. */
export async function fetchContext(o: ContextOptions): Promise<unknown> {
  const q = new URLSearchParams();
  if (o.cell !== undefined) q.set('cell', o.cell);
  if (o.lat !== undefined) q.set('lat', String(o.lat));
  if (o.lon !== undefined) q.set('lon', String(o.lon));
  if (o.complaint !== undefined) q.set('complaint', o.complaint);
  if (o.at !== undefined) q.set('at', o.at);
  const url = `${o.url.replace(/\/+$/, '')}/api/v1/context?${q.toString()}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: o.token ? { authorization: `Bearer ${o.token}` } : {} });
  } catch (err) {
    throw new ContextRefused(
      `cannot reach the daemon at ${o.url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ContextRefused(`the daemon answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
  }
  if (res.status !== 200) {
    const b = body as { error?: string; problems?: string[] };
    throw new ContextRefused(`${res.status}: ${[b.error, ...(b.problems ?? [])].filter(Boolean).join('; ')}`);
  }
  return body;
}

/** The answer for a person: the summary first (it is what the agent reads out), then the evidence. */
export function formatContext(body: unknown, place: string): string {
  const c = body as ContextAnswer;
  const zone = c.timeZone ?? 'UTC';
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const time = (ms: number) => fmt.format(ms).replace(',', '');
  const lines = [
    `${place} at ${time(c.at)} (${zone})`,
    '',
    'Tell the customer:',
    ...wrap(c.summary, 96).map((l) => `  ${l}`),
    '',
  ];
  if (c.windows.length === 0) lines.push('Windows within ±72 h: none');
  else {
    lines.push(`Windows within ±72 h (${c.windows.length}):`);
    for (const w of c.windows) {
      const span = w.end === undefined ? `since ${time(w.start)}` : `${time(w.start)} – ${time(w.end)}`;
      const status = w.status === 'ongoing' ? 'ongoing' : `resolved`;
      lines.push(
        `  ${status.padEnd(8)}  ${span.padEnd(35)}  ${w.cause.padEnd(14)}  ${w.cell.padEnd(10)}  severity ${w.severity.toFixed(2)}${w.customerImpact ? '' : ' (KPIs only)'}  ${w.id}`,
      );
    }
  }
  if (c.alerts.length > 0) {
    lines.push(`Open alerts (${c.alerts.length}):`);
    for (const a of c.alerts) lines.push(`  ${a.severity.padEnd(8)}  ${a.rule}  ${a.summary}`);
  } else lines.push('Open alerts: none');
  lines.push(`Other complaints here within ±72 h: ${c.complaintCount}`);
  lines.push(`Area: ${c.cells.join(', ') || '–'}`);
  return lines.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) out.push(line);
  return out;
}

interface ContextFlags {
  url: string;
  token?: string;
  cell?: string;
  lat?: string;
  lon?: string;
  complaint?: string;
  at?: string;
  json?: boolean;
}

/** `cellwatch context`, for cli.ts. */
export function registerContextCommand(program: Command): Command {
  return program
    .command('context')
    .description('the outage context of a place and time (or a complaint) for a care agent, from a running daemon')
    .option('--cell <id>', 'the cell the customer was on')
    .option('--lat <deg>', 'the customer’s location, with --lon')
    .option('--lon <deg>', 'the customer’s location, with --lat')
    .option('--complaint <id>', 'a stored complaint: its place and time')
    .option('--at <time>', '"YYYY-MM-DD HH:MM" in the daemon’s time zone, RFC 3339 or epoch ms (default: now)')
    .option('--url <url>', 'the daemon', 'http://127.0.0.1:8080')
    .option('--token <token>', 'API token with read permission (default: $CELLWATCH_TOKEN, which ps cannot see)')
    .option('--json', 'print the API’s answer as JSON')
    .action(async (flags: ContextFlags) => {
      const usage = (msg: string): never => {
        process.stderr.write(`cellwatch context: ${msg}\n`);
        process.exit(2);
      };
      if ((flags.lat === undefined) !== (flags.lon === undefined)) usage('--lat and --lon go together');
      if (flags.cell === undefined && flags.lat === undefined && flags.complaint === undefined)
        usage('give --cell, --lat and --lon, or --complaint');
      const num = (name: string, v: string | undefined) => {
        if (v === undefined) return undefined;
        const x = Number(v);
        return Number.isFinite(x) && v.trim() !== '' ? x : usage(`${name} must be a number of degrees, not "${v}"`);
      };
      const lat = num('--lat', flags.lat);
      const lon = num('--lon', flags.lon);
      const token = flags.token ?? process.env.CELLWATCH_TOKEN;
      const opts: ContextOptions = {
        url: flags.url,
        ...(token ? { token } : {}),
        ...(flags.cell !== undefined ? { cell: flags.cell } : {}),
        ...(lat !== undefined && lon !== undefined ? { lat, lon } : {}),
        ...(flags.complaint !== undefined ? { complaint: flags.complaint } : {}),
        ...(flags.at !== undefined ? { at: flags.at } : {}),
      };
      try {
        const body = await fetchContext(opts);
        const place =
          flags.complaint !== undefined
            ? `Complaint ${flags.complaint}`
            : flags.cell !== undefined
              ? `Cell ${flags.cell}`
              : `${lat}, ${lon}`;
        process.stdout.write(flags.json ? JSON.stringify(body, null, 2) + '\n' : formatContext(body, place));
      } catch (err) {
        if (!(err instanceof ContextRefused)) throw err;
        process.stderr.write(`cellwatch context: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
