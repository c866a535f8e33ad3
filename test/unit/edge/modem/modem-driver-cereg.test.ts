import { describe, expect, it } from 'vitest';
import { rig } from './support.ts';

/**
 * The driver's +CEREG URC handling against lines in other vendors' wording (3GPP TS 27.007 §10.1.22):
 * Altair LTE-M modules send <tac> and <ci> unquoted and may send the read response's shape, <n>
 * first, unsolicited. The emulator sends the line as a URC between replies.
 */
describe('modem driver: +CEREG URCs as other modems word them', () => {
  it.each([
    ['+CEREG: 1, 2, 0001, 00000100, 7', { registration: 'searching', tac: '0001', cellId: '00000100' }],
    ['+CEREG: 2, 0001, 00000100, 7', { registration: 'searching', tac: '0001', cellId: '00000100' }],
    [
      '+CEREG: 2,5,0042,01000015,9',
      { registration: 'registered-roaming', tac: '0042', cellId: '01000015', rat: 'NB-IoT' },
    ],
  ])('%s updates the status like the query would', async (line, expected) => {
    // Prepare
    const r = await rig();
    await r.clock.run(r.driver.start());

    // Act
    r.emulator.sendUrc(line);
    await r.clock.settle();

    // Assess
    expect(r.driver.status).toMatchObject(expected);
    await r.close();
  });
});
