import { NotConnectedError, SubscriptionRefusedError } from '../../../../edge/src/transport/errors.ts';
import type {
  ConnectionState,
  DeviceTransport,
  MessageHandler,
  PublishOptions,
  Unsubscribe,
} from '../../../../edge/src/transport/ports.ts';
import { StateCell, SubscriptionTable } from '../../../../edge/src/transport/subscriptions.ts';
import { topicMatchesFilter } from '../../../../edge/src/transport/topic-filter.ts';

/** A message as the in-memory broker saw it. */
export interface MemoryMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Client id of the publisher; '' for the service side. */
  readonly from: string;
}

/**
 * An in-memory stand-in for the broker, for unit tests of what sits on a {@link DeviceTransport}:
 * device transports attach to it, service fakes listen to everything and publish as the service.
 * Delivery is asynchronous, one macrotask later, as over a network. Not a microtask: a device and
 * a service fake answering each other forever would then starve the timers, and the test runner
 * would hang instead of failing the test at its timeout.
 */
export class MemoryBroker {
  readonly published: MemoryMessage[] = [];
  private readonly transports = new Set<MemoryTransport>();
  private readonly listeners = new Set<(message: MemoryMessage) => void>();

  /** A transport for one device, connected at once unless `connected` is false. */
  attach(
    clientId: string,
    options: { connected?: boolean; refuse?: readonly string[] } = {},
  ): MemoryTransport {
    const transport = new MemoryTransport(this, clientId, options.connected ?? true, options.refuse ?? []);
    this.transports.add(transport);
    return transport;
  }

  /** Hears every message a device publishes. */
  onMessage(listener: (message: MemoryMessage) => void): void {
    this.listeners.add(listener);
  }

  /** Publishes as the service (a shadow or jobs fake). */
  publish(topic: string, payload: string | Uint8Array): void {
    this.route({ topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, from: '' });
  }

  /** @internal */
  route(message: MemoryMessage): void {
    this.published.push(message);
    setImmediate(() => {
      for (const listener of [...this.listeners]) if (message.from !== '') listener(message);
      for (const transport of this.transports) transport.deliver(message);
    });
  }
}

/** A {@link DeviceTransport} on a {@link MemoryBroker}, whose link a test takes up and down. */
export class MemoryTransport implements DeviceTransport {
  private readonly table = new SubscriptionTable((topic, error) => {
    this.handlerErrors.push({ topic, error });
  });
  private readonly cell: StateCell;
  readonly handlerErrors: Array<{ topic: string; error: unknown }> = [];

  constructor(
    private readonly broker: MemoryBroker,
    readonly clientId: string,
    connected: boolean,
    private readonly refused: readonly string[],
  ) {
    this.cell = new StateCell(connected ? 'connected' : 'disconnected');
  }

  get state(): ConnectionState {
    return this.cell.value;
  }

  async publish(topic: string, payload: Uint8Array | string, _options?: PublishOptions): Promise<void> {
    if (this.cell.value !== 'connected') throw new NotConnectedError(topic);
    this.broker.route({
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      from: this.clientId,
    });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<Unsubscribe> {
    if (this.refused.includes(filter)) throw new SubscriptionRefusedError(filter);
    const { entry } = this.table.add(filter, handler);
    return async () => {
      this.table.remove(filter, entry);
    };
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    return this.cell.listen(listener);
  }

  async close(): Promise<void> {
    this.cell.set('closed');
  }

  /** Takes the link down. */
  disconnect(): void {
    this.cell.set('disconnected');
  }

  /** Brings the link up (subscriptions are kept, as the real adapters make them again). */
  connect(): void {
    this.cell.set('connected');
  }

  /** @internal */
  deliver(message: MemoryMessage): void {
    if (this.cell.value !== 'connected') return;
    if (this.table.filters().some((filter) => topicMatchesFilter(filter, message.topic)))
      this.table.dispatch(message.topic, message.payload);
  }
}
