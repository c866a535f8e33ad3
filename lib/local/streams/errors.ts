import type { ConsumeOptions } from './backend.ts';

/** Errors of the local platform's streams (embedded topic log, kafkajs backend, topic log HTTP API). */

/** A topic name Kafka would refuse (`[a-zA-Z0-9._-]`, 1-249 characters, not `.` or `..`). Maps to 400. */
export class InvalidTopicNameError extends Error {
  override readonly name = 'InvalidTopicNameError';
  readonly topic: string;

  constructor(topic: string) {
    super(
      `topic name '${topic}' is not valid: Kafka allows 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'`,
    );
    this.topic = topic;
  }
}

/** Produce or consume on a topic that was never created with `ensureTopic`. Maps to 404. */
export class UnknownTopicError extends Error {
  override readonly name = 'UnknownTopicError';
  readonly topic: string;

  constructor(topic: string) {
    super(`topic '${topic}' does not exist: create it with ensureTopic first`);
    this.topic = topic;
  }
}

/** A record larger than the log accepts (Kafka's `message.max.bytes`). Maps to 400. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';

  constructor(topic: string, size: number, limit: number) {
    super(`a record for topic '${topic}' is ${size} bytes; the limit is ${limit}`);
  }
}

/** A record the log cannot store as given (too many headers, a header name too long). Maps to 400. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
}

/** Options that cannot work (a partition count of 0, a batch size of 0, ...): names the option and value. */
export class InvalidStreamOptionError extends Error {
  override readonly name = 'InvalidStreamOptionError';
}

/** Another open log (this process or another one) holds the data directory. */
export class LogLockedError extends Error {
  override readonly name = 'LogLockedError';
}

/** A second consumer of the same group and topic on one embedded log: it has no group rebalancing. */
export class ConsumerGroupBusyError extends Error {
  override readonly name = 'ConsumerGroupBusyError';
}

/** The log (or backend) was closed; nothing more can be produced or consumed through it. */
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError';
}

/** A segment holds bytes that are not a valid record where no torn write can be (not its tail). */
export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';
}

/** The cluster neither created the topic nor auto-created it. */
export class TopicCreationError extends Error {
  override readonly name = 'TopicCreationError';
}

/** A consumer did not join its group and get its positions in time. */
export class ConsumerStartError extends Error {
  override readonly name = 'ConsumerStartError';
}

/** Kafka topic names: https://kafka.apache.org/documentation/#topicconfigs (legal characters, max 249). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Throws {@link InvalidTopicNameError} unless `topic` is a name Kafka accepts. */
export function assertTopicName(topic: string): void {
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') throw new InvalidTopicNameError(topic);
}

/** Throws {@link InvalidStreamOptionError} for consume options no backend can honour. */
export function assertConsumeOptions(options: ConsumeOptions): void {
  if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
    throw new InvalidStreamOptionError(`maxBatch must be a whole number >= 1; got ${options.maxBatch}`);
  }
  for (const name of ['maxWaitMs', 'retryDelayMs'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new InvalidStreamOptionError(`${name} must be a number >= 0; got ${value}`);
    }
  }
  if (options.group.length === 0 || options.group.length > 200) {
    throw new InvalidStreamOptionError(`group must be 1-200 characters; got '${options.group}'`);
  }
}
