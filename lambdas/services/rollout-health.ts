import type { HealthGate } from '../../lib/protocol/rollouts.ts';
import type { DynamoAlertStore } from '../adapters/dynamo-alert-store.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutPlanStore } from '../adapters/dynamo-rollout-store.ts';
import { epochSeconds } from '../domain/jobs/execution.ts';
import {
  type CohortMetrics,
  compareCohorts,
  type HealthVerdict,
  happenedSince,
  isHealthEvent,
} from '../domain/rollout/health-gate.ts';
import type { RuleStore } from '../ports.ts';

/** Devices the gate looks at per cohort: enough to tell rates apart, few enough for every few minutes. */
export const HEALTH_SAMPLE = 200;

export interface RolloutHealthProps {
  readonly executions: Pick<DynamoJobExecutionStore, 'allOf'>;
  readonly plans: Pick<DynamoRolloutPlanStore, 'control'>;
  readonly alerts: Pick<DynamoAlertStore, 'episodesSince'>;
  readonly rules: Pick<RuleStore, 'list'>;
  readonly sample?: number;
}

/**
 * Measures a rollout's health gate: up to {@link HEALTH_SAMPLE} devices that succeeded against as many of
 * the control cohort, each counted over the same window — an updated device from the moment it
 * succeeded, a control device from the moment the first sampled device did — with the events of the
 * gate's metric each had in its window (raised alerts, read per device).
 */
export class RolloutHealth {
  constructor(private readonly props: RolloutHealthProps) {}

  async measure(
    rolloutId: string,
    gate: HealthGate,
    nowMs: number,
  ): Promise<(HealthVerdict & { sampled: number }) | undefined> {
    const sample = this.props.sample ?? HEALTH_SAMPLE;
    const updated: { thingName: string; since: number }[] = [];
    for await (const page of this.props.executions.allOf(rolloutId)) {
      for (const execution of page)
        if (execution.status === 'SUCCEEDED' && execution.rollback !== true && updated.length < sample)
          updated.push({ thingName: execution.thingName, since: execution.lastUpdatedAt });
      if (updated.length >= sample) break;
    }
    const control = await this.props.plans.control(rolloutId, sample);
    if (updated.length === 0 || control.length === 0) return undefined;
    // Only the gate's window counts: an update a week ago is judged on the last `windowMinutes`.
    const opened = epochSeconds(nowMs) - gate.windowMinutes * 60;
    for (const member of updated) member.since = Math.max(member.since, opened);
    const windowStart = Math.min(...updated.map((u) => u.since));
    const anomalyRules = new Set(
      (await this.props.rules.list()).filter((rule) => rule.kind === 'anomaly').map((rule) => rule.id),
    );
    const now = epochSeconds(nowMs);
    const measure = async (
      members: readonly { thingName: string; since: number }[],
    ): Promise<CohortMetrics> => {
      const events = await Promise.all(
        members.map(async ({ thingName, since }) => {
          const raised = await this.props.alerts.episodesSince(
            thingName,
            since * 1000,
            gate.windowMinutes * 60_000,
          );
          return raised.filter(
            (alert) => isHealthEvent(gate.metric, alert, anomalyRules) && happenedSince(alert, since * 1000),
          ).length;
        }),
      );
      return {
        devices: members.length,
        deviceHours: members.reduce((sum, m) => sum + Math.max(0, now - m.since) / 3600, 0),
        events: events.reduce((sum, n) => sum + n, 0),
      };
    };
    const [updatedMetrics, controlMetrics] = await Promise.all([
      measure(updated),
      measure(control.map((c) => ({ thingName: c.thingName, since: windowStart }))),
    ]);
    return {
      ...compareCohorts(updatedMetrics, controlMetrics, gate),
      sampled: updated.length + control.length,
    };
  }
}
