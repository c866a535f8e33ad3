import { decode as decodeCbor } from 'cbor2';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import {
  decodeUplinkBatch,
  encodeUplinkBatch,
  isUplinkBatch,
  UplinkEncodeError,
} from '../../../../lib/protocol/uplink/codec.ts';
import {
  KNOWN_UPLINK_METRICS,
  MAX_QUANTIZED,
  type MetricResolution,
  roundToResolution,
} from '../../../../lib/protocol/uplink/resolution.ts';
import { randomBatch, sensorReadings, T0 } from './support.ts';

const cbor = { decode: (bytes: Uint8Array) => decodeCbor(bytes) as unknown[] };

function roundTrip(readings: readonly Reading[], options: Parameters<typeof encodeUplinkBatch>[1] = {}) {
  const decoded = decodeUplinkBatch(encodeUplinkBatch({ batchId: 42, readings }, options));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.batch;
}

describe('uplink batch round trip', () => {
  it('gives back sensor-model readings exactly: they are already at their resolution', () => {
    // Prepare
    const readings = sensorReadings(seededRandom('round-trip'), 60);

    // Act
    const batch = roundTrip(readings);

    // Assess
    expect(batch).toEqual({ batchId: 42, readings });
  });

  it.each(Array.from({ length: 300 }, (_, i) => i))(
    'gives back random walk %i rounded to each resolution, missing values and all',
    (trial) => {
      // Prepare
      const random = seededRandom(`walk-${trial}`);
      const count = trial % 50 === 0 ? 1000 : 1 + Math.floor(random() * 150);
      const { readings, resolutions, expected } = randomBatch(random, count);

      // Act
      const batch = roundTrip(readings, { resolutions });

      // Assess
      expect(batch.readings).toEqual(expected);
    },
  );

  it('keeps the batch id, up to the largest safe integer', () => {
    // Prepare
    const readings = [{ ts: T0, values: { battery: 80 } }];

    // Act
    const ids = [0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER].map((batchId) => {
      const decoded = decodeUplinkBatch(encodeUplinkBatch({ batchId, readings }));
      return decoded.ok && decoded.batch.batchId;
    });

    // Assess
    expect(ids).toEqual([0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER]);
  });

  it('carries values at the limits of the format: ±2^48 steps, ts 0, seq 2^48', () => {
    // Prepare
    const readings: Reading[] = [
      { ts: 0, seq: 0, values: { rsrp: MAX_QUANTIZED, battery: -MAX_QUANTIZED } },
      { ts: MAX_QUANTIZED, seq: MAX_QUANTIZED, values: { rsrp: -MAX_QUANTIZED, battery: MAX_QUANTIZED } },
      { ts: 0, seq: 0, values: { rsrp: MAX_QUANTIZED, battery: -MAX_QUANTIZED } },
    ];

    // Act
    const batch = roundTrip(readings);

    // Assess
    expect(batch.readings).toEqual(readings);
  });

  it('decodes the same readings whether the bit stream is deflated or not', () => {
    // Prepare
    const readings = sensorReadings(seededRandom('deflate'), 200);

    // Act
    const plain = encodeUplinkBatch({ batchId: 1, readings }, { compression: 'none' });
    const deflated = encodeUplinkBatch({ batchId: 1, readings }, { compression: 'deflate' });

    // Assess
    expect(cbor.decode(plain)[1]).toBe(0);
    expect(cbor.decode(deflated)[1]).toBe(1);
    expect(decodeUplinkBatch(plain)).toEqual(decodeUplinkBatch(deflated));
  });

  it('deflates on its own when that is smaller: a periodic signal Rice coding cannot see', () => {
    // Prepare: a pattern of eight values repeated, which DEFLATE finds and a predictor does not
    const pattern = [0, 9_000, 37, 5_000, 12, 700, 3_333, 64];
    const readings = Array.from({ length: 800 }, (_, i) => ({
      ts: T0 + i * 1000,
      values: { level: pattern[i % 8] as number },
    }));
    const resolutions = { level: { decimals: 0 } };

    // Act
    const auto = encodeUplinkBatch({ batchId: 1, readings }, { resolutions });
    const plain = encodeUplinkBatch({ batchId: 1, readings }, { resolutions, compression: 'none' });

    // Assess
    expect(cbor.decode(auto)[1]).toBe(1);
    expect(auto.length).toBeLessThan(plain.length);
    expect(roundTrip(readings, { resolutions }).readings).toEqual(readings);
  });

  it('starts with the self-described CBOR tag, which no JSON text starts with, and sniffs as a batch', () => {
    // Prepare
    const payload = encodeUplinkBatch({ batchId: 7, readings: [{ ts: T0, values: { battery: 1 } }] });

    // Act
    const head = [...payload.subarray(0, 4)];

    // Assess
    expect(head.slice(0, 3)).toEqual([0xd9, 0xd9, 0xf7]);
    expect(head[0]).not.toBe('{'.charCodeAt(0));
    expect(isUplinkBatch(payload)).toBe(true);
  });

  it.each<[string, number[], boolean]>([
    ['a batch header', [0xd9, 0xd9, 0xf7, 0x86], true],
    ['the tag alone (a truncated batch)', [0xd9, 0xd9, 0xf7], true],
    ['JSON', [...Buffer.from('{"ts":1}')], false],
    ['a self-described CBOR map, which is not a batch', [0xd9, 0xd9, 0xf7, 0xa1], false],
    ['a plain CBOR array', [0x86, 0x01], false],
    ['two bytes of the tag', [0xd9, 0xd9], false],
    ['nothing', [], false],
  ])('sniffs %s: %s', (_name, bytes, claimed) => {
    expect(isUplinkBatch(new Uint8Array(bytes))).toBe(claimed);
  });
});

describe('quantization', () => {
  const resolutions: [string, MetricResolution][] = [
    ...KNOWN_UPLINK_METRICS.map((m): [string, MetricResolution] => [m.name, m.resolution]),
    ['tenths of a kilo', { decimals: -3, step: 1 }],
    ['quarter steps', { decimals: 2, step: 25 }],
    ['micro', { decimals: 6 }],
  ];

  it.each(resolutions)('of %s is lossless at its resolution, on random values', (_name, resolution) => {
    // Prepare
    const random = seededRandom(JSON.stringify(resolution));
    const step = (resolution.step ?? 1) * 10 ** -resolution.decimals;
    const values = Array.from({ length: 1_000 }, () => (random() - 0.5) * step * 10 ** (random() * 8));
    const readings = values.map((value, i) => ({ ts: T0 + i, values: { m: value } }));

    // Act
    const batch = roundTrip(readings, { resolutions: { m: resolution } });

    // Assess: what comes back is the value rounded to its resolution, within half a step of it, and
    // already at its resolution (rounding it again changes nothing)
    const decoded = batch.readings.map((r) => r.values.m as number);
    expect(decoded).toEqual(values.map((v) => roundToResolution(v, resolution)));
    for (const [i, d] of decoded.entries()) {
      expect(Math.abs(d - (values[i] as number))).toBeLessThanOrEqual(step / 2 + Math.abs(d) * 1e-12);
      expect(roundToResolution(d, resolution)).toBe(d);
    }
  });

  it('gives 0, never -0, for a small negative value', () => {
    expect(Object.is(roundToResolution(-0.001, { decimals: 2 }), 0)).toBe(true);
    expect(
      Object.is(roundTrip([{ ts: T0, values: { temperature: -0.001 } }]).readings[0]?.values.temperature, 0),
    ).toBe(true);
  });
});

describe('encodeUplinkBatch refuses, naming the reading and the problem', () => {
  const ok = { ts: T0, values: { temperature: 21.5 } };
  it.each<[string, Reading[], Record<string, MetricResolution> | undefined, RegExp]>([
    ['no readings', [], undefined, /1 to 1000 readings, got 0/],
    ['more than 1000 readings', Array.from({ length: 1001 }, () => ok), undefined, /got 1001/],
    [
      'a metric without a resolution',
      [ok, { ts: T0, values: { lux: 3 } }],
      undefined,
      /reading 1: metric 'lux' has no resolution/,
    ],
    [
      'a declared resolution out of range',
      [{ ts: T0, values: { lux: 3 } }],
      { lux: { decimals: 12 } },
      /decimals must be an integer from -9 to 9, got 12/,
    ],
    [
      'a step that is not an integer',
      [{ ts: T0, values: { lux: 3 } }],
      { lux: { decimals: 0, step: 0.5 } },
      /step must be an integer/,
    ],
    [
      'NaN',
      [{ ts: T0, values: { temperature: Number.NaN } }],
      undefined,
      /temperature must be a finite number, got NaN/,
    ],
    [
      'Infinity',
      [{ ts: T0, values: { battery: Number.POSITIVE_INFINITY } }],
      undefined,
      /battery must be a finite number/,
    ],
    [
      'a value beyond 2^48 steps',
      [{ ts: T0, values: { temperature: 3e12 } }],
      undefined,
      /more than 2\^48 steps/,
    ],
    ['a fractional ts', [{ ts: T0 + 0.5, values: { battery: 1 } }], undefined, /ts must be an integer/],
    [
      'a negative seq',
      [{ ts: T0, seq: -1, values: { battery: 1 } }],
      undefined,
      /seq must be an integer from 0/,
    ],
    [
      'a bad metric name',
      [{ ts: T0, values: { 'bad-name': 1 } }],
      { 'bad-name': { decimals: 0 } },
      /metric name 'bad-name'/,
    ],
  ])('%s', (_name, readings, resolutions, reason) => {
    // Act
    let error: unknown;
    try {
      encodeUplinkBatch({ batchId: 1, readings }, resolutions === undefined ? {} : { resolutions });
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(UplinkEncodeError);
    expect((error as Error).message).toMatch(reason);
  });

  it('refuses a batch id that is not a safe non-negative integer', () => {
    expect(() => encodeUplinkBatch({ batchId: -1, readings: [ok] })).toThrow(UplinkEncodeError);
    expect(() => encodeUplinkBatch({ batchId: 2 ** 53, readings: [ok] })).toThrow(/batchId/);
  });
});
