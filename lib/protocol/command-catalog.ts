import * as z from 'zod';
import { MAX_SAMPLE_INTERVAL_SECONDS, MIN_SAMPLE_INTERVAL_SECONDS } from './coap.ts';
import type { FieldIssue } from './errors.ts';
import { toFieldIssues } from './parse.ts';

/**
 * The commands a device type understands, each with the schema of its parameters: defined once, read
 * by the cloud (a request whose name is unknown for the device's type, or whose parameters fail the
 * schema, is refused with 400 and nothing is sent) and by the edge agent (which checks again, and
 * answers REJECTED with the field at fault, before it acts).
 *
 * Parameter objects are strict: a parameter the command does not know is refused by name rather than
 * ignored, so an operator learns at once that `set-interval {"secs": 5}` would have done nothing.
 */

/** One command: what it does, its parameters, how long the device may take. */
export interface CommandDefinition {
  readonly description: string;
  readonly parameters: z.ZodType<Record<string, unknown>>;
  /** The device answers IN_PROGRESS first, then the outcome. */
  readonly longRunning: boolean;
  /** How long after it was sent the service waits for the outcome before TIMED_OUT. */
  readonly timeoutSeconds: number;
}

/** Longest a `set-interval` override may last: a week; the shadow's setting applies again after it. */
export const MAX_INTERVAL_OVERRIDE_SECONDS = 7 * 86_400;

const none = z.strictObject({});

/** The commands every fleetkit device runs (the edge agent implements each). */
export const BUILT_IN_COMMANDS = {
  'sample-now': {
    description: 'Sample the sensors now and send the reading at once, outside the batch',
    parameters: none,
    longRunning: false,
    timeoutSeconds: 60,
  },
  reboot: {
    description: 'Restart the device through its clean shutdown (as an OTA reboot does)',
    parameters: none,
    longRunning: true,
    timeoutSeconds: 600,
  },
  'set-interval': {
    description: 'Sample every `seconds` for `for` seconds, then go back to the shadow setting',
    parameters: z.strictObject({
      seconds: z
        .number()
        .int('must be a whole number of seconds')
        .min(MIN_SAMPLE_INTERVAL_SECONDS, `must be >= ${MIN_SAMPLE_INTERVAL_SECONDS}`)
        .max(MAX_SAMPLE_INTERVAL_SECONDS, `must be <= ${MAX_SAMPLE_INTERVAL_SECONDS}`),
      for: z
        .number()
        .int('must be a whole number of seconds')
        .min(1, 'must be >= 1')
        .max(MAX_INTERVAL_OVERRIDE_SECONDS, `must be <= ${MAX_INTERVAL_OVERRIDE_SECONDS} (a week)`),
    }),
    longRunning: false,
    timeoutSeconds: 60,
  },
  diagnostics: {
    description:
      'Report modem registration and signal, uplink queue depth, disk free, firmware and model versions, uptime',
    parameters: none,
    longRunning: true,
    timeoutSeconds: 120,
  },
  ping: {
    description: 'Answer at once: is the device there, and how late is its clock',
    parameters: none,
    longRunning: false,
    timeoutSeconds: 60,
  },
  'rotate-certificate': {
    description:
      'Rotate the device certificate now (new key, CSR, certificate, reconnect, confirm); SUCCEEDED once the new certificate is confirmed and the old one retired',
    parameters: z.strictObject({
      /** Why the operator asks (kept with the execution and in the device's log). */
      reason: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    }),
    longRunning: true,
    // Three requests of up to 30 s each and up to 60 s for the new certificate to connect (the
    // rotator's defaults), with room for a slow cellular link.
    timeoutSeconds: 600,
  },
} as const satisfies Readonly<Record<string, CommandDefinition>>;
export type BuiltInCommandName = keyof typeof BUILT_IN_COMMANDS;

/**
 * Commands by device type: `common` for every type, and each type's own, which may add commands or
 * replace a common one. A type not listed has the common ones.
 */
export interface CommandCatalog {
  readonly common: Readonly<Record<string, CommandDefinition>>;
  readonly byType: Readonly<Record<string, Readonly<Record<string, CommandDefinition>>>>;
}

/** fleetkit's catalog: the built-in commands, for every device type. */
export const DEFAULT_COMMAND_CATALOG: CommandCatalog = { common: BUILT_IN_COMMANDS, byType: {} };

/** The commands `deviceType` understands, by name. */
export function commandsOf(catalog: CommandCatalog, deviceType: string): Record<string, CommandDefinition> {
  return {
    ...catalog.common,
    ...(Object.hasOwn(catalog.byType, deviceType) ? catalog.byType[deviceType] : {}),
  };
}

/** A request checked against the catalog: the definition and the parsed parameters, or every issue. */
export type CommandCheck =
  | {
      readonly ok: true;
      readonly definition: CommandDefinition;
      readonly parameters: Record<string, unknown>;
    }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * Checks a command for a device type: the name must be in the type's catalog, the parameters must
 * pass its schema. Issues name the field as the request spells it (`name`, `parameters.seconds`).
 */
export function checkCommand(
  catalog: CommandCatalog,
  deviceType: string,
  name: string,
  parameters: unknown,
): CommandCheck {
  const commands = commandsOf(catalog, deviceType);
  const definition = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (definition === undefined) {
    const known = Object.keys(commands).sort().join(', ');
    return {
      ok: false,
      issues: [
        { field: 'name', reason: `'${name}' is not a command of device type ${deviceType} (${known})` },
      ],
    };
  }
  const parsed = definition.parameters.safeParse(parameters ?? {});
  if (parsed.success) return { ok: true, definition, parameters: parsed.data };
  const issues: FieldIssue[] = [];
  for (const issue of parsed.error.issues) {
    // An unknown parameter is named as its own field, so the 400 points at the typo.
    if (issue.code === 'unrecognized_keys') {
      const at = issue.path.map(String);
      for (const key of issue.keys)
        issues.push({ field: ['parameters', ...at, key].join('.'), reason: `is not a parameter of ${name}` });
      continue;
    }
    for (const { field, reason } of toFieldIssues([issue]))
      issues.push({ field: field === '(root)' ? 'parameters' : `parameters.${field}`, reason });
  }
  return { ok: false, issues };
}
