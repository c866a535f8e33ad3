import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { NotConnectedError, SubscriptionRefusedError } from './errors.ts';
import type {
  ConnectionState,
  DeviceTransport,
  MessageHandler,
  PublishOptions,
  Unsubscribe,
} from './ports.ts';
import { StateCell, SubscriptionTable } from './subscriptions.ts';

/** Logs one event with fields, as the other edge parts do. */
export type TransportLog = (event: string, fields?: Readonly<Record<string, unknown>>) => void;

/**
 * The TLS versions a device may be set to accept as its minimum: 1.3 by default; 1.2 only for a modem
 * whose TLS offload lacks 1.3 (the device then reports `tlsVersion: TLSv1.2` in its status, and the
 * audit lists it). Nothing older: IoT Core refuses below 1.2 as well.
 */
export const TLS_MIN_VERSIONS = ['TLSv1.3', 'TLSv1.2'] as const;
export type TlsMinVersion = (typeof TLS_MIN_VERSIONS)[number];

/** SUBACK return code 0x80: the broker refused the filter (MQTT 3.1.1 §3.9.3). */
const SUBACK_FAILURE = 128;

/**
 * {@link DeviceTransport} over an MQTT.js client (standalone mode: the device's own mutual-TLS
 * connection to IoT Core or the local broker).
 *
 * It makes the subscriptions again itself on every connection and turns `connected` only once the
 * broker has granted them, so a device that answers `connected` with a request (shadow get,
 * start-next) never misses the response. A client created elsewhere with MQTT.js' own `resubscribe`
 * still works: subscribing twice to the same filter replaces the subscription (MQTT 3.1.1 §3.8.4).
 */
export class MqttDeviceTransport implements DeviceTransport {
  private readonly table: SubscriptionTable;
  private readonly cell: StateCell;
  private readonly detach: Array<() => void> = [];
  private connection = 0;

  constructor(
    private readonly client: MqttClient,
    private readonly log: TransportLog = () => {},
  ) {
    this.table = new SubscriptionTable((topic, error) =>
      this.log('handler-error', { topic, error: String(error) }),
    );
    this.cell = new StateCell(client.connected ? 'connected' : 'connecting');
    this.listen('connect', () => void this.onConnect());
    this.listen('reconnect', () => this.cell.set('connecting'));
    this.listen('close', () => this.onDown());
    this.listen('offline', () => this.onDown());
    this.listen('end', () => this.cell.set('closed'));
    this.listen('message', (topic: string, payload: Buffer) => this.table.dispatch(topic, payload));
    // Without a listener an 'error' event (a refused CONNACK, a TLS failure) would throw.
    this.listen('error', (error: Error) => this.log('mqtt-error', { error: error.message }));
  }

  get state(): ConnectionState {
    return this.cell.value;
  }

  get tlsVersion(): string | undefined {
    // MQTT.js keeps the live socket as `stream`: a TLSSocket for mqtts (node:tls getProtocol()).
    const socket = this.client.stream as { getProtocol?: () => string | null } | undefined;
    return this.client.connected ? (socket?.getProtocol?.() ?? undefined) : undefined;
  }

  async publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    if (!this.client.connected || this.cell.value === 'closed') throw new NotConnectedError(topic);
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), {
      qos: options.qos ?? 1,
    });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<Unsubscribe> {
    const { entry, first } = this.table.add(filter, handler);
    const unsubscribe: Unsubscribe = async () => {
      if (this.table.remove(filter, entry) && this.client.connected)
        await this.client.unsubscribeAsync(filter).catch((error: unknown) => {
          this.log('unsubscribe-failed', { filter, error: String(error) });
        });
    };
    // While down (or still resubscribing) the filter is made by onConnect before `connected`.
    if (!first || this.cell.value !== 'connected') return unsubscribe;
    try {
      if ((await this.subscribeAll([filter])).length > 0) throw new SubscriptionRefusedError(filter);
    } catch (error) {
      if (error instanceof SubscriptionRefusedError || this.client.connected) {
        this.table.remove(filter, entry);
        throw error;
      }
      // The link dropped mid-way: the filter stays in the table and is made on reconnection.
    }
    return unsubscribe;
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    return this.cell.listen(listener);
  }

  /**
   * Connects with another key and certificate from now on (certificate rotation): the connection is
   * dropped and MQTT.js makes it again with them after its reconnect period, subscriptions and
   * unacknowledged QoS 1 publishes included; a client that gave up after a refusal tries again at
   * once. Resolves once the old connection is gone.
   */
  async reconnectWith(credentials: { readonly keyPem: string; readonly certPem: string }): Promise<void> {
    this.client.options.key = credentials.keyPem;
    this.client.options.cert = credentials.certPem;
    if (!this.client.connected) {
      // MQTT.js gives up after a refused CONNACK (`reconnectOnConnackError` is off): connect with the
      // new credentials now (a scheduled reconnect is cleared first).
      if (this.cell.value !== 'closed') this.client.connect();
      return;
    }
    const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.stream.destroy();
    await closed;
  }

  async close(): Promise<void> {
    this.cell.set('closed');
    for (const detach of this.detach.splice(0)) detach();
    await this.client.endAsync();
  }

  private listen(event: string, listener: (...args: never[]) => void): void {
    const untyped = listener as (...args: unknown[]) => void;
    this.client.on(event as 'connect', untyped);
    this.detach.push(() => this.client.off(event as 'connect', untyped));
  }

  private onDown(): void {
    this.connection++;
    if (this.cell.value !== 'closed') this.cell.set('disconnected');
  }

  /** Subscribes every filter (including ones added while this runs), then reports `connected`. */
  private async onConnect(): Promise<void> {
    const connection = ++this.connection;
    const made = new Set<string>();
    try {
      for (;;) {
        const pending = this.table.filters().filter((filter) => !made.has(filter));
        if (pending.length === 0) break;
        const refused = await this.subscribeAll(pending);
        for (const filter of pending) made.add(filter);
        // Handlers stay: the policy may allow the filter again on a later connection.
        for (const filter of refused) this.log('subscription-refused', { filter });
      }
    } catch (error) {
      // The link dropped while resubscribing; the next `connect` starts over.
      this.log('resubscribe-failed', { error: String(error) });
      return;
    }
    if (connection === this.connection && this.client.connected) this.cell.set('connected');
  }

  /**
   * Subscribes to `filters` in one SUBSCRIBE at QoS 1.
   *
   * @returns the filters the broker refused (SUBACK return code 0x80, MQTT 3.1.1 §3.9.3)
   * @throws whatever MQTT.js throws for anything but a refusal (the link dropped, ...)
   */
  private async subscribeAll(filters: readonly string[]): Promise<string[]> {
    try {
      const granted = await this.client.subscribeAsync([...filters], { qos: 1 });
      return granted.filter((grant) => (grant.qos & SUBACK_FAILURE) !== 0).map((grant) => grant.topic);
    } catch (error) {
      // MQTT.js 5 rejects the whole SUBSCRIBE when any return code is a failure, with the SUBACK
      // attached; its return codes are in the order of the filters sent.
      const packet = (error as { packet?: { cmd?: unknown; granted?: unknown } }).packet;
      const granted = packet?.cmd === 'suback' && Array.isArray(packet.granted) ? packet.granted : undefined;
      if (granted === undefined || granted.length !== filters.length) throw error;
      return filters.filter((_filter, index) => (Number(granted[index]) & SUBACK_FAILURE) !== 0);
    }
  }
}

/** How to reach the broker as a device with its own certificate. */
export interface MqttTransportConfig {
  /** `mqtts://host:8883` (IoT Core's device data endpoint, or the local broker). */
  readonly url: string;
  /** The MQTT client id; IoT Core's policy requires it to be the thing name. */
  readonly thingName: string;
  readonly keyPem: string;
  readonly certPem: string;
  /** CA bundle that signs the broker's certificate (Amazon Root CA 1 for IoT Core). */
  readonly caPem: string;
  /**
   * The lowest TLS version to offer. TLS 1.3 unless a modem's TLS offload lacks it (see
   * {@link TLS_MIN_VERSIONS}). @default 'TLSv1.3'
   */
  readonly tlsMinVersion?: TlsMinVersion;
  /** @default 5_000 */
  readonly reconnectPeriodMs?: number;
  /** IoT Core accepts 30–1200 s. @default 60 */
  readonly keepaliveS?: number;
  readonly log?: TransportLog;
  /** Extra MQTT.js options (tests: `manualConnect`). */
  readonly clientOptions?: IClientOptions;
}

/**
 * Opens a mutual-TLS MQTT 3.1.1 connection and wraps it. Returns at once; the transport turns
 * `connected` once the broker has accepted the connection and the subscriptions.
 */
export function connectMqttTransport(config: MqttTransportConfig): MqttDeviceTransport {
  // MQTT.js hands its options to tls.connect(), which reads minVersion; its own type does not list it.
  const options: IClientOptions & Pick<ConnectionOptions, 'minVersion'> = {
    clientId: config.thingName,
    protocolVersion: 4,
    key: config.keyPem,
    cert: config.certPem,
    ca: config.caPem,
    rejectUnauthorized: true,
    minVersion: config.tlsMinVersion ?? 'TLSv1.3',
    clean: true,
    keepalive: config.keepaliveS ?? 60,
    reconnectPeriod: config.reconnectPeriodMs ?? 5_000,
    connectTimeout: 10_000,
    // The transport resubscribes itself, and reports `connected` only after the SUBACKs.
    resubscribe: false,
    queueQoSZero: false,
    // Not mqtt-packet's cache of every 16-bit number as a Buffer: about 6 MB of heap on the device,
    // to save one 2-byte allocation per number written.
    writeCache: false,
    ...config.clientOptions,
  };
  return new MqttDeviceTransport(mqtt.connect(config.url, options), config.log);
}
