import * as z from 'zod';
import { deviceId, epochMillis } from './messages.ts';
import { DEVICE_RULE_FIELDS, deviceRuleEvent } from './rule-events.ts';

/**
 * Cloud-to-device commands on the wire: the request the platform publishes on the seed's
 * `devices/{type}/{id}/commands` (QoS 1), and the answers the device publishes on its sibling
 * `devices/{type}/{id}/command-answers`, which the device policy lets only that device publish to.
 *
 * The model is AWS IoT Device Management's Commands feature: a command is defined once (the catalog,
 * `command-catalog.ts`), an execution targets one device, the device answers IN_PROGRESS, SUCCEEDED,
 * FAILED or REJECTED, and the service ends what never gets an answer (TIMED_OUT) or never gets
 * delivered (EXPIRED) (https://docs.aws.amazon.com/iot/latest/developerguide/iot-remote-command-concepts.html).
 *
 * Objects strip unknown keys rather than refuse them: a fleet runs several firmware versions at once,
 * and a newer cloud adding a field must not make an older device refuse every command.
 */

/** Every state of a command execution, in the order an execution goes through them. */
export const COMMAND_EXECUTION_STATUSES = [
  'CREATED',
  'SENT',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'TIMED_OUT',
  'EXPIRED',
] as const;
export const commandExecutionStatus = z.enum(COMMAND_EXECUTION_STATUSES);
export type CommandExecutionStatus = z.output<typeof commandExecutionStatus>;

/** What a device may answer (the service alone sets CREATED, SENT, TIMED_OUT and EXPIRED). */
export const DEVICE_ANSWER_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const;
export type DeviceAnswerStatus = (typeof DEVICE_ANSWER_STATUSES)[number];

/** States nothing leaves. */
export const TERMINAL_COMMAND_STATUSES: readonly CommandExecutionStatus[] = [
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'TIMED_OUT',
  'EXPIRED',
];

/** Execution ids: 1–64 of `[a-zA-Z0-9_-]`, so they sit in a topic, a key and a URL path unescaped. */
export const EXECUTION_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
export const executionId = z.string().regex(EXECUTION_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]');

/** Command names: kebab-case, as the catalog declares them (`sample-now`, `set-interval`). */
export const commandName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a kebab-case command name');

/** Largest result a device may return, as UTF-8 JSON (issue 11: results are kept, so they are bounded). */
export const MAX_COMMAND_RESULT_BYTES = 4096;
/** Largest parameters object a request may carry, as UTF-8 JSON. */
export const MAX_COMMAND_PARAMETERS_BYTES = 4096;
/** Longest reason a device may give. */
export const MAX_COMMAND_REASON_CHARS = 256;

const encoder = new TextEncoder();

/** Bytes of `value` as UTF-8 JSON. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

/** A JSON object of at most `max` bytes, as parameters and results are. */
function boundedObject(max: number) {
  return z
    .record(z.string(), z.unknown())
    .refine((value) => jsonBytes(value) <= max, `must be at most ${max} bytes as JSON`);
}

/** Published by the platform on `devices/{type}/{id}/commands`. */
export const commandRequest = z
  .object({
    executionId,
    name: commandName,
    /** Checked against the catalog before it is sent; the device checks again before it acts. */
    parameters: boundedObject(MAX_COMMAND_PARAMETERS_BYTES).default({}),
    issuedAt: epochMillis,
    /** A device must not act on the command after this time (it may have been held through a sleep). */
    expiresAt: epochMillis,
  })
  .refine((request) => request.expiresAt > request.issuedAt, {
    message: 'must be after issuedAt',
    path: ['expiresAt'],
  });
export type CommandRequest = z.output<typeof commandRequest>;

/** Published by the device on `devices/{type}/{id}/command-answers`. */
export const commandAnswer = z.object({
  executionId,
  status: z.enum(DEVICE_ANSWER_STATUSES),
  /** Why it failed or was refused, for an operator. */
  reason: z
    .string()
    .max(MAX_COMMAND_REASON_CHARS, `must be at most ${MAX_COMMAND_REASON_CHARS} characters`)
    .optional(),
  /** What the command produced (diagnostics, a ping's echo); kept with the execution. */
  result: boundedObject(MAX_COMMAND_RESULT_BYTES).optional(),
  /** Device clock when it answered. */
  answeredAt: epochMillis.optional(),
});
export type CommandAnswer = z.output<typeof commandAnswer>;

/** The rule fields of an answer: the device rule's, and the topic's kind. */
export const COMMAND_ANSWER_RULE_FIELDS = { ...DEVICE_RULE_FIELDS, kind: 'topic(4)' } as const;

/**
 * The rule fields of a device's sign of life (a status, telemetry): who and when, no payload — the
 * commands function only needs to know that the device is listening now.
 */
export const DEVICE_SIGHTING_RULE_FIELDS = {
  deviceId: 'topic(3)',
  kind: 'topic(4)',
  receivedAt: 'timestamp()',
} as const;

/** The event of an answer: the device rule's event (payload base64), and its kind. */
export const commandAnswerRuleEvent = deviceRuleEvent.extend({ kind: z.literal('command-answers') });
/** The event of a sign of life: who, which kind of message, and when. */
export const deviceSightingRuleEvent = z.object({
  kind: z.enum(['status', 'telemetry']),
  deviceId,
  receivedAt: epochMillis,
});

/** What the commands function's rules deliver: an answer, or a sign of life. */
export const commandRuleEvent = z.discriminatedUnion('kind', [
  commandAnswerRuleEvent,
  deviceSightingRuleEvent,
]);
export type CommandRuleEvent = z.output<typeof commandRuleEvent>;
