import type { JobsTransport } from '../ota/ports.ts';
import type { DeviceTransport, MessageHandler } from './ports.ts';

/**
 * The OTA agent's {@link JobsTransport} over a {@link DeviceTransport}, so the agent runs unchanged on
 * Greengrass IPC as well as on MQTT: one handler fans every jobs message out to the agent's listeners,
 * and `onConnect` fires each time the transport turns `connected`.
 */
export function asJobsTransport(transport: DeviceTransport): JobsTransport {
  const listeners = new Set<(topic: string, payload: Uint8Array) => void>();
  const forward: MessageHandler = (topic, payload) => {
    for (const listener of [...listeners]) listener(topic, payload);
  };
  return {
    async subscribe(filters) {
      for (const filter of filters) await transport.subscribe(filter, forward);
    },
    publish: (topic, payload) => transport.publish(topic, payload, { qos: 1 }),
    onMessage(handler) {
      listeners.add(handler);
      return () => {
        listeners.delete(handler);
      };
    },
    onConnect(handler) {
      return transport.onStateChange((state) => {
        if (state === 'connected') handler();
      });
    },
  };
}
