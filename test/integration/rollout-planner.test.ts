import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cohortOf } from '../../lambdas/domain/rollout/cohort.ts';
import { planRollout } from '../../lambdas/domain/rollout/plan.ts';
import { placeOf, planningParams } from '../../lambdas/domain/rollout/planning.ts';
import { selectTargets } from '../../lambdas/domain/rollout/targets.ts';
import { type RolloutRequest, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import { type RolloutRig, startRolloutRig } from '../support/rollout-rig.ts';

/**
 * The rollout planner on dynalite, with the scheduler on the same tables and an injected clock: the plan
 * made page by page from parallel segment scans is the plan `planRollout` makes from the whole fleet at
 * once; a run that dies resumes from its checkpoints; pilot devices are offered while the registry is
 * still being read, and never end up in the control cohort.
 */

const DEVICES = 5000;
const thing = (i: number) => `pl-${String(i).padStart(5, '0')}`;
// Every fourth device already runs 2.0.0: selection skips it.
const versionOf = (i: number) => (i % 4 === 0 ? '2.0.0' : '1.0.0');

const request = (rolloutId: string, extra: Partial<RolloutRequest> = {}): RolloutRequest => ({
  rolloutId,
  firmwareVersion: '2.0.0',
  targets: { percentage: 80 },
  waves: { sizes: [10, 50, 100], maximumPerMinute: 1000 },
  healthGate: {
    metric: 'rebootRate',
    maxWorsening: { absolute: 0.1 },
    windowMinutes: 60,
    controlPercentage: 5,
  },
  ...extra,
});

/**
 * The plan as `planRollout` makes it from the whole fleet, read from the devices as the rig made them,
 * and the order the scheduler offers each wave in: cohort order, pilot devices first when the pilot is in
 * effect (wave 0 has at least a hundred devices).
 */
function referencePlan(req: RolloutRequest) {
  const devices = Array.from({ length: DEVICES }, (_, i) => ({
    thingName: thing(i),
    deviceType: 'tracker',
    firmwareVersion: versionOf(i),
  }));
  const selection = selectTargets(devices, req.targets, rolloutArtifact(req));
  const plan = planRollout(req, selection.eligible, 0);
  const params = planningParams(req);
  const pilotOn = (plan.waves[0]?.things.length ?? 0) >= 100;
  const pilot = (t: string) => pilotOn && placeOf(params, cohortOf(t)).pilot;
  const offered = plan.waves.map((wave, w) =>
    w > 0 ? wave.things : [...wave.things.filter(pilot), ...wave.things.filter((t) => !pilot(t))],
  );
  return { selection, plan, offered };
}

describe('the rollout planner', () => {
  let r: RolloutRig;

  beforeEach(async () => {
    r = await startRolloutRig(
      Array.from({ length: DEVICES }, (_, i) => ({ thingName: thing(i), firmwareVersion: versionOf(i) })),
    );
  });
  afterEach(async () => {
    await r.close();
  });

  /** Every wave's things as the scheduler would offer them, read through the plan store's own ranges. */
  async function storedWaves(rolloutId: string): Promise<string[][]> {
    const item = await r.rollouts.get(rolloutId);
    if (item === undefined) throw new Error(`no rollout ${rolloutId}`);
    const all = await r.plans.candidates(item, item.waveSizes.length - 1, 100_000);
    return item.waveSizes.map((_, wave) =>
      all.targets.filter((t) => t.wave === wave).map((t) => t.thingName),
    );
  }

  it('makes, from parallel segment scans, exactly the plan planRollout makes from the whole fleet', async () => {
    // Prepare
    const req = request('same-plan');
    const reference = referencePlan(req);
    // Act
    const accepted = await r.service.create(req);
    const report = await r.planner.plan('same-plan');
    const planned = await r.service.get('same-plan');
    const waves = await storedWaves('same-plan');
    const control = (await r.plans.control('same-plan', 10_000)).map((c) => c.thingName);
    // Assess
    expect(accepted).toMatchObject({ status: 'PLANNING', waves: [] });
    expect(report).toMatchObject({ outcome: 'planned' });
    expect(planned.status).toBe('IN_PROGRESS');
    expect(planned.selection).toEqual({
      targeted: DEVICES,
      eligible: reference.selection.eligible.length,
      control: reference.plan.control.length,
      skipped: reference.selection.skipped,
    });
    expect(planned.waves.map((w) => w.planned)).toEqual(reference.plan.waveSizes);
    expect(waves).toEqual(reference.offered);
    expect(control.sort()).toEqual([...reference.plan.control].sort());
    expect(r.advanceAsked).toContain('same-plan');
  }, 60_000);

  it('resumes a run that died midway from its checkpoints: no page read twice is counted twice', async () => {
    // Prepare: a registry that fails on its fifth page, as a Lambda timing out would stop.
    const req = request('resumed');
    const reference = referencePlan(req);
    let pages = 0;
    const failing = r.newPlanner({
      registry: {
        scanSegment: async (segment, total, start, limit) => {
          if (++pages === 5) throw new Error('the function timed out');
          return r.registry.scanSegment(segment, total, start, limit);
        },
      },
    });
    const full = await r.newPlanner().plan((await r.service.create(request('reference'))).rolloutId);
    await r.service.create(req);
    // Act
    const died = await failing.plan('resumed').catch((error: Error) => error);
    const midway = await r.service.get('resumed');
    const resumed = await r.planner.plan('resumed');
    const planned = await r.service.get('resumed');
    // Assess
    expect(died).toBeInstanceOf(Error);
    expect(midway.status).toBe('PLANNING');
    expect(midway.planning?.progress?.scanned).toBeGreaterThan(0);
    expect(midway.planning?.progress?.scanned).toBeLessThan(DEVICES);
    expect(resumed.outcome).toBe('planned');
    expect(resumed.pages).toBeLessThan(full.pages);
    expect(planned.selection.eligible).toBe(reference.selection.eligible.length);
    expect(planned.waves.map((w) => w.planned)).toEqual(reference.plan.waveSizes);
    expect(await storedWaves('resumed')).toEqual(reference.offered);
  }, 60_000);

  it('offers pilot devices while the registry is still being read, none of them ever in the control cohort', async () => {
    // Prepare: segment 3 stops after its first page until the test lets it go on.
    const req = request('pilot');
    const reference = referencePlan(req);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = r.newPlanner({
      registry: {
        scanSegment: async (segment, total, start, limit) => {
          if (segment === 3 && start !== undefined) await held;
          return r.registry.scanSegment(segment, total, start, limit);
        },
      },
    });
    await r.service.create(req);
    // Act
    const planning = slow.plan('pilot');
    for (let i = 0; i < 200 && !r.advanceAsked.includes('pilot'); i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    await r.tick();
    const whilePlanning = await r.service.get('pilot');
    const offeredWhilePlanning = [...r.notified];
    release();
    await planning;
    const planned = await r.service.get('pilot');
    // Assess
    const params = planningParams(req);
    expect(whilePlanning.status).toBe('PLANNING');
    expect(whilePlanning.planning?.pilotFrom).toBeDefined();
    expect(whilePlanning.planning?.progress?.segments.done).toBeLessThan(4);
    expect(offeredWhilePlanning.length).toBeGreaterThan(0);
    expect(offeredWhilePlanning.every((t) => placeOf(params, cohortOf(t)).pilot)).toBe(true);
    expect(planned.status).toBe('IN_PROGRESS');
    expect(planned.waves[0]?.notified).toBe(offeredWhilePlanning.length);
    expect(reference.plan.waves[0]?.things).toEqual(expect.arrayContaining(offeredWhilePlanning));
    expect(reference.plan.control.filter((t) => offeredWhilePlanning.includes(t))).toEqual([]);
    // What is left to offer, with what was offered, is the reference plan.
    const [wave0 = [], ...later] = await storedWaves('pilot');
    expect([[...offeredWhilePlanning, ...wave0].sort(), ...later]).toEqual([
      [...(reference.plan.waves[0]?.things ?? [])].sort(),
      ...reference.offered.slice(1),
    ]);
  }, 60_000);

  it('offers nothing while planning a rollout whose first wave is under a hundred devices', async () => {
    // Prepare: a 1 % first wave of about 2,850 kept devices holds 29.
    const req = request('no-pilot', { waves: { sizes: [1, 100] } });
    const reference = referencePlan(req);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = r.newPlanner({
      registry: {
        scanSegment: async (segment, total, start, limit) => {
          if (segment === 3) await held;
          return r.registry.scanSegment(segment, total, start, limit);
        },
      },
    });
    await r.service.create(req);
    // Act
    const planning = slow.plan('no-pilot');
    // Every segment but the held one read to its end.
    for (let i = 0; i < 400; i++) {
      if ((await r.service.get('no-pilot')).planning?.progress?.segments.done === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await r.tick();
    const offeredWhilePlanning = [...r.notified];
    release();
    await planning;
    const item = await r.rollouts.get('no-pilot');
    // Assess
    expect(offeredWhilePlanning).toEqual([]);
    expect(item?.planning?.pilotFrom).toBeUndefined();
    expect(item?.targets?.pilot).toBe(false);
    expect(await storedWaves('no-pilot')).toEqual(reference.offered);
  }, 60_000);

  it('stops planning a rollout canceled meanwhile, and keeps a second planner off a rollout being planned', async () => {
    // Prepare
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = r.newPlanner({
      registry: {
        scanSegment: async (segment, total, start, limit) => {
          if (start !== undefined) await held;
          return r.registry.scanSegment(segment, total, start, limit);
        },
      },
    });
    await r.service.create(request('canceled'));
    // Act
    const planning = slow.plan('canceled');
    // The first planner holds the lease once it has created the segments' checkpoints.
    for (let i = 0; i < 400; i++) {
      if ((await r.service.get('canceled')).planning?.progress?.segments.total === 4) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const second = await r.planner.plan('canceled');
    await r.service.command('canceled', 'cancel', 'wrong image');
    await r.tick(10_000);
    release();
    const first = await planning;
    const after = await r.service.get('canceled');
    // Assess
    expect(second.outcome).toBe('busy');
    expect(first.outcome).toBe('stopped');
    expect(after.status).toBe('CANCELED');
    expect(after.planning?.finishedAt).toBeDefined();
    expect(after.planning?.progress).toBeUndefined();
    expect(await r.planner.plan('canceled')).toMatchObject({ outcome: 'nothing' });
  }, 60_000);
});
