import type * as z from 'zod';
import {
  epochMillis,
  MAX_READINGS_PER_MESSAGE,
  metricName,
  type Reading,
  reading,
} from '../../../lib/protocol/messages.ts';
import { deviceRuleEvent } from '../../../lib/protocol/rule-events.ts';
import type { DecodedEnvelope } from './decode.ts';

/**
 * Accelerators for the two schemas every record goes through: checks that accept only what the zod
 * schemas accept, and give up (undefined) on anything else so that zod decides — and words the reason.
 * zod walks a telemetry message in about 2.5 µs; a plain JSON.parse of the whole record takes about 2,
 * so without this the stream spends more time validating than decoding.
 *
 * Kept in step with the schemas rather than copied from them: numeric bounds are read off the zod
 * schemas, strings (device ids, metric names) are judged by the zod schemas themselves and remembered,
 * base64 is proven by a round trip. A test pins the schemas' structure, so changing them fails until this
 * file is reviewed, and compares both paths on every message fixture and on generated variants.
 */

/** Remembers strings a schema accepted: a fleet repeats a handful of metric names and device ids. */
class AcceptedStrings {
  private readonly accepted = new Set<string>();
  constructor(
    private readonly schema: z.ZodType,
    private readonly limit: number,
  ) {}

  has(value: unknown): value is string {
    if (typeof value !== 'string') return false;
    if (this.accepted.has(value)) return true;
    if (!this.schema.safeParse(value).success) return false;
    // Bounded: a flood of distinct names must not grow memory; starting over only costs zod calls.
    if (this.accepted.size >= this.limit) this.accepted.clear();
    this.accepted.add(value);
    return true;
  }
}

interface IntegerBounds {
  readonly min: number;
  readonly max: number;
}

/** Bounds of an integer zod number schema (`.int().min().max()`), read off the schema. */
const boundsOf = (schema: z.ZodNumber): IntegerBounds => ({
  min: schema.minValue ?? Number.MIN_SAFE_INTEGER,
  max: schema.maxValue ?? Number.MAX_SAFE_INTEGER,
});

const epoch = boundsOf(epochMillis);
const receivedAt = boundsOf(deviceRuleEvent.shape.receivedAt);
const sequence = boundsOf(reading.shape.seq.unwrap());

const deviceIds = new AcceptedStrings(deviceRuleEvent.shape.deviceId, 50_000);
const deviceTypes = new AcceptedStrings(deviceRuleEvent.shape.deviceType, 1_000);
const clientIds = new AcceptedStrings(deviceRuleEvent.shape.clientId, 50_000);
const metricNames = new AcceptedStrings(metricName, 1_000);

const isInteger = (value: unknown, bounds: IntegerBounds): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= bounds.min && value <= bounds.max;

/** zod's objects and records take plain objects; anything else (arrays, Maps, class instances) is zod's call. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_VALUES = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  BASE64_VALUES[c.charCodeAt(0)] = i;

/**
 * Whether `text` is base64 exactly as an encoder writes it (RFC 4648 §4: padded to a multiple of four
 * characters, the bits past the data zero, §3.5), checked in place rather than by encoding the decoded
 * bytes again: the same verdict as a round trip, without a second string of the payload's size.
 */
export function isCanonicalBase64(text: string): boolean {
  const length = text.length;
  if (length % 4 !== 0 || !BASE64.test(text)) return false;
  const padding =
    length === 0
      ? 0
      : text.charCodeAt(length - 1) !== 0x3d
        ? 0
        : text.charCodeAt(length - 2) === 0x3d
          ? 2
          : 1;
  if (padding === 0) return true;
  const last = BASE64_VALUES[text.charCodeAt(length - 1 - padding)] as number;
  // One padding character leaves 2 unused bits in the last character, two leave 4.
  return (last & (padding === 1 ? 0b11 : 0b1111)) === 0;
}

/** The envelope as `deviceRuleEvent` would output it, payload decoded, or undefined to let the schema decide. */
export function fastRuleEvent(input: unknown): DecodedEnvelope | undefined {
  if (!isPlainObject(input)) return undefined;
  const { payload, deviceType, deviceId, clientId } = input;
  const at = input.receivedAt;
  if (typeof payload !== 'string' || !isInteger(at, receivedAt)) return undefined;
  if (!deviceIds.has(deviceId) || !deviceTypes.has(deviceType) || !clientIds.has(clientId)) return undefined;
  // Node's decoder skips what is not base64, so it cannot judge the text; canonical base64 (what an
  // encoder gives back exactly) is what z.base64() accepts, and anything else goes to zod.
  if (!isCanonicalBase64(payload)) return undefined;
  return {
    ok: true,
    deviceId,
    deviceType,
    clientId,
    receivedAt: at,
    payload: Buffer.from(payload, 'base64'),
  };
}

function fastReading(input: unknown): Reading | undefined {
  if (!isPlainObject(input)) return undefined;
  const { ts, seq, values } = input;
  if (!isInteger(ts, epoch) || !isPlainObject(values)) return undefined;
  if (seq !== undefined && !isInteger(seq, sequence)) return undefined;
  let metrics = 0;
  for (const name of Object.keys(values)) {
    const value = values[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || !metricNames.has(name)) return undefined;
    metrics++;
  }
  if (metrics === 0) return undefined;
  // A fresh object of the schema's keys only: unknown keys are stripped, as zod strips them.
  return seq === undefined
    ? { ts, values: values as Record<string, number> }
    : { ts, seq, values: values as Record<string, number> };
}

/**
 * The readings of a telemetry message as `readingsOf(telemetryMessage.parse(input))` would give them,
 * with whether the message was a batch, or undefined to let the schema decide.
 */
export function fastTelemetry(input: unknown): { readings: Reading[]; batch: boolean } | undefined {
  if (!isPlainObject(input)) return undefined;
  if (!('readings' in input)) {
    const one = fastReading(input);
    return one === undefined ? undefined : { readings: [one], batch: false };
  }
  const list = input.readings;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_READINGS_PER_MESSAGE) return undefined;
  const readings: Reading[] = [];
  for (const item of list) {
    const one = fastReading(item);
    if (one === undefined) return undefined;
    readings.push(one);
  }
  return { readings, batch: true };
}
