import { deviceTopic } from '../../lib/protocol/topics.ts';
import type { DynamoCommandStore } from '../adapters/dynamo-command-store.ts';
import type { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import { type CommandCounterChange, commandCounterChanges } from '../domain/commands/counters.ts';
import { type DeviceContact, decideDelivery } from '../domain/commands/delivery.ts';
import {
  awaitsDispatch,
  type CommandExecution,
  CommandTransitionError,
  expire,
  hold,
  markSent,
  requestOf,
} from '../domain/commands/execution.ts';
import type { Publisher } from '../ports.ts';

/** A sent request unanswered for this long is sent again when its device shows up (at least once). */
export const RESEND_AFTER_MS = 30_000;

export interface CommandDeliveryProps {
  readonly store: Pick<DynamoCommandStore, 'save' | 'awaiting'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'apply'>;
  readonly publisher: Publisher;
  readonly now: () => number;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/** Counter increments as the counter store takes them (the batch is its partition). */
export function asCounterUpdates(changes: readonly CommandCounterChange[]) {
  return changes.map((change) => ({
    rolloutId: change.batchId,
    scope: change.scope,
    counter: change.status,
    delta: change.delta,
  }));
}

/** The counter increments of a change, as the counter store takes them. */
export function counterUpdates(before: CommandExecution | undefined, after: CommandExecution) {
  return asCounterUpdates(commandCounterChanges(before, after));
}

/**
 * Getting requests to devices: every change is written first (conditional on the version read), its
 * batch's counters moved, and only then is the request published, so a device's answer always finds
 * the execution it answers. A publish that fails takes the execution back to held: the device's next
 * sign of life sends it again.
 */
export class CommandDelivery {
  constructor(private readonly props: CommandDeliveryProps) {}

  /**
   * Stores `next` over `before` (undefined: a new execution) and moves the counters.
   * @returns the stored execution, or undefined when another writer changed it first
   */
  async commit(
    before: CommandExecution | undefined,
    next: CommandExecution,
  ): Promise<CommandExecution | undefined> {
    if ((await this.props.store.save(next, before?.version)) === 'conflict') return undefined;
    const updates = counterUpdates(before, next);
    if (updates.length > 0) await this.props.counters.apply(updates);
    return next;
  }

  /** Publishes an execution's request (already stored as SENT). */
  async publish(execution: CommandExecution): Promise<void> {
    await this.props.publisher.publish(
      deviceTopic('commands', execution.deviceType, execution.deviceId),
      JSON.stringify(requestOf(execution)),
    );
  }

  /** Sends now: SENT (or a resend) is stored, then published; a failed publish holds it again. */
  async send(execution: CommandExecution): Promise<CommandExecution | undefined> {
    const sent = markSent(execution, this.props.now());
    if (sent instanceof CommandTransitionError) return undefined;
    const stored = await this.commit(execution, sent);
    if (stored === undefined) return undefined;
    return this.publishOrHold(stored);
  }

  /** Publishes a stored SENT execution; if the publish fails, holds it for the device's next contact. */
  async publishOrHold(sent: CommandExecution): Promise<CommandExecution | undefined> {
    try {
      await this.publish(sent);
      return sent;
    } catch (error) {
      this.props.log?.('command publish failed; held for the next contact', {
        deviceId: sent.deviceId,
        executionId: sent.executionId,
        error: String(error),
      });
      const held = hold(sent, `publish failed (${String(error)}): held for the next contact`, undefined);
      return held instanceof CommandTransitionError ? sent : ((await this.commit(sent, held)) ?? sent);
    }
  }

  /** Sends now or holds, by what the device's last contact and PSM timers say. */
  async deliver(execution: CommandExecution, contact: DeviceContact): Promise<CommandExecution | undefined> {
    const decision = decideDelivery(contact, this.props.now());
    if (decision.send) return this.send(execution);
    const held = hold(execution, decision.why, decision.expectedDeliveryAt);
    return held instanceof CommandTransitionError ? undefined : this.commit(execution, held);
  }

  /**
   * The device showed up (a status, telemetry): it listens now. Everything waiting for it
   * goes out — held requests, and sent ones it has not answered for {@link RESEND_AFTER_MS} — unless
   * expired, which ends EXPIRED here rather than at the sweeper's next round. A fleet command's
   * executions the batch has not tried yet wait for the batch's pace.
   *
   * @returns how many requests were published
   */
  async wake(deviceId: string): Promise<{ sent: number; expired: number }> {
    const now = this.props.now();
    let sent = 0;
    let expired = 0;
    for (const execution of await this.props.store.awaiting(deviceId)) {
      if (now >= execution.expiresAt) {
        const ended = expire(execution, now);
        if (!(ended instanceof CommandTransitionError) && (await this.commit(execution, ended))) expired++;
        continue;
      }
      // A fleet command's untried executions go at the batch's pace, not at each device's first sign.
      if (awaitsDispatch(execution)) continue;
      if (execution.status === 'SENT' && now - (execution.lastSentAt ?? 0) < RESEND_AFTER_MS) continue;
      if ((await this.send(execution))?.status === 'SENT') sent++;
    }
    return { sent, expired };
  }
}
