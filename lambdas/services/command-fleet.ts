import {
  DEFAULT_COMMAND_EXPIRY_SECONDS,
  DEFAULT_COMMAND_RATE_PER_MINUTE,
  type FleetCommandBody,
} from '../../lib/protocol/command-api.ts';
import type { CommandCatalog } from '../../lib/protocol/command-catalog.ts';
import { SchemaValidationError } from '../../lib/protocol/errors.ts';
import type { RolloutTargets } from '../../lib/protocol/rollouts.ts';
import type { DynamoCommandBatchStore } from '../adapters/dynamo-command-batch-store.ts';
import { COMMAND_SHARDS, type DynamoCommandStore } from '../adapters/dynamo-command-store.ts';
import type { DynamoDeviceRegistry } from '../adapters/dynamo-device-registry.ts';
import type { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import {
  type CommandBatch,
  dispatchQuota,
  recordDispatch,
  selectBatchTargets,
} from '../domain/commands/batch.ts';
import {
  batchProgress,
  newExecutionCounterChanges,
  tallyCommandCounters,
} from '../domain/commands/counters.ts';
import { decideDelivery } from '../domain/commands/delivery.ts';
import { CommandRefusedError } from '../domain/commands/errors.ts';
import {
  awaitsDispatch,
  type CommandExecution,
  createExecution,
  hold,
  markSent,
} from '../domain/commands/execution.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { DeviceRecord } from '../ports.ts';
import { eachLimited } from '../shared/each-limited.ts';
import { asCounterUpdates, type CommandDelivery } from './command-delivery.ts';
import { rolloutDeviceOf } from './rollout-service.ts';

/** Executions written per step of a fleet command's creation; the previous step publishes meanwhile. */
const CHUNK = 500;
const REGISTRY_PAGE = 1000;
/** GSIs are eventually consistent: an empty send queue is believed only this long after creation. */
const QUEUE_SETTLE_MS = 60_000;

export interface CommandFleetProps {
  readonly store: Pick<DynamoCommandStore, 'createMany' | 'queued'>;
  readonly batches: Pick<DynamoCommandBatchStore, 'get' | 'save' | 'dispatching'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'apply' | 'read'>;
  readonly registry: Pick<DynamoDeviceRegistry, 'scan' | 'list' | 'getMany'>;
  readonly delivery: Pick<CommandDelivery, 'deliver' | 'publishOrHold'>;
  readonly catalog: CommandCatalog;
  readonly newId: () => string;
  readonly now: () => number;
  /** Publishes in flight at once. @default 32 */
  readonly concurrency?: number;
}

/** A fleet command as `GET /commands/{batchId}` shows it: the batch, and its progress from counters. */
export function batchView(
  batch: CommandBatch,
  counters: readonly { counters: Readonly<Record<string, number>> }[],
) {
  const { version: _version, ...rest } = batch;
  return { ...rest, progress: batchProgress(tallyCommandCounters(counters.map((c) => c.counters))) };
}

/**
 * Fleet commands (`POST /commands`): select devices with the rollouts' targeting, create one execution
 * each (so progress counts from the start), and send at the batch's rate — the first minute's worth at
 * once, the rest a minute at a time from the scheduler. Progress is read from counters in O(1).
 */
export class CommandFleet {
  constructor(private readonly props: CommandFleetProps) {}

  async create(body: FleetCommandBody) {
    const { props } = this;
    const batchId = body.batchId ?? props.newId();
    if ((await props.batches.get(batchId)) !== undefined)
      throw new CommandRefusedError('BatchExists', `fleet command ${batchId} exists; choose another batchId`);
    const records = await this.devices(body.targets);
    const selection = selectBatchTargets(records.map(rolloutDeviceOf), body.targets, props.catalog, {
      name: body.name,
      parameters: body.parameters ?? {},
    });
    if (!selection.ok) throw new SchemaValidationError('fleet command request', selection.issues);
    if (selection.targets.length === 0)
      throw new CommandRefusedError('NoDevices', `no device to send ${body.name} to`, {
        targeted: selection.targeted,
        skippedUnknownCommand: selection.skippedUnknownCommand,
      });
    const now = props.now();
    const batch: CommandBatch = {
      batchId,
      name: body.name,
      parameters: body.parameters ?? {},
      targets: body.targets,
      ...(body.description === undefined ? {} : { description: body.description }),
      ratePerMinute: body.ratePerMinute ?? DEFAULT_COMMAND_RATE_PER_MINUTE,
      expiresAt: now + (body.expiresInSeconds ?? DEFAULT_COMMAND_EXPIRY_SECONDS) * 1000,
      ...(body.timeoutSeconds === undefined ? {} : { timeoutSeconds: body.timeoutSeconds }),
      createdAt: now,
      status: 'DISPATCHING',
      targeted: selection.targeted,
      skippedUnknownCommand: selection.skippedUnknownCommand,
      total: selection.targets.length,
      dispatched: 0,
      version: 1,
    };
    // The batch first: executions without their batch would never be dispatched.
    if ((await props.batches.save(batch, undefined)) === 'conflict')
      throw new CommandRefusedError('BatchExists', `fleet command ${batchId} exists; choose another batchId`);
    const contacts = new Map(records.map((r) => [r.deviceId, r]));
    const quota = dispatchQuota(batch, now);
    // The first minute's worth is decided at creation: written SENT (or held) at once, one write each.
    const executions = selection.targets.map((target, i) => {
      const created = createExecution(
        {
          executionId: props.newId(),
          deviceId: target.deviceId,
          deviceType: target.deviceType,
          name: body.name,
          parameters: batch.parameters,
          expiresAt: batch.expiresAt,
          timeoutSeconds: body.timeoutSeconds ?? selection.timeoutSeconds[target.deviceType] ?? 60,
          batchId,
        },
        now,
      );
      if (i >= quota) return created;
      const decision = decideDelivery(contacts.get(target.deviceId) ?? {}, now);
      const next = decision.send
        ? markSent(created, now)
        : hold(created, decision.why, decision.expectedDeliveryAt);
      return next instanceof Error ? created : next;
    });
    await this.writeAndPublish(executions);
    const dispatched = recordDispatch(batch, Math.min(quota, batch.total), now, quota >= batch.total);
    await props.batches.save(dispatched, batch.version);
    return batchView(dispatched, await props.counters.read(batchId));
  }

  /**
   * Writes executions a chunk at a time, counters with them (one item's increments per chunk), and
   * publishes the SENT ones of a chunk while the next chunk is written: a request is never published
   * before its execution is stored.
   */
  private async writeAndPublish(executions: readonly CommandExecution[]): Promise<void> {
    let publishing: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < executions.length; i += CHUNK) {
      const chunk = executions.slice(i, i + CHUNK);
      await this.props.store.createMany(chunk);
      await this.props.counters.apply(asCounterUpdates(newExecutionCounterChanges(chunk, i / CHUNK)));
      await publishing;
      const sent = chunk.filter((execution) => execution.status === 'SENT');
      publishing = eachLimited(sent, this.props.concurrency ?? 32, (execution) =>
        this.props.delivery.publishOrHold(execution),
      );
    }
    await publishing;
  }

  /** The batch and its counters, read side by side: two requests' time is one round trip. */
  async status(batchId: string) {
    const [batch, counters] = await Promise.all([
      this.props.batches.get(batchId),
      this.props.counters.read(batchId),
    ]);
    if (batch === undefined) throw new NotFoundError(`no fleet command ${batchId}`);
    return batchView(batch, counters);
  }

  /** One scheduler tick for every fleet command still dispatching. @returns executions tried */
  async dispatchAll(): Promise<number> {
    let tried = 0;
    for (const batch of await this.props.batches.dispatching()) tried += await this.dispatch(batch);
    return tried;
  }

  /** Tries the next executions of a batch's send queue, as many as its rate allows now. */
  async dispatch(batch: CommandBatch): Promise<number> {
    const now = this.props.now();
    const quota = dispatchQuota(batch, now);
    if (quota === 0) return 0;
    const perShard = Math.ceil(quota / COMMAND_SHARDS);
    const pages = await Promise.all(
      Array.from({ length: COMMAND_SHARDS }, (_, shard) =>
        this.props.store.queued(batch.batchId, shard, perShard),
      ),
    );
    // The queue index may lag its table: one sent since (by another tick) is no longer queued.
    const queued = pages.flat().filter(awaitsDispatch);
    const taken = queued.slice(0, quota);
    const contacts = new Map(
      (await this.props.registry.getMany(taken.map((e) => e.deviceId))).map((r) => [r.deviceId, r]),
    );
    await eachLimited(taken, this.props.concurrency ?? 32, (execution) =>
      this.props.delivery.deliver(execution, contacts.get(execution.deviceId) ?? {}),
    );
    const emptied = pages.every((page) => page.length < perShard) && taken.length === queued.length;
    const drained =
      batch.dispatched + taken.length >= batch.total || (emptied && now - batch.createdAt >= QUEUE_SETTLE_MS);
    // A conflict means another tick got there: the next tick recomputes from what is stored.
    await this.props.batches.save(recordDispatch(batch, taken.length, now, drained), batch.version);
    return taken.length;
  }

  /** The registry records the targets can select, read as narrowly as the targets allow. */
  private async devices(targets: RolloutTargets): Promise<DeviceRecord[]> {
    if (targets.things !== undefined) return this.props.registry.getMany(targets.things);
    const records: DeviceRecord[] = [];
    for (const deviceType of targets.deviceTypes ?? [undefined]) {
      let token: string | undefined;
      do {
        const page =
          deviceType === undefined
            ? await this.props.registry.scan(REGISTRY_PAGE, token)
            : await this.props.registry.list({
                deviceType,
                limit: REGISTRY_PAGE,
                ...(token === undefined ? {} : { nextToken: token }),
              });
        records.push(...page.items);
        token = page.nextToken;
      } while (token !== undefined);
    }
    return records;
  }
}
