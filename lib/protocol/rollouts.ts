import * as z from 'zod';
import { type FieldIssue, SchemaValidationError } from './errors.ts';
import { JOB_EXECUTION_STATUSES } from './jobs.ts';
import { deviceId, deviceType, version } from './messages.ts';
import { toFieldIssues } from './parse.ts';
import { JOB_ID_PATTERN } from './topics.ts';

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

/** A rollout's own states (the job's, in AWS IoT Jobs terms, plus PAUSED and ROLLED_BACK). */
export const ROLLOUT_STATUSES = [
  'SCHEDULED',
  'IN_PROGRESS',
  'PAUSED',
  'CANCELED',
  'COMPLETED',
  'ROLLED_BACK',
] as const;
export const rolloutStatus = z.enum(ROLLOUT_STATUSES);
export type RolloutStatus = z.output<typeof rolloutStatus>;

/** Day names in `Date.prototype.getUTCDay()` order, so index 0 is Sunday. */
export const DAYS_OF_WEEK = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

/** Metrics a health gate can compare, each as events per device-hour. */
export const HEALTH_METRICS = ['anomalyRate', 'alertRate', 'rebootRate', 'offlineRate'] as const;
export type HealthMetric = (typeof HEALTH_METRICS)[number];

/** At most `digits` digits after the decimal point, as AWS IoT limits some doubles. */
function decimals(digits: number) {
  const scale = 10 ** digits;
  return (value: number) => Math.abs(value * scale - Math.round(value * scale)) < 1e-6;
}

function countDefined(object: object, keys: readonly string[]): number {
  return keys.filter((key) => (object as Record<string, unknown>)[key] !== undefined).length;
}

/** Thing group names, as AWS IoT allows them. */
export const thingGroupName = z
  .string()
  .regex(/^[a-zA-Z0-9:_-]{1,128}$/, 'must be 1-128 characters of [a-zA-Z0-9:_-]');
/** Registry attribute names, as AWS IoT allows thing attribute names. */
export const attributeName = z
  .string()
  .regex(/^[a-zA-Z0-9_.,@/:#-]{1,128}$/, 'must be 1-128 characters of [a-zA-Z0-9_.,@/:#-]');
const attributeScalar = z.union([z.string().max(800, 'must be at most 800 characters'), z.number()]);

/** One condition on a registry attribute (`firmwareVersion`, `deviceType`, or a thing attribute). */
export const attributeFilter = z
  .strictObject({
    attribute: attributeName,
    op: z.enum(['eq', 'ne', 'lt', 'gt', 'in']),
    value: z.union([attributeScalar, z.array(attributeScalar).min(1).max(100)]),
  })
  .superRefine((filter, ctx) => {
    const isList = Array.isArray(filter.value);
    if (filter.op === 'in' && !isList)
      ctx.addIssue({ code: 'custom', path: ['value'], message: "must be a list for op 'in'" });
    if (filter.op !== 'in' && isList)
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `must be a single value for op '${filter.op}'`,
      });
  });
export type AttributeFilter = z.output<typeof attributeFilter>;

const SELECTORS = ['deviceTypes', 'groups', 'attributes', 'things', 'percentage'] as const;

/**
 * Which devices a rollout is for. Every selector given must hold (they combine with AND); `percentage`
 * then keeps a stable sample of what the others selected (see `cohortOf` in the rollout domain).
 */
export const rolloutTargets = z
  .strictObject({
    /** Any of these device types. */
    deviceTypes: z.array(deviceType).min(1).max(50).optional(),
    /** Member of any of these thing groups. */
    groups: z.array(thingGroupName).min(1).max(50).optional(),
    /** Every filter holds. */
    attributes: z.array(attributeFilter).min(1).max(20).optional(),
    /** One of these things. */
    things: z.array(deviceId).min(1).max(10_000).optional(),
    /** Percent of the selected devices, 0 < p ≤ 100, chosen by a hash of the thing name. */
    percentage: z.number().gt(0, 'must be > 0').max(100, 'must be <= 100').optional(),
    /**
     * Salt of the cohort hash. Left out, the fleet-wide default applies, so the same devices lead every
     * rollout; set it to draw a different sample.
     */
    cohortSalt: z.string().min(1).max(64).optional(),
  })
  .superRefine((targets, ctx) => {
    if (countDefined(targets, SELECTORS) === 0)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `must name at least one of ${SELECTORS.join(', ')}`,
      });
  });
export type RolloutTargets = z.output<typeof rolloutTargets>;

/** When the rollout rate grows: after this many more things were notified, or succeeded. */
export const rateIncreaseCriteria = z
  .strictObject({
    numberOfNotifiedThings: z.number().int().min(1).max(1_000_000).optional(),
    numberOfSucceededThings: z.number().int().min(1).max(1_000_000).optional(),
  })
  .superRefine((criteria, ctx) => {
    if (countDefined(criteria, ['numberOfNotifiedThings', 'numberOfSucceededThings']) !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'must have exactly one of numberOfNotifiedThings, numberOfSucceededThings',
      });
  });
export type RateIncreaseCriteria = z.output<typeof rateIncreaseCriteria>;

/** AWS IoT's ExponentialRolloutRate, same ranges (base 1-1000, factor 1.1-5 with one decimal). */
export const exponentialRate = z.strictObject({
  baseRatePerMinute: z.number().int().min(1).max(1000),
  incrementFactor: z
    .number()
    .min(1.1, 'must be >= 1.1')
    .max(5, 'must be <= 5')
    .refine(decimals(1), 'must have at most one digit after the decimal point'),
  rateIncreaseCriteria,
});
export type ExponentialRate = z.output<typeof exponentialRate>;

/** hawkBit's success condition for a wave, plus how long the wave must run before the next one starts. */
export const waveGate = z.strictObject({
  /** Percent of the wave's planned devices that must have SUCCEEDED. */
  successPercentage: z.number().min(0).max(100),
  /** Minutes to wait after the success threshold is first met, before the next wave. */
  minimumSoakMinutes: z.number().int().min(0).max(10_080).optional(),
});
export type WaveGate = z.output<typeof waveGate>;

/**
 * How the selected devices are split into waves and how fast they are notified. Wave sizes come from
 * `sizes` (cumulative percentages) or, as the alternative, from `exponentialRate` (one wave per rate
 * step); neither: one wave.
 */
export const rolloutWaves = z
  .strictObject({
    /** Cumulative percent of the devices covered after each wave, increasing, ending at 100. */
    sizes: z.array(z.number().gt(0, 'must be > 0').max(100, 'must be <= 100')).min(1).max(20).optional(),
    exponentialRate: exponentialRate.optional(),
    /** Most executions queued per minute (AWS IoT's maximumPerMinute, 1-1000). */
    maximumPerMinute: z.number().int().min(1).max(1000).optional(),
    gate: waveGate.optional(),
  })
  .superRefine((waves, ctx) => {
    if (waves.sizes !== undefined && waves.exponentialRate !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['exponentialRate'],
        message: 'cannot be combined with sizes: wave sizes come from one or the other',
      });
    const sizes = waves.sizes ?? [];
    sizes.forEach((size, i) => {
      const previous = sizes[i - 1];
      if (previous !== undefined && size <= previous)
        ctx.addIssue({ code: 'custom', path: ['sizes', i], message: `must be greater than ${previous}` });
    });
    if (sizes.length > 0 && sizes[sizes.length - 1] !== 100)
      ctx.addIssue({
        code: 'custom',
        path: ['sizes', sizes.length - 1],
        message: 'the last wave must reach 100',
      });
    const base = waves.exponentialRate?.baseRatePerMinute;
    if (base !== undefined && waves.maximumPerMinute !== undefined && waves.maximumPerMinute < base)
      ctx.addIssue({
        code: 'custom',
        path: ['maximumPerMinute'],
        message: `must be at least exponentialRate.baseRatePerMinute (${base})`,
      });
  });
export type RolloutWaves = z.output<typeof rolloutWaves>;

/** AWS IoT's AbortCriteria, with `pause` as well as `cancel`. */
export const abortCriterion = z.strictObject({
  failureType: z.enum(['FAILED', 'REJECTED', 'TIMED_OUT', 'ALL']),
  thresholdPercentage: z
    .number()
    .gt(0, 'must be > 0')
    .max(100, 'must be <= 100')
    .refine(decimals(2), 'must have at most two digits after the decimal point'),
  minNumberOfExecutedThings: z.number().int().min(1),
  action: z.enum(['pause', 'cancel']),
});
export type AbortCriterion = z.output<typeof abortCriterion>;

/** AWS IoT's AbortConfig: the rollout stops when any criterion is met. */
export const abortConfig = z.strictObject({ criteriaList: z.array(abortCriterion).min(1).max(10) });
export type AbortConfig = z.output<typeof abortConfig>;

/** Failure types a retry can answer; a REJECTED device said no, so it is not asked again. */
export const RETRYABLE_FAILURE_TYPES = ['FAILED', 'TIMED_OUT', 'ALL'] as const;
export type RetryableFailureType = (typeof RETRYABLE_FAILURE_TYPES)[number];

/** AWS IoT's JobExecutionsRetryConfig (0-10 retries per failure type), plus a backoff between attempts. */
export const retryConfig = z
  .strictObject({
    criteriaList: z
      .array(
        z.strictObject({
          failureType: z.enum(RETRYABLE_FAILURE_TYPES),
          numberOfRetries: z.number().int().min(0).max(10),
        }),
      )
      .min(1)
      .max(3),
    backoff: z
      .strictObject({
        /** Seconds before the first retry. */
        baseSeconds: z.number().int().min(0).max(86_400),
        /** Each later retry waits this many times longer. */
        factor: z.number().min(1).max(10),
        /** Longest wait, whatever the factor says. */
        maxSeconds: z
          .number()
          .int()
          .min(1)
          .max(7 * 86_400)
          .optional(),
      })
      .optional(),
  })
  .superRefine((retries, ctx) => {
    const seen = new Set<string>();
    retries.criteriaList.forEach((criterion, i) => {
      if (seen.has(criterion.failureType))
        ctx.addIssue({
          code: 'custom',
          path: ['criteriaList', i, 'failureType'],
          message: `${criterion.failureType} is listed twice`,
        });
      seen.add(criterion.failureType);
    });
  });
export type RetryConfig = z.output<typeof retryConfig>;

/** AWS IoT's TimeoutConfig: 1 minute to 7 days in IN_PROGRESS, then TIMED_OUT. */
export const timeoutConfig = z.strictObject({
  inProgressTimeoutInMinutes: z.number().int().min(1).max(10_080),
});
export type TimeoutConfig = z.output<typeof timeoutConfig>;

/**
 * A weekly window in which executions may be queued, in a fixed UTC offset. The days are local days on
 * which the window starts; a window may run past local midnight. The duration range is AWS IoT's
 * (SchedulingConfig maintenanceWindows, 30-1430 minutes).
 */
export const maintenanceWindow = z.strictObject({
  daysOfWeek: z
    .array(z.enum(DAYS_OF_WEEK))
    .min(1)
    .max(7)
    .refine((days) => new Set(days).size === days.length, 'must not repeat a day'),
  startTime: z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 00:00 to 23:59'),
  durationMinutes: z.number().int().min(30).max(1430),
  /** Minutes east of UTC (+60 for UTC+01:00), -12:00 to +14:00 as time zones go. */
  utcOffsetMinutes: z.number().int().min(-720).max(840),
});
export type MaintenanceWindow = z.output<typeof maintenanceWindow>;

/** Devices below these wait; a device that never reported a value is not held for it. */
export const pacingConfig = z
  .strictObject({
    minRsrpDbm: z.number().min(-156).max(-31).optional(),
    minBatteryPercent: z.number().min(0).max(100).optional(),
  })
  .superRefine((pacing, ctx) => {
    if (countDefined(pacing, ['minRsrpDbm', 'minBatteryPercent']) === 0)
      ctx.addIssue({ code: 'custom', path: [], message: 'must set minRsrpDbm or minBatteryPercent' });
  });
export type PacingConfig = z.output<typeof pacingConfig>;

/**
 * Compares updated devices with a control cohort kept on the old firmware. A worsening beyond
 * `maxWorsening` stops the rollout and rolls the updated devices back.
 */
export const healthGate = z.strictObject({
  metric: z.enum(HEALTH_METRICS),
  maxWorsening: z
    .strictObject({
      /** Most the updated cohort's rate may exceed the control's, in events per device-hour. */
      absolute: z.number().min(0).optional(),
      /** Most the updated cohort's rate may exceed the control's, as a fraction of it (0.2 = 20 %). */
      relative: z.number().min(0).optional(),
    })
    .superRefine((worsening, ctx) => {
      if (countDefined(worsening, ['absolute', 'relative']) !== 1)
        ctx.addIssue({ code: 'custom', path: [], message: 'must have exactly one of absolute, relative' });
    }),
  windowMinutes: z.number().int().min(5).max(10_080),
  /** Percent of the selected devices held back on their current firmware. */
  controlPercentage: z.number().gt(0, 'must be > 0').max(50, 'must be <= 50'),
  /** Device-hours each cohort needs before the gate judges. */
  minDeviceHours: z.number().gt(0).max(1_000_000).optional(),
});
export type HealthGate = z.output<typeof healthGate>;

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
