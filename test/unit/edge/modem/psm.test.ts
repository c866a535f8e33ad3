import { describe, expect, it } from 'vitest';
import { TimerEncodingError } from '../../../../edge/src/modem/errors.ts';
import {
  decodeGprsTimer2,
  decodeGprsTimer3,
  encodeGprsTimer2,
  encodeGprsTimer3,
  formatCpsms,
  parseCpsms,
} from '../../../../edge/src/modem/psm.ts';

const allOctets = Array.from({ length: 256 }, (_, i) => i.toString(2).padStart(8, '0'));

describe('GPRS Timer 3 (T3412 extended, 24.008 §10.5.7.4a)', () => {
  it.each([
    ['01000111', 252_000, 'u-blox manual: 70 hours'],
    ['00011000', 14_400, 'u-blox SARA-R412M factory RAU: 4 hours'],
    ['01100001', 2, '2 s unit'],
    ['10000100', 120, '30 s unit'],
    ['10101111', 900, '1 min unit'],
    ['00100001', 3_600, '1 h unit'],
    ['11000001', 1_152_000, '320 h unit'],
    ['11011111', 35_712_000, 'longest: 9920 h'],
    ['11100000', null, 'deactivated'],
    ['11111111', null, 'deactivated, value ignored'],
  ])('%s → %s s (%s)', (bits, seconds, _source) => {
    // Act
    const result = decodeGprsTimer3(bits);

    // Assess
    expect(result).toBe(seconds);
  });

  it.each([
    [14_400, '00011000', 14_400, 'exact, finest unit on a tie (10 min × 24, not 1 h × 4)'],
    [252_000, '01000111', 252_000, 'exact 70 h'],
    [1, '01100001', 2, 'rounded up to 2 s'],
    [100, '10000100', 120, 'rounded up to 2 min, in 30 s units'],
    [3_601, '00000111', 4_200, 'just over 1 h → 70 min'],
    [111_601, '01000100', 144_000, 'just over 31 h → 40 h'],
    [35_712_000, '11011111', 35_712_000, 'the longest'],
    [null, '11100000', null, 'deactivated'],
  ])('%s s → %s (%s s: %s)', (seconds, bits, effective, _why) => {
    // Act
    const result = encodeGprsTimer3(seconds);

    // Assess
    expect(result).toEqual({ bits, seconds: effective });
  });

  it.each([35_712_001, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    '%s s is refused with a TimerEncodingError',
    (seconds) => {
      // Act
      const act = () => encodeGprsTimer3(seconds);

      // Assess
      expect(act).toThrow(TimerEncodingError);
    },
  );

  it('every octet decodes to a duration that encodes back to itself', () => {
    // Act
    const drift = allOctets
      .map((bits) => decodeGprsTimer3(bits))
      .filter((seconds): seconds is number => seconds !== null)
      .filter((seconds) => encodeGprsTimer3(seconds).seconds !== seconds);

    // Assess
    expect(drift).toEqual([]);
  });
});

describe('GPRS Timer 2 (T3324 active time, 24.008 §10.5.7.4)', () => {
  it.each([
    ['00100100', 240, 'Telit manual: 4 minutes'],
    ['01000011', 1_080, 'u-blox manual: 3 decihours = 18 minutes'],
    ['00001010', 20, 'u-blox factory READY timer: 20 s'],
    ['01011111', 11_160, 'longest: 186 min'],
    ['01100101', 300, 'undefined unit 011 read as minutes'],
    ['11100000', null, 'deactivated'],
  ])('%s → %s s (%s)', (bits, seconds, _source) => {
    // Act
    const result = decodeGprsTimer2(bits);

    // Assess
    expect(result).toBe(seconds);
  });

  it.each([
    [60, '00011110', 60, 'exact, 2 s × 30 (finest unit on a tie)'],
    [61, '00011111', 62, 'rounded up to 62 s'],
    [63, '00100010', 120, 'past 62 s → 2 min'],
    [240, '00100100', 240, '4 min'],
    [1_861, '01000110', 2_160, 'past 31 min → 36 min in decihours'],
    [0, '00000000', 0, 'zero: PSM at once after release'],
    [null, '11100000', null, 'deactivated'],
  ])('%s s → %s (%s s: %s)', (seconds, bits, effective, _why) => {
    // Act
    const result = encodeGprsTimer2(seconds);

    // Assess
    expect(result).toEqual({ bits, seconds: effective });
  });

  it.each([11_161, -0.5])('%s s is refused with a TimerEncodingError', (seconds) => {
    // Act
    const act = () => encodeGprsTimer2(seconds);

    // Assess
    expect(act).toThrow(TimerEncodingError);
  });

  it.each(['0101', '001001001', '0010010x', ''])('%j is not a timer octet', (bits) => {
    // Act
    const act = () => decodeGprsTimer2(bits);

    // Assess
    expect(act).toThrow(TimerEncodingError);
  });
});

describe('+CPSMS (27.007 §7.38)', () => {
  it.each([
    [{ enabled: false }, 'AT+CPSMS=0', { enabled: false }],
    [{ enabled: true }, 'AT+CPSMS=1', { enabled: true }],
    [
      { enabled: true, periodicTauSeconds: 14_400, activeTimeSeconds: 60 },
      'AT+CPSMS=1,,,"00011000","00011110"',
      { enabled: true, periodicTauSeconds: 14_400, activeTimeSeconds: 60 },
    ],
    [
      { enabled: true, periodicTauSeconds: 3_601 },
      'AT+CPSMS=1,,,"00000111"',
      { enabled: true, periodicTauSeconds: 4_200 },
    ],
    [
      { enabled: true, activeTimeSeconds: 240 },
      'AT+CPSMS=1,,,,"00100100"',
      { enabled: true, activeTimeSeconds: 240 },
    ],
  ])('%j → %s', (request, command, requested) => {
    // Act
    const result = formatCpsms(request);

    // Assess
    expect(result).toEqual({ command, requested });
  });

  it.each([
    [
      '+CPSMS: 1,,,"00011000","00100100"',
      { enabled: true, periodicTauSeconds: 14_400, activeTimeSeconds: 240 },
    ],
    ['+CPSMS: 0', { enabled: false }],
    [
      '+CPSMS: 1,,,"11100000","11100000"',
      { enabled: true, periodicTauSeconds: null, activeTimeSeconds: null },
    ],
    ['+CPSMS: 2', undefined],
    ['+CPSMS: 1,,,"0001","00100100"', undefined],
    ['+CEDRXS: 1', undefined],
  ])('%s → %j', (line, settings) => {
    // Act
    const result = parseCpsms(line);

    // Assess
    expect(result).toEqual(settings);
  });
});
