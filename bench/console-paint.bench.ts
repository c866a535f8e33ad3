import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../lib/cli/api.ts';
import { localSigner } from '../lib/cli/sigv4.ts';
import { launchChromium } from '../test/support/browser.ts';
import { hasTool } from '../test/support/tools.ts';
import { median, metric, progress } from './support.ts';

/**
 * The console's fleet page against `npm start` with 1,000 simulated devices (FLEETKIT_BENCH_DEVICES), in
 * Debian's Chromium, headless — as an operator opens it from the banner's link.
 *
 * console_first_paint_ms: Chromium's own first-contentful-paint of the fleet page (Paint Timing API,
 * from the navigation's start), median of LOADS cold navigations of a signed-in tab; the page paints its
 * frame once its script has run and read `config.json` (index.html holds no text of its own). Goal ≤ 1,000.
 * console_fleet_data_ms: the same navigations to the frame after the fleet's figures were rendered
 * (the page's `fleet-data` mark): what the operator waits for.
 * console_first_paint_vs_static_ratio: console_first_paint_ms ÷ the first-contentful-paint of a static
 * one-line page from the same origin, in the same browser and run: what the app adds to the browser's floor.
 */
const DEVICES = Number(process.env.FLEETKIT_BENCH_DEVICES ?? 1000);
const LOADS = 9;
const FLEET_WAIT_MS = 240_000;

if (!hasTool('chromium')) {
  progress('chromium not found (apt-get install chromium): console paint bench skipped');
  process.exit(0);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-bench-console-'));
const port = await freePort();
const root = fileURLToPath(new URL('..', import.meta.url));
const platform: ChildProcess = spawn(
  process.execPath,
  [
    // As `npm start` launches it (bin/start.mjs: the platform's memory settings), without npm between.
    'bin/start.mjs',
    '--devices',
    String(DEVICES),
    '--port',
    String(port),
    '--mqtt-port',
    String(await freePort()),
    '--data-dir',
    dataDir,
    '--quiet',
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
const link = await new Promise<string>((resolve, reject) => {
  let banner = '';
  platform.stdout?.on('data', (chunk: Buffer) => {
    banner += chunk.toString();
    const found = /(http:\/\/\S+\/console\/#login=[A-Za-z0-9_-]+)/.exec(banner)?.[1];
    if (found !== undefined) resolve(found);
  });
  platform.once('exit', (code) => reject(new Error(`npm start exited (${code}) before its banner`)));
});
const stop = async () => {
  platform.kill('SIGINT');
  await new Promise((resolve) => platform.once('exit', resolve));
  await rm(dataDir, { recursive: true, force: true });
};

try {
  const api = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, sign: localSigner(dataDir) });
  const started = Date.now();
  let devices = 0;
  while (Date.now() - started < FLEET_WAIT_MS) {
    const health = (await api.call('GET', 'fleet/health')) as { devices: number; online: number };
    devices = health.online;
    if (devices >= DEVICES) break;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  progress(`${devices} of ${DEVICES} devices online after ${Math.round((Date.now() - started) / 1000)} s`);

  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage();
    await page.goto(link);
    await page.waitForFunction(() => performance.getEntriesByName('fleet-data').length > 0, undefined, {
      timeout: 60_000,
    });
    const origin = new URL(link).origin;
    const paint = () =>
      page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);
    const firstPaint: number[] = [];
    const data: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      // The floor: a static one-line document from the same server (the console's config.json, which
      // Chromium paints as text).
      await page.goto(`${origin}/console/config.json`);
      // Read once Chromium has recorded it: right after goto it may not have painted yet (NaN).
      await page.waitForFunction(
        () => performance.getEntriesByName('first-contentful-paint').length > 0,
        undefined,
        { timeout: 10_000 },
      );
      floor.push(await paint());
      await page.goto(`${origin}/console/#/`);
      await page.waitForFunction(() => performance.getEntriesByName('fleet-data').length > 0, undefined, {
        timeout: 60_000,
      });
      firstPaint.push(await paint());
      data.push(
        await page.evaluate(() => performance.getEntriesByName('fleet-data')[0]?.startTime ?? Number.NaN),
      );
    }
    progress(
      `first paint ${firstPaint.map(Math.round).join(', ')} ms; data ${data.map(Math.round).join(', ')} ms; static ${floor.map(Math.round).join(', ')} ms`,
    );
    metric('console_first_paint_ms', median(firstPaint));
    metric('console_fleet_data_ms', median(data));
    metric('console_first_paint_vs_static_ratio', median(firstPaint) / median(floor));
    metric('console_bench_devices_online', devices);
  } finally {
    await chromium.close();
  }
} finally {
  await stop();
}
