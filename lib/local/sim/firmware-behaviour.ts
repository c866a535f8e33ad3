import { createHash } from 'node:crypto';
import * as z from 'zod';
import { version } from '../../protocol/messages.ts';

/**
 * Simulated firmware: what a simulated device "runs" is decided by the image it booted, so a test
 * can ship images that behave differently. An image is a one-line JSON manifest, a `\n`, then
 * padding up to the image's size:
 *
 * ```
 * {"fleetkitSimFirmware":1,"version":"2.0.0","installFailRate":0.3,"healthCheck":"pass","telemetry":{"temperatureOffset":15,"anomalyScore":0.9}}\n<padding>
 * ```
 *
 * An image without a valid manifest in its first {@link MAX_MANIFEST_BYTES} bytes behaves like the
 * factory firmware: installs, passes its health check, sends telemetry unchanged.
 */

/** The manifest line must end (`\n`) within this many bytes. */
export const MAX_MANIFEST_BYTES = 4096;

export const simFirmwareManifest = z.object({
  fleetkitSimFirmware: z.literal(1),
  /** What the device reports as `firmwareVersion` while it runs this image. */
  version,
  /**
   * Share of devices on which installing this image fails (reason `install`), 0–1. Which devices:
   * those whose {@link installDraw} for this version is below the rate — deterministic, so a test
   * can compute them with {@link simulatedInstallFails}.
   */
  installFailRate: z.number().min(0).max(1).default(0),
  /**
   * The post-reboot health check: `pass`; `fail` (the check reports unhealthy → rollback); `crash`
   * (the firmware crashes during its trial boot before the check completes → the bootloader goes back).
   */
  healthCheck: z.enum(['pass', 'fail', 'crash']).default('pass'),
  /** How telemetry changes while this image runs (so the cloud's health gate can see it). */
  telemetry: z
    .object({
      /** Added to every temperature reading, °C. */
      temperatureOffset: z.number().min(-100).max(100).optional(),
      /** Sent as an extra `anomalyScore` metric with every reading. */
      anomalyScore: z.number().min(0).max(1).optional(),
    })
    .default({}),
});
export type SimFirmwareManifest = z.output<typeof simFirmwareManifest>;
export type SimFirmwareManifestInput = z.input<typeof simFirmwareManifest>;

/**
 * Builds a simulated firmware image: the manifest line, then deterministic padding (SHA-256 in
 * counter mode over `seed`) up to `size` bytes, so the same arguments give the same bytes and hash.
 *
 * @param size total image size in bytes @default 64 KiB
 * @param seed padding seed @default the manifest's version
 * @throws if the manifest is invalid or does not fit in `size`
 */
export function buildSimulatedFirmwareImage(
  manifest: SimFirmwareManifestInput,
  size = 64 * 1024,
  seed?: string,
): Buffer {
  const parsed = simFirmwareManifest.parse(manifest);
  const line = Buffer.from(`${JSON.stringify(manifest)}\n`, 'utf8');
  if (line.length > MAX_MANIFEST_BYTES)
    throw new RangeError(`manifest line is ${line.length} bytes, at most ${MAX_MANIFEST_BYTES}`);
  if (line.length > size)
    throw new RangeError(`manifest line (${line.length} bytes) does not fit in ${size} bytes`);
  const image = Buffer.alloc(size);
  line.copy(image);
  const padSeed = seed ?? parsed.version;
  let offset = line.length;
  for (let counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${padSeed}:${counter}`).digest();
    offset += block.copy(image, offset, 0, Math.min(block.length, size - offset));
  }
  return image;
}

/** The manifest at the start of an image, or undefined if it has none (or an invalid one). */
export function parseSimulatedFirmwareManifest(head: Uint8Array): SimFirmwareManifest | undefined {
  const window = Buffer.from(head.subarray(0, MAX_MANIFEST_BYTES));
  const end = window.indexOf(0x0a);
  if (end < 0) return undefined;
  try {
    const result = simFirmwareManifest.safeParse(JSON.parse(window.subarray(0, end).toString('utf8')));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the manifest from the first bytes of an image given as chunks (stops reading early). */
export async function readSimulatedFirmwareManifest(
  chunks: AsyncIterable<Uint8Array>,
): Promise<SimFirmwareManifest | undefined> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    parts.push(Buffer.from(chunk));
    length += chunk.length;
    if (length >= MAX_MANIFEST_BYTES || chunk.includes(0x0a)) break;
  }
  return parseSimulatedFirmwareManifest(Buffer.concat(parts));
}

/** A device's draw for installing `firmwareVersion`, uniform in [0, 1): the first 32 bits of SHA-256(`{thing}\n{version}`) / 2³². */
export function installDraw(thingName: string, firmwareVersion: string): number {
  return createHash('sha256').update(`${thingName}\n${firmwareVersion}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Whether installing this image fails on this device: `installDraw(thing, version) < installFailRate`. */
export function simulatedInstallFails(thingName: string, manifest: SimFirmwareManifest): boolean {
  return installDraw(thingName, manifest.version) < manifest.installFailRate;
}

/**
 * Telemetry values as the running firmware reports them. Without a manifest (or without telemetry
 * changes in it) the values are returned as they are, same object.
 */
export function applyFirmwareTelemetry<T extends { temperature: number }>(
  values: T,
  manifest: SimFirmwareManifest | undefined,
): T & { anomalyScore?: number } {
  const change = manifest?.telemetry;
  if (change === undefined || (change.temperatureOffset === undefined && change.anomalyScore === undefined))
    return values;
  return {
    ...values,
    ...(change.temperatureOffset === undefined
      ? {}
      : { temperature: Math.round((values.temperature + change.temperatureOffset) * 100) / 100 }),
    ...(change.anomalyScore === undefined ? {} : { anomalyScore: change.anomalyScore }),
  };
}
