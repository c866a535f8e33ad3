import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type Platform, type PlatformOptions, startPlatform } from '../../lib/local/platform.ts';
import { signedFetch } from './signing.ts';

/** A platform on random ports in a fresh temp dir, with its log lines captured. */
export interface TestPlatform {
  platform: Platform;
  lines: string[];
  dataDir: string;
  /** Stops and starts again on the same data; `whileStopped` runs in between (to damage or edit data). */
  restart(whileStopped?: () => Promise<void>): Promise<void>;
  dispose(): Promise<void>;
}

export async function startTestPlatform(options: PlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-test-'));
  const lines: string[] = [];
  const start = async () => {
    const platform = await startPlatform({
      dataDir,
      gatewayPort: 0,
      mqttPort: 0,
      devices: 0,
      verbosity: 'normal',
      out: (line) => lines.push(line),
      ...options,
    });
    // The platform is ready before its simulated fleet is; tests start once every device is up.
    await platform.fleet.whenUp();
    return platform;
  };
  const handle: TestPlatform = {
    platform: await start(),
    lines,
    dataDir,
    async restart(whileStopped) {
      await handle.platform.stop();
      await whileStopped?.();
      handle.platform = await start();
    },
    async dispose() {
      await handle.platform.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** Connects as a device with the certificate the local CA issues for it. */
export async function connectDevice(
  platform: Platform,
  thingName: string,
  thingType: string,
  overrides: IClientOptions = {},
): Promise<MqttClient> {
  const credentials = await platform.deviceCredentials(thingName, thingType);
  return mqtt.connectAsync(platform.mqttUrl, {
    clientId: thingName,
    protocolVersion: 4,
    key: credentials.keyPem,
    cert: credentials.certPem,
    ca: credentials.caPem,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...overrides,
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** GETs a JSON resource from the gateway, signed with the operator's credentials. */
// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON bodies field by field
export async function getJson(platform: Platform, path: string): Promise<{ status: number; body: any }> {
  const response = await signedFetch(platform, `${platform.gatewayUrl}${path}`);
  return { status: response.status, body: await response.json() };
}
