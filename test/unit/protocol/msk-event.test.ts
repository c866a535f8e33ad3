import { describe, expect, it } from 'vitest';
import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { parseMskEvent, topicLogId } from '../../../lib/protocol/msk-event.ts';
import example from '../../fixtures/msk/aws-example-event.json' with { type: 'json' };

const utf8 = (text: string) => Uint8Array.from(Buffer.from(text, 'utf8'));

/** AWS's example with its first record changed by `change`. */
function withRecord(change: (record: Record<string, unknown>) => void): unknown {
  const event = structuredClone(example.event) as { records: Record<string, Array<Record<string, unknown>>> };
  const first = event.records['mytopic-0']?.[0];
  if (first !== undefined) change(first);
  return event;
}

describe('parseMskEvent', () => {
  it("decodes AWS's documented example event", () => {
    // Act
    const event = parseMskEvent(example.event);

    // Assess
    expect(event.eventSourceArn).toBe(example.event.eventSourceArn);
    expect(event.bootstrapServers).toEqual([
      'b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
      'b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
    ]);
    expect(event.records).toEqual([
      {
        topic: 'mytopic',
        partition: 0,
        offset: '15',
        timestamp: 1545084650987,
        timestampType: 'CREATE_TIME',
        key: Uint8Array.from(Buffer.from('abcDEFghiJKLmnoPQRstuVWXyz1234==', 'base64')),
        value: utf8('Hello, this is a test.'),
        headers: { headerKey: utf8('headerValue') },
      },
    ]);
  });

  it('reads a record without key, value or headers (a keyless tombstone)', () => {
    // Act
    const event = parseMskEvent(
      withRecord((record) => {
        delete record.key;
        delete record.value;
        delete record.headers;
      }),
    );

    // Assess
    expect(event.records[0]).toMatchObject({ key: null, value: null, headers: {} });
  });

  it.each<[string, unknown, string]>([
    ['another event source', { ...example.event, eventSource: 'aws:sqs' }, 'eventSource'],
    [
      'a value that is not base64',
      withRecord((r) => {
        r.value = 'not base64!';
      }),
      'records.mytopic-0.0.value',
    ],
    [
      'a header byte above 255',
      withRecord((r) => {
        r.headers = [{ h: [256] }];
      }),
      'records.mytopic-0.0.headers.0.h.0',
    ],
    [
      'an offset given as a string',
      withRecord((r) => {
        r.offset = '15';
      }),
      'records.mytopic-0.0.offset',
    ],
    [
      'a record filed under another partition',
      withRecord((r) => {
        r.partition = 3;
      }),
      'records.mytopic-0.0',
    ],
    [
      'an unknown timestamp type',
      withRecord((r) => {
        r.timestampType = 'NO_TIMESTAMP';
      }),
      'records.mytopic-0.0.timestampType',
    ],
  ])('refuses %s, naming the field', (_case, input, field) => {
    // Act
    let error: unknown;
    try {
      parseMskEvent(input);
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(SchemaValidationError);
    expect((error as SchemaValidationError).issues.map((issue) => issue.field)).toContain(field);
  });
});

describe('topicLogId', () => {
  it.each([
    [
      "AWS's example cluster: its UUID and the topic",
      example.event.eventSourceArn,
      'mytopic',
      '751d2973-a626-431c-9d4e-d7975eb44dd7-2/mytopic',
    ],
    [
      'the same cluster name, created again: another UUID, another log',
      'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5-1',
      'mytopic',
      '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5-1/mytopic',
    ],
    ['a source that is not an ARN path is taken whole', 'no-slash', 'mytopic', 'no-slash/mytopic'],
  ])('%s', (_case, arn, topic, log) => {
    expect(topicLogId(arn, topic)).toBe(log);
  });
});
