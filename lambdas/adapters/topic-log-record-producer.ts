import type { OutgoingRecord, RecordProducer } from '../ports.ts';

/** The local topic log refused a produce request, or could not be reached. */
export class TopicLogRequestError extends Error {
  override readonly name = 'TopicLogRequestError';
  /** HTTP status, or undefined when no answer came. */
  readonly status: number | undefined;
  /** The server's error code (`UnknownTopic`, `InvalidRequest`, ...), when it gave one. */
  readonly code: string | undefined;

  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Properties of a {@link TopicLogRecordProducer}. */
export interface TopicLogRecordProducerProps {
  /** Base URL of the topic log API (`TOPIC_LOG_ENDPOINT`), e.g. `http://127.0.0.1:4566`. */
  readonly endpoint: string;
}

/**
 * Produces records to the local platform's embedded topic log through its loopback HTTP API
 * (`POST /topics/{topic}/records`, see `lib/local/streams/http-api.ts`); used when functions run
 * locally without `KAFKA_BROKERS`. `send` resolves once the log has fsync'd the records, as the
 * Kafka producer resolves once all in-sync replicas have them.
 */
export class TopicLogRecordProducer implements RecordProducer {
  private readonly endpoint: string;

  constructor(props: TopicLogRecordProducerProps) {
    this.endpoint = props.endpoint.replace(/\/+$/, '');
  }

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const url = `${this.endpoint}/topics/${encodeURIComponent(topic)}/records`;
    const body = JSON.stringify({
      records: records.map((record) => ({
        key: record.key,
        value: (typeof record.value === 'string'
          ? Buffer.from(record.value, 'utf8')
          : Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength)
        ).toString('base64'),
        ...(record.headers === undefined ? {} : { headers: record.headers }),
      })),
    });
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    } catch (error) {
      throw new TopicLogRequestError(
        `topic log at ${this.endpoint} unreachable: ${(error as Error).message}`,
      );
    }
    const text = await response.text();
    if (response.ok) return;
    let code: string | undefined;
    let message = text;
    try {
      const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === 'string') code = parsed.code;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // Not the API's JSON error (a proxy, a crash): the raw text is the best message there is.
    }
    throw new TopicLogRequestError(
      `producing to '${topic}' failed with ${response.status}: ${message}`,
      response.status,
      code,
    );
  }
}
