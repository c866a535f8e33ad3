import { describe, expect, it } from 'vitest';
import {
  barsFromRsrp,
  barsFromRssi,
  dbmToRsrpIndex,
  dbmToRssiIndex,
  dbToRsrqIndex,
  parseCesq,
  parseCsq,
  rsrpToDbm,
  rsrqToDb,
  rssiToDbm,
} from '../../../../edge/src/modem/signal.ts';

describe('+CSQ <rssi> → dBm (27.007 §8.5)', () => {
  it.each([
    [0, -113],
    [1, -111],
    [2, -109],
    [15, -83],
    [30, -53],
    [31, -51],
    [99, undefined],
    [32, undefined],
    [-1, undefined],
  ])('%i → %s', (index, dbm) => {
    // Act
    const result = rssiToDbm(index);

    // Assess
    expect(result).toBe(dbm);
  });
});

describe('+CESQ <rsrp> → dBm, <rsrq> → dB (27.007 §8.69, lower edge of each range)', () => {
  it.each([
    [0, -141],
    [1, -140],
    [44, -97],
    [96, -45],
    [97, -44],
    [255, undefined],
    [98, undefined],
  ])('rsrp %i → %s dBm', (index, dbm) => {
    // Act
    const result = rsrpToDbm(index);

    // Assess
    expect(result).toBe(dbm);
  });

  it.each([
    [0, -20],
    [1, -19.5],
    [18, -11],
    [33, -3.5],
    [34, -3],
    [255, undefined],
    [35, undefined],
  ])('rsrq %i → %s dB', (index, db) => {
    // Act
    const result = rsrqToDb(index);

    // Assess
    expect(result).toBe(db);
  });

  it('index → value → index is the identity over the defined ranges', () => {
    // Act
    const rsrp = Array.from({ length: 98 }, (_, i) => dbmToRsrpIndex(rsrpToDbm(i) as number));
    const rsrq = Array.from({ length: 35 }, (_, i) => dbToRsrqIndex(rsrqToDb(i) as number));
    const rssi = Array.from({ length: 32 }, (_, i) => dbmToRssiIndex(rssiToDbm(i) as number));

    // Assess
    expect(rsrp).toEqual(Array.from({ length: 98 }, (_, i) => i));
    expect(rsrq).toEqual(Array.from({ length: 35 }, (_, i) => i));
    expect(rssi).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it.each([
    [-97.4, 43],
    [-200, 0],
    [-20, 97],
  ])('a measured %s dBm falls in rsrp index %i', (dbm, index) => {
    // Act
    const result = dbmToRsrpIndex(dbm);

    // Assess
    expect(result).toBe(index);
  });
});

describe('parsing signal responses', () => {
  it.each([
    ['+CSQ: 17,99', { rssiDbm: -79 }],
    ['+CSQ: 31,0', { rssiDbm: -51, ber: 0 }],
    ['+CSQ: 99,99', {}],
    ['+CSQ: 32,99', undefined],
    ['+CSQ: 20', undefined],
    ['+CSQ: a,b', undefined],
    ['+CESQ: 99,99,255,255,18,44', { rsrpDbm: -97, rsrqDb: -11 }],
    ['+CESQ: 99,99,255,255,255,255', {}],
    ['+CESQ: 99,99,255,255,35,44', undefined],
    ['+CESQ: 99,99,255,255,18,98', undefined],
    ['+CESQ: 18,44', undefined],
  ])('%s → %j', (line, expected) => {
    // Act
    const result = line.startsWith('+CSQ') ? parseCsq(line) : parseCesq(line);

    // Assess
    expect(result).toEqual(expected);
  });
});

describe('bars', () => {
  it.each([
    [-44, 5],
    [-85, 5],
    [-86, 4],
    [-95, 4],
    [-96, 3],
    [-105, 3],
    [-106, 2],
    [-115, 2],
    [-116, 1],
    [-125, 1],
    [-126, 0],
    [-141, 0],
    [undefined, 0],
  ])('RSRP %s dBm → %i bars', (dbm, bars) => {
    // Act
    const result = barsFromRsrp(dbm);

    // Assess
    expect(result).toBe(bars);
  });

  it.each([
    [-51, 5],
    [-73, 5],
    [-75, 4],
    [-93, 3],
    [-103, 2],
    [-109, 1],
    [-111, 0],
    [undefined, 0],
  ])('RSSI %s dBm → %i bars', (dbm, bars) => {
    // Act
    const result = barsFromRssi(dbm);

    // Assess
    expect(result).toBe(bars);
  });
});
