import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { Platform } from '../../lib/local/platform.ts';
import {
  buildSimulatedFirmwareImage,
  type SimFirmwareManifestInput,
} from '../../lib/local/sim/firmware-behaviour.ts';
import { eventually, startTestPlatform, type TestPlatform } from './platform.ts';
import { signedFetch } from './signing.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON bodies field by field
export type Json = any;

/** One HTTP call to the platform's gateway, JSON both ways, signed with the operator's credentials. */
export async function call(
  platform: Platform,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const response = await signedFetch(platform, `${platform.gatewayUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * Registers a simulated firmware image, uploads it through the presigned URL and completes it (verified
 * and signed by the platform): what an operator does before a rollout.
 */
export async function publishSimFirmware(
  platform: Platform,
  manifest: SimFirmwareManifestInput,
  deviceTypes: readonly string[] = ['tracker', 'env-sensor'],
  registration: { readonly securityVersion?: number } = {},
): Promise<Buffer> {
  const image = buildSimulatedFirmwareImage(manifest, 16 * 1024);
  const registered = await call(platform, 'POST', '/firmware', {
    version: manifest.version,
    deviceTypes,
    size: image.length,
    sha256: createHash('sha256').update(image).digest('hex'),
    ...registration,
  });
  expect(registered.status).toBe(201);
  const put = await fetch(registered.body.upload.url, { method: 'PUT', body: image });
  expect(put.status).toBe(200);
  const completed = await call(platform, 'POST', `/firmware/${manifest.version}/complete`);
  expect(completed.status).toBe(200);
  return image;
}

/**
 * A platform with a simulated fleet of `devices` that run the OTA agent (fast health checks and reboots,
 * no post-rollout health window), started once every device is in the registry: rollouts and faults
 * by group select from it.
 */
export async function startRolloutPlatform(devices: number): Promise<TestPlatform> {
  const t = await startTestPlatform({
    devices,
    statusEveryMs: 500,
    telemetryEveryMs: 300,
    ota: { healthCheckMs: 300, rebootDelayMs: 50 },
    settings: { ROLLOUT_HEALTH_CHECK_SECONDS: '0' },
  });
  await eventually(async () => {
    const { body } = await call(t.platform, 'GET', '/devices?limit=100');
    return body.devices?.length === devices ? true : undefined;
  }, 20_000);
  return t;
}

/**
 * Runs the rollout scheduler (as EventBridge would every minute) until `done` says the rollout is where
 * the test wants it; returns every status snapshot seen on the way.
 */
export async function driveRollout(
  platform: Platform,
  rolloutId: string,
  done: (rollout: Json) => boolean,
  timeoutMs = 60_000,
): Promise<Json[]> {
  const seen: Json[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await platform.scheduler.fire('rolloutScheduler');
    const { body } = await call(platform, 'GET', `/rollouts/${rolloutId}`);
    seen.push(body);
    if (done(body)) return seen;
    if (Date.now() > deadline)
      throw new Error(`rollout ${rolloutId} did not get there in ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
