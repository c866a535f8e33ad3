import type { AbortConfig, AbortCriterion, WaveGate } from '../../../lib/protocol/rollouts.ts';
import { notifiedOf, type StatusCounts } from './counters.ts';

/** A wave's success gate, evaluated. Times are epoch seconds. */
export interface WaveGateResult {
  readonly wave: number;
  /** Devices planned for the wave. */
  readonly planned: number;
  /** Executions created for the wave so far. */
  readonly notified: number;
  readonly succeeded: number;
  /** Succeeded ÷ planned, percent. */
  readonly successPercent: number;
  /** The gate's threshold; absent when the wave has no gate. */
  readonly requiredPercent?: number;
  /** True when the success threshold is met now. */
  readonly thresholdMet: boolean;
  /** When the threshold was first met (without a gate: when every planned device was first notified); the soak counts from here. */
  readonly thresholdMetAt?: number;
  /** When the soak ends, once the threshold was met. */
  readonly soakEndsAt?: number;
  /** The next wave may start. */
  readonly passed: boolean;
}

/**
 * Whether the next wave may start, hawkBit style: the share of the wave's planned devices that SUCCEEDED
 * reaches `successPercentage`, and then `minimumSoakMinutes` pass. The share is of planned devices, not of
 * notified ones, so a wave cannot pass on its first few successes; devices still held by pacing count
 * against it, and are offered with the next wave once it starts. Without a gate, a wave passes once every
 * planned device was notified (AWS IoT's behaviour: no gate between devices).
 *
 * @param metAt when the threshold was first met, as stored by the scheduler; undefined if not yet
 */
export function evaluateWaveGate(
  wave: number,
  gate: WaveGate | undefined,
  planned: number,
  counts: StatusCounts,
  metAt: number | undefined,
  now: number,
): WaveGateResult {
  const notified = notifiedOf(counts);
  const succeeded = counts.SUCCEEDED;
  const successPercent = planned > 0 ? (succeeded / planned) * 100 : 100;
  const base = { wave, planned, notified, succeeded, successPercent };
  if (gate === undefined) {
    const allNotified = notified >= planned;
    return {
      ...base,
      thresholdMet: allNotified,
      ...(allNotified ? { thresholdMetAt: metAt ?? now } : {}),
      passed: allNotified,
    };
  }
  const thresholdMet = successPercent >= gate.successPercentage;
  const thresholdMetAt = thresholdMet ? (metAt ?? now) : undefined;
  const soakEndsAt =
    thresholdMetAt === undefined ? undefined : thresholdMetAt + (gate.minimumSoakMinutes ?? 0) * 60;
  return {
    ...base,
    requiredPercent: gate.successPercentage,
    thresholdMet,
    ...(thresholdMetAt === undefined ? {} : { thresholdMetAt }),
    ...(soakEndsAt === undefined ? {} : { soakEndsAt }),
    passed: soakEndsAt !== undefined && now >= soakEndsAt,
  };
}

/** An abort criterion that is met. */
export interface AbortResult {
  readonly criterion: AbortCriterion;
  readonly notified: number;
  readonly failures: number;
  /** Failures of the criterion's type ÷ things notified, percent. */
  readonly failurePercent: number;
  readonly action: 'pause' | 'cancel';
}

function failuresOf(counts: StatusCounts, type: AbortCriterion['failureType']): number {
  switch (type) {
    case 'FAILED':
      return counts.FAILED;
    case 'REJECTED':
      return counts.REJECTED;
    case 'TIMED_OUT':
      return counts.TIMED_OUT;
    case 'ALL':
      return counts.FAILED + counts.REJECTED + counts.TIMED_OUT;
  }
}

/**
 * The abort criterion that is met, if any (AWS IoT's AbortConfig,
 * https://docs.aws.amazon.com/iot/latest/apireference/API_AbortCriteria.html): at least
 * `minNumberOfExecutedThings` things were notified, and failures of `failureType` are at least
 * `thresholdPercentage` of them. When several are met, one that cancels wins over one that pauses.
 *
 * A retried execution is back in QUEUED and stops counting as a failure: the criterion sees the failures
 * that stand now, not every attempt that ever failed.
 */
export function evaluateAbort(
  config: AbortConfig | undefined,
  counts: StatusCounts,
): AbortResult | undefined {
  const notified = notifiedOf(counts);
  const met: AbortResult[] = [];
  for (const criterion of config?.criteriaList ?? []) {
    if (notified < criterion.minNumberOfExecutedThings) continue;
    const failures = failuresOf(counts, criterion.failureType);
    const failurePercent = (failures / notified) * 100;
    if (failurePercent >= criterion.thresholdPercentage)
      met.push({ criterion, notified, failures, failurePercent, action: criterion.action });
  }
  return met.find((m) => m.action === 'cancel') ?? met[0];
}
