import { EventEmitter } from 'node:events';
import type {
  GreengrassIpcClient,
  IpcIoTCoreMessage,
  IpcPayload,
  IpcPublishRequest,
  IpcStreamingOperation,
  IpcSubscribeRequest,
} from '../../../../edge/src/transport/greengrass-ipc-transport.ts';

/** One SubscribeToIoTCore stream of a {@link FakeIpcClient}. */
export class FakeIpcStream extends EventEmitter implements IpcStreamingOperation {
  activated = false;
  closed = false;

  constructor(
    readonly request: IpcSubscribeRequest,
    private readonly refusal: Error | undefined,
  ) {
    super();
  }

  async activate(): Promise<unknown> {
    if (this.refusal !== undefined) throw this.refusal;
    this.activated = true;
    return {};
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The nucleus delivers a message on this stream. */
  deliver(topicName: string, payload?: IpcPayload): void {
    const message: IpcIoTCoreMessage = {
      message: { topicName, ...(payload === undefined ? {} : { payload }) },
    };
    this.emit('message', message);
  }

  /** The nucleus ends the stream (its MQTT proxy restarted). */
  end(): void {
    this.emit('ended');
  }
}

/** What a fake nucleus does with the next clients and subscriptions. */
export interface FakeNucleus {
  /** `connect()` of the next N clients fails. */
  failConnects: number;
  /** Filters the recipe's accessControl does not allow: `activate()` rejects as UnauthorizedError does. */
  readonly unauthorized: Set<string>;
  /** `publishToIoTCore` rejects with this while set (a fault the real nucleus rarely shows). */
  publishFailure: Error | undefined;
  readonly clients: FakeIpcClient[];
}

export function fakeNucleus(): FakeNucleus {
  return { failConnects: 0, unauthorized: new Set(), publishFailure: undefined, clients: [] };
}

/**
 * A stand-in for `aws-iot-device-sdk-v2`'s `greengrasscoreipc.Client`, implementing only the
 * structural interface the adapter declares: the SDK (and its native aws-crt) is not a dependency.
 */
export class FakeIpcClient extends EventEmitter implements GreengrassIpcClient {
  connected = false;
  closed = false;
  readonly published: IpcPublishRequest[] = [];
  readonly streams: FakeIpcStream[] = [];

  constructor(private readonly nucleus: FakeNucleus) {
    super();
    nucleus.clients.push(this);
  }

  async connect(): Promise<void> {
    if (this.nucleus.failConnects > 0) {
      this.nucleus.failConnects--;
      throw new Error('ECONNREFUSED: nucleus socket');
    }
    this.connected = true;
  }

  close(): void {
    this.closed = true;
    this.connected = false;
  }

  async publishToIoTCore(request: IpcPublishRequest): Promise<unknown> {
    if (this.nucleus.publishFailure !== undefined) throw this.nucleus.publishFailure;
    this.published.push(request);
    return {};
  }

  subscribeToIoTCore(request: IpcSubscribeRequest): IpcStreamingOperation {
    const refusal = this.nucleus.unauthorized.has(request.topicName)
      ? Object.assign(new Error('UnauthorizedError'), {
          serviceError: { message: `not authorized to subscribe to ${request.topicName}` },
        })
      : undefined;
    const stream = new FakeIpcStream(request, refusal);
    this.streams.push(stream);
    return stream;
  }

  /** The open (activated, not closed) streams for a filter. */
  openStreams(filter: string): FakeIpcStream[] {
    return this.streams.filter((s) => s.request.topicName === filter && s.activated && !s.closed);
  }

  /** The nucleus connection drops. */
  drop(): void {
    this.connected = false;
    this.emit('disconnection', {});
  }
}
