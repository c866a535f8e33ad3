import { type IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import type { Publisher } from '../ports.ts';

/** Publishes through IoT Core's data plane (QoS 1), as the platform rather than as a device. */
export class IotDataPublisher implements Publisher {
  private readonly client: IoTDataPlaneClient;
  private readonly encoder = new TextEncoder();

  constructor(props: { readonly client: IoTDataPlaneClient }) {
    this.client = props.client;
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.send(new PublishCommand({ topic, qos: 1, payload: this.encoder.encode(payload) }));
  }
}
