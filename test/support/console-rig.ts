import { launchChromium, type Page, type TestBrowser, watchPage } from './browser.ts';
import { eventually, startTestPlatform, type TestPlatform } from './platform.ts';
import { call } from './rollouts.ts';

/** A local platform with a simulated fleet fast enough to roll out to, and a Chromium page watching it. */
export interface ConsoleRig {
  readonly t: TestPlatform;
  readonly chromium: TestBrowser;
  readonly page: Page;
  /** Console errors and failed requests of the page, as they happen. */
  readonly problems: string[];
  /** Opens a console route (`#/devices`). */
  open(path: string): Promise<unknown>;
  dispose(): Promise<void>;
}

/**
 * Starts the platform with `devices` simulated devices (status every 500 ms, telemetry every 300 ms, OTA
 * health checks of 300 ms, the rollout health check at once), waits until the registry lists them all,
 * then opens a page in Debian's Chromium. The page is not signed in: the caller follows the login link.
 */
export async function startConsoleRig(devices: number): Promise<ConsoleRig> {
  const t = await startTestPlatform({
    devices,
    statusEveryMs: 500,
    telemetryEveryMs: 300,
    ota: { healthCheckMs: 300, rebootDelayMs: 50 },
    settings: { ROLLOUT_HEALTH_CHECK_SECONDS: '0' },
  });
  let chromium: TestBrowser | undefined;
  try {
    // Rollouts select from the registry: wait until every device has reported.
    await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/devices?limit=100');
      return body.devices?.length === devices ? true : undefined;
    }, 30_000);
    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    const browser = chromium;
    return {
      t,
      chromium: browser,
      page,
      problems: watchPage(page).problems,
      open: (path) => page.goto(`${t.platform.consoleBase}/console/${path}`),
      async dispose() {
        await browser.close();
        await t.dispose();
      },
    };
  } catch (error) {
    await chromium?.close();
    await t.dispose();
    throw error;
  }
}
