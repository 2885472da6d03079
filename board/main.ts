/**
 * The board's entry: sign in (when the daemon has tokens), start the live stream, and route the hash
 * to a page. Routes are the ones alert links use (`generatorURL`): `#/cell/<id>`, `#/site/<id>`,
 * `#/region/<id>`, `#/network`, `#/collection/<target>`, plus `#/agent?…` and `#/complaints`.
 */
import { AgentPage } from './agent.js';
import { ApiError, forgetToken, get, session, storeToken, storedToken, whenUnauthorised, type Session } from './api.js';
import { App, type CellList } from './app.js';
import { ComplaintsPage } from './complaints.js';
import { actionDialog } from './dialogs.js';
import { byId, h } from './dom.js';
import { NocPage } from './noc.js';

interface Page {
  unmount(): void;
}

let app: App | undefined;
let current: Page | undefined;

async function start(): Promise<void> {
  let s: Session;
  // The cells (the map's half of the first screen) are asked for beside the session, not after it.
  const cells = get<CellList>('cells').catch(() => undefined);
  try {
    s = await session();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      return signIn(storedToken() ? 'That token is not accepted.' : '');
    byId('problem').textContent = `cannot reach cellwatch: ${(err as Error).message}`;
    setTimeout(() => void start(), 3000);
    return;
  }
  whenUnauthorised(() => {
    app?.stream.stop();
    app = undefined;
    signIn('The token stopped working (rotated or removed): sign in again.');
  });
  app = new App(s);
  showWho(s);
  app.stream.start();
  const list = await cells;
  if (list) app.adoptCells(list);
  else await app.loadCells().catch(() => undefined);
  app.subscribe(() => showStream());
  window.addEventListener('hashchange', route);
  route();
  exposeForTests();
}

function signIn(message: string): void {
  document.body.dataset.signin = 'open';
  actionDialog({
    title: 'Sign in to cellwatch',
    body: [
      h(
        'p',
        {},
        'Paste your API token (viewer: see; operator: also ack and silence). It is sent only in request headers.',
      ),
      ...(message ? [h('p', { class: 'error', id: 'signin-error' }, message)] : []),
    ],
    fields: [
      { name: 'token', label: 'Token', kind: 'password', required: true },
      { name: 'remember', label: 'Remember on this device', kind: 'checkbox' },
    ],
    confirm: 'Sign in',
    mandatory: true,
    run: async (v) => {
      const token = (v.token ?? '').trim();
      await session(token);
      storeToken(token, v.remember === 'on');
      delete document.body.dataset.signin;
      await start();
    },
  });
}

function showWho(s: Session): void {
  const who = byId('who');
  const role = s.permissions.includes('operate') ? 'operator' : 'viewer';
  who.replaceChildren(
    s.authRequired ? `${s.principal ?? 'signed in'} (${role})` : `local demo, no sign-in (${role})`,
    s.authRequired
      ? h(
          'button',
          {
            class: 'link',
            onclick: () => {
              forgetToken();
              location.reload();
            },
          },
          'Sign out',
        )
      : '',
  );
  document.body.dataset.role = role;
}

function showStream(): void {
  if (!app) return;
  const el = byId('stream');
  // Called on every batch of events: touch the DOM only when the words change.
  const key = `${app.streamStatus}|${app.streamDetail}`;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  const word = { live: '● live', connecting: '◌ connecting', offline: '✕ offline' }[app.streamStatus];
  el.textContent = word;
  el.className = `stream stream-${app.streamStatus}`;
  el.title = app.streamDetail;
  byId('problem').textContent = app.streamStatus === 'offline' ? app.streamDetail : '';
}

function route(): void {
  // In-page anchors (the skip link's #main) are not routes.
  if (!app || (location.hash !== '' && !location.hash.startsWith('#/'))) return;
  const [path = '', qs = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const main = byId('main');
  current?.unmount();
  let nav = 'board';
  const [head, arg] = parts;
  if (head === 'cell' && arg) {
    // The charts (and uPlot) load with the first cell page, not with the board.
    const a = app;
    const placeholder: Page = { unmount: () => undefined };
    current = placeholder;
    void import('./cell.js').then(({ CellPage }) => {
      if (current !== placeholder) return;
      const p = new CellPage(a);
      p.mount(main, arg);
      current = p;
    });
  } else if (head === 'agent') {
    const p = new AgentPage(app);
    p.mount(main, new URLSearchParams(qs));
    current = p;
    nav = 'agent';
  } else if (head === 'complaints') {
    const p = new ComplaintsPage(app);
    p.mount(main);
    current = p;
    nav = 'complaints';
  } else {
    const p = new NocPage(app);
    p.mount(main, {
      ...(head === 'region' && arg ? { region: arg } : {}),
      ...(head === 'site' && arg ? { site: arg } : {}),
      ...(head === 'collection' && arg ? { target: arg } : {}),
    });
    current = p;
  }
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a'))
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  main.focus({ preventScroll: true });
}

/** Read-only counters for the browser tests and the benchmark (no behaviour hangs on them). */
function exposeForTests(): void {
  (window as unknown as { cellwatchBoard: unknown }).cellwatchBoard = {
    get received() {
      return app?.stream.received ?? 0;
    },
    get receivedAlerts() {
      return app?.stream.receivedAlerts ?? 0;
    },
    /** Events received and not yet applied (a batch waits for the next frame). */
    get pending() {
      return app?.stream.pending ?? 0;
    },
    get alerts() {
      return app?.alerts.size ?? 0;
    },
    get renders() {
      return app?.renders ?? 0;
    },
  };
}

void start();
