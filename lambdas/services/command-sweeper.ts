import type { CommandExecutionStatus } from '../../lib/protocol/commands.ts';
import { COMMAND_SHARDS, type DynamoCommandStore } from '../adapters/dynamo-command-store.ts';
import type { DynamoDeviceRegistry } from '../adapters/dynamo-device-registry.ts';
import { type DeviceContact, decideDelivery } from '../domain/commands/delivery.ts';
import {
  type CommandExecution,
  CommandTransitionError,
  expire,
  hold,
  timeOut,
} from '../domain/commands/execution.ts';
import { eachLimited } from '../shared/each-limited.ts';
import type { CommandDelivery } from './command-delivery.ts';

/** Executions read per shard and round: a round is bounded, the next one (a minute on) takes the rest. */
const PER_SHARD = 200;
/** Executions changed at once: a round holds up to 16 × {@link PER_SHARD}, more than a client's sockets. */
const CONCURRENCY = 32;

export interface CommandSweeperProps {
  readonly store: Pick<DynamoCommandStore, 'due'>;
  readonly registry: Pick<DynamoDeviceRegistry, 'getMany'>;
  readonly delivery: Pick<CommandDelivery, 'commit'>;
  readonly now: () => number;
}

/** What a round ended or held again, by the status each execution ended in. */
export type SweepResult = Readonly<
  Record<Extract<CommandExecutionStatus, 'EXPIRED' | 'TIMED_OUT' | 'CREATED'>, number>
>;

/**
 * What the service ends (the sweeper, every minute, from the sparse due index — never a scan):
 * - held past its expiry → EXPIRED, never silently;
 * - started, no outcome in time → TIMED_OUT;
 * - sent, no answer in time: if the device was heard from since it was first sent, it had the request
 *   → TIMED_OUT; if not, it slept through it → held again for its next contact (or EXPIRED if it is
 *   past its expiry). A sleeping device's command is not failed for the device's sleep.
 */
export class CommandSweeper {
  constructor(private readonly props: CommandSweeperProps) {}

  async sweep(): Promise<SweepResult> {
    const now = this.props.now();
    const pages = await Promise.all(
      Array.from({ length: COMMAND_SHARDS }, (_, shard) => this.props.store.due(shard, now, PER_SHARD)),
    );
    const due = pages.flat();
    const sent = due
      .filter((execution) => execution.status === 'SENT')
      .map((execution) => execution.deviceId);
    const contacts = new Map<string, DeviceContact>(
      (sent.length === 0 ? [] : await this.props.registry.getMany([...new Set(sent)])).map((r) => [
        r.deviceId,
        r,
      ]),
    );
    const counts = { EXPIRED: 0, TIMED_OUT: 0, CREATED: 0 };
    await eachLimited(due, CONCURRENCY, async (execution) => {
      const next = this.verdict(execution, contacts.get(execution.deviceId) ?? {}, now);
      if (next === undefined || next instanceof CommandTransitionError) return;
      if ((await this.props.delivery.commit(execution, next)) === undefined) return;
      if (next.status === 'EXPIRED' || next.status === 'TIMED_OUT' || next.status === 'CREATED')
        counts[next.status]++;
    });
    return counts;
  }

  private verdict(
    execution: CommandExecution,
    contact: DeviceContact,
    now: number,
  ): CommandExecution | CommandTransitionError | undefined {
    switch (execution.status) {
      case 'CREATED':
        return now >= execution.expiresAt ? expire(execution, now) : undefined;
      case 'IN_PROGRESS':
        return timeOut(execution, now);
      case 'SENT': {
        const heard =
          contact.lastSeen !== undefined && contact.lastSeen > (execution.sentAt ?? Number.POSITIVE_INFINITY);
        if (heard) return timeOut(execution, now);
        if (now >= execution.expiresAt) return expire(execution, now);
        const decision = decideDelivery(contact, now);
        return hold(
          execution,
          'not heard from since it was sent: it slept through it; held for its next contact',
          decision.send ? undefined : decision.expectedDeliveryAt,
        );
      }
      default:
        return undefined;
    }
  }
}
