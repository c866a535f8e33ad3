import { randomUUID } from 'node:crypto';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ArtifactPurpose } from '../../lib/protocol/rollouts.ts';
import { DynamoAlertStore } from '../adapters/dynamo-alert-store.ts';
import { DynamoDeviceRegistry } from '../adapters/dynamo-device-registry.ts';
import { DynamoFirmwareCatalog } from '../adapters/dynamo-firmware-catalog.ts';
import { DynamoRolloutPlanningStore } from '../adapters/dynamo-rollout-planning-store.ts';
import { DynamoRolloutPlanStore, DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import { DynamoRuleStore } from '../adapters/dynamo-rule-store.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { isSigned } from '../domain/firmware/metadata.ts';
import type { Logger } from '../shared/logger.ts';
import type { Metrics } from '../shared/metrics.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';
import { asyncInvokerFrom } from './async-invoke-setup.ts';
import { cachedRules } from './cached-rules.ts';
import { FIRMWARE_ENV } from './firmware-setup.ts';
import { jobStoresFrom, jobsServiceFrom, rolloutCountersFrom } from './jobs-setup.ts';
import { RolloutHealth } from './rollout-health.ts';
import { RolloutPlanner } from './rollout-planner.ts';
import { RolloutReconciler } from './rollout-reconciler.ts';
import { RolloutScheduler } from './rollout-scheduler.ts';
import { RolloutService } from './rollout-service.ts';

/** Env of the rollout functions: the topology's resources and settings. */
export const ROLLOUT_ENV = {
  rollouts: 'ROLLOUTS_TABLE_NAME',
  targets: 'ROLLOUT_TARGETS_TABLE_NAME',
  registry: 'REGISTRY_TABLE_NAME',
  alerts: 'ALERTS_TABLE_NAME',
  rules: 'TELEMETRY_RULES_TABLE_NAME',
  healthCheckSeconds: 'ROLLOUT_HEALTH_CHECK_SECONDS',
  planner: 'ROLLOUT_PLANNER_FUNCTION_NAME',
  scheduler: 'ROLLOUT_SCHEDULER_FUNCTION_NAME',
  planSegments: 'ROLLOUT_PLAN_SEGMENTS',
  planBudgetSeconds: 'ROLLOUT_PLAN_BUDGET_SECONDS',
  rollbackSigningKey: 'ROLLBACK_SIGNING_KEY_ID',
} as const;

/** Registry segments a planner reads in parallel, unless the function's settings say. */
export const DEFAULT_PLAN_SEGMENTS = 16;
/** How long one planner run plans (its 900 s timeout, less a margin), unless the settings say. */
export const DEFAULT_PLAN_BUDGET_SECONDS = 840;

/** Five minutes between two health-gate measurements of a rollout, unless the function's settings say. */
export const DEFAULT_HEALTH_CHECK_SECONDS = 300;

/** The rollouts table. Needs `rollouts` in the function's uses. */
export function rolloutStoreFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv): DynamoRolloutStore {
  return new DynamoRolloutStore({ client: dynamo, tableName: requireEnv(env, ROLLOUT_ENV.rollouts) });
}

function planStoreFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv): DynamoRolloutPlanStore {
  return new DynamoRolloutPlanStore({ client: dynamo, tableName: requireEnv(env, ROLLOUT_ENV.targets) });
}

function planningStoreFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv): DynamoRolloutPlanningStore {
  return new DynamoRolloutPlanningStore({ client: dynamo, tableName: requireEnv(env, ROLLOUT_ENV.targets) });
}

/** The firmware catalog and the model catalog, by what a rollout installs. */
function catalogsFrom(
  dynamo: DynamoDBDocumentClient,
  env: HandlerEnv,
): Readonly<Record<ArtifactPurpose, DynamoFirmwareCatalog>> {
  return {
    firmware: new DynamoFirmwareCatalog({ client: dynamo, tableName: requireEnv(env, FIRMWARE_ENV.catalog) }),
    model: new DynamoFirmwareCatalog({
      client: dynamo,
      tableName: requireEnv(env, FIRMWARE_ENV.modelCatalog),
    }),
  };
}

/**
 * The rollout API's service. Needs rollouts, targets (planning progress), counters, executions, the
 * catalog, and the registry (a preview's scan).
 */
export function rolloutServiceFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly now: () => number;
}): RolloutService {
  const counters = rolloutCountersFrom(deps.dynamo, deps.env);
  const { executions } = jobStoresFrom(deps.dynamo, deps.env);
  const planner = asyncInvokerFrom(deps.env, ROLLOUT_ENV.planner);
  const catalogs = catalogsFrom(deps.dynamo, deps.env);
  return new RolloutService({
    executions,
    rollouts: rolloutStoreFrom(deps.dynamo, deps.env),
    planning: planningStoreFrom(deps.dynamo, deps.env),
    counters,
    catalog: { get: (version, purpose) => catalogs[purpose].get(version) },
    preview: {
      registry: new DynamoDeviceRegistry({
        client: deps.dynamo,
        tableName: requireEnv(deps.env, ROLLOUT_ENV.registry),
      }),
    },
    startPlanning: (rolloutId) => planner({ rolloutId }),
    log: deps.log,
    newId: () => `rollout-${randomUUID()}`,
    now: deps.now,
  });
}

/** The planner. Needs rollouts, targets, the registry (scan); invokes the scheduler. */
export function rolloutPlannerFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly now: () => number;
}): RolloutPlanner {
  const scheduler = asyncInvokerFrom(deps.env, ROLLOUT_ENV.scheduler);
  const setting = (name: string, fallback: number) => {
    const value = Number(deps.env[name] ?? fallback);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const planning = planningStoreFrom(deps.dynamo, deps.env);
  return new RolloutPlanner({
    rollouts: rolloutStoreFrom(deps.dynamo, deps.env),
    planning,
    plans: planStoreFrom(deps.dynamo, deps.env),
    registry: new DynamoDeviceRegistry({
      client: deps.dynamo,
      tableName: requireEnv(deps.env, ROLLOUT_ENV.registry),
    }),
    advance: (rolloutId) => scheduler({ rolloutId }),
    segments: Math.floor(setting(ROLLOUT_ENV.planSegments, DEFAULT_PLAN_SEGMENTS)),
    budgetMs: setting(ROLLOUT_ENV.planBudgetSeconds, DEFAULT_PLAN_BUDGET_SECONDS) * 1000,
    newOwner: () => randomUUID(),
    log: deps.log,
    now: deps.now,
  });
}

/** The scheduler, with the jobs service it notifies devices through. */
export function rolloutSchedulerFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly iotData: IoTDataPlaneClient;
  readonly kms: KMSClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
}): RolloutScheduler {
  const jobs = jobsServiceFrom(deps);
  const rollouts = rolloutStoreFrom(deps.dynamo, deps.env);
  const plans = planStoreFrom(deps.dynamo, deps.env);
  const catalogs = catalogsFrom(deps.dynamo, deps.env);
  const rules = new DynamoRuleStore({
    client: deps.dynamo,
    tableName: requireEnv(deps.env, ROLLOUT_ENV.rules),
  });
  const healthCheck = Number(deps.env[ROLLOUT_ENV.healthCheckSeconds] ?? DEFAULT_HEALTH_CHECK_SECONDS);
  return new RolloutScheduler({
    rollouts,
    plans,
    counters: jobs.counters,
    executions: jobs.executions,
    registry: new DynamoDeviceRegistry({
      client: deps.dynamo,
      tableName: requireEnv(deps.env, ROLLOUT_ENV.registry),
    }),
    jobs: jobs.service,
    onChange: jobs.onChange,
    health: new RolloutHealth({
      executions: jobs.executions,
      plans,
      alerts: new DynamoAlertStore({
        client: deps.dynamo,
        tableName: requireEnv(deps.env, ROLLOUT_ENV.alerts),
      }),
      rules: { list: cachedRules(rules, deps.now) },
    }),
    rollbackImage: async (version, purpose) => {
      const firmware = await catalogs[purpose].get(version);
      return firmware?.status === 'available' && isSigned(firmware) ? { sha256: firmware.sha256 } : undefined;
    },
    rollbackSigner: new KmsSigner({
      client: deps.kms,
      keyId: requireEnv(deps.env, ROLLOUT_ENV.rollbackSigningKey),
    }),
    healthCheckSeconds:
      Number.isFinite(healthCheck) && healthCheck >= 0 ? healthCheck : DEFAULT_HEALTH_CHECK_SECONDS,
    log: deps.log,
    metrics: deps.metrics,
    now: deps.now,
  });
}

/** The counter reconciler. Needs rollouts, executions and counters. */
export function rolloutReconcilerFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly now: () => number;
}): RolloutReconciler {
  const { counters, executions } = jobStoresFrom(deps.dynamo, deps.env);
  return new RolloutReconciler({
    rollouts: rolloutStoreFrom(deps.dynamo, deps.env),
    executions,
    counters,
    log: deps.log,
    now: deps.now,
  });
}
