import * as z from 'zod';
import { THING_NAME_PATTERN, THING_TYPE_PATTERN } from './topics.ts';

/**
 * Schemas of the messages devices and the cloud exchange on the `devices/{type}/{id}/...` topics.
 *
 * Objects strip unknown keys instead of rejecting them: a fleet always runs several firmware
 * versions, and a newer device adding a field must not be refused by an older cloud.
 */

/** Epoch milliseconds between 2000-01-01 and 2100-01-01: catches seconds-for-millis and unset RTCs. */
export const epochMillis = z
  .number()
  .int('must be an integer number of milliseconds')
  .min(946_684_800_000, 'must be epoch milliseconds after 2000-01-01 (seconds sent instead of ms?)')
  .max(4_102_444_800_000, 'must be epoch milliseconds before 2100-01-01');

export const deviceId = z.string().regex(THING_NAME_PATTERN, 'must be 1-128 characters of [a-zA-Z0-9:_-]');
export const deviceType = z.string().regex(THING_TYPE_PATTERN, 'must be 1-128 characters of [a-zA-Z0-9:_-]');

/** Firmware and model versions: semantic versions, optionally with pre-release / build suffixes. */
export const version = z
  .string()
  .max(64, 'must be at most 64 characters')
  .regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/, 'must be a semantic version such as 1.4.2');

/** Radio access technologies a cellular IoT device reports (3GPP TS 27.007 +CEREG <AcT>). */
export const radioAccessTechnology = z.enum(['LTE-M', 'NB-IoT', 'LTE', 'GSM', 'UMTS']);

/**
 * Cellular signal quality. Ranges are the extended ones of 3GPP TS 36.133 as reported through
 * TS 27.007 +CESQ (RSRP −156…−31 dBm, RSRQ −34…2.5 dB), so a valid modem reading is never refused.
 */
export const signalQuality = z.object({
  rsrp: z.number().min(-156, 'must be >= -156 dBm').max(-31, 'must be <= -31 dBm'),
  rsrq: z.number().min(-34, 'must be >= -34 dB').max(2.5, 'must be <= 2.5 dB').optional(),
  sinr: z.number().min(-23, 'must be >= -23 dB').max(40, 'must be <= 40 dB').optional(),
  bars: z.number().int().min(0).max(5).optional(),
  rat: radioAccessTechnology.optional(),
});

export const batteryState = z.object({
  percent: z.number().min(0, 'must be >= 0').max(100, 'must be <= 100'),
  voltage: z.number().min(0).max(60).optional(),
  charging: z.boolean().optional(),
});

const timerSeconds = z.number().int('must be a whole number of seconds').min(0, 'must be >= 0');

/**
 * Power Saving Mode as the network granted it (+CEREG with <n>=4: T3412 extended, the periodic TAU, and
 * T3324, the active time; 3GPP TS 24.008 §10.5.7.4a and §10.5.7.3). `enabled: false` says the device does
 * not sleep. The cloud holds a command for a device that is asleep and computes when it expects it back.
 */
export const grantedPsm = z.object({
  enabled: z.boolean(),
  periodicTauSeconds: timerSeconds.optional(),
  activeTimeSeconds: timerSeconds.optional(),
});
export type GrantedPsm = z.output<typeof grantedPsm>;

/** Published by a device on `devices/{type}/{id}/status`: who it is running as, and how healthy it is. */
export const statusMessage = z.object({
  /** Device clock at the time of the report; the registry's `lastSeen` uses the broker's clock instead. */
  ts: epochMillis.optional(),
  firmwareVersion: version,
  modelVersion: version.optional(),
  battery: batteryState.optional(),
  signal: signalQuality.optional(),
  uptimeSeconds: z.number().int().min(0).optional(),
  /**
   * The TLS version the device's own connection negotiated (`TLSv1.3`; `TLSv1.2` where a modem's TLS
   * offload lacks 1.3 and the device was set to allow it). Absent where the device does not hold the
   * TLS session (Greengrass IPC: the nucleus does). The registry keeps it so the audit can list devices
   * below 1.3.
   */
  tlsVersion: z
    .string()
    .regex(/^TLSv\d+(?:\.\d+)?$/, 'must be a TLS version as OpenSSL names it, e.g. TLSv1.3')
    .optional(),
  /** Power saving as granted by the network; absent when the device has no modem or no grant yet. */
  psm: grantedPsm.optional(),
  /**
   * The device's CoAP gateway listens beyond loopback without DTLS or OSCORE (issue 12: no Node library
   * serves either), guarded only by an allow-list of sensor addresses. The registry keeps it so the
   * fleet audit lists the device (`COAP_GATEWAY_UNAUTHENTICATED`).
   */
  coapExposure: z
    .object({
      interface: z.string().min(1).max(64),
      address: z.string().min(1).max(64),
      allow: z.array(z.string().min(1).max(64)).max(64),
    })
    .optional(),
});
export type StatusMessage = z.output<typeof statusMessage>;

/** Metric names: short, stable identifiers usable as CloudWatch dimensions and JSON keys. */
export const metricName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, 'must match [a-zA-Z][a-zA-Z0-9_]{0,63}');

/** One sample of a device's sensors. */
export const reading = z.object({
  ts: epochMillis,
  /** Per-device sequence number, lets the pipeline drop duplicates after a store-and-forward replay. */
  seq: z.number().int().min(0).optional(),
  values: z
    .record(metricName, z.number().refine(Number.isFinite, 'must be a finite number'))
    .refine((values) => Object.keys(values).length > 0, 'must hold at least one metric'),
});
export type Reading = z.output<typeof reading>;

/** Most readings a single telemetry message may carry (IoT Core's 128 KB payload limit bounds it anyway). */
export const MAX_READINGS_PER_MESSAGE = 1000;

/** A batch of readings in one message. */
export const readingBatch = z.object({ readings: z.array(reading).min(1).max(MAX_READINGS_PER_MESSAGE) });

/**
 * Published on `devices/{type}/{id}/telemetry`: one reading, or a batch of them.
 *
 * The form is chosen by the presence of `readings` rather than with `z.union`, whose failure is one
 * issue at the root; this way a bad message is refused with the path of the field that is wrong.
 */
export const telemetryMessage = z
  .unknown()
  .transform((input, ctx): Reading | z.output<typeof readingBatch> => {
    const isBatch = typeof input === 'object' && input !== null && 'readings' in input;
    const result = (isBatch ? readingBatch : reading).safeParse(input);
    if (result.success) return result.data;
    for (const issue of result.error.issues)
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });
export type TelemetryMessage = z.output<typeof telemetryMessage>;

/** The readings of a telemetry message, whichever of the two forms it used. */
export function readingsOf(message: TelemetryMessage): readonly Reading[] {
  return 'readings' in message ? message.readings : [message];
}
