import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchPut } from '../../lambdas/adapters/dynamo-batch.ts';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { DynamoJobExecutionStore } from '../../lambdas/adapters/dynamo-job-execution-store.ts';
import { DynamoRolloutCounterStore } from '../../lambdas/adapters/dynamo-rollout-counters.ts';
import { DynamoRolloutPlanningStore } from '../../lambdas/adapters/dynamo-rollout-planning-store.ts';
import { DynamoRolloutPlanStore, DynamoRolloutStore } from '../../lambdas/adapters/dynamo-rollout-store.ts';
import { applyDeviceUpdate } from '../../lambdas/domain/jobs/device-update.ts';
import { JobRequestError } from '../../lambdas/domain/jobs/execution.ts';
import type { HealthVerdict } from '../../lambdas/domain/rollout/health-gate.ts';
import type { ExecutionChangeListener } from '../../lambdas/services/jobs-service.ts';
import { countExecutionChange } from '../../lambdas/services/jobs-setup.ts';
import { RolloutPlanner, type RolloutPlannerProps } from '../../lambdas/services/rollout-planner.ts';
import { RolloutScheduler } from '../../lambdas/services/rollout-scheduler.ts';
import { RolloutService } from '../../lambdas/services/rollout-service.ts';
import { createLogger } from '../../lambdas/shared/logger.ts';
import { createEmfMetrics } from '../../lambdas/shared/metrics.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import type { StatusDetails, UpdateExecutionRequest } from '../../lib/protocol/jobs.ts';
import type { RolloutRequest } from '../../lib/protocol/rollouts.ts';
import { topology } from '../../lib/topology.ts';
import { testSigner } from './test-signer.ts';

/**
 * The rollout service and scheduler on dynalite with an injected clock, as `rollouts-setup.ts` wires
 * them, for tests that drive a rollout tick by tick. Notify-next is recorded, not sent over MQTT; the
 * health gate's verdict is whatever the test sets (`RolloutHealth` has its own test); every firmware
 * version is registered and available.
 */
export interface RolloutRig {
  readonly dynamo: LocalDynamo;
  readonly registry: DynamoDeviceRegistry;
  readonly rollouts: DynamoRolloutStore;
  readonly plans: DynamoRolloutPlanStore;
  readonly executions: DynamoJobExecutionStore;
  readonly service: RolloutService;
  readonly planner: RolloutPlanner;
  readonly scheduler: RolloutScheduler;
  /** Rollouts the planner asked the scheduler to advance at once, in order. */
  readonly advanceAsked: string[];
  /** Things told to look for their next job, in order. */
  readonly notified: string[];
  /** Log lines of the scheduler, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Injected time, epoch ms. */
  now(): number;
  /** Another planner on the same tables, with some of its parts replaced (a failing registry, ...). */
  newPlanner(overrides?: Partial<RolloutPlannerProps>): RolloutPlanner;
  /** Accepts a rollout (`POST /rollouts`) and plans it to the end, as the planner's invocation would. */
  create(request: RolloutRequest): Promise<Awaited<ReturnType<RolloutService['get']>>>;
  /** Moves the clock on and runs one scheduler tick. */
  tick(afterMs?: number): Promise<void>;
  /** What the health gate measures from now on (undefined: no measurement yet). */
  setHealth(verdict: HealthVerdict | undefined): void;
  /** A device's status message, as the status ingest records it: its firmware, seen now. */
  status(thing: string, firmwareVersion: string): Promise<void>;
  /**
   * A device's UpdateJobExecution, as the jobs API applies it: version-checked, stored, counted.
   * @returns the refusal when the service refuses it (the execution ended meanwhile)
   */
  update(
    thing: string,
    jobId: string,
    status: UpdateExecutionRequest['status'],
    statusDetails?: StatusDetails,
  ): Promise<JobRequestError | undefined>;
  close(): Promise<void>;
}

/** A registered device: a tracker on `firmwareVersion`. */
export interface RigDevice {
  readonly thingName: string;
  readonly firmwareVersion: string;
  readonly batteryPercent?: number;
}

/** The tables and stores, the registry filled with `devices`. */
export async function startRolloutRig(
  devices: readonly RigDevice[],
  options: {
    readonly startMs?: number;
    /** Instead of recording notify-next (a test that makes it fail); `notified` then stays empty. */
    readonly notifyNext?: (thing: string) => Promise<void>;
  } = {},
): Promise<RolloutRig> {
  const dynamo = await startDynamo({});
  for (const table of ['registry', 'rollouts', 'rolloutTargets', 'rolloutCounters', 'jobExecutions'] as const)
    await ensureTable(dynamo.client, table, topology.resources[table]);
  const client = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  let nowMs = options.startMs ?? Date.UTC(2026, 0, 5, 10);
  let health: HealthVerdict | undefined;
  await batchPut(
    client,
    'registry',
    devices.map((device) => ({
      deviceId: device.thingName,
      deviceType: 'tracker',
      firmwareVersion: device.firmwareVersion,
      lastSeen: nowMs - 60_000,
      firstSeen: nowMs - 60_000,
      ...(device.batteryPercent === undefined ? {} : { battery: { percent: device.batteryPercent } }),
    })),
  );
  const registry = new DynamoDeviceRegistry({ client, tableName: 'registry' });
  const rollouts = new DynamoRolloutStore({ client, tableName: 'rollouts' });
  const plans = new DynamoRolloutPlanStore({ client, tableName: 'rolloutTargets' });
  const executions = new DynamoJobExecutionStore({ client, tableName: 'jobExecutions' });
  const counters = new DynamoRolloutCounterStore({ client, tableName: 'rolloutCounters' });
  const onChange: ExecutionChangeListener = countExecutionChange(counters);
  const logs: Record<string, unknown>[] = [];
  const runtime = { write: (line: string) => logs.push(JSON.parse(line)), now: () => nowMs };
  const notified: string[] = [];
  const planning = new DynamoRolloutPlanningStore({ client, tableName: 'rolloutTargets' });
  const log = createLogger('rollout-rig', runtime);
  const advanceAsked: string[] = [];
  const service = new RolloutService({
    rollouts,
    planning,
    executions,
    counters,
    preview: { registry },
    startPlanning: async () => {},
    log,
    newId: () => 'unused',
    now: () => nowMs,
    catalog: {
      get: async (version) => ({
        version,
        deviceTypes: ['tracker'],
        size: 1,
        sha256: 'a'.repeat(64),
        status: 'available',
        registeredAt: 0,
        upload: { mode: 'single' },
      }),
    },
  });
  let owners = 0;
  const newPlanner = (overrides: Partial<RolloutPlannerProps> = {}) =>
    new RolloutPlanner({
      rollouts,
      planning,
      plans,
      registry,
      advance: async (rolloutId) => {
        advanceAsked.push(rolloutId);
      },
      segments: 4,
      // Pages of 200: several checkpoints per segment even for a small fleet.
      pageSize: 200,
      budgetMs: 3_600_000,
      newOwner: () => `rig-${++owners}`,
      log,
      now: () => nowMs,
      ...overrides,
    });
  const planner = newPlanner();
  const scheduler = new RolloutScheduler({
    rollouts,
    plans,
    counters,
    executions,
    registry,
    onChange,
    jobs: {
      notifyNext:
        options.notifyNext ??
        (async (thing) => {
          notified.push(thing);
        }),
    },
    health: {
      measure: async () => (health === undefined ? undefined : { ...health, sampled: 2 }),
    },
    rollbackImage: async () => ({ sha256: 'ab'.repeat(32) }),
    rollbackSigner: testSigner(),
    healthCheckSeconds: 0,
    log: createLogger('rollout-scheduler', runtime),
    metrics: createEmfMetrics('rollout-scheduler', runtime),
    now: () => nowMs,
  });
  return {
    dynamo,
    registry,
    rollouts,
    plans,
    executions,
    service,
    planner,
    scheduler,
    advanceAsked,
    notified,
    logs,
    now: () => nowMs,
    newPlanner,
    create: async (request) => {
      const accepted = await service.create(request);
      await planner.plan(accepted.rolloutId);
      return service.get(accepted.rolloutId);
    },
    tick: async (afterMs = 60_000) => {
      nowMs += afterMs;
      await scheduler.tick();
    },
    setHealth: (verdict) => {
      health = verdict;
    },
    status: async (thing, firmwareVersion) => {
      await registry.recordSighting({
        deviceId: thing,
        deviceType: 'tracker',
        lastSeen: nowMs,
        firmwareVersion,
      });
    },
    update: async (thing, jobId, status, statusDetails) => {
      const before = await executions.get(thing, jobId);
      if (before === undefined) throw new Error(`${thing} has no execution of ${jobId}`);
      const after = applyDeviceUpdate(
        before,
        {
          status,
          expectedVersion: before.versionNumber,
          ...(statusDetails === undefined ? {} : { statusDetails }),
        },
        nowMs,
      );
      if (after instanceof JobRequestError) return after;
      if ((await executions.save(after, before.versionNumber)) === 'conflict')
        throw new Error(`${thing}'s execution of ${jobId} changed meanwhile`);
      await onChange(before, after);
      return undefined;
    },
    close: () => dynamo.close(),
  };
}
