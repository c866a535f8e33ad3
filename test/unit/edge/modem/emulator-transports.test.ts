import { describe, expect, it } from 'vitest';
import { ModemEmulator } from '../../../../edge/src/modem/emulator.ts';
import { parsePtyPaths } from '../../../../edge/src/modem/emulator-pty.ts';
import { createEmulatorLink } from '../../../../edge/src/modem/emulator-transports.ts';
import { PortClosedError } from '../../../../edge/src/modem/errors.ts';
import { ModemDriver } from '../../../../edge/src/modem/modem-driver.ts';
import { modemStatus } from '../../../../lib/protocol/modem.ts';
import { rejection } from './support.ts';

describe('emulator in-process (how a simulated device owns its modem)', () => {
  it('the driver brings the emulated modem up over an in-process link, on the real clock', async () => {
    // Prepare
    const emulator = new ModemEmulator({ registrationDelayMs: 20, rat: 'NB-IoT' });
    const link = createEmulatorLink(emulator);
    const driver = new ModemDriver({ link, apn: 'iot.fleetkit', pollEveryMs: 0 });

    // Act
    const status = await driver.start();

    // Assess
    expect(status).toMatchObject({ state: 'registered', rat: 'NB-IoT', rsrp: -97 });
    expect(modemStatus.safeParse(status).success).toBe(true);
    await driver.stop();
    emulator.close();
    link.destroy();
  });

  it('destroying the link fails the pending command with PortClosedError', async () => {
    // Prepare
    const emulator = new ModemEmulator({ faults: { unresponsive: true } });
    const link = createEmulatorLink(emulator);
    const driver = new ModemDriver({ link, apn: 'iot.fleetkit', pollEveryMs: 0 });
    const pending = rejection(driver.send('AT'));

    // Act
    link.destroy();
    const error = await pending;

    // Assess
    expect(error).toBeInstanceOf(PortClosedError);
    expect(driver.status.state).toBe('failed');
    await driver.stop();
    emulator.close();
  });
});

describe("socat's pty report", () => {
  it('finds both pty paths in -d -d output', () => {
    // Prepare
    const stderr = [
      '2024/05/01 10:00:00 socat[4242] N PTY is /dev/pts/3',
      '2024/05/01 10:00:00 socat[4242] N PTY is /dev/pts/4',
      '2024/05/01 10:00:00 socat[4242] N starting data transfer loop with FDs [5,5] and [7,7]',
    ].join('\n');

    // Act
    const paths = parsePtyPaths(stderr);

    // Assess
    expect(paths).toEqual(['/dev/pts/3', '/dev/pts/4']);
  });

  it('has nothing until the second pty is reported', () => {
    // Act
    const paths = parsePtyPaths('2024/05/01 10:00:00 socat[4242] N PTY is /dev/pts/3\n');

    // Assess
    expect(paths).toBeUndefined();
  });
});
