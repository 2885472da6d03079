/**
 * A real browser for the board's tests and benchmarks: Debian's chromium driven by playwright-core
 * (which cannot download browsers here). Each launch gets its own fresh profile (Playwright makes a
 * temporary user-data-dir); the flags keep it off the network and quiet.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../daemon/paths.js';
import { findBinary } from './service.js';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The chromium binary (Debian's `chromium`), or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  return findBinary('chromium') ?? findBinary('chromium-browser');
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Where screenshots go: `.artefacts/board/` (git-ignored), or `CELLWATCH_ARTEFACTS`. */
export function artefactDir(): string {
  const dir = process.env.CELLWATCH_ARTEFACTS ?? join(packageRoot, '.artefacts/board');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * With `CELLWATCH_SCREENSHOTS=1` (`npm run screenshots`) a screenshot is also copied over the README's
 * one in docs/screenshots/ — the committed pictures are refreshed on purpose, never by a plain test run.
 */
export function publishScreenshot(file: string, name: string): void {
  if (process.env.CELLWATCH_SCREENSHOTS !== '1') return;
  const dir = join(packageRoot, 'docs/screenshots');
  mkdirSync(dir, { recursive: true });
  copyFileSync(file, join(dir, name));
}
