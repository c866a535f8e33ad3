import { describe, expect, it } from 'vitest';
import {
  isCeregReadResponse,
  isRegistered,
  parseCereg,
  ratOf,
  registrationStateOf,
} from '../../../../edge/src/modem/registration.ts';
import { REGISTRATION_STATES } from '../../../../lib/protocol/modem.ts';

describe('+CEREG (27.007 §10.1.22)', () => {
  it.each([
    ['+CEREG: 1', { stat: 1, state: 'registered-home' }],
    ['+CEREG: 2', { stat: 2, state: 'searching' }],
    [
      '+CEREG: 5,"2F1A","01A2D003",7',
      { stat: 5, state: 'registered-roaming', tac: '2F1A', cellId: '01A2D003', act: 7, rat: 'LTE-M' },
    ],
    [
      '+CEREG: 1,"00c3","1a2b3c",9',
      { stat: 1, state: 'registered-home', tac: '00C3', cellId: '1A2B3C', act: 9, rat: 'NB-IoT' },
    ],
    [
      '+CEREG: 1,"2F1A","01A2D003",7,,,"00100001","00101010"',
      {
        stat: 1,
        state: 'registered-home',
        tac: '2F1A',
        cellId: '01A2D003',
        act: 7,
        rat: 'LTE-M',
        activeTimeSeconds: 60,
        periodicTauSeconds: 36_000,
      },
    ],
    [
      '+CEREG: 1,"2F1A","01A2D003",7,,,"11100000","11100000"',
      {
        stat: 1,
        state: 'registered-home',
        tac: '2F1A',
        cellId: '01A2D003',
        act: 7,
        rat: 'LTE-M',
        activeTimeSeconds: null,
        periodicTauSeconds: null,
      },
    ],
    [
      '+CEREG: 3,"2F1A","01A2D003",7,0,15',
      {
        stat: 3,
        state: 'denied',
        tac: '2F1A',
        cellId: '01A2D003',
        act: 7,
        rat: 'LTE-M',
        causeType: 0,
        rejectCause: 15,
      },
    ],
    ['+CEREG: 8', { stat: 8, state: 'emergency-only' }],
    ['+CEREG: 4,"zz","01A2D003"', { stat: 4, state: 'unknown', cellId: '01A2D003' }],
    ['+CEREG: 11', { stat: 11, state: 'unknown' }],
  ])('URC %s', (line, expected) => {
    // Act
    const result = parseCereg(line);

    // Assess
    expect(result).toEqual(expected);
  });

  it.each([
    [
      '+CEREG: 2,1,"2F1A","01A2D003",7',
      { stat: 1, state: 'registered-home', tac: '2F1A', cellId: '01A2D003', act: 7, rat: 'LTE-M' },
    ],
    ['+CEREG: 0,4', { stat: 4, state: 'unknown' }],
    ['+CEREG: 4,2', { stat: 2, state: 'searching' }],
    // nRF91 style: every field present, empty ones too; <stat> 90 is Nordic's "UICC failure".
    ['+CEREG: 5,90,,"FFFFFFFF",,,,,', { stat: 90, state: 'unknown', cellId: 'FFFFFFFF' }],
  ])('read response %s', (line, expected) => {
    // Act
    const result = parseCereg(line);

    // Assess
    expect(result).toEqual(expected);
  });

  it.each([
    [3, '+CEREG: 3,"2F1A","01A2D003",7,0,15'],
    [4, '+CEREG: 1,"2F1A","01A2D003",7,,,"00100001","00101010"'],
    [5, '+CEREG: 0,"FFFF","FFFFFFFF",9,0,0,,'],
    [2, '+CEREG: 2, 0001, 00000100, 7'],
    [4, '+CEREG: 1,0042,01000015,7,,,00100001,00101010'],
  ])('the read response with <n> %i carries what the URC %s carries', (n, urc) => {
    // Prepare
    const read = urc.replace('+CEREG: ', `+CEREG: ${n},`);

    // Act
    const result = parseCereg(read);

    // Assess
    expect(result).toBeDefined();
    expect(result).toEqual(parseCereg(urc));
  });

  /** The cell of ModemManager's Altair LTE-M vectors, and two of this file's own. */
  const altairCell = { tac: '0001', cellId: '00000100', act: 7, rat: 'LTE-M' };
  const cell42 = { tac: '0042', cellId: '01000015' };
  const cell1F = { tac: '1F00', cellId: '79D903', act: 7, rat: 'LTE-M' };
  const home = { stat: 1, state: 'registered-home' };

  it.each([
    // Altair LTE-M: unquoted, space-padded; 0001 is tac 0x0001, not 1. Then the read response's shape
    // sent unsolicited, <n> first.
    ['+CEREG: 2, 0001, 00000100, 7', { stat: 2, state: 'searching', ...altairCell }],
    ['+CEREG: 1, 2, 0001, 00000100, 7', { stat: 2, state: 'searching', ...altairCell }],
    ['+CEREG: 1,0042,01000015,7', { ...home, ...cell42, act: 7, rat: 'LTE-M' }],
    [
      '+CEREG: 2,5,0042,01000015,9',
      { stat: 5, state: 'registered-roaming', ...cell42, act: 9, rat: 'NB-IoT' },
    ],
    ['+CEREG: 1, 1F00, 79D903 ,7', { ...home, ...cell1F }],
    ['+CEREG: 2,1, 1F00, 79D903 ,7', { ...home, ...cell1F }],
    [
      '+CEREG: 4,1,0042,01000015,7,,,00100001,00101010',
      { ...home, ...cell42, act: 7, rat: 'LTE-M', activeTimeSeconds: 60, periodicTauSeconds: 36_000 },
    ],
    // A 5-digit <tac> is more than 2 bytes.
    ['+CEREG: 1,12345,01000015,7', { ...home, cellId: '01000015', act: 7, rat: 'LTE-M' }],
  ])('unquoted <tac> and <ci> are hexadecimal, in either shape: %s', (line, expected) => {
    // Act
    const result = parseCereg(line);

    // Assess
    expect(result).toEqual(expected);
  });

  it.each(['+CEREG: x', '+CEREG:', '+CEREG: 1,"2F1A', '+CSQ: 1,2', 'CEREG: 1', '+CEREG: 300'])(
    '%s is refused',
    (line) => {
      // Act
      const result = parseCereg(line);

      // Assess
      expect(result).toBeUndefined();
    },
  );

  it.each([
    ['+CEREG: 2,1', true],
    ['+CEREG: 4,5,"2F1A","01A2D004",7', true],
    ['+CEREG: 0,4', true],
    ['+CEREG: 1', false],
    ['+CEREG: 5,"2F1A","01A2D004",7', false],
    ['+CEREG: 2,,,7', false],
    ['+CEREG: 1, 2, 0001, 00000100, 7', true],
    ['+CEREG: 2, 0001, 00000100, 7', false],
    ['+CEREG: 2,1, 1F00, 79D903 ,7', true],
    ['+CEREG: 1, 1F00, 79D903 ,7', false],
    ['+CEREG: 5,90,,"FFFFFFFF",,,,,', true],
    ['+CEREG: 90,,"FFFFFFFF",,,,,', false],
    ['+CEREG: 0,"FFFF","FFFFFFFF",9,0,0,,', false],
    ['+CEREG: 3,1,0042,01000015,7,0,15', true],
    ['+CEREG: 1,0042,01000015,7,0,15', false],
    ['+CEREG: 4,1,0042,01000015,7,,,00100001,00101010', true],
    ['+CEREG: 1,0042,01000015,7,,,00100001,00101010', false],
    ['+CSQ: 2,1', false],
  ])('%s is the read form: %s', (line, read) => {
    // Act
    const result = isCeregReadResponse(line);

    // Assess
    expect(result).toBe(read);
  });

  it('names every <stat> 0–10 in order', () => {
    // Act
    const names = Array.from({ length: 11 }, (_, stat) => registrationStateOf(stat));

    // Assess
    expect(names).toEqual(REGISTRATION_STATES);
  });

  it.each([
    ['registered-home', true],
    ['registered-roaming', true],
    ['csfb-not-preferred-home', true],
    ['searching', false],
    ['denied', false],
    ['emergency-only', false],
    ['sms-only-home', false],
  ] as const)('%s can carry data: %s', (state, registered) => {
    // Act
    const result = isRegistered(state);

    // Assess
    expect(result).toBe(registered);
  });

  it.each([
    [7, 'LTE-M'],
    [9, 'NB-IoT'],
    [0, 'GSM'],
    [8, 'GSM'],
    [2, 'UMTS'],
    [6, 'UMTS'],
    [10, 'LTE'],
    [12, undefined],
  ])('<AcT> %i → %s', (act, rat) => {
    // Act
    const result = ratOf(act);

    // Assess
    expect(result).toBe(rat);
  });
});
