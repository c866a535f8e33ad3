import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HealthVerdict } from '../../lambdas/domain/rollout/health-gate.ts';
import type { RolloutRequest } from '../../lib/protocol/rollouts.ts';
import { type RolloutRig, startRolloutRig } from '../support/rollout-rig.ts';

/**
 * A rollout with a health gate, tick by tick on dynalite: each wave waits for the gate's pass on the
 * devices updated before it, the control cohort is a fresh sample for each rollout, and it is updated
 * last, once the gate has passed, so the rollout ends with every targeted device updated.
 */

const THINGS = Array.from({ length: 20 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
const verdict = (v: HealthVerdict['verdict']): HealthVerdict => ({
  verdict: v,
  metric: 'rebootRate',
  reason: v === 'insufficientData' ? 'updated cohort has 2 device-hours (needs 24 each)' : v,
});

const gated = (rolloutId: string): RolloutRequest => ({
  rolloutId,
  firmwareVersion: '2.0.0',
  targets: { things: THINGS },
  waves: { sizes: [50, 100] },
  healthGate: {
    metric: 'rebootRate',
    maxWorsening: { absolute: 0.05 },
    windowMinutes: 60,
    controlPercentage: 25,
  },
});

describe('a rollout with a health gate', () => {
  let r: RolloutRig;

  beforeEach(async () => {
    r = await startRolloutRig(THINGS.map((thingName) => ({ thingName, firmwareVersion: '1.0.0' })));
  });
  afterEach(async () => {
    await r.close();
  });

  /** Every thing told since `from` reports success on `jobId`. */
  async function succeed(jobId: string, from: number): Promise<string[]> {
    const things = [...new Set(r.notified.slice(from))];
    for (const thing of things) {
      await r.update(thing, jobId, 'IN_PROGRESS');
      await r.update(thing, jobId, 'SUCCEEDED');
    }
    return things;
  }

  it('opens each wave only on a pass over the devices updated so far, then updates the control cohort last', async () => {
    // Prepare
    const created = await r.service.create(gated('first'));
    const control = (await r.plans.control('first', 100)).map((c) => c.thingName).sort();
    // Act: wave 0 is offered and installs; then the gate has no verdict, then too little data, then a pass.
    await r.tick();
    const wave0 = await succeed('first', 0);
    await r.tick();
    const afterNoVerdict = r.notified.length;
    r.setHealth(verdict('insufficientData'));
    await r.tick();
    const afterInsufficient = await r.service.get('first');
    r.setHealth(verdict('pass'));
    await r.tick();
    const wave1 = await succeed('first', afterNoVerdict);
    await r.tick();
    const released = await succeed('first', afterNoVerdict + wave1.length);
    // Once the control cohort updates, there is nothing left to compare with: the gate measures no more.
    r.setHealth(verdict('fail'));
    await r.tick();
    const done = await r.service.get('first');
    // Assess
    expect(created.waves.map((w) => w.planned)).toEqual([8, 7, 5]);
    expect(created.controlWave).toBe(2);
    expect(created.waves.map((w) => w.control === true)).toEqual([false, false, true]);
    expect(control).toHaveLength(5);
    expect(wave0).toHaveLength(8);
    expect(afterNoVerdict).toBe(8);
    expect(afterInsufficient).toMatchObject({
      currentWave: 0,
      waitingOnHealth: expect.stringContaining('insufficientData'),
    });
    expect(afterInsufficient.progress.notified).toBe(8);
    expect(wave1).toHaveLength(7);
    expect(wave1.filter((thing) => control.includes(thing))).toEqual([]);
    expect(released.sort()).toEqual(control);
    expect(done.status).toBe('COMPLETED');
    expect(done.progress.byStatus.SUCCEEDED).toBe(THINGS.length);
    expect(done).not.toHaveProperty('waitingOnHealth');
  }, 60_000);

  it('is refused when its control cohort comes out empty: the gate could never judge, the rollout never end', async () => {
    // Act
    const refused = await r.service
      .create({ ...gated('tiny'), targets: { things: THINGS.slice(0, 3) } })
      .catch((e) => e);
    // Assess
    expect(refused).toMatchObject({ code: 'NoControlCohort', status: 409 });
    expect(await r.rollouts.get('tiny')).toBeUndefined();
  }, 60_000);

  it('holds back a different control cohort in each rollout', async () => {
    // Act
    await r.service.create(gated('first'));
    await r.service.create(gated('second'));
    const first = (await r.plans.control('first', 100)).map((c) => c.thingName);
    const second = (await r.plans.control('second', 100)).map((c) => c.thingName);
    // Assess
    expect(first).toHaveLength(5);
    expect(second).toHaveLength(5);
    expect(second.sort()).not.toEqual(first.sort());
  }, 60_000);
});
