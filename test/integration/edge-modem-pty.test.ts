import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { ModemEmulator } from '../../edge/src/modem/emulator.ts';
import { openPtyPair, type PtyPair } from '../../edge/src/modem/emulator-pty.ts';
import { attachEmulator } from '../../edge/src/modem/emulator-transports.ts';
import { ModemDriver } from '../../edge/src/modem/modem-driver.ts';
import { modemStatus } from '../../lib/protocol/modem.ts';
import { skipWithout } from '../support/tools.ts';

/**
 * The driver on the real `SerialPort` (bindings-cpp, termios) talking through a kernel pty pair made by
 * socat to the emulator, which sits on the other end, also opened with `SerialPort`. Real clock, short
 * emulator delays; no assertion on time.
 */

function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115_200 }, (error) =>
      error ? reject(error) : resolve(port),
    );
  });
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) resolve();
    else port.close(() => resolve());
  });
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rigPty(emulator: ModemEmulator) {
  const pair: PtyPair = await openPtyPair();
  cleanups.push(() => pair.close());
  const modemSide = await openPort(pair.modemPath);
  cleanups.push(() => closePort(modemSide));
  cleanups.push(attachEmulator(emulator, modemSide));
  cleanups.push(() => emulator.close());
  const hostSide = await openPort(pair.hostPath);
  cleanups.push(() => closePort(hostSide));
  const events: string[] = [];
  const driver = new ModemDriver({
    link: hostSide,
    apn: 'iot.fleetkit',
    pollEveryMs: 0,
    timeouts: { registration: 10_000 },
    recovery: { lostRegistrationGraceMs: 200, baseMs: 50, maxMs: 200 },
    log: (event, fields) => events.push(`${event} ${JSON.stringify(fields ?? {})}`),
  });
  cleanups.push(() => driver.stop());
  return { pair, driver, events, hostSide };
}

describe.skipIf(skipWithout('socat'))('modem driver over a real pty pair (needs socat)', () => {
  it('brings the emulated modem up through the kernel tty layer', async () => {
    // Prepare
    const emulator = new ModemEmulator({ registrationDelayMs: 50, bootDelayMs: 50 });
    const { driver, pair } = await rigPty(emulator);

    // Act
    const status = await driver.start();

    // Assess
    expect(pair.modemPath).toMatch(/^\/dev\/pts\/\d+$/);
    expect(pair.hostPath).toMatch(/^\/dev\/pts\/\d+$/);
    expect(status).toMatchObject({
      state: 'registered',
      rat: 'LTE-M',
      operator: 'fleetkit Mobile',
      rsrp: -97,
    });
    expect(modemStatus.safeParse(status).success).toBe(true);
    expect(emulator.received.slice(0, 3)).toEqual(['AT', 'ATE0', 'AT+CMEE=2']);
  });

  it('garbage on the line is dropped with a reason; a lost registration is recovered', async () => {
    // Prepare
    const emulator = new ModemEmulator({ registrationDelayMs: 50, bootDelayMs: 50 });
    const { driver, events } = await rigPty(emulator);
    await driver.start();
    const recovered = new Promise<void>((resolve) => {
      driver.onStatus((s) => {
        if (s.state === 'registered' && (s.counters?.recoveries ?? 0) > 0) resolve();
      });
    });

    // Act
    emulator.injectGarbage();
    emulator.loseRegistration({ until: 're-register' }, 0);
    await recovered;
    const status = await driver.refreshSignal();

    // Assess
    expect(events.some((e) => e.startsWith('input-dropped {"reason":"non-printable"'))).toBe(true);
    expect(status).toMatchObject({ state: 'registered', counters: { garbage: 1, recoveries: 1 } });
    expect(emulator.received).toContain('AT+COPS=2');
  });
});
