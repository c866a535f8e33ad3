import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { toFieldIssues } from '../../../lib/protocol/parse.ts';
import { THING_NAME_PATTERN } from '../../../lib/protocol/topics.ts';
import type { Clock } from '../ota/ports.ts';
import {
  GreengrassIpcTransport,
  loadGreengrassIpcClientFactory,
  type ModuleImporter,
} from './greengrass-ipc-transport.ts';
import { connectMqttTransport, TLS_MIN_VERSIONS, type TransportLog } from './mqtt-transport.ts';
import type { DeviceTransport } from './ports.ts';

/** The environment names the agent reads to pick and configure its transport. */
export const TRANSPORT_ENV = {
  /** `greengrass` or `mqtt`; defaults to `greengrass` when the nucleus socket variable is set. */
  mode: 'FLEETKIT_TRANSPORT',
  /** Set by Greengrass for every component (the core device's thing name). */
  greengrassThingName: 'AWS_IOT_THING_NAME',
  /** Set by Greengrass: the IPC socket of the nucleus. */
  greengrassSocket: 'AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT',
  thingName: 'FLEETKIT_THING_NAME',
  mqttUrl: 'FLEETKIT_MQTT_URL',
  certFile: 'FLEETKIT_CERT_FILE',
  keyFile: 'FLEETKIT_KEY_FILE',
  caFile: 'FLEETKIT_CA_FILE',
  /** `TLSv1.3` (default) or `TLSv1.2`, for a modem whose TLS offload lacks 1.3. */
  tlsMinVersion: 'FLEETKIT_TLS_MIN_VERSION',
} as const;

const thingName = z.string().regex(THING_NAME_PATTERN, 'must be 1-128 characters of [a-zA-Z0-9:_-]');

const settingsSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('greengrass'), thingName }),
  z.object({
    mode: z.literal('mqtt'),
    thingName,
    url: z.string().regex(/^mqtts:\/\/[^/]+$/, 'must be mqtts://host[:port] (mutual TLS only)'),
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    caFile: z.string().min(1),
    tlsMinVersion: z
      .enum(TLS_MIN_VERSIONS, { error: 'must be TLSv1.3 (the default) or TLSv1.2' })
      .default('TLSv1.3'),
  }),
]);

/** Which transport to open, and how. */
export type TransportSettings = z.output<typeof settingsSchema>;

/** The environment does not say how to reach the broker. */
export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
}

/**
 * Reads the transport settings from the environment.
 *
 * @throws TransportConfigError naming each missing or malformed variable
 */
export function readTransportSettings(env: Readonly<Record<string, string | undefined>>): TransportSettings {
  // An empty variable counts as unset, as a shell's `FLEETKIT_TRANSPORT=` means.
  const mode = env[TRANSPORT_ENV.mode] || (env[TRANSPORT_ENV.greengrassSocket] ? 'greengrass' : 'mqtt');
  const input =
    mode === 'greengrass'
      ? { mode, thingName: env[TRANSPORT_ENV.greengrassThingName] ?? env[TRANSPORT_ENV.thingName] }
      : {
          mode,
          thingName: env[TRANSPORT_ENV.thingName],
          url: env[TRANSPORT_ENV.mqttUrl],
          certFile: env[TRANSPORT_ENV.certFile],
          keyFile: env[TRANSPORT_ENV.keyFile],
          caFile: env[TRANSPORT_ENV.caFile],
          // An empty variable counts as unset, as above.
          tlsMinVersion: env[TRANSPORT_ENV.tlsMinVersion] || undefined,
        };
  const names: Record<string, string> = {
    mode: TRANSPORT_ENV.mode,
    thingName: mode === 'greengrass' ? TRANSPORT_ENV.greengrassThingName : TRANSPORT_ENV.thingName,
    url: TRANSPORT_ENV.mqttUrl,
    certFile: TRANSPORT_ENV.certFile,
    keyFile: TRANSPORT_ENV.keyFile,
    caFile: TRANSPORT_ENV.caFile,
    tlsMinVersion: TRANSPORT_ENV.tlsMinVersion,
  };
  const result = settingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = toFieldIssues(result.error.issues).map(
    (issue) => `${names[issue.field] ?? issue.field}: ${issue.reason}`,
  );
  throw new TransportConfigError(`cannot open the ${mode} transport: ${problems.join('; ')}`);
}

export interface OpenTransportDependencies {
  readonly clock: Clock;
  readonly log?: TransportLog;
  /** Stands in for `import()` of the Greengrass SDK (tests). */
  readonly importer?: ModuleImporter;
}

/**
 * Opens the transport the settings name: Greengrass IPC, or MQTT over mutual TLS. Returns at once
 * with the transport `connecting`; it turns `connected` on its own and reconnects by itself.
 *
 * @throws TransportConfigError when a certificate, key or CA file cannot be read
 * @throws GreengrassSdkMissingError in Greengrass mode without `aws-iot-device-sdk-v2`
 */
export async function openTransport(
  settings: TransportSettings,
  dependencies: OpenTransportDependencies,
): Promise<DeviceTransport> {
  if (settings.mode === 'greengrass') {
    const createClient = await loadGreengrassIpcClientFactory(dependencies.importer);
    return GreengrassIpcTransport.open({
      createClient,
      clock: dependencies.clock,
      ...(dependencies.log === undefined ? {} : { log: dependencies.log }),
    });
  }
  const files = [
    [TRANSPORT_ENV.certFile, settings.certFile],
    [TRANSPORT_ENV.keyFile, settings.keyFile],
    [TRANSPORT_ENV.caFile, settings.caFile],
  ] as const;
  const read = await Promise.allSettled(files.map(([, path]) => readFile(path, 'utf8')));
  const problems = read.flatMap((result, index) => {
    if (result.status === 'fulfilled') return [];
    const [variable, path] = files[index] as (typeof files)[number];
    const detail = result.reason instanceof Error ? result.reason.message : String(result.reason);
    return [`${variable}: cannot read ${path} (${detail})`];
  });
  if (problems.length > 0)
    throw new TransportConfigError(`cannot open the mqtt transport: ${problems.join('; ')}`);
  const [certPem, keyPem, caPem] = read.map((result) => (result.status === 'fulfilled' ? result.value : ''));
  return connectMqttTransport({
    url: settings.url,
    thingName: settings.thingName,
    certPem: certPem as string,
    keyPem: keyPem as string,
    caPem: caPem as string,
    tlsMinVersion: settings.tlsMinVersion,
    ...(dependencies.log === undefined ? {} : { log: dependencies.log }),
  });
}
