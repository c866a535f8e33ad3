import { describe, expect, it } from 'vitest';
import {
  AtTimeoutError,
  ModemStoppedError,
  PortClosedError,
  RegistrationError,
  SimError,
} from '../../../../edge/src/modem/errors.ts';
import { type ModemStatus, modemStatus } from '../../../../lib/protocol/modem.ts';
import { closePort, rejection, rig } from './support.ts';

/** The driver against the emulator on a `@serialport/binding-mock` port, on a virtual clock. */

const BRING_UP = [
  'AT',
  'ATE0',
  'AT+CMEE=2',
  'AT+CPIN?',
  'AT+CEREG=4',
  'AT+CGDCONT=1,"IP","iot.fleetkit"',
  'AT+COPS=0',
  'AT+CEREG?',
  'AT+CGACT=1,1',
  'AT+COPS=3,0',
  'AT+COPS?',
  'AT+CESQ',
  'AT+CSQ',
];

function delaysOf(events: { event: string; fields?: Readonly<Record<string, unknown>> }[]) {
  return events
    .filter((e) => e.event === 'recovery-attempt')
    .map((e) => [e.fields?.action, e.fields?.delayMs]);
}

describe('modem driver: bring-up', () => {
  it('brings an LTE-M modem up: registered, operator, RSRP / RSRQ in dBm / dB, bars', async () => {
    // Prepare
    const r = await rig({ signal: { rsrpDbm: -97, rsrqDb: -11 } });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    expect(r.emulator.received).toEqual(BRING_UP);
    expect(status).toMatchObject({
      state: 'registered',
      registration: 'registered-home',
      rat: 'LTE-M',
      operator: 'fleetkit Mobile',
      tac: '2F1A',
      cellId: '01A2D003',
      rsrp: -97,
      rsrq: -11,
      bars: 3,
      counters: { garbage: 0, stray: 0, timeouts: 0, recoveries: 0 },
    });
    expect(modemStatus.parse(status)).toEqual(status);
    expect(r.states).toEqual(['starting', 'searching', 'registered']);
    expect(r.emulator.snapshot().echo).toBe(false);
    expect(r.emulator.snapshot().active.has(1)).toBe(true);
    await r.close();
  });

  it('reports NB-IoT and roaming from +CEREG', async () => {
    // Prepare
    const r = await rig({ rat: 'NB-IoT', roaming: true, signal: { rsrpDbm: -121, rsrqDb: -15 } });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    expect(status).toMatchObject({ rat: 'NB-IoT', registration: 'registered-roaming', rsrp: -121, bars: 1 });
    await r.close();
  });

  it('no SIM: start rejects with SimError not-inserted, the status is failed, nothing more is tried', async () => {
    // Prepare
    const r = await rig({ faults: { sim: 'absent' } });

    // Act
    const error = await r.clock.run(rejection(r.driver.start()));
    await r.clock.advance(600_000);

    // Assess
    expect(error).toBeInstanceOf(SimError);
    expect(error).toMatchObject({ state: 'not-inserted' });
    expect(r.driver.status).toMatchObject({
      state: 'failed',
      lastError: { name: 'SimError', message: 'SIM not-inserted: SIM not inserted' },
    });
    expect(r.emulator.received).toEqual(['AT', 'ATE0', 'AT+CMEE=2', 'AT+CPIN?']);
    await r.close();
  });

  it('SIM PIN: entered when one is configured', async () => {
    // Prepare
    const r = await rig({ faults: { sim: 'pin-required' }, pin: '2468' }, { pin: '2468' });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    expect(status.state).toBe('registered');
    expect(r.emulator.received.slice(3, 6)).toEqual(['AT+CPIN?', 'AT+CPIN="2468"', 'AT+CPIN?']);
    await r.close();
  });

  it.each([
    ['pin-required', undefined, 'pin-required'],
    ['pin-required', '0000', 'pin-required'],
    ['puk-required', '2468', 'puk-required'],
  ] as const)('SIM %s with PIN %s: SimError %s', async (sim, pin, state) => {
    // Prepare
    const r = await rig({ faults: { sim }, pin: '2468' }, pin ? { pin } : {});

    // Act
    const error = await r.clock.run(rejection(r.driver.start()));

    // Assess
    expect(error).toBeInstanceOf(SimError);
    expect(error).toMatchObject({ state });
    expect(r.driver.status.state).toBe('failed');
    await r.close();
  });

  it('PSM at bring-up: timers rounded up to their encodings, the network grant reported from +CEREG', async () => {
    // Prepare
    const r = await rig({}, { psm: { enabled: true, periodicTauSeconds: 3_601, activeTimeSeconds: 61 } });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    expect(r.emulator.received).toContain('AT+CPSMS=1,,,"00000111","00011111"');
    expect(status.psm).toEqual({
      enabled: true,
      requested: { periodicTauSeconds: 4_200, activeTimeSeconds: 62 },
      assigned: { periodicTauSeconds: 4_200, activeTimeSeconds: 62 },
    });
    await r.close();
  });

  it('eDRX at bring-up: the cycle rounded up for the access technology, +CEDRXP reported', async () => {
    // Prepare
    const r = await rig({}, { edrx: { enabled: true, act: 4, cycleSeconds: 60 } });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    expect(r.emulator.received).toContain('AT+CEDRXS=2,4,"0100"');
    expect(status.edrx).toEqual({
      enabled: true,
      requestedCycleSeconds: 61.44,
      networkCycleSeconds: 61.44,
      pagingWindowSeconds: 5.12,
    });
    await r.close();
  });

  it('PSM changed at run time (a shadow delta) is sent and reported', async () => {
    // Prepare
    const r = await rig();
    await r.clock.run(r.driver.start());

    // Act
    const status = await r.clock.run(r.driver.configurePsm({ enabled: true, periodicTauSeconds: 86_400 }));

    // Assess
    expect(r.emulator.received.at(-1)).toBe('AT+CPSMS=1,,,"00111000"');
    expect(status.psm?.requested).toEqual({ periodicTauSeconds: 86_400 });
    expect(r.emulator.snapshot().psm).toMatchObject({ mode: 1, tau: '00111000' });
    await r.close();
  });
});

describe('modem driver: faults and recovery', () => {
  it('no network: re-registers, then resets with growing backoff, and registers once the network is back', async () => {
    // Prepare
    const r = await rig({ faults: { network: 'none' } }, { timeouts: { registration: 30_000 } });
    const started = r.driver.start();

    // Act
    await r.clock.advance(200_000);
    const whileDown = r.driver.status;
    r.emulator.setFaults({ network: 'available' });
    const status = await r.clock.run(started);

    // Assess
    expect(whileDown).toMatchObject({ state: 'recovering', lastError: { name: 'RegistrationError' } });
    expect(delaysOf(r.events).slice(0, 4)).toEqual([
      ['re-register', 0],
      ['reset', 4_500],
      ['reset', 9_000],
      ['reset', 18_000],
    ]);
    expect(r.emulator.received).toContain('AT+COPS=2');
    expect(r.emulator.received).toContain('AT+CFUN=1,1');
    expect(status).toMatchObject({
      state: 'registered',
      recovery: { attempt: 0 },
      counters: { recoveries: 1 },
    });
    await r.close();
  });

  it('backoff stops growing at its cap', async () => {
    // Prepare
    const r = await rig(
      { faults: { network: 'none' } },
      { timeouts: { registration: 10_000 }, recovery: { baseMs: 5_000, maxMs: 20_000 } },
    );
    void r.driver.start().catch(() => {});

    // Act
    await r.clock.advance(400_000);

    // Assess
    expect(delaysOf(r.events).slice(0, 7)).toEqual([
      ['re-register', 0],
      ['reset', 4_500],
      ['reset', 9_000],
      ['reset', 18_000],
      ['reset', 18_000],
      ['reset', 18_000],
      ['reset', 18_000],
    ]);
    expect(r.driver.status.recovery?.nextAttemptAt).toBeGreaterThan(r.clock.now() - 60_000);
    await r.close();
  });

  it('registration denied: a RegistrationError is recorded and recovery runs', async () => {
    // Prepare
    const r = await rig({ faults: { network: 'denied' } });
    const started = r.driver.start();

    // Act
    await r.clock.advance(60_000);
    const whileDenied = r.driver.status;
    r.emulator.setFaults({ network: 'available' });
    await r.clock.run(started);

    // Assess
    expect(whileDenied).toMatchObject({
      state: 'recovering',
      registration: 'denied',
      lastError: {
        name: 'RegistrationError',
        message: 'not registered (denied): the network refused registration',
      },
    });
    expect(r.driver.status.state).toBe('registered');
    await r.close();
  });

  it('registration lost briefly (+CEREG: 2, back within the grace period): searching, then registered, no recovery', async () => {
    // Prepare
    const r = await rig({}, { recovery: { lostRegistrationGraceMs: 60_000 } });
    await r.clock.run(r.driver.start());

    // Act
    r.emulator.loseRegistration({ afterMs: 20_000 });
    await r.clock.settle();
    const lost = r.driver.status;
    await r.clock.advance(120_000);

    // Assess
    expect(lost).toMatchObject({ state: 'searching', registration: 'searching', bars: 0 });
    expect(lost.rsrp).toBeUndefined();
    expect(r.driver.status).toMatchObject({ state: 'registered', registration: 'registered-home' });
    expect(r.states.slice(-3)).toEqual(['registered', 'searching', 'registered']);
    expect(r.emulator.received).not.toContain('AT+COPS=2');
    await r.close();
  });

  it('registration lost for good: after the grace period it re-registers (AT+COPS=2, then bring-up)', async () => {
    // Prepare
    const r = await rig({}, { recovery: { lostRegistrationGraceMs: 60_000 } });
    await r.clock.run(r.driver.start());
    const statuses: ModemStatus[] = [];
    r.driver.onStatus((s) => statuses.push(s));

    // Act
    r.emulator.loseRegistration({ until: 're-register' }, 0);
    await r.clock.advance(120_000);

    // Assess
    expect(r.states.slice(-4)).toEqual(['registered', 'searching', 'recovering', 'registered']);
    expect(r.emulator.received.slice(BRING_UP.length)).toEqual(['AT+COPS=2', ...BRING_UP]);
    expect(r.driver.status.counters?.recoveries).toBe(1);
    expect(statuses.every((s) => modemStatus.safeParse(s).success)).toBe(true);
    await r.close();
  });

  it('registration back only after a reset: re-register fails, AT+CFUN=1,1 recovers, echo is turned off again', async () => {
    // Prepare
    const r = await rig(
      {},
      { recovery: { lostRegistrationGraceMs: 10_000 }, timeouts: { registration: 30_000 } },
    );
    await r.clock.run(r.driver.start());

    // Act
    r.emulator.loseRegistration({ until: 'reset' });
    await r.clock.advance(300_000);

    // Assess
    const after = r.emulator.received.slice(BRING_UP.length);
    expect(after.indexOf('AT+COPS=2')).toBeLessThan(after.indexOf('AT+CFUN=1,1'));
    expect(after.slice(after.indexOf('AT+CFUN=1,1') + 1)).toEqual(BRING_UP);
    expect(delaysOf(r.events)).toEqual([
      ['re-register', 0],
      ['reset', 4_500],
    ]);
    expect(r.driver.status).toMatchObject({ state: 'registered', counters: { recoveries: 1 } });
    expect(r.emulator.snapshot().echo).toBe(false);
    await r.close();
  });

  it('slow replies within the command timeout: bring-up completes', async () => {
    // Prepare
    const r = await rig({ faults: { replyDelayMs: 4_000 } });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    expect(status.state).toBe('registered');
    expect(status.counters?.timeouts).toBe(0);
    await r.close();
  });

  it('a reply slower than its timeout: AtTimeoutError, and its late answer is not taken for the next command', async () => {
    // Prepare
    const r = await rig();
    await r.clock.run(r.driver.start());
    r.emulator.setFaults({ slowCommands: { 'AT+CESQ': 6_000 } });

    // Act
    const error = await r.clock.run(rejection(r.driver.refreshSignal()));
    const next = await r.clock.run(r.driver.send('AT+CGMI', { raw: true }));

    // Assess
    expect(error).toBeInstanceOf(AtTimeoutError);
    expect(error).toMatchObject({ command: 'AT+CESQ', timeoutMs: 5_000 });
    expect(next).toEqual({ command: 'AT+CGMI', lines: ['fleetkit'] });
    expect(r.driver.status.counters).toMatchObject({ timeouts: 1, stray: 2 });
    expect(r.driver.status.state).toBe('registered');
    await r.close();
  });

  it('modem stops answering: polling notices, recovery power-cycles it through the reset line', async () => {
    // Prepare
    let powerResets = 0;
    const r = await rig(
      {},
      {
        pollEveryMs: 60_000,
        power: {
          reset: async () => {
            powerResets++;
            await r.emulator.powerCycle();
          },
        },
      },
    );
    await r.clock.run(r.driver.start());

    // Act
    r.emulator.setFaults({ unresponsive: true });
    await r.clock.advance(600_000);

    // Assess
    expect(powerResets).toBe(1);
    expect(r.events.find((e) => e.event === 'recovery-started')?.fields).toEqual({
      reason: 'modem not answering',
    });
    expect(r.driver.status).toMatchObject({
      state: 'registered',
      lastError: { name: 'AtTimeoutError' },
      counters: { recoveries: 1 },
    });
    await r.close();
  });

  it('modem stops answering and there is no reset line: recovery keeps trying, backing off, and never crashes', async () => {
    // Prepare
    const r = await rig({}, { pollEveryMs: 60_000, recovery: { maxMs: 60_000 } });
    await r.clock.run(r.driver.start());

    // Act
    r.emulator.setFaults({ unresponsive: true });
    await r.clock.advance(3_600_000);

    // Assess
    expect(r.driver.status.state).toBe('recovering');
    expect(r.driver.status.recovery?.attempt).toBeGreaterThan(10);
    expect(Math.max(...delaysOf(r.events).map(([, d]) => d as number))).toBe(54_000);
    await r.close();
  });

  it('an unexpected reboot (RDY while registered) brings the modem up again', async () => {
    // Prepare
    const r = await rig();
    await r.clock.run(r.driver.start());

    // Act
    await r.emulator.powerCycle();
    await r.clock.advance(60_000);

    // Assess
    expect(r.events.find((e) => e.event === 'recovery-started')?.fields).toEqual({
      reason: 'modem rebooted',
    });
    expect(r.driver.status.state).toBe('registered');
    expect(r.emulator.snapshot()).toMatchObject({ echo: false, cmee: 2, ceregN: 4 });
    await r.close();
  });
});

describe('modem driver: bad input', () => {
  it('noise before every reply: each burst dropped and counted with its reason, bring-up unaffected', async () => {
    // Prepare
    const r = await rig({ faults: { noiseBeforeReplies: true } });

    // Act
    const status = await r.clock.run(r.driver.start());

    // Assess
    const dropped = r.events.filter((e) => e.event === 'input-dropped');
    expect(status.state).toBe('registered');
    expect(status.counters?.garbage).toBe(BRING_UP.length);
    expect(dropped).toHaveLength(BRING_UP.length);
    expect(dropped[0]?.fields).toEqual({ reason: 'non-printable', input: '\\x00\\xff\\xfe\\x1b[\\x9c' });
    await r.close();
  });

  it('garbage from the port mid-run is rejected with a reason while the driver keeps running', async () => {
    // Prepare
    const r = await rig();
    await r.clock.run(r.driver.start());

    // Act
    r.emulator.injectGarbage('\xff\xfe\x00garbage\r\n');
    r.emulator.injectGarbage(`${'X'.repeat(2_000)}\r\n`);
    r.emulator.injectGarbage('\r\n+WHAT: 1\r\n');
    await r.clock.settle();
    const status = await r.clock.run(r.driver.refreshSignal());

    // Assess
    expect(r.events.filter((e) => e.event === 'input-dropped').map((e) => e.fields?.reason)).toEqual([
      'non-printable',
      'line-too-long',
      'unexpected-line',
    ]);
    expect(status).toMatchObject({ state: 'registered', rsrp: -97, counters: { garbage: 2, stray: 1 } });
    expect(status.lastError).toBeUndefined();
    await r.close();
  });
});

describe('modem driver: the port and the driver ending', () => {
  it('the port closing fails the pending command and reports failed', async () => {
    // Prepare
    const r = await rig();
    await r.clock.run(r.driver.start());
    r.emulator.setFaults({ slowCommands: { 'AT+CESQ': 3_000 } });
    const pending = rejection(r.driver.refreshSignal());
    await r.clock.settle();

    // Act
    await closePort(r.port);
    const error = await pending;

    // Assess
    expect(error).toBeInstanceOf(PortClosedError);
    expect(r.driver.status).toMatchObject({ state: 'failed', lastError: { name: 'PortClosedError' } });
    await r.close();
  });

  it('stop() while start is still waiting for the network: start rejects, no timer is left', async () => {
    // Prepare
    const r = await rig({ faults: { network: 'none' } });
    const started = rejection(r.driver.start());
    await r.clock.advance(100_000);

    // Act
    await r.driver.stop();
    r.emulator.close();
    const error = await started;
    await r.clock.settle();

    // Assess
    expect(error).toBeInstanceOf(ModemStoppedError);
    expect(r.driver.status.state).toBe('off');
    expect(r.clock.pendingTimers).toBe(0);
    await r.close();
  });

  it('a bring-up error that recovery fixes is not thrown by start', async () => {
    // Prepare
    const r = await rig({ faults: { network: 'denied' } }, { timeouts: { registration: 20_000 } });
    const started = r.driver.start();
    await r.clock.advance(30_000);

    // Act
    r.emulator.setFaults({ network: 'available' });
    const status = await r.clock.run(started);

    // Assess
    expect(status.state).toBe('registered');
    expect(r.driver.status.lastError?.name).toBe(RegistrationError.name);
    await r.close();
  });
});
