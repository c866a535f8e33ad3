import { decode as decodeCbor, encode as encodeCbor, Tag } from 'cbor2';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import { decodeUplinkBatch, encodeUplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { sensorReadings, T0 } from './support.ts';

/** Builds version-1 batches by hand (and breaks them), with a plain CBOR encoder. */
const tagged = (fields: unknown): Uint8Array => encodeCbor(new Tag(55799, fields));

const valid = encodeUplinkBatch(
  { batchId: 9, readings: sensorReadings(seededRandom('rejects'), 60) },
  { version: 1 },
);
/** The valid batch's fields, decoded, to change one at a time. */
const fields = (): unknown[] => decodeCbor(valid) as unknown[];
/** The valid batch with `change` applied to its fields. */
function changed(change: (f: unknown[]) => void): Uint8Array {
  const f = fields();
  change(f);
  return tagged(f);
}
const columns = (f: unknown[]) => f[4] as unknown[][];
const data = (f: unknown[]) => f[5] as Uint8Array;

/** A one-reading batch whose ts column takes exactly one bit, so its padding is known. */
const oneBit = (last: number) => tagged([1, 1, 1, 0, [[0, 0, 0, BigInt(T0), []]], new Uint8Array([last])]);

describe('decodeUplinkBatch refuses a damaged version-1 batch, with a reason, and never throws', () => {
  it.each<[string, Uint8Array, RegExp]>([
    [
      'another version',
      changed((f) => {
        f[0] = 7;
      }),
      /^uplink batch: unsupported version 7 \(this decoder reads versions 1 and 2\)$/,
    ],
    [
      'version 2 in the layout of version 1',
      changed((f) => {
        f[0] = 2;
      }),
      /^uplink batch: version 2 is an array of 3, got 6$/,
    ],
    [
      'a version that is not a number',
      changed((f) => {
        f[0] = 'one';
      }),
      /unsupported version "one"/,
    ],
    [
      'an array of the wrong length',
      changed((f) => {
        f.pop();
      }),
      /version 1 is an array of 6, got 5/,
    ],
    [
      'a batch id that is negative',
      changed((f) => {
        f[1] = -3;
      }),
      /batchId must be an integer from 0/,
    ],
    [
      'no readings',
      changed((f) => {
        f[2] = 0;
      }),
      /count must be an integer from 1 to 1000, got 0/,
    ],
    [
      'more than 1000 readings',
      changed((f) => {
        f[2] = 1001;
      }),
      /count must be an integer from 1 to 1000, got 1001/,
    ],
    [
      'an unknown compression',
      changed((f) => {
        f[3] = 7;
      }),
      /compression must be an integer from 0 to 1, got 7/,
    ],
    [
      'deflate claimed over data that is not',
      changed((f) => {
        f[3] = 1;
      }),
      /data does not inflate/,
    ],
    [
      'data that is not a byte string',
      changed((f) => {
        f[5] = 'bits';
      }),
      /data must be a byte string/,
    ],
    [
      'no columns',
      changed((f) => {
        f[4] = [];
      }),
      /columns must number 1 to 256, got 0/,
    ],
    [
      'a column that is not an array',
      changed((f) => {
        columns(f)[2] = 5 as never;
      }),
      /column 2 must be an array, got 5/,
    ],
    [
      'ts not first',
      changed((f) => {
        columns(f).reverse();
      }),
      /ts must be the first column/,
    ],
    [
      'a repeated column',
      changed((f) => {
        columns(f).push(columns(f)[2] as unknown[]);
      }),
      /column 8 \(temperature\) repeats a field/,
    ],
    [
      'an unknown field id',
      changed((f) => {
        (columns(f)[2] as unknown[])[0] = 99;
      }),
      /column 2: unknown field id 99 in version 1/,
    ],
    [
      'a declared metric with a bad name',
      changed((f) => {
        (columns(f)[2] as unknown[])[0] = ['9lives', 2, 1];
      }),
      /metric name must match/,
    ],
    [
      'a declared resolution out of range',
      changed((f) => {
        (columns(f)[2] as unknown[])[0] = ['lux', 12, 1];
      }),
      /decimals must be an integer from -9 to 9, got 12/,
    ],
    [
      'an order beyond 2',
      changed((f) => {
        (columns(f)[2] as unknown[])[1] = 3;
      }),
      /order must be an integer from 0 to 2, got 3/,
    ],
    [
      'a Rice parameter beyond 52',
      changed((f) => {
        (columns(f)[2] as unknown[])[2] = 60;
      }),
      /k must be an integer from -1 to 52, got 60/,
    ],
    [
      'first values that do not match the order',
      changed((f) => {
        (columns(f)[2] as unknown[])[4] = [];
      }),
      /order 1 needs 1 first values, got 0/,
    ],
    [
      'a presence bitmap of the wrong size',
      changed((f) => {
        (columns(f)[2] as unknown[])[5] = new Uint8Array(2);
      }),
      /presence must be a byte string of 8, got a byte string of 2/,
    ],
    [
      'a presence bitmap with bits past the last reading',
      changed((f) => {
        (columns(f)[2] as unknown[])[5] = new Uint8Array(8).fill(0xff);
      }),
      /presence has bits set past reading 60/,
    ],
    [
      'a presence bitmap for ts',
      changed((f) => {
        (columns(f)[0] as unknown[])[5] = new Uint8Array(8).fill(0xff).map((b, i) => (i === 7 ? 0xf0 : b));
      }),
      /every reading has a ts/,
    ],
    [
      'a column no reading has',
      changed((f) => {
        (columns(f)[2] as unknown[])[5] = new Uint8Array(8);
      }),
      /column 2 \(temperature\): no reading has the field/,
    ],
    [
      'a value beyond 2^48 steps',
      changed((f) => {
        (columns(f)[2] as unknown[])[4] = [2 ** 50];
      }),
      /is more than 2\^48 steps from 0/,
    ],
    [
      'a bit stream cut short',
      changed((f) => {
        f[5] = data(f).subarray(0, data(f).length - 20);
      }),
      /\(anomalyScore\): bit stream ends inside a value/,
    ],
    [
      'bytes after the last column',
      changed((f) => {
        f[5] = new Uint8Array([...data(f), 0, 0]); // a plain Uint8Array: cbor2 writes a Buffer as an object
      }),
      /2 bytes of data after the last column/,
    ],
    ['padding bits that are not zero', oneBit(0x40), /padding bits after the last column are not zero/],
    [
      'a map where the batch should be',
      tagged({ version: 1 }),
      /does not start with the self-described CBOR tag and an array/,
    ],
    ['bytes after the CBOR item', new Uint8Array([...valid, 0x00]), /not well-formed CBOR/],
    [
      'garbage after the tag',
      new Uint8Array([0xd9, 0xd9, 0xf7, 0x9f, 0xff, 0xfe, 0x1c]),
      /not well-formed CBOR/,
    ],
    [
      'JSON',
      new Uint8Array(Buffer.from('{"ts":1,"values":{"t":1}}')),
      /does not start with the self-described CBOR tag/,
    ],
    ['nothing', new Uint8Array(0), /does not start with/],
  ])('%s', (_name, bytes, reason) => {
    // Act
    const decoded = decodeUplinkBatch(bytes);

    // Assess
    expect(decoded).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  it('accepts the one-bit batch with zero padding, so the padding case above fails for its padding only', () => {
    expect(decodeUplinkBatch(oneBit(0x00))).toEqual({
      ok: true,
      batch: { batchId: 1, readings: [{ ts: T0, values: {} }] },
    });
  });

  it('refuses every truncation of a valid batch', () => {
    // Act
    const accepted = Array.from({ length: valid.length }, (_, n) => n).filter(
      (n) => decodeUplinkBatch(valid.subarray(0, n)).ok,
    );

    // Assess
    expect(accepted).toEqual([]);
    expect(decodeUplinkBatch(valid).ok).toBe(true);
  });

  it('survives random damage: each result is a batch or a reason, never an exception', () => {
    // Prepare
    const random = seededRandom('fuzz');
    const outcomes = { ok: 0, refused: 0 };

    // Act
    for (let trial = 0; trial < 3_000; trial++) {
      const bytes = new Uint8Array(valid);
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++)
        bytes[3 + Math.floor(random() * (bytes.length - 3))] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? Math.floor(random() * bytes.length) : bytes.length;
      const decoded = decodeUplinkBatch(bytes.subarray(0, cut));
      if (decoded.ok) outcomes.ok++;
      else {
        expect(decoded.reason).toMatch(/^uplink batch: ./);
        outcomes.refused++;
      }
    }

    // Assess: most damage is caught (a flipped bit inside a residual still decodes, to other values)
    expect(outcomes.refused).toBeGreaterThan(outcomes.ok);
    expect(decodeUplinkBatch(valid).ok).toBe(true);
  });
});
