import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from '../../lib/local/platform.ts';

/** The repository root: the agent's entry point runs from here, with tsx. */
export const REPO = new URL('../..', import.meta.url).pathname;

/**
 * Writes a thing's certificate, key and CA into `dir` and returns the environment that runs the
 * agent against `platform` as that thing (standalone MQTT, its data in `<dir>/data`), plus `extra`.
 */
export async function agentEnvironment(
  platform: Platform,
  thingName: string,
  dir: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<Record<string, string>> {
  const credentials = await platform.deviceCredentials(thingName, 'tracker');
  await writeFile(join(dir, 'device.crt'), credentials.certPem);
  await writeFile(join(dir, 'device.key'), credentials.keyPem);
  await writeFile(join(dir, 'ca.crt'), credentials.caPem);
  return {
    PATH: process.env.PATH ?? '',
    NODE_NO_WARNINGS: '1',
    FLEETKIT_TRANSPORT: 'mqtt',
    FLEETKIT_THING_NAME: thingName,
    FLEETKIT_THING_TYPE: 'tracker',
    FLEETKIT_MQTT_URL: platform.mqttUrl,
    FLEETKIT_CERT_FILE: join(dir, 'device.crt'),
    FLEETKIT_KEY_FILE: join(dir, 'device.key'),
    FLEETKIT_CA_FILE: join(dir, 'ca.crt'),
    FLEETKIT_DATA_DIR: join(dir, 'data'),
    FLEETKIT_COAP_PORT: '0',
    FLEETKIT_SAMPLING_INTERVAL_S: '1',
    FLEETKIT_STATUS_INTERVAL_S: '2',
    ...extra,
  };
}

/** Collects the agent's JSON log lines (one object per stdout line) into `logs`, as they come. */
export function collectLogs(child: ChildProcess, logs: Array<Record<string, unknown>>): void {
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line));
  });
}
