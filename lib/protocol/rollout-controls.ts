import * as z from 'zod';
import { countDefined, decimals } from './rollout-checks.ts';

/*
 * How a rollout proceeds once its devices are chosen: waves and their pace, abort criteria, retries,
 * timeouts, maintenance windows, device pacing and the health gate, as a `POST /rollouts` request sets
 * them (see rollouts.ts for the request and where the knobs come from).
 */

/** Day names in `Date.prototype.getUTCDay()` order, so index 0 is Sunday. */
export const DAYS_OF_WEEK = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

/** Metrics a health gate can compare, each as events per device-hour. */
export const HEALTH_METRICS = ['anomalyRate', 'alertRate', 'rebootRate', 'offlineRate'] as const;
export type HealthMetric = (typeof HEALTH_METRICS)[number];

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
