import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import type { DynamoRolloutPlanStore } from '../../lambdas/adapters/dynamo-rollout-store.ts';
import type { RolloutScheduler } from '../../lambdas/services/rollout-scheduler.ts';
import type { RolloutService } from '../../lambdas/services/rollout-service.ts';
import type { LocalDynamo } from '../../lib/local/dynamo.ts';
import type { RolloutRequest } from '../../lib/protocol/rollouts.ts';
import { startRolloutRig } from '../support/rollout-rig.ts';

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
  now: () => number;
  /** Makes the next notify-next throw once (a Lambda dying midway through a tick). */
  failNextNotify: () => void;
  tick: (minutes: number) => Promise<void>;
  succeedAll: () => Promise<void>;
}

async function rig(battery: (i: number) => number): Promise<Rig> {
  const notified: string[] = [];
  let failNext = false;
  const devices = Array.from({ length: DEVICES }, (_, i) => ({
    thingName: name(i),
    firmwareVersion: '1.0.0',
    batteryPercent: battery(i),
  }));
  const r = await startRolloutRig(devices, {
    notifyNext: async (thing) => {
      if (failNext) {
        failNext = false;
        throw new Error('the Lambda timed out');
      }
      notified.push(thing);
    },
  });
  return {
    dynamo: r.dynamo,
    service: r.service,
    scheduler: r.scheduler,
    registry: r.registry,
    plans: r.plans,
    notified,
    now: r.now,
    failNextNotify: () => {
      failNext = true;
    },
    tick: async (minutes) => {
      for (let m = 0; m < minutes; m++) await r.tick(MINUTE);
    },
    succeedAll: async () => {
      for (const thing of new Set(notified))
        if ((await r.executions.get(thing, 'r'))?.status === 'QUEUED')
          await r.update(thing, 'r', 'SUCCEEDED');
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
          lastSeen: r.now(),
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
