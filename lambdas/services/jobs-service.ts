import { PayloadDecodeError, SchemaValidationError } from '../../lib/protocol/errors.ts';
import {
  type DeviceJobDocument,
  describeExecutionRequest,
  getPendingJobsRequest,
  startNextRequest,
  updateExecutionRequest,
} from '../../lib/protocol/jobs.ts';
import { decodeJson, parseWith } from '../../lib/protocol/parse.ts';
import { type JobsTopic, jobsTopic } from '../../lib/protocol/topics.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import { applyDeviceUpdate, startNext } from '../domain/jobs/device-update.ts';
import { epochSeconds, type JobExecution, JobRequestError, stateOf } from '../domain/jobs/execution.ts';
import { describeExecution, pendingSummary } from '../domain/jobs/pending.ts';
import type { Publisher } from '../ports.ts';

/** Builds an execution's job document: a fresh download URL every time (the URL is short-lived). */
export type JobDocumentSource = (execution: JobExecution) => Promise<DeviceJobDocument>;

/** Called for every stored change of an execution, with the before and after images (rollout counters). */
export type ExecutionChangeListener = (
  before: JobExecution | undefined,
  after: JobExecution,
) => Promise<void>;

export interface JobsServiceProps {
  readonly executions: Pick<DynamoJobExecutionStore, 'forThing' | 'get' | 'save'>;
  readonly publisher: Publisher;
  readonly jobDocument: JobDocumentSource;
  readonly onChange: ExecutionChangeListener;
  readonly now: () => number;
}

type Body = Record<string, unknown>;

const withToken = (token: string | undefined) => (token === undefined ? {} : { clientToken: token });

/**
 * AWS IoT Jobs' device-side MQTT API on fleetkit's prefix: GetPendingJobExecutions (`jobs/get`),
 * StartNextPendingJobExecution (`jobs/start-next`), DescribeJobExecution (`jobs/{jobId}/get`, `$next`
 * too) and UpdateJobExecution (`jobs/{jobId}/update`), each answered on `/accepted` or `/rejected` with
 * AWS's codes; NotifyNext (`jobs/notify-next`) whenever a thing's next pending execution may have
 * changed. Every write is conditional on the execution's version, so racing writers never both win.
 */
export class JobsService {
  constructor(private readonly props: JobsServiceProps) {}

  /** Answers one request published on a jobs request topic. */
  async handle(topic: JobsTopic, payload: Uint8Array): Promise<{ accepted: boolean; code?: string }> {
    let clientToken: string | undefined;
    try {
      const body = payload.length === 0 ? {} : decodeJson(payload, 'jobs request');
      clientToken =
        typeof (body as Body)?.clientToken === 'string' ? ((body as Body).clientToken as string) : undefined;
      const answer = await this.dispatch(topic, body);
      await this.respond(topic, 'accepted', {
        ...answer,
        timestamp: epochSeconds(this.props.now()),
        ...withToken(clientToken),
      });
      return { accepted: true };
    } catch (error) {
      // A store or network failure is not the device's fault: rethrown, so the invocation is retried.
      const rejection = toRejection(error);
      if (rejection === undefined) throw error;
      await this.respond(topic, 'rejected', {
        code: rejection.code,
        message: rejection.message,
        timestamp: epochSeconds(this.props.now()),
        ...withToken(clientToken),
        ...(rejection.executionState === undefined ? {} : { executionState: rejection.executionState }),
      });
      return { accepted: false, code: rejection.code };
    }
  }

  /** Publishes notify-next for a thing: its next pending execution, or none. */
  async notifyNext(thingName: string): Promise<void> {
    const executions = await this.props.executions.forThing(thingName);
    const next = nextPending(executions);
    const body: Body = { timestamp: epochSeconds(this.props.now()) };
    if (next !== undefined) body.execution = await this.view(next, true);
    await this.props.publisher.publish(
      jobsTopic({ thingName, operation: 'notify-next' }),
      JSON.stringify(body),
    );
  }

  private async dispatch(topic: JobsTopic, body: unknown): Promise<Body> {
    const { thingName } = topic;
    if (!('jobId' in topic)) {
      if (topic.operation === 'get') {
        parseWith(getPendingJobsRequest, body, 'GetPendingJobExecutions request');
        return { ...pendingSummary(await this.props.executions.forThing(thingName)) };
      }
      if (topic.operation === 'start-next') {
        const request = parseWith(startNextRequest, body, 'StartNextPendingJobExecution request');
        return this.startNext(thingName, request);
      }
      throw new JobRequestError('InvalidTopic', `devices do not publish to jobs/${topic.operation}`);
    }
    if (topic.operation === 'get') {
      const request = parseWith(describeExecutionRequest, body, 'DescribeJobExecution request');
      const execution =
        topic.jobId === '$next'
          ? nextPending(await this.props.executions.forThing(thingName))
          : await this.props.executions.get(thingName, topic.jobId);
      if (execution === undefined) {
        if (topic.jobId === '$next') return {};
        throw new JobRequestError('ResourceNotFound', `no execution of job ${topic.jobId} for ${thingName}`);
      }
      const described = describeExecution(
        execution,
        request,
        await this.documentIf(execution, request.includeJobDocument),
      );
      if (described instanceof JobRequestError) throw described;
      return { execution: described };
    }
    const request = parseWith(updateExecutionRequest, body, 'UpdateJobExecution request');
    return this.update(thingName, topic.jobId, request);
  }

  private async startNext(
    thingName: string,
    request: ReturnType<typeof startNextRequest.parse>,
  ): Promise<Body> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const executions = await this.props.executions.forThing(thingName);
      const outcome = startNext(executions, this.props.now(), {
        ...(request.statusDetails === undefined ? {} : { statusDetails: request.statusDetails }),
        ...(request.stepTimeoutInMinutes === undefined
          ? {}
          : { stepTimeoutInMinutes: request.stepTimeoutInMinutes }),
      });
      if (outcome === undefined) return {};
      if (outcome instanceof JobRequestError) throw outcome;
      if (outcome.changed) {
        const before = executions.find((e) => e.jobId === outcome.execution.jobId);
        if ((await this.props.executions.save(outcome.execution, before?.versionNumber)) === 'conflict')
          continue;
        await this.props.onChange(before, outcome.execution);
      }
      return { execution: await this.view(outcome.execution, true) };
    }
    throw new JobRequestError('InternalError', 'the execution kept changing; try again');
  }

  private async update(
    thingName: string,
    jobId: string,
    request: ReturnType<typeof updateExecutionRequest.parse>,
  ): Promise<Body> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.props.executions.get(thingName, jobId);
      if (current === undefined)
        throw new JobRequestError('ResourceNotFound', `no execution of job ${jobId} for ${thingName}`);
      const next = applyDeviceUpdate(current, request, this.props.now());
      if (next instanceof JobRequestError) throw next;
      // Without expectedVersion a lost race is retried on the fresh execution, as AWS applies it to the latest.
      if ((await this.props.executions.save(next, current.versionNumber)) === 'conflict') {
        if (request.expectedVersion !== undefined) {
          const latest = await this.props.executions.get(thingName, jobId);
          throw new JobRequestError(
            'VersionMismatch',
            'the execution changed meanwhile',
            latest ? stateOf(latest) : undefined,
          );
        }
        continue;
      }
      await this.props.onChange(current, next);
      if (next.status !== 'IN_PROGRESS') await this.notifyNext(thingName);
      return {
        ...(request.includeJobExecutionState === true ? { executionState: stateOf(next) } : {}),
        ...(request.includeJobDocument === true ? { jobDocument: await this.props.jobDocument(next) } : {}),
      };
    }
    throw new JobRequestError('InternalError', 'the execution kept changing; try again');
  }

  private async documentIf(
    execution: JobExecution,
    include: boolean | undefined,
  ): Promise<DeviceJobDocument | undefined> {
    return include === true ? this.props.jobDocument(execution) : undefined;
  }

  private async view(execution: JobExecution, withDocument: boolean) {
    const described = describeExecution(
      execution,
      { includeJobDocument: withDocument },
      withDocument ? await this.props.jobDocument(execution) : undefined,
    );
    if (described instanceof JobRequestError) throw described;
    return described;
  }

  private respond(topic: JobsTopic, suffix: 'accepted' | 'rejected', body: Body): Promise<void> {
    return this.props.publisher.publish(jobsTopic({ ...topic, suffix } as JobsTopic), JSON.stringify(body));
  }
}

/** The execution start-next would return: the one in progress, else the oldest queued. */
export function nextPending(executions: readonly JobExecution[]): JobExecution | undefined {
  const pending = executions
    .filter((e) => e.status === 'IN_PROGRESS' || e.status === 'QUEUED')
    .sort((a, b) => (a.status === b.status ? a.queuedAt - b.queuedAt : a.status === 'IN_PROGRESS' ? -1 : 1));
  return pending[0];
}

function toRejection(error: unknown): JobRequestError | undefined {
  if (error instanceof JobRequestError) return error;
  if (error instanceof PayloadDecodeError) return new JobRequestError('InvalidJson', error.message);
  if (error instanceof SchemaValidationError) return new JobRequestError('InvalidRequest', error.message);
  return undefined;
}
