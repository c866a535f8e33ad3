/**
 * The device's one way to the cloud's message broker: publish, subscribe with a handler, and know
 * whether the link is up. Two adapters implement it — plain MQTT over mutual TLS (standalone, and the
 * local platform's simulated fleet) and Greengrass IPC (PublishToIoTCore / SubscribeToIoTCore through
 * the nucleus) — so shadow sync, the OTA agent and the uplink never know which one runs.
 */

/**
 * Where the link is:
 * - `connecting`: not yet up (first connection or a reconnect under way);
 * - `connected`: up, and every subscription made so far is in place again;
 * - `disconnected`: down; the adapter keeps trying;
 * - `closed`: {@link DeviceTransport.close} was called.
 */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Receives one message: the topic it was published on, and its payload bytes. */
export type MessageHandler = (topic: string, payload: Uint8Array) => void;

/** Removes one subscription handler; the last one out unsubscribes from the broker. */
export type Unsubscribe = () => Promise<void>;

export interface PublishOptions {
  /** MQTT QoS: 0 at most once, 1 at least once. @default 1 */
  readonly qos?: 0 | 1;
}

/** Publish / subscribe / connection state over whatever link the device has. */
export interface DeviceTransport {
  /** The link's state now. */
  readonly state: ConnectionState;
  /**
   * The TLS version of the device's own connection (`TLSv1.3`), while it is up; undefined while down, or
   * where the device does not hold the TLS session (Greengrass IPC: the nucleus does).
   */
  readonly tlsVersion?: string | undefined;
  /**
   * Publishes one message. Rejects with `NotConnectedError` at once when the link is down, rather
   * than queueing: the caller (the uplink's store-and-forward queue, shadow sync's reconcile on
   * reconnect) decides what to keep.
   */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void>;
  /**
   * Calls `handler` for every message on a topic matching `filter` (MQTT wildcards `+` and `#`).
   * While the link is up it resolves once the broker has granted the subscription, and rejects with
   * `SubscriptionRefusedError` if it refuses; while down it resolves at once and the subscription is
   * made on (re)connection, before the state turns `connected`.
   */
  subscribe(filter: string, handler: MessageHandler): Promise<Unsubscribe>;
  /** Calls `listener` on every state change; returns a function that removes it. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
  /** Disconnects for good. */
  close(): Promise<void>;
}
