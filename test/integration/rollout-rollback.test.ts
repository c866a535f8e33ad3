import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rollbackJobId } from '../../lambdas/services/rollout-rollback.ts';
import { type RolloutRig, startRolloutRig } from '../support/rollout-rig.ts';

/**
 * A rollback sends back every device that runs the rolled-back image, judged by what each device last
 * reported, not by its execution's status alone; and it keeps watching the devices that may run it
 * without having said so, until they report. On dynalite, the scheduler ticking on an injected clock.
 */

const DAY = 86_400_000;
const ROLLBACK = rollbackJobId('bad', 0);
const THINGS = ['succeeded', 'committed-then-canceled', 'committed-then-timed-out', 'never-installed'];

describe('rolling back a rollout', () => {
  let r: RolloutRig;

  beforeEach(async () => {
    r = await startRolloutRig(THINGS.map((thingName) => ({ thingName, firmwareVersion: '1.0.0' })));
  });
  afterEach(async () => {
    await r.close();
  });

  /** The things with an execution of the rollout's first rollback job. */
  async function sentBack(): Promise<string[]> {
    const things: string[] = [];
    for await (const page of r.executions.allOf(ROLLBACK)) things.push(...page.map((e) => e.thingName));
    return things.sort();
  }

  it('sends back exactly the devices that run the bad image, those that report it a day later included', async () => {
    // Prepare: all four devices start installing 2.0.0; an execution times out after ten minutes.
    await r.service.create({
      rolloutId: 'bad',
      firmwareVersion: '2.0.0',
      targets: { things: THINGS },
      timeouts: { inProgressTimeoutInMinutes: 10 },
    });
    await r.tick();
    const onTrial = { step: 'rebooting', progress: '100%' };
    // A PSM device boots the image on trial, commits and sleeps: it reports nothing more, and its
    // execution times out.
    await r.update('committed-then-timed-out', 'bad', 'IN_PROGRESS', onTrial);
    await r.tick(11 * 60_000);
    const timedOut = await r.executions.get('committed-then-timed-out', 'bad');
    for (const thing of ['succeeded', 'committed-then-canceled', 'never-installed'])
      await r.update(thing, 'bad', 'IN_PROGRESS', { step: 'downloading' });
    await r.update('succeeded', 'bad', 'SUCCEEDED', { step: 'committed' });
    await r.update('committed-then-canceled', 'bad', 'IN_PROGRESS', onTrial);
    // This one commits and says so in its status message; its SUCCEEDED report is still on its way.
    await r.status('committed-then-canceled', '2.0.0');
    // Act: an operator rolls back; the scheduler's next tick does it.
    await r.service.command('bad', 'rollback', 'support tickets');
    await r.tick();
    const refused = await r.update('committed-then-canceled', 'bad', 'SUCCEEDED', { step: 'committed' });
    const atRollback = await sentBack();
    // The sleeper wakes up a day later, on 2.0.0; the one that never installed reports 1.0.0.
    await r.tick(DAY);
    await r.status('committed-then-timed-out', '2.0.0');
    await r.status('never-installed', '1.0.0');
    await r.tick();
    await r.tick();
    const rollout = await r.rollouts.get('bad');
    // Assess
    expect(timedOut?.status).toBe('TIMED_OUT');
    expect(refused?.code).toBe('TerminalStateReached');
    expect(atRollback).toEqual(['committed-then-canceled', 'succeeded']);
    expect(await sentBack()).toEqual(['committed-then-canceled', 'committed-then-timed-out', 'succeeded']);
    const rollback = await r.executions.get('committed-then-timed-out', ROLLBACK);
    expect(rollback).toMatchObject({ status: 'QUEUED', firmwareVersion: '1.0.0', rollback: true });
    expect(r.notified.filter((thing) => thing === 'committed-then-timed-out').length).toBeGreaterThan(1);
    expect(rollout).toMatchObject({
      status: 'ROLLED_BACK',
      rollbackJobs: [{ jobId: ROLLBACK, toVersion: '1.0.0', things: 3 }],
    });
    // Still watched: the device that never installed might yet report 2.0.0 until the watch ends.
    expect((await r.plans.owed('bad', 10)).owed.map((o) => o.thingName)).toEqual(['never-installed']);
  }, 60_000);

  it('stops watching at the end date: the list is cleared and the rollout no longer visited', async () => {
    // Prepare: one device canceled mid-download by the rollback, so it is owed a check.
    await r.service.create({
      rolloutId: 'bad',
      firmwareVersion: '2.0.0',
      targets: { things: ['never-installed'] },
    });
    await r.tick();
    await r.update('never-installed', 'bad', 'IN_PROGRESS', { step: 'downloading', progress: '30%' });
    await r.service.command('bad', 'rollback');
    await r.tick();
    const watched = await r.rollouts.get('bad');
    // Act
    await r.tick(15 * DAY);
    const ended = await r.rollouts.get('bad');
    const visited = await r.rollouts.active();
    // Assess
    const since = watched?.rollbackWatch?.since as number;
    expect(watched?.rollbackWatch?.until).toBe(since + 14 * 86_400);
    expect(ended).not.toHaveProperty('rollbackWatch');
    expect(ended?.rollbackJobs).toEqual([]);
    expect((await r.plans.owed('bad', 10)).owed).toEqual([]);
    expect(visited.map((item) => item.rolloutId)).not.toContain('bad');
  }, 60_000);
});
