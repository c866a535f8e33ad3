/**
 * The device's link to the broker: one {@link DeviceTransport} port, two adapters (MQTT over mutual
 * TLS, Greengrass IPC), and {@link openTransport} to open the one the environment names.
 *
 * ```ts
 * const settings = readTransportSettings(process.env); // throws TransportConfigError
 * const transport = await openTransport(settings, { clock: systemClock, log });
 * // shadow sync, the uplink and `asJobsTransport(transport)` for the OTA agent share it
 * await transport.close();
 * ```
 */
export {
  GreengrassSdkMissingError,
  NotConnectedError,
  SubscriptionRefusedError,
  TopicFilterError,
} from './errors.ts';
export {
  type GreengrassIpcClient,
  GreengrassIpcTransport,
  type GreengrassIpcTransportOptions,
  type IpcClientFactory,
  loadGreengrassIpcClientFactory,
} from './greengrass-ipc-transport.ts';
export { asJobsTransport } from './jobs-transport.ts';
export {
  connectMqttTransport,
  MqttDeviceTransport,
  type MqttTransportConfig,
  type TransportLog,
} from './mqtt-transport.ts';
export {
  type OpenTransportDependencies,
  openTransport,
  readTransportSettings,
  TRANSPORT_ENV,
  TransportConfigError,
  type TransportSettings,
} from './open-transport.ts';
export type {
  ConnectionState,
  DeviceTransport,
  MessageHandler,
  PublishOptions,
  Unsubscribe,
} from './ports.ts';
