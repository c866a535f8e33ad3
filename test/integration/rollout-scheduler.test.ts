import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchPut } from '../../lambdas/adapters/dynamo-batch.ts';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { DynamoJobExecutionStore } from '../../lambdas/adapters/dynamo-job-execution-store.ts';
import { DynamoRolloutCounterStore } from '../../lambdas/adapters/dynamo-rollout-counters.ts';
import { DynamoRolloutPlanStore, DynamoRolloutStore } from '../../lambdas/adapters/dynamo-rollout-store.ts';
import { applyDeviceUpdate } from '../../lambdas/domain/jobs/device-update.ts';
import { JobRequestError } from '../../lambdas/domain/jobs/execution.ts';
import { countExecutionChange } from '../../lambdas/services/jobs-setup.ts';
import { RolloutScheduler } from '../../lambdas/services/rollout-scheduler.ts';
import { RolloutService } from '../../lambdas/services/rollout-service.ts';
import { createLogger } from '../../lambdas/shared/logger.ts';
import { createEmfMetrics } from '../../lambdas/shared/metrics.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import type { RolloutRequest } from '../../lib/protocol/rollouts.ts';
import { topology } from '../../lib/topology.ts';

/**
 * The scheduler's walk through a plan, on dynalite with an injected clock: devices that pacing held, or
 * that a tick which died midway left behind, are offered again — a wave is never stuck on them.
 */

const DEVICES = 2000;
const name = (i: number) => `p-${String(i).padStart(5, '0')}`;
const MINUTE = 60_000;

interface Rig {
  dynamo: LocalDynamo;
  service: RolloutService;
  scheduler: RolloutScheduler;
  registry: DynamoDeviceRegistry;
  plans: DynamoRolloutPlanStore;
  notified: string[];
  /** Makes the next notify-next throw once (a Lambda dying midway through a tick). */
  failNextNotify: () => void;
  tick: (minutes: number) => Promise<void>;
  succeedAll: () => Promise<void>;
}

async function rig(battery: (i: number) => number): Promise<Rig> {
  const dynamo = await startDynamo({});
  for (const table of ['registry', 'rollouts', 'rolloutTargets', 'rolloutCounters', 'jobExecutions'] as const)
    await ensureTable(dynamo.client, table, topology.resources[table]);
  const client = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  await batchPut(
    client,
    'registry',
    Array.from({ length: DEVICES }, (_, i) => ({
      deviceId: name(i),
      deviceType: 'tracker',
      firmwareVersion: '1.0.0',
      lastSeen: 1,
      firstSeen: 1,
      battery: { percent: battery(i) },
    })),
  );
  let nowMs = Date.UTC(2026, 0, 5, 10);
  const registry = new DynamoDeviceRegistry({ client, tableName: 'registry' });
  const rollouts = new DynamoRolloutStore({ client, tableName: 'rollouts' });
  const plans = new DynamoRolloutPlanStore({ client, tableName: 'rolloutTargets' });
  const executions = new DynamoJobExecutionStore({ client, tableName: 'jobExecutions' });
  const counters = new DynamoRolloutCounterStore({ client, tableName: 'rolloutCounters' });
  const onChange = countExecutionChange(counters);
  const runtime = { write: () => {}, now: () => nowMs };
  const notified: string[] = [];
  let failNext = false;
  const service = new RolloutService({
    rollouts,
    plans,
    executions,
    counters,
    registry,
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
  const scheduler = new RolloutScheduler({
    rollouts,
    plans,
    counters,
    executions,
    registry,
    onChange,
    jobs: {
      notifyNext: async (thing) => {
        if (failNext) {
          failNext = false;
          throw new Error('the Lambda timed out');
        }
        notified.push(thing);
      },
    },
    health: { measure: async () => undefined },
    firmwareAvailable: async () => true,
    healthCheckSeconds: 300,
    log: createLogger('rollout-scheduler', runtime),
    metrics: createEmfMetrics('rollout-scheduler', runtime),
    now: () => nowMs,
  });
  return {
    dynamo,
    service,
    scheduler,
    registry,
    plans,
    notified,
    failNextNotify: () => {
      failNext = true;
    },
    tick: async (minutes) => {
      for (let m = 0; m < minutes; m++) {
        nowMs += MINUTE;
        await scheduler.tick();
      }
    },
    succeedAll: async () => {
      for (const thing of new Set(notified)) {
        const before = await executions.get(thing, 'r');
        if (before === undefined || before.status !== 'QUEUED') continue;
        const after = applyDeviceUpdate(before, { status: 'SUCCEEDED' }, nowMs);
        if (after instanceof JobRequestError) throw after;
        await executions.save(after, before.versionNumber);
        await onChange(before, after);
      }
    },
  };
}

const request = (extra: Partial<RolloutRequest> = {}): RolloutRequest => ({
  rolloutId: 'r',
  firmwareVersion: '2.0.0',
  targets: { percentage: 100 },
  waves: { sizes: [10, 100], maximumPerMinute: 100, gate: { successPercentage: 100 } },
  ...extra,
});

describe('the scheduler walking a plan', () => {
  let r: Rig;
  afterEach(async () => {
    await r.dynamo.close();
  });

  describe('with pacing', () => {
    beforeEach(async () => {
      // Every tenth device is low on battery.
      r = await rig((i) => (i % 10 === 0 ? 10 : 80));
    });

    it('offers the devices pacing held again once they are charged, and the wave completes', async () => {
      // Prepare
      await r.service.create(request({ pacing: { minBatteryPercent: 30 } }));
      await r.tick(5);
      const held = await r.service.get('r');
      // Act
      for (let i = 0; i < DEVICES; i += 10)
        await r.registry.recordSighting({
          deviceId: name(i),
          deviceType: 'tracker',
          lastSeen: 2,
          battery: { percent: 90 },
        });
      await r.tick(3);
      // Assess
      expect(held.waves[0]?.notified).toBeLessThan(200);
      expect(held.waitingOnPacing?.lowBattery).toBeGreaterThan(0);
      const after = await r.service.get('r');
      expect(after.waves[0]?.notified).toBe(200);
      expect(new Set(r.notified).size).toBe(r.notified.length);
    }, 60_000);
  });

  describe('a create retried after a timeout', () => {
    beforeEach(async () => {
      r = await rig(() => 80);
    });

    it('replaces what the interrupted create left of its plan, so nothing stale is ever queued', async () => {
      // Prepare: the first attempt wrote part of a (different) plan and died before storing the rollout.
      await r.plans.putPlan(
        'r',
        [{ thingName: 'ghost-device', wave: 1, index: 99_999, previousVersion: '1.0.0' }],
        [{ thingName: 'ghost-control', version: '1.0.0' }],
      );
      // Act
      await r.service.create(request());
      const targets = await r.plans.candidates('r', 1, 5000);
      const control = await r.plans.control('r', 5000);
      // Assess
      expect(targets.targets).toHaveLength(DEVICES);
      expect(targets.targets.map((t) => t.thingName)).not.toContain('ghost-device');
      expect(control).toEqual([]);
    }, 60_000);
  });

  describe('after a tick that died midway', () => {
    beforeEach(async () => {
      r = await rig(() => 80);
    });

    it('queues what that tick left, and tells every device once its execution exists', async () => {
      // Prepare
      await r.service.create(request());
      r.failNextNotify();
      // Act
      await r.tick(5);
      await r.succeedAll();
      await r.tick(5);
      // Assess
      const status = await r.service.get('r');
      expect(status.waves[0]?.notified).toBe(200);
      expect(status.waves[1]?.notified).toBeGreaterThan(0);
      // Every device with an execution was told, the one whose notify failed included.
      expect(new Set(r.notified).size).toBe(status.progress.notified);
    }, 60_000);
  });
});
