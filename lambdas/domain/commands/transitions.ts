import {
  COMMAND_EXECUTION_STATUSES,
  type CommandExecutionStatus,
  DEVICE_ANSWER_STATUSES,
} from '../../../lib/protocol/commands.ts';
import { transitionTable } from '../transition-table.ts';

/**
 * Every state change of a command execution, allowed or not, for both actors: one table, read by the
 * functions that change executions and enumerated by their test.
 *
 * CREATED → SENT → IN_PROGRESS → SUCCEEDED / FAILED / REJECTED is AWS IoT Commands' life of an
 * execution (https://docs.aws.amazon.com/iot/latest/developerguide/iot-remote-command-execution-start-monitor.html);
 * TIMED_OUT is the service's when the outcome does not come in time. What AWS does not have is the
 * device that sleeps (issue 11): a request to a device in PSM is held (it stays CREATED), sent when the
 * device next shows up, sent again when it shows up without having answered, taken back to CREATED when
 * the device has not been heard from since it was sent (it slept through it), and ends EXPIRED — never
 * silently — when it could not be delivered in time.
 *
 * A device's answer that comes after its own outcome is a duplicate (the broker delivers at least
 * once); one that comes after the service ended the execution is late. Neither changes anything: both
 * are counted.
 */

/** Who changes an execution: the device by answering, or the service (API, delivery, sweeper). */
export type CommandActor = 'device' | 'service';

/** The service's operations on an execution. */
export type CommandOperation = 'send' | 'resend' | 'requeue' | 'expire' | 'timeOut' | 'answer';

/** What the table says of one change. */
export type CommandTransitionOutcome = 'allowed' | 'duplicate' | 'late' | 'refused';

/** One (from, to, actor) cell. */
export interface CommandTransition {
  readonly from: CommandExecutionStatus;
  readonly to: CommandExecutionStatus;
  readonly actor: CommandActor;
  readonly outcome: CommandTransitionOutcome;
  /** For allowed cells, the operation that makes the change. */
  readonly via?: CommandOperation;
  readonly why: string;
}

type Allowed = readonly [
  CommandExecutionStatus,
  CommandExecutionStatus,
  CommandActor,
  CommandOperation,
  string,
];

const ALLOWED: readonly Allowed[] = [
  ['CREATED', 'SENT', 'service', 'send', 'published to a device that is awake'],
  [
    'SENT',
    'SENT',
    'service',
    'resend',
    'the device showed up again without answering: at least once, it runs an id once',
  ],
  [
    'SENT',
    'CREATED',
    'service',
    'requeue',
    'the device was not heard from since it was sent: it slept through it; held again',
  ],
  ['CREATED', 'EXPIRED', 'service', 'expire', 'expiresAt passed before the device could be reached'],
  ['SENT', 'EXPIRED', 'service', 'expire', 'sent, but the device was not heard from again before expiresAt'],
  [
    'SENT',
    'TIMED_OUT',
    'service',
    'timeOut',
    'the device was heard from after the request but gave no answer in time',
  ],
  ['IN_PROGRESS', 'TIMED_OUT', 'service', 'timeOut', 'the device started but gave no outcome in time'],
  ['SENT', 'IN_PROGRESS', 'device', 'answer', 'a long command: the device started it'],
  ['SENT', 'SUCCEEDED', 'device', 'answer', 'the device ran it'],
  ['SENT', 'FAILED', 'device', 'answer', 'the device tried and could not'],
  ['SENT', 'REJECTED', 'device', 'answer', 'the device refused it (unknown, bad parameters)'],
  ['IN_PROGRESS', 'SUCCEEDED', 'device', 'answer', 'the long command finished'],
  ['IN_PROGRESS', 'FAILED', 'device', 'answer', 'the long command could not finish'],
  ['IN_PROGRESS', 'REJECTED', 'device', 'answer', 'the device found it cannot run it after all'],
  // The request reached the device although its publish was not confirmed (QoS 1 is at least once,
  // and the data plane may time out after delivering): the answer proves delivery.
  [
    'CREATED',
    'IN_PROGRESS',
    'device',
    'answer',
    'the answer proves a delivery the service did not see confirmed',
  ],
  [
    'CREATED',
    'SUCCEEDED',
    'device',
    'answer',
    'the answer proves a delivery the service did not see confirmed',
  ],
  ['CREATED', 'FAILED', 'device', 'answer', 'the answer proves a delivery the service did not see confirmed'],
  [
    'CREATED',
    'REJECTED',
    'device',
    'answer',
    'the answer proves a delivery the service did not see confirmed',
  ],
];

const DEVICE_ENDED: readonly CommandExecutionStatus[] = ['SUCCEEDED', 'FAILED', 'REJECTED'];
const SERVICE_ENDED: readonly CommandExecutionStatus[] = ['TIMED_OUT', 'EXPIRED'];

function notAllowed(
  from: CommandExecutionStatus,
  to: CommandExecutionStatus,
  actor: CommandActor,
): [Exclude<CommandTransitionOutcome, 'allowed'>, string] {
  if (actor === 'device') {
    if (!(DEVICE_ANSWER_STATUSES as readonly string[]).includes(to))
      return ['refused', `devices answer only ${DEVICE_ANSWER_STATUSES.join(', ')}`];
    if (SERVICE_ENDED.includes(from)) return ['late', `the service ended it first (${from})`];
    if (DEVICE_ENDED.includes(from)) return ['duplicate', `the device already answered ${from}`];
    return ['duplicate', 'IN_PROGRESS again: the device already said it started'];
  }
  if ([...DEVICE_ENDED, ...SERVICE_ENDED].includes(from)) return ['refused', `${from} is terminal`];
  if ((DEVICE_ANSWER_STATUSES as readonly string[]).includes(to))
    return ['refused', `only the device reports ${to}`];
  return ['refused', `${from} → ${to} is not a transition`];
}

const TABLE = transitionTable<CommandExecutionStatus, CommandActor, CommandTransition>(
  COMMAND_EXECUTION_STATUSES,
  ['device', 'service'] as const,
  (from, to, actor) => {
    const allowed = ALLOWED.find(([f, t, a]) => f === from && t === to && a === actor);
    if (allowed !== undefined)
      return { from, to, actor, outcome: 'allowed', via: allowed[3], why: allowed[4] };
    const [outcome, why] = notAllowed(from, to, actor);
    return { from, to, actor, outcome, why };
  },
);

/** All 8 × 8 × 2 cells. */
export const COMMAND_TRANSITIONS: readonly CommandTransition[] = TABLE.rows;

/** The table's cell for a change. */
export function commandTransition(
  from: CommandExecutionStatus,
  to: CommandExecutionStatus,
  actor: CommandActor,
): CommandTransition {
  return TABLE.lookup(from, to, actor);
}
