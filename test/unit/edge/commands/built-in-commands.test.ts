import { describe, expect, it } from 'vitest';
import { BuiltInCommands, type CommandHost } from '../../../../edge/src/commands/built-in-commands.ts';
import { BUILT_IN_COMMANDS } from '../../../../lib/protocol/command-catalog.ts';
import { settle } from '../shadow/support.ts';
import { ManualClock } from '../uplink/support.ts';
import { request } from './support.ts';

/** A host that records what the commands asked of it; one configured second is 10 clock ms. */
function fakeHost(options: { restart?: boolean } = {}) {
  const clock = new ManualClock();
  const calls: string[] = [];
  const host: CommandHost = {
    clock,
    msPerSecond: 10,
    sampleNow: async () => {
      calls.push('sample');
      return { ts: clock.now(), seq: 7, values: { temperature: 21.5 } };
    },
    overrideSamplingInterval: (seconds) => calls.push(`override ${seconds}`),
    endSamplingOverride: () => calls.push('end override'),
    diagnostics: async () => ({ uptimeSeconds: 3 }),
    ...(options.restart === false ? {} : { restart: () => calls.push('restart') }),
  };
  return { clock, calls, host };
}

describe('BuiltInCommands', () => {
  it('implements every built-in command of the catalog', () => {
    expect(Object.keys(new BuiltInCommands(fakeHost().host).handlers).sort()).toEqual(
      Object.keys(BUILT_IN_COMMANDS).sort(),
    );
  });

  it('set-interval samples at the new interval for `for` seconds, then goes back to the settings', async () => {
    // Arrange
    const { clock, calls, host } = fakeHost();
    const builtIns = new BuiltInCommands(host);

    // Act
    const outcome = await builtIns.handlers['set-interval']({ seconds: 5, for: 60 }, request(clock.now()));
    clock.advance(599);
    await settle();
    const before = [...calls];
    clock.advance(1);
    await settle();

    // Assess
    expect(outcome).toEqual({
      status: 'SUCCEEDED',
      result: { samplingIntervalS: 5, forSeconds: 60, revertsAt: clock.now() },
    });
    expect(before).toEqual(['override 5']);
    expect(calls).toEqual(['override 5', 'end override']);
  });

  it('a newer set-interval replaces the older one, whose end no longer applies', async () => {
    // Arrange
    const { clock, calls, host } = fakeHost();
    const builtIns = new BuiltInCommands(host);

    // Act
    await builtIns.handlers['set-interval']({ seconds: 5, for: 10 }, request(clock.now()));
    await builtIns.handlers['set-interval']({ seconds: 2, for: 30 }, request(clock.now()));
    clock.advance(100);
    await settle();
    const afterFirstEnd = [...calls];
    clock.advance(200);
    await settle();

    // Assess
    expect(afterFirstEnd).toEqual(['override 5', 'override 2']);
    expect(calls).toEqual(['override 5', 'override 2', 'end override']);
  });

  it('stop ends a pending override wait without going back (the next start applies the settings)', async () => {
    // Arrange
    const { clock, calls, host } = fakeHost();
    const builtIns = new BuiltInCommands(host);
    await builtIns.handlers['set-interval']({ seconds: 5, for: 10 }, request(clock.now()));

    // Act
    builtIns.stop();
    await settle();

    // Assess
    expect(clock.pending).toBe(0);
    expect(calls).toEqual(['override 5']);
  });

  it('reboot restarts through the host and leaves the answer to the next run; without a restart it fails', async () => {
    // Arrange
    const withRestart = fakeHost();
    const without = fakeHost({ restart: false });

    // Act
    const restarting = await new BuiltInCommands(withRestart.host).handlers.reboot({}, request(0));
    const refused = await new BuiltInCommands(without.host).handlers.reboot({}, request(0));

    // Assess
    expect(restarting).toEqual({ status: 'RESTARTING' });
    expect(withRestart.calls).toEqual(['restart']);
    expect(refused).toMatchObject({ status: 'FAILED', reason: expect.stringContaining('restart') });
  });

  it('sample-now returns the reading it sent; ping the device time and how late it heard the command', async () => {
    // Arrange
    const { clock, calls, host } = fakeHost();
    const builtIns = new BuiltInCommands(host);

    // Act
    const sample = await builtIns.handlers['sample-now']({}, request(clock.now()));
    const ping = await builtIns.handlers.ping({}, request(clock.now(), { issuedAt: clock.now() - 2_500 }));

    // Assess
    expect(calls).toEqual(['sample']);
    expect(sample).toEqual({
      status: 'SUCCEEDED',
      result: { reading: { ts: clock.now(), seq: 7, values: { temperature: 21.5 } } },
    });
    expect(ping).toEqual({
      status: 'SUCCEEDED',
      result: { pong: true, deviceTime: clock.now(), sinceIssuedMs: 2_500 },
    });
  });
});
