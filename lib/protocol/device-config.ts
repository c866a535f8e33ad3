import * as z from 'zod';
import { epochMillis, metricName } from './messages.ts';

/**
 * The settings an operator may change on a device through its shadow: the device contract for
 * `state.desired.config` / `state.reported.config` of the classic shadow.
 *
 * The device merges a desired change into the settings it runs, validates the result as a whole with
 * {@link deviceConfig}, and either applies all of it and reports it back under `config` (so the delta
 * clears), or applies none of it and reports why under `configErrors`.
 *
 * Objects are strict: a key the device does not know is refused with a reason rather than ignored,
 * so an operator learns at once that a firmware does not support a setting.
 */

/** Shadow key of the settings, in `desired` and `reported`. */
export const SHADOW_CONFIG_KEY = 'config';
/** Shadow key, in `reported`, of the last desired settings the device refused. Absent when none. */
export const SHADOW_CONFIG_ERRORS_KEY = 'configErrors';

/**
 * Longest periodic TAU a device can request: GPRS Timer 3 (T3412 extended) tops out at 31 × 320 h
 * (3GPP TS 24.008 §10.5.7.4a).
 */
export const MAX_PERIODIC_TAU_S = 31 * 320 * 3600;
/** Longest active time a device can request: GPRS Timer 2 (T3324) tops out at 31 × 6 min (TS 24.008 §10.5.7.3). */
export const MAX_ACTIVE_TIME_S = 31 * 6 * 60;
/** Longest sampling interval: one day. */
export const MAX_SAMPLING_INTERVAL_S = 86_400;
/** Most metrics that may carry a threshold (keeps the shadow well under its 8 KB). */
export const MAX_THRESHOLDS = 32;

/** Alert bounds for one metric, in the metric's unit; at least one of the two. */
export const thresholdRange = z
  .object({
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .strict()
  .refine((range) => range.min !== undefined || range.max !== undefined, 'must set min, max or both')
  .refine((range) => range.min === undefined || range.max === undefined || range.min < range.max, {
    message: 'min must be below max',
    path: ['min'],
  });
export type ThresholdRange = z.output<typeof thresholdRange>;

/**
 * Power Saving Mode as the device asks the network for it with `AT+CPSMS` (3GPP TS 27.007 §7.38):
 * the periodic TAU (T3412 extended) and the active time (T3324). The modem rounds each to the nearest
 * value its timer encoding can carry.
 */
export const psmSettings = z
  .object({
    enabled: z.boolean(),
    periodicTauS: z
      .number()
      .int('must be a whole number of seconds')
      .min(1, 'must be at least 1 s')
      .max(MAX_PERIODIC_TAU_S, `must be at most ${MAX_PERIODIC_TAU_S} s (31 × 320 h, TS 24.008 §10.5.7.4a)`),
    activeTimeS: z
      .number()
      .int('must be a whole number of seconds')
      .min(0, 'must be >= 0')
      .max(MAX_ACTIVE_TIME_S, `must be at most ${MAX_ACTIVE_TIME_S} s (31 × 6 min, TS 24.008 §10.5.7.3)`),
  })
  .strict()
  .refine((psm) => !psm.enabled || psm.activeTimeS < psm.periodicTauS, {
    message: 'must be shorter than periodicTauS, or the device never sleeps',
    path: ['activeTimeS'],
  });
export type PsmSettings = z.output<typeof psmSettings>;

/** Everything an operator can set on a device through its shadow. */
export const deviceConfig = z
  .object({
    /** Seconds between two sensor samples. */
    samplingIntervalS: z
      .number()
      .int('must be a whole number of seconds')
      .min(1, 'must be at least 1 s')
      .max(MAX_SAMPLING_INTERVAL_S, `must be at most ${MAX_SAMPLING_INTERVAL_S} s (one day)`),
    /** Alert bounds by metric name (`temperature`, `battery`, `anomalyScore`, ...). */
    thresholds: z
      .record(metricName, thresholdRange)
      .refine(
        (thresholds) => Object.keys(thresholds).length <= MAX_THRESHOLDS,
        `must hold at most ${MAX_THRESHOLDS} metrics`,
      ),
    psm: psmSettings,
  })
  .strict();
export type DeviceConfig = z.output<typeof deviceConfig>;

/** What a device runs with before any operator has set anything. */
export const DEFAULT_DEVICE_CONFIG: DeviceConfig = {
  samplingIntervalS: 60,
  thresholds: {
    temperature: { min: -20, max: 60 },
    humidity: { max: 95 },
    battery: { min: 15 },
    anomalyScore: { max: 0.8 },
  },
  psm: { enabled: true, periodicTauS: 3600, activeTimeS: 60 },
};

/** One reason a desired setting was refused. */
export const configIssue = z.object({ field: z.string(), reason: z.string() });

/**
 * Reported under {@link SHADOW_CONFIG_ERRORS_KEY} when the device refuses desired settings: nothing of
 * them was applied, and `config` still shows what runs.
 */
export const configErrorReport = z.object({
  /** One line for an operator. */
  reason: z.string(),
  /** Each refused field, dotted from the shadow's `desired` (`config.psm.activeTimeS`). */
  issues: z.array(configIssue),
  /** Shadow version of the desired state that was refused. */
  desiredVersion: z.number().int().min(0),
  /** When the device refused it (device clock). */
  at: epochMillis,
});
export type ConfigErrorReport = z.output<typeof configErrorReport>;
