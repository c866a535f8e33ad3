import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAlertStore } from '../../lambdas/adapters/dynamo-alert-store.ts';
import { DynamoJobExecutionStore } from '../../lambdas/adapters/dynamo-job-execution-store.ts';
import { DynamoRolloutPlanStore } from '../../lambdas/adapters/dynamo-rollout-store.ts';
import { rebootAlerts } from '../../lambdas/domain/fleet/reboot.ts';
import { type JobExecution, queueExecution } from '../../lambdas/domain/jobs/execution.ts';
import { alertId, HEARTBEAT_METRIC, type TelemetryAlert } from '../../lambdas/domain/telemetry/alerts.ts';
import { RolloutHealth } from '../../lambdas/services/rollout-health.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import type { JobExecutionStatus } from '../../lib/protocol/jobs.ts';
import type { HealthGate } from '../../lib/protocol/rollouts.ts';
import { topology } from '../../lib/topology.ts';

/**
 * The health gate's measurement, `RolloutHealth.measure`, on dynalite: which devices it samples, over
 * which window, with what exposure, and which events it counts for each cohort; and the comparison it
 * feeds, on a fleet-wide event that hits both cohorts alike (the gate passes) and on one that hits only
 * the updated devices (it fails). A gate that judged the updated devices alone, or on a fixed limit,
 * could not pass the first and fail the second.
 */

const NOW = Date.UTC(2026, 2, 2, 12);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;
let run = 0;

beforeAll(async () => {
  dynamo = await startDynamo({});
  for (const table of ['jobExecutions', 'rolloutTargets', 'alerts'] as const)
    await ensureTable(dynamo.client, table, topology.resources[table]);
  client = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
});
afterAll(async () => {
  await dynamo?.close();
});

/** One rollout's world, with thing names of its own so the tests share the tables without meeting. */
interface World {
  readonly rolloutId: string;
  readonly thing: (name: string) => string;
  readonly health: (sample?: number) => RolloutHealth;
  /** An execution of the rollout in `status`, last changed at `atMs`. */
  execution(
    name: string,
    status: JobExecutionStatus,
    atMs: number,
    extra?: Partial<JobExecution>,
  ): Promise<void>;
  /** The control cohort, as the plan stores it. */
  control(names: readonly string[]): Promise<void>;
  /** An alert episode of `name`: raised at `fromMs`, cleared at `toMs` (still active when absent). */
  alert(name: string, fromMs: number, toMs?: number, metric?: string): Promise<void>;
  /** A reboot of `name`, as status ingest records it: seen at `seenMs`, with `uptimeSeconds` then. */
  reboot(name: string, seenMs: number, uptimeSeconds: number): Promise<void>;
}

function world(): World {
  run++;
  const rolloutId = `health-${run}`;
  const thing = (name: string) => `${rolloutId}-${name}`;
  const executions = new DynamoJobExecutionStore({ client, tableName: 'jobExecutions' });
  const plans = new DynamoRolloutPlanStore({ client, tableName: 'rolloutTargets' });
  const alerts = new DynamoAlertStore({ client, tableName: 'alerts' });
  return {
    rolloutId,
    thing,
    health: (sample) =>
      new RolloutHealth({
        executions,
        plans,
        alerts,
        rules: { list: async () => [] },
        ...(sample === undefined ? {} : { sample }),
      }),
    async execution(name, status, atMs, extra = {}) {
      const queued = queueExecution(
        {
          jobId: rolloutId,
          thingName: thing(name),
          firmwareVersion: '2.0.0',
          previousVersion: '1.0.0',
          wave: 0,
        },
        atMs - 10 * MINUTE,
      );
      const at = Math.floor(atMs / 1000);
      const started = status === 'QUEUED' ? {} : { startedAt: at - 300 };
      await executions.save(
        { ...queued, ...started, status, lastUpdatedAt: at, versionNumber: 3, ...extra },
        undefined,
      );
    },
    async control(names) {
      await plans.putPlan(
        rolloutId,
        [],
        names.map((name) => ({ thingName: thing(name), version: '1.0.0' })),
      );
    },
    async alert(name, fromMs, toMs, metric = 'temperature') {
      const raised: TelemetryAlert = {
        id: alertId(thing(name), 'rule-1', fromMs),
        deviceId: thing(name),
        deviceType: 'tracker',
        type: metric === HEARTBEAT_METRIC ? 'DEVICE_SILENT' : 'HIGH_TEMPERATURE',
        severity: 'warning',
        ruleId: 'rule-1',
        metric,
        value: 1,
        threshold: 1,
        at: fromMs,
        state: 'raised',
        raisedAt: fromMs,
      };
      await alerts.put(toMs === undefined ? [raised] : [raised, { ...raised, state: 'cleared', at: toMs }]);
    },
    async reboot(name, seenMs, uptimeSeconds) {
      const before = {
        deviceId: thing(name),
        deviceType: 'tracker',
        lastSeen: seenMs - HOUR,
        uptimeSeconds: 99_999,
      };
      await alerts.put(rebootAlerts(before, { ...before, lastSeen: seenMs, uptimeSeconds }));
    },
  };
}

const alertRate: HealthGate = {
  metric: 'alertRate',
  maxWorsening: { absolute: 1 },
  windowMinutes: 120,
  controlPercentage: 10,
  minDeviceHours: 1,
};

describe('RolloutHealth.measure', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('samples only devices whose execution of the rollout succeeded, up to the sample size per cohort', async () => {
    // Prepare: five successes with no alerts; devices that did not update have alerts galore.
    for (const name of ['u0', 'u1', 'u2', 'u3', 'u4']) await w.execution(name, 'SUCCEEDED', NOW - HOUR);
    await w.execution('failed', 'FAILED', NOW - HOUR);
    await w.execution('queued', 'QUEUED', NOW - HOUR);
    await w.execution('rolled-back', 'SUCCEEDED', NOW - HOUR, { rollback: true });
    for (const name of ['failed', 'queued', 'rolled-back']) await w.alert(name, NOW - 10 * MINUTE);
    await w.control(['c0', 'c1', 'c2', 'c3', 'c4']);
    // Act
    const result = await w.health(3).measure(w.rolloutId, alertRate, NOW);
    // Assess: 3 updated, 3 control; the alerts of devices that did not update are nobody's.
    expect(result).toMatchObject({ sampled: 6, updatedRate: 0, controlRate: 0, verdict: 'pass' });
  });

  it('counts each updated device from its success, within the window, and the control cohort from the first of them', async () => {
    // Prepare: window of 2 h. `old` succeeded 5 h ago: observed 2 h. `new` succeeded 30 min ago: 0.5 h.
    await w.execution('old', 'SUCCEEDED', NOW - 5 * HOUR);
    await w.execution('new', 'SUCCEEDED', NOW - 30 * MINUTE);
    await w.control(['c0', 'c1']);
    // Updated: before the window (not counted), in it (counted).
    await w.alert('old', NOW - 3 * HOUR, NOW - 3 * HOUR + MINUTE);
    await w.alert('old', NOW - HOUR, NOW - HOUR + MINUTE);
    // `new`: over before its success (not counted); raised on its trial boot and still active at its
    // success (counted); after it (counted).
    await w.alert('new', NOW - 45 * MINUTE, NOW - 44 * MINUTE);
    await w.alert('new', NOW - 40 * MINUTE);
    await w.alert('new', NOW - 10 * MINUTE, NOW - 5 * MINUTE);
    // Control, observed from the window's start (2 h ago) for 2 h each: before it, and in it twice.
    await w.alert('c0', NOW - 150 * MINUTE, NOW - 140 * MINUTE);
    await w.alert('c0', NOW - 90 * MINUTE, NOW - 80 * MINUTE);
    await w.alert('c1', NOW - 5 * MINUTE);
    // Act
    const result = await w.health().measure(w.rolloutId, alertRate, NOW);
    // Assess: updated 3 events over 2.5 device-hours, control 2 over 4.
    expect(result?.sampled).toBe(4);
    expect(result?.updatedRate).toBeCloseTo(3 / 2.5, 10);
    expect(result?.controlRate).toBeCloseTo(2 / 4, 10);
    expect(result).toMatchObject({ verdict: 'pass', limit: 1.5 });
  });

  it("counts a reboot when it happened, not when a status revealed it: an update's own reboot is not held against it", async () => {
    // Prepare: a status reveals each device's reboot. `u0` rebooted into its trial boot before its success.
    await w.execution('u0', 'SUCCEEDED', NOW - HOUR);
    await w.execution('u1', 'SUCCEEDED', NOW - HOUR);
    await w.control(['c0', 'c1']);
    await w.reboot('u0', NOW - 50 * MINUTE, 15 * 60);
    await w.reboot('u1', NOW - 10 * MINUTE, 60);
    await w.reboot('c0', NOW - 50 * MINUTE, 15 * 60);
    await w.reboot('c1', NOW - 30 * MINUTE, 60);
    const rebootRate: HealthGate = { ...alertRate, metric: 'rebootRate' };
    // Act
    const result = await w.health().measure(w.rolloutId, rebootRate, NOW);
    // Assess: u1 and c1 rebooted in the window; u0 and c0 booted before it opened (an hour ago).
    expect(result?.updatedRate).toBeCloseTo(1 / 2, 10);
    expect(result?.controlRate).toBeCloseTo(1 / 2, 10);
  });

  it('has no verdict without an updated device or without a control cohort', async () => {
    await w.control(['c0']);
    expect(await w.health().measure(w.rolloutId, alertRate, NOW)).toBeUndefined();
    const other = world();
    await other.execution('u0', 'SUCCEEDED', NOW - HOUR);
    expect(await other.health().measure(other.rolloutId, alertRate, NOW)).toBeUndefined();
  });
});

describe('the health gate compares the cohorts', () => {
  const offline: HealthGate = {
    metric: 'offlineRate',
    maxWorsening: { relative: 0.2 },
    windowMinutes: 120,
    controlPercentage: 50,
    minDeviceHours: 2,
  };
  const updated = ['u0', 'u1', 'u2', 'u3'];
  const control = ['c0', 'c1', 'c2', 'c3'];

  /** Both cohorts updated (or kept) an hour ago, each with one silent spell an hour: the usual rate. */
  async function baseline(): Promise<World> {
    const w = world();
    for (const name of updated) await w.execution(name, 'SUCCEEDED', NOW - HOUR);
    await w.control(control);
    for (const name of ['u0', 'c0'])
      await w.alert(name, NOW - 50 * MINUTE, NOW - 45 * MINUTE, HEARTBEAT_METRIC);
    return w;
  }
  /** A silent spell 20 minutes ago on each of `names`. */
  async function silence(w: World, names: readonly string[]): Promise<void> {
    for (const name of names) await w.alert(name, NOW - 20 * MINUTE, NOW - 10 * MINUTE, HEARTBEAT_METRIC);
  }

  it('passes when both cohorts get equally worse: a cell outage silenced the whole fleet, not the firmware', async () => {
    // Prepare
    const w = await baseline();
    await silence(w, [...updated, ...control]);
    // Act
    const result = await w.health().measure(w.rolloutId, offline, NOW);
    // Assess: the updated devices' rate rose fivefold, and so did the control's.
    expect(result?.updatedRate).toBeCloseTo(5 / 4, 10);
    expect(result?.controlRate).toBeCloseTo(5 / 4, 10);
    expect(result?.verdict).toBe('pass');
  });

  it('fails when only the updated cohort gets worse: the firmware drops the link', async () => {
    // Prepare
    const w = await baseline();
    await silence(w, updated);
    // Act
    const result = await w.health().measure(w.rolloutId, offline, NOW);
    // Assess
    expect(result?.updatedRate).toBeCloseTo(5 / 4, 10);
    expect(result?.controlRate).toBeCloseTo(1 / 4, 10);
    expect(result?.verdict).toBe('fail');
  });
});
