import * as z from 'zod';
import {
  commandExecutionStatus,
  commandName,
  executionId,
  jsonBytes,
  MAX_COMMAND_PARAMETERS_BYTES,
} from './commands.ts';
import { deviceId } from './messages.ts';
import { rolloutTargets } from './rollouts.ts';
import { JOB_ID_PATTERN } from './topics.ts';

/**
 * The operator's side of commands, on the HTTP API:
 * - `POST /devices/{id}/commands[?wait=N]` — one device (202 `{executionId}`, or 200 with the result when
 *   it comes within N seconds, like an Azure IoT Hub direct method);
 * - `GET /devices/{id}/commands[?status=]`, `GET /devices/{id}/commands/{executionId}`;
 * - `POST /commands` — one command to a selection of devices (the rollouts' targeting), paced;
 *   `GET /commands/{batchId}` — counts by state, from counters.
 *
 * Objects are strict: a misspelt option (`expiresIn`) is refused by name rather than silently dropped.
 */

/** Longest a command may wait for its device: a PSM device may sleep for days (T3412 up to 413 days). */
export const MAX_COMMAND_EXPIRY_SECONDS = 30 * 86_400;
/** How long an undelivered command waits for its device unless the request says otherwise. */
export const DEFAULT_COMMAND_EXPIRY_SECONDS = 86_400;
/** Longest `?wait`: API Gateway ends an integration at 30 s (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html). */
export const MAX_COMMAND_WAIT_SECONDS = 25;
/** Most commands `POST /commands` sends per minute unless the request says otherwise. */
export const DEFAULT_COMMAND_RATE_PER_MINUTE = 1_000;

const parameters = z
  .record(z.string(), z.unknown())
  .refine(
    (value) => jsonBytes(value) <= MAX_COMMAND_PARAMETERS_BYTES,
    `must be at most ${MAX_COMMAND_PARAMETERS_BYTES} bytes as JSON`,
  );

const expiresInSeconds = z
  .number()
  .int('must be a whole number of seconds')
  .min(1, 'must be >= 1')
  .max(MAX_COMMAND_EXPIRY_SECONDS, `must be <= ${MAX_COMMAND_EXPIRY_SECONDS} (30 days)`);

const timeoutSeconds = z
  .number()
  .int('must be a whole number of seconds')
  .min(1, 'must be >= 1')
  .max(86_400, 'must be <= 86400 (a day)');

/** `POST /devices/{id}/commands` body. */
export const sendCommandBody = z.strictObject({
  name: commandName,
  parameters: parameters.optional(),
  /** How long the command may wait for the device to wake up and take it. @default 86400 */
  expiresInSeconds: expiresInSeconds.optional(),
  /** How long after delivery the outcome may take; the catalog's value when absent. */
  timeoutSeconds: timeoutSeconds.optional(),
});
export type SendCommandBody = z.output<typeof sendCommandBody>;

/** `POST /devices/{id}/commands` query: `?wait=N` waits up to N seconds for the outcome. */
export const sendCommandQuery = z.object({
  wait: z.coerce
    .number()
    .int('must be a whole number of seconds')
    .min(0, 'must be >= 0')
    .max(MAX_COMMAND_WAIT_SECONDS, `must be <= ${MAX_COMMAND_WAIT_SECONDS}`)
    .optional(),
});

/** `/devices/{id}/commands` path. */
export const deviceCommandsPath = z.object({ id: deviceId });
/** `/devices/{id}/commands/{executionId}` path. */
export const deviceCommandPath = z.object({ id: deviceId, executionId });

/** `GET /devices/{id}/commands` query. */
export const listCommandsQuery = z.object({
  status: commandExecutionStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  nextToken: z.string().min(1).max(1024).optional(),
});

/** Batch ids, as rollout ids: 1–64 of `[a-zA-Z0-9_-]`. */
export const batchId = z.string().regex(JOB_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]');

/** `POST /commands` body: one command to every device the targets select. */
export const fleetCommandBody = z.strictObject({
  /** Chosen by the service when absent; a second request with the same id is refused (409). */
  batchId: batchId.optional(),
  name: commandName,
  parameters: parameters.optional(),
  /** The rollouts' targeting: device types, groups, attribute filters, a list, a percentage. */
  targets: rolloutTargets,
  /** Most requests sent per minute. @default 1000 */
  ratePerMinute: z.number().int().min(1, 'must be >= 1').max(100_000, 'must be <= 100000').optional(),
  expiresInSeconds: expiresInSeconds.optional(),
  timeoutSeconds: timeoutSeconds.optional(),
  description: z.string().max(512).optional(),
});
export type FleetCommandBody = z.output<typeof fleetCommandBody>;

/** `/commands/{batchId}` path. */
export const commandBatchPath = z.object({ batchId });
