import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from '../../support/browser.ts';
import { type ConsoleRig, startConsoleRig } from '../../support/console-rig.ts';
import type { TestPlatform } from '../../support/platform.ts';
import { call, driveRollout, type Json, publishSimFirmware } from '../../support/rollouts.ts';
import { skipWithout } from '../../support/tools.ts';

/** Where the browser tests leave a screenshot of every page (gitignored; the README names it). */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

const DEVICES = 3;

/**
 * The console in a real browser (Debian's Chromium, headless) against the local platform and its
 * simulated devices, driven as an operator would: by clicking.
 */
describe.skipIf(skipWithout('chromium'))('the console in Chromium', () => {
  let rig: ConsoleRig;
  let t: TestPlatform;
  let page: Page;
  let problems: string[];
  const open = (path: string) => rig.open(path);
  const shoot = (name: string) =>
    page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    rig = await startConsoleRig(DEVICES);
    ({ t, page, problems } = rig);
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '1.0.0' });
    // Signed in as an operator is: by the one-time link the platform prints.
    await page.goto(t.platform.console.loginLink(t.platform.consoleBase).url);
    await page.locator('#online-percent').waitFor();
  }, 120_000);
  afterAll(async () => {
    await rig?.dispose();
  });

  it('loads every page with no console error and no failed request, and screenshots each', async () => {
    // Prepare: a rollout to look at
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '1.0.1' });
    const look = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'look',
      firmwareVersion: '1.0.1',
      targets: { deviceTypes: ['tracker'] },
      waves: { sizes: [50, 100] },
    });
    // Accepted: planned asynchronously.
    expect(look.status).toBe(202);
    const pages: Array<[string, string, string]> = [
      ['fleet', '#/', '#online-percent'],
      ['devices', '#/devices', '#device-count'],
      ['device', '#/devices/sim-0001', '#shadow-reported:has-text("config")'],
      ['firmware', '#/firmware', '#firmware-list'],
      ['rollouts', '#/rollouts', '#rollout-list'],
      ['rollout-new', '#/rollouts/new', '#preview'],
      ['rollout', '#/rollouts/look', '#rollout-status'],
      ['faults', '#/faults', 'h1:has-text("Faults")'],
    ];
    for (const [name, path, ready] of pages) {
      // Act
      await open(path);
      await page.locator(ready).first().waitFor();
      // Charts and polls settle: one more answer of each poll.
      await page.waitForTimeout(800);
      await shoot(name);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path, ready] of pages.slice(0, 3)) {
      await open(path);
      await page.locator(ready).first().waitFor();
      await page.waitForTimeout(500);
      await shoot(`${name}-phone`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    // Assess
    expect(problems).toEqual([]);
  }, 180_000);

  it('edits desired state and shows the delta reaching the simulated device', async () => {
    // Prepare
    await open('#/devices/sim-0002');
    await page.locator('#shadow-reported:has-text("samplingIntervalS")').waitFor();
    // Act
    await page.fill('#desired-editor', JSON.stringify({ config: { samplingIntervalS: 30 } }));
    await page.getByRole('button', { name: 'Save desired' }).click();
    // Assess: saved, and the device applied it (only the device writes reported), so the delta cleared
    await page.locator('.ok:has-text("Saved as version")').waitFor();
    await page
      .locator('#shadow-reported:has-text("\\"samplingIntervalS\\": 30")')
      .waitFor({ timeout: 30_000 });
    await page.locator('h3:has-text("Delta (none")').waitFor({ timeout: 30_000 });
    const { body } = await call(t.platform, 'GET', '/things/sim-0002/shadow');
    expect(body.state.reported.config.samplingIntervalS).toBe(30);
    expect(body.state.delta).toBeUndefined();
    await shoot('device-delta-applied');
    expect(problems).toEqual([]);
  }, 120_000);

  it('shows the 409 when someone else changed desired first, and saves nothing', async () => {
    // Prepare: the operator starts editing; meanwhile another writer changes desired
    await open('#/devices/sim-0003');
    await page.locator('#shadow-reported:has-text("samplingIntervalS")').waitFor();
    await page.fill('#desired-editor', JSON.stringify({ config: { samplingIntervalS: 45 } }));
    const other = await call(t.platform, 'POST', '/things/sim-0003/shadow', {
      state: { desired: { config: { samplingIntervalS: 60 } } },
    });
    expect(other.status).toBe(200);
    problems.length = 0;
    // Act
    await page.getByRole('button', { name: 'Save desired' }).click();
    // Assess
    await page.locator('#shadow-conflict').waitFor();
    const { body } = await call(t.platform, 'GET', '/things/sim-0003/shadow');
    expect(body.state.desired.config.samplingIntervalS).toBe(60);
    await shoot('device-conflict');
    // The refused write is the one expected failure on the page.
    expect(problems.filter((p) => !p.includes('409'))).toEqual([]);
    await page.getByRole('button', { name: 'Load the current desired state' }).click();
    await expect.poll(() => page.inputValue('#desired-editor')).toContain('60');
    problems.length = 0;
  }, 120_000);

  it('uploads firmware and starts, pauses and resumes a rollout by clicking', async () => {
    // Prepare: an image uploaded through the page, with its progress bar
    await open('#/firmware');
    await page.fill('input[name="version"]', '1.1.0');
    await page.check('input[name="deviceTypes"][value="tracker"]');
    await page.check('input[name="deviceTypes"][value="env-sensor"]');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#upload-done:has-text("available")').waitFor({ timeout: 30_000 });
    await shoot('firmware-uploaded');
    // Act: a rollout from the form, then pause and resume
    await open('#/rollouts/new');
    await page.selectOption('select[name="firmwareVersion"]', '1.1.0');
    await page.fill('input[name="rolloutId"]', 'clicked');
    await page.fill('input[name="sizes"]', '34, 100');
    await page.locator('#preview:has-text("3 eligible")').waitFor();
    await shoot('rollout-preview');
    // Three devices plan in milliseconds: while the route is held, the rollout's answers say what a large
    // fleet's would for a while (PLANNING, a quarter of the registry's segments read), the rest as the API gave it.
    const rolloutUrl = '**/rollouts/clicked';
    await page.route(rolloutUrl, async (route) => {
      if (route.request().method() !== 'GET') return route.continue();
      const response = await route.fetch();
      const real = (await response.json()) as Json;
      const progress = { segments: { done: 4, total: 16 }, scanned: 2, targeted: 2, eligible: 2, pilot: 0 };
      await route.fulfill({
        response,
        json: { ...real, status: 'PLANNING', planning: { startedAt: 1, progress }, waves: [] },
      });
    });
    await page.click('#start-rollout');
    await page.waitForURL(/#\/rollouts\/clicked$/);
    await page.locator('#rollout-status:has-text("PLANNING")').waitFor();
    await page
      .locator('#planning:has-text("4 of 16 registry segments read: 2 devices read, 2 eligible")')
      .waitFor();
    await page.locator('#waves:has-text("The waves appear as planning places the devices")').waitFor();
    await shoot('rollout-planning');
    await page.unroute(rolloutUrl);
    await page.locator('#rollout-status:has-text("IN_PROGRESS")').waitFor();
    // Planned: the planning bar gives way to the waves.
    await page.locator('#waves [data-wave="1"]').waitFor();
    expect(await page.locator('#planning').count()).toBe(0);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#rollout-status:has-text("PAUSED")').waitFor();
    const paused = await call(t.platform, 'GET', '/rollouts/clicked');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#rollout-status:has-text("IN_PROGRESS")').waitFor();
    const resumed = await call(t.platform, 'GET', '/rollouts/clicked');
    // The scheduler (a minute's timer) is fired here, so the page has progress to draw.
    await driveRollout(t.platform, 'clicked', (r: Json) => r.status === 'COMPLETED');
    await page.locator('#rollout-status:has-text("COMPLETED")').waitFor();
    await shoot('rollout-completed');
    // Assess
    expect(paused.body.status).toBe('PAUSED');
    expect(resumed.body.status).toBe('IN_PROGRESS');
    expect(problems).toEqual([]);
  }, 180_000);

  it('injects a fault by clicking, shows it in force, and clears it', async () => {
    // Prepare
    await open('#/faults');
    await page.locator('#faults-in-force:has-text("None")').waitFor();
    // Act: weaker signal on one device, its RSRP set below the form's default
    await page.selectOption('select[name="kind"]', 'weak-signal');
    await page.fill('input[name="rsrpDbm"]', '-130');
    await page.fill('input[name="things"]', 'sim-0003');
    await page.fill('input[name="percentage"]', '100');
    await page.getByRole('button', { name: 'Inject' }).click();
    // Assess: the page lists it, and the platform holds what was clicked
    await page.locator('#faults-in-force:has-text("weak-signal on 1 devices")').waitFor();
    await page.locator('#faults-in-force:has-text("sim-0003")').waitFor();
    const { body } = await call(t.platform, 'GET', '/local/faults');
    expect(body.faults).toEqual([
      expect.objectContaining({
        effect: expect.objectContaining({ kind: 'weak-signal', rsrpDbm: -130 }),
        devices: ['sim-0003'],
      }),
    ]);
    await shoot('faults-in-force');
    // Act: cleared by clicking
    await page.locator('#faults-in-force').getByRole('button', { name: 'Clear' }).click();
    await page.locator('#faults-in-force:has-text("None")').waitFor();
    expect((await call(t.platform, 'GET', '/local/faults')).body.faults).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});
