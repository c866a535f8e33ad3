import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a quiet, repeatable headless Chromium: no sandbox (CI runs as root), no GPU, and nothing that
 * reaches the network on its own (QUIC, background updates, component updates, sync, first-run pings).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with a fresh profile directory, removed on close. */
export interface TestBrowser {
  readonly browser: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh `--user-data-dir` (a persistent context is how playwright names one). */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'fleetkit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    browser: context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** What went wrong on a page: console errors, uncaught exceptions, failed requests and 4xx/5xx answers. */
export interface PageProblems {
  readonly problems: string[];
}

/** Records every console error, page error, failed request and HTTP error answer of `page`. */
export function watchPage(page: Page): PageProblems {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(
      `request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`,
    ),
  );
  page.on('response', (response) => {
    if (response.status() >= 400)
      problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  return { problems };
}

export type { Browser, Page };
