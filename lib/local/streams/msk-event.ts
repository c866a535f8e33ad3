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
 * What a local consumer's events say they come from: an ARN of MSK's shape whose last segment, where
 * MSK puts the cluster's UUID, is the backend's name for the topic's log (`TopicBackend.logId`), so
 * that `topicLogId` tells a recreated topic or another cluster from the log it replaced, as it does in
 * AWS. No bootstrap servers for the embedded log (it speaks no Kafka protocol); with `KAFKA_BROKERS`,
 * those brokers.
 */
export function localMskEventSource(logId: string, bootstrapServers: readonly string[] = []): MskEventSource {
  if (!/^[\w.-]+$/.test(logId)) {
    throw new RangeError(`log id '${logId}' is not one ARN path segment of [A-Za-z0-9_.-]`);
  }
  return {
    eventSourceArn: `arn:aws:kafka:local:000000000000:cluster/fleetkit-local/${logId}`,
    bootstrapServers,
  };
}

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
