import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../../lib/local/streams/backend.ts';
import { buildMskEvent, localMskEventSource } from '../../../../lib/local/streams/msk-event.ts';
import { parseMskEvent, topicLogId } from '../../../../lib/protocol/msk-event.ts';
import example from '../../../fixtures/msk/aws-example-event.json' with { type: 'json' };

const LOCAL = localMskEventSource('0b5a0e4e-7d3c-4f0b-9c56-2f3b8a1d9e70');

const record = (overrides: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  topic: 'telemetry',
  partition: 0,
  offset: '0',
  timestamp: 1_700_000_000_000,
  key: Buffer.from('sim-0001'),
  value: Buffer.from('{"t":1}'),
  headers: {},
  ...overrides,
});

describe('buildMskEvent', () => {
  it("produces AWS's documented example event from the same record", () => {
    // Prepare: the example's record, decoded to what a consumer holds.
    const awsRecord = example.event.records['mytopic-0'][0];
    const consumed = record({
      topic: 'mytopic',
      partition: 0,
      offset: '15',
      timestamp: 1545084650987,
      key: Buffer.from(awsRecord?.key ?? '', 'base64'),
      value: Buffer.from(awsRecord?.value ?? '', 'base64'),
      headers: { headerKey: Buffer.from('headerValue') },
    });

    // Act
    const event = buildMskEvent([consumed], {
      eventSourceArn: example.event.eventSourceArn,
      bootstrapServers: example.event.bootstrapServers.split(','),
    });

    // Assess: AWS's example key "abcDEFghiJKLmnoPQRstuVWXyz1234==" is not canonical base64 (its last
    // character carries bits that decoding drops), so no bytes encode back to it; it is compared as bytes.
    const built = event.records['mytopic-0']?.[0];
    expect(Buffer.from(built?.key ?? '', 'base64')).toEqual(Buffer.from(awsRecord?.key ?? '', 'base64'));
    expect({ ...event, records: { 'mytopic-0': [{ ...built, key: awsRecord?.key }] } }).toEqual(
      example.event,
    );
  });

  it('groups records by topic and partition, keeping their order within each', () => {
    // Act
    const event = buildMskEvent(
      [
        record({ partition: 1, offset: '7' }),
        record({ partition: 0, offset: '3' }),
        record({ partition: 1, offset: '8' }),
        record({ topic: 'alerts', partition: 1, offset: '2' }),
      ],
      LOCAL,
    );

    // Assess
    expect(Object.keys(event.records)).toEqual(['telemetry-1', 'telemetry-0', 'alerts-1']);
    expect(event.records['telemetry-1']?.map((r) => r.offset)).toEqual([7, 8]);
    expect(event.records['telemetry-0']?.map((r) => r.offset)).toEqual([3]);
    expect(event.eventSource).toBe('aws:kafka');
    expect(event.bootstrapServers).toBe('');
  });

  it('leaves out the key and value of a record that has none, as Lambda does', () => {
    // Act
    const event = buildMskEvent([record({ key: null, value: null })], LOCAL);

    // Assess
    const built = event.records['telemetry-0']?.[0];
    expect(built).not.toHaveProperty('key');
    expect(built).not.toHaveProperty('value');
  });

  it('refuses an offset a JSON number cannot hold exactly', () => {
    expect(() => buildMskEvent([record({ offset: '9007199254740993' })], LOCAL)).toThrow(RangeError);
  });

  it('builds what parseMskEvent reads back to the same bytes', () => {
    // Prepare
    const records = [
      record({
        offset: '41',
        value: Buffer.from([0, 255, 128]),
        headers: { 'content-type': Buffer.from('application/cbor') },
      }),
      record({ offset: '42', key: null }),
    ];

    // Act
    const parsed = parseMskEvent(JSON.parse(JSON.stringify(buildMskEvent(records, LOCAL))));

    // Assess
    expect(parsed.records.map((r) => [r.offset, r.key, r.value, r.headers])).toEqual([
      [
        '41',
        Uint8Array.from(Buffer.from('sim-0001')),
        Uint8Array.of(0, 255, 128),
        { 'content-type': Uint8Array.from(Buffer.from('application/cbor')) },
      ],
      ['42', null, Uint8Array.from(Buffer.from('{"t":1}')), {}],
    ]);
  });
});

describe('localMskEventSource', () => {
  it('puts the log id where MSK puts the cluster UUID, so topicLogId reads it back', () => {
    const event = buildMskEvent(
      [record()],
      localMskEventSource('mockCluster15744abb3ee0', ['127.0.0.1:9092']),
    );

    expect(event.eventSourceArn).toMatch(/^arn:aws:kafka:local:000000000000:cluster\/fleetkit-local\//);
    expect(event.bootstrapServers).toBe('127.0.0.1:9092');
    expect(topicLogId(parseMskEvent(event).eventSourceArn, 'telemetry')).toBe(
      'mockCluster15744abb3ee0/telemetry',
    );
  });

  it('refuses a log id that is not one ARN path segment', () => {
    expect(() => localMskEventSource('a/b')).toThrow(RangeError);
  });
});
