import { PayloadDecodeError, SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { type Reading, readingsOf, telemetryMessage } from '../../../lib/protocol/messages.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { deviceRuleEvent } from '../../../lib/protocol/rule-events.ts';
import { decodeUplinkBatch, isUplinkBatch } from '../../../lib/protocol/uplink/codec.ts';
import { fastRuleEvent, fastTelemetry } from './fast-path.ts';

/**
 * Kafka record → IoT rule envelope → device payload → readings. Every failure is returned as a
 * {@link DecodeRejection} with a reason, never thrown: one bad device must not fail the batch of fifty.
 */

/** Where decoding stopped. */
export type DecodeStage = 'record' | 'envelope' | 'payload' | 'telemetry';

export interface DecodeRejection {
  readonly ok: false;
  readonly stage: DecodeStage;
  /** Names the field when a schema refused it (`invalid telemetry payload: values.temperature: ...`). */
  readonly reason: string;
}

/** The IoT rule's envelope, with the device's payload as bytes. */
export interface DecodedEnvelope {
  readonly ok: true;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly clientId: string;
  /** Broker receive time, epoch ms (`timestamp()` in the rule). */
  readonly receivedAt: number;
  readonly payload: Uint8Array;
}

/** A payload encoding, recognised by sniffing its first bytes. */
export interface PayloadFormat {
  readonly name: string;
  /** Whether `bytes` look like this format; cheap, it runs on every record. */
  sniff(bytes: Uint8Array): boolean;
  /** The payload as the JSON data model; throws {@link PayloadDecodeError} when it is not decodable. */
  decode(bytes: Uint8Array, subject: string): unknown;
}

const OPEN_BRACE = 0x7b;
const isJsonWhitespace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** UTF-8 JSON: a telemetry message is an object, so its first non-blank byte is `{`. */
export const JSON_PAYLOAD: PayloadFormat = {
  name: 'json',
  sniff(bytes) {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] as number;
      if (!isJsonWhitespace(byte)) return byte === OPEN_BRACE;
    }
    return false;
  },
  decode: decodeJson,
};

/**
 * The compact batch an edge uplink sends (`lib/protocol/uplink/codec.ts`): the self-described CBOR tag
 * 55799 (0xd9 0xd9 0xf7, RFC 8949 §3.4.6) then an array, which no JSON text starts with. Decoded into the
 * JSON data model of a batch, `{ readings }`, so the same schema (and fast path) judges both formats.
 */
export const UPLINK_BATCH_PAYLOAD: PayloadFormat = {
  name: 'uplink-batch',
  sniff: isUplinkBatch,
  decode(bytes, subject) {
    const decoded = decodeUplinkBatch(bytes);
    if (!decoded.ok) throw new PayloadDecodeError(subject, decoded.reason);
    return { readings: decoded.batch.readings };
  },
};

/**
 * The formats tried, in order; a payload no format claims is decoded as JSON so that it is refused
 * with JSON's reason. JSON comes first so that its records, still the many, pay for one sniff only. A
 * generic CBOR format (a map starts with major type 5, 0xa0-0xbf) could join beside the uplink batch.
 */
export const PAYLOAD_FORMATS: readonly PayloadFormat[] = [JSON_PAYLOAD, UPLINK_BATCH_PAYLOAD];

/** How far ahead of the broker's clock a reading may be: more is a wrong device clock, not skew. */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

function rejection(stage: DecodeStage, error: unknown): DecodeRejection {
  if (error instanceof SchemaValidationError || error instanceof PayloadDecodeError)
    return { ok: false, stage, reason: error.message };
  throw error;
}

/** The envelope through its schema: the authority, and the one that words the reason for a refusal. */
function slowRuleEvent(json: unknown): DecodedEnvelope {
  const { payload, ...origin } = parseWith(deviceRuleEvent, json, 'rule event');
  return { ok: true, ...origin, payload: Buffer.from(payload, 'base64') };
}

/** Decodes a record's value: the JSON envelope the IoT rule produced, its base64 payload as bytes. */
export function decodeEnvelope(value: Uint8Array): DecodedEnvelope | DecodeRejection {
  let json: unknown;
  try {
    json = decodeJson(value, 'Kafka record');
  } catch (error) {
    return rejection('record', error);
  }
  try {
    return fastRuleEvent(json) ?? slowRuleEvent(json);
  } catch (error) {
    return rejection('envelope', error);
  }
}

/**
 * Decodes the device payload of an envelope into its readings, oldest first.
 *
 * Readings more than {@link MAX_CLOCK_AHEAD_MS} after the broker received them are refused: a device
 * clock in the future would open a window no later reading could close, and leave every true reading
 * late.
 */
export function decodeReadings(
  envelope: DecodedEnvelope,
  formats: readonly PayloadFormat[] = PAYLOAD_FORMATS,
): { readonly ok: true; readonly readings: readonly Reading[] } | DecodeRejection {
  const subject = 'telemetry payload';
  let format = JSON_PAYLOAD;
  for (const candidate of formats) {
    if (candidate.sniff(envelope.payload)) {
      format = candidate;
      break;
    }
  }
  let json: unknown;
  try {
    json = format.decode(envelope.payload, subject);
  } catch (error) {
    return rejection('payload', error);
  }
  let readings: readonly Reading[];
  let batch: boolean;
  try {
    const fast = fastTelemetry(json);
    if (fast === undefined) {
      const message = parseWith(telemetryMessage, json, subject);
      readings = readingsOf(message);
      batch = 'readings' in message;
    } else {
      ({ readings, batch } = fast);
    }
  } catch (error) {
    return rejection('telemetry', error);
  }
  const latest = envelope.receivedAt + MAX_CLOCK_AHEAD_MS;
  let sorted = true;
  for (let i = 0; i < readings.length; i++) {
    const ts = (readings[i] as Reading).ts;
    if (ts > latest) {
      const field = batch ? `readings.${i}.ts` : 'ts';
      const ahead = Math.round((ts - envelope.receivedAt) / 1000);
      const reason = `invalid ${subject}: ${field}: is ${ahead} s ahead of the broker's clock (at most ${MAX_CLOCK_AHEAD_MS / 1000} s)`;
      return { ok: false, stage: 'telemetry', reason };
    }
    if (i > 0 && ts < (readings[i - 1] as Reading).ts) sorted = false;
  }
  // Array sort is stable, so readings of one instant keep the device's order.
  return { ok: true, readings: sorted ? readings : [...readings].sort((a, b) => a.ts - b.ts) };
}

/** A decoded record: who sent it, when the broker got it, and its readings oldest first. */
export type DecodedRecord = Omit<DecodedEnvelope, 'payload'> & { readonly readings: readonly Reading[] };

/** Decodes a whole record value; see {@link decodeEnvelope} and {@link decodeReadings}. */
export function decodeRecord(
  value: Uint8Array,
  formats: readonly PayloadFormat[] = PAYLOAD_FORMATS,
): DecodedRecord | DecodeRejection {
  const envelope = decodeEnvelope(value);
  if (!envelope.ok) return envelope;
  const decoded = decodeReadings(envelope, formats);
  if (!decoded.ok) return decoded;
  const { payload: _payload, ...origin } = envelope;
  return { ...origin, readings: decoded.readings };
}
