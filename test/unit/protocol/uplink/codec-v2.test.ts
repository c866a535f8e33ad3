import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { decodeUplinkBatch, encodeUplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { sensorReadings, T0 } from './support.ts';

/** Version 2 of the uplink batch, and version 1 still read beside it. */

const golden = JSON.parse(
  readFileSync(new URL('../../../fixtures/uplink/v1-batches.json', import.meta.url), 'utf8'),
) as { batches: { batchId: number; hex: string }[]; readings: Reading[] };

/** Ten minutes of a default device at 60 s: seven metrics, seq from the clock. */
const tenReadings = sensorReadings(seededRandom('v2'), 10, 60_000).map((r, i) => ({
  ts: r.ts,
  seq: 1_764_196_380_000 + i,
  values: { ...r.values, rsrq: -10.5 },
}));

const valid = encodeUplinkBatch({ batchId: 77, readings: sensorReadings(seededRandom('v2-rejects'), 40) });

describe('uplink batch version 2', () => {
  it.each(golden.batches)(
    'decodes version-1 batch $batchId as firmware before version 2 wrote it',
    ({ batchId, hex }) => {
      // Act
      const decoded = decodeUplinkBatch(new Uint8Array(Buffer.from(hex, 'hex')));

      // Assess
      expect(decoded).toEqual({ ok: true, batch: { batchId, readings: golden.readings } });
    },
  );

  it('gives the same readings as version 1, with a declared metric, missing values and missing seqs', () => {
    // Act
    const v2 = encodeUplinkBatch(
      { batchId: 4242, readings: golden.readings },
      { resolutions: { th1_temp: { decimals: 3 } } },
    );

    // Assess
    expect([...v2.subarray(0, 5)]).toEqual([0xd9, 0xd9, 0xf7, 0x83, 0x02]);
    expect(decodeUplinkBatch(v2)).toEqual({ ok: true, batch: { batchId: 4242, readings: golden.readings } });
  });

  it('costs at least 30 bytes less than version 1 for ten readings of a default device', () => {
    // Act
    const v1 = encodeUplinkBatch({ batchId: 500, readings: tenReadings }, { version: 1 });
    const v2 = encodeUplinkBatch({ batchId: 500, readings: tenReadings });

    // Assess
    expect(v1.length - v2.length).toBeGreaterThanOrEqual(30);
    expect(decodeUplinkBatch(v2)).toEqual(decodeUplinkBatch(v1));
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['bytes after the byte string', new Uint8Array([...valid, 0]), /1 bytes after the batch/],
    [
      'a compression it does not know',
      Uint8Array.from(valid, (b, i) => (i === 5 ? 2 : b)),
      /compression must be 0 or 1/,
    ],
    [
      'a text string where the data should be',
      Uint8Array.from(valid, (b, i) => (i === 6 ? 0x78 : b)),
      /data must be a definite-length byte string/,
    ],
    [
      'a deflated flag on data that is not deflated',
      Uint8Array.from(valid, (b, i) => (i === 5 ? 1 : b)),
      /data does not inflate/,
    ],
    [
      'padding bits that are not zero',
      // One reading of one known metric, all zeros: batch id 2 (7 bits), count, seq flag, metrics (13),
      // ts (14) and battery (23) make 57 bits, so the last byte holds seven bits of padding.
      (() => {
        const bytes = encodeUplinkBatch({ batchId: 2, readings: [{ ts: 0, values: { battery: 0 } }] });
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) | 1;
        return bytes;
      })(),
      /padding bits after the last column are not zero/,
    ],
  ])('refuses %s', (_name, bytes, reason) => {
    expect(decodeUplinkBatch(bytes)).toEqual({ ok: false, reason: expect.stringMatching(reason) });
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

  it('survives random damage to the bit stream: a batch or a reason, never an exception', () => {
    // Prepare
    const random = seededRandom('v2-fuzz');
    let refused = 0;

    // Act
    for (let trial = 0; trial < 3_000; trial++) {
      const bytes = new Uint8Array(valid);
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++)
        bytes[8 + Math.floor(random() * (bytes.length - 8))] = Math.floor(random() * 256);
      const decoded = decodeUplinkBatch(bytes);
      if (!decoded.ok) {
        expect(decoded.reason).toMatch(/^uplink batch: ./);
        refused++;
      }
    }

    // Assess: the column headers and the padding catch most damage
    expect(refused).toBeGreaterThan(1_500);
  });

  it('keeps a seq of 2^48 and a batch id of 2^53 − 1 at the edges of its numbers', () => {
    // Prepare
    const readings = [
      { ts: T0, seq: 2 ** 48, values: { battery: 80 } },
      { ts: T0 + 1, seq: 0, values: { battery: -(2 ** 48) } },
    ];

    // Act
    const decoded = decodeUplinkBatch(encodeUplinkBatch({ batchId: Number.MAX_SAFE_INTEGER, readings }));

    // Assess
    expect(decoded).toEqual({ ok: true, batch: { batchId: Number.MAX_SAFE_INTEGER, readings } });
  });
});
