import { describe, expect, it } from 'vitest';
import type { HealthResult } from '../../../../edge/src/ota/ports.ts';
import {
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  makeImage,
  makeKey,
} from './support.ts';

/**
 * Power loss between every pair of steps. A run without a cut records the durable steps the device
 * takes (state saves, slot writes and syncs, pending/commit/rollback, publishes, the reboot); then,
 * for each step, a fresh device loses power right before it — that step never happens, unsynced slot
 * bytes are lost — and boots again. After each, the device must boot a known-good slot, the old
 * image must be intact, and the job must end with the status that matches what the device runs.
 */

const key = makeKey();
const image = makeImage(4 * 1024);
const tampered = Buffer.from(image);
tampered[100] = (tampered[100] ?? 0) ^ 1;

interface Scenario {
  readonly served: Buffer;
  readonly health: HealthResult;
}

async function run(scenario: Scenario, cutAt?: number) {
  const service = new FakeJobsService();
  const device = new DeviceHarness({
    service,
    downloader: new FakeDownloader(scenario.served),
    key,
    health: () => scenario.health,
    ...(cutAt === undefined ? {} : { cutAt }),
  });
  await device.powerOn();
  service.addJob('job-1', firmwareDocument(image, key));
  await device.finish('job-1');
  return { service, device };
}

async function recordSteps(scenario: Scenario): Promise<string[]> {
  const { device } = await run(scenario);
  return [...device.steps];
}

async function expectSafe(device: DeviceHarness): Promise<void> {
  const boot = await device.slots.bootState();
  expect(boot.pending).toBeUndefined();
  expect(boot.booted).toBe(boot.committed);
  expect(device.slots.contents('a').toString()).toBe('factory image 1.0.0');
  expect(device.stateStore.peek()).toEqual({ phase: 'idle' });
}

describe('power loss between any two steps', () => {
  const good: Scenario = { served: image, health: { healthy: true } };

  it('the recorded happy path has the steps the enumeration relies on', async () => {
    const steps = await recordSteps(good);
    const order = [
      'save downloading',
      'sync',
      'save installing',
      'mark-pending b',
      'save rebooting',
      'reboot',
      'commit',
      'save reporting',
      'publish job-1/update SUCCEEDED',
      'save idle',
    ];
    const positions = order.map((name) => steps.indexOf(name));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
  });

  it('healthy update: a cut before the trial boot or after the commit still ends SUCCEEDED; a cut during the trial ends FAILED health-check on the old slot', async () => {
    const steps = await recordSteps(good);
    const reboot = steps.indexOf('reboot');
    const commit = steps.indexOf('commit');
    const outcomes: string[] = [];
    for (let cut = 0; cut < steps.length; cut++) {
      const { service, device } = await run(good, cut);
      await expectSafe(device);
      const boot = await device.slots.bootState();
      const status = service.statusOf('job-1');
      const duringTrial = cut > reboot && cut <= commit;
      outcomes.push(`${cut} ${steps[cut]}: ${status}`);
      if (duringTrial) {
        expect(status, `cut before ${cut} ${steps[cut]}`).toBe('FAILED');
        expect(service.detailsOf('job-1').reason).toBe('health-check');
        expect(boot.committed).toBe('a');
      } else {
        expect(status, `cut before ${cut} ${steps[cut]}`).toBe('SUCCEEDED');
        expect(boot.committed).toBe('b');
        expect(boot.versions.b).toBe('2.0.0');
        expect(device.slots.contents('b').equals(image)).toBe(true);
      }
      expect(device.powerCuts).toBe(1);
    }
    expect(outcomes.filter((o) => o.endsWith('FAILED')).length).toBe(commit - reboot);
    expect(outcomes.filter((o) => o.endsWith('SUCCEEDED')).length).toBe(steps.length - (commit - reboot));
  });

  it('unhealthy update: every cut ends FAILED health-check, booted on the old slot', async () => {
    const scenario: Scenario = { served: image, health: { healthy: false, detail: 'no sensors' } };
    const steps = await recordSteps(scenario);
    expect(steps).toContain('rollback');
    for (let cut = 0; cut < steps.length; cut++) {
      const { service, device } = await run(scenario, cut);
      await expectSafe(device);
      expect(service.statusOf('job-1'), `cut before ${cut} ${steps[cut]}`).toBe('FAILED');
      expect(service.detailsOf('job-1').reason).toBe('health-check');
      expect((await device.slots.bootState()).committed).toBe('a');
    }
  });

  it('tampered image: every cut ends FAILED sha256, nothing pending, the slot emptied', async () => {
    const scenario: Scenario = { served: tampered, health: { healthy: true } };
    const steps = await recordSteps(scenario);
    for (let cut = 0; cut < steps.length; cut++) {
      const { service, device } = await run(scenario, cut);
      await expectSafe(device);
      expect(service.statusOf('job-1'), `cut before ${cut} ${steps[cut]}`).toBe('FAILED');
      expect(service.detailsOf('job-1').reason).toBe('sha256');
      expect(device.slots.contents('b')).toHaveLength(0);
    }
  });
});
