import { type ChildProcess, spawn } from 'node:child_process';
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
  const files = {
    certFile: join(dir, 'device.crt'),
    keyFile: join(dir, 'device.key'),
    caFile: join(dir, 'ca.crt'),
  };
  await writeFile(files.certFile, credentials.certPem);
  await writeFile(files.keyFile, credentials.keyPem);
  await writeFile(files.caFile, credentials.caPem);
  return identityEnvironment(platform, thingName, files, dir, extra);
}

/**
 * The environment that runs the agent against `platform` as a tracker `thingName` with the identity
 * files it already has (provisioned by its own CSR: `provision csr` / `provision install`), its data in
 * `<dir>/data`, plus `extra`.
 */
export function identityEnvironment(
  platform: Platform,
  thingName: string,
  files: { readonly certFile: string; readonly keyFile: string; readonly caFile: string },
  dir: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_NO_WARNINGS: '1',
    FLEETKIT_TRANSPORT: 'mqtt',
    FLEETKIT_THING_NAME: thingName,
    FLEETKIT_THING_TYPE: 'tracker',
    FLEETKIT_MQTT_URL: platform.mqttUrl,
    FLEETKIT_CERT_FILE: files.certFile,
    FLEETKIT_KEY_FILE: files.keyFile,
    FLEETKIT_CA_FILE: files.caFile,
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

/** Runs the agent's entry point (`edge/src/main.ts`) with `env`, its log lines collected into `logs`. */
export function startAgentProcess(
  env: Readonly<Record<string, string>>,
  logs: Array<Record<string, unknown>>,
): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'edge/src/main.ts'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  collectLogs(child, logs);
  return child;
}
