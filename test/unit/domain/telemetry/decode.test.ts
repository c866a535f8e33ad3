import { describe, expect, it } from 'vitest';
import {
  type DecodeStage,
  decodeRecord,
  JSON_PAYLOAD,
  type PayloadFormat,
} from '../../../../lambdas/domain/telemetry/decode.ts';
import { at, ruleRecordValue } from './support.ts';

const envelope = { deviceType: 'sensor', deviceId: 'dev-1', clientId: 'dev-1', receivedAt: at(1) };
const utf8 = new TextEncoder();
const bytes = (text: string) => utf8.encode(text);
const withPayload = (payload: string | Uint8Array) => ruleRecordValue(envelope, payload);

describe('decodeRecord refuses, with the stage and a reason naming the field', () => {
  it.each<[string, Uint8Array, DecodeStage, RegExp]>([
    ['a record that is not JSON', bytes('payload=abc'), 'record', /^invalid Kafka record: not valid JSON/],
    ['a record that is not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'record', /not valid UTF-8/],
    [
      'an envelope without the device id',
      bytes(JSON.stringify({ ...envelope, deviceId: undefined, payload: 'e30=' })),
      'envelope',
      /^invalid rule event: deviceId: /,
    ],
    [
      'an envelope whose payload is not base64',
      bytes(JSON.stringify({ ...envelope, payload: '{"ts":1}' })),
      'envelope',
      /^invalid rule event: payload: must be the base64 payload/,
    ],
    [
      'an envelope with receivedAt in seconds',
      bytes(JSON.stringify({ ...envelope, receivedAt: 1764196381, payload: 'e30=' })),
      'envelope',
      /receivedAt: must be epoch milliseconds after 2000-01-01/,
    ],
    [
      'a payload that is not JSON',
      withPayload('temperature=21.5'),
      'payload',
      /^invalid telemetry payload: not valid JSON/,
    ],
    // Nothing claims CBOR yet, so a CBOR map ({"ts": 1}) is refused as JSON rather than misread.
    [
      'a CBOR payload',
      withPayload(new Uint8Array([0xa1, 0x62, 0x74, 0x73, 0x01])),
      'payload',
      /not valid UTF-8|not valid JSON/,
    ],
    [
      'a telemetry value that is not a number',
      withPayload(JSON.stringify({ ts: at(0), values: { temperature: 'hot' } })),
      'telemetry',
      /^invalid telemetry payload: values\.temperature: /,
    ],
    [
      'a batch reading with ts in seconds',
      withPayload(
        JSON.stringify({
          readings: [
            { ts: at(0), values: { t: 1 } },
            { ts: 1764196380, values: { t: 1 } },
          ],
        }),
      ),
      'telemetry',
      /readings\.1\.ts: must be epoch milliseconds after 2000-01-01/,
    ],
    [
      'a reading from more than 5 minutes in the broker clock’s future',
      withPayload(JSON.stringify({ ts: at(302), values: { t: 1 } })),
      'telemetry',
      /^invalid telemetry payload: ts: is 301 s ahead of the broker's clock \(at most 300 s\)$/,
    ],
    [
      'a batch reading from the future, with its index',
      withPayload(
        JSON.stringify({
          readings: [
            { ts: at(0), values: { t: 1 } },
            { ts: at(3601), values: { t: 1 } },
          ],
        }),
      ),
      'telemetry',
      /readings\.1\.ts: is 3600 s ahead/,
    ],
  ])('%s', (_name, value, stage, reason) => {
    expect(decodeRecord(value)).toEqual({ ok: false, stage, reason: expect.stringMatching(reason) });
  });
});

describe('decodeRecord accepts', () => {
  it.each<[string, Uint8Array, number[]]>([
    ['a single reading', withPayload(JSON.stringify({ ts: at(0), values: { t: 1 } })), [at(0)]],
    [
      'a batch, sorted by reading time (stable for equal times)',
      withPayload(
        JSON.stringify({
          readings: [
            { ts: at(30), seq: 3, values: { t: 3 } },
            { ts: at(10), seq: 1, values: { t: 1 } },
            { ts: at(30), seq: 4, values: { t: 4 } },
            { ts: at(20), seq: 2, values: { t: 2 } },
          ],
        }),
      ),
      [at(10), at(20), at(30), at(30)],
    ],
    [
      'JSON after leading whitespace',
      withPayload(`\n\t ${JSON.stringify({ ts: at(0), values: { t: 1 } })}`),
      [at(0)],
    ],
    [
      'a reading up to 5 minutes ahead of the broker clock',
      withPayload(JSON.stringify({ ts: at(301), values: { t: 1 } })),
      [at(301)],
    ],
  ])('%s', (_name, value, times) => {
    const decoded = decodeRecord(value);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.readings.map((r) => r.ts)).toEqual(times);
    expect(decoded).toMatchObject({
      deviceId: 'dev-1',
      deviceType: 'sensor',
      clientId: 'dev-1',
      receivedAt: at(1),
    });
    expect(decoded).not.toHaveProperty('payload');
  });

  it('keeps the device order of readings of one instant', () => {
    const payload = {
      readings: [
        { ts: at(5), seq: 2, values: { t: 2 } },
        { ts: at(0), seq: 1, values: { t: 1 } },
        { ts: at(5), seq: 3, values: { t: 3 } },
      ],
    };
    const decoded = decodeRecord(withPayload(JSON.stringify(payload)));
    expect(decoded.ok && decoded.readings.map((r) => r.seq)).toEqual([1, 2, 3]);
  });
});

describe('payload formats', () => {
  it.each<[string, string, boolean]>([
    ['an object', '{"ts":1}', true],
    ['an object after whitespace', ' \r\n\t{}', true],
    ['an array', '[1]', false],
    ['text', 'abc', false],
    ['nothing', '', false],
  ])('JSON claims %s: %s', (_name, text, claimed) => {
    expect(JSON_PAYLOAD.sniff(bytes(text))).toBe(claimed);
  });

  it('are chosen by sniffing, so a second format can be added beside JSON', () => {
    // A stand-in for CBOR: claims payloads whose first byte is a CBOR map header (major type 5).
    const fakeCbor: PayloadFormat = {
      name: 'fake-cbor',
      sniff: (b) => b[0] !== undefined && b[0] >= 0xa0 && b[0] <= 0xbf,
      decode: () => ({ ts: at(0), values: { t: 42 } }),
    };
    const decoded = decodeRecord(withPayload(new Uint8Array([0xa1, 0x00])), [JSON_PAYLOAD, fakeCbor]);
    expect(decoded.ok && decoded.readings).toEqual([{ ts: at(0), values: { t: 42 } }]);
    const json = decodeRecord(withPayload(JSON.stringify({ ts: at(0), values: { t: 1 } })), [
      JSON_PAYLOAD,
      fakeCbor,
    ]);
    expect(json.ok && json.readings).toEqual([{ ts: at(0), values: { t: 1 } }]);
  });
});
