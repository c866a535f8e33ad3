import * as z from 'zod';
import { DEFAULT_DEVICE_CONFIG } from '../../../lib/protocol/device-config.ts';
import { toFieldIssues } from '../../../lib/protocol/parse.ts';
import { THING_TYPE_PATTERN } from '../../../lib/protocol/topics.ts';

/**
 * The agent's own settings, from its environment: what Greengrass passes from the component's
 * configuration (see `edge/recipe.yaml`), or what a standalone install sets. The transport's
 * settings (thing name, broker, certificates) are read by `edge/src/transport/open-transport.ts`.
 */
export const AGENT_ENV = {
  thingType: 'FLEETKIT_THING_TYPE',
  dataDir: 'FLEETKIT_DATA_DIR',
  modelDir: 'FLEETKIT_MODEL_DIR',
  modem: 'FLEETKIT_MODEM',
  modemBaudRate: 'FLEETKIT_MODEM_BAUD_RATE',
  apn: 'FLEETKIT_APN',
  sensors: 'FLEETKIT_SENSORS',
  coapPort: 'FLEETKIT_COAP_PORT',
  coapInterface: 'FLEETKIT_COAP_INTERFACE',
  coapAllow: 'FLEETKIT_COAP_ALLOW',
  firmwareKeysFile: 'FLEETKIT_FIRMWARE_KEYS_FILE',
  firmwareVersion: 'FLEETKIT_FIRMWARE_VERSION',
  statusIntervalS: 'FLEETKIT_STATUS_INTERVAL_S',
  samplingIntervalS: 'FLEETKIT_SAMPLING_INTERVAL_S',
  batchSize: 'FLEETKIT_BATCH_SIZE',
  queueMaxBytes: 'FLEETKIT_QUEUE_MAX_BYTES',
  healthCheckAfterS: 'FLEETKIT_HEALTH_CHECK_AFTER_S',
} as const;

const intFrom = (min: number, max: number) =>
  z.coerce
    .number()
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const settingsSchema = z.object({
  thingType: z.string().regex(THING_TYPE_PATTERN, 'must be 1-128 characters of [a-zA-Z0-9:_-]'),
  dataDir: z.string().min(1, 'must name a writable directory'),
  modelDir: z.string().min(1).optional(),
  /** `none`, `emulator` (the in-repo modem emulator, for trials), or a serial device path. */
  modem: z.union([
    z.enum(['none', 'emulator']),
    z.string().regex(/^\//, 'must be none, emulator or /dev/...'),
  ]),
  modemBaudRate: intFrom(1200, 4_000_000),
  apn: z.string().min(1).max(100),
  /** `simulated`: the simulator's sensor model (trials, the local fleet); `none`: CoAP sensors only. */
  sensors: z.enum(['simulated', 'none']),
  /** UDP port of the CoAP gateway; 0 turns it off. */
  coapPort: intFrom(0, 65_535),
  /** The network interface the CoAP gateway faces; loopback when absent (see `coap/exposure.ts`). */
  coapInterface: z.string().min(1).max(64).optional(),
  /** The sensors' addresses allowed to send CoAP requests, comma-separated: needed with an interface. */
  coapAllow: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    )
    .optional(),
  firmwareKeysFile: z.string().min(1).optional(),
  firmwareVersion: z.string().min(1),
  statusIntervalS: intFrom(1, 86_400),
  samplingIntervalS: intFrom(1, 86_400),
  batchSize: intFrom(1, 1000),
  queueMaxBytes: intFrom(65_536, 2 ** 40),
  /** How long a new firmware image must run before the OTA health check judges it. */
  healthCheckAfterS: intFrom(1, 3600),
});
export type AgentSettings = z.output<typeof settingsSchema>;

export const AGENT_DEFAULTS = {
  thingType: 'edge-gateway',
  dataDir: './fleetkit-edge-data',
  modem: 'none',
  modemBaudRate: '115200',
  apn: 'iot',
  sensors: 'simulated',
  coapPort: '5683',
  firmwareVersion: '1.0.0',
  statusIntervalS: '300',
  // The device contract's default (60 s, as the recipe's), so a standalone agent and one under
  // Greengrass sample alike until the shadow says otherwise.
  samplingIntervalS: String(DEFAULT_DEVICE_CONFIG.samplingIntervalS),
  batchSize: '60',
  queueMaxBytes: String(64 * 1024 * 1024),
  healthCheckAfterS: '30',
} as const;

export class AgentSettingsError extends Error {
  override readonly name = 'AgentSettingsError';
}

/** Reads and checks the agent's settings; every problem is named by its environment variable. */
export function readAgentSettings(env: Readonly<Record<string, string | undefined>>): AgentSettings {
  const input: Record<string, string | undefined> = {};
  for (const [key, name] of Object.entries(AGENT_ENV)) {
    const value = env[name];
    input[key] =
      value === undefined || value === '' ? AGENT_DEFAULTS[key as keyof typeof AGENT_DEFAULTS] : value;
  }
  const result = settingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = toFieldIssues(result.error.issues).map(
    (issue) => `${AGENT_ENV[issue.field as keyof typeof AGENT_ENV] ?? issue.field}: ${issue.reason}`,
  );
  throw new AgentSettingsError(`the agent's settings are not valid: ${problems.join('; ')}`);
}
