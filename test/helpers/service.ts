/**
 * Integration-test plumbing for real services (influxd, snmpd, network namespaces): guards that skip
 * locally and fail in CI when a service is missing, free loopback ports, temp dirs, polling, and child
 * processes that can never outlive the test process that started them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inspect } from 'node:util';
import type { Test } from 'tap';

export type { Test };

/** True when tests run in CI, where a missing service is a failure rather than a skip. */
export function inCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

// Daemons live in sbin, which a non-root PATH often lacks; searching it too keeps the guards honest.
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable found on PATH (or in the sbin dirs), undefined when missing. */
export function findBinary(bin: string): string | undefined {
  if (bin.includes('/')) return isExecutable(bin) ? bin : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, bin);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function hasBinary(bin: string): boolean {
  return findBinary(bin) !== undefined;
}

/**
 * Integration-test guard: if `bin` is missing, fails the test in CI (CI=true) or skips it with the
 * install hint locally. True = go ahead. On false, return from the test without asserting more.
 */
export function requireService(t: Test, bin: string, installHint: string): boolean {
  if (hasBinary(bin)) return true;
  return requireCondition(t, false, `${bin} is not installed: ${installHint}`);
}

/**
 * The general form of requireService for preconditions that are not a binary (root, network
 * namespaces): `ok` false fails in CI and records a skip locally, so the run still ends green and the
 * skip count shows what was not exercised.
 */
export function requireCondition(t: Test, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (inCI()) t.fail(reason);
  else t.pass('precondition not met', { skip: reason });
  return false;
}

/**
 * A port that was free a moment ago: bound on `host` with port 0, read back, closed. The caller binds
 * it next; the kernel hands out ephemeral ports in rotation, so a reuse race is rare but possible —
 * helpers that start servers retry with a fresh port when a bind fails.
 */
export async function freePort(proto: 'tcp' | 'udp' = 'tcp', host = '127.0.0.1'): Promise<number> {
  if (proto === 'udp') {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    return new Promise<number>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
    });
  }
  const server = createServer();
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/**
 * A fresh directory under os.tmpdir(). It is removed when the test process exits (so a failing test
 * leaves no litter) unless `keep` is set; removing it earlier is fine.
 */
export async function makeTempDir(prefix: string, opts: { keep?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  if (!opts.keep) removeTempDirOnExit(dir);
  return dir;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns true; throws `timed out after N ms waiting for <what>` otherwise.
 * A check that throws counts as "not yet", and its last error is appended to the timeout message.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const started = performance.now();
  let pause = 10;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const elapsed = performance.now() - started;
    if (elapsed >= timeoutMs) {
      const why =
        lastError === undefined
          ? ''
          : ` (last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(Math.min(pause, timeoutMs - elapsed));
    pause = Math.min(pause * 2, 100);
  }
}

/**
 * Whether `check` comes true within `timeoutMs`. For a test that asserts on a condition which, on a
 * loaded box, takes a while to arrive: wait for it (bounded), then assert — the assertion still fails
 * when it never comes.
 */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  return waitFor(check, timeoutMs, 'a condition').then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------------
// Child processes that die with the test process.

const liveChildren = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL and rmSync are. A daemon left behind would hold its
  // ports and keep the CI job (or the next local run) from starting its own.
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of ownedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: a temp dir left behind costs only disk
      }
    }
  });
}

/** Removes `dir` when the test process exits, unless released first with forgetTempDir. */
export function removeTempDirOnExit(dir: string): void {
  installExitHook();
  ownedDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  ownedDirs.delete(dir);
}

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (or failed to spawn); never rejects. */
  readonly exited: Promise<ServiceExit>;
  running(): boolean;
  /** The last few KiB of its stdout and stderr, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  terminate(graceMs?: number): Promise<ServiceExit>;
  /** SIGKILL: a crash, as far as the service can tell. */
  kill(): Promise<ServiceExit>;
}

const TAIL_BYTES = 16 * 1024;

/**
 * Spawns a long-running service. Under Linux the child gets PR_SET_PDEATHSIG=SIGKILL through
 * `setpriv`, so even a test process killed by a signal (when 'exit' handlers do not run) takes its
 * servers with it.
 */
export function spawnService(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ServiceProcess {
  installExitHook();
  const setpriv = process.platform === 'linux' ? findBinary('setpriv') : undefined;
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);

  let tail = '';
  const keep = (chunk: Buffer) => {
    tail += chunk.toString('utf8');
    if (tail.length > TAIL_BYTES * 2) tail = tail.slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let done = false;
  const exited = new Promise<ServiceExit>((resolve) => {
    child.once('error', (error) => {
      // 'error' without a later 'exit' means the spawn itself failed.
      if (child.pid === undefined) {
        done = true;
        liveChildren.delete(child);
        resolve({ code: null, signal: null, error });
      }
    });
    child.once('exit', (code, signal) => {
      done = true;
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });

  const service: ServiceProcess = {
    name,
    child,
    exited,
    running: () => !done,
    tail: () => tail.slice(-TAIL_BYTES),
    async terminate(graceMs = 10_000) {
      if (done) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (!done) child.kill('SIGKILL');
      return exited;
    },
  };
  return service;
}

/** Describes how a service ended, with its output tail, for start-up error messages. */
export function describeExit(service: ServiceProcess, exit: ServiceExit): string {
  const how = exit.error
    ? `could not be started (${exit.error.message})`
    : exit.signal
      ? `was killed by ${exit.signal}`
      : `exited with code ${exit.code}`;
  const tail = service.tail().trim();
  return `${service.name} ${how}${tail ? `; last output:\n${tail}` : ''}`;
}

/**
 * Waits until `ready` holds, failing fast with the service's output when it exits first or when the
 * timeout runs out.
 */
export async function waitForService(
  service: ServiceProcess,
  ready: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  let exitedEarly: ServiceExit | undefined;
  void service.exited.then((exit) => {
    exitedEarly = exit;
  });
  try {
    await waitFor(
      async () => {
        if (exitedEarly) return true;
        return ready();
      },
      timeoutMs,
      what,
    );
  } catch (err) {
    const tail = service.tail().trim();
    throw new Error(`${(err as Error).message}${tail ? `; ${service.name} said:\n${tail}` : ''}`, { cause: err });
  }
  if (exitedEarly) throw new Error(describeExit(service, exitedEarly));
}
