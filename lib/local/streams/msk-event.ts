import type { MskEvent, MskRecord } from '../../protocol/msk-event.ts';
import type { ConsumedRecord } from './backend.ts';

/** Where an MSK event says its records come from. */
export interface MskEventSource {
  /** The cluster's ARN (`eventSourceArn`). */
  readonly eventSourceArn: string;
  /** The cluster's bootstrap brokers, `host:port` (`bootstrapServers`, comma-joined). */
  readonly bootstrapServers: readonly string[];
}

/**
 * What the embedded log's events say they come from: an ARN of the right shape (no cluster has one
 * locally) and no bootstrap servers (the embedded log speaks no Kafka protocol). With `KAFKA_BROKERS`,
 * pass those brokers instead.
 */
export const LOCAL_MSK_EVENT_SOURCE: MskEventSource = {
  eventSourceArn:
    'arn:aws:kafka:local:000000000000:cluster/fleetkit-local/00000000-0000-0000-0000-000000000000-1',
  bootstrapServers: [],
};

/**
 * Builds the event Lambda's MSK event source mapping would hand a function for these records
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html#msk-sample-event): records grouped
 * under `"<topic>-<partition>"` in the order given, keys and values base64, each header as a
 * one-key object whose value is the header's bytes as an array of numbers.
 *
 * A record without a key or value leaves the field out, as Lambda does for a keyless record.
 * Timestamps are the append time, which is what a producer that sets no timestamp gets from Kafka
 * as `CREATE_TIME` (kafkajs stamps records when they are sent).
 *
 * @throws RangeError when an offset is beyond what a JSON number holds exactly (2^53)
 */
export function buildMskEvent(records: readonly ConsumedRecord[], source: MskEventSource): MskEvent {
  const grouped: Record<string, MskRecord[]> = {};
  for (const record of records) {
    const offset = Number(record.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(
        `offset ${record.offset} of ${record.topic}-${record.partition} is not a JSON-safe integer`,
      );
    }
    const entry: MskRecord = {
      topic: record.topic,
      partition: record.partition,
      offset,
      timestamp: record.timestamp,
      timestampType: 'CREATE_TIME',
      ...(record.key === null ? {} : { key: record.key.toString('base64') }),
      ...(record.value === null ? {} : { value: record.value.toString('base64') }),
      headers: Object.entries(record.headers).map(([name, bytes]) => ({ [name]: [...bytes] })),
    };
    const group = `${record.topic}-${record.partition}`;
    const list = grouped[group];
    if (list === undefined) grouped[group] = [entry];
    else list.push(entry);
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: source.eventSourceArn,
    bootstrapServers: source.bootstrapServers.join(','),
    records: grouped,
  };
}
