import { describe, expect, it } from 'vitest';
import {
  errorFromFinalResult,
  type FinalResult,
  parseFinalResult,
  parseParameters,
  responsePrefix,
  splitFields,
} from '../../../../edge/src/modem/at-parser.ts';
import { CME_ERRORS, resolveErrorCode } from '../../../../edge/src/modem/cme-errors.ts';
import { AtCommandError, CmeError, CmsError } from '../../../../edge/src/modem/errors.ts';

describe('final result codes (V.250 §5.7.1, 27.007 §9.2)', () => {
  it.each([
    ['OK', { ok: true, code: 'OK' }],
    ['CONNECT', { ok: true, code: 'CONNECT' }],
    ['CONNECT 115200', { ok: true, code: 'CONNECT' }],
    ['ERROR', { ok: false, code: 'ERROR' }],
    ['NO CARRIER', { ok: false, code: 'NO CARRIER' }],
    ['BUSY', { ok: false, code: 'BUSY' }],
    ['NO ANSWER', { ok: false, code: 'NO ANSWER' }],
    ['NO DIALTONE', { ok: false, code: 'NO DIALTONE' }],
    ['+CME ERROR: 10', { ok: false, code: '+CME ERROR', err: '10' }],
    ['+CME ERROR: SIM not inserted', { ok: false, code: '+CME ERROR', err: 'SIM not inserted' }],
    ['+CMS ERROR: 500', { ok: false, code: '+CMS ERROR', err: '500' }],
  ])('%s is a final result', (line, expected) => {
    // Act
    const result = parseFinalResult(line);

    // Assess
    expect(result).toEqual({ ...expected, line });
  });

  it.each(['+CSQ: 20,99', 'OK then', 'RDY', 'ok', '+CEREG: 1', 'CONNECTED'])(
    '%s is not a final result',
    (line) => {
      // Act
      const result = parseFinalResult(line);

      // Assess
      expect(result).toBeUndefined();
    },
  );

  it.each([
    ['+CME ERROR: 10', CmeError, 10, 'SIM not inserted'],
    ['+CME ERROR: SIM not inserted', CmeError, 10, 'SIM not inserted'],
    ['+CME ERROR: sim PIN required', CmeError, 11, 'SIM PIN required'],
    ['+CME ERROR: PH SIM PIN required', CmeError, 5, 'PH-SIM PIN required'],
    ['+CME ERROR: 30', CmeError, 30, 'no network service'],
    ['+CME ERROR: 4242', CmeError, 4242, 'unknown error 4242'],
    ['+CME ERROR: modem on fire', CmeError, undefined, 'modem on fire'],
    ['+CMS ERROR: 310', CmsError, 310, 'SIM not inserted'],
  ] as const)('%s → %s code %s (%s)', (line, type, code, text) => {
    // Prepare
    const result = parseFinalResult(line) as FinalResult & { ok: false };

    // Act
    const error = errorFromFinalResult('AT+CPIN?', result);

    // Assess
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, text, command: 'AT+CPIN?', result: line });
  });

  it('plain ERROR is an AtCommandError naming the command', () => {
    // Act
    const error = errorFromFinalResult('AT+XYZ', { ok: false, code: 'ERROR', line: 'ERROR' });

    // Assess
    expect(error).toBeInstanceOf(AtCommandError);
    expect(error).not.toBeInstanceOf(CmeError);
    expect(error.message).toBe('AT+XYZ: ERROR');
  });

  it('every numeric CME code resolves from its own verbose text', () => {
    // Act
    const mismatches = [...CME_ERRORS].filter(
      ([code, text]) => resolveErrorCode(CME_ERRORS, text).code !== code,
    );

    // Assess
    expect(mismatches).toEqual([]);
  });
});

describe('information responses (27.007 §4.1)', () => {
  it.each([
    ['+CEREG: 1', '+CEREG'],
    ['+cesq: 1,2', '+CESQ'],
    ['%XSYSTEMMODE: 1,0,0,0', '%XSYSTEMMODE'],
    ['^SYSSTART', undefined],
    ['RDY', undefined],
    ['490154203237518', undefined],
  ])('prefix of %s is %s', (line, prefix) => {
    // Act
    const result = responsePrefix(line);

    // Assess
    expect(result).toBe(prefix);
  });

  it.each([
    ['+CSQ: 20,99', [20, 99]],
    ['+CEREG: 1,"2F1A","01A2D003",7', [1, '2F1A', '01A2D003', 7]],
    ['+CEREG: 2,1,,,7', [2, 1, undefined, undefined, 7]],
    ['+CPSMS: 1,,,"00000110","00100001"', [1, undefined, undefined, '00000110', '00100001']],
    ['+COPS: 0,0,"Op, with comma",7', [0, 0, 'Op, with comma', 7]],
    ['+CPIN: SIM PIN', ['SIM PIN']],
    ['+CEDRXS: 0', [0]],
    ['+CGDCONT:', []],
    ['+X: -5, "a" ,3', [-5, 'a', 3]],
    ['1,,', [1, undefined, undefined]],
  ])('%s → %j', (line, values) => {
    // Act
    const result = parseParameters(line);

    // Assess
    expect(result).toEqual(values);
  });

  it.each([
    [
      '+CEREG: 2, 0001, "00C3",,7',
      [
        { text: '2', quoted: false },
        { text: '0001', quoted: false },
        { text: '00C3', quoted: true },
        undefined,
        { text: '7', quoted: false },
      ],
    ],
    [
      '+X: "",1F00 ',
      [
        { text: '', quoted: true },
        { text: '1F00', quoted: false },
      ],
    ],
    ['+X:', []],
  ])('%s → fields as sent: %j', (line, fields) => {
    // Act
    const result = splitFields(line);

    // Assess
    expect(result).toEqual(fields);
  });

  it.each(['+COPS: 0,0,"unterminated', '+X: "a"b,1'])('%s cannot be split', (line) => {
    // Act
    const result = parseParameters(line);

    // Assess
    expect(result).toBeUndefined();
  });
});
