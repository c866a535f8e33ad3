import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { MIN_SAMPLE_INTERVAL_SECONDS } from '../../../lib/protocol/coap.ts';
import {
  BUILT_IN_COMMANDS,
  type CommandCatalog,
  checkCommand,
  commandsOf,
  DEFAULT_COMMAND_CATALOG,
} from '../../../lib/protocol/command-catalog.ts';

/** A catalog where trackers have one command of their own and run `ping` differently. */
const CATALOG: CommandCatalog = {
  common: BUILT_IN_COMMANDS,
  byType: {
    tracker: {
      locate: {
        description: 'Fix a position',
        parameters: z.strictObject({ accuracyM: z.number().int().min(1).max(1000) }),
        longRunning: true,
        timeoutSeconds: 300,
      },
      ping: { ...BUILT_IN_COMMANDS.ping, parameters: z.strictObject({ echo: z.string().max(16) }) },
    },
  },
};

describe('checkCommand, one row per rule', () => {
  it.each<[string, string, string, unknown, Record<string, unknown>]>([
    ['a built-in without parameters', 'env-sensor', 'ping', {}, {}],
    ['absent parameters count as none', 'env-sensor', 'diagnostics', undefined, {}],
    [
      'set-interval with both parameters',
      'tracker',
      'set-interval',
      { seconds: 60, for: 600 },
      { seconds: 60, for: 600 },
    ],
    [
      'set-interval at its limits',
      'tracker',
      'set-interval',
      { seconds: 86_400, for: 604_800 },
      { seconds: 86_400, for: 604_800 },
    ],
    ['rotate-certificate with no reason', 'env-sensor', 'rotate-certificate', {}, {}],
    [
      'rotate-certificate with a reason',
      'tracker',
      'rotate-certificate',
      { reason: 'CA change' },
      { reason: 'CA change' },
    ],
    ["a type's own command for that type", 'tracker', 'locate', { accuracyM: 10 }, { accuracyM: 10 }],
    ["a type's replacement of a common command", 'tracker', 'ping', { echo: 'hi' }, { echo: 'hi' }],
  ])('accepts %s', (_rule, deviceType, name, parameters, expected) => {
    // Act
    const check = checkCommand(CATALOG, deviceType, name, parameters);

    // Assess
    expect(check).toMatchObject({ ok: true, parameters: expected });
  });

  it.each<[string, string, string, unknown, Array<[string, RegExp]>]>([
    ['an unknown name', 'tracker', 'self-destruct', {}, [['name', /not a command of device type tracker/]]],
    ["another type's own command", 'env-sensor', 'locate', { accuracyM: 10 }, [['name', /env-sensor/]]],
    [
      'a parameter the command does not take',
      'tracker',
      'reboot',
      { force: true },
      [['parameters.force', /not a parameter of reboot/]],
    ],
    [
      'a misspelt parameter, named',
      'tracker',
      'set-interval',
      { secs: 5, for: 60 },
      [
        ['parameters.seconds', /expected number/],
        ['parameters.secs', /not a parameter/],
      ],
    ],
    [
      'a missing parameter',
      'tracker',
      'set-interval',
      { seconds: 60 },
      [['parameters.for', /expected number/]],
    ],
    [
      'a fractional interval',
      'tracker',
      'set-interval',
      { seconds: 1.5, for: 60 },
      [['parameters.seconds', /whole number/]],
    ],
    [
      'an interval of 0',
      'tracker',
      'set-interval',
      { seconds: 0, for: 60 },
      [['parameters.seconds', new RegExp(`>= ${MIN_SAMPLE_INTERVAL_SECONDS}$`)]],
    ],
    [
      'an override longer than a week',
      'tracker',
      'set-interval',
      { seconds: 60, for: 604_801 },
      [['parameters.for', /a week/]],
    ],
    ['parameters that are not an object', 'tracker', 'ping', [1], [['parameters', /expected object/]]],
    [
      'a rotation reason longer than 200 characters',
      'tracker',
      'rotate-certificate',
      { reason: 'x'.repeat(201) },
      [['parameters.reason', /at most 200/]],
    ],
    [
      "the common ping's schema where the type replaced it",
      'tracker',
      'ping',
      { echo: 42 },
      [['parameters.echo', /expected string/]],
    ],
  ])('refuses %s, naming the field', (_rule, deviceType, name, parameters, expected) => {
    // Act
    const check = checkCommand(CATALOG, deviceType, name, parameters);

    // Assess
    if (check.ok) throw new Error(`expected a refusal, got ${JSON.stringify(check)}`);
    expect(check.issues.map((i) => i.field)).toEqual(expected.map(([field]) => field));
    expected.forEach(([, reason], i) => {
      expect(check.issues[i]?.reason).toMatch(reason);
    });
  });
});

describe('the default catalog', () => {
  it('gives every device type the six built-in commands, long-running ones marked', () => {
    // Act
    const commands = commandsOf(DEFAULT_COMMAND_CATALOG, 'any-type');

    // Assess
    expect(
      Object.entries(commands)
        .map(([name, d]) => `${name}${d.longRunning ? ' (long)' : ''}`)
        .sort(),
    ).toEqual([
      'diagnostics (long)',
      'ping',
      'reboot (long)',
      'rotate-certificate (long)',
      'sample-now',
      'set-interval',
    ]);
  });

  it('does not take inherited object keys for commands', () => {
    expect(checkCommand(DEFAULT_COMMAND_CATALOG, 'tracker', 'constructor', {}).ok).toBe(false);
    expect(checkCommand(DEFAULT_COMMAND_CATALOG, 'constructor', 'ping', {}).ok).toBe(true);
  });
});
