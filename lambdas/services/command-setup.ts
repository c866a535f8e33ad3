import { randomBytes } from 'node:crypto';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_COMMAND_CATALOG } from '../../lib/protocol/command-catalog.ts';
import { DynamoCommandBatchStore } from '../adapters/dynamo-command-batch-store.ts';
import { DynamoCommandStore } from '../adapters/dynamo-command-store.ts';
import { DynamoDeviceRegistry } from '../adapters/dynamo-device-registry.ts';
import { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import { IotDataPublisher } from '../adapters/iot-data-publisher.ts';
import type { Logger } from '../shared/logger.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';
import { CommandAnswers } from './command-answers.ts';
import { CommandDelivery } from './command-delivery.ts';
import { CommandFleet } from './command-fleet.ts';
import { CommandService } from './command-service.ts';
import { CommandSweeper } from './command-sweeper.ts';

/** Env of the command functions: the topology's resources and settings. */
export const COMMAND_ENV = {
  executions: 'COMMAND_EXECUTIONS_TABLE_NAME',
  batches: 'COMMAND_BATCHES_TABLE_NAME',
  counters: 'COMMAND_COUNTERS_TABLE_NAME',
  registry: 'REGISTRY_TABLE_NAME',
  retentionDays: 'COMMAND_RETENTION_DAYS',
} as const;

/**
 * Execution ids that sort by creation time (a device's commands list newest first by key): the time in
 * base 36, nine digits wide, then 64 random bits.
 */
export function commandIdFactory(now: () => number): () => string {
  return () => `${now().toString(36).padStart(9, '0')}${randomBytes(8).toString('base64url')}`;
}

/** What every command function is built from. */
export interface CommandDeps {
  readonly dynamo: DynamoDBDocumentClient;
  readonly iotData: IoTDataPlaneClient;
  readonly env: HandlerEnv;
  readonly now: () => number;
  readonly log: Logger;
}

function retentionMs(env: HandlerEnv): number {
  const days = Number(requireEnv(env, COMMAND_ENV.retentionDays));
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`${COMMAND_ENV.retentionDays} must be a whole number of days >= 1; got '${days}'`);
  return days * 86_400_000;
}

/** The executions table. Needs `commandExecutions` in the function's uses. */
export function commandStoreFrom(deps: Pick<CommandDeps, 'dynamo' | 'env'>): DynamoCommandStore {
  return new DynamoCommandStore({
    client: deps.dynamo,
    tableName: requireEnv(deps.env, COMMAND_ENV.executions),
    retentionMs: retentionMs(deps.env),
  });
}

/** Fleet commands' counters: the rollouts' counter store, on a table keyed by batch. */
function countersFrom(deps: Pick<CommandDeps, 'dynamo' | 'env'>): DynamoRolloutCounterStore {
  return new DynamoRolloutCounterStore({
    client: deps.dynamo,
    tableName: requireEnv(deps.env, COMMAND_ENV.counters),
    partitionKey: 'batchId',
  });
}

/** Delivery: the store, the batch counters, the IoT data plane. */
export function commandDeliveryFrom(
  deps: CommandDeps,
  store = commandStoreFrom(deps),
  counters = countersFrom(deps),
): CommandDelivery {
  return new CommandDelivery({
    store,
    counters,
    publisher: new IotDataPublisher({ client: deps.iotData }),
    now: deps.now,
    log: (message, fields) => deps.log.warn(message, fields),
  });
}

function registryFrom(deps: CommandDeps): DynamoDeviceRegistry {
  return new DynamoDeviceRegistry({
    client: deps.dynamo,
    tableName: requireEnv(deps.env, COMMAND_ENV.registry),
  });
}

function batchStoreFrom(deps: CommandDeps): DynamoCommandBatchStore {
  return new DynamoCommandBatchStore({
    client: deps.dynamo,
    tableName: requireEnv(deps.env, COMMAND_ENV.batches),
    retentionMs: retentionMs(deps.env),
  });
}

/** The parts every command function shares, built once. */
function partsFrom(deps: CommandDeps) {
  const store = commandStoreFrom(deps);
  const counters = countersFrom(deps);
  const delivery = commandDeliveryFrom(deps, store, counters);
  return { store, counters, delivery, newId: commandIdFactory(deps.now) };
}

function fleetFrom(deps: CommandDeps, parts: ReturnType<typeof partsFrom>, registry: DynamoDeviceRegistry) {
  return new CommandFleet({
    ...parts,
    batches: batchStoreFrom(deps),
    registry,
    catalog: DEFAULT_COMMAND_CATALOG,
    now: deps.now,
  });
}

/** The HTTP API's services: one device, and fleet commands. */
export function commandApiFrom(deps: CommandDeps & { readonly sleep: (ms: number) => Promise<void> }) {
  const parts = partsFrom(deps);
  const registry = registryFrom(deps);
  return {
    commands: new CommandService({
      ...parts,
      registry,
      catalog: DEFAULT_COMMAND_CATALOG,
      now: deps.now,
      sleep: deps.sleep,
    }),
    fleet: fleetFrom(deps, parts, registry),
  };
}

/** What the MQTT function needs: answers, and the wake-up of devices that show up. */
export function commandMqttFrom(deps: CommandDeps) {
  const store = commandStoreFrom(deps);
  const delivery = commandDeliveryFrom(deps, store);
  return { answers: new CommandAnswers({ store, delivery, now: deps.now }), delivery };
}

/** What the scheduler needs: the paced dispatch of fleet commands, and the sweeper. */
export function commandSchedulerFrom(deps: CommandDeps) {
  const parts = partsFrom(deps);
  const registry = registryFrom(deps);
  return {
    fleet: fleetFrom(deps, parts, registry),
    sweeper: new CommandSweeper({ ...parts, registry, now: deps.now }),
  };
}
