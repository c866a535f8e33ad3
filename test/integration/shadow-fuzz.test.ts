import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../edge/src/sensors/random.ts';
import { SHADOW_MESSAGES } from '../../lambdas/domain/shadow/errors.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { type ShadowFixture, startShadowFixture } from '../support/shadow-store.ts';
import { signedFetch } from '../support/signing.ts';

/** One malformed request and the code AWS answers it with. */
interface Malformed {
  readonly kind: string;
  readonly payload: Buffer;
  readonly code: number;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * Generators of requests that must all be refused. Each mutates a valid request in one way that one
 * of AWS's validation rules refuses (docs/shadow-semantics.md §2), so every case has a known answer.
 */
function generators(random: () => number): Array<() => Malformed> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const word = () => `k${Math.floor(random() * 1e6).toString(36)}`;
  const deep = (levels: number): unknown =>
    levels === 0 ? 1 : random() < 0.5 ? { [word()]: deep(levels - 1) } : [deep(levels - 1)];
  const valid = () =>
    JSON.stringify({
      state: { desired: { [word()]: random() }, reported: { [word()]: 'v' } },
      clientToken: 'ok',
    });
  return [
    () => {
      // Random bytes that are not UTF-8: a lone continuation byte guarantees it.
      const bytes = Buffer.from(
        Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)),
      );
      return { kind: 'not UTF-8', payload: Buffer.concat([Buffer.from([0x80]), bytes]), code: 415 };
    },
    () => {
      const text = valid();
      return {
        kind: 'truncated JSON',
        payload: Buffer.from(text.slice(0, Math.floor(random() * (text.length - 1)))),
        code: 400,
      };
    },
    () => ({
      kind: 'no state',
      payload: json(pick([{}, { desired: {} }, { State: {} }, [], 7, 'state', null])),
      code: 400,
    }),
    () => ({
      kind: 'state not an object',
      payload: json({ state: pick([1, 'x', true, [], [{}]]) }),
      code: 400,
    }),
    () => ({
      kind: 'section not an object',
      payload: json({ state: { [pick(['desired', 'reported'])]: pick([1, 'x', false, [1]]) } }),
      code: 400,
    }),
    () => ({
      kind: 'invalid node',
      payload: json({ state: { desired: {}, [pick(['delta', 'metadata', word()])]: {} } }),
      code: 400,
    }),
    () => ({
      kind: 'invalid version',
      payload: json({ state: { reported: {} }, version: pick([-1, 1.5, '3', null, true, 2 ** 60, {}]) }),
      code: 400,
    }),
    () => ({
      kind: 'invalid clientToken',
      payload: json({
        state: { reported: {} },
        clientToken: pick([1, '', 'é'.repeat(33), 'x'.repeat(65), null, ['t']]),
      }),
      code: 400,
    }),
    () => ({
      kind: 'too deep',
      payload: json({ state: { desired: { a: deep(6 + Math.floor(random() * 20)) } } }),
      code: 400,
    }),
    () => ({
      kind: 'null in an array',
      payload: json({ state: { reported: { list: [1, null, 2], [word()]: 1 } } }),
      code: 400,
    }),
    () => ({
      kind: 'over the size limit',
      payload: json({ state: { reported: { blob: 'x'.repeat(8200 + Math.floor(random() * 5000)) } } }),
      code: 413,
    }),
    () => ({
      kind: 'stale version',
      payload: json({ state: { reported: { z: 1 } }, version: 10_000 + Math.floor(random() * 1000) }),
      code: 409,
    }),
  ];
}

const KNOWN_MESSAGES = new Set<string>(
  (Object.values(SHADOW_MESSAGES) as unknown[]).filter((m): m is string => typeof m === 'string'),
);
const isKnownMessage = (message: string) =>
  KNOWN_MESSAGES.has(message) ||
  /^State contains an invalid node: '.+'$/.test(message) ||
  /too many levels of nesting/.test(message);

describe('shadow fuzz', () => {
  let f: ShadowFixture;
  const id = { thingName: 'fuzz-target' };

  beforeAll(async () => {
    f = await startShadowFixture();
    const { service } = f.service();
    for (let i = 0; i < 5; i++)
      await service.update(id, JSON.stringify({ state: { reported: { i } } }), { via: 'mqtt' });
  });
  afterAll(async () => {
    await f.close();
  });

  it('refuses 10,000 malformed requests, each with AWS’s code and message, and leaves the shadow unchanged', async () => {
    // Prepare
    const random = seededRandom('shadow-fuzz');
    const make = generators(random);
    const { service, publisher } = f.service();
    const before = await f.store.load(id);
    const historyBefore = (await f.store.load(id))?.history;
    const byKind = new Map<string, number>();

    // Act
    for (let n = 0; n < 10_000; n++) {
      const malformed = (make[n % make.length] as () => Malformed)();
      const result = await service.update(id, malformed.payload, { via: 'mqtt' });

      // Assess (each)
      if (result.ok || result.code !== malformed.code || !isKnownMessage(String(result.body.message))) {
        throw new Error(
          `case ${n} (${malformed.kind}) got ${JSON.stringify(result)}: ${malformed.payload.toString('base64')}`,
        );
      }
      byKind.set(malformed.kind, (byKind.get(malformed.kind) ?? 0) + 1);
    }

    // Assess (overall)
    expect([...byKind.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(byKind.size).toBe(12);
    expect(await f.store.load(id)).toEqual(before);
    expect((await f.store.load(id))?.history).toEqual(historyBefore);
    expect(publisher.on('rejected')).toHaveLength(10_000);
    expect(publisher.messages.filter((m) => !m.topic.endsWith('/rejected'))).toEqual([]);
  });
});

describe('shadow fuzz through the MQTT handler', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('answers 1,000 malformed rule events and payloads without throwing', async () => {
    // Prepare
    const random = seededRandom('handler-fuzz');
    const make = generators(random);
    const handler = t.platform.functions.get('shadowMqtt');
    if (handler === undefined) throw new Error('no shadowMqtt function in the topology');
    const events: unknown[] = [
      null,
      'x',
      42,
      [],
      {},
      { payload: '!!', topic: 'fleet/things/a/shadow/update' },
    ];

    // Act
    const outcomes: unknown[] = [];
    for (const event of events) outcomes.push(await handler.invoke(event));
    for (let n = 0; n < 1_000; n++) {
      const malformed = (make[n % make.length] as () => Malformed)();
      outcomes.push(
        await handler.invoke({
          payload: malformed.payload.toString('base64'),
          topic: n % 2 ? 'fleet/things/fz/shadow/update' : 'fleet/things/fz/shadow/name/cfg/update',
          clientId: 'fz',
          receivedAt: Date.now(),
          requestId: crypto.randomUUID(),
        }),
      );
    }

    // Assess
    expect(
      outcomes.slice(0, events.length).every((o) => (o as { dropped?: string }).dropped !== undefined),
    ).toBe(true);
    expect(outcomes.slice(events.length).every((o) => (o as { ok: boolean }).ok === false)).toBe(true);
    const get = await signedFetch(t.platform, '/things/fz/shadow');
    expect(get.status).toBe(404);
  });
});
