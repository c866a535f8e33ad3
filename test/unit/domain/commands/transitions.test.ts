import { describe, expect, it } from 'vitest';
import {
  applyAnswer,
  type CommandExecution,
  CommandTransitionError,
  createExecution,
  expire,
  hold,
  markSent,
  timeOut,
} from '../../../../lambdas/domain/commands/execution.ts';
import {
  COMMAND_TRANSITIONS,
  type CommandTransition,
} from '../../../../lambdas/domain/commands/transitions.ts';
import type { CommandExecutionStatus, DeviceAnswerStatus } from '../../../../lib/protocol/commands.ts';

const NOW = 1_764_196_408_000;

/** An execution in `status`, as the functions that lead there would leave it. */
function inStatus(status: CommandExecutionStatus): CommandExecution {
  const base = createExecution(
    {
      executionId: 'e1',
      deviceId: 'A',
      deviceType: 'tracker',
      name: 'ping',
      parameters: {},
      expiresAt: NOW + 3_600_000,
      timeoutSeconds: 60,
    },
    NOW - 10_000,
  );
  const sent =
    status === 'CREATED' ? base : { ...base, sentAt: NOW - 5_000, lastSentAt: NOW - 5_000, deliveries: 1 };
  return { ...sent, status };
}

/** Runs the operation an allowed cell names, for the cell's target status. */
function run(
  cell: CommandTransition,
  subject: CommandExecution,
): CommandExecution | CommandTransitionError | string {
  switch (cell.via) {
    case 'send':
    case 'resend':
      return markSent(subject, NOW);
    case 'requeue':
      return hold(subject, 'asleep', NOW + 60_000);
    case 'expire':
      return expire(subject, NOW);
    case 'timeOut':
      return timeOut(subject, NOW);
    case 'answer': {
      const answer = applyAnswer(subject, { executionId: 'e1', status: cell.to as DeviceAnswerStatus }, NOW);
      return answer.outcome === 'applied' ? answer.next : answer.outcome;
    }
    default:
      return 'no operation';
  }
}

describe('the command execution transition table', () => {
  it('has one cell for each of the 8 × 8 statuses and both actors', () => {
    const keys = new Set(COMMAND_TRANSITIONS.map((t) => `${t.actor}:${t.from}:${t.to}`));
    expect(COMMAND_TRANSITIONS).toHaveLength(128);
    expect(keys.size).toBe(128);
  });

  it('allows exactly these changes (a change here must be made on purpose, in both places)', () => {
    const allowed = COMMAND_TRANSITIONS.filter((t) => t.outcome === 'allowed').map(
      (t) => `${t.actor} ${t.from} → ${t.to} via ${t.via}`,
    );
    expect(allowed.sort()).toEqual(
      [
        'device CREATED → FAILED via answer',
        'device CREATED → IN_PROGRESS via answer',
        'device CREATED → REJECTED via answer',
        'device CREATED → SUCCEEDED via answer',
        'device IN_PROGRESS → FAILED via answer',
        'device IN_PROGRESS → REJECTED via answer',
        'device IN_PROGRESS → SUCCEEDED via answer',
        'device SENT → FAILED via answer',
        'device SENT → IN_PROGRESS via answer',
        'device SENT → REJECTED via answer',
        'device SENT → SUCCEEDED via answer',
        'service CREATED → EXPIRED via expire',
        'service CREATED → SENT via send',
        'service IN_PROGRESS → TIMED_OUT via timeOut',
        'service SENT → CREATED via requeue',
        'service SENT → EXPIRED via expire',
        'service SENT → SENT via resend',
        'service SENT → TIMED_OUT via timeOut',
      ].sort(),
    );
  });

  it.each<[CommandExecutionStatus, DeviceAnswerStatus, 'duplicate' | 'late']>([
    ['IN_PROGRESS', 'IN_PROGRESS', 'duplicate'],
    ['SUCCEEDED', 'SUCCEEDED', 'duplicate'],
    ['SUCCEEDED', 'FAILED', 'duplicate'],
    ['FAILED', 'IN_PROGRESS', 'duplicate'],
    ['REJECTED', 'REJECTED', 'duplicate'],
    ['TIMED_OUT', 'SUCCEEDED', 'late'],
    ['TIMED_OUT', 'IN_PROGRESS', 'late'],
    ['EXPIRED', 'SUCCEEDED', 'late'],
  ])('an answer %s → %s changes nothing: %s', (from, answered, outcome) => {
    // Prepare
    const subject = inStatus(from);

    // Act
    const result = applyAnswer(subject, { executionId: 'e1', status: answered, result: { x: 1 } }, NOW);

    // Assess
    expect(result.outcome).toBe(outcome);
  });

  it.each(COMMAND_TRANSITIONS.filter((t) => t.outcome === 'allowed'))(
    'the functions make the allowed change $actor $from → $to ($via)',
    (cell) => {
      // Prepare: a SENT execution whose device slept through it is requeued; the others as they come
      const subject = inStatus(cell.from);

      // Act
      const next = run(cell, subject);

      // Assess
      if (typeof next === 'string' || next instanceof CommandTransitionError) throw new Error(String(next));
      expect(next.status).toBe(cell.to);
      expect(next.version).toBe(subject.version + 1);
    },
  );

  it.each(
    COMMAND_TRANSITIONS.filter(
      (t) =>
        t.outcome === 'refused' && t.actor === 'service' && ['SENT', 'EXPIRED', 'TIMED_OUT'].includes(t.to),
    ),
  )('the service functions refuse $from → $to ($why)', (cell) => {
    // Prepare
    const subject = inStatus(cell.from);
    const attempt =
      cell.to === 'SENT'
        ? markSent(subject, NOW)
        : cell.to === 'EXPIRED'
          ? expire(subject, NOW)
          : timeOut(subject, NOW);

    // Assess
    expect(attempt).toBeInstanceOf(CommandTransitionError);
  });
});
