import { DEFAULT_COMMAND_EXPIRY_SECONDS, type SendCommandBody } from '../../lib/protocol/command-api.ts';
import { type CommandCatalog, checkCommand } from '../../lib/protocol/command-catalog.ts';
import type { CommandExecutionStatus } from '../../lib/protocol/commands.ts';
import { SchemaValidationError } from '../../lib/protocol/errors.ts';
import type { DynamoCommandStore } from '../adapters/dynamo-command-store.ts';
import { type CommandExecution, createExecution, isEnded } from '../domain/commands/execution.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { DeviceRegistry, Page } from '../ports.ts';
import type { CommandDelivery } from './command-delivery.ts';

/** An execution as the API shows it: everything but the store's version. */
export function executionView(execution: CommandExecution) {
  const { version: _version, ...view } = execution;
  return view;
}
export type ExecutionView = ReturnType<typeof executionView>;

export interface CommandServiceProps {
  readonly store: Pick<DynamoCommandStore, 'save' | 'get' | 'listForDevice'>;
  readonly registry: Pick<DeviceRegistry, 'get'>;
  readonly delivery: Pick<CommandDelivery, 'deliver'>;
  readonly catalog: CommandCatalog;
  readonly newId: () => string;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** What `POST /devices/{id}/commands` did: ended within the wait (200), or still under way (202). */
export interface SendOutcome {
  readonly ended: boolean;
  readonly execution: ExecutionView;
}

/**
 * Commands to one device (the HTTP API's side): check the command against the catalog of the device's
 * type (a refusal names the field, and nothing is stored or sent), store the execution, send it or hold
 * it for a device asleep, and — with `?wait` — poll for the outcome like a direct method.
 */
export class CommandService {
  constructor(private readonly props: CommandServiceProps) {}

  async send(deviceId: string, body: SendCommandBody, waitSeconds = 0): Promise<SendOutcome> {
    const device = await this.props.registry.get(deviceId);
    if (device === undefined) throw new NotFoundError(`no device ${deviceId} in the registry`);
    const check = checkCommand(this.props.catalog, device.deviceType, body.name, body.parameters);
    if (!check.ok) throw new SchemaValidationError('command request', check.issues);
    const now = this.props.now();
    const created = createExecution(
      {
        executionId: this.props.newId(),
        deviceId,
        deviceType: device.deviceType,
        name: body.name,
        parameters: check.parameters,
        expiresAt: now + (body.expiresInSeconds ?? DEFAULT_COMMAND_EXPIRY_SECONDS) * 1000,
        timeoutSeconds: body.timeoutSeconds ?? check.definition.timeoutSeconds,
      },
      now,
    );
    if ((await this.props.store.save(created, undefined)) === 'conflict')
      throw new Error(`execution id ${created.executionId} was taken: the id source repeats`);
    const delivered = (await this.props.delivery.deliver(created, device)) ?? created;
    if (waitSeconds <= 0 || isEnded(delivered))
      return { ended: isEnded(delivered), execution: executionView(delivered) };
    return this.waitFor(delivered, now + waitSeconds * 1000);
  }

  /** Polls the execution until it ends or `deadline` passes, backing off from 100 ms to 1 s. */
  private async waitFor(execution: CommandExecution, deadline: number): Promise<SendOutcome> {
    let latest = execution;
    for (let pause = 100; this.props.now() < deadline; pause = Math.min(1000, pause * 2)) {
      await this.props.sleep(Math.min(pause, Math.max(0, deadline - this.props.now())));
      latest = (await this.props.store.get(execution.deviceId, execution.executionId)) ?? latest;
      if (isEnded(latest)) return { ended: true, execution: executionView(latest) };
    }
    return { ended: false, execution: executionView(latest) };
  }

  async get(deviceId: string, executionId: string): Promise<ExecutionView> {
    const execution = await this.props.store.get(deviceId, executionId);
    if (execution === undefined)
      throw new NotFoundError(`no command execution ${executionId} for ${deviceId}`);
    return executionView(execution);
  }

  async list(
    deviceId: string,
    query: { readonly status?: CommandExecutionStatus; readonly limit: number; readonly nextToken?: string },
  ): Promise<Page<ExecutionView>> {
    const page = await this.props.store.listForDevice(deviceId, query);
    return { ...page, items: page.items.map(executionView) };
  }
}
