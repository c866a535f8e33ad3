import { describe, expect, it } from 'vitest';
import {
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  makeImage,
  makeKey,
} from './support.ts';

const key = makeKey();
const image = makeImage(6 * 1024);

async function update(
  health: ConstructorParameters<typeof DeviceHarness>[0]['health'],
  install?: () => Promise<void>,
) {
  const service = new FakeJobsService();
  const device = new DeviceHarness({
    service,
    downloader: new FakeDownloader(image),
    key,
    health,
    ...(install ? { install } : {}),
  });
  await device.powerOn();
  service.addJob('job-1', firmwareDocument(image, key));
  await device.finish('job-1');
  return { service, device };
}

describe('A/B install: trial boot, health check, commit or roll back', () => {
  it('healthy → commit → SUCCEEDED; the new slot boots from now on', async () => {
    // Act
    const { service, device } = await update(() => ({ healthy: true }));
    await device.powerOn();
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
    expect(await device.slots.bootState()).toEqual({
      booted: 'b',
      committed: 'b',
      versions: { a: '1.0.0', b: '2.0.0' },
    });
  });

  it('unhealthy → back to the old slot → FAILED with reason health-check and the check’s detail', async () => {
    // Act
    const { service, device } = await update(() => ({ healthy: false, detail: 'sensors not readable' }));
    // Assess
    expect(service.statusOf('job-1')).toBe('FAILED');
    expect(service.detailsOf('job-1')).toEqual({
      step: 'rebooting',
      reason: 'health-check',
      firmwareVersion: '2.0.0',
      detail: 'sensors not readable',
    });
    expect(await device.slots.bootState()).toEqual({
      booted: 'a',
      committed: 'a',
      versions: { a: '1.0.0', b: '2.0.0' },
    });
    expect(device.boots).toBe(3);
    expect(device.slots.contents('a').toString()).toBe('factory image 1.0.0');
  });

  it('a health check that throws counts as unhealthy', async () => {
    // Act
    const { service } = await update(() => {
      throw new Error('probe crashed');
    });
    // Assess
    expect(service.detailsOf('job-1')).toMatchObject({
      reason: 'health-check',
      detail: 'health check threw: probe crashed',
    });
  });

  it('the new firmware crashes before its check passes → the bootloader returns to the old slot → FAILED health-check', async () => {
    // Act
    const { service, device } = await update((harness) => {
      harness.crash();
      return new Promise(() => undefined);
    });
    // Assess
    expect(service.statusOf('job-1')).toBe('FAILED');
    expect(service.detailsOf('job-1').reason).toBe('health-check');
    expect(service.detailsOf('job-1').detail).toContain('did not confirm its trial boot');
    expect(await device.slots.bootState()).toEqual({
      booted: 'a',
      committed: 'a',
      versions: { a: '1.0.0', b: '2.0.0' },
    });
  });

  it('a crash loop in the new firmware ends after one try: the old slot keeps booting', async () => {
    // Prepare
    let crashes = 0;
    const { device } = await update((harness) => {
      crashes += 1;
      harness.crash();
      return new Promise(() => undefined);
    });
    // Act
    await device.powerOn();
    await device.powerOn();
    await device.settled();
    // Assess
    expect(crashes).toBe(1);
    expect((await device.slots.bootState()).booted).toBe('a');
  });

  it('install hook fails → FAILED with reason install, nothing marked pending, no reboot', async () => {
    // Act
    const { service, device } = await update(undefined, async () => {
      throw new Error('post-install script exited 3');
    });
    // Assess
    expect(service.detailsOf('job-1')).toMatchObject({
      step: 'installing',
      reason: 'install',
      detail: 'post-install script exited 3',
    });
    expect(await device.slots.bootState()).toEqual({ booted: 'a', committed: 'a', versions: { a: '1.0.0' } });
    expect(device.boots).toBe(1);
  });

  it('the health check is told which job, slot and version it judges', async () => {
    // Prepare
    const seen: unknown[] = [];
    const service = new FakeJobsService();
    const extra = {
      healthCheck: async (context: { jobId: string; slot: string; version: string }) => {
        seen.push({ jobId: context.jobId, slot: context.slot, version: context.version });
        return { healthy: true } as const;
      },
    };
    const device = new DeviceHarness({ service, downloader: new FakeDownloader(image), key, extra });
    await device.powerOn();
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await device.finish('job-1');
    // Assess
    expect(seen).toEqual([{ jobId: 'job-1', slot: 'b', version: '2.0.0' }]);
  });
});
