import { describe, expect, it } from 'vitest';
import {
  AWS_SHADOW_LIMITS,
  type MetadataSections,
  type ShadowRecord,
  type ShadowSections,
  type UpdateRequest,
} from '../../../../lambdas/domain/shadow/document.ts';
import { SHADOW_MESSAGES, ShadowRequestError } from '../../../../lambdas/domain/shadow/errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../../lambdas/domain/shadow/json.ts';
import {
  applyDelete,
  applyUpdate,
  getDocument,
  rejectedDocument,
  type ShadowId,
} from '../../../../lambdas/domain/shadow/operations.ts';
import { parseUpdateRequest } from '../../../../lambdas/domain/shadow/request.ts';
import {
  asObject,
  atSecond,
  deletedRecord,
  errorOf,
  listJsonFiles,
  liveRecord,
  type Outcome,
  outcomeOf,
  readJson,
} from './support.ts';

/**
 * AWS's published example documents (test/fixtures/shadow/aws-examples, described in
 * docs/shadow-semantics.md "Fixtures") replayed through the domain. Every file is listed in at least
 * one table or scenario below; the last test fails when a file is in none.
 */

interface AwsExample {
  readonly name: string;
  readonly kind: string;
  readonly document: JsonValue;
  readonly request?: JsonValue;
  readonly previous?: JsonValue;
  readonly expect?: string;
  readonly shadowName?: string;
  readonly notes?: string;
}

const examplesDir = new URL('../../../fixtures/shadow/aws-examples/', import.meta.url);
const used = new Set<string>();

/** Loads a fixture and records that a test uses it. Called while tests are collected, not run. */
function example(name: string): AwsExample {
  used.add(name);
  const raw = asObject(readJson(new URL(name, examplesDir)), name);
  if (typeof raw.kind !== 'string' || raw.document === undefined) throw new Error(`${name}: kind/document`);
  return {
    name,
    kind: raw.kind,
    document: raw.document,
    ...(raw.request === undefined ? {} : { request: raw.request }),
    ...(raw.previous === undefined ? {} : { previous: raw.previous }),
    ...(typeof raw.expect === 'string' ? { expect: raw.expect } : {}),
    ...(typeof raw.shadowName === 'string' ? { shadowName: raw.shadowName } : {}),
    ...(typeof raw.notes === 'string' ? { notes: raw.notes } : {}),
  };
}

/**
 * A test replaying several fixtures in order. The files are registered while tests are collected, so
 * the coverage test at the end holds whichever tests are selected; `fx` reads only the declared ones.
 */
function walkthrough(
  title: string,
  files: readonly string[],
  body: (fx: (name: string) => AwsExample) => void,
): void {
  for (const name of files) used.add(name);
  it(title, () => {
    const fx = (name: string): AwsExample => {
      if (!files.includes(name)) throw new Error(`${name} is not declared for "${title}"`);
      return example(name);
    };
    body(fx);
  });
}

/** Registers the fixture names of a table while tests are collected, and returns the table. */
function listed<Row extends readonly [string, ...unknown[]]>(rows: Row[]): Row[] {
  for (const [name] of rows) used.add(name);
  return rows;
}

function numberAt(value: JsonValue | undefined, what: string): number {
  if (typeof value !== 'number') throw new Error(`${what} is not a number`);
  return value;
}

/** The `desired` / `reported` sections of a fixture state; anything else in it is a fixture error. */
function sections(value: JsonValue | undefined, what: string): ShadowSections {
  const state = asObject(value, what);
  const out: ShadowSections = {};
  for (const [key, section] of Object.entries(state)) {
    if (key === 'desired') out.desired = asObject(section, `${what}.desired`);
    else if (key === 'reported') out.reported = asObject(section, `${what}.reported`);
    else if (key !== 'delta') throw new Error(`${what} has ${key}`);
  }
  return out;
}

/**
 * A stored record from a fixture snapshot `{state, metadata?, version, timestamp?}`. Without metadata
 * (AWS left it out of some examples) every leaf is taken as written at `fallbackTimestamp`.
 */
function recordFrom(snapshot: JsonValue | undefined, what: string, fallbackTimestamp: number): ShadowRecord {
  const s = asObject(snapshot, what);
  const state = sections(s.state, `${what}.state`);
  const timestamp = typeof s.timestamp === 'number' ? s.timestamp : fallbackTimestamp;
  const version = numberAt(s.version, `${what}.version`);
  if (s.metadata === undefined) return liveRecord(state, version, timestamp);
  const { delta: _delta, ...metadata } = asObject(s.metadata, `${what}.metadata`);
  return liveRecord(state, version, timestamp, metadata as unknown as MetadataSections);
}

const parse = (request: JsonValue): UpdateRequest =>
  parseUpdateRequest(JSON.stringify(request), AWS_SHADOW_LIMITS);

/** A copy of `value` without the given dot paths (fields a fixture's notes say AWS got wrong or left out). */
function without(value: JsonValue, paths: readonly string[]): JsonValue {
  const copy = structuredClone(value);
  for (const path of paths) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let node: JsonValue | undefined = copy;
    for (const key of keys) node = isJsonObject(node) ? node[key] : undefined;
    if (isJsonObject(node)) delete node[last];
  }
  return copy;
}

const sortedKeys = (value: JsonValue | undefined, ignored: readonly string[] = []): string[] =>
  Object.keys(asObject(value, 'document'))
    .filter((key) => !ignored.includes(key))
    .sort();

describe('request examples: parseUpdateRequest accepts them unchanged', () => {
  it.each<[string, boolean]>(
    listed([
      ['app-lwt-reported-disconnected-request.json', false],
      ['app-reported-connected-request.json', false],
      ['dataflow-delete-property-request.json', false],
      ['dataflow-optimistic-matching-version-request.json', false],
      // Rejected by the version check of the update (see the optimistic scenario), not by parsing.
      ['dataflow-optimistic-stale-version-request.json', false],
      ['dataflow-update-desired-request.json', false],
      ['dataflow-update-reported-request.json', false],
      ['device-create-classic-shadow-request.json', false],
      // Shown by AWS without the "state" wrapper (fixture notes).
      ['document-array-update.json', true],
      ['document-remove-desired-request.json', false],
      ['mqtt-update-desired-request.json', false],
      ['mqtt-update-reported-request.json', false],
      ['sim-cli-update-desired-request.json', false],
      ['sim-create-reported-request.json', false],
      ['sim-device-report-request.json', false],
    ]),
  )('%s', (name, wrap) => {
    const fixture = example(name);
    const body = wrap ? { state: fixture.document } : fixture.document;

    const parsed = parse(body);

    expect(parsed).toStrictEqual(body);
  });

  it.each<[string, Outcome]>(
    listed([
      // Shown without the "state" wrapper; AWS gives no code, Q7 picks 400 Invalid JSON.
      ['document-array-null-element-rejected.json', { code: 400, message: 'Invalid JSON' }],
    ]),
  )('%s is rejected', (name, expected) => {
    const fixture = example(name);

    const outcome = outcomeOf(() => parse({ state: fixture.document }));

    expect([fixture.expect, outcome]).toStrictEqual(['rejected', expected]);
  });
});

describe('state examples (the value of "state"): accepted as an update and stored as shown (rules 17, 36)', () => {
  it.each<[string]>(
    listed([
      ['bulb-console-state.json'],
      ['document-array-final-state.json'],
      ['document-array-initial-state.json'],
      ['document-empty-document.json'],
      ['document-empty-no-desired.json'],
      ['document-empty-no-reported.json'],
      ['lights-console-edit-state.json'],
      ['limits-max-depth-example.json'],
    ]),
  )('%s', (name) => {
    const fixture = example(name);

    const { record } = applyUpdate(
      undefined,
      parse({ state: fixture.document }),
      atSecond(1_700_000_000),
      AWS_SHADOW_LIMITS,
    );

    expect(record.state).toStrictEqual(fixture.document);
  });
});

/** How to replay one update example: what it produced, from which shadow, with which request. */
interface UpdateReplay {
  readonly produces: 'accepted' | 'delta' | 'documents';
  /** The shadow before the update; default: the fixture's `previous`. */
  readonly previous?: (fixture: AwsExample, timestamp: number) => ShadowRecord | undefined;
  /** The update request; default: the fixture's `request`. */
  readonly request?: (fixture: AwsExample) => JsonValue;
  /** Dot paths left out of both sides, each justified by the fixture's notes. */
  readonly ignore?: readonly string[];
}

const fromDocumentPrevious = (fixture: AwsExample, timestamp: number): ShadowRecord =>
  recordFrom(
    asObject(fixture.document, fixture.name).previous,
    `${fixture.name} document.previous`,
    timestamp,
  );

describe('update examples replayed through applyUpdate at the fixture timestamp', () => {
  const lightsEdit = example('lights-console-edit-state.json');
  const simCreate = example('sim-create-reported-request.json');

  it.each<[string, UpdateReplay]>(
    listed([
      ['sim-cli-update-accepted.json', { produces: 'accepted' }],
      ['sim-update-accepted-reported.json', { produces: 'accepted' }],
      ['sim-update-delta.json', { produces: 'delta' }],
      ['sim-update-documents.json', { produces: 'documents', previous: fromDocumentPrevious }],
      [
        // The description says the update set desired.color and reported.color to yellow.
        'lights-update-documents.json',
        {
          produces: 'documents',
          previous: fromDocumentPrevious,
          request: () => ({ state: { desired: { color: 'yellow' }, reported: { color: 'yellow' } } }),
        },
      ],
      [
        // The console edit (lights-console-edit-state) on the green/green shadow at version 12.
        'lights-update-delta.json',
        {
          produces: 'delta',
          previous: (_f, timestamp) =>
            liveRecord(
              {
                desired: { welcome: 'aws-iot', color: 'green' },
                reported: { welcome: 'aws-iot', color: 'green' },
              },
              12,
              timestamp - 600,
            ),
          request: () => ({ state: lightsEdit.document }),
        },
      ],
      [
        // A real AWS answer to {"state": null} on a shadow at version 17.
        'observed/moto-9237-state-null-accepted.json',
        {
          produces: 'accepted',
          previous: (_f, timestamp) => liveRecord({ reported: { a: 1 } }, 17, timestamp - 60),
        },
      ],
      [
        // A real answer to a desired-only update without clientToken on a shadow at version 221.
        'observed/embedded-c-32-update-accepted.json',
        {
          produces: 'accepted',
          previous: (_f, timestamp) => liveRecord({}, 221, timestamp - 60),
          request: (f) => ({ state: asObject(f.document, f.name).state ?? null }),
        },
      ],
      [
        // Notes: probably the update/accepted of sim-create-reported-request relabelled; version 3 for a
        // new shadow means the name had been deleted at version 2 (numbering continues, rule 27).
        'sim-get-accepted-after-create.json',
        {
          produces: 'accepted',
          previous: (_f, timestamp) => deletedRecord(2, timestamp - 3600),
          request: () => simCreate.document,
        },
      ],
      [
        // Notes: illustrative, carries no metadata. The request is the state it echoes.
        'overview-message-order-update-1.json',
        {
          produces: 'accepted',
          request: (f) => ({ state: asObject(f.document, f.name).state ?? null }),
          ignore: ['metadata'],
        },
      ],
    ]),
  )('%s', (name, replay) => {
    const fixture = example(name);
    const timestamp = numberAt(asObject(fixture.document, name).timestamp, `${name} timestamp`);
    const previous = replay.previous
      ? replay.previous(fixture, timestamp)
      : recordFrom(fixture.previous, `${name} previous`, timestamp);
    const request = parse(replay.request ? replay.request(fixture) : (fixture.request ?? null));

    const outcome = applyUpdate(previous, request, atSecond(timestamp), AWS_SHADOW_LIMITS);

    const ignore = replay.ignore ?? [];
    expect(without(outcome[replay.produces] ?? null, ignore)).toStrictEqual(
      without(fixture.document, ignore),
    );
  });

  it('observed/embedded-c-32: the delta that followed had the same version and timestamp (rule 28)', () => {
    const fixture = example('observed/embedded-c-32-update-accepted.json');
    const document = asObject(fixture.document, fixture.name);
    const timestamp = numberAt(document.timestamp, 'timestamp');

    const { delta } = applyUpdate(
      liveRecord({}, 221, timestamp - 60),
      parse({ state: document.state ?? null }),
      atSecond(timestamp),
      AWS_SHADOW_LIMITS,
    );

    expect([delta?.version, delta?.timestamp]).toStrictEqual([document.version, document.timestamp]);
  });
});

/** How to replay one GET example; by default the stored record is the document without its delta. */
interface GetReplay {
  readonly record?: (fixture: AwsExample, timestamp: number) => ShadowRecord;
  readonly ignore?: readonly string[];
}

describe('get/accepted examples replayed through getDocument at the fixture timestamp (rules 38, 48, Q2)', () => {
  it.each<[string, GetReplay]>(
    listed([
      ['document-delta-state-flat.json', {}],
      // Notes: no metadata in the published example.
      ['document-delta-state-nested.json', { ignore: ['metadata'] }],
      ['lights-get-accepted.json', {}],
      ['sim-cli-get-final.json', {}],
      ['sim-cli-get-thing-shadow.json', {}],
      ['sim-get-accepted-after-create.json', {}],
      [
        // Legacy, and wrong twice per its notes: array metadata as a single {timestamp} and no delta
        // although desired.color differs. The record is the state as written at 12345 (rule 32 metadata).
        'document-example-legacy.json',
        {
          record: (f) => liveRecord(sections(asObject(f.document, f.name).state, f.name), 10, 12345),
          ignore: ['state.delta', 'metadata.delta', 'metadata.desired.sequence'],
        },
      ],
    ]),
  )('%s', (name, replay) => {
    const fixture = example(name);
    const document = asObject(fixture.document, name);
    const timestamp = numberAt(document.timestamp, `${name} timestamp`);
    const record = replay.record
      ? replay.record(fixture, timestamp)
      : recordFrom(document, name, timestamp - 1);
    const id: ShadowId = {
      thingName: 'thing-1',
      ...(fixture.shadowName ? { shadowName: fixture.shadowName } : {}),
    };
    const request = typeof document.clientToken === 'string' ? { clientToken: document.clientToken } : {};

    const produced = getDocument(id, record, request, atSecond(timestamp));

    const ignore = replay.ignore ?? [];
    expect(without(produced, ignore)).toStrictEqual(without(document, ignore));
  });

  it('document-example-legacy.json: where the legacy page is wrong, the GET follows rules 32 and 37', () => {
    const fixture = example('document-example-legacy.json');
    const state = sections(asObject(fixture.document, fixture.name).state, fixture.name);

    const produced = getDocument(
      { thingName: 'thing-1' },
      liveRecord(state, 10, 12345),
      {},
      atSecond(123456789),
    );

    const metadata = asObject(produced.metadata, 'metadata');
    expect([
      asObject(produced.state, 'state').delta,
      asObject(metadata.desired, 'desired').sequence,
    ]).toStrictEqual([
      { color: 'RED', sequence: ['RED', 'GREEN', 'BLUE'] },
      [{ timestamp: 12345 }, { timestamp: 12345 }, { timestamp: 12345 }],
    ]);
  });
});

describe('rejected and delete examples (rules 25, 40, 41, 44, Q5, Q8)', () => {
  const optimisticInitial = example('dataflow-optimistic-initial-state.json');
  const staleRequest = example('dataflow-optimistic-stale-version-request.json');

  it.each<[string, (fixture: AwsExample) => ShadowRequestError]>(
    listed([
      [
        'sim-get-rejected-404.json',
        (f) =>
          errorOf(() => getDocument({ thingName: 'thing-1', shadowName: f.shadowName }, undefined, {}, 0)),
      ],
      [
        'observed/ios-5388-get-rejected-404-named.json',
        (f) =>
          errorOf(() => getDocument({ thingName: 'thing-1', shadowName: f.shadowName }, undefined, {}, 0)),
      ],
      [
        // Notes: the echoed clientToken is not in AWS's request; it is passed here as if it were.
        'dataflow-optimistic-version-conflict-rejected.json',
        () =>
          errorOf(() =>
            applyUpdate(
              recordFrom(optimisticInitial.document, optimisticInitial.name, 1_591_000_000),
              parse(staleRequest.document),
              atSecond(1_591_000_100),
              AWS_SHADOW_LIMITS,
            ),
          ),
      ],
    ]),
  )('%s', (name, refuse) => {
    const fixture = example(name);
    const document = asObject(fixture.document, name);
    const clientToken = typeof document.clientToken === 'string' ? document.clientToken : undefined;

    const produced = rejectedDocument(refuse(fixture), clientToken);

    expect(produced).toStrictEqual(document);
  });

  it.each<[string, number]>(listed([['dataflow-delete-accepted.json', 4]]))(
    '%s (stored version %d)',
    (name, version) => {
      const fixture = example(name);
      const document = asObject(fixture.document, name);
      const timestamp = numberAt(document.timestamp, 'timestamp');

      const { accepted } = applyDelete(
        { thingName: 'thing-1' },
        liveRecord({ reported: { a: 1 } }, version, timestamp - 100),
        {},
        atSecond(timestamp),
      );

      expect(accepted).toStrictEqual(document);
    },
  );
});

describe('AWS walkthroughs replayed step by step', () => {
  walkthrough(
    'optimistic locking (data-flow page): version 10 accepted → final state at 11; version 9 → 409 (rule 25)',
    [
      'dataflow-optimistic-initial-state.json',
      'dataflow-optimistic-matching-version-request.json',
      'dataflow-optimistic-stale-version-request.json',
      'dataflow-optimistic-final-state.json',
    ],
    (fx) => {
      const initial = fx('dataflow-optimistic-initial-state.json');
      const matching = fx('dataflow-optimistic-matching-version-request.json');
      const stale = fx('dataflow-optimistic-stale-version-request.json');
      const final = asObject(fx('dataflow-optimistic-final-state.json').document, 'final');
      const stored = recordFrom(initial.document, initial.name, 1_591_000_000);

      const accepted = applyUpdate(
        stored,
        parse(matching.document),
        atSecond(1_591_000_100),
        AWS_SHADOW_LIMITS,
      );
      const refused = outcomeOf(() =>
        applyUpdate(stored, parse(stale.document), atSecond(1_591_000_100), AWS_SHADOW_LIMITS),
      );

      expect({ state: accepted.record.state, version: accepted.record.version }).toStrictEqual({
        state: final.state,
        version: final.version,
      });
      expect([stale.expect, refused]).toStrictEqual(['rejected', { code: 409, message: 'Version conflict' }]);
    },
  );

  walkthrough(
    'array replaced whole (document page): initial colors + update → final colors (rule 22)',
    ['document-array-initial-state.json', 'document-array-update.json', 'document-array-final-state.json'],
    (fx) => {
      const initial = sections(fx('document-array-initial-state.json').document, 'initial');
      const patch = fx('document-array-update.json').document;
      const final = fx('document-array-final-state.json').document;

      const { record } = applyUpdate(
        liveRecord(initial, 1, 100),
        parse({ state: patch }),
        atSecond(200),
        AWS_SHADOW_LIMITS,
      );

      expect(record.state).toStrictEqual(final);
    },
  );

  walkthrough(
    'light bulb console: welcome written at …892, color at …893 → the state, metadata and version 10 shown (rule 33)',
    ['bulb-console-state.json', 'bulb-console-metadata.json'],
    (fx) => {
      const state = sections(fx('bulb-console-state.json').document, 'bulb state');
      const shown = asObject(fx('bulb-console-metadata.json').document, 'bulb metadata');
      const welcome = parse({ state: { desired: { welcome: 'aws-iot' }, reported: { welcome: 'aws-iot' } } });
      const color = parse({ state: { desired: { color: 'yellow' }, reported: { color: 'yellow' } } });

      const first = applyUpdate(
        liveRecord({}, 8, 1620156000),
        welcome,
        atSecond(1620156892),
        AWS_SHADOW_LIMITS,
      );
      const second = applyUpdate(first.record, color, atSecond(1620156893), AWS_SHADOW_LIMITS);

      expect({
        state: second.record.state,
        metadata: second.record.metadata,
        version: second.record.version,
      }).toStrictEqual({ state, metadata: shown.metadata, version: shown.version });
    },
  );

  walkthrough(
    'message order (overview page): versions 10, 11, 12 and the deltas they really produce',
    [
      'overview-message-order-initial-state.json',
      'overview-message-order-update-1.json',
      'overview-message-order-update-2.json',
      'overview-message-order-delta-v11.json',
      'overview-message-order-delta-v12.json',
      'overview-message-order-final-state.json',
    ],
    (fx) => {
      const initial = fx('overview-message-order-initial-state.json');
      const update1 = fx('overview-message-order-update-1.json');
      const update2 = fx('overview-message-order-update-2.json');
      const delta11 = asObject(fx('overview-message-order-delta-v11.json').document, 'delta v11');
      const delta12 = fx('overview-message-order-delta-v12.json');
      const final = asObject(fx('overview-message-order-final-state.json').document, 'final');
      const first = asObject(update1.document, 'update 1');
      const second = asObject(update2.document, 'update 2');

      const v10 = applyUpdate(
        recordFrom(initial.document, initial.name, 0),
        parse({ state: first.state ?? null }),
        atSecond(numberAt(first.timestamp, 'ts')),
        AWS_SHADOW_LIMITS,
      );
      const v11 = applyUpdate(
        v10.record,
        parse({ state: second.state ?? null }),
        atSecond(numberAt(second.timestamp, 'ts')),
        AWS_SHADOW_LIMITS,
      );
      const v12 = applyUpdate(
        v11.record,
        parse({ state: { reported: { color: 'GREEN' } } }),
        atSecond(numberAt(final.timestamp, 'ts')),
        AWS_SHADOW_LIMITS,
      );

      // update-2 carries no metadata (notes); its state, version and timestamp must match.
      expect(without(v11.accepted, ['metadata'])).toStrictEqual(second);
      // delta-v11 notes: RED was written at version 10, so the RED delta carries 10, not 11.
      expect([v10.delta?.state, v10.delta?.version]).toStrictEqual([delta11.state, 10]);
      expect([v11.delta?.state, v11.delta?.version]).toStrictEqual([{ color: 'GREEN' }, 11]);
      // delta-v12 notes: desired GREEN = reported GREEN at 12, so no delta is published.
      expect([delta12.kind, v12.delta]).toStrictEqual(['delta', undefined]);
      // final-state notes: AWS shows only reported; desired GREEN is still stored (rule 23).
      expect({
        reported: v12.record.state.reported,
        version: v12.record.version,
        timestamp: v12.record.timestamp,
      }).toStrictEqual({
        reported: asObject(final.state, 'final state').reported,
        version: final.version,
        timestamp: final.timestamp,
      });
    },
  );

  walkthrough(
    'data flow: desired, then reported, then engine: null (rules 13, 23, 37, 39)',
    [
      'dataflow-update-desired-request.json',
      'dataflow-update-reported-request.json',
      'dataflow-delete-property-request.json',
    ],
    (fx) => {
      const desired = parse(fx('dataflow-update-desired-request.json').document);
      const reported = parse(fx('dataflow-update-reported-request.json').document);
      const removeEngine = parse(fx('dataflow-delete-property-request.json').document);

      const step1 = applyUpdate(undefined, desired, atSecond(1000), AWS_SHADOW_LIMITS);
      const step2 = applyUpdate(step1.record, reported, atSecond(1001), AWS_SHADOW_LIMITS);
      const step3 = applyUpdate(step2.record, removeEngine, atSecond(1002), AWS_SHADOW_LIMITS);

      expect(step1.delta?.state).toStrictEqual({ color: { r: 10 }, engine: 'ON' });
      expect([step2.delta, step2.record.state.desired]).toStrictEqual([
        undefined,
        { color: { r: 10 }, engine: 'ON' },
      ]);
      expect([step3.delta, step3.record.state, step3.record.version]).toStrictEqual([
        undefined,
        { desired: { color: { r: 10 } }, reported: { color: { r: 10 }, engine: 'ON' } },
        3,
      ]);
    },
  );

  walkthrough(
    'MQTT page: desired red/on gives a delta, the matching report clears it (rules 37, 49)',
    ['mqtt-update-desired-request.json', 'mqtt-update-reported-request.json'],
    (fx) => {
      const desired = parse(fx('mqtt-update-desired-request.json').document);
      const reported = parse(fx('mqtt-update-reported-request.json').document);

      const step1 = applyUpdate(undefined, desired, atSecond(1000), AWS_SHADOW_LIMITS);
      const step2 = applyUpdate(step1.record, reported, atSecond(1001), AWS_SHADOW_LIMITS);

      expect([step1.delta?.state, step2.delta, step2.record.version]).toStrictEqual([
        { color: 'red', power: 'on' },
        undefined,
        2,
      ]);
    },
  );

  walkthrough(
    'app page: connected "true" then the last-will "false" replaces it, no delta (rules 21, 37)',
    ['app-reported-connected-request.json', 'app-lwt-reported-disconnected-request.json'],
    (fx) => {
      const connected = parse(fx('app-reported-connected-request.json').document);
      const lastWill = parse(fx('app-lwt-reported-disconnected-request.json').document);

      const step1 = applyUpdate(undefined, connected, atSecond(1000), AWS_SHADOW_LIMITS);
      const step2 = applyUpdate(step1.record, lastWill, atSecond(1001), AWS_SHADOW_LIMITS);

      expect([step2.record.state, step2.delta, step2.record.version]).toStrictEqual([
        { reported: { connected: 'false' } },
        undefined,
        2,
      ]);
    },
  );

  walkthrough(
    'device page: get rejected (no shadow yet), the update creates the classic shadow at version 1 (rules 20, 26, Q4, Q5)',
    ['device-create-classic-shadow-request.json'],
    (fx) => {
      const create = parse(fx('device-create-classic-shadow-request.json').document);
      const thing: ShadowId = { thingName: 'My_IoT_Thing' };

      const before = outcomeOf(() => getDocument(thing, undefined, {}, atSecond(1000)));
      const created = applyUpdate(undefined, create, atSecond(1001), AWS_SHADOW_LIMITS);
      const after = getDocument(thing, created.record, {}, atSecond(1002));

      expect(before).toStrictEqual({ code: 404, message: SHADOW_MESSAGES.noShadow('My_IoT_Thing') });
      expect([created.record.version, created.documents.previous]).toStrictEqual([1, null]);
      expect(after.state).toStrictEqual({ reported: { welcome: 'aws-iot', color: 'yellow' } });
    },
  );

  walkthrough(
    'document page: desired: null with a reported update removes desired and its metadata (rules 12, 34)',
    ['lights-console-edit-state.json', 'document-remove-desired-request.json'],
    (fx) => {
      const edited = sections(fx('lights-console-edit-state.json').document, 'edit');
      const request = parse(fx('document-remove-desired-request.json').document);

      const { record, accepted, delta } = applyUpdate(
        liveRecord(edited, 5, 100),
        request,
        atSecond(200),
        AWS_SHADOW_LIMITS,
      );

      expect({ state: record.state, metadata: record.metadata, delta }).toStrictEqual({
        state: { reported: { welcome: 'aws-iot', color: 'red' } },
        metadata: { reported: { welcome: { timestamp: 100 }, color: { timestamp: 200 } } },
        delta: undefined,
      });
      expect(accepted.state).toStrictEqual({ reported: { color: 'red' }, desired: null });
    },
  );

  walkthrough(
    "named-shadow walkthrough: create (after a delete at 2), desired, report → each next step's previous, then the final GET",
    [
      'sim-create-reported-request.json',
      'sim-cli-update-desired-request.json',
      'sim-device-report-request.json',
      'sim-cli-get-final.json',
    ],
    (fx) => {
      const create = fx('sim-create-reported-request.json');
      const desire = fx('sim-cli-update-desired-request.json');
      const report = fx('sim-device-report-request.json');
      const finalGet = asObject(fx('sim-cli-get-final.json').document, 'final get');
      const id: ShadowId = { thingName: 'thing-1', shadowName: 'simShadow1' };
      const snapshot = (r: ShadowRecord) => ({ state: r.state, metadata: r.metadata, version: r.version });

      const v3 = applyUpdate(
        deletedRecord(2, 1591130000),
        parse(create.document),
        atSecond(1591140517),
        AWS_SHADOW_LIMITS,
      );
      const v4 = applyUpdate(v3.record, parse(desire.document), atSecond(1591141596), AWS_SHADOW_LIMITS);
      const v5 = applyUpdate(v4.record, parse(report.document), atSecond(1591142747), AWS_SHADOW_LIMITS);
      const get = getDocument(id, v5.record, {}, atSecond(numberAt(finalGet.timestamp, 'ts')));

      expect(snapshot(v3.record)).toStrictEqual(desire.previous);
      expect(snapshot(v4.record)).toStrictEqual(report.previous);
      expect(get).toStrictEqual(finalGet);
    },
  );
});

/**
 * Templates: AWS's placeholders are rendered as "<name>" strings, so only the shape can be compared.
 * Each row produces the same kind of document and compares the set of top-level keys (and of the
 * listed nested objects), minus keys the spec says fleetkit leaves out.
 */
describe('shape-only templates', () => {
  const lamp = liveRecord({ desired: { color: 'red' }, reported: { color: 'green' } }, 10, 1000);
  const at = atSecond(2000);
  const desiredUpdate: UpdateRequest = { state: { desired: { color: 'blue' } }, clientToken: 'tok' };

  it.each<[string, () => JsonValue, readonly string[], readonly string[]]>(
    listed([
      [
        'document-accepted-template.json',
        () => applyUpdate(lamp, desiredUpdate, at, AWS_SHADOW_LIMITS).accepted,
        [],
        ['state', 'metadata'],
      ],
      [
        'document-delta-template.json',
        () => applyUpdate(lamp, desiredUpdate, at, AWS_SHADOW_LIMITS).delta ?? null,
        [],
        [],
      ],
      [
        'document-documents-template.json',
        () => applyUpdate(lamp, desiredUpdate, at, AWS_SHADOW_LIMITS).documents,
        [],
        ['previous', 'current', 'previous.state', 'current.state'],
      ],
      // Q8: fleetkit's error documents carry no timestamp.
      [
        'document-error-template.json',
        () => rejectedDocument(new ShadowRequestError(409, 'Version conflict'), 'tok'),
        ['timestamp'],
        [],
      ],
      [
        // The "<version>" placeholder is rendered as an integer so the request parses.
        'document-request-template.json',
        () => {
          const request = parse({
            ...asObject(example('document-request-template.json').document, 'request'),
            version: 10,
          });
          return request as unknown as JsonObject;
        },
        [],
        ['state'],
      ],
      [
        'document-syntax-response-template-legacy.json',
        () => getDocument({ thingName: 'thing-1' }, lamp, { clientToken: 'tok' }, at),
        [],
        ['state'],
      ],
    ]),
  )('%s', (name, produce, ignored, nested) => {
    const template = example(name).document;

    const produced = produce();

    const keysAt = (value: JsonValue, path: string): string[] =>
      sortedKeys(
        path
          .split('.')
          .reduce<JsonValue | undefined>((node, key) => (isJsonObject(node) ? node[key] : undefined), value),
      );
    expect({
      top: sortedKeys(produced, ignored),
      nested: nested.map((path) => [path, keysAt(produced, path)]),
    }).toStrictEqual({
      top: sortedKeys(template, ignored),
      nested: nested.map((path) => [path, keysAt(template, path)]),
    });
  });

  it.each<[string, string[]]>(
    listed([
      // ListNamedShadowsForThing (rule 3) has no producer in lambdas/domain/shadow; checked against rule 3 only.
      ['document-list-named-shadows-template.json', ['nextToken', 'results', 'timestamp']],
    ]),
  )('%s: not produced by the shadow domain, shaped as rule 3 says', (name, keys) => {
    const template = asObject(example(name).document, name);

    const shape = sortedKeys(template);

    expect([shape, Array.isArray(template.results)]).toStrictEqual([keys, true]);
  });
});

describe('coverage of the AWS examples', () => {
  it('uses every fixture file in at least one table or scenario', () => {
    const files = listJsonFiles(examplesDir);

    const unused = files.filter((name) => !used.has(name));

    expect(unused).toStrictEqual([]);
  });
});
