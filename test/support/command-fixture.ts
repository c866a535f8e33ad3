import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoCommandBatchStore } from '../../lambdas/adapters/dynamo-command-batch-store.ts';
import { DynamoCommandStore } from '../../lambdas/adapters/dynamo-command-store.ts';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { DynamoRolloutCounterStore } from '../../lambdas/adapters/dynamo-rollout-counters.ts';
import type { Publisher } from '../../lambdas/ports.ts';
import { CommandAnswers } from '../../lambdas/services/command-answers.ts';
import { CommandDelivery } from '../../lambdas/services/command-delivery.ts';
import { CommandFleet } from '../../lambdas/services/command-fleet.ts';
import { commandIdFactory } from '../../lambdas/services/command-setup.ts';
import { CommandSweeper } from '../../lambdas/services/command-sweeper.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { DEFAULT_COMMAND_CATALOG } from '../../lib/protocol/command-catalog.ts';
import type { GrantedPsm } from '../../lib/protocol/messages.ts';
import { topology } from '../../lib/topology.ts';
import { RecordingPublisher } from './shadow-store.ts';

/** Publishes as told, or fails every publish while `failing` (a broken data plane, which the real one cannot be made to be). */
export class SwitchablePublisher extends RecordingPublisher {
  failing = false;

  override async publish(topic: string, payload: string): Promise<void> {
    if (this.failing) throw new Error('ServiceUnavailableException: the data plane is down');
    await super.publish(topic, payload);
  }
}

/** The command services on dynalite, with a clock the test moves. */
export interface CommandFixture {
  readonly dynamo: LocalDynamo;
  /** The document client the services use, and their tables' names (to write an item as it must not be). */
  readonly client: DynamoDBDocumentClient;
  readonly tables: { readonly executions: string };
  readonly clock: { now: number };
  readonly publisher: SwitchablePublisher;
  readonly store: DynamoCommandStore;
  readonly registry: DynamoDeviceRegistry;
  readonly counters: DynamoRolloutCounterStore;
  readonly delivery: CommandDelivery;
  readonly fleet: CommandFleet;
  readonly answers: CommandAnswers;
  readonly sweeper: CommandSweeper;
  /** Registers (or refreshes) a device as the status ingest would: seen now, with its PSM grant. */
  seen(deviceId: string, deviceType: string, psm?: GrantedPsm): Promise<void>;
  close(): Promise<void>;
}

let fixtures = 0;

export async function startCommandFixture(start = 1_764_196_408_000): Promise<CommandFixture> {
  const dynamo = await startDynamo({});
  const n = ++fixtures;
  const names = {
    executions: `executions-${n}`,
    batches: `batches-${n}`,
    counters: `counters-${n}`,
    registry: `registry-${n}`,
  };
  const { resources } = topology;
  await ensureTable(dynamo.client, names.executions, resources.commandExecutions);
  await ensureTable(dynamo.client, names.batches, resources.commandBatches);
  await ensureTable(dynamo.client, names.counters, resources.commandCounters);
  await ensureTable(dynamo.client, names.registry, resources.registry);
  const client = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const clock = { now: start };
  const now = () => clock.now;
  const retentionMs = 30 * 86_400_000;
  const publisher = new SwitchablePublisher();
  const store = new DynamoCommandStore({ client, tableName: names.executions, retentionMs });
  const counters = new DynamoRolloutCounterStore({
    client,
    tableName: names.counters,
    partitionKey: 'batchId',
  });
  const registry = new DynamoDeviceRegistry({ client, tableName: names.registry });
  const delivery = new CommandDelivery({ store, counters, publisher: publisher as Publisher, now });
  const fleet = new CommandFleet({
    store,
    batches: new DynamoCommandBatchStore({ client, tableName: names.batches, retentionMs }),
    counters,
    registry,
    delivery,
    catalog: DEFAULT_COMMAND_CATALOG,
    newId: commandIdFactory(now),
    now,
  });
  return {
    dynamo,
    client,
    tables: { executions: names.executions },
    clock,
    publisher,
    store,
    registry,
    counters,
    delivery,
    fleet,
    answers: new CommandAnswers({ store, delivery, now }),
    sweeper: new CommandSweeper({ store, registry, delivery, now }),
    async seen(deviceId, deviceType, psm) {
      await registry.recordSighting({
        deviceId,
        deviceType,
        lastSeen: clock.now,
        firmwareVersion: '1.0.0',
        ...(psm === undefined ? {} : { psm }),
      });
    },
    close: () => dynamo.close(),
  };
}
