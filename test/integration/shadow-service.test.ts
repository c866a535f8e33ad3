import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShadowFixture, startShadowFixture } from '../support/shadow-store.ts';

const update = (state: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ state, ...extra });
const mqtt = (requestId?: string) => ({ via: 'mqtt' as const, ...(requestId ? { requestId } : {}) });

describe('ShadowService on dynalite', () => {
  let f: ShadowFixture;

  beforeAll(async () => {
    f = await startShadowFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('applies 120 concurrent updates to one shadow: every key kept, versions 1..120 each once', async () => {
    // Prepare
    const { service } = f.service();
    const id = { thingName: 'busy-thing' };
    const writers = Array.from({ length: 120 }, (_, i) => i);

    // Act
    const results = await Promise.all(
      writers.map((i) => service.update(id, update({ reported: { [`k${i}`]: i, last: i } }), mqtt())),
    );

    // Assess
    expect(results.every((r) => r.ok)).toBe(true);
    const versions = results.map((r) => r.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(writers.map((i) => i + 1));
    const stored = await f.store.load(id);
    expect(stored?.record.version).toBe(120);
    const reported = stored?.record.state.reported ?? {};
    expect(Object.keys(reported).filter((k) => k.startsWith('k')).length).toBe(120);
    // The serial order is the version order: the last applied writer's `last` wins.
    const lastWriter = results.findIndex((r) => r.body.version === 120);
    expect(reported.last).toBe(lastWriter);
    // 120 writers on one item serialize through conditional writes with backoff: on a busy 2-core
    // machine that takes longer than the default 30 s (a bound on the run, not an assertion on time).
  }, 120_000);

  it('applies concurrent desired and reported writers without losing either side, and ends with the right delta', async () => {
    // Prepare
    const { service } = f.service();
    const id = { thingName: 'two-sided', shadowName: 'config' };

    // Act
    await Promise.all([
      ...Array.from({ length: 50 }, (_, i) =>
        service.update(id, update({ desired: { [`d${i}`]: i } }), mqtt()),
      ),
      ...Array.from({ length: 50 }, (_, i) =>
        service.update(id, update({ reported: { [`d${i}`]: i } }), mqtt()),
      ),
    ]);

    // Assess
    const stored = await f.store.load(id);
    expect(stored?.record.version).toBe(100);
    expect(Object.keys(stored?.record.state.desired ?? {})).toHaveLength(50);
    expect(stored?.record.state.desired).toEqual(stored?.record.state.reported);
    const pending = await f.store.listPending('config', 100);
    expect(pending.items.map((p) => p.thingName)).not.toContain('two-sided');
  }, 120_000);

  it('answers a retried delivery (same requestId) without applying it twice', async () => {
    // Prepare
    const { service, publisher } = f.service();
    const id = { thingName: 'retried' };
    const first = await service.update(
      id,
      update({ desired: { on: true } }),
      mqtt('11111111-1111-4111-8111-111111111111'),
    );

    // Act
    const again = await service.update(
      id,
      update({ desired: { on: true } }),
      mqtt('11111111-1111-4111-8111-111111111111'),
    );

    // Assess
    expect(again).toEqual(first);
    expect((await f.store.load(id))?.record.version).toBe(1);
    expect(publisher.on('accepted')).toHaveLength(2);
    expect(publisher.on('documents')).toHaveLength(1);
  });

  it('answers a client retry with the same clientToken and content once, and applies a different content', async () => {
    // Prepare
    const { service } = f.service();
    const id = { thingName: 'token-retry' };
    const payload = update({ reported: { t: 1 } }, { clientToken: 'tok-1' });
    await service.update(id, payload, mqtt());

    // Act
    const retry = await service.update(id, payload, mqtt());
    const changed = await service.update(
      id,
      update({ reported: { t: 2 } }, { clientToken: 'tok-1' }),
      mqtt(),
    );

    // Assess
    expect(retry.body.version).toBe(1);
    expect(changed.body.version).toBe(2);
  });

  it('treats the same clientToken and content after the replay window as a new report, as AWS would', async () => {
    // Prepare
    let now = Date.UTC(2026, 0, 1);
    const { service } = f.service({ now: () => now });
    const id = { thingName: 'token-reuser' };
    const payload = update({ reported: { alive: true } }, { clientToken: 'fixed' });
    await service.update(id, payload, mqtt());

    // Act
    now += 11 * 60_000;
    const later = await service.update(id, payload, mqtt());

    // Assess
    expect(later.body.version).toBe(2);
  });

  it('rejects a stale version with 409 and applies nothing', async () => {
    const { service } = f.service();
    const id = { thingName: 'locked' };
    await service.update(id, update({ reported: { a: 1 } }), mqtt());

    const stale = await service.update(id, update({ reported: { a: 2 } }, { version: 0 }), mqtt());
    const current = await service.update(id, update({ reported: { a: 3 } }, { version: 1 }), mqtt());

    expect(stale).toMatchObject({ ok: false, code: 409, body: { code: 409, message: 'Version conflict' } });
    expect(current).toMatchObject({ ok: true, body: { version: 2 } });
    expect((await f.store.load(id))?.record.state.reported).toEqual({ a: 3 });
  });

  it('keeps the version across a delete, and answers 404 for a deleted shadow', async () => {
    const { service } = f.service();
    const id = { thingName: 'deleted-one' };
    await service.update(id, update({ reported: { a: 1 } }), mqtt());
    await service.update(id, update({ reported: { a: 2 } }), mqtt());

    const deleted = await service.delete(id, '', mqtt());
    const get = await service.get(id, '{"clientToken":"g"}', mqtt());
    const recreated = await service.update(id, update({ reported: { b: 1 } }), mqtt());

    expect(deleted).toMatchObject({ ok: true, body: { version: 2 } });
    expect(get).toMatchObject({
      ok: false,
      code: 404,
      body: { message: "No shadow exists with name: 'deleted-one'", clientToken: 'g' },
    });
    expect(recreated.body.version).toBe(3);
    expect((await f.store.load(id))?.record.state).toEqual({ reported: { b: 1 } });
  });

  it('keeps the last N changes in the history, newest first, each with the state it produced', async () => {
    const { service } = f.service();
    const id = { thingName: 'historic', shadowName: 'cfg' };
    for (let i = 1; i <= 16; i++) {
      await service.update(
        id,
        update(i % 4 ? { reported: { i, [`only${i}`]: true } } : { desired: { d: i } }),
        mqtt(),
      );
    }

    const history = await service.history(id, 100);

    expect(history.map((h) => h.version)).toEqual([16, 15, 14, 13, 12]);
    expect(history[0]?.state).toEqual((await f.store.load(id))?.record.state);
    expect(history[1]?.state.desired).toEqual({ d: 12 });
    expect(history[1]?.state.reported).toMatchObject({ i: 15, only15: true, only13: true });
    expect(history[4]?.state).toEqual({
      desired: { d: 12 },
      reported: {
        i: 11,
        only1: true,
        only2: true,
        only3: true,
        only5: true,
        only6: true,
        only7: true,
        only9: true,
        only10: true,
        only11: true,
      },
    });
  });

  it('shows a delete and the recreation after it in the history', async () => {
    const { service } = f.service();
    const id = { thingName: 'historic-2' };
    await service.update(id, update({ reported: { a: 1 } }), mqtt());
    await service.delete(id, '', mqtt());
    await service.update(id, update({ reported: { b: 2 } }), mqtt());

    const history = await service.history(id, 10);

    expect(history).toEqual([
      expect.objectContaining({ version: 2, exists: true, state: { reported: { b: 2 } } }),
      expect.objectContaining({ version: 1, exists: false, state: {} }),
      expect.objectContaining({ version: 1, exists: true, state: { reported: { a: 1 } } }),
    ]);
  });

  it('lists pending shadows of one name across every shard, page by page, each once', async () => {
    // Prepare
    const { service } = f.service();
    const things = Array.from({ length: 37 }, (_, i) => `pend-${i}`);
    await Promise.all(
      things.map((t) =>
        service.update({ thingName: t, shadowName: 'fw' }, update({ desired: { v: 2 } }), mqtt()),
      ),
    );
    await service.update({ thingName: 'pend-0', shadowName: 'fw' }, update({ reported: { v: 2 } }), mqtt());

    // Act
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await f.store.listPending('fw', 5, nextToken);
      seen.push(...page.items.map((p) => p.thingName));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);

    // Assess
    expect(seen.sort()).toEqual(things.filter((t) => t !== 'pend-0').sort());
  });
});
