import { THING_REQUEST_RULE_FIELDS } from '../protocol/rule-events.ts';
import { THING_TOPIC_ROOT } from '../protocol/topics.ts';
import { FIRMWARE_SETTINGS } from './firmware.ts';
import type { FunctionSpec, Resource } from './model.ts';

/**
 * The rollouts' part of `lib/topology.ts`: job executions, rollouts, their plans and counters, and the
 * jobs API, the rollouts API, the planner, the scheduler and the reconciler.
 */

/**
 * What answering a device's jobs requests takes: executions, counters, firmware and models to send, topics
 * to answer on.
 */
const jobUses = {
  jobExecutions: 'readWrite',
  rolloutCounters: 'write',
  firmwareCatalog: 'read',
  modelCatalog: 'read',
  firmware: 'read',
  jobTopics: 'write',
} as const;

/** Job executions, rollouts, rollout plans and rollout counters. */
export const ROLLOUT_RESOURCES = {
  jobExecutions: {
    kind: 'table',
    description: 'Job executions (AWS IoT Jobs semantics): one item per thing and job, versioned',
    partitionKey: { name: 'thingName', type: 'S' },
    sortKey: { name: 'jobId', type: 'S' },
    indexes: [
      // A rollout's executions, sharded: reconciler, rollback, cancel.
      {
        name: 'byRollout',
        partitionKey: { name: 'rolloutShard', type: 'S' },
        sortKey: { name: 'thingName', type: 'S' },
      },
      // Sparse: executions with a timer running or a retry to come, by when — the scheduler's watch list.
      {
        name: 'due',
        partitionKey: { name: 'dueShard', type: 'S' },
        sortKey: { name: 'dueAt', type: 'N' },
      },
    ],
  },
  rollouts: {
    kind: 'table',
    description: 'Rollouts: request, plan shape, status and the scheduler memory, one item each',
    partitionKey: { name: 'rolloutId', type: 'S' },
  },
  rolloutTargets: {
    kind: 'table',
    description: 'Rollout plans: planned devices not yet notified, in wave order, and the control cohort',
    partitionKey: { name: 'rolloutId', type: 'S' },
    sortKey: { name: 'targetKey', type: 'S' },
  },
  rolloutCounters: {
    kind: 'table',
    description: 'Executions per status, per rollout and per wave, kept by atomic increments',
    partitionKey: { name: 'rolloutId', type: 'S' },
    sortKey: { name: 'scope', type: 'S' },
  },
} as const satisfies Readonly<Record<string, Resource>>;

type RolloutResourceName =
  | keyof typeof ROLLOUT_RESOURCES
  | 'jobTopics'
  | 'registry'
  | 'alerts'
  | 'telemetryRules'
  | 'firmware'
  | 'firmwareCatalog'
  | 'modelCatalog'
  | 'rollbackSigning';

/** The jobs device API, the rollouts API, the planner, the scheduler and the reconciler. */
export const ROLLOUT_FUNCTIONS = {
  jobsMqtt: {
    handler: 'jobs-mqtt',
    description: 'AWS IoT Jobs device API over MQTT: get pending, start-next, describe, update executions',
    rules: [
      { topic: `${THING_TOPIC_ROOT}/+/jobs/+`, payload: 'base64', add: THING_REQUEST_RULE_FIELDS },
      { topic: `${THING_TOPIC_ROOT}/+/jobs/+/+`, payload: 'base64', add: THING_REQUEST_RULE_FIELDS },
    ],
    uses: jobUses,
    settings: FIRMWARE_SETTINGS,
  },
  apiRollouts: {
    handler: 'api-rollouts',
    description:
      'HTTP API: rollouts (create in waves, status from counters, pause, resume, cancel, rollback)',
    routes: [
      'POST /rollouts',
      'POST /rollouts/preview',
      'GET /rollouts',
      'GET /rollouts/{rolloutId}',
      'GET /rollouts/{rolloutId}/executions',
      'POST /rollouts/{rolloutId}/pause',
      'POST /rollouts/{rolloutId}/resume',
      'POST /rollouts/{rolloutId}/cancel',
      'POST /rollouts/{rolloutId}/rollback',
      'GET /devices/{id}/jobs',
    ],
    uses: {
      // GET /rollouts pages through the rollouts (a Scan).
      rollouts: ['readWrite', 'scan'],
      // A planning rollout's progress: its segments' checkpoints (a Query).
      rolloutTargets: 'read',
      rolloutCounters: 'read',
      // A rollout's executions, and a device's (GET /devices/{id}/jobs: a Query by thing).
      jobExecutions: 'read',
      // A preview reads the registry whole (a Scan, capped; POST /rollouts/preview).
      registry: ['read', 'scan'],
      firmwareCatalog: 'read',
      modelCatalog: 'read',
    },
    timeoutSeconds: 29,
  },
  rolloutPlanner: {
    handler: 'rollout-planner',
    description:
      'Plans accepted rollouts: parallel segment scans of the registry, checkpointed; the first wave starts before the plan is cut',
    // Started by POST /rollouts at once; every minute it resumes a planning whose run died or ran out of time.
    invokedBy: ['apiRollouts'],
    schedules: [{ everyMinutes: 1 }],
    uses: {
      // The rollouts still planning (a Scan of the few rollouts); progress and the cut plan, conditionally.
      rollouts: ['readWrite', 'scan'],
      // Eligible devices in batches; the control move and a plan of the first layout left over delete.
      rolloutTargets: ['readWrite', 'batchWrite'],
      // Parallel segment scans of the whole registry.
      registry: ['read', 'scan'],
    },
    settings: { ROLLOUT_PLAN_SEGMENTS: '16', ROLLOUT_PLAN_BUDGET_SECONDS: '840' },
    timeoutSeconds: 900,
    memoryMiB: 1024,
  },
  rolloutScheduler: {
    handler: 'rollout-scheduler',
    description:
      'Every minute: advances rollout waves, times out and retries executions, abort and health gates, rollback',
    schedules: [{ everyMinutes: 1 }],
    // The planner asks for one rollout at once when its pilot devices, or its cut plan, are ready.
    invokedBy: ['rolloutPlanner'],
    uses: {
      ...jobUses,
      // The unfinished rollouts, by a Scan of the (few) rollouts.
      rollouts: ['readWrite', 'scan'],
      // Notified targets leave the plan in batch deletes.
      rolloutTargets: ['read', 'batchWrite'],
      // Gates read the rollout's counters (jobUses only counts executions).
      rolloutCounters: 'readWrite',
      registry: 'read',
      alerts: 'read',
      telemetryRules: ['read', 'scan'],
      rollbackSigning: 'write',
    },
    settings: { ...FIRMWARE_SETTINGS, ROLLOUT_HEALTH_CHECK_SECONDS: '300' },
    timeoutSeconds: 60,
    memoryMiB: 1024,
  },
  rolloutReconciler: {
    handler: 'rollout-reconciler',
    description: 'Every hour: recounts rollout counters from the executions and fixes any drift',
    schedules: [{ everyMinutes: 60 }],
    uses: { rollouts: ['read', 'scan'], jobExecutions: 'read', rolloutCounters: 'readWrite' },
    timeoutSeconds: 300,
  },
} as const satisfies Readonly<Record<string, FunctionSpec<RolloutResourceName>>>;
