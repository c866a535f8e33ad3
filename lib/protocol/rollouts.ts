import * as z from 'zod';
import { type FieldIssue, SchemaValidationError } from './errors.ts';
import { JOB_EXECUTION_STATUSES } from './jobs.ts';
import { deviceType, version } from './messages.ts';
import { toFieldIssues } from './parse.ts';
import { countDefined } from './rollout-checks.ts';
import {
  abortConfig,
  healthGate,
  maintenanceWindow,
  pacingConfig,
  retryConfig,
  rolloutWaves,
  timeoutConfig,
} from './rollout-controls.ts';
import { rolloutTargets } from './rollout-targets.ts';
import { JOB_ID_PATTERN } from './topics.ts';

// The request's parts live in their own modules; importers of this one keep every name.
export * from './rollout-controls.ts';
export * from './rollout-targets.ts';

/**
 * The operator's side of OTA rollouts: the `POST /rollouts` request and the rollout statuses the API
 * reports. The knobs are AWS IoT Jobs' own where AWS has one (JobExecutionsRolloutConfig, AbortConfig,
 * TimeoutConfig, JobExecutionsRetryConfig, SchedulingConfig maintenance windows; same names, same ranges,
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html), so a team moving from AWS IoT
 * Jobs recognises them; wave gates follow Eclipse hawkBit's rollout groups (success condition, error
 * condition, https://eclipse.dev/hawkbit/concepts/rollout-management); pacing and the health gate are
 * fleetkit's.
 *
 * Objects are strict: an unknown key is refused rather than ignored, because a misspelt safety setting
 * (`abbort`, `maxPerMinute`) silently dropped would roll firmware out with no brakes.
 */

/**
 * A rollout's own states (the job's, in AWS IoT Jobs terms, plus PLANNING, PAUSED and ROLLED_BACK).
 * PLANNING: accepted, its devices still being selected and ordered; the first wave may be offered.
 */
export const ROLLOUT_STATUSES = [
  'PLANNING',
  'SCHEDULED',
  'IN_PROGRESS',
  'PAUSED',
  'CANCELED',
  'COMPLETED',
  'ROLLED_BACK',
] as const;
export const rolloutStatus = z.enum(ROLLOUT_STATUSES);
export type RolloutStatus = z.output<typeof rolloutStatus>;

/** What a rollout installs: a firmware image, or an edge anomaly model (issue 12). */
export const ARTIFACT_PURPOSES = ['firmware', 'model'] as const;
export type ArtifactPurpose = (typeof ARTIFACT_PURPOSES)[number];

/**
 * `POST /rollouts`: install `firmwareVersion` (firmware-update jobs) or `modelVersion` (model-update jobs)
 * on the targeted devices, in waves, with brakes. Exactly one of the two.
 */
export const rolloutRequest = z
  .strictObject({
    /** Client-chosen id (the jobId of every execution); the service makes one when it is left out. */
    rolloutId: z.string().regex(JOB_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]').optional(),
    description: z.string().max(2028).optional(),
    /** The firmware image to install (`POST /firmware`). */
    firmwareVersion: version.optional(),
    /** The anomaly model to install (`POST /models`): the same waves, gates, pacing and health gate. */
    modelVersion: version.optional(),
    /** The device type the image is built for; devices of another type are skipped. */
    deviceType: deviceType.optional(),
    /** The oldest version the image can upgrade from; older devices are skipped. */
    minVersion: version.optional(),
    /** Install on devices running a newer version too. */
    allowDowngrade: z.boolean().optional(),
    targets: rolloutTargets,
    waves: rolloutWaves.optional(),
    abort: abortConfig.optional(),
    retries: retryConfig.optional(),
    timeouts: timeoutConfig.optional(),
    maintenanceWindows: z.array(maintenanceWindow).min(1).max(10).optional(),
    pacing: pacingConfig.optional(),
    healthGate: healthGate.optional(),
  })
  .superRefine((request, ctx) => {
    if (countDefined(request, ['firmwareVersion', 'modelVersion']) !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['firmwareVersion'],
        message: 'must have exactly one of firmwareVersion, modelVersion',
      });
  });
export type RolloutRequest = z.output<typeof rolloutRequest>;

/** What a rollout installs, and which version: from a request that {@link rolloutRequest} accepted. */
export function rolloutArtifact(request: Pick<RolloutRequest, 'firmwareVersion' | 'modelVersion'>): {
  readonly purpose: ArtifactPurpose;
  readonly version: string;
} {
  if (request.modelVersion !== undefined) return { purpose: 'model', version: request.modelVersion };
  if (request.firmwareVersion !== undefined) return { purpose: 'firmware', version: request.firmwareVersion };
  throw new TypeError('a rollout request names neither firmwareVersion nor modelVersion');
}

/**
 * Parses a `POST /rollouts` body, or throws a {@link SchemaValidationError} naming every bad field. An
 * unknown key is reported at its own path (`waves.maxPerMinute`), not as an issue of the object holding it,
 * so the refusal names the field the operator misspelt.
 */
export function parseRolloutRequest(input: unknown): RolloutRequest {
  const result = rolloutRequest.safeParse(input);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: [...issue.path, key].map(String).join('.'),
          reason: 'is not a known field',
        }))
      : toFieldIssues([issue]),
  );
  throw new SchemaValidationError('rollout request', issues);
}

/** `GET /rollouts` query. */
export const listRolloutsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  nextToken: z.string().min(1).max(512).optional(),
});

/** `/rollouts/{rolloutId}` path. */
export const rolloutPath = z.object({
  rolloutId: z.string().regex(JOB_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]'),
});

/** `POST /rollouts/{rolloutId}/{command}` body: why, for the record (optional). */
export const rolloutCommandRequest = z.strictObject({
  reason: z.string().min(1).max(512).optional(),
});

/** `GET /rollouts/{rolloutId}/executions` query (AWS IoT's ListJobExecutionsForJob). */
export const listExecutionsQuery = z.object({
  status: z.enum(JOB_EXECUTION_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(250).default(100),
  nextToken: z.string().min(1).max(1024).optional(),
});
