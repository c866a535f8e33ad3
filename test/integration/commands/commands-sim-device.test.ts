import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * The local platform's simulated devices run the real edge agent, so they take commands as a device in
 * the field does: `diagnostics` answers with what the device's emulated modem says through the real AT
 * driver, and an unknown command is refused by the device itself.
 */
describe('cloud-to-device commands to a simulated device', () => {
  let t: TestPlatform;
  let deviceId: string;

  beforeAll(async () => {
    t = await startTestPlatform({ devices: 1 });
    deviceId = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/devices');
      const online = (body.devices ?? []).find(
        (d: { connected?: boolean; status?: string }) => d.status !== 'offline',
      );
      return online?.deviceId as string | undefined;
    });
  }, 90_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('answers diagnostics with its modem registration and signal, in time for ?wait', async () => {
    // Act
    const answer = await eventually(async () => {
      const sent = await call(t.platform, 'POST', `/devices/${deviceId}/commands?wait=20`, {
        name: 'diagnostics',
      });
      return sent.status === 200 ? sent : undefined;
    });

    // Assess
    expect(answer.body).toMatchObject({ status: 'SUCCEEDED' });
    const { modem, uplink, firmware } = answer.body.result;
    expect(modem.state).not.toBe(undefined);
    expect(modem.registration).toMatch(/home|roaming/);
    expect(modem.rsrpDbm).toBeLessThan(-40);
    expect(modem.rsrpDbm).toBeGreaterThan(-141);
    expect(uplink.queuedRecords).toBeGreaterThanOrEqual(0);
    expect(firmware.version).toBe('1.0.0');
  }, 60_000);
});
