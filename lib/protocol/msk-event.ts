import * as z from 'zod';
import { parseWith } from './parse.ts';

/**
 * The event Lambda's Amazon MSK event source mapping hands a function: one batch of Kafka records,
 * grouped by `"<topic>-<partition>"`, with keys and values base64-encoded and header values as arrays
 * of byte values (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html#msk-sample-event).
 *
 * The local platform builds the same shape (`lib/local/streams/msk-event.ts`), so a handler parses one
 * event format in both runtimes.
 */

/** A header as Lambda writes it: an object with one key, the header name, whose value is the bytes. */
const mskHeader = z.record(
  z.string(),
  z.array(z.number().int().min(0, 'must be a byte (0-255)').max(255, 'must be a byte (0-255)')),
);

/** One record of {@link mskEvent} as it is on the wire. */
export const mskRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  /** A JSON number in Lambda's event, although Kafka offsets are 64-bit. */
  offset: z.number().int().min(0),
  timestamp: z.number().int(),
  timestampType: z.enum(['CREATE_TIME', 'LOG_APPEND_TIME']),
  /** Absent when the record has no key. */
  key: z.base64('must be base64').optional(),
  /** Absent when the record has no value (a tombstone). */
  value: z.base64('must be base64').optional(),
  headers: z.array(mskHeader).default([]),
});
export type MskRecord = z.input<typeof mskRecord>;

/** Lambda's MSK event as it is on the wire. */
export const mskEvent = z
  .object({
    eventSource: z.literal('aws:kafka'),
    eventSourceArn: z.string().min(1),
    /** Comma-separated `host:port` list. */
    bootstrapServers: z.string().optional(),
    records: z.record(z.string(), z.array(mskRecord)),
  })
  .superRefine((event, ctx) => {
    for (const [group, records] of Object.entries(event.records)) {
      records.forEach((record, index) => {
        if (group !== `${record.topic}-${record.partition}`) {
          ctx.addIssue({
            code: 'custom',
            path: ['records', group, index],
            message: `is in group '${group}' but belongs to '${record.topic}-${record.partition}'`,
          });
        }
      });
    }
  });
export type MskEvent = z.input<typeof mskEvent>;

/** One record of an MSK event, with key, value and headers decoded to bytes. */
export interface DecodedMskRecord {
  readonly topic: string;
  readonly partition: number;
  /** Decimal string, as elsewhere in fleetkit (Kafka offsets are 64-bit). */
  readonly offset: string;
  readonly timestamp: number;
  readonly timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** Kafka allows a header name more than once; here the last value wins (fleetkit never repeats one). */
  readonly headers: Readonly<Record<string, Uint8Array>>;
}

/**
 * Names the log that a record of an MSK event belongs to, `<cluster id>/<topic>`: what its offset
 * counts in. Offsets start again from 0 in a new log, so a consumer that remembers offsets must
 * remember whose.
 *
 * Lambda names the cluster by its ARN, `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>`
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html#msk-sample-event), and the last path
 * segment is a UUID that MSK makes for every cluster it creates: a new cluster is a new log even under
 * an old name. The event carries no Kafka topic id, so a topic deleted and created again on the same
 * cluster keeps its log name.
 */
export function topicLogId(eventSourceArn: string, topic: string): string {
  const slash = eventSourceArn.lastIndexOf('/');
  return `${slash === -1 ? eventSourceArn : eventSourceArn.slice(slash + 1)}/${topic}`;
}

/** An MSK event, decoded: the records in event order (per partition: offset order). */
export interface DecodedMskEvent {
  readonly eventSourceArn: string;
  readonly bootstrapServers: readonly string[];
  readonly records: readonly DecodedMskRecord[];
}

const fromBase64 = (text: string | undefined): Uint8Array | null =>
  text === undefined ? null : Uint8Array.from(Buffer.from(text, 'base64'));

/**
 * Parses a Lambda MSK event and decodes keys, values and headers to bytes, or throws a
 * `SchemaValidationError` naming every bad field.
 */
export function parseMskEvent(input: unknown): DecodedMskEvent {
  const event = parseWith(mskEvent, input, 'MSK event');
  const records: DecodedMskRecord[] = [];
  for (const group of Object.values(event.records)) {
    for (const record of group) {
      const headers: Record<string, Uint8Array> = {};
      for (const header of record.headers) {
        for (const [name, bytes] of Object.entries(header)) headers[name] = Uint8Array.from(bytes);
      }
      records.push({
        topic: record.topic,
        partition: record.partition,
        offset: String(record.offset),
        timestamp: record.timestamp,
        timestampType: record.timestampType,
        key: fromBase64(record.key),
        value: fromBase64(record.value),
        headers,
      });
    }
  }
  return {
    eventSourceArn: event.eventSourceArn,
    bootstrapServers:
      event.bootstrapServers === undefined || event.bootstrapServers === ''
        ? []
        : event.bootstrapServers.split(','),
    records,
  };
}
