import { describe, expect, it } from 'vitest';
import {
  AWS_SHADOW_LIMITS,
  type PlainRequest,
  type ShadowLimits,
  type ShadowRecord,
  type UpdateRequest,
} from '../../../../lambdas/domain/shadow/document.ts';
import { SHADOW_MESSAGES, ShadowRequestError } from '../../../../lambdas/domain/shadow/errors.ts';
import { type JsonObject, jsonByteLength } from '../../../../lambdas/domain/shadow/json.ts';
import {
  applyDelete,
  applyUpdate,
  DELETED_VERSION_RETENTION_SECONDS,
  getDocument,
  rejectedDocument,
  type ShadowId,
} from '../../../../lambdas/domain/shadow/operations.ts';
import {
  atSecond,
  deepFreeze,
  deletedRecord,
  errorOf,
  liveRecord,
  type Outcome,
  outcomeOf,
} from './support.ts';

/** When the stored shadows below were last written. */
const T0 = 1_700_000_000;
/** When the operations under test run. */
const NOW = 1_700_000_100;
const HOUR = 3600;

const classic: ShadowId = { thingName: 'thing-1' };
const named: ShadowId = { thingName: 'thing-1', shadowName: 'cfg' };

/** A lamp at version 10: desired red, reported green and on, all written at T0. */
const lamp = deepFreeze(
  liveRecord({ desired: { color: 'red' }, reported: { color: 'green', power: 'on' } }, 10, T0),
);
/** A lamp whose desired state has been reached. */
const settled = deepFreeze(liveRecord({ desired: { color: 'green' }, reported: { color: 'green' } }, 4, T0));

const t = (timestamp: number) => ({ timestamp });

function update(
  current: ShadowRecord | undefined,
  request: UpdateRequest,
  nowSeconds = NOW,
  limits: ShadowLimits = AWS_SHADOW_LIMITS,
) {
  return applyUpdate(current, request, atSecond(nowSeconds), limits);
}

describe('applyUpdate versions (rules 24–27, Q3, Q6)', () => {
  it.each<[string, ShadowRecord | undefined, UpdateRequest, number, number]>([
    ['a never-written shadow starts at 1 (rule 26)', undefined, { state: { reported: { a: 1 } } }, NOW, 1],
    ['an update increments by exactly 1 (rule 24)', lamp, { state: { desired: { color: 'blue' } } }, NOW, 11],
    [
      'a repeat of the stored values still increments (rule 24)',
      lamp,
      { state: { desired: { color: 'red' } } },
      NOW,
      11,
    ],
    ['state: {} still increments (rules 11, 24)', lamp, { state: {} }, NOW, 11],
    ['state: null still increments (rule 10)', lamp, { state: null }, NOW, 11],
    [
      'null for an absent key still increments (rule 50)',
      lamp,
      { state: { desired: { nope: null } } },
      NOW,
      11,
    ],
    ['version equal to the stored one is accepted (rule 25)', lamp, { state: {}, version: 10 }, NOW, 11],
    [
      'version 0 on a never-written shadow (Q6: 0 when none retained)',
      undefined,
      { state: {}, version: 0 },
      NOW,
      1,
    ],
    [
      'a shadow deleted at version 7 and recreated an hour later continues at 8 (rule 27, Q3)',
      deletedRecord(7, T0),
      { state: { reported: { a: 1 } } },
      T0 + HOUR,
      8,
    ],
    [
      'recreated one second before 48 h still continues (rule 27)',
      deletedRecord(7, T0),
      { state: { reported: { a: 1 } } },
      T0 + 48 * HOUR - 1,
      8,
    ],
    [
      'recreated within 48 h with the retained version 7 (Q6)',
      deletedRecord(7, T0),
      { state: {}, version: 7 },
      T0 + 60,
      8,
    ],
    [
      'recreated one second after 48 h starts again at 1 (rule 27)',
      deletedRecord(7, T0),
      { state: { reported: { a: 1 } } },
      T0 + 48 * HOUR + 1,
      1,
    ],
    [
      'recreated after 48 h with version 0: the old version is forgotten (rule 27, Q6)',
      deletedRecord(7, T0),
      { state: {}, version: 0 },
      T0 + 72 * HOUR,
      1,
    ],
  ])('%s', (_rule, current, request, nowSeconds, expectedVersion) => {
    const act = () => update(current, request, nowSeconds);

    const outcome = act();

    expect(outcome.record.version).toBe(expectedVersion);
    expect(outcome.accepted.version).toBe(expectedVersion);
  });

  it.each<[string, ShadowRecord | undefined, UpdateRequest, number]>([
    [
      'version behind the stored one (rule 25)',
      lamp,
      { state: { desired: { color: 'blue' } }, version: 9 },
      NOW,
    ],
    ['version ahead of the stored one (rule 25)', lamp, { state: {}, version: 11 }, NOW],
    ['version 1 on a never-written shadow (Q6)', undefined, { state: {}, version: 1 }, NOW],
    ['version 3 on a never-written shadow (Q6)', undefined, { state: {}, version: 3 }, NOW],
    [
      'version 0 on a shadow deleted at 7 within 48 h (Q6)',
      deletedRecord(7, T0),
      { state: {}, version: 0 },
      T0 + HOUR,
    ],
    [
      'version 8 on a shadow deleted at 7 within 48 h (Q6)',
      deletedRecord(7, T0),
      { state: {}, version: 8 },
      T0 + HOUR,
    ],
    [
      'the forgotten version 7 on a shadow deleted more than 48 h ago (rule 27, Q6)',
      deletedRecord(7, T0),
      { state: {}, version: 7 },
      T0 + 49 * HOUR,
    ],
  ])('409 Version conflict: %s', (_rule, current, request, nowSeconds) => {
    const act = () => update(current, request, nowSeconds);

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual({ code: 409, message: 'Version conflict' });
  });

  it('remembers a deleted version for 48 hours', () => {
    const retention = DELETED_VERSION_RETENTION_SECONDS;

    expect(retention).toBe(48 * HOUR);
  });
});

describe('applyUpdate /update/accepted (rule 42)', () => {
  it.each<[string, ShadowRecord | undefined, UpdateRequest, JsonObject]>([
    [
      'echoes the section sent with a timestamp per key, the new version and the clientToken; no delta',
      lamp,
      { state: { desired: { color: 'blue' } }, clientToken: 'tok-1' },
      {
        state: { desired: { color: 'blue' } },
        metadata: { desired: { color: t(NOW) } },
        version: 11,
        timestamp: NOW,
        clientToken: 'tok-1',
      },
    ],
    [
      'has no clientToken key when the request had none',
      lamp,
      { state: { desired: { color: 'blue' } } },
      {
        state: { desired: { color: 'blue' } },
        metadata: { desired: { color: t(NOW) } },
        version: 11,
        timestamp: NOW,
      },
    ],
    [
      'holds only the keys sent, not the stored ones',
      lamp,
      { state: { reported: { power: 'off' } } },
      {
        state: { reported: { power: 'off' } },
        metadata: { reported: { power: t(NOW) } },
        version: 11,
        timestamp: NOW,
      },
    ],
    [
      'state: null → state null and a single metadata timestamp (rule 10)',
      lamp,
      { state: null, clientToken: 'tok-2' },
      { state: null, metadata: { timestamp: NOW }, version: 11, timestamp: NOW, clientToken: 'tok-2' },
    ],
    [
      'a section set to null → that section echoed null with {timestamp}',
      lamp,
      { state: { desired: null } },
      { state: { desired: null }, metadata: { desired: t(NOW) }, version: 11, timestamp: NOW },
    ],
    [
      'nulls echoed with a timestamp, at any depth',
      lamp,
      { state: { desired: { color: null, extra: { a: null, b: 1 } } } },
      {
        state: { desired: { color: null, extra: { a: null, b: 1 } } },
        metadata: { desired: { color: t(NOW), extra: { a: t(NOW), b: t(NOW) } } },
        version: 11,
        timestamp: NOW,
      },
    ],
    [
      'null for a key that does not exist, echoed and timestamped (rule 50)',
      lamp,
      { state: { reported: { nope: null } } },
      {
        state: { reported: { nope: null } },
        metadata: { reported: { nope: t(NOW) } },
        version: 11,
        timestamp: NOW,
      },
    ],
    [
      'an array with one timestamp per element (rule 32)',
      undefined,
      { state: { reported: { rgb: [1, 2, 3] } } },
      {
        state: { reported: { rgb: [1, 2, 3] } },
        metadata: { reported: { rgb: [t(NOW), t(NOW), t(NOW)] } },
        version: 1,
        timestamp: NOW,
      },
    ],
    [
      'both sections when both were sent',
      lamp,
      { state: { desired: { a: 1 }, reported: { b: { c: 2 } } } },
      {
        state: { desired: { a: 1 }, reported: { b: { c: 2 } } },
        metadata: { desired: { a: t(NOW) }, reported: { b: { c: t(NOW) } } },
        version: 11,
        timestamp: NOW,
      },
    ],
    [
      'state: {} → empty state and metadata (rule 11)',
      lamp,
      { state: {} },
      { state: {}, metadata: {}, version: 11, timestamp: NOW },
    ],
    [
      'desired: {} → echoed empty (rule 11)',
      lamp,
      { state: { desired: {} } },
      { state: { desired: {} }, metadata: { desired: {} }, version: 11, timestamp: NOW },
    ],
  ])('%s', (_rule, current, request, expected) => {
    const act = () => update(current, request);

    const { accepted } = act();

    expect(accepted).toStrictEqual(expected);
  });
});

describe('applyUpdate /update/delta (rules 37, 39, 49, Q10)', () => {
  const moods = deepFreeze(
    liveRecord({ desired: { color: 'red', mode: 'eco' }, reported: { color: 'green', mode: 'eco' } }, 3, T0),
  );
  const lights = deepFreeze(
    liveRecord(
      { desired: { lights: { color: { r: 255, g: 0 } } }, reported: { lights: { color: { r: 255, g: 0 } } } },
      6,
      T0,
    ),
  );

  it.each<[string, ShadowRecord | undefined, UpdateRequest, JsonObject | undefined]>([
    [
      'a desired change on a new shadow: state, desired metadata, version, timestamp, no wrapper',
      undefined,
      { state: { desired: { color: 'red' } } },
      { state: { color: 'red' }, metadata: { color: t(NOW) }, version: 1, timestamp: NOW },
    ],
    [
      'echoes the clientToken of the update',
      undefined,
      { state: { desired: { color: 'red' } }, clientToken: 'tok-3' },
      {
        state: { color: 'red' },
        metadata: { color: t(NOW) },
        version: 1,
        timestamp: NOW,
        clientToken: 'tok-3',
      },
    ],
    [
      'none when desired now equals reported (rule 49)',
      lamp,
      { state: { desired: { color: 'green' } } },
      undefined,
    ],
    [
      'none after the only differing desired key is set to null (rule 39)',
      lamp,
      { state: { desired: { color: null } } },
      undefined,
    ],
    ['none after state: null', lamp, { state: null }, undefined],
    [
      'every differing key, not only the ones the update touched (rule 39)',
      moods,
      { state: { desired: { mode: 'turbo' } } },
      {
        state: { color: 'red', mode: 'turbo' },
        metadata: { color: t(T0), mode: t(NOW) },
        version: 4,
        timestamp: NOW,
      },
    ],
    [
      'after a reported-only update that leaves a difference (rule 39, Q10)',
      lamp,
      { state: { reported: { power: 'off' } }, clientToken: 'tok-4' },
      {
        state: { color: 'red' },
        metadata: { color: t(T0) },
        version: 11,
        timestamp: NOW,
        clientToken: 'tok-4',
      },
    ],
    [
      'after a reported-only update that deletes a reported key desired still holds (rule 37)',
      settled,
      { state: { reported: { color: null } } },
      { state: { color: 'green' }, metadata: { color: t(T0) }, version: 5, timestamp: NOW },
    ],
    [
      'none after a report that catches up with desired (rule 49)',
      lamp,
      { state: { reported: { color: 'red' } } },
      undefined,
    ],
    [
      'nested: the path to the differing leaf and only its metadata (rules 37, 39)',
      lights,
      { state: { desired: { lights: { color: { g: 255 } } } } },
      {
        state: { lights: { color: { g: 255 } } },
        metadata: { lights: { color: { g: t(NOW) } } },
        version: 7,
        timestamp: NOW,
      },
    ],
  ])('%s', (_rule, current, request, expected) => {
    const act = () => update(current, request);

    const { delta } = act();

    expect(delta).toStrictEqual(expected);
  });
});

describe('applyUpdate /update/documents (rule 43, Q4)', () => {
  it.each<[string, ShadowRecord | undefined, UpdateRequest, number, JsonObject]>([
    [
      'the first update of a new shadow has previous: null (Q4)',
      undefined,
      { state: { reported: { a: 1 } } },
      NOW,
      {
        previous: null,
        current: { state: { reported: { a: 1 } }, metadata: { reported: { a: t(NOW) } }, version: 1 },
        timestamp: NOW,
      },
    ],
    [
      'full snapshots without delta, timestamp or clientToken of their own; previous.version = current.version − 1',
      lamp,
      { state: { reported: { power: 'off' } }, clientToken: 'tok-5' },
      NOW,
      {
        previous: {
          state: { desired: { color: 'red' }, reported: { color: 'green', power: 'on' } },
          metadata: { desired: { color: t(T0) }, reported: { color: t(T0), power: t(T0) } },
          version: 10,
        },
        current: {
          state: { desired: { color: 'red' }, reported: { color: 'green', power: 'off' } },
          metadata: { desired: { color: t(T0) }, reported: { color: t(T0), power: t(NOW) } },
          version: 11,
        },
        timestamp: NOW,
        clientToken: 'tok-5',
      },
    ],
    [
      'a deleted shadow recreated within 48 h: no previous document, numbering continues (Q3, Q4)',
      deletedRecord(7, T0),
      { state: { desired: { a: 1 } } },
      T0 + HOUR,
      {
        previous: null,
        current: { state: { desired: { a: 1 } }, metadata: { desired: { a: t(T0 + HOUR) } }, version: 8 },
        timestamp: T0 + HOUR,
      },
    ],
    [
      'after state: null the current snapshot is empty (rule 10)',
      settled,
      { state: null },
      NOW,
      {
        previous: {
          state: { desired: { color: 'green' }, reported: { color: 'green' } },
          metadata: { desired: { color: t(T0) }, reported: { color: t(T0) } },
          version: 4,
        },
        current: { state: {}, metadata: {}, version: 5 },
        timestamp: NOW,
      },
    ],
  ])('%s', (_rule, current, request, nowSeconds, expected) => {
    const act = () => update(current, request, nowSeconds);

    const { documents } = act();

    expect(documents).toStrictEqual(expected);
  });

  it.each<[string, ShadowRecord | undefined, UpdateRequest, number, boolean]>([
    [
      'a desired change with a delta',
      lamp,
      { state: { desired: { color: 'blue' } }, clientToken: 'x' },
      11,
      true,
    ],
    ['a report on a new shadow, without delta', undefined, { state: { reported: { a: 1 } } }, 1, false],
  ])(
    'accepted, delta and documents of one update carry the same version and timestamp (rule 28): %s',
    (_case, current, request, version, hasDelta) => {
      const act = () => update(current, request);

      const { record, accepted, delta, documents } = act();

      expect({
        versions: [
          record.version,
          accepted.version,
          (documents.current as JsonObject).version,
          delta?.version,
        ],
        timestamps: [record.timestamp, accepted.timestamp, documents.timestamp, delta?.timestamp],
      }).toStrictEqual({
        versions: [version, version, version, hasDelta ? version : undefined],
        timestamps: [NOW, NOW, NOW, hasDelta ? NOW : undefined],
      });
    },
  );
});

describe('applyUpdate stored record (rules 10–13, 33, 36, Q14)', () => {
  it.each<[string, ShadowRecord | undefined, UpdateRequest, ShadowRecord]>([
    [
      'deleting the last desired key drops the section and its metadata (Q14)',
      lamp,
      { state: { desired: { color: null } } },
      liveRecord({ reported: { color: 'green', power: 'on' } }, 11, NOW, {
        reported: { color: t(T0), power: t(T0) },
      }),
    ],
    [
      'desired: null removes the section and its metadata (rules 12, 34)',
      lamp,
      { state: { desired: null } },
      liveRecord({ reported: { color: 'green', power: 'on' } }, 11, NOW, {
        reported: { color: t(T0), power: t(T0) },
      }),
    ],
    [
      'desired: null and a reported update in one request',
      lamp,
      { state: { desired: null, reported: { color: 'red' } } },
      liveRecord({ reported: { color: 'red', power: 'on' } }, 11, NOW, {
        reported: { color: t(NOW), power: t(T0) },
      }),
    ],
    [
      'state: null empties both sections and the shadow stays (rule 10)',
      lamp,
      { state: null },
      liveRecord({}, 11, NOW, {}),
    ],
    [
      'state: {} changes nothing but version and time (rule 11)',
      lamp,
      { state: {} },
      liveRecord(lamp.state, 11, NOW, lamp.metadata),
    ],
    [
      'desired: {} on a shadow without desired adds no empty section (rules 11, 36)',
      liveRecord({ reported: { a: 1 } }, 2, T0),
      { state: { desired: {} } },
      liveRecord({ reported: { a: 1 } }, 3, NOW, { reported: { a: t(T0) } }),
    ],
    [
      'only the leaves written get the new timestamp (rule 33)',
      lamp,
      { state: { reported: { power: 'off' } } },
      liveRecord({ desired: { color: 'red' }, reported: { color: 'green', power: 'off' } }, 11, NOW, {
        desired: { color: t(T0) },
        reported: { color: t(T0), power: t(NOW) },
      }),
    ],
    [
      'AWS never clears desired when reported catches up (rule 23)',
      lamp,
      { state: { reported: { color: 'red' } } },
      liveRecord({ desired: { color: 'red' }, reported: { color: 'red', power: 'on' } }, 11, NOW, {
        desired: { color: t(T0) },
        reported: { color: t(NOW), power: t(T0) },
      }),
    ],
    [
      'a recreated shadow starts from empty state, not the state before the delete (rule 27)',
      deletedRecord(7, T0),
      { state: { reported: { a: 1 } } },
      liveRecord({ reported: { a: 1 } }, 8, NOW),
    ],
  ])('%s', (_rule, current, request, expected) => {
    const act = () => update(current, request);

    const { record } = act();

    expect(record).toStrictEqual(expected);
  });

  it.each<[string, UpdateRequest]>([
    ['a nested merge', { state: { desired: { color: 'blue', extra: { a: [1] } } }, clientToken: 'x' }],
    ['state: null', { state: null }],
    ['a section set to null', { state: { desired: null, reported: { power: null } } }],
    ['deleting the last desired key', { state: { desired: { color: null } } }],
  ])('leaves the stored record and the request untouched: %s', (_case, request) => {
    const frozen = deepFreeze(structuredClone(request));

    const act = () => update(lamp, frozen);

    expect(act).not.toThrow();
    expect(frozen).toStrictEqual(request);
  });
});

describe('applyUpdate size limit on the merged state (rules 18, 35, 46)', () => {
  /** A live shadow whose state (`{"reported":{"blob":"xxx"}}`) is exactly `bytes` of compact JSON. */
  function storedOfBytes(bytes: number): ShadowRecord {
    const overhead = jsonByteLength({ reported: { blob: '' } });
    return liveRecord({ reported: { blob: 'x'.repeat(bytes - overhead) } }, 5, T0);
  }
  /** The size of `{"desired":{"a":"…"}}` added to a state that has only reported: `,"desired":{"a":"…"}`. */
  const addedBy = (value: string) => jsonByteLength({ desired: { a: value } }) - 1;
  /** An array of zeros whose `{"reported":{"arr":[…]}}` is exactly 8192 bytes, with ~24 bytes of metadata per element. */
  const zeros = Array(4085).fill(0);
  const raisedLimits: ShadowLimits = { ...AWS_SHADOW_LIMITS, maxStateBytes: 30_720 };
  const deletions: JsonObject = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`k${i}`, null]));

  it.each<[string, ShadowRecord | undefined, UpdateRequest, ShadowLimits, Outcome]>([
    [
      'a 5-byte update refused because the stored document is near 8 KB (rule 18)',
      storedOfBytes(8180),
      { state: { desired: { a: '12345' } } },
      AWS_SHADOW_LIMITS,
      { code: 413, message: 'The payload exceeds the maximum size allowed' },
    ],
    [
      'an update that brings the merged state to exactly 8192 bytes is accepted',
      storedOfBytes(8192 - addedBy('12345')),
      { state: { desired: { a: '12345' } } },
      AWS_SHADOW_LIMITS,
      'accepted',
    ],
    [
      'one byte more is refused',
      storedOfBytes(8193 - addedBy('12345')),
      { state: { desired: { a: '12345' } } },
      AWS_SHADOW_LIMITS,
      { code: 413, message: 'The payload exceeds the maximum size allowed' },
    ],
    [
      'replacing the big value with a small one near the limit is accepted: the merged state counts',
      storedOfBytes(8190),
      { state: { reported: { blob: 'small', extra: 'x'.repeat(100) } } },
      AWS_SHADOW_LIMITS,
      'accepted',
    ],
    [
      'metadata does not count: 8192 bytes of state with ~98 KB of metadata (rule 35)',
      undefined,
      { state: { reported: { arr: zeros } } },
      AWS_SHADOW_LIMITS,
      'accepted',
    ],
    [
      'a raised limit accepts what AWS refuses (rule 46)',
      storedOfBytes(8180),
      { state: { desired: { a: '12345' } } },
      raisedLimits,
      'accepted',
    ],
    [
      'over a raised limit is still refused',
      storedOfBytes(30_700),
      { state: { desired: { a: 'x'.repeat(30) } } },
      raisedLimits,
      { code: 413, message: 'The payload exceeds the maximum size allowed' },
    ],
    [
      'a request of ~9 KB of deletions on a small shadow is accepted (rule 18: not the request)',
      lamp,
      { state: { desired: deletions } },
      AWS_SHADOW_LIMITS,
      'accepted',
    ],
    [
      'state: null on a shadow stored over the limit is accepted (the merged state is empty)',
      storedOfBytes(9000),
      { state: null },
      AWS_SHADOW_LIMITS,
      'accepted',
    ],
  ])('%s', (_rule, current, request, limits, expected) => {
    const act = () => update(current, request, NOW, limits);

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual(expected);
  });

  it('measures exactly what it claims: the array state is 8192 bytes and its metadata is larger', () => {
    const { record } = update(undefined, { state: { reported: { arr: zeros } } });

    const sizes = [jsonByteLength(record.state), jsonByteLength(record.metadata) > 8192];

    expect(sizes).toEqual([8192, true]);
  });
});

describe('getDocument (rules 30, 38, 48, Q2, Q12, Q14)', () => {
  const nested = deepFreeze(
    liveRecord(
      {
        desired: { lights: { color: { r: 255, g: 255 } } },
        reported: { lights: { color: { r: 255, g: 0 } } },
      },
      18,
      T0,
    ),
  );

  it.each<[string, ShadowRecord, PlainRequest, JsonObject]>([
    [
      'desired ≠ reported: state.delta and metadata.delta (Q2); timestamp is the time of the GET (rule 30)',
      lamp,
      {},
      {
        state: {
          desired: { color: 'red' },
          reported: { color: 'green', power: 'on' },
          delta: { color: 'red' },
        },
        metadata: {
          desired: { color: t(T0) },
          reported: { color: t(T0), power: t(T0) },
          delta: { color: t(T0) },
        },
        version: 10,
        timestamp: NOW,
      },
    ],
    [
      'desired = reported: no state.delta and no metadata.delta (rule 48)',
      settled,
      {},
      {
        state: { desired: { color: 'green' }, reported: { color: 'green' } },
        metadata: { desired: { color: t(T0) }, reported: { color: t(T0) } },
        version: 4,
        timestamp: NOW,
      },
    ],
    [
      'echoes the clientToken of the get (rules 19, 38)',
      settled,
      { clientToken: 'get-1' },
      {
        state: { desired: { color: 'green' }, reported: { color: 'green' } },
        metadata: { desired: { color: t(T0) }, reported: { color: t(T0) } },
        version: 4,
        timestamp: NOW,
        clientToken: 'get-1',
      },
    ],
    [
      'only desired: the delta is all of desired',
      liveRecord({ desired: { a: 1 } }, 2, T0),
      {},
      {
        state: { desired: { a: 1 }, delta: { a: 1 } },
        metadata: { desired: { a: t(T0) }, delta: { a: t(T0) } },
        version: 2,
        timestamp: NOW,
      },
    ],
    [
      'only reported: no delta',
      liveRecord({ reported: { a: 1 } }, 2, T0),
      {},
      { state: { reported: { a: 1 } }, metadata: { reported: { a: t(T0) } }, version: 2, timestamp: NOW },
    ],
    [
      'nested delta with the same path in metadata.delta (Q2)',
      nested,
      {},
      {
        state: { ...nested.state, delta: { lights: { color: { g: 255 } } } } as JsonObject,
        metadata: { ...nested.metadata, delta: { lights: { color: { g: t(T0) } } } } as unknown as JsonObject,
        version: 18,
        timestamp: NOW,
      },
    ],
    [
      'after state: null: empty state and metadata (Q12)',
      update(lamp, { state: null }, T0 + 50).record,
      {},
      { state: {}, metadata: {}, version: 11, timestamp: NOW },
    ],
    [
      'after the last desired key is deleted: no desired section (Q14)',
      update(lamp, { state: { desired: { color: null } } }, T0 + 50).record,
      {},
      {
        state: { reported: { color: 'green', power: 'on' } },
        metadata: { reported: { color: t(T0), power: t(T0) } },
        version: 11,
        timestamp: NOW,
      },
    ],
  ])('%s', (_rule, record, request, expected) => {
    const act = () => getDocument(named, record, request, atSecond(NOW));

    const document = act();

    expect(document).toStrictEqual(expected);
  });

  it.each<[string, ShadowId, ShadowRecord | undefined, string]>([
    [
      'a never-written named shadow, name in single quotes (rule 41)',
      named,
      undefined,
      "No shadow exists with name: 'cfg'",
    ],
    [
      'a never-written classic shadow: the thing name (Q5)',
      classic,
      undefined,
      "No shadow exists with name: 'thing-1'",
    ],
    ['a deleted named shadow (rule 20)', named, deletedRecord(10, T0), "No shadow exists with name: 'cfg'"],
    ['a deleted classic shadow', classic, deletedRecord(10, T0), "No shadow exists with name: 'thing-1'"],
  ])('404 for %s', (_rule, id, record, message) => {
    const act = () => getDocument(id, record, {}, atSecond(NOW));

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual({ code: 404, message });
  });
});

describe('applyDelete (rule 44, Q3)', () => {
  it.each<[string, ShadowId, ShadowRecord, PlainRequest, JsonObject]>([
    [
      'classic: the stored version and the time of the delete',
      classic,
      lamp,
      {},
      { version: 10, timestamp: NOW },
    ],
    [
      'named, echoing the clientToken',
      named,
      lamp,
      { clientToken: 'del-1' },
      { version: 10, timestamp: NOW, clientToken: 'del-1' },
    ],
    ['with the matching version', named, lamp, { version: 10 }, { version: 10, timestamp: NOW }],
  ])('%s', (_rule, id, record, request, expectedAccepted) => {
    const act = () => applyDelete(id, record, request, atSecond(NOW));

    const outcome = act();

    expect(outcome).toStrictEqual({
      accepted: expectedAccepted,
      record: { state: {}, metadata: {}, version: 10, timestamp: NOW, exists: false },
    });
  });

  it.each<[string, ShadowId, ShadowRecord | undefined, PlainRequest, Outcome]>([
    [
      'a never-written classic shadow',
      classic,
      undefined,
      {},
      { code: 404, message: "No shadow exists with name: 'thing-1'" },
    ],
    [
      'a never-written named shadow',
      named,
      undefined,
      {},
      { code: 404, message: "No shadow exists with name: 'cfg'" },
    ],
    [
      'an already deleted shadow',
      named,
      deletedRecord(10, T0),
      {},
      { code: 404, message: "No shadow exists with name: 'cfg'" },
    ],
    [
      'a version that does not match',
      named,
      lamp,
      { version: 9 },
      { code: 409, message: 'Version conflict' },
    ],
  ])('refuses %s', (_rule, id, record, request, expected) => {
    const act = () => applyDelete(id, record, request, atSecond(NOW));

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual(expected);
  });

  it('delete, get, recreate: 404 while deleted, then the numbering continues and previous is null (rule 27, Q3, Q4)', () => {
    const deleted = applyDelete(named, lamp, {}, atSecond(NOW)).record;

    const afterDelete = outcomeOf(() => getDocument(named, deleted, {}, atSecond(NOW + 1)));
    const recreated = update(deleted, { state: { reported: { color: 'blue' } } }, NOW + HOUR);

    expect(afterDelete).toStrictEqual({ code: 404, message: "No shadow exists with name: 'cfg'" });
    expect([recreated.record.version, recreated.documents.previous]).toStrictEqual([11, null]);
  });
});

describe('rejectedDocument (rules 40, 41, Q8)', () => {
  it.each<[string, ShadowRequestError, string | undefined, JsonObject]>([
    [
      '409 with the clientToken of the request, no timestamp',
      new ShadowRequestError(409, SHADOW_MESSAGES.versionConflict),
      'tok-9',
      { code: 409, message: 'Version conflict', clientToken: 'tok-9' },
    ],
    [
      '404 without clientToken: no clientToken key, no timestamp',
      new ShadowRequestError(404, SHADOW_MESSAGES.noShadow('cfg')),
      undefined,
      { code: 404, message: "No shadow exists with name: 'cfg'" },
    ],
    [
      '400 naming the invalid node',
      new ShadowRequestError(400, SHADOW_MESSAGES.invalidNode('delta')),
      undefined,
      { code: 400, message: "State contains an invalid node: 'delta'" },
    ],
    [
      '413 from a refused update',
      errorOf(() => update(undefined, { state: { reported: { blob: 'x'.repeat(9000) } } })),
      'tok-10',
      { code: 413, message: 'The payload exceeds the maximum size allowed', clientToken: 'tok-10' },
    ],
  ])('%s', (_rule, error, clientToken, expected) => {
    const act = () => rejectedDocument(error, clientToken);

    const document = act();

    expect(document).toStrictEqual(expected);
  });

  it.each<[string, keyof typeof SHADOW_MESSAGES, string]>([
    ['invalidJson', 'invalidJson', 'Invalid JSON'],
    ['missingState', 'missingState', 'Missing required node: state'],
    ['stateNotObject', 'stateNotObject', 'State node must be an object'],
    ['desiredNotObject', 'desiredNotObject', 'Desired node must be an object'],
    ['reportedNotObject', 'reportedNotObject', 'Reported node must be an object'],
    ['invalidVersion', 'invalidVersion', 'Invalid version'],
    ['invalidClientToken', 'invalidClientToken', 'Invalid clientToken'],
    ['thingNotFound', 'thingNotFound', 'Thing not found'],
    ['versionConflict', 'versionConflict', 'Version conflict'],
    ['tooLarge', 'tooLarge', 'The payload exceeds the maximum size allowed'],
    [
      'unsupportedEncoding',
      'unsupportedEncoding',
      'Unsupported documented encoding; supported encoding is UTF-8',
    ],
    ['internal', 'internal', 'Internal service failure'],
  ])('the %s message is AWS verbatim (rule 41)', (_name, key, expected) => {
    const message = SHADOW_MESSAGES[key];

    expect(message).toBe(expected);
  });
});
