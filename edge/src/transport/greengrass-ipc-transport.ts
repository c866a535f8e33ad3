import type { Clock } from '../ota/ports.ts';
import { GreengrassSdkMissingError, NotConnectedError, SubscriptionRefusedError } from './errors.ts';
import type { TransportLog } from './mqtt-transport.ts';
import type {
  ConnectionState,
  DeviceTransport,
  MessageHandler,
  PublishOptions,
  Unsubscribe,
} from './ports.ts';
import { StateCell, SubscriptionTable } from './subscriptions.ts';

/**
 * The slice of `aws-iot-device-sdk-v2`'s `greengrasscoreipc.Client` this adapter uses, typed
 * structurally so the adapter's tests use a fake; `test/unit/edge/transport/greengrass-sdk-shape.test.ts`
 * holds this slice to the real SDK at type-check time.
 * Shapes follow the SDK's `lib/greengrasscoreipc/client.ts` and `model.ts`
 * (https://github.com/aws/aws-iot-device-sdk-js-v2) and the IPC reference
 * (https://docs.aws.amazon.com/greengrass/v2/developerguide/ipc-iot-core-mqtt.html).
 */
export interface GreengrassIpcClient {
  /** Opens the event-stream connection to the nucleus; the SDK allows one call per client. */
  connect(): Promise<void>;
  close(): void | Promise<void>;
  /** `disconnection`: the nucleus connection ended (emitted only after a successful connect). */
  on(event: 'disconnection', listener: (event?: unknown) => void): unknown;
  /** PublishToIoTCore: resolves once the nucleus has taken the message (it spools while offline). */
  publishToIoTCore(request: IpcPublishRequest): Promise<unknown>;
  /** SubscribeToIoTCore: a streaming operation, started by `activate()`. */
  subscribeToIoTCore(request: IpcSubscribeRequest): IpcStreamingOperation;
}

/** `greengrasscoreipc.model.QOS`: `AT_MOST_ONCE = "0"`, `AT_LEAST_ONCE = "1"`. */
export type IpcQos = '0' | '1';

export interface IpcPublishRequest {
  readonly topicName: string;
  readonly qos: IpcQos;
  readonly payload?: Uint8Array;
}

export interface IpcSubscribeRequest {
  readonly topicName: string;
  readonly qos: IpcQos;
}

/** `eventstream.Payload` as the SDK hands it over. */
export type IpcPayload = string | ArrayBuffer | ArrayBufferView | Readonly<Record<string, unknown>>;

/** `greengrasscoreipc.model.IoTCoreMessage`. */
export interface IpcIoTCoreMessage {
  readonly message?: { readonly topicName: string; readonly payload?: IpcPayload };
}

/** `eventstream_rpc.StreamingOperation` of SubscribeToIoTCore. */
export interface IpcStreamingOperation {
  on(event: 'message', listener: (message: IpcIoTCoreMessage) => void): unknown;
  on(event: 'streamError', listener: (error: unknown) => void): unknown;
  on(event: 'ended', listener: () => void): unknown;
  /** Resolves once the nucleus accepted the subscription; rejects (UnauthorizedError) if the recipe's accessControl does not allow it. */
  activate(): Promise<unknown>;
  close(): Promise<void>;
}

export type IpcClientFactory = () => GreengrassIpcClient;

export interface GreengrassIpcTransportOptions {
  /** Makes a fresh client: one per connection, since a client connects only once. */
  readonly createClient: IpcClientFactory;
  readonly clock: Clock;
  /** First reconnection delay, doubling up to 60 s. @default 1_000 */
  readonly reconnectBackoffMs?: number;
  readonly log?: TransportLog;
}

const MAX_BACKOFF_MS = 60_000;
const utf8 = new TextEncoder();

/** An IPC payload as bytes, whatever form the SDK delivered it in. */
export function ipcPayloadBytes(payload: IpcPayload | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array();
  if (typeof payload === 'string') return utf8.encode(payload);
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload))
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  return utf8.encode(JSON.stringify(payload));
}

/**
 * An IPC failure in one line. The SDK throws `RpcError`s whose own message is generic; the nucleus'
 * reason (UnauthorizedError, ServiceError, ...) is in `serviceError.message`, so both are kept.
 */
function describe(error: unknown): string {
  const base = error instanceof Error ? error.message : String(error);
  const service = (error as { serviceError?: { message?: unknown } } | undefined)?.serviceError?.message;
  return typeof service === 'string' && service !== base ? `${base}: ${service}` : base;
}

/**
 * {@link DeviceTransport} over Greengrass IPC: PublishToIoTCore and one SubscribeToIoTCore stream per
 * topic filter, through the nucleus' own connection to IoT Core.
 *
 * `connected` means connected to the nucleus: Greengrass does not tell components whether the
 * nucleus itself reaches IoT Core, and it spools QoS 1 publishes while it does not. When the IPC
 * connection drops, the transport reconnects with a new client (backoff doubling to 60 s) and opens
 * every stream again before turning `connected`.
 */
export class GreengrassIpcTransport implements DeviceTransport {
  private readonly table: SubscriptionTable;
  private readonly cell = new StateCell('connecting');
  private readonly streams = new Map<string, IpcStreamingOperation>();
  private readonly stop = new AbortController();
  private client: GreengrassIpcClient | undefined;
  private generation = 0;

  private constructor(private readonly options: GreengrassIpcTransportOptions) {
    this.table = new SubscriptionTable((topic, error) =>
      this.log('handler-error', { topic, error: String(error) }),
    );
  }

  /** Starts connecting to the nucleus and returns at once (state `connecting`). */
  static open(options: GreengrassIpcTransportOptions): GreengrassIpcTransport {
    const transport = new GreengrassIpcTransport(options);
    void transport.connectLoop();
    return transport;
  }

  get state(): ConnectionState {
    return this.cell.value;
  }

  async publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (client === undefined || this.cell.value !== 'connected') throw new NotConnectedError(topic);
    await client.publishToIoTCore({
      topicName: topic,
      qos: options.qos === 0 ? '0' : '1',
      payload: typeof payload === 'string' ? utf8.encode(payload) : payload,
    });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<Unsubscribe> {
    const { entry, first } = this.table.add(filter, handler);
    const unsubscribe: Unsubscribe = async () => {
      if (!this.table.remove(filter, entry)) return;
      const stream = this.streams.get(filter);
      this.streams.delete(filter);
      await stream?.close().catch(() => {});
    };
    if (!first || this.cell.value !== 'connected' || this.client === undefined) return unsubscribe;
    try {
      await this.openStream(this.client, this.generation, filter);
    } catch (error) {
      this.table.remove(filter, entry);
      throw error;
    }
    return unsubscribe;
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    return this.cell.listen(listener);
  }

  async close(): Promise<void> {
    this.stop.abort(new Error('transport closed'));
    this.cell.set('closed');
    const streams = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(streams.map((stream) => stream.close().catch(() => {})));
    await this.client?.close();
    this.client = undefined;
  }

  private log(event: string, fields?: Readonly<Record<string, unknown>>): void {
    this.options.log?.(event, fields);
  }

  private async connectLoop(): Promise<void> {
    let delay = this.options.reconnectBackoffMs ?? 1_000;
    while (!this.stop.signal.aborted) {
      const client = this.options.createClient();
      try {
        await client.connect();
        const generation = ++this.generation;
        this.client = client;
        client.on('disconnection', () => this.onDisconnection(generation));
        await this.openAll(client, generation);
        if (generation === this.generation && !this.stop.signal.aborted) this.cell.set('connected');
        return;
      } catch (error) {
        this.log('ipc-connect-failed', { error: describe(error), retryInMs: delay });
        if (this.client === client) {
          // Forget this connection, so a late `disconnection` from it starts no second loop.
          this.generation++;
          this.client = undefined;
          this.streams.clear();
        }
        await Promise.resolve(client.close()).catch(() => {});
      }
      try {
        await this.options.clock.sleep(delay, this.stop.signal);
      } catch {
        return;
      }
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  }

  private onDisconnection(generation: number): void {
    if (generation !== this.generation || this.stop.signal.aborted) return;
    this.generation++;
    this.client = undefined;
    this.streams.clear();
    this.cell.set('disconnected');
    this.log('ipc-disconnected');
    void this.connectLoop();
  }

  /** Opens a stream for every filter, including ones added while this runs. */
  private async openAll(client: GreengrassIpcClient, generation: number): Promise<void> {
    const tried = new Set<string>();
    for (;;) {
      const pending = this.table.filters().filter((filter) => !tried.has(filter));
      if (pending.length === 0) return;
      for (const filter of pending) {
        tried.add(filter);
        try {
          await this.openStream(client, generation, filter);
        } catch (error) {
          if (!(error instanceof SubscriptionRefusedError)) throw error;
          this.log('subscription-refused', { filter, error: error.message });
        }
      }
    }
  }

  private async openStream(client: GreengrassIpcClient, generation: number, filter: string): Promise<void> {
    const stream = client.subscribeToIoTCore({ topicName: filter, qos: '1' });
    stream.on('message', (event) => {
      if (event.message === undefined) return;
      this.table.dispatchTo(filter, event.message.topicName, ipcPayloadBytes(event.message.payload));
    });
    stream.on('streamError', (error) => this.log('ipc-stream-error', { filter, error: describe(error) }));
    stream.on('ended', () => {
      if (this.streams.get(filter) !== stream) return;
      this.streams.delete(filter);
      // The nucleus ended a stream we still need (a restart of its MQTT proxy): open it again.
      if (generation === this.generation && this.table.has(filter) && this.client === client)
        this.openStream(client, generation, filter).catch((error: unknown) =>
          this.log('ipc-reopen-failed', { filter, error: describe(error) }),
        );
    });
    try {
      await stream.activate();
    } catch (error) {
      await stream.close().catch(() => {});
      throw new SubscriptionRefusedError(filter, describe(error));
    }
    this.streams.set(filter, stream);
  }
}

/** What `import()` returns: lets a test stand in for the module loader. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

const SDK_PACKAGE = 'aws-iot-device-sdk-v2';

/**
 * Loads `aws-iot-device-sdk-v2` at run time (Greengrass mode only) and returns its IPC client
 * factory. Loaded on demand because it brings the native `aws-crt`, which standalone (MQTT) devices
 * never need; the Greengrass artifact carries it beside the bundled agent.
 *
 * @throws GreengrassSdkMissingError when the package is absent or has no `greengrasscoreipc`
 */
export async function loadGreengrassIpcClientFactory(
  importer: ModuleImporter = (specifier) => import(specifier),
): Promise<IpcClientFactory> {
  let sdk: unknown;
  try {
    sdk = await importer(SDK_PACKAGE);
  } catch (error) {
    throw new GreengrassSdkMissingError(error);
  }
  type Sdk = { greengrasscoreipc?: { createClient?: unknown }; default?: Sdk };
  const module = sdk as Sdk;
  const ipc = module.greengrasscoreipc ?? module.default?.greengrasscoreipc;
  const createClient = ipc?.createClient;
  if (typeof createClient !== 'function')
    throw new GreengrassSdkMissingError(new Error(`${SDK_PACKAGE} has no greengrasscoreipc.createClient`));
  // createClient() reads SVCUID and the nucleus socket path from the environment Greengrass sets.
  return () => (createClient as () => GreengrassIpcClient)();
}
