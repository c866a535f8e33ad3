import { readFileSync } from 'node:fs';
import {
  emptyCounts,
  type RolloutCounters,
  type StatusCounts,
} from '../../../../lambdas/domain/rollout/counters.ts';
import type { JobExecutionStatus } from '../../../../lib/protocol/jobs.ts';
import { parseRolloutRequest, type RolloutRequest } from '../../../../lib/protocol/rollouts.ts';

/** The parsed JSON of a rollout fixture. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../../fixtures/rollout/${name}`, import.meta.url), 'utf8'));
}

/** A rollout request from a fixture, parsed as the handler would. */
export function requestFixture(name: string): RolloutRequest {
  return parseRolloutRequest(fixture(name));
}

/** A minimal valid request with `changes` on top, parsed so defaults and refinements apply. */
export function request(changes: Partial<RolloutRequest> = {}): RolloutRequest {
  return parseRolloutRequest({ firmwareVersion: '2.0.0', targets: { percentage: 100 }, ...changes });
}

/** Status counts with `partial` filled in. */
export function counts(partial: Partial<Record<JobExecutionStatus, number>> = {}): StatusCounts {
  return { ...emptyCounts(), ...partial };
}

/** Counters of a rollout: totals given, and per wave (totals default to the sum of the waves). */
export function counters(
  waves: Partial<Record<JobExecutionStatus, number>>[],
  rollout?: Partial<Record<JobExecutionStatus, number>>,
): RolloutCounters {
  const total = emptyCounts();
  for (const wave of waves)
    for (const [status, n] of Object.entries(wave)) total[status as JobExecutionStatus] += n;
  return {
    rollout: rollout === undefined ? total : counts(rollout),
    waves: Object.fromEntries(waves.map((w, i) => [i, counts(w)])),
  };
}

/** 2026-03-02T10:00:00Z, a Monday; epoch ms. */
export const MONDAY_10_UTC = Date.UTC(2026, 2, 2, 10, 0, 0);

export { execution } from '../jobs/support.ts';
