/**
 * The daemon as an operator runs it: the compiled CLI (`npm test` builds dist/ first) in a child
 * process, its stdout and stderr collected for assertions and failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { packageRoot } from '../../daemon/paths.js';
import { waitFor } from './service.js';

export const CLI = join(packageRoot, 'dist/daemon/cli.js');

export interface CellwatchProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `cellwatch <args>`; SIGKILLed at the test's teardown should it still run. */
export function spawnCellwatch(t: Test, args: string[], env: NodeJS.ProcessEnv = process.env): CellwatchProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** `cellwatch <args>` run to its end: exit code, stdout and stderr apart (a command's report and its errors). */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Waits until the daemon at `url` answers /readyz with 200; a timeout quotes the end of its output. */
export async function waitReady(url: string, proc: CellwatchProcess, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
    timeoutMs,
    `cellwatch ready at ${url} (output: ${proc.output().slice(-1500)})`,
  );
}
