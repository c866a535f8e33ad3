import { join } from 'node:path';
import {
  type CommandCatalog,
  checkCommand,
  DEFAULT_COMMAND_CATALOG,
} from '../../../lib/protocol/command-catalog.ts';
import {
  type CommandAnswer,
  type CommandRequest,
  commandRequest,
  type DeviceAnswerStatus,
  EXECUTION_ID_PATTERN,
  jsonBytes,
  MAX_COMMAND_REASON_CHARS,
  MAX_COMMAND_RESULT_BYTES,
} from '../../../lib/protocol/commands.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { deviceTopic } from '../../../lib/protocol/topics.ts';
import type { Clock } from '../ota/ports.ts';
import type { DeviceTransport, Unsubscribe } from '../transport/ports.ts';
import { AnswerOutbox } from './answer-outbox.ts';
import { FileExecutionStore } from './execution-store.ts';

/** What a command's handler ends with. */
export type CommandOutcome =
  | { readonly status: 'SUCCEEDED'; readonly result?: Record<string, unknown> }
  | { readonly status: 'FAILED'; readonly reason: string; readonly result?: Record<string, unknown> }
  /** The agent is restarting for it: the outcome is answered by the next run (`reboot`). */
  | { readonly status: 'RESTARTING' };

/** Runs one command, with parameters already checked against the catalog's schema. */
export type CommandHandler = (
  parameters: Record<string, unknown>,
  request: CommandRequest,
) => Promise<CommandOutcome>;

export interface EdgeCommandsOptions {
  readonly thingName: string;
  readonly thingType: string;
  readonly transport: DeviceTransport;
  readonly clock: Clock;
  /** Where the execution store and the answers' queue live; they outlast restarts. */
  readonly directory: string;
  readonly handlers: Readonly<Record<string, CommandHandler>>;
  /** @default DEFAULT_COMMAND_CATALOG */
  readonly catalog?: CommandCatalog;
  /** For the store and the answers' queue. @default 'always' */
  readonly fsync?: 'always' | 'never';
  /** The answers' sender backoff (`AnswerOutbox`). */
  readonly answerBackoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}

export interface EdgeCommandsMetrics {
  readonly received: number;
  /** Handed to their handler. */
  readonly executed: number;
  readonly rejected: number;
  /** Redelivered ids, ignored. */
  readonly duplicates: number;
  /** Past `expiresAt` when they came, ignored. */
  readonly expired: number;
  /** Not a request at all (no execution id to answer to): logged and dropped. */
  readonly unreadable: number;
  readonly answersQueued: number;
}

/** What the agent answers: a status, and the reason and result that go with it. */
interface Answer {
  readonly status: DeviceAnswerStatus;
  readonly reason?: string;
  readonly result?: Record<string, unknown>;
}

/** Answers for an execution a previous run started and did not finish. */
function recoveredOutcome(name: string): Answer {
  // A reboot's restart is its success; anything else was cut short, and is not run again (at most once).
  return name === 'reboot'
    ? { status: 'SUCCEEDED', result: { restarted: true } }
    : { status: 'FAILED', reason: 'interrupted: the agent restarted while running it' };
}

/** The execution id of a request that fails its schema, when it has a usable one. */
function salvageExecutionId(payload: Uint8Array): string | undefined {
  try {
    const value = decodeJson(payload, 'command request') as { executionId?: unknown } | null;
    const id = value?.executionId;
    return typeof id === 'string' && EXECUTION_ID_PATTERN.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The agent's side of cloud-to-device commands (issue 11): listens on `devices/{type}/{id}/commands`,
 * checks each request against the protocol's schema and the catalog, ignores one past its `expiresAt`
 * (held through a sleep for too long: acting late could be wrong) and one it has already taken on (QoS 1
 * redelivery, kept across restarts by {@link FileExecutionStore}), answers REJECTED with the reason for
 * an unknown command or bad parameters, IN_PROGRESS first for a long-running one, then the outcome.
 * Answers go through {@link AnswerOutbox}, so they survive an offline link and a restart.
 *
 * Requests are taken one at a time, in order of arrival: the modem's AT channel and the store take one
 * thing at a time anyway, and the catalog's commands are short.
 */
export class EdgeCommands {
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: Unsubscribe | undefined;
  private counters = {
    received: 0,
    executed: 0,
    rejected: 0,
    duplicates: 0,
    expired: 0,
    unreadable: 0,
    answersQueued: 0,
  };

  private constructor(
    private readonly options: EdgeCommandsOptions,
    private readonly store: FileExecutionStore,
    readonly outbox: AnswerOutbox,
  ) {}

  /** Opens the store and the answers' queue in `options.directory`. */
  static async open(options: EdgeCommandsOptions): Promise<EdgeCommands> {
    const fsync = options.fsync === undefined ? {} : { fsync: options.fsync };
    const log = options.log;
    const store = await FileExecutionStore.open({
      directory: options.directory,
      clock: options.clock,
      ...fsync,
      ...(log === undefined ? {} : { log }),
    });
    const outbox = await AnswerOutbox.open({
      directory: join(options.directory, 'answers'),
      transport: options.transport,
      topic: deviceTopic('command-answers', options.thingType, options.thingName),
      clock: options.clock,
      ...fsync,
      ...(options.answerBackoff === undefined ? {} : { backoff: options.answerBackoff }),
      ...(log === undefined ? {} : { log: (event, detail) => log(event, detail) }),
    });
    return new EdgeCommands(options, store, outbox);
  }

  /** Answers for what the last run left unfinished, starts the answers' sender, then listens. */
  async start(): Promise<void> {
    for (const [id, record] of this.store.unfinished()) {
      await this.answer(id, recoveredOutcome(record.name));
      await this.store.finish(id);
      this.options.log?.('command-recovered', { executionId: id, name: record.name });
    }
    this.outbox.start();
    const { thingType, thingName } = this.options;
    try {
      this.unsubscribe = await this.options.transport.subscribe(
        deviceTopic('commands', thingType, thingName),
        (_topic, payload) => {
          this.chain = this.chain
            .then(() => this.take(payload))
            .catch((error: unknown) => this.options.log?.('command-failed', { error: String(error) }));
        },
      );
    } catch (error) {
      // Refused (a policy without the topic): close the queue; what it holds goes out on a later run.
      await this.outbox.stop();
      throw error;
    }
  }

  /** Stops listening, lets the command under way finish, and closes the queue and the store. */
  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.chain;
    await this.outbox.stop();
  }

  /** Resolves once every request received so far has been handled (tests, a clean shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  metrics(): EdgeCommandsMetrics {
    return { ...this.counters };
  }

  private async take(payload: Uint8Array): Promise<void> {
    this.counters.received++;
    const log = this.options.log;
    let request: CommandRequest;
    try {
      request = parseWith(commandRequest, decodeJson(payload, 'command request'), 'command request');
    } catch (error) {
      const id = salvageExecutionId(payload);
      if (id === undefined) {
        this.counters.unreadable++;
        log?.('command-unreadable', { error: String(error) });
        return;
      }
      this.counters.rejected++;
      await this.answer(id, { status: 'REJECTED', reason: (error as Error).message });
      return;
    }
    const { executionId: id, name } = request;
    if (this.options.clock.now() > request.expiresAt) {
      this.counters.expired++;
      log?.('command-expired', { executionId: id, name, expiresAt: request.expiresAt });
      return;
    }
    if (this.store.get(id) !== undefined) {
      this.counters.duplicates++;
      log?.('command-duplicate', { executionId: id, name, state: this.store.get(id)?.state });
      return;
    }
    await this.store.begin(id, name, request.expiresAt);
    const check = checkCommand(
      this.options.catalog ?? DEFAULT_COMMAND_CATALOG,
      this.options.thingType,
      name,
      request.parameters,
    );
    const handler = Object.hasOwn(this.options.handlers, name) ? this.options.handlers[name] : undefined;
    if (!check.ok || handler === undefined) {
      this.counters.rejected++;
      const reason = check.ok
        ? `'${name}' is in the catalog but this agent does not implement it`
        : check.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ');
      await this.answer(id, { status: 'REJECTED', reason });
      await this.store.finish(id);
      return;
    }
    this.counters.executed++;
    log?.('command-running', { executionId: id, name });
    if (check.definition.longRunning) await this.answer(id, { status: 'IN_PROGRESS' });
    const outcome = await handler(check.parameters, request).catch(
      (error: unknown): CommandOutcome => ({
        status: 'FAILED',
        reason: error instanceof Error ? error.message : String(error),
      }),
    );
    if (outcome.status === 'RESTARTING') return; // stays `started`: the next run answers it
    await this.answer(id, outcome);
    await this.store.finish(id);
  }

  private async answer(executionId: string, outcome: Answer): Promise<void> {
    let { status, result } = outcome;
    let why = outcome.reason?.slice(0, MAX_COMMAND_REASON_CHARS);
    if (result !== undefined && jsonBytes(result) > MAX_COMMAND_RESULT_BYTES) {
      // The cloud keeps at most 4 KB per result: say so rather than lose the answer to the schema.
      status = 'FAILED';
      why = `the result is ${jsonBytes(result)} bytes, more than the ${MAX_COMMAND_RESULT_BYTES} an answer may carry`;
      result = undefined;
    }
    const answer: CommandAnswer = {
      executionId,
      status,
      ...(why === undefined ? {} : { reason: why }),
      ...(result === undefined ? {} : { result }),
      answeredAt: this.options.clock.now(),
    };
    await this.outbox.send(answer);
    this.counters.answersQueued++;
    this.options.log?.('command-answered', {
      executionId,
      status,
      ...(why === undefined ? {} : { reason: why }),
    });
  }
}
