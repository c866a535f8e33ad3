import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  type CommandBatch,
  dispatchQuota,
  recordDispatch,
  selectBatchTargets,
} from '../../../../lambdas/domain/commands/batch.ts';
import {
  batchProgress,
  COUNTER_SHARDS,
  commandCounterChanges,
  counterScope,
  newExecutionCounterChanges,
  tallyCommandCounters,
} from '../../../../lambdas/domain/commands/counters.ts';
import type { RolloutDevice } from '../../../../lambdas/domain/rollout/targets.ts';
import { MIN_SAMPLE_INTERVAL_SECONDS } from '../../../../lib/protocol/coap.ts';
import {
  BUILT_IN_COMMANDS,
  type CommandCatalog,
  DEFAULT_COMMAND_CATALOG,
} from '../../../../lib/protocol/command-catalog.ts';

const NOW = 1_764_196_408_000;

const fleet: RolloutDevice[] = [
  { thingName: 't1', deviceType: 'tracker', firmwareVersion: '1.0.0', groups: ['pilot'] },
  { thingName: 't2', deviceType: 'tracker', firmwareVersion: '1.1.0', attributes: { site: 'depot-4' } },
  { thingName: 'e1', deviceType: 'env-sensor', firmwareVersion: '1.0.0', groups: ['pilot'] },
  { thingName: 'e2', deviceType: 'env-sensor', firmwareVersion: '1.1.0' },
];

/** Trackers alone know `locate`. */
const CATALOG: CommandCatalog = {
  common: BUILT_IN_COMMANDS,
  byType: {
    tracker: {
      locate: {
        description: 'fix',
        parameters: z.strictObject({ accuracyM: z.number() }),
        longRunning: true,
        timeoutSeconds: 300,
      },
    },
  },
};

describe('selectBatchTargets', () => {
  it.each<[string, Parameters<typeof selectBatchTargets>[1], string, unknown, string[], number]>([
    ['by type', { deviceTypes: ['tracker'] }, 'ping', {}, ['t1', 't2'], 0],
    ['by group', { groups: ['pilot'] }, 'ping', {}, ['t1', 'e1'], 0],
    [
      'by attribute',
      { attributes: [{ attribute: 'site', op: 'eq', value: 'depot-4' }] },
      'ping',
      {},
      ['t2'],
      0,
    ],
    [
      'by firmware version',
      { attributes: [{ attribute: 'firmwareVersion', op: 'lt', value: '1.1.0' }] },
      'ping',
      {},
      ['t1', 'e1'],
      0,
    ],
    ['by list', { things: ['e2', 't1', 'nobody'] }, 'ping', {}, ['t1', 'e2'], 0],
    [
      'a type-only command skips the other types, counted',
      { groups: ['pilot'] },
      'locate',
      { accuracyM: 5 },
      ['t1'],
      1,
    ],
  ])('selects %s', (_rule, targets, name, parameters, expected, skipped) => {
    // Act
    const selection = selectBatchTargets(fleet, targets, CATALOG, { name, parameters });

    // Assess
    if (!selection.ok) throw new Error(JSON.stringify(selection.issues));
    expect(selection.targets.map((t) => t.deviceId).sort()).toEqual(expected.sort());
    expect(selection.skippedUnknownCommand).toBe(skipped);
    expect(selection.targeted).toBe(expected.length + skipped);
  });

  it('refuses parameters a selected type refuses, naming the field', () => {
    // Act
    const selection = selectBatchTargets(fleet, { deviceTypes: ['tracker'] }, DEFAULT_COMMAND_CATALOG, {
      name: 'set-interval',
      parameters: { seconds: 0, for: 60 },
    });

    // Assess
    expect(selection).toEqual({
      ok: false,
      issues: [{ field: 'parameters.seconds', reason: `must be >= ${MIN_SAMPLE_INTERVAL_SECONDS}` }],
    });
  });

  it("gives each type the catalog's timeout", () => {
    const selection = selectBatchTargets(fleet, { groups: ['pilot'] }, DEFAULT_COMMAND_CATALOG, {
      name: 'diagnostics',
      parameters: {},
    });
    expect(selection).toMatchObject({ ok: true, timeoutSeconds: { tracker: 120, 'env-sensor': 120 } });
  });
});

describe('dispatchQuota', () => {
  const batch = (fields: Partial<CommandBatch>): CommandBatch => ({
    batchId: 'b',
    name: 'ping',
    parameters: {},
    targets: { deviceTypes: ['tracker'] },
    ratePerMinute: 100,
    expiresAt: NOW + 3_600_000,
    timeoutSeconds: 60,
    createdAt: NOW,
    status: 'DISPATCHING',
    targeted: 1000,
    skippedUnknownCommand: 0,
    total: 1000,
    dispatched: 0,
    version: 1,
    ...fields,
  });

  it.each<[string, Partial<CommandBatch>, number, number]>([
    ['the first minute at once', {}, NOW, 100],
    ['nothing more within the first minute', { dispatched: 100 }, NOW + 59_999, 0],
    ['the second minute once it begins', { dispatched: 100 }, NOW + 60_000, 100],
    ['never more than a minute after missed ticks', { dispatched: 100 }, NOW + 10 * 60_000, 100],
    ['only what is left', { dispatched: 950 }, NOW + 20 * 60_000, 50],
    ['nothing once all were tried', { dispatched: 1000 }, NOW + 20 * 60_000, 0],
    ['a small batch whole', { total: 7 }, NOW, 7],
  ])('%s', (_rule, fields, now, expected) => {
    expect(dispatchQuota(batch(fields), now)).toBe(expected);
  });

  it('is DISPATCHED when the queue is drained, whatever the count says', () => {
    expect(recordDispatch(batch({}), 100, NOW, false)).toMatchObject({
      dispatched: 100,
      status: 'DISPATCHING',
      version: 2,
    });
    expect(recordDispatch(batch({ dispatched: 990 }), 5, NOW, true)).toMatchObject({
      dispatched: 995,
      status: 'DISPATCHED',
    });
  });
});

describe('batch counters', () => {
  it.each<
    [
      string,
      Parameters<typeof commandCounterChanges>[0],
      Parameters<typeof commandCounterChanges>[1],
      string[],
    ]
  >([
    [
      'a new execution of a batch',
      undefined,
      { deviceId: 'A', status: 'CREATED', batchId: 'b' },
      ['+CREATED'],
    ],
    [
      'a change of status',
      { deviceId: 'A', status: 'SENT', batchId: 'b' },
      { deviceId: 'A', status: 'SUCCEEDED', batchId: 'b' },
      ['-SENT', '+SUCCEEDED'],
    ],
    [
      'a resend (same status)',
      { deviceId: 'A', status: 'SENT', batchId: 'b' },
      { deviceId: 'A', status: 'SENT', batchId: 'b' },
      [],
    ],
    ['an execution of no batch', undefined, { deviceId: 'A', status: 'CREATED' }, []],
  ])('%s', (_rule, before, after, expected) => {
    // Act
    const changes = commandCounterChanges(before, after);

    // Assess
    expect(changes.map((c) => `${c.delta > 0 ? '+' : '-'}${c.status}`)).toEqual(expected);
    for (const change of changes) expect(change).toMatchObject({ batchId: 'b', scope: counterScope('A') });
  });

  it('spreads devices over every shard and adds the shards back up', () => {
    // Prepare
    const scopes = new Set(Array.from({ length: 400 }, (_, i) => counterScope(`sim-${i}`)));
    const shards: Record<string, number>[] = [
      { CREATED: 3, SENT: 2 },
      { SUCCEEDED: 4, FAILED: 1, TIMED_OUT: 1 },
      { REJECTED: 1, EXPIRED: 2, other: 9 },
    ];

    // Act
    const progress = batchProgress(tallyCommandCounters(shards));

    // Assess
    expect(scopes.size).toBe(COUNTER_SHARDS);
    expect(progress).toMatchObject({
      total: 14,
      pending: 5,
      succeeded: 4,
      failed: 3,
      expired: 2,
      succeededPercent: 28.6,
      failedPercent: 21.4,
    });
  });

  it('counts a step of new executions on one item, one increment per status, whatever their devices', () => {
    // Prepare: devices that fall in many shards
    const step = Array.from({ length: 40 }, (_, i) => ({
      deviceId: `sim-${i}`,
      batchId: 'b',
      status: i % 4 === 0 ? ('CREATED' as const) : ('SENT' as const),
    }));

    // Act
    const changes = newExecutionCounterChanges([...step, { deviceId: 'x', status: 'SENT' }], 17);

    // Assess: the 17th step lands on shard 1; the execution of no batch is not counted
    expect(new Set(step.map((e) => counterScope(e.deviceId))).size).toBeGreaterThan(1);
    expect(changes).toEqual([
      { batchId: 'b', scope: 'shard:1', status: 'CREATED', delta: 10 },
      { batchId: 'b', scope: 'shard:1', status: 'SENT', delta: 30 },
    ]);
  });
});
