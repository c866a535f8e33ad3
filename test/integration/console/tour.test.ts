import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from '../../support/browser.ts';
import { runCliOn } from '../../support/cli.ts';
import { type ConsoleRig, startConsoleRig } from '../../support/console-rig.ts';
import { makeCsr } from '../../support/csr.ts';
import type { TestPlatform } from '../../support/platform.ts';
import { call, driveRollout, type Json } from '../../support/rollouts.ts';
import { skipWithout } from '../../support/tools.ts';

/** The tour's screenshots (gitignored); the README's copies in docs/tour/ were taken from here. */
const TOUR_DIR = join(process.cwd(), 'test-results', 'screenshots', 'tour');

const DEVICES = 4;

/**
 * The README's guided tour (issue 13, item 5), step by step, as its reader does it: the CLI commands it
 * gives and the clicks it describes, each checked for what the tour says the reader will see. The
 * rollout scheduler's one-minute timer is fired here instead of waited for.
 */
describe.skipIf(skipWithout('chromium'))('the guided tour', () => {
  let rig: ConsoleRig;
  let t: TestPlatform;
  let page: Page;
  let problems: string[];
  let dir: string;
  const open = (path: string) => rig.open(path);
  const shoot = (name: string) => page.screenshot({ path: join(TOUR_DIR, `${name}.png`) });
  const cli = (...argv: string[]) => runCliOn(t.platform, argv);
  /** Uploads a simulated image through the firmware page, as the tour's reader does. */
  async function uploadSimulated(version: string, bad?: { temperatureOffset: number; anomalyScore: number }) {
    await open('#/firmware');
    await page.fill('input[name="version"]', version);
    await page.check('input[name="deviceTypes"][value="tracker"]');
    await page.check('input[name="deviceTypes"][value="env-sensor"]');
    if (bad !== undefined) {
      await page.fill('input[name="temperatureOffset"]', String(bad.temperatureOffset));
      await page.fill('input[name="anomalyScore"]', String(bad.anomalyScore));
    }
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#upload-done:has-text("available")').waitFor({ timeout: 30_000 });
  }

  beforeAll(async () => {
    await mkdir(TOUR_DIR, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-tour-'));
    rig = await startConsoleRig(DEVICES);
    ({ t, page, problems } = rig);
  }, 120_000);
  afterAll(async () => {
    await rig?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('1. signs in with the link npm start prints and sees the fleet', async () => {
    await page.goto(t.platform.console.loginLink(t.platform.consoleBase).url);
    await page.locator('#online-percent:has-text("100")').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(800);
    await shoot('1-fleet');
    expect(problems).toEqual([]);
  }, 60_000);

  it('2. provisions a new device from its CSR with the CLI and finds it in the device list', async () => {
    const { csrPem } = await makeCsr('CN=tour-0001');
    await writeFile(join(dir, 'tour-0001.csr'), csrPem);
    const provisioned = await cli(
      'devices',
      'provision',
      'tour-0001',
      '--type',
      'tracker',
      '--csr',
      join(dir, 'tour-0001.csr'),
      '--out',
      join(dir, 'tour-0001.json'),
    );
    expect(provisioned.err).toBe('');
    expect(provisioned.code).toBe(0);
    await open('#/devices');
    await page.fill('input[type="search"]', 'tour');
    await page.locator('a:has-text("tour-0001")').waitFor();
    await shoot('2-provisioned');
    expect(problems).toEqual([]);
  }, 60_000);

  it("3. changes a device's config through its shadow and sees the device apply it", async () => {
    await open('#/devices/sim-0001');
    await page.locator('#shadow-reported:has-text("samplingIntervalS")').waitFor();
    await page.fill('#desired-editor', JSON.stringify({ config: { samplingIntervalS: 30 } }));
    await page.getByRole('button', { name: 'Save desired' }).click();
    await page
      .locator('#shadow-reported:has-text("\\"samplingIntervalS\\": 30")')
      .waitFor({ timeout: 30_000 });
    await page.locator('h3:has-text("Delta (none")').waitFor({ timeout: 30_000 });
    await shoot('3-shadow');
    expect(problems).toEqual([]);
  }, 60_000);

  it('4. sends the device a command with a button and sees its answer', async () => {
    await open('#/devices/sim-0001');
    await page.getByRole('button', { name: 'Diagnostics' }).click();
    await page.locator('#commands .ok:has-text("diagnostics: SUCCEEDED")').waitFor({ timeout: 30_000 });
    // Its history lists it, issued seconds ago.
    await page
      .locator('#commands tr:has-text("diagnostics"):has-text("s ago")')
      .first()
      .waitFor({ timeout: 30_000 });
    await page.locator('#commands').scrollIntoViewIfNeeded();
    await shoot('4-command');
    expect(problems).toEqual([]);
  }, 60_000);

  it('5. rolls out firmware in waves from the rollout form', async () => {
    await uploadSimulated('1.1.0');
    await open('#/rollouts/new');
    await page.selectOption('select[name="firmwareVersion"]', '1.1.0');
    await page.fill('input[name="rolloutId"]', 'tour-waves');
    await page.fill('input[name="sizes"]', '25, 100');
    await page.locator(`#preview:has-text("${DEVICES} eligible")`).waitFor();
    await page.click('#start-rollout');
    await page.waitForURL(/#\/rollouts\/tour-waves$/);
    await driveRollout(t.platform, 'tour-waves', (r: Json) => r.status === 'COMPLETED');
    await page.locator('#rollout-status:has-text("COMPLETED")').waitFor({ timeout: 30_000 });
    // Drawn from the same answer as the status: both waves at 100 %, not the poll before.
    const chart = page.locator('[aria-label="progress per wave over time"]');
    expect(await chart.getAttribute('data-latest')).toBe('100,100');
    await page.waitForTimeout(800);
    await shoot('5-rollout-waves');
    expect(problems).toEqual([]);
  }, 120_000);

  it('6. watches the health gate stop an image that overheats, and 7. sees the overheat alerts', async () => {
    // An image that runs hot (60 °C more on every reading: above the high-temperature rule's 50 °C) and
    // whose readings the anomaly rule flags (score 0.95 > 0.8).
    await uploadSimulated('1.2.0', { temperatureOffset: 60, anomalyScore: 0.95 });
    await open('#/rollouts/new');
    await page.selectOption('select[name="firmwareVersion"]', '1.2.0');
    await page.fill('input[name="rolloutId"]', 'tour-hot');
    await page.fill('input[name="sizes"]', '100');
    await page.check('input[name="gate"]');
    await page.selectOption('select[name="gateMetric"]', 'anomalyRate');
    await page.fill('input[name="windowMinutes"]', '60');
    await page.fill('input[name="controlPercentage"]', '50');
    await page.fill('input[name="minDeviceHours"]', '0.005');
    await page.locator(`#preview:has-text("${DEVICES} eligible")`).waitFor();
    await page.click('#start-rollout');
    await page.waitForURL(/#\/rollouts\/tour-hot$/);
    const seen = await driveRollout(t.platform, 'tour-hot', (r: Json) => r.status === 'ROLLED_BACK', 90_000);
    expect(seen.at(-1).statusReason).toMatch(/^health gate failed: anomalyRate/);
    await page.locator('#rollout-status:has-text("ROLLED_BACK")').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(800);
    await shoot('6-health-gate');

    const { body } = await call(t.platform, 'GET', '/alerts?limit=200');
    const types = body.alerts.map((a: Json) => `${a.type} ${a.metric}=${a.value}`);
    expect(
      types.filter((a: string) => a.startsWith('HIGH_TEMPERATURE')),
      types.join(', '),
    ).not.toEqual([]);
    // The fleet page lists them; a hot device's page shows its own, with the reading that crossed 50 °C.
    await open('#/');
    await page.locator('#alerts:has-text("HIGH_TEMPERATURE")').waitFor({ timeout: 30_000 });
    const hot = body.alerts.find((a: Json) => a.type === 'HIGH_TEMPERATURE').deviceId;
    await open(`#/devices/${hot}`);
    const row = page.locator('tr:has-text("HIGH_TEMPERATURE")').first();
    await row.waitFor({ timeout: 30_000 });
    await row.scrollIntoViewIfNeeded();
    await page.waitForTimeout(800);
    await shoot('7-overheat-alert');
    expect(problems).toEqual([]);
  }, 180_000);
});
