import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import {
  describeExecutionRequest,
  type StatusDetails,
  startNextRequest,
  type UpdateExecutionRequest,
  updateExecutionRequest,
} from '../../../lib/protocol/jobs.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { jobsTopic, parseJobsTopic } from '../../../lib/protocol/topics.ts';
import { JobsRequestRejectedError, JobsRequestTimeoutError } from './errors.ts';
import {
  errorResponse,
  executionResponse,
  type JobExecutionMessage,
  notifyNextMessage,
  updateAcceptedResponse,
} from './jobs-messages.ts';
import type { Clock, JobsTransport } from './ports.ts';

export interface JobsClientOptions {
  readonly thingName: string;
  readonly transport: JobsTransport;
  readonly clock: Clock;
  /** How long to wait for accepted/rejected. @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** Called for messages that do not parse (they are otherwise ignored). */
  readonly onBadMessage?: (topic: string, error: unknown) => void;
}

interface Pending {
  readonly requestTopic: string;
  readonly resolve: (response: { accepted: boolean; body: unknown }) => void;
  readonly reject: (error: Error) => void;
}

/** The client was closed while a request waited for its answer. */
export class JobsClientClosedError extends Error {
  override readonly name = 'JobsClientClosedError';
}

/** The execution state an accepted update left behind. */
export interface UpdateResult {
  readonly versionNumber?: number;
}

const JOB_PLACEHOLDER = 'fleetkitJobIdPlaceholder';

/**
 * The device side of AWS IoT Jobs' MQTT API on fleetkit's topics: subscribes to notify-next and the
 * responses of start-next, get and update, and turns each request into a promise of its
 * accepted/rejected answer, matched by `clientToken` (AWS IoT Jobs echoes it).
 */
export class JobsClient {
  private readonly pending = new Map<string, Pending>();
  private readonly notifyHandlers: Array<(execution: JobExecutionMessage | undefined) => void> = [];
  private readonly disposers: Array<() => void> = [];
  private readonly timeoutMs: number;

  constructor(private readonly options: JobsClientOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** The filters the client subscribes to. */
  subscriptions(): string[] {
    const thingName = this.options.thingName;
    const perJob = (operation: 'get' | 'update', suffix: 'accepted' | 'rejected') =>
      jobsTopic({ thingName, jobId: JOB_PLACEHOLDER, operation, suffix }).replace(
        `/${JOB_PLACEHOLDER}/`,
        '/+/',
      );
    return [
      jobsTopic({ thingName, operation: 'notify-next' }),
      jobsTopic({ thingName, operation: 'start-next', suffix: 'accepted' }),
      jobsTopic({ thingName, operation: 'start-next', suffix: 'rejected' }),
      perJob('get', 'accepted'),
      perJob('get', 'rejected'),
      perJob('update', 'accepted'),
      perJob('update', 'rejected'),
    ];
  }

  /** Starts listening and subscribes. */
  async open(): Promise<void> {
    this.disposers.push(this.options.transport.onMessage((topic, payload) => this.receive(topic, payload)));
    await this.options.transport.subscribe(this.subscriptions());
  }

  /** Stops listening; pending requests reject with {@link JobsClientClosedError}. */
  close(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
    for (const pending of this.pending.values())
      pending.reject(new JobsClientClosedError('jobs client closed'));
  }

  /** Calls `handler` with the next pending execution each time notify-next arrives (undefined: none). */
  onNotifyNext(handler: (execution: JobExecutionMessage | undefined) => void): void {
    this.notifyHandlers.push(handler);
  }

  /** StartNextPendingJobExecution: the next execution, now IN_PROGRESS, or undefined if none is pending. */
  async startNext(statusDetails?: StatusDetails): Promise<JobExecutionMessage | undefined> {
    const topic = jobsTopic({ thingName: this.options.thingName, operation: 'start-next' });
    const body = await this.request(topic, startNextRequest, statusDetails ? { statusDetails } : {});
    return parseWith(executionResponse, body, 'start-next response').execution;
  }

  /** DescribeJobExecution; rejects with {@link JobsRequestRejectedError} (ResourceNotFound, TerminalStateReached, ...). */
  async describe(jobId: string, includeJobDocument: boolean): Promise<JobExecutionMessage> {
    const topic = jobsTopic({ thingName: this.options.thingName, jobId, operation: 'get' });
    const body = await this.request(topic, describeExecutionRequest, { includeJobDocument });
    const execution = parseWith(executionResponse, body, 'get response').execution;
    if (execution === undefined)
      throw new JobsRequestRejectedError('ResourceNotFound', `no execution of ${jobId}`);
    return execution;
  }

  /** UpdateJobExecution; rejects with {@link JobsRequestRejectedError} (VersionMismatch, InvalidStateTransition, ...). */
  async update(jobId: string, request: Omit<UpdateExecutionRequest, 'clientToken'>): Promise<UpdateResult> {
    const topic = jobsTopic({ thingName: this.options.thingName, jobId, operation: 'update' });
    const body = await this.request(topic, updateExecutionRequest, {
      ...request,
      includeJobExecutionState: true,
    });
    const state = parseWith(updateAcceptedResponse, body, 'update response').executionState;
    return state?.versionNumber === undefined ? {} : { versionNumber: state.versionNumber };
  }

  private async request(topic: string, schema: z.ZodType, body: Record<string, unknown>): Promise<unknown> {
    const clientToken = randomUUID();
    const payload = parseWith(schema, { ...body, clientToken }, `request to ${topic}`);
    const stopTimer = new AbortController();
    const answer = new Promise<{ accepted: boolean; body: unknown }>((resolve, reject) => {
      this.pending.set(clientToken, { requestTopic: topic, resolve, reject });
    });
    // Handled through `exchange` below; this keeps a rejection before the publish resolved from being "unhandled".
    answer.catch(() => undefined);
    const timeout = this.options.clock.sleep(this.timeoutMs, stopTimer.signal).then(
      () => {
        throw new JobsRequestTimeoutError(topic);
      },
      () => undefined as never,
    );
    // The timeout covers the publish too: an MQTT client offline may hold a QoS 1 publish for long.
    const exchange = this.options.transport.publish(topic, JSON.stringify(payload)).then(() => answer);
    try {
      const response = await Promise.race([exchange, timeout]);
      if (response.accepted) return response.body;
      const error = parseWith(errorResponse, response.body, `rejection of ${topic}`);
      throw new JobsRequestRejectedError(error.code, error.message ?? '', error.executionState);
    } finally {
      stopTimer.abort();
      this.pending.delete(clientToken);
    }
  }

  private receive(topic: string, payload: Uint8Array): void {
    try {
      const parsed = parseJobsTopic(topic);
      if (parsed.thingName !== this.options.thingName) return;
      const body = decodeJson(payload, topic);
      if (parsed.operation === 'notify-next') {
        const { execution } = parseWith(notifyNextMessage, body, 'notify-next');
        for (const handler of this.notifyHandlers) handler(execution);
        return;
      }
      if (parsed.suffix === undefined) return;
      const requestTopic = topic.slice(0, -`/${parsed.suffix}`.length);
      const token =
        typeof body === 'object' && body !== null && 'clientToken' in body ? body.clientToken : undefined;
      const match =
        typeof token === 'string' && this.pending.has(token)
          ? this.pending.get(token)
          : // A service that does not echo clientToken: answer the oldest request on that topic.
            token === undefined
            ? [...this.pending.values()].find((p) => p.requestTopic === requestTopic)
            : undefined;
      if (match === undefined || match.requestTopic !== requestTopic) return;
      match.resolve({ accepted: parsed.suffix === 'accepted', body });
    } catch (error) {
      this.options.onBadMessage?.(topic, error);
    }
  }
}
