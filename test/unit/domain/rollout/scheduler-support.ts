import type { JobExecution } from '../../../../lambdas/domain/jobs/execution.ts';
import type { RolloutCounters } from '../../../../lambdas/domain/rollout/counters.ts';
import type { HealthVerdict } from '../../../../lambdas/domain/rollout/health-gate.ts';
import type { RolloutRecord } from '../../../../lambdas/domain/rollout/record.ts';
import {
  type Candidate,
  nextActions,
  type RolloutDecision,
} from '../../../../lambdas/domain/rollout/scheduler.ts';
import type { RolloutRequest } from '../../../../lib/protocol/rollouts.ts';
import { counters, MONDAY_10_UTC, request } from './support.ts';

/** What the scheduler tests share: a rollout record, candidates, and one decision from a snapshot. */

export const NOW = MONDAY_10_UTC / 1000;
export const MINUTE = Math.floor(NOW / 60);

export function rollout(changes: Partial<RolloutRecord> & { request?: RolloutRequest } = {}): RolloutRecord {
  return {
    rolloutId: 'r1',
    status: 'IN_PROGRESS',
    request: request(),
    waveSizes: [100],
    currentWave: 0,
    createdAt: NOW - 3600,
    updatedAt: NOW - 60,
    startsAt: NOW - 3600,
    ...changes,
  };
}

export const candidates = (n: number, wave = 0, extra: Partial<Candidate> = {}): Candidate[] =>
  Array.from({ length: n }, (_, i) => ({
    thingName: `w${wave}-${i}`,
    wave,
    firmwareVersion: '1.0.0',
    ...extra,
  }));

export interface Tick {
  rollout?: RolloutRecord;
  candidates?: Candidate[];
  watched?: JobExecution[];
  health?: HealthVerdict;
  /** When `health` was measured, epoch seconds. */
  healthCheckedAt?: number;
  counters?: RolloutCounters;
  nowMs?: number;
}

export function tick(t: Tick = {}): RolloutDecision {
  return nextActions(
    {
      rollout: t.rollout ?? rollout(),
      candidates: t.candidates ?? [],
      watched: t.watched ?? [],
      ...(t.health === undefined ? {} : { health: t.health }),
      ...(t.healthCheckedAt === undefined ? {} : { healthCheckedAt: t.healthCheckedAt }),
    },
    t.counters ?? counters([{}]),
    t.nowMs ?? MONDAY_10_UTC,
  );
}

export const names = (list: readonly { thingName: string }[]) => list.map((c) => c.thingName);
