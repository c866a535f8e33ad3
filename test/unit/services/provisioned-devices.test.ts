import { describe, expect, it } from 'vitest';
import { rebootAlerts } from '../../../lambdas/domain/fleet/reboot.ts';
import { toDeviceView } from '../../../lambdas/handlers/api-devices/view.ts';
import type { DeviceRecord } from '../../../lambdas/ports.ts';
import { countedHealth } from '../../../lambdas/services/fleet-health-recorder.ts';

/** A device provisioned by POST /devices is in the registry before it is first heard from. */
const provisioned: DeviceRecord = {
  deviceId: 'A',
  deviceType: 'tracker',
  provisionedAt: 1_770_000_000_000,
  certificateId: 'c'.repeat(64),
};

describe('a registry record provisioned but never seen', () => {
  it('is not counted by the fleet health counters until its first sighting', () => {
    expect(countedHealth(provisioned)).toBeUndefined();
    expect(
      countedHealth({
        ...provisioned,
        lastSeen: 1_770_000_000_500,
        firstSeen: 1_770_000_000_500,
        firmwareVersion: '1.0.0',
      }),
    ).toMatchObject({ deviceType: 'tracker', online: true });
  });

  it('raises no reboot on its first status', () => {
    const first = { ...provisioned, lastSeen: 1_770_000_001_000, uptimeSeconds: 5 };
    expect(rebootAlerts(provisioned, first)).toEqual([]);
  });

  it('shows its provisioning time and no sighting times in the API', () => {
    expect(toDeviceView(provisioned)).toEqual({
      deviceId: 'A',
      deviceType: 'tracker',
      certificateId: 'c'.repeat(64),
      provisionedAt: '2026-02-02T02:40:00.000Z',
    });
  });
});
