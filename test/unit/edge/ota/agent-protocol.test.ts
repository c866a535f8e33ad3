import { describe, expect, it } from 'vitest';
import {
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  makeImage,
  makeKey,
  until,
} from './support.ts';

const key = makeKey();
const image = makeImage(10 * 1024);

/** One line per request the device made: operation, status, step, progress, reason, rejection. */
function exchange(service: FakeJobsService): string[] {
  return service.seen.map((r) => {
    const details = (r.body.statusDetails ?? {}) as Record<string, string>;
    return [
      r.operation,
      r.body.status,
      details.step,
      details.progress,
      details.reason,
      r.response === 'rejected' ? `→ ${r.code}` : undefined,
    ]
      .filter((part) => part !== undefined)
      .join(' ');
  });
}

async function startedDevice(service = new FakeJobsService(), downloader = new FakeDownloader(image)) {
  const device = new DeviceHarness({ service, downloader, key });
  await device.powerOn();
  await device.settled();
  return { service, device, downloader };
}

describe('OTA agent: the AWS IoT Jobs device workflow', () => {
  it('notify → start-next → progress updates → SUCCEEDED, then asks for the next job', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await device.finish('job-1');
    // Assess
    expect(exchange(service)).toEqual([
      'start-next',
      'start-next',
      'update IN_PROGRESS downloading 0%',
      'update IN_PROGRESS downloading 10%',
      'update IN_PROGRESS downloading 20%',
      'update IN_PROGRESS downloading 30%',
      'update IN_PROGRESS downloading 40%',
      'update IN_PROGRESS downloading 50%',
      'update IN_PROGRESS downloading 60%',
      'update IN_PROGRESS downloading 70%',
      'update IN_PROGRESS downloading 80%',
      'update IN_PROGRESS downloading 90%',
      'update IN_PROGRESS downloading 100%',
      'update IN_PROGRESS verifying',
      'update IN_PROGRESS installing',
      'update IN_PROGRESS rebooting',
      'update IN_PROGRESS rebooting 100%',
      'update SUCCEEDED committed 100%',
      'start-next',
    ]);
    expect(service.detailsOf('job-1')).toEqual({
      step: 'committed',
      progress: '100%',
      firmwareVersion: '2.0.0',
    });
    const boot = await device.slots.bootState();
    expect(boot).toEqual({ booted: 'b', committed: 'b', versions: { a: '1.0.0', b: '2.0.0' } });
    expect(device.slots.contents('b').equals(image)).toBe(true);
    expect(device.boots).toBe(2);
    expect(device.stateStore.peek()).toEqual({ phase: 'idle' });
  });

  it('sends expectedVersion on every update, matching the execution version the service has', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await device.finish('job-1');
    // Assess
    const updates = service.seen.filter((r) => r.operation === 'update');
    expect(
      updates.every((r) => r.response === 'accepted' && typeof r.body.expectedVersion === 'number'),
    ).toBe(true);
    expect(updates.map((r) => r.body.expectedVersion)).toEqual(updates.map((_, i) => i + 2));
  });

  it('runs jobs one after another: the next starts when the first has ended', async () => {
    // Prepare
    const { service, device, downloader } = await startedDevice();
    const image3 = makeImage(4096, 'three');
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    service.addJob(
      'job-2',
      firmwareDocument(image3, key, { version: '3.0.0', url: 'https://firmware.example/3' }),
    );
    downloader.routes.set('https://firmware.example/3', image3);
    await device.finish('job-1');
    await device.finish('job-2');
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
    expect(service.statusOf('job-2')).toBe('SUCCEEDED');
    expect(await device.slots.bootState()).toEqual({
      booted: 'a',
      committed: 'a',
      versions: { a: '3.0.0', b: '2.0.0' },
    });
  });

  it('reports SUCCEEDED without downloading when the job asks for the version already running', async () => {
    // Prepare
    const { service, device, downloader } = await startedDevice();
    // Act
    service.addJob('job-1', firmwareDocument(image, key, { version: '1.0.0' }));
    await device.finish('job-1');
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
    expect(service.detailsOf('job-1')).toMatchObject({ step: 'committed', detail: 'already running 1.0.0' });
    expect(downloader.requests).toHaveLength(0);
  });

  it('asks start-next again after a reconnect, and picks up a job queued while offline', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    device.transport?.disconnect();
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const whileOffline = service.statusOf('job-1');
    device.transport?.reconnect();
    await device.finish('job-1');
    // Assess
    expect(whileOffline).toBe('QUEUED');
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
  });

  it('keeps the outcome until the service hears it: a terminal report lost while offline is sent after reconnecting', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    service.afterUpdate = (_jobId, _status, details) => {
      if (details.progress === '100%' && details.step === 'rebooting') service.silent = true;
    };
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await until(() => device.events.some((e) => e.event === 'committed'), 'commit');
    await until(() => device.events.filter((e) => e.event === 'retry').length >= 2, 'retries of the report');
    const whileSilent = service.statusOf('job-1');
    service.silent = false;
    device.transport?.reconnect();
    await device.finish('job-1');
    // Assess
    expect(whileSilent).toBe('IN_PROGRESS');
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
  });
});

describe('OTA agent: job documents it cannot use', () => {
  const good = firmwareDocument(image, key);
  it.each([
    ['not an object', 'firmware please', '(root)'],
    ['another operation', { ...good, operation: 'reboot' }, 'operation'],
    ['no firmware', { operation: 'firmware-update', rolloutId: 'r1' }, 'firmware'],
    [
      'upper-case sha256',
      {
        ...good,
        firmware: {
          ...good.firmware,
          manifest: { ...good.firmware.manifest, sha256: good.firmware.manifest.sha256.toUpperCase() },
        },
      },
      'firmware.manifest.sha256',
    ],
    [
      'signature not base64',
      {
        ...good,
        firmware: {
          ...good.firmware,
          envelope: { ...good.firmware.envelope, signatures: [{ keyid: 'k', sig: '***' }] },
        },
      },
      'firmware.envelope.signatures.0.sig',
    ],
    [
      'an unknown field in the manifest',
      { ...good, firmware: { ...good.firmware, manifest: { ...good.firmware.manifest, bootloader: 'any' } } },
      'firmware.manifest',
    ],
    ['no job document at all', undefined, '(root)'],
  ])(
    '%s → REJECTED with reason invalid-job-document, and the agent keeps running',
    async (_name, document, field) => {
      // Prepare
      const { service, device, downloader } = await startedDevice();
      // Act
      service.addJob('bad', document);
      await device.finish('bad');
      service.addJob('good', good);
      await device.finish('good');
      // Assess
      expect(service.statusOf('bad')).toBe('REJECTED');
      expect(service.detailsOf('bad').reason).toBe('invalid-job-document');
      expect(service.detailsOf('bad').detail).toContain(`${field}:`);
      expect(service.statusOf('good')).toBe('SUCCEEDED');
      expect(downloader.requests.every((r) => r.url === good.firmware.url)).toBe(true);
    },
  );
});

describe('OTA agent: executions that change behind its back', () => {
  it('VersionMismatch → describes the execution, continues with its version, and succeeds', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    service.afterUpdate = (jobId, _status, details) => {
      if (details.progress === '50%') service.bumpVersion(jobId);
    };
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await device.finish('job-1');
    // Assess
    const lines = exchange(service);
    const mismatch = lines.indexOf('update IN_PROGRESS downloading 60% → VersionMismatch');
    expect(mismatch).toBeGreaterThan(0);
    expect(lines.slice(mismatch + 1, mismatch + 3)).toEqual(['get', 'update IN_PROGRESS downloading 60%']);
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
  });

  it('canceled during the download → stops, empties the slot, marks nothing pending, reports nothing more', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    service.afterUpdate = (jobId, _status, details) => {
      if (details.progress === '30%') service.cancel(jobId);
    };
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await until(() => device.events.some((e) => e.event === 'job-ended'), 'the agent to notice');
    await device.settled();
    // Assess
    expect(service.statusOf('job-1')).toBe('CANCELED');
    expect(await device.slots.bootState()).toEqual({ booted: 'a', committed: 'a', versions: { a: '1.0.0' } });
    expect(device.slots.contents('b')).toHaveLength(0);
    expect(device.stateStore.peek()).toEqual({ phase: 'idle' });
    const accepted = service.updatesOf('job-1').map((u) => u.details.progress);
    expect(accepted.at(-1)).toBe('30%');
  });

  it('canceled while the new firmware is on its trial boot → goes back to the committed slot', async () => {
    // Prepare
    const { service, device } = await startedDevice();
    service.afterUpdate = (jobId, _status, details) => {
      if (details.step === 'rebooting' && details.progress === undefined) service.cancel(jobId);
    };
    // Act
    service.addJob('job-1', firmwareDocument(image, key));
    await until(() => device.boots === 3, 'the reboot back');
    await device.settled();
    // Assess
    expect(service.statusOf('job-1')).toBe('CANCELED');
    expect(await device.slots.bootState()).toMatchObject({ booted: 'a', committed: 'a' });
    expect((await device.slots.bootState()).pending).toBeUndefined();
    expect(exchange(service).filter((l) => l.endsWith('TerminalStateReached'))).toEqual([
      'update IN_PROGRESS rebooting 100% → TerminalStateReached',
    ]);
    // TerminalStateReached names no state (AWS sends executionState only with two other codes).
    expect(device.events.find((e) => e.event === 'job-ended')?.fields).toMatchObject({ status: 'TERMINAL' });
  });

  it.each([
    ['SUCCEEDED', 'InvalidStateTransition'],
    ['CANCELED', 'TerminalStateReached'],
  ] as const)(
    'final report refused because the execution is already %s (%s) → done, no retry loop',
    async (already, code) => {
      // Prepare
      const { service, device } = await startedDevice();
      service.afterUpdate = (jobId, _status, details) => {
        if (details.step === 'rebooting' && details.progress === '100%') {
          const execution = service.executions.get(jobId);
          if (execution) execution.status = already;
        }
      };
      // Act
      service.addJob('job-1', firmwareDocument(image, key));
      await until(() => device.events.some((e) => e.event === 'report-superseded'), 'the superseded report');
      await device.settled();
      // Assess
      expect(service.seen.filter((r) => r.response === 'rejected').map((r) => r.code)).toEqual([code]);
      expect(device.stateStore.peek()).toEqual({ phase: 'idle' });
      expect(await device.slots.bootState()).toMatchObject({ booted: 'b', committed: 'b' });
    },
  );
});
