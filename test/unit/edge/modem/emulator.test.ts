import { describe, expect, it } from 'vitest';
import { ModemEmulator, type ModemEmulatorOptions } from '../../../../edge/src/modem/emulator.ts';
import { parseCesq, parseCsq } from '../../../../edge/src/modem/signal.ts';
import { VirtualClock } from './support.ts';

/** An emulator on a virtual clock, talked to directly (no port). */
function setup(options: Omit<ModemEmulatorOptions, 'clock'> = {}) {
  const clock = new VirtualClock();
  const emulator = new ModemEmulator({ clock, ...options });
  let output = '';
  emulator.onOutput((bytes) => {
    output += bytes.toString('latin1');
  });
  const take = () => {
    const taken = output;
    output = '';
    return taken;
  };
  const send = async (line: string) => {
    emulator.input(`${line}\r`);
    await clock.settle();
    return take();
  };
  return { clock, emulator, send, take };
}

describe('modem emulator: the AT dialogue', () => {
  it('echoes after power-up (ATE1 is the default) until ATE0', async () => {
    // Prepare
    const { send } = setup();

    // Act
    const echoed = await send('AT');
    const echoOff = await send('ATE0');
    const quiet = await send('AT');

    // Assess
    expect(echoed).toBe('AT\r\r\nOK\r\n');
    expect(echoOff).toBe('ATE0\r\r\nOK\r\n');
    expect(quiet).toBe('\r\nOK\r\n');
  });

  it.each([
    [0, '\r\nERROR\r\n'],
    [1, '\r\n+CME ERROR: 10\r\n'],
    [2, '\r\n+CME ERROR: SIM not inserted\r\n'],
  ])('reports a missing SIM in the +CMEE=%i form', async (cmee, reply) => {
    // Prepare
    const { send } = setup({ faults: { sim: 'absent' } });
    await send('ATE0');
    await send(`AT+CMEE=${cmee}`);

    // Act
    const result = await send('AT+CPIN?');

    // Assess
    expect(result).toBe(reply);
  });

  it('asks for the PIN, refuses a wrong one, accepts the right one', async () => {
    // Prepare
    const { send } = setup({ faults: { sim: 'pin-required' }, pin: '4321' });
    await send('ATE0');
    await send('AT+CMEE=2');

    // Act
    const asked = await send('AT+CPIN?');
    const wrong = await send('AT+CPIN="0000"');
    const right = await send('AT+CPIN="4321"');
    const ready = await send('AT+CPIN?');

    // Assess
    expect([asked, wrong, right, ready]).toEqual([
      '\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n',
      '\r\n+CME ERROR: incorrect password\r\n',
      '\r\nOK\r\n',
      '\r\n+CPIN: READY\r\n\r\nOK\r\n',
    ]);
  });

  it('reports registration with +CEREG URCs: searching at once, registered after the delay', async () => {
    // Prepare
    const { clock, send, take } = setup({ registrationDelayMs: 4_000, poweredOn: true });
    await clock.advance(10_000);
    await send('ATE0');
    await send('AT+CEREG=2');
    await send('AT+COPS=2');

    // Act
    const selected = await send('AT+COPS=0');
    await clock.advance(3_999);
    const before = take();
    await clock.advance(1);
    const after = take();

    // Assess
    expect(selected).toBe('\r\n+CEREG: 2\r\n\r\nOK\r\n');
    expect(before).toBe('');
    expect(after).toBe('\r\n+CEREG: 1,"2F1A","01A2D003",7\r\n');
  });

  it.each([
    ['denied', '\r\n+CEREG: 3\r\n'],
    ['none', ''],
  ] as const)('network %s: after selection the modem is %j', async (network, urc) => {
    // Prepare
    const { clock, send, take } = setup({ faults: { network } });
    await send('ATE0');
    await send('AT+CEREG=1');

    // Act
    await send('AT+COPS=2');
    await send('AT+COPS=0');
    take();
    await clock.advance(60_000);
    const result = take();
    const read = await send('AT+CEREG?');

    // Assess
    expect(result).toBe(urc);
    expect(read).toBe(`\r\n+CEREG: 1,${network === 'denied' ? 3 : 2}\r\n\r\nOK\r\n`);
  });

  it('loses registration and gets it back after the scripted outage', async () => {
    // Prepare
    const { clock, emulator, send, take } = setup();
    await clock.advance(5_000);
    await send('ATE0');
    await send('AT+CEREG=1');

    // Act
    emulator.loseRegistration({ afterMs: 30_000 });
    await clock.settle();
    const lost = take();
    await clock.advance(30_000 + 2_000);
    const back = take();

    // Assess
    expect(lost).toBe('\r\n+CEREG: 2\r\n');
    expect(back).toBe('\r\n+CEREG: 1\r\n');
  });

  it('+CFUN=1,1 answers OK, goes silent while booting, then says RDY with echo back on', async () => {
    // Prepare
    const { clock, send, take } = setup({ bootDelayMs: 3_000 });
    await send('ATE0');

    // Act
    const reset = await send('AT+CFUN=1,1');
    const whileBooting = await send('AT');
    await clock.advance(3_000);
    const banner = take();
    const afterBoot = await send('AT');

    // Assess
    expect([reset, whileBooting, banner, afterBoot]).toEqual([
      '\r\nOK\r\n',
      '',
      '\r\nRDY\r\n',
      'AT\r\r\nOK\r\n',
    ]);
  });

  it('a hung modem answers nothing, not even echo, until a power cycle', async () => {
    // Prepare
    const { clock, emulator, send, take } = setup({ faults: { unresponsive: true }, bootDelayMs: 1_000 });

    // Act
    const hung = await send('AT');
    await emulator.powerCycle();
    await clock.advance(1_000);
    const banner = take();
    const answered = await send('AT');

    // Assess
    expect([hung, banner, answered]).toEqual(['', '\r\nRDY\r\n', 'AT\r\r\nOK\r\n']);
  });

  it('slow replies: echo at once, the reply after the delay', async () => {
    // Prepare
    const { clock, send, take } = setup({ faults: { slowCommands: { 'AT+CESQ': 8_000 } } });

    // Act
    const echo = await send('AT+CESQ');
    await clock.advance(7_999);
    const early = take();
    await clock.advance(1);
    const reply = take();

    // Assess
    expect(echo).toBe('AT+CESQ\r');
    expect(early).toBe('');
    expect(reply).toMatch(/^\r\n\+CESQ: 99,99,255,255,\d+,\d+\r\n\r\nOK\r\n$/);
  });

  it('noise before replies: a non-printable burst on its own line, then the reply', async () => {
    // Prepare
    const { send } = setup({ faults: { noiseBeforeReplies: true } });
    await send('ATE0');

    // Act
    const reply = await send('AT');

    // Assess
    expect(reply).toBe('\x00\xff\xfe\x1b[\x9c\r\n\r\nOK\r\n');
  });

  it.each(['ATZ', 'AT+NOPE', 'AT+CSQ=1', 'AT+CMEE=7', 'AT+CGDCONT=1,"PPP","x"'])(
    '%s → ERROR',
    async (line) => {
      // Prepare
      const { send } = setup();
      await send('ATE0');

      // Act
      const reply = await send(line);

      // Assess
      expect(reply).toBe('\r\nERROR\r\n');
    },
  );

  it('reports the configured signal through +CESQ and a consistent RSSI through +CSQ', async () => {
    // Prepare
    const { clock, send } = setup({ signal: { rsrpDbm: -104, rsrqDb: -12.5 } });
    await clock.advance(5_000);
    await send('ATE0');

    // Act
    const cesq = parseCesq((await send('AT+CESQ')).split('\r\n')[1] ?? '');
    const csq = parseCsq((await send('AT+CSQ')).split('\r\n')[1] ?? '');

    // Assess
    expect(cesq).toEqual({ rsrpDbm: -104, rsrqDb: -12.5 });
    // RSSI = RSRP − RSRQ + 10·log10(6) for 6 PRBs: -104 + 12.5 + 7.8 ≈ -83.7 dBm → index 14 → -85 dBm.
    expect(csq).toEqual({ rssiDbm: -85 });
  });

  it('a seeded signal walk is the same on every run and stays within 6 dB of the mean', async () => {
    // Prepare
    const walk = async () => {
      const { clock, send } = setup({ signalWalk: { seed: 42, stepDb: 2 } });
      await clock.advance(5_000);
      await send('ATE0');
      const values: number[] = [];
      for (let i = 0; i < 50; i++)
        values.push(parseCesq((await send('AT+CESQ')).split('\r\n')[1] ?? '')?.rsrpDbm ?? 0);
      return values;
    };

    // Act
    const first = await walk();
    const second = await walk();

    // Assess
    expect(first).toEqual(second);
    expect(new Set(first).size).toBeGreaterThan(3);
    expect(first.every((v) => v >= -104 && v <= -91)).toBe(true);
  });

  it('keeps only the latest command lines when told to (a device that runs for days)', async () => {
    // Prepare
    const { clock, send, emulator } = setup({ transcriptLines: 2 });
    await clock.advance(5_000);

    // Act
    for (const line of ['ATE0', 'AT+CSQ', 'AT+CESQ', 'AT+CEREG?']) await send(line);

    // Assess
    expect(emulator.received).toEqual(['AT+CESQ', 'AT+CEREG?']);
  });

  it('moves the walk to a new mean when the signal is set (a device driven into a weak cell)', async () => {
    // Prepare
    const { clock, send, emulator } = setup({ signalWalk: { seed: 7, stepDb: 2 } });
    await clock.advance(5_000);
    await send('ATE0');

    // Act
    emulator.setSignal({ rsrpDbm: -125, rsrqDb: -18 });
    const values: number[] = [];
    for (let i = 0; i < 50; i++)
      values.push(parseCesq((await send('AT+CESQ')).split('\r\n')[1] ?? '')?.rsrpDbm ?? 0);

    // Assess: around -125 dBm, never back near the old mean of -97
    expect(values.every((v) => v >= -131 && v <= -119)).toBe(true);
  });
});
