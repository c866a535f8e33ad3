import {
  type CommandAnswer,
  type CommandExecutionStatus,
  type CommandRequest,
  TERMINAL_COMMAND_STATUSES,
} from '../../../lib/protocol/commands.ts';
import { type CommandOperation, commandTransition } from './transitions.ts';

/**
 * A command execution: one command for one device, from its creation to its outcome. Pure functions
 * take an execution and return the next one (or why not); the service stores it with a conditional
 * write on `version`, so two writers never both win.
 */
export interface CommandExecution {
  readonly executionId: string;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly name: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly status: CommandExecutionStatus;
  /** The fleet command it belongs to, if any. */
  readonly batchId?: string;
  readonly createdAt: number;
  /** The request's `expiresAt`: the device must not act after it; undelivered by then → EXPIRED. */
  readonly expiresAt: number;
  /** How long after it was first sent the outcome may take. */
  readonly timeoutSeconds: number;
  /** First publish of the request. */
  readonly sentAt?: number;
  /** Last publish of the request (a resend moves it). */
  readonly lastSentAt?: number;
  /** Times the request was published. */
  readonly deliveries: number;
  /** While held: when the device is expected to show up, from its PSM timers and last contact. */
  readonly expectedDeliveryAt?: number;
  /** Why the request waits, while it is held. */
  readonly heldReason?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly reason?: string;
  readonly result?: Readonly<Record<string, unknown>>;
  /** Answers that changed nothing: duplicates of an outcome, or late after the service ended it. */
  readonly ignoredAnswers: number;
  /** Moves on every change: the stored item's condition. */
  readonly version: number;
}

/** What a new execution needs to know. */
export interface NewExecution {
  readonly executionId: string;
  readonly deviceId: string;
  readonly deviceType: string;
  readonly name: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly expiresAt: number;
  readonly timeoutSeconds: number;
  readonly batchId?: string;
}

/** A new execution, CREATED and not yet sent. */
export function createExecution(input: NewExecution, now: number): CommandExecution {
  return { ...input, status: 'CREATED', createdAt: now, deliveries: 0, ignoredAnswers: 0, version: 1 };
}

/** Whether nothing changes `execution` any more. */
export function isEnded(execution: Pick<CommandExecution, 'status'>): boolean {
  return TERMINAL_COMMAND_STATUSES.includes(execution.status);
}

/** When the request must be answered by, once sent. */
export function timeoutAt(execution: CommandExecution): number | undefined {
  return execution.sentAt === undefined ? undefined : execution.sentAt + execution.timeoutSeconds * 1000;
}

/**
 * When the sweeper must look at the execution again: a held one at its expiry, a sent or started one at
 * its timeout; never for an ended one.
 */
export function dueAtOf(execution: CommandExecution): number | undefined {
  if (execution.status === 'CREATED') return execution.expiresAt;
  if (execution.status === 'SENT' || execution.status === 'IN_PROGRESS') return timeoutAt(execution);
  return undefined;
}

/**
 * Whether the execution waits for its device to take it: held, or sent and not yet answered. Those are
 * the ones a device's next sign of life delivers.
 */
export function awaitsDevice(execution: Pick<CommandExecution, 'status'>): boolean {
  return execution.status === 'CREATED' || execution.status === 'SENT';
}

/**
 * Whether a fleet command's execution waits for the batch's paced dispatch (never tried: neither sent
 * nor held). A device's sign of life does not send those: the batch's rate does.
 */
export function awaitsDispatch(execution: CommandExecution): boolean {
  return (
    execution.batchId !== undefined &&
    execution.status === 'CREATED' &&
    execution.deliveries === 0 &&
    execution.heldReason === undefined
  );
}

/** The request as the device receives it. */
export function requestOf(execution: CommandExecution): CommandRequest {
  return {
    executionId: execution.executionId,
    name: execution.name,
    parameters: { ...execution.parameters },
    issuedAt: execution.createdAt,
    expiresAt: execution.expiresAt,
  };
}

/** A change the table does not allow: the table's outcome and why. */
export class CommandTransitionError extends Error {
  override readonly name = 'CommandTransitionError';
  constructor(
    readonly outcome: 'duplicate' | 'late' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

function change(
  execution: CommandExecution,
  to: CommandExecutionStatus,
  operation: CommandOperation,
  fields: Partial<CommandExecution>,
): CommandExecution | CommandTransitionError {
  const cell = commandTransition(execution.status, to, operation === 'answer' ? 'device' : 'service');
  if (cell.outcome !== 'allowed' || cell.via !== operation)
    return new CommandTransitionError(
      cell.outcome === 'allowed' ? 'refused' : cell.outcome,
      `${operation} ${execution.status} → ${to}: ${cell.outcome === 'allowed' ? `made by ${cell.via}` : cell.why}`,
    );
  const { expectedDeliveryAt: _expected, heldReason: _held, ...rest } = execution;
  // Holding information belongs to CREATED only: whatever leaves it drops them.
  const base = to === 'CREATED' ? execution : rest;
  return { ...base, ...fields, status: to, version: execution.version + 1 };
}

/** Published: CREATED → SENT, or SENT → SENT again (a resend). */
export function markSent(
  execution: CommandExecution,
  now: number,
): CommandExecution | CommandTransitionError {
  const first = execution.status === 'CREATED';
  return change(execution, 'SENT', first ? 'send' : 'resend', {
    ...(first ? { sentAt: now } : {}),
    lastSentAt: now,
    deliveries: execution.deliveries + 1,
  });
}

/** Held (or held again): CREATED stays CREATED with why and when it is expected to go; SENT goes back. */
export function hold(
  execution: CommandExecution,
  why: string,
  expectedDeliveryAt: number | undefined,
): CommandExecution | CommandTransitionError {
  const held = { heldReason: why, ...(expectedDeliveryAt === undefined ? {} : { expectedDeliveryAt }) };
  if (execution.status === 'CREATED') {
    const { expectedDeliveryAt: _old, ...rest } = execution;
    return { ...rest, ...held, version: execution.version + 1 };
  }
  // A requeued request gets a new timeout when it is sent again.
  const { sentAt: _sent, ...unsent } = execution;
  return change(unsent, 'CREATED', 'requeue', held);
}

/** The sweeper's verdict on an execution whose time has come. */
export function expire(execution: CommandExecution, now: number): CommandExecution | CommandTransitionError {
  return change(execution, 'EXPIRED', 'expire', {
    endedAt: now,
    reason: `not delivered before it expired at ${new Date(execution.expiresAt).toISOString()}`,
  });
}

/** No outcome in time, although the device was heard from after the request. */
export function timeOut(execution: CommandExecution, now: number): CommandExecution | CommandTransitionError {
  return change(execution, 'TIMED_OUT', 'timeOut', {
    endedAt: now,
    reason: `no outcome within ${execution.timeoutSeconds} s of delivery`,
  });
}

/** What an answer did: a new execution, or why it changed nothing. */
export type AnswerOutcome =
  | { readonly outcome: 'applied'; readonly next: CommandExecution }
  | { readonly outcome: 'duplicate' | 'late' | 'refused'; readonly reason: string };

/** Applies a device's answer. Duplicates and late answers change nothing (the caller counts them). */
export function applyAnswer(execution: CommandExecution, answer: CommandAnswer, now: number): AnswerOutcome {
  const ended = answer.status !== 'IN_PROGRESS';
  const next = change(execution, answer.status, 'answer', {
    ...(answer.status === 'IN_PROGRESS' ? { startedAt: now } : {}),
    ...(ended ? { endedAt: now } : {}),
    ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    ...(answer.result === undefined ? {} : { result: answer.result }),
  });
  if (next instanceof CommandTransitionError) return { outcome: next.outcome, reason: next.message };
  return { outcome: 'applied', next };
}
