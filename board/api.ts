/**
 * The board's HTTP client: every call carries the signed-in token in the Authorization header (never
 * in a URL), and a 401 anywhere brings back the sign-in. The token lives in sessionStorage (this tab)
 * unless the user asks to be remembered on this device (localStorage).
 */

const KEY = 'cellwatch.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

export interface Session {
  authRequired: boolean;
  principal?: string;
  permissions: ('read' | 'operate' | 'ingest' | 'admin')[];
  display: {
    timezone: string;
    goal: number;
    peak: 'busy-hour' | { fromMinute: number; toMinute: number };
    experience: { dlMbps: number; ulMbps: number; latencyMs: number };
    firstResponseMs: number;
  };
}

type Unauthorised = () => void;
let onUnauthorised: Unauthorised = () => undefined;

export function whenUnauthorised(f: Unauthorised): void {
  onUnauthorised = f;
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function storeToken(token: string, remember: boolean): void {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

function headers(token = storedToken(), json = false): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' };
  if (token) h.authorization = `Bearer ${token}`;
  if (json) h['content-type'] = 'application/json';
  return h;
}

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string; problems?: string[] };
  if (!res.ok) {
    if (res.status === 401) onUnauthorised();
    throw new ApiError(res.status, body.error ?? body.message ?? `HTTP ${res.status}`, body.problems ?? []);
  }
  return body as T;
}

type Query = Record<string, string | number | boolean | undefined>;

function path(p: string, q: Query = {}): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') s.set(k, String(v));
  const qs = s.toString();
  return `api/v1/${p}${qs ? `?${qs}` : ''}`;
}

export async function get<T>(p: string, q?: Query): Promise<T> {
  return answer<T>(await fetch(path(p, q), { headers: headers() }));
}

export async function post<T>(p: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(path(p), { method: 'POST', headers: headers(undefined, true), body: JSON.stringify(body) }),
  );
}

/** The session as a given token would have it (sign-in checks a token before keeping it). */
export async function session(token = storedToken()): Promise<Session> {
  const res = await fetch(path('session'), { headers: headers(token) });
  if (res.status === 401) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new ApiError(401, body.error ?? 'sign-in needed');
  }
  return answer<Session>(res);
}

/** A single-use stream ticket: browsers cannot put a token in a WebSocket's headers. */
export async function streamTicket(): Promise<string> {
  const res = await fetch(path('stream/ticket'), { method: 'POST', headers: headers() });
  return (await answer<{ ticket: string }>(res)).ticket;
}
