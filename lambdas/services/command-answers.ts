import type { CommandAnswer, CommandExecutionStatus } from '../../lib/protocol/commands.ts';
import type { DynamoCommandStore } from '../adapters/dynamo-command-store.ts';
import { applyAnswer } from '../domain/commands/execution.ts';
import type { CommandDelivery } from './command-delivery.ts';

/** What a device's answer did. */
export type AnswerResult =
  | { readonly outcome: 'applied'; readonly status: CommandExecutionStatus; readonly ended: boolean }
  | { readonly outcome: 'duplicate' | 'late' | 'refused' | 'unknown'; readonly reason: string };

export interface CommandAnswersProps {
  readonly store: Pick<DynamoCommandStore, 'get' | 'save'>;
  readonly delivery: Pick<CommandDelivery, 'commit'>;
  readonly now: () => number;
}

/** Tries before giving up on an execution that keeps changing under the answer. */
const ATTEMPTS = 4;

/**
 * Devices' answers: applied to the execution the answer names, looked up under the device whose topic it
 * came on — a device answering for another finds nothing (and the device policy refuses it first). A
 * duplicate or late answer changes nothing but the execution's `ignoredAnswers`.
 */
export class CommandAnswers {
  constructor(private readonly props: CommandAnswersProps) {}

  async apply(deviceId: string, answer: CommandAnswer): Promise<AnswerResult> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const execution = await this.props.store.get(deviceId, answer.executionId);
      if (execution === undefined)
        return { outcome: 'unknown', reason: `no execution ${answer.executionId} for ${deviceId}` };
      const result = applyAnswer(execution, answer, this.props.now());
      if (result.outcome === 'applied') {
        if ((await this.props.delivery.commit(execution, result.next)) === undefined) continue;
        const ended = result.next.status !== 'IN_PROGRESS';
        return { outcome: 'applied', status: result.next.status, ended };
      }
      if (result.outcome === 'refused') return result;
      // Counted on the execution, so an operator sees a device that repeats itself or answers late.
      const counted = {
        ...execution,
        ignoredAnswers: execution.ignoredAnswers + 1,
        version: execution.version + 1,
      };
      if ((await this.props.store.save(counted, execution.version)) === 'conflict') continue;
      return result;
    }
    return { outcome: 'refused', reason: `execution ${answer.executionId} kept changing; answer dropped` };
  }
}
