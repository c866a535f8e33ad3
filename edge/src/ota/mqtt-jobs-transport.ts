import type { MqttClient } from 'mqtt';
import type { JobsTransport } from './ports.ts';

/** A subscription the broker refused (SUBACK 0x80: not authorized by the device policy). */
export class SubscriptionRefusedError extends Error {
  override readonly name = 'SubscriptionRefusedError';

  constructor(readonly filters: readonly string[]) {
    super(`broker refused subscription to ${filters.join(', ')}`);
  }
}

/**
 * {@link JobsTransport} over an MQTT.js client the device already has (QoS 1 both ways). MQTT.js
 * resubscribes after a reconnect, and `connect` fires again, which the agent answers with start-next.
 */
export class MqttJobsTransport implements JobsTransport {
  constructor(private readonly client: MqttClient) {}

  async subscribe(filters: readonly string[]): Promise<void> {
    const granted = await this.client.subscribeAsync([...filters], { qos: 1 });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new SubscriptionRefusedError(refused);
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  onMessage(handler: (topic: string, payload: Uint8Array) => void): () => void {
    const listener = (topic: string, payload: Buffer) => handler(topic, payload);
    this.client.on('message', listener);
    return () => {
      this.client.off('message', listener);
    };
  }

  onConnect(handler: () => void): () => void {
    const listener = () => handler();
    this.client.on('connect', listener);
    return () => {
      this.client.off('connect', listener);
    };
  }
}
