import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPut } from '../../lambdas/adapters/dynamo-batch.ts';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { DynamoJobExecutionStore } from '../../lambdas/adapters/dynamo-job-execution-store.ts';
import { DynamoRolloutCounterStore } from '../../lambdas/adapters/dynamo-rollout-counters.ts';
import { DynamoRolloutPlanningStore } from '../../lambdas/adapters/dynamo-rollout-planning-store.ts';
import { DynamoRolloutPlanStore, DynamoRolloutStore } from '../../lambdas/adapters/dynamo-rollout-store.ts';
import type { FirmwareMetadata } from '../../lambdas/domain/firmware/metadata.ts';
import { applyDeviceUpdate } from '../../lambdas/domain/jobs/device-update.ts';
import { JobRequestError } from '../../lambdas/domain/jobs/execution.ts';
import { cohortOf, redrawCohort, saltKey } from '../../lambdas/domain/rollout/cohort.ts';
import { controlSalt } from '../../lambdas/domain/rollout/control.ts';
import { emptyCounts } from '../../lambdas/domain/rollout/counters.ts';
import { placeOf, planningParams } from '../../lambdas/domain/rollout/planning.ts';
import type { DeviceRecord } from '../../lambdas/ports.ts';
import type { ExecutionChangeListener } from '../../lambdas/services/jobs-service.ts';
import { countExecutionChange } from '../../lambdas/services/jobs-setup.ts';
import { RolloutPlanner } from '../../lambdas/services/rollout-planner.ts';
import { RolloutReconciler } from '../../lambdas/services/rollout-reconciler.ts';
import { RolloutScheduler } from '../../lambdas/services/rollout-scheduler.ts';
import { RolloutService } from '../../lambdas/services/rollout-service.ts';
import { createLogger } from '../../lambdas/shared/logger.ts';
import { createEmfMetrics } from '../../lambdas/shared/metrics.ts';
import type { HandlerRuntime } from '../../lambdas/shared/runtime.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import type { JobExecutionStatus } from '../../lib/protocol/jobs.ts';
import type { RolloutRequest } from '../../lib/protocol/rollouts.ts';
import { topology } from '../../lib/topology.ts';
import { testSigner } from '../support/test-signer.ts';

/**
 * The rollout services over a fleet of 100,000 registered devices on dynalite: the API's create (scan,
 * select, plan, store the plan), the scheduler's ticks on an injected clock, the status read from the
 * counters, the reconciler and a cancel. The services are built directly on the stores, as
 * `rollouts-setup.ts` wires them, but notify-next is a recording fake rather than MQTT: what is under test
 * is what the scheduler decides to notify, and when. The tests run in order: each picks up the rollout
 * where the one before left it.
 */

const FLEET = 100_000;
const ROLLOUT_ID = 'scale-2-0-0';
const RATE = 100;
const GATE_PERCENT = 90;
const SOAK_MINUTES = 10;
const CONTROL_PERCENT = 5;
const SELECTED_PERCENT = 50;
const WAVE_SIZES = [1, 10, 100];
/** A Monday, 10:00 UTC: minute-aligned, so "minute m" of the test is one rate window. */
const START = Date.UTC(2026, 0, 5, 10, 0, 0);
const MINUTE = 60_000;

const thingName = (i: number) => `scale-${String(i).padStart(6, '0')}`;

/** What a device of the fleet is, and so why a rollout of 2.0.0 to trackers selects or skips it. */
type Kind = 'gateway' | 'sensor' | 'current' | 'newer' | 'old' | 'silent' | 'upgradable';

function kindOf(i: number): Kind {
  if (i % 10 === 0) return 'gateway';
  if (i % 10 <= 2) return 'sensor';
  switch (Math.floor(i / 10) % 20) {
    case 0:
      return 'current';
    case 1:
      return 'newer';
    case 2:
      return 'old';
    case 3:
      return 'silent';
    default:
      return 'upgradable';
  }
}

const VERSIONS: Record<Exclude<Kind, 'upgradable'>, string | undefined> = {
  gateway: '1.0.0',
  sensor: '1.0.0',
  current: '2.0.0',
  newer: '2.1.0',
  old: '0.9.0',
  // Registered, never reported its firmware: selection cannot tell whether 2.0.0 is an upgrade.
  silent: undefined,
};

function versionOf(i: number): string | undefined {
  const kind = kindOf(i);
  if (kind !== 'upgradable') return VERSIONS[kind];
  return Math.floor(i / 200) % 2 === 0 ? '1.0.0' : '1.4.2';
}

/** Device `i` as the registry stores it (the status ingest's record). */
function deviceRecord(i: number): DeviceRecord {
  const kind = kindOf(i);
  const firmwareVersion = versionOf(i);
  return {
    deviceId: thingName(i),
    deviceType: kind === 'gateway' ? 'gateway' : kind === 'sensor' ? 'env-sensor' : 'tracker',
    ...(firmwareVersion === undefined ? {} : { firmwareVersion }),
    lastSeen: START - MINUTE - (i % 3600) * 1000,
    firstSeen: START - 30 * 86_400_000,
    signal: { rsrp: -80 - (i % 30) },
    battery: { percent: 40 + (i % 60) },
  };
}

const firmware: FirmwareMetadata = {
  version: '2.0.0',
  deviceTypes: ['tracker', 'env-sensor'],
  minVersion: '1.0.0',
  size: 512 * 1024,
  sha256: 'ab'.repeat(32),
  status: 'available',
  registeredAt: START - 86_400_000,
  upload: { mode: 'single' },
  uploadedAt: START - 86_400_000,
};

const request: RolloutRequest = {
  rolloutId: ROLLOUT_ID,
  firmwareVersion: '2.0.0',
  // The image fits trackers and sensors; this rollout is for trackers only.
  deviceType: 'tracker',
  targets: { deviceTypes: ['tracker', 'env-sensor'], percentage: SELECTED_PERCENT },
  waves: {
    sizes: WAVE_SIZES,
    maximumPerMinute: RATE,
    gate: { successPercentage: GATE_PERCENT, minimumSoakMinutes: SOAK_MINUTES },
  },
  healthGate: {
    metric: 'rebootRate',
    maxWorsening: { absolute: 0.1 },
    windowMinutes: 60,
    controlPercentage: CONTROL_PERCENT,
  },
};

/**
 * The plan as the rules say it must come out, computed from the fleet as the test built it (not from the
 * registry's scan order): the control cohort drawn by the rollout's own salt (lowest first), the other
 * eligible devices by cohort then name, waves cut at the cumulative percentages, rounded up, and the
 * control cohort as the last wave.
 */
function expectedPlan() {
  const skipped = {
    incompatibleType: 0,
    unknownVersion: 0,
    alreadyOnVersion: 0,
    downgrade: 0,
    belowMinVersion: 0,
    outsidePercentage: 0,
  };
  const eligible: { name: string; cohort: number }[] = [];
  let targeted = 0;
  for (let i = 0; i < FLEET; i++) {
    const kind = kindOf(i);
    if (kind === 'gateway') continue;
    targeted++;
    if (kind === 'sensor') skipped.incompatibleType++;
    else if (kind === 'silent') skipped.unknownVersion++;
    else if (kind === 'current') skipped.alreadyOnVersion++;
    else if (kind === 'newer') skipped.downgrade++;
    else if (kind === 'old') skipped.belowMinVersion++;
    else {
      const cohort = cohortOf(thingName(i));
      if (cohort < SELECTED_PERCENT / 100) eligible.push({ name: thingName(i), cohort });
      else skipped.outsidePercentage++;
    }
  }
  const controlCount = Math.floor((eligible.length * CONTROL_PERCENT) / 100);
  const key = saltKey(controlSalt(ROLLOUT_ID));
  const drawn = eligible
    .map((e) => ({ name: e.name, key: redrawCohort(e.cohort, key) }))
    .sort((a, b) => a.key - b.key || (a.name < b.name ? -1 : 1))
    .slice(0, controlCount);
  const inControl = new Set(drawn.map((d) => d.name));
  const order = eligible
    .filter((e) => !inControl.has(e.name))
    .sort((a, b) => a.cohort - b.cohort || (a.name < b.name ? -1 : 1))
    .map((e) => e.name);
  const control = eligible
    .filter((e) => inControl.has(e.name))
    .sort((a, b) => a.cohort - b.cohort || (a.name < b.name ? -1 : 1))
    .map((e) => e.name);
  const ends = WAVE_SIZES.map((percent) => Math.ceil((order.length * percent) / 100));
  const waves = [...ends.map((end, w) => order.slice(w === 0 ? 0 : ends[w - 1], end)), control];
  return { targeted, skipped, eligible: eligible.length, waves, control };
}

/** Executions counted by rollout and by wave, from the executions themselves. */
async function recount(executions: DynamoJobExecutionStore, jobId: string) {
  const rollout = emptyCounts();
  const waves = new Map<number, Record<JobExecutionStatus, number>>();
  const things = new Map<string, JobExecutionStatus>();
  for await (const page of executions.allOf(jobId)) {
    for (const execution of page) {
      things.set(execution.thingName, execution.status);
      rollout[execution.status]++;
      const wave = waves.get(execution.wave ?? -1) ?? emptyCounts();
      wave[execution.status]++;
      waves.set(execution.wave ?? -1, wave);
    }
  }
  return { rollout, waves, things };
}

describe('a rollout over 100,000 devices on dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  let executions: DynamoJobExecutionStore;
  let counters: DynamoRolloutCounterStore;
  let service: RolloutService;
  let planner: RolloutPlanner;
  let rolloutStore: DynamoRolloutStore;
  let scheduler: RolloutScheduler;
  let reconciler: RolloutReconciler;
  let nowMs = START;
  const plan = expectedPlan();
  const lines: string[] = [];
  /** Every notify-next the scheduler sent, with the injected time it was sent at. */
  const notified: { thing: string; at: number }[] = [];
  let onChange: ExecutionChangeListener;

  const logged = (level: string) =>
    lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === level);
  const notifiedIn = (minute: number) =>
    notified.filter((n) => Math.floor((n.at - START) / MINUTE) === minute).map((n) => n.thing);
  const at = (minute: number, seconds = 0) => {
    nowMs = START + minute * MINUTE + seconds * 1000;
  };
  /** One scheduler run, as EventBridge fires it; a rollout's failed tick is logged, not thrown. */
  const tick = async () => {
    const reports = await scheduler.tick();
    expect(logged('error')).toEqual([]);
    return reports;
  };

  /** The plan targets still stored for the rollout (wave targets not yet queued). */
  async function storedTargets() {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: 'rolloutTargets',
          KeyConditionExpression: 'rolloutId = :r',
          ExpressionAttributeValues: { ':r': ROLLOUT_ID },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /**
   * The stored targets the scheduler may still offer, in the order it reads them: pilot devices, the
   * waves (less the copies of pilot devices, offered as such), the control wave.
   */
  const offerable = (items: readonly Record<string, unknown>[]) =>
    items
      .filter((t) => /^o[123]#/.test(String(t.targetKey)) && t.inPilot !== true)
      .map((t) => String(t.thingName));

  /** A device reporting on its execution, as the jobs API applies it: version-checked, then counted. */
  async function report(thing: string, status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED') {
    const before = await executions.get(thing, ROLLOUT_ID);
    if (before === undefined) throw new Error(`${thing} has no execution of ${ROLLOUT_ID}`);
    const after = applyDeviceUpdate(before, { status, expectedVersion: before.versionNumber }, nowMs);
    if (after instanceof JobRequestError) throw after;
    expect(await executions.save(after, before.versionNumber)).toBe('saved');
    await onChange(before, after);
  }

  beforeAll(async () => {
    dynamo = await startDynamo({});
    for (const table of [
      'registry',
      'rollouts',
      'rolloutTargets',
      'rolloutCounters',
      'jobExecutions',
    ] as const)
      await ensureTable(dynamo.client, table, topology.resources[table]);
    client = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
    // Eight BatchWrite streams at once: dynalite runs in this process, so more only queue behind these.
    const writers = 8;
    await Promise.all(
      Array.from({ length: writers }, (_, w) => {
        const items: Record<string, unknown>[] = [];
        for (let i = w; i < FLEET; i += writers) items.push({ ...deviceRecord(i) });
        return batchPut(client, 'registry', items);
      }),
    );

    const registry = new DynamoDeviceRegistry({ client, tableName: 'registry' });
    const rollouts = new DynamoRolloutStore({ client, tableName: 'rollouts' });
    const plans = new DynamoRolloutPlanStore({ client, tableName: 'rolloutTargets' });
    executions = new DynamoJobExecutionStore({ client, tableName: 'jobExecutions' });
    counters = new DynamoRolloutCounterStore({ client, tableName: 'rolloutCounters' });
    onChange = countExecutionChange(counters);
    const runtime: HandlerRuntime = { write: (line) => lines.push(line), now: () => nowMs };
    const planning = new DynamoRolloutPlanningStore({ client, tableName: 'rolloutTargets' });
    service = new RolloutService({
      rollouts,
      planning,
      executions,
      counters,
      catalog: { get: async (version) => (version === firmware.version ? firmware : undefined) },
      preview: { registry },
      startPlanning: async () => {},
      log: createLogger('rollout-api', runtime),
      newId: () => 'unused',
      now: () => nowMs,
    });
    planner = new RolloutPlanner({
      rollouts,
      planning,
      plans,
      registry,
      advance: async () => {},
      segments: 8,
      budgetMs: 3_600_000,
      newOwner: () => 'scale-test',
      log: createLogger('rollout-planner', runtime),
      now: () => nowMs,
    });
    rolloutStore = rollouts;
    scheduler = new RolloutScheduler({
      rollouts,
      plans,
      counters,
      executions,
      registry,
      jobs: {
        notifyNext: async (thing) => {
          notified.push({ thing, at: nowMs });
        },
      },
      onChange,
      // The health gate passes every measurement (every five minutes of injected time): what is under
      // test here is the waves and their success gates; rollout-health.test.ts tests the comparison.
      health: {
        measure: async () => ({
          verdict: 'pass',
          metric: 'rebootRate',
          reason: 'within the limit',
          sampled: 2,
        }),
      },
      rollbackImage: async () => ({ sha256: 'ab'.repeat(32) }),
      rollbackSigner: testSigner(),
      healthCheckSeconds: 300,
      log: createLogger('rollout-scheduler', runtime),
      metrics: createEmfMetrics('rollout-scheduler', runtime),
      now: () => nowMs,
    });
    reconciler = new RolloutReconciler({
      rollouts,
      executions,
      counters,
      log: createLogger('rollout-reconciler', runtime),
      now: () => nowMs,
    });
  }, 180_000);

  afterAll(async () => {
    await dynamo?.close();
  });

  it('accepts the rollout at once and plans it from parallel segment scans of the whole registry: counts, waves, control cohort, plan in cohort order', async () => {
    // Prepare
    at(0);
    // Act
    const accepted = await service.create(request);
    const report = await planner.plan(ROLLOUT_ID);
    const created = await service.get(ROLLOUT_ID);
    const item = await rolloutStore.get(ROLLOUT_ID);
    const stored = await storedTargets();
    // Assess
    expect(accepted).toMatchObject({ status: 'PLANNING', waves: [] });
    expect(report).toMatchObject({ outcome: 'planned' });
    expect(created.selection).toEqual({
      targeted: FLEET - FLEET / 10,
      eligible: plan.eligible,
      control: plan.control.length,
      skipped: plan.skipped,
    });
    // Every skip reason this fleet has, and a sample large enough that planning is not trivial.
    expect(Object.values(plan.skipped).every((n) => n >= 3000)).toBe(true);
    expect(plan.eligible).toBeGreaterThan(20_000);
    expect(created.status).toBe('IN_PROGRESS');
    expect(created.planning).toMatchObject({ startedAt: START / 1000, finishedAt: START / 1000 });
    expect(created.waves.map((w) => w.planned)).toEqual(plan.waves.map((w) => w.length));
    // Every eligible device is planned: the control cohort is the last wave.
    expect(created.waves.reduce((sum, w) => sum + w.planned, 0)).toBe(plan.eligible);
    expect(created.waves.at(-1)?.planned).toBe(plan.control.length);
    expect(created.progress.notified).toBe(0);
    // Wave 0 has more than a hundred devices: the pilot was in effect (its devices offered first).
    expect(item?.targets?.pilot).toBe(true);
    // Query order is key order: cohort order; the waves are cut at the positions the rollout records.
    const ends = item?.targets?.waveEnds ?? [];
    const waveTargets = stored.filter((t) => String(t.targetKey).startsWith('o2#'));
    const storedWaves = ends.map((end, w) =>
      waveTargets
        .filter((t) => {
          const position = String(t.targetKey).slice(3);
          return position <= end && (w === 0 || position > (ends[w - 1] ?? ''));
        })
        .map((t) => t.thingName),
    );
    expect([
      ...storedWaves,
      stored.filter((t) => String(t.targetKey).startsWith('o3#')).map((t) => t.thingName),
    ]).toEqual(plan.waves);
    const storedControl = stored
      .filter((item) => String(item.targetKey).startsWith('c#'))
      .map((item) => String(item.thingName));
    expect(storedControl.sort()).toEqual([...plan.control].sort());
    const wrongVersion = waveTargets.filter(
      (item) => item.previousVersion !== versionOf(Number(String(item.thingName).slice('scale-'.length))),
    );
    expect(wrongVersion).toEqual([]);
  }, 120_000);

  it('queues wave 0 at most the rate per minute of injected time, in plan order, and nothing of wave 1', async () => {
    // Prepare
    const wave0 = plan.waves[0] ?? [];
    const minutes = Math.ceil(wave0.length / RATE);
    // Act: three ticks a minute, a minute longer than wave 0 needs.
    for (let minute = 0; minute <= minutes; minute++)
      for (const seconds of [0, 20, 40]) {
        at(minute, seconds);
        await tick();
      }
    const status = await service.get(ROLLOUT_ID);
    const left = await storedTargets();
    // Assess
    const perMinute = Array.from({ length: minutes + 1 }, (_, m) => notifiedIn(m));
    expect(perMinute.map((things) => things.length)).toEqual([
      ...Array.from({ length: minutes - 1 }, () => RATE),
      wave0.length - (minutes - 1) * RATE,
      0,
    ]);
    // Each minute picks up where the one before stopped: the candidate cursor skips nothing, repeats
    // nothing. Pilot devices come first (offered while planning, had the plan taken long enough).
    const params = planningParams({ ...request, rolloutId: ROLLOUT_ID });
    const pilot = wave0.filter((thing) => placeOf(params, cohortOf(thing)).pilot);
    const order = [...pilot, ...wave0.filter((thing) => !pilot.includes(thing))];
    expect(pilot.length).toBeGreaterThan(RATE / 2);
    perMinute.forEach((things, m) => {
      expect(things.sort()).toEqual(order.slice(m * RATE, (m + 1) * RATE).sort());
    });
    expect(status.currentWave).toBe(0);
    expect(status.waves.map((w) => w.notified)).toEqual([wave0.length, 0, 0, 0]);
    expect(status.progress.byStatus.QUEUED).toBe(wave0.length);
    const leftWaves = offerable(left);
    expect(leftWaves.filter((thing) => wave0.includes(thing))).toEqual([]);
    expect(leftWaves.length).toBe(plan.eligible - wave0.length);
  }, 60_000);

  it("opens wave 1 only once wave 0's success gate is met and its soak has passed", async () => {
    // Prepare: one success short of the gate, a few failures and devices still installing.
    const wave0 = plan.waves[0] ?? [];
    const wave1 = plan.waves[1] ?? [];
    const needed = Math.ceil((wave0.length * GATE_PERCENT) / 100);
    const minute = Math.ceil(wave0.length / RATE) + 1;
    at(minute);
    for (const thing of wave0.slice(0, needed - 1)) await report(thing, 'SUCCEEDED');
    for (const thing of wave0.slice(needed, needed + 5)) await report(thing, 'FAILED');
    for (const thing of wave0.slice(needed + 5, needed + 10)) await report(thing, 'IN_PROGRESS');
    // Act
    for (const m of [minute, minute + 1]) {
      at(m, 30);
      await tick();
    }
    const shortOfGate = notified.length;
    at(minute + 2);
    for (const thing of wave0.slice(needed - 1, needed)) await report(thing, 'SUCCEEDED');
    const soakStart = minute + 2;
    for (let m = soakStart; m < soakStart + SOAK_MINUTES; m++) {
      at(m, 10);
      await tick();
    }
    const duringSoak = notified.length;
    at(soakStart + SOAK_MINUTES, 10);
    await tick();
    const opened = await service.get(ROLLOUT_ID);
    // Assess
    expect(shortOfGate).toBe(wave0.length);
    expect(duringSoak).toBe(wave0.length);
    expect(opened.currentWave).toBe(1);
    expect(notifiedIn(soakStart + SOAK_MINUTES).sort()).toEqual(wave1.slice(0, RATE).sort());
  }, 60_000);

  it('queues all of wave 1 at the rate, across the wave boundary in a page, and stops before wave 2', async () => {
    // Prepare
    const wave1 = plan.waves[1] ?? [];
    const first = Math.floor((nowMs - START) / MINUTE) + 1;
    const minutes = Math.ceil(wave1.length / RATE);
    // Act
    for (let m = first; m < first + minutes + 1; m++) {
      at(m, 5);
      await tick();
      at(m, 35);
      await tick();
    }
    const status = await service.get(ROLLOUT_ID);
    const left = await storedTargets();
    // Assess
    const byMinute = new Map<number, number>();
    for (const n of notified) {
      const m = Math.floor((n.at - START) / MINUTE);
      byMinute.set(m, (byMinute.get(m) ?? 0) + 1);
    }
    expect(Math.max(...byMinute.values())).toBeLessThanOrEqual(RATE);
    const things = notified.map((n) => n.thing);
    expect(new Set(things).size).toBe(things.length);
    expect(things.slice(plan.waves[0]?.length).sort()).toEqual([...wave1].sort());
    expect(status.currentWave).toBe(1);
    expect(status.waves.map((w) => w.notified)).toEqual([plan.waves[0]?.length, wave1.length, 0, 0]);
    expect(offerable(left)).toEqual([...(plan.waves[2] ?? []), ...plan.control]);
  }, 90_000);

  it('reports status from the counters that equals a recount of the executions, and the metrics agree', async () => {
    // Prepare: some of wave 1 report too, so several statuses and waves are counted.
    for (const thing of (plan.waves[1] ?? []).slice(0, 300)) await report(thing, 'IN_PROGRESS');
    for (const thing of (plan.waves[1] ?? []).slice(0, 200)) await report(thing, 'SUCCEEDED');
    // Act
    const status = await service.get(ROLLOUT_ID);
    const succeeded: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await service.executions(ROLLOUT_ID, { status: 'SUCCEEDED', limit: 100, nextToken });
      succeeded.push(...page.items.map((execution) => execution.thingName));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    const counted = await recount(executions, ROLLOUT_ID);
    // Assess
    expect(status.progress.byStatus).toEqual(counted.rollout);
    expect(status.progress.notified).toBe(notified.length);
    for (const wave of status.waves)
      expect(wave.byStatus ?? emptyCounts(), `wave ${wave.wave}`).toEqual(
        counted.waves.get(wave.wave) ?? emptyCounts(),
      );
    expect([...counted.things.keys()].sort()).toEqual(notified.map((n) => n.thing).sort());
    // GET /rollouts/{id}/executions?status=SUCCEEDED, page by page over the shards: each one exactly once.
    expect(succeeded.sort()).toEqual(
      [...counted.things]
        .filter(([, s]) => s === 'SUCCEEDED')
        .map(([thing]) => thing)
        .sort(),
    );
    const queuedMetric = lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.RolloutId === ROLLOUT_ID && 'RolloutQueued' in entry)
      .reduce((sum, entry) => sum + entry.RolloutQueued, 0);
    expect(queuedMetric).toBe(notified.length);
  }, 60_000);

  it('reconciles: ok while the counters are right; a drift is noted, fixed when the next run sees it again, and then equal to the recount', async () => {
    // Prepare
    const first = await reconciler.run();
    await counters.apply([
      { rolloutId: ROLLOUT_ID, scope: 'rollout', counter: 'SUCCEEDED', delta: 7 },
      { rolloutId: ROLLOUT_ID, scope: 'wave:2', counter: 'QUEUED', delta: 3 },
    ]);
    const drifted = await service.get(ROLLOUT_ID);
    // Act
    const second = await reconciler.run();
    const stillDrifted = await service.get(ROLLOUT_ID);
    const third = await reconciler.run();
    const fourth = await reconciler.run();
    const status = await service.get(ROLLOUT_ID);
    const counted = await recount(executions, ROLLOUT_ID);
    // Assess
    const executionCount = notified.length;
    expect(first).toEqual([{ jobId: ROLLOUT_ID, executions: executionCount, outcome: 'ok' }]);
    expect(drifted.progress.byStatus.SUCCEEDED).toBe(counted.rollout.SUCCEEDED + 7);
    expect(drifted.waves[2]?.notified).toBe(3);
    const drift = [
      { rolloutId: ROLLOUT_ID, scope: 'rollout', counter: 'SUCCEEDED', delta: -7 },
      { rolloutId: ROLLOUT_ID, scope: 'wave:2', counter: 'QUEUED', delta: -3 },
    ];
    expect(second).toEqual([{ jobId: ROLLOUT_ID, executions: executionCount, outcome: 'suspect', drift }]);
    expect(stillDrifted.progress.byStatus).toEqual(drifted.progress.byStatus);
    expect(third).toEqual([{ jobId: ROLLOUT_ID, executions: executionCount, outcome: 'fixed', drift }]);
    expect(fourth).toEqual([{ jobId: ROLLOUT_ID, executions: executionCount, outcome: 'ok' }]);
    expect(status.progress.byStatus).toEqual(counted.rollout);
    expect(status.waves.map((w) => w.notified)).toEqual([plan.waves[0]?.length, plan.waves[1]?.length, 0, 0]);
    expect(logged('warn').map((entry) => entry.message)).toContain(
      'rollout counters drifted; corrected from a recount of the executions',
    );
  }, 60_000);

  it('cancels: the next tick cancels every queued execution once, and the counters still equal a recount', async () => {
    // Prepare
    const before = await recount(executions, ROLLOUT_ID);
    const queued = [...before.things].filter(([, s]) => s === 'QUEUED').map(([thing]) => thing);
    at(Math.floor((nowMs - START) / MINUTE) + 1);
    const canceled = await service.command(ROLLOUT_ID, 'cancel', 'scale test');
    const notifiedBefore = notified.length;
    // Act
    const reports = await tick();
    at(Math.floor((nowMs - START) / MINUTE) + 1);
    const later = await tick();
    const status = await service.get(ROLLOUT_ID);
    const after = await recount(executions, ROLLOUT_ID);
    const reconciled = await reconciler.run();
    // Assess
    expect(queued.length).toBeGreaterThan(2000);
    expect(canceled.status).toBe('CANCELED');
    expect(reports).toEqual([
      expect.objectContaining({
        rolloutId: ROLLOUT_ID,
        status: 'CANCELED',
        queued: 0,
        canceled: queued.length,
      }),
    ]);
    // Work done, the rollout is no longer visited.
    expect(later).toEqual([]);
    // Each canceled device is told what it has pending next (nothing of this rollout).
    expect(
      notified
        .slice(notifiedBefore)
        .map((n) => n.thing)
        .sort(),
    ).toEqual(queued.sort());
    expect(after.rollout).toEqual({ ...before.rollout, QUEUED: 0, CANCELED: queued.length });
    expect(status.progress.byStatus).toEqual(after.rollout);
    expect(reconciled).toEqual([{ jobId: ROLLOUT_ID, executions: before.things.size, outcome: 'ok' }]);
  }, 90_000);
});
