import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/src/ota/clock.ts';
import { FileShadowCopyStore } from '../../edge/src/shadow/copy-store.ts';
import { ShadowSync } from '../../edge/src/shadow/shadow-sync.ts';
import { connectMqttTransport, type MqttDeviceTransport } from '../../edge/src/transport/mqtt-transport.ts';
import { DEFAULT_DEVICE_CONFIG, type DeviceConfig } from '../../lib/protocol/device-config.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { signedFetch } from '../support/signing.ts';

/**
 * The edge's shadow sync against the local platform: a cloud app sets desired settings over the
 * HTTP API, the device hears the delta over MQTT (mutual TLS, device policy), applies it, reports it
 * back, and the platform no longer lists the thing as pending.
 */

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform();
});

afterAll(async () => {
  await t.dispose();
});

const running: Array<{ sync: ShadowSync; transport: MqttDeviceTransport }> = [];

afterEach(async () => {
  for (const device of running.splice(0)) {
    await device.sync.stop();
    await device.transport.close();
  }
});

/** A device process: MQTT transport with its certificate, shadow sync on a file copy. */
async function startDevice(thingName: string) {
  const credentials = await t.platform.deviceCredentials(thingName, 'sensor');
  const transport = connectMqttTransport({
    url: t.platform.mqttUrl,
    thingName,
    certPem: credentials.certPem,
    keyPem: credentials.keyPem,
    caPem: credentials.caPem,
  });
  const applied: DeviceConfig[] = [];
  const sync = new ShadowSync({
    thingName,
    transport,
    store: new FileShadowCopyStore(join(t.dataDir, 'edge', thingName, 'shadow.json')),
    defaults: DEFAULT_DEVICE_CONFIG,
    apply: (next) => {
      applied.push(next);
    },
    providers: {
      firmware: () => ({ version: '1.4.2', slot: 'a' }),
      health: () => ({ uptimeS: 42, batteryPct: 88 }),
    },
    clock: systemClock,
  });
  running.push({ sync, transport });
  await sync.start();
  return { sync, transport, applied };
}

async function setDesired(thingName: string, desired: unknown): Promise<void> {
  const response = await signedFetch(t.platform, `/things/${thingName}/shadow`, {
    method: 'POST',
    body: JSON.stringify({ state: { desired } }),
  });
  expect(response.status).toBe(200);
}

async function pendingThings(): Promise<string[]> {
  const { body } = await getJson(t.platform, '/shadows?pending=true');
  return (body.shadows as Array<{ thingName: string; shadowName?: string }>)
    .filter((shadow) => shadow.shadowName === undefined || shadow.shadowName === '')
    .map((shadow) => shadow.thingName);
}

describe('edge shadow sync on the local platform', () => {
  it('applies desired settings set over HTTP, reports them back, and the delta clears', async () => {
    // Prepare: a device that has connected and reported once
    const device = await startDevice('edge-shadow-1');
    await eventually(
      async () => (await getJson(t.platform, '/things/edge-shadow-1/shadow')).body.state?.reported?.health,
    );

    // Act: a cloud app slows sampling and switches PSM off
    await setDesired('edge-shadow-1', { config: { samplingIntervalS: 300, psm: { enabled: false } } });
    await eventually(async () => ((await pendingThings()).includes('edge-shadow-1') ? undefined : true));

    // Assess
    const expected = {
      ...DEFAULT_DEVICE_CONFIG,
      samplingIntervalS: 300,
      psm: { ...DEFAULT_DEVICE_CONFIG.psm, enabled: false },
    };
    const { body } = await getJson(t.platform, '/things/edge-shadow-1/shadow');
    expect(body.state.reported).toMatchObject({
      config: expected,
      firmware: { version: '1.4.2', slot: 'a' },
    });
    expect(body.state.reported).not.toHaveProperty('configErrors');
    expect(body.state).not.toHaveProperty('delta');
    expect(device.applied.at(-1)).toEqual(expected);
    expect(device.sync.config).toEqual(expected);
  });

  it('refuses invalid settings with a reason in reported.configErrors, applies nothing, and clears it once fixed', async () => {
    // Prepare
    const device = await startDevice('edge-shadow-2');
    await eventually(
      async () => (await getJson(t.platform, '/things/edge-shadow-2/shadow')).body.state?.reported?.config,
    );

    // Act: an active time longer than the TAU, then a valid value
    await setDesired('edge-shadow-2', { config: { psm: { activeTimeS: 7200 } } });
    const refused = await eventually(
      async () =>
        (await getJson(t.platform, '/things/edge-shadow-2/shadow')).body.state?.reported?.configErrors,
    );
    const pendingWhileRefused = await pendingThings();
    await setDesired('edge-shadow-2', { config: { psm: { activeTimeS: 120 } } });
    await eventually(async () => ((await pendingThings()).includes('edge-shadow-2') ? undefined : true));

    // Assess
    expect(refused).toMatchObject({
      reason: expect.stringMatching(/nothing was applied/),
      issues: [
        { field: 'config.psm.activeTimeS', reason: expect.stringMatching(/shorter than periodicTauS/) },
      ],
    });
    expect(pendingWhileRefused).toContain('edge-shadow-2');
    expect(device.applied.map((config) => config.psm.activeTimeS)).toEqual([60, 120]);
    const { body } = await getJson(t.platform, '/things/edge-shadow-2/shadow');
    expect(body.state.reported.config.psm.activeTimeS).toBe(120);
    expect(body.state.reported).not.toHaveProperty('configErrors');
  });

  it('starts offline from its local copy and reconciles what changed meanwhile once connected', async () => {
    // Prepare: a first run applies settings, then the device goes away and the operator changes them
    const first = await startDevice('edge-shadow-3');
    await setDesired('edge-shadow-3', { config: { samplingIntervalS: 30 } });
    await eventually(async () => (first.sync.config.samplingIntervalS === 30 ? true : undefined));
    await eventually(async () => ((await pendingThings()).includes('edge-shadow-3') ? undefined : true));
    const stopped = running.splice(0);
    for (const device of stopped) {
      await device.sync.stop();
      await device.transport.close();
    }
    await setDesired('edge-shadow-3', { config: { samplingIntervalS: 90 } });

    // Act: the device starts again on the same local copy
    const second = await startDevice('edge-shadow-3');
    const appliedAtStart = second.applied[0];
    await eventually(async () => ((await pendingThings()).includes('edge-shadow-3') ? undefined : true));

    // Assess
    expect(appliedAtStart?.samplingIntervalS).toBe(30);
    expect(second.applied.map((config) => config.samplingIntervalS)).toEqual([30, 90]);
    const { body } = await getJson(t.platform, '/things/edge-shadow-3/shadow');
    expect(body.state.reported.config.samplingIntervalS).toBe(90);
  });
});
