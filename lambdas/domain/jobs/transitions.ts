import {
  JOB_EXECUTION_STATUSES,
  type JobErrorCode,
  type JobExecutionStatus,
  TERMINAL_STATUSES,
} from '../../../lib/protocol/jobs.ts';
import { transitionTable } from '../transition-table.ts';

/**
 * Every execution state change, allowed or not, for both actors: one table, read by the functions that
 * change executions and enumerated by their tests.
 *
 * Sources: AWS IoT Jobs' job execution states
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html), UpdateJobExecution
 * (devices may set IN_PROGRESS, SUCCEEDED, FAILED, REJECTED), CancelJobExecution (IN_PROGRESS only with
 * `force`), TimeoutConfig (the timer runs from IN_PROGRESS) and JobExecutionsRetryConfig (FAILED and
 * TIMED_OUT are retried, REJECTED is not).
 *
 * Refusal codes: AWS documents InvalidStateTransition with the example SUCCEEDED → IN_PROGRESS, so a
 * device updating an execution it already finished gets that. TerminalStateReached is "the job is in a
 * terminal state": fleetkit returns it when the service ended the execution (CANCELED, REMOVED), which
 * tells the device to drop the work rather than retry the update.
 */

/** Who asks for the change: the device over MQTT, or fleetkit's scheduler and operators. */
export type ExecutionActor = 'device' | 'service';

/** The operations that change an execution; `update` and `startNext` are the device's. */
export type ExecutionOperation =
  | 'update'
  | 'startNext'
  | 'timeOut'
  | 'cancel'
  | 'forceCancel'
  | 'remove'
  | 'retry';

/** One (from, to, actor) cell. */
export interface ExecutionTransition {
  readonly from: JobExecutionStatus;
  readonly to: JobExecutionStatus;
  readonly actor: ExecutionActor;
  /** `allowed`, or the code the request is refused with. */
  readonly outcome: 'allowed' | JobErrorCode;
  /** For allowed cells, the operations that make the change. */
  readonly via: readonly ExecutionOperation[];
  readonly why: string;
}

type Allowed = readonly [
  JobExecutionStatus,
  JobExecutionStatus,
  ExecutionActor,
  readonly ExecutionOperation[],
  string,
];

const ALLOWED: readonly Allowed[] = [
  ['QUEUED', 'IN_PROGRESS', 'device', ['update', 'startNext'], 'the device starts the work'],
  ['QUEUED', 'SUCCEEDED', 'device', ['update'], 'a device may finish without reporting progress first'],
  ['QUEUED', 'FAILED', 'device', ['update'], 'a device may fail before it starts (no space, no power)'],
  ['QUEUED', 'REJECTED', 'device', ['update'], 'the device refuses a job it cannot run'],
  ['IN_PROGRESS', 'IN_PROGRESS', 'device', ['update'], 'progress: new statusDetails, a new step timeout'],
  ['IN_PROGRESS', 'SUCCEEDED', 'device', ['update'], 'the device finished the work'],
  ['IN_PROGRESS', 'FAILED', 'device', ['update'], 'the device could not finish'],
  ['IN_PROGRESS', 'REJECTED', 'device', ['update'], 'the device found it cannot run the job'],
  ['IN_PROGRESS', 'TIMED_OUT', 'service', ['timeOut'], 'the in-progress or step timer expired'],
  [
    'QUEUED',
    'CANCELED',
    'service',
    ['cancel', 'forceCancel'],
    'canceling a queued execution is always allowed',
  ],
  ['IN_PROGRESS', 'CANCELED', 'service', ['forceCancel'], 'AWS cancels IN_PROGRESS only with force=true'],
  ['QUEUED', 'REMOVED', 'service', ['remove'], 'the thing left the rollout (deleted, regrouped)'],
  ['IN_PROGRESS', 'REMOVED', 'service', ['remove'], 'the thing left the rollout (deleted, regrouped)'],
  ['FAILED', 'QUEUED', 'service', ['retry'], 'the retry config allows another attempt (new executionNumber)'],
  [
    'TIMED_OUT',
    'QUEUED',
    'service',
    ['retry'],
    'the retry config allows another attempt (new executionNumber)',
  ],
];

const DEVICE_SETTABLE: readonly JobExecutionStatus[] = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'];
const ENDED_BY_SERVICE: readonly JobExecutionStatus[] = ['CANCELED', 'REMOVED'];

function refusal(
  from: JobExecutionStatus,
  to: JobExecutionStatus,
  actor: ExecutionActor,
): [JobErrorCode, string] {
  if (ENDED_BY_SERVICE.includes(from))
    return ['TerminalStateReached', `the service ended this execution (${from})`];
  if (TERMINAL_STATUSES.includes(from)) {
    if (actor === 'service' && from === 'REJECTED' && to === 'QUEUED')
      return [
        'InvalidStateTransition',
        'a REJECTED execution is not retried: the device said it cannot run it',
      ];
    return ['InvalidStateTransition', `${from} is terminal`];
  }
  if (actor === 'device' && !DEVICE_SETTABLE.includes(to))
    return ['InvalidStateTransition', `devices set only ${DEVICE_SETTABLE.join(', ')}`];
  if (actor === 'service' && DEVICE_SETTABLE.includes(to))
    return ['InvalidStateTransition', `only the device reports ${to}`];
  if (to === 'TIMED_OUT') return ['InvalidStateTransition', 'timers run only while IN_PROGRESS'];
  if (to === 'QUEUED') return ['InvalidStateTransition', `only FAILED and TIMED_OUT executions are retried`];
  return ['InvalidStateTransition', `${from} → ${to} is not a transition`];
}

const TABLE = transitionTable<JobExecutionStatus, ExecutionActor, ExecutionTransition>(
  JOB_EXECUTION_STATUSES,
  ['device', 'service'] as const,
  (from, to, actor) => {
    const allowed = ALLOWED.find(([f, t, a]) => f === from && t === to && a === actor);
    if (allowed !== undefined)
      return { from, to, actor, outcome: 'allowed', via: allowed[3], why: allowed[4] };
    const [outcome, why] = refusal(from, to, actor);
    return { from, to, actor, outcome, via: [], why };
  },
);

/** All 8 × 8 × 2 cells. */
export const EXECUTION_TRANSITIONS: readonly ExecutionTransition[] = TABLE.rows;

/** The table's cell for a change. */
export function executionTransition(
  from: JobExecutionStatus,
  to: JobExecutionStatus,
  actor: ExecutionActor,
): ExecutionTransition {
  return TABLE.lookup(from, to, actor);
}
