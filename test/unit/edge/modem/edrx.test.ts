import { describe, expect, it } from 'vitest';
import {
  decodeEdrxCycle,
  decodePagingTimeWindow,
  edrxCycles,
  encodeEdrxCycle,
  formatCedrxs,
  parseCedrxp,
} from '../../../../edge/src/modem/edrx.ts';
import { TimerEncodingError } from '../../../../edge/src/modem/errors.ts';

describe('eDRX cycles (24.008 §10.5.5.32)', () => {
  it.each([
    [4, '0000', 5.12],
    [4, '0100', 61.44],
    [4, '0101', 81.92],
    [4, '1001', 163.84],
    [4, '1111', 10_485.76],
    [5, '0010', 20.48],
    [5, '0101', 81.92],
    [5, '0100', 20.48],
    [5, '0000', 20.48],
    [5, '1101', 2_621.44],
  ] as const)('AcT-type %i, %s → %s s', (act, bits, seconds) => {
    // Act
    const result = decodeEdrxCycle(bits, act);

    // Assess
    expect(result).toBe(seconds);
  });

  it.each([
    [4, 5, '0000', 5.12],
    [4, 60, '0100', 61.44],
    [4, 81.92, '0101', 81.92],
    [4, 100, '0110', 102.4],
    [5, 5, '0010', 20.48],
    [5, 60, '0101', 81.92],
    [5, 100, '1001', 163.84],
    [5, 10_485.76, '1111', 10_485.76],
  ] as const)('AcT-type %i, %s s → %s (%s s, rounded up)', (act, wanted, bits, seconds) => {
    // Act
    const result = encodeEdrxCycle(wanted, act);

    // Assess
    expect(result).toEqual({ bits, seconds });
  });

  it('NB-S1 has only the cycles 24.008 defines for it', () => {
    // Act
    const cycles = edrxCycles(5);

    // Assess
    expect(cycles).toEqual([
      20.48, 40.96, 81.92, 163.84, 327.68, 655.36, 1_310.72, 2_621.44, 5_242.88, 10_485.76,
    ]);
  });

  it('a cycle longer than the longest is refused', () => {
    // Act
    const act = () => encodeEdrxCycle(20_000, 4);

    // Assess
    expect(act).toThrow(TimerEncodingError);
  });

  it.each([
    [4, '0000', 1.28],
    [4, '0011', 5.12],
    [4, '1111', 20.48],
    [5, '0000', 2.56],
    [5, '0011', 10.24],
    [5, '1111', 40.96],
  ] as const)('paging time window, AcT-type %i, %s → %s s', (act, bits, seconds) => {
    // Act
    const result = decodePagingTimeWindow(bits, act);

    // Assess
    expect(result).toBe(seconds);
  });
});

describe('+CEDRXS / +CEDRXP (27.007 §7.40, §7.41)', () => {
  it.each([
    [{ enabled: false, act: 4 }, { command: 'AT+CEDRXS=0,4' }],
    [{ enabled: true, act: 5 }, { command: 'AT+CEDRXS=2,5' }],
    [
      { enabled: true, act: 4, cycleSeconds: 100 },
      { command: 'AT+CEDRXS=2,4,"0110"', cycleSeconds: 102.4 },
    ],
  ] as const)('%j → %j', (request, expected) => {
    // Act
    const result = formatCedrxs(request);

    // Assess
    expect(result).toEqual(expected);
  });

  it.each([
    [
      '+CEDRXP: 4,"0101","0101","0011"',
      { act: 4, requestedCycleSeconds: 81.92, networkCycleSeconds: 81.92, pagingWindowSeconds: 5.12 },
    ],
    [
      '+CEDRXP: 5,"0010","1001","0001"',
      { act: 5, requestedCycleSeconds: 20.48, networkCycleSeconds: 163.84, pagingWindowSeconds: 5.12 },
    ],
    ['+CEDRXP: 4,"0101"', { act: 4, requestedCycleSeconds: 81.92 }],
    ['+CEDRXP: 0', { act: 0 }],
    ['+CEDRXP: 4,"01010"', undefined],
    ['+CEDRXP: x', undefined],
    ['+CEDRXS: 4,"0101"', undefined],
  ])('%s → %j', (line, expected) => {
    // Act
    const result = parseCedrxp(line);

    // Assess
    expect(result).toEqual(expected);
  });
});
