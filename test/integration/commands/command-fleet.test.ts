import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER_SHARDS } from '../../../lambdas/domain/commands/counters.ts';
import { CommandRefusedError } from '../../../lambdas/domain/commands/errors.ts';
import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { type CommandFixture, startCommandFixture } from '../../support/command-fixture.ts';

/**
 * Fleet commands on dynalite with a clock the test moves (the pacing is by the minute): selection with
 * the rollouts' targeting, the first minute's worth sent at once, the rest at the rate, PSM devices held,
 * progress from counters, and the refusals that store nothing.
 */
const MINUTE = 60_000;
const PSM = { enabled: true, periodicTauSeconds: 3_600, activeTimeSeconds: 60 };

describe('a fleet command', () => {
  let f: CommandFixture;
  const sentTo = () => f.publisher.messages.map((m) => m.topic.split('/')[2]);

  beforeAll(async () => {
    f = await startCommandFixture();
    for (const id of ['t1', 't2', 't3', 't4', 't5']) await f.seen(id, 'tracker');
    await f.seen('e1', 'env-sensor');
    // Asleep: seen two minutes before, PSM active time one minute. First in the type index's order.
    f.clock.now -= 2 * MINUTE;
    await f.seen('a0', 'tracker', PSM);
    f.clock.now += 2 * MINUTE;
  });
  afterAll(async () => {
    await f?.close();
  });

  it('creates one execution per selected device and sends the first minute’s worth at once', async () => {
    // Act
    const created = await f.fleet.create({
      batchId: 'wave',
      name: 'ping',
      targets: { deviceTypes: ['tracker'] },
      ratePerMinute: 4,
    });

    // Assess: a0, t1..t5 selected, in the type index's order; a0 asleep is held, t1..t3 sent, t4 t5 wait
    expect(created).toMatchObject({
      batchId: 'wave',
      total: 6,
      targeted: 6,
      dispatched: 4,
      status: 'DISPATCHING',
    });
    expect(created.progress).toMatchObject({ total: 6, byStatus: { SENT: 3, CREATED: 3 } });
    // One creation step (one writer) counts on one item: one ADD, not one per shard its devices are in.
    expect(await f.counters.read('wave')).toEqual([{ scope: 'shard:0', counters: { SENT: 3, CREATED: 3 } }]);
    expect(sentTo()).toEqual(['t1', 't2', 't3']);
    for (const message of f.publisher.messages)
      expect(message.body).toMatchObject({ name: 'ping', parameters: {}, expiresAt: expect.any(Number) });
    const [held] = await f.store.awaiting('a0');
    expect(held).toMatchObject({
      status: 'CREATED',
      expectedDeliveryAt: f.clock.now - 2 * MINUTE + 3_600_000,
    });
  });

  it('sends nothing more within the minute (not even to a device that shows up), then the rest, and is DISPATCHED', async () => {
    // Act
    const sameMinute = await f.fleet.dispatchAll();
    await f.seen('t4', 'tracker');
    const woke = await f.delivery.wake('t4');
    f.clock.now += MINUTE;
    const later = await f.fleet.dispatchAll();

    // Assess
    expect(sameMinute).toBe(0);
    expect(woke.sent).toBe(0);
    expect(later).toBe(2);
    expect(sentTo().slice(3).sort()).toEqual(['t4', 't5']);
    expect((await f.fleet.status('wave')).status).toBe('DISPATCHED');
  });

  it('delivers a held execution when its device shows up, and counts the answers in O(1)', async () => {
    // Prepare
    f.clock.now += 10 * MINUTE;
    await f.seen('a0', 'tracker', PSM);

    // Act
    await f.delivery.wake('a0');
    const requests = f.publisher.messages.filter((m) => m.topic === 'devices/tracker/a0/commands');
    for (const m of f.publisher.messages.slice()) {
      const deviceId = m.topic.split('/')[2] ?? '';
      await f.answers.apply(deviceId, { executionId: String(m.body.executionId), status: 'SUCCEEDED' });
    }
    const status = await f.fleet.status('wave');
    const items = await f.counters.read('wave');

    // Assess
    expect(requests.length).toBe(1);
    expect(status.progress).toMatchObject({
      total: 6,
      succeeded: 6,
      pending: 0,
      failed: 0,
      succeededPercent: 100,
    });
    expect(items.length).toBeLessThanOrEqual(COUNTER_SHARDS);
  });

  it.each<[string, object, unknown]>([
    [
      'parameters a selected type refuses',
      { name: 'set-interval', parameters: { seconds: 0, for: 5 }, targets: { deviceTypes: ['tracker'] } },
      SchemaValidationError,
    ],
    ['no device selected', { name: 'ping', targets: { groups: ['nobody'] } }, CommandRefusedError],
    [
      'a batch id already used',
      { batchId: 'wave', name: 'ping', targets: { deviceTypes: ['tracker'] } },
      CommandRefusedError,
    ],
  ])('refuses %s, sending and storing nothing', async (_rule, body, error) => {
    // Prepare
    const published = f.publisher.messages.length;

    // Act
    const act = f.fleet.create({ batchId: 'refused', ...body } as never);

    // Assess
    await expect(act).rejects.toBeInstanceOf(error);
    expect(f.publisher.messages.length).toBe(published);
    if ((body as { batchId?: string }).batchId === undefined)
      await expect(f.fleet.status('refused')).rejects.toThrow(/no fleet command refused/);
  });
});

describe('the sweeper and a failing data plane', () => {
  let f: CommandFixture;

  beforeAll(async () => {
    f = await startCommandFixture();
    await f.seen('s1', 'tracker');
  });
  afterAll(async () => {
    await f?.close();
  });

  it('holds an execution whose publish failed, and sends it at the next contact', async () => {
    // Prepare
    f.publisher.failing = true;
    await f.fleet.create({ batchId: 'down', name: 'sample-now', targets: { things: ['s1'] } });
    f.publisher.failing = false;

    // Act
    const held = (await f.store.awaiting('s1'))[0];
    f.clock.now += 1_000;
    const woke = await f.delivery.wake('s1');

    // Assess
    expect(held).toMatchObject({ status: 'CREATED', deliveries: 1 });
    expect(held?.heldReason).toMatch(/publish failed/);
    expect(woke.sent).toBe(1);
    expect(f.publisher.messages.map((m) => m.body.executionId)).toEqual([held?.executionId]);
  });

  it('times out a request its device had (heard from since), and takes back one it slept through', async () => {
    // Prepare: s1's request (sent above) and one to s2, which is then silent
    await f.seen('s2', 'tracker');
    await f.fleet.create({ batchId: 'quiet', name: 'ping', targets: { things: ['s2'] } });
    f.clock.now += 30_000;
    await f.seen('s1', 'tracker');
    f.clock.now += 60_000;

    // Act
    const swept = await f.sweeper.sweep();
    const [s1] = (await f.store.listForDevice('s1', { limit: 1 })).items;
    const [s2] = (await f.store.listForDevice('s2', { limit: 1 })).items;

    // Assess
    expect(swept).toEqual({ TIMED_OUT: 1, CREATED: 1, EXPIRED: 0 });
    expect(s1).toMatchObject({ status: 'TIMED_OUT', reason: 'no outcome within 60 s of delivery' });
    expect(s2).toMatchObject({ status: 'CREATED', deliveries: 1 });
    expect(s2?.heldReason).toMatch(/slept through it/);
  });

  it('ends a held execution EXPIRED at its expiry, and a late answer changes nothing', async () => {
    // Prepare
    f.clock.now += 25 * 3_600_000;

    // Act
    const swept = await f.sweeper.sweep();
    const [s2] = (await f.store.listForDevice('s2', { limit: 1 })).items;
    const late = await f.answers.apply('s2', { executionId: s2?.executionId ?? '', status: 'SUCCEEDED' });
    const after = await f.store.get('s2', s2?.executionId ?? '');

    // Assess
    expect(swept.EXPIRED).toBe(1);
    expect(late.outcome).toBe('late');
    expect(after).toMatchObject({ status: 'EXPIRED', ignoredAnswers: 1 });
    expect(await f.store.awaiting('s2')).toEqual([]);
    expect(await f.store.due(0, f.clock.now, 100)).toEqual([]);
  });
});
