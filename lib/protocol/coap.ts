import { decode as decodeCbor, encode as encodeCbor } from 'cbor2';
import * as z from 'zod';
import { PayloadDecodeError } from './errors.ts';
import { epochMillis } from './messages.ts';
import { parseWith } from './parse.ts';

/**
 * The wire contract of the edge agent's CoAP gateway (RFC 7252): what constrained sensors on the
 * device's local network send, as CBOR (RFC 8949, Content-Format 60).
 *
 * A sensor's metric joins the device's uplink under the key `<sensorId>_<metric>`. Sensor ids
 * carry no `_`, so the key splits back unambiguously at its first `_`, and the lengths below keep
 * every key inside {@link metricName}'s 64 characters.
 */

/** IANA CoAP Content-Format of `application/cbor` (RFC 7049 §7.4, kept by RFC 8949). */
export const CONTENT_FORMAT_CBOR = 60;
/** IANA CoAP Content-Format of `application/link-format` (RFC 6690), used by `/.well-known/core`. */
export const CONTENT_FORMAT_LINK_FORMAT = 40;

/** Longest sensor id: 24, so `<sensorId>_<metric>` stays within 64 characters. */
export const MAX_SENSOR_ID_LENGTH = 24;
/** Longest metric name a sensor may send: 64 − 24 − 1 (the `_` joining them). */
export const MAX_SENSOR_METRIC_LENGTH = 64 - MAX_SENSOR_ID_LENGTH - 1;
/** Most readings one CoAP request may carry. */
export const MAX_SENSOR_READINGS_PER_MESSAGE = 64;
/** Most metrics one sensor reading may carry. */
export const MAX_SENSOR_METRICS_PER_READING = 32;

/** A sensor's id: a letter, then letters and digits (no `_`: it joins the id and the metric). */
export const sensorId = z
  .string()
  .regex(
    new RegExp(`^[a-zA-Z][a-zA-Z0-9]{0,${MAX_SENSOR_ID_LENGTH - 1}}$`),
    `must be a letter then letters or digits, ${MAX_SENSOR_ID_LENGTH} characters at most`,
  );

/** A metric name as a sensor sends it (`temp`, `rh`, `co2_ppm`). */
export const sensorMetricName = z
  .string()
  .regex(
    new RegExp(`^[a-zA-Z][a-zA-Z0-9_]{0,${MAX_SENSOR_METRIC_LENGTH - 1}}$`),
    `must match [a-zA-Z][a-zA-Z0-9_]{0,${MAX_SENSOR_METRIC_LENGTH - 1}}`,
  );

/**
 * One sample of a sensor. `ts` is optional because many constrained sensors have no real-time
 * clock: the gateway stamps such a reading with the device's clock when it arrives.
 */
export const sensorReading = z.object({
  ts: epochMillis.optional(),
  /** The sensor's own counter; kept in the sensor's history, not forwarded (the uplink numbers readings). */
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  values: z
    .record(sensorMetricName, z.number().refine(Number.isFinite, 'must be a finite number'))
    .refine((values) => Object.keys(values).length > 0, 'must hold at least one metric')
    .refine(
      (values) => Object.keys(values).length <= MAX_SENSOR_METRICS_PER_READING,
      `must hold at most ${MAX_SENSOR_METRICS_PER_READING} metrics`,
    ),
});
export type SensorReading = z.output<typeof sensorReading>;

/** Several readings in one request. */
export const sensorReadingBatch = z.object({
  readings: z
    .array(sensorReading)
    .min(1, 'must hold at least one reading')
    .max(MAX_SENSOR_READINGS_PER_MESSAGE, `must hold at most ${MAX_SENSOR_READINGS_PER_MESSAGE} readings`),
});

/**
 * The body of `POST /sensors/{id}/readings`: one reading, or `{ readings: [...] }`.
 *
 * As with the telemetry message, the form is chosen by the presence of `readings` rather than by
 * `z.union`, so a bad message is refused with the path of the field that is wrong.
 */
export const sensorReadingsMessage = z.unknown().transform((input, ctx): readonly SensorReading[] => {
  const isBatch = typeof input === 'object' && input !== null && 'readings' in input;
  const result = isBatch ? sensorReadingBatch.safeParse(input) : sensorReading.safeParse(input);
  if (result.success) return 'readings' in result.data ? result.data.readings : [result.data];
  for (const issue of result.error.issues)
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

/**
 * Shortest and longest sampling interval a `set-interval` command may ask for. The floor is half the
 * fleet's default interval (60 s): CoAP on the device's link is not authenticated (issue 12), so a local
 * command can speed sampling up only so far, not drain the battery at one sample a second. The shadow,
 * which is authenticated, may still set any interval from 1 s.
 */
export const MIN_SAMPLE_INTERVAL_SECONDS = 30;
export const MAX_SAMPLE_INTERVAL_SECONDS = 86_400;

/**
 * Commands a sensor or a local tool may `POST /commands` to the agent: the closed, typed set the
 * agent knows how to act on.
 */
export const gatewayCommand = z.discriminatedUnion(
  'name',
  [
    /** Take a reading of the device's own sensors now, instead of waiting for the next tick. */
    z.object({ name: z.literal('sample-now') }),
    /** Change how often the device samples its own sensors. */
    z.object({
      name: z.literal('set-interval'),
      seconds: z
        .number()
        .int('must be a whole number of seconds')
        .min(MIN_SAMPLE_INTERVAL_SECONDS, `must be >= ${MIN_SAMPLE_INTERVAL_SECONDS}`)
        .max(MAX_SAMPLE_INTERVAL_SECONDS, `must be <= ${MAX_SAMPLE_INTERVAL_SECONDS}`),
    }),
  ],
  {
    error: (issue) =>
      typeof issue.input === 'object' && issue.input !== null
        ? 'must be one of sample-now, set-interval'
        : 'must be a CBOR map holding a command name',
  },
);
export type GatewayCommand = z.output<typeof gatewayCommand>;

/**
 * Decodes a CBOR payload, or throws a {@link PayloadDecodeError}. Duplicate map keys are refused
 * (RFC 8949 §5.6: a map with duplicate keys is not valid), as is data after the first item.
 */
export function decodeCborPayload(bytes: Uint8Array, subject: string): unknown {
  if (bytes.length === 0) throw new PayloadDecodeError(subject, 'empty payload (expected one CBOR item)');
  try {
    return decodeCbor(bytes, { rejectDuplicateKeys: true });
  } catch (error) {
    throw new PayloadDecodeError(subject, `not well-formed CBOR (${(error as Error).message})`);
  }
}

/**
 * Encodes `value` as CBOR. `Buffer`s inside `value` must already be plain `Uint8Array`s: cbor2 writes
 * a Buffer as an object, not as a byte string.
 */
export function encodeCborPayload(value: unknown): Uint8Array {
  return encodeCbor(value);
}

/** Decodes and validates the body of `POST /sensors/{id}/readings`. */
export function parseSensorReadings(bytes: Uint8Array): readonly SensorReading[] {
  return parseWith(sensorReadingsMessage, decodeCborPayload(bytes, 'sensor readings'), 'sensor readings');
}

/** Decodes and validates the body of `POST /commands`. */
export function parseGatewayCommand(bytes: Uint8Array): GatewayCommand {
  return parseWith(gatewayCommand, decodeCborPayload(bytes, 'command'), 'command');
}
