import { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import { describe, expect, it } from 'vitest';
import {
  type GreengrassIpcClient,
  type IpcPublishRequest,
  type IpcStreamingOperation,
  type IpcSubscribeRequest,
  loadGreengrassIpcClientFactory,
} from '../../../../edge/src/transport/greengrass-ipc-transport.ts';

/**
 * The adapter is written against a structural slice of the SDK's IPC client (so its unit tests use a
 * fake); this holds that slice to the real `aws-iot-device-sdk-v2`. The functions below are checked by
 * `npm run typecheck`: if the SDK's client stops having the shape, the build fails. The one difference
 * is nominal: the SDK types QoS as a string enum (`QOS.AT_LEAST_ONCE = "1"`), the adapter as the
 * strings themselves, which are the enum's values at run time.
 */
type Qos = greengrasscoreipc.model.QOS;
const asAdapterClient = (
  client: greengrasscoreipc.Client,
): Omit<GreengrassIpcClient, 'publishToIoTCore' | 'subscribeToIoTCore'> => client;
const publishThroughSdk = (client: greengrasscoreipc.Client, request: IpcPublishRequest): Promise<unknown> =>
  client.publishToIoTCore({ ...request, qos: request.qos as Qos });
const subscribeThroughSdk = (
  client: greengrasscoreipc.Client,
  request: IpcSubscribeRequest,
): IpcStreamingOperation => client.subscribeToIoTCore({ ...request, qos: request.qos as Qos });

describe('aws-iot-device-sdk-v2 as the Greengrass IPC adapter sees it', () => {
  it('loads with the default importer and offers createClient', async () => {
    // Act
    const factory = await loadGreengrassIpcClientFactory();

    // Assess
    expect(typeof factory).toBe('function');
    expect([asAdapterClient, publishThroughSdk, subscribeThroughSdk].map((f) => typeof f)).toEqual([
      'function',
      'function',
      'function',
    ]);
    expect(greengrasscoreipc.model.QOS.AT_LEAST_ONCE).toBe('1');
    expect(greengrasscoreipc.model.QOS.AT_MOST_ONCE).toBe('0');
  });

  it("has the operations the adapter calls on the SDK's client class", () => {
    // Assess
    for (const operation of ['connect', 'close', 'on', 'publishToIoTCore', 'subscribeToIoTCore'])
      expect(
        typeof (greengrasscoreipc.Client.prototype as unknown as Record<string, unknown>)[operation],
      ).toBe('function');
  });
});
