import { createSecureContext, type SecureContext, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { MqttClient, type Packet } from 'mqtt';
import type { Clock } from '../../../edge/src/ota/ports.ts';
import type { DeviceCredentials } from '../pki.ts';
import { type ConnectionPacer, pacedRetry } from './pacing.ts';

/**
 * A simulated device's MQTT connection, made cheap to open again and kept from stampeding:
 *
 * - its TLS material is parsed once per device ({@link DeviceTls}) instead of at every connection
 *   (MQTT.js hands its PEM options to `tls.connect`, which builds a new secure context each time);
 * - a reconnection offers the session ticket of the last connection (TLS 1.3 resumption, RFC 8446
 *   §2.2), so neither side verifies certificates again — the broker still learns the client
 *   certificate from the resumed session and applies the same policy;
 * - MQTT.js's own reconnect timer (a fixed period, the same for every device) is off: after a drop
 *   the link asks the fleet's {@link ConnectionPacer} for a slot and retries with jittered backoff.
 */

/** Classes of connection failures, for the fleet's counters. */
export type LinkFailure = 'connack-timeout' | 'refused' | 'tls' | 'network' | 'other';

/** A device's TLS material, built once, and the session ticket its last connection left. */
export class DeviceTls {
  readonly context: SecureContext;
  private session: Buffer | undefined;
  /** Connections that resumed a session (no certificate exchange). */
  resumed = 0;

  constructor(credentials: Pick<DeviceCredentials, 'keyPem' | 'certPem' | 'caPem'>) {
    // As the edge agent connects by default: TLS 1.3 only.
    this.context = createSecureContext({
      key: credentials.keyPem,
      cert: credentials.certPem,
      ca: credentials.caPem,
      minVersion: 'TLSv1.3',
    });
  }

  /** Opens a mutual-TLS socket, resuming the last session when there is one. */
  connect(url: URL): TLSSocket {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = tlsConnect({
      host,
      port: Number(url.port || 8883),
      servername: host === '127.0.0.1' || host === '::1' ? 'localhost' : host,
      secureContext: this.context,
      rejectUnauthorized: true,
      ...(this.session === undefined ? {} : { session: this.session }),
    });
    socket.on('session', (session: Buffer) => {
      this.session = session;
    });
    socket.once('secureConnect', () => {
      if (socket.isSessionReused()) this.resumed++;
    });
    return socket;
  }
}

/** How a failure is counted. */
export function classifyFailure(error: unknown): LinkFailure {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown })?.code;
  if (/connack timeout/i.test(message)) return 'connack-timeout';
  if (/refused|not authorized|unavailable/i.test(message) || typeof code === 'number') return 'refused';
  if (typeof code === 'string' && code.startsWith('ERR_SSL')) return 'tls';
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return 'network';
  if (/tls|certificate|handshake/i.test(message)) return 'tls';
  return 'other';
}

/** Thrown by a connection attempt while the link is held offline. */
export class LinkHeldError extends Error {
  override readonly name = 'LinkHeldError';
}

export interface DeviceLinkOptions {
  /** `mqtts://host:port` of the broker. */
  readonly url: string;
  /** The MQTT client id: the thing name. */
  readonly clientId: string;
  readonly tls: DeviceTls;
  readonly pacer: ConnectionPacer;
  readonly clock: Clock;
  /** @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** @default 60 */
  readonly keepaliveS?: number;
  /** [0, 1), for the backoff's jitter. @default Math.random */
  readonly random?: () => number;
  /** Told about each failed attempt. */
  readonly onFailure?: (kind: LinkFailure, error: unknown) => void;
}

/** Where a link stands. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'held' | 'closed';

/**
 * One device's MQTT client over {@link DeviceTls}, connected through the pacer. {@link up} brings it
 * up (retrying as long as it takes); after that it comes back by itself whenever the connection
 * drops, unless it is {@link hold held} offline or {@link close closed}.
 */
export class DeviceLink {
  readonly client: MqttClient;
  private readonly url: URL;
  private closed = false;
  private wantUp = false;
  private everConnected = false;
  /** While held offline: resolved by {@link release} (or {@link close}). */
  private held: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;
  /** Ends the bring-up's retries (a hold, a close). */
  private retries: AbortController | undefined;
  private bringingUp: Promise<void> | undefined;
  /** A flaky link's next drop, and the end of the current one (no reconnection until then). */
  private flakyTimer: NodeJS.Timeout | undefined;
  private dropped: NodeJS.Timeout | undefined;
  /** Topic filter → QoS of the device's subscriptions, made again at each reconnection. */
  private readonly subscriptions = new Map<string, 0 | 1 | 2>();

  constructor(private readonly options: DeviceLinkOptions) {
    this.url = new URL(options.url);
    this.client = new MqttClient(() => options.tls.connect(this.url), {
      clientId: options.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: options.keepaliveS ?? 60,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      // Reconnection is this link's job (paced, with backoff), not a fixed timer's.
      reconnectPeriod: 0,
      // MQTT.js keeps subscriptions to make again only while its own reconnect timer is on
      // (reconnectPeriod > 0): this link keeps them itself (see resubscribe).
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      // mqtt-packet's cache of every 16-bit number as a Buffer (65,536 of them, about 6 MB of heap
      // for the whole process, the broker's writes included) saves one 2-byte allocation per number.
      writeCache: false,
    });
    this.client.on('packetsend', (packet) => this.track(packet));
    // Registered before any user of the client registers its own: the SUBSCRIBE goes out ahead of what
    // they send on a reconnection (the OTA agent's start-next, whose answer needs the subscription).
    this.client.on('connect', () => this.resubscribe());
    // Without a listener an 'error' (a refused CONNACK, a reset) would throw; attempts read it themselves.
    this.client.on('error', () => {});
    this.client.on('close', () => {
      if (this.wantUp && this.held === undefined && this.dropped === undefined && !this.closed)
        void this.up().catch(() => {});
    });
  }

  get state(): LinkState {
    if (this.closed) return 'closed';
    if (this.held !== undefined) return 'held';
    if (this.client.connected) return 'connected';
    return this.wantUp ? 'connecting' : 'idle';
  }

  /**
   * Connects, and keeps the link up from then on. Resolves once connected; while held offline it
   * waits for the release first.
   *
   * @throws the reason `signal` aborts with; LinkHeldError once the link is closed
   */
  up(signal?: AbortSignal): Promise<void> {
    this.wantUp = true;
    this.bringingUp ??= this.bringUp().finally(() => {
      this.bringingUp = undefined;
    });
    if (signal === undefined) return this.bringingUp;
    return Promise.race([
      this.bringingUp,
      new Promise<never>((_resolve, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
  }

  /** Drops the connection as a lost network would (no DISCONNECT) and stays offline until {@link release}. */
  hold(): void {
    if (this.held !== undefined || this.closed) return;
    let resolve = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.held = { promise, resolve };
    this.retries?.abort(new LinkHeldError('held offline'));
    this.client.stream?.destroy();
  }

  /** Ends a {@link hold}: the link comes back through the pacer. */
  release(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    held.resolve();
    if (this.wantUp && !this.closed && !this.client.connected) void this.up().catch(() => {});
  }

  /**
   * Makes the link unreliable: the connection drops about every `everyMs` (±50 %, so a fleet's drops do
   * not line up) and stays down `downMs` before reconnecting through the pacer; undefined ends it.
   * A drop while the link is held or not connected is skipped.
   */
  flaky(settings: { readonly everyMs: number; readonly downMs: number } | undefined): void {
    clearTimeout(this.flakyTimer);
    this.flakyTimer = undefined;
    if (settings === undefined || this.closed) return;
    const random = this.options.random ?? Math.random;
    this.flakyTimer = setTimeout(
      () => {
        this.drop(settings.downMs);
        this.flaky(settings);
      },
      settings.everyMs * (0.5 + random()),
    );
  }

  /** Drops the connection as a lost network would, and reconnects after `downMs`. */
  private drop(downMs: number): void {
    if (this.held !== undefined || this.closed || this.dropped !== undefined || !this.client.connected)
      return;
    this.dropped = setTimeout(() => {
      this.dropped = undefined;
      if (this.wantUp && this.held === undefined && !this.closed && !this.client.connected)
        void this.up().catch(() => {});
    }, downMs);
    this.client.stream?.destroy();
  }

  /** Closes for good: a DISCONNECT if connected, no more reconnections. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.flakyTimer);
    clearTimeout(this.dropped);
    this.dropped = undefined;
    this.retries?.abort(new LinkHeldError('link closed'));
    this.held?.resolve();
    await this.client.endAsync();
  }

  private async bringUp(): Promise<void> {
    while (!this.client.connected) {
      if (this.closed) throw new LinkHeldError('link closed');
      if (this.held !== undefined) {
        await this.held.promise;
        continue;
      }
      const retries = new AbortController();
      this.retries = retries;
      try {
        await pacedRetry(() => this.attempt(), {
          pacer: this.options.pacer,
          clock: this.options.clock,
          signal: retries.signal,
          ...(this.options.random === undefined ? {} : { random: this.options.random }),
          onFailure: (error) => this.options.onFailure?.(classifyFailure(error), error),
        });
      } catch (error) {
        if (!(error instanceof LinkHeldError)) throw error;
      } finally {
        this.retries = undefined;
      }
    }
  }

  /** Keeps what the device subscribed to (a clean session: the broker forgets it at every connection). */
  private track(packet: Packet): void {
    if (packet.cmd === 'subscribe')
      for (const { topic, qos } of packet.subscriptions) this.subscriptions.set(topic, qos);
    if (packet.cmd === 'unsubscribe')
      for (const topic of packet.unsubscriptions) this.subscriptions.delete(topic);
  }

  /** Makes the device's subscriptions again after a reconnection (the first connection has none yet). */
  private resubscribe(): void {
    if (!this.everConnected || this.subscriptions.size === 0) return;
    const topics = Object.fromEntries([...this.subscriptions].map(([topic, qos]) => [topic, { qos }]));
    this.client.subscribe(topics, () => {});
  }

  /** One connection attempt: resolves on CONNACK, rejects with why the connection ended first. */
  private attempt(): Promise<void> {
    if (this.held !== undefined) return Promise.reject(new LinkHeldError('held offline'));
    return new Promise<void>((resolve, reject) => {
      let failure: unknown;
      const onError = (error: Error) => {
        failure ??= error;
      };
      const onConnect = () => {
        done();
        this.everConnected = true;
        resolve();
      };
      const onClose = () => {
        done();
        reject(failure ?? new Error('connection closed before CONNACK'));
      };
      const done = () => {
        this.client.off('connect', onConnect);
        this.client.off('close', onClose);
        this.client.off('error', onError);
      };
      this.client.on('connect', onConnect);
      this.client.on('close', onClose);
      this.client.on('error', onError);
      // reconnect() without stores starts new, empty ones: QoS 1 publishes in flight at the drop would
      // never be sent again nor settle (an uplink waiting on its PUBACK, and a reboot waiting on the
      // uplink, would hang). With the same stores they go out again once connected, as after MQTT.js's
      // own reconnection.
      if (this.everConnected || this.client.stream !== undefined)
        this.client.reconnect({
          incomingStore: this.client.incomingStore,
          outgoingStore: this.client.outgoingStore,
        });
      else this.client.connect();
    });
  }
}
