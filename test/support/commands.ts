import type { MqttClient } from 'mqtt';
import type { Platform } from '../../lib/local/platform.ts';
import type { CommandAnswer, CommandRequest } from '../../lib/protocol/commands.ts';
import type { GrantedPsm } from '../../lib/protocol/messages.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import { connectDevice, eventually } from './platform.ts';
import { call } from './rollouts.ts';

/** A device driven by hand over MQTT: what it heard on its commands topic, and how it talks back. */
export interface HandDevice {
  readonly thingName: string;
  readonly thingType: string;
  readonly client: MqttClient;
  /** Every request heard, in order (redeliveries included). */
  readonly requests: CommandRequest[];
  /** Publishes a status (with the PSM the network granted, if given) and waits until the registry has it. */
  status(psm?: GrantedPsm): Promise<void>;
  answer(answer: CommandAnswer, thingName?: string): Promise<void>;
  end(): Promise<void>;
}

/** Connects `thingName` as a device subscribed to its commands; answers nothing unless told to. */
export async function handDevice(
  platform: Platform,
  thingName: string,
  thingType = 'tracker',
  options: { readonly autoAnswer?: (request: CommandRequest) => CommandAnswer | undefined } = {},
): Promise<HandDevice> {
  const client = await connectDevice(platform, thingName, thingType);
  const requests: CommandRequest[] = [];
  const device: HandDevice = {
    thingName,
    thingType,
    client,
    requests,
    async status(psm) {
      const seen = async () =>
        Date.parse((await call(platform, 'GET', `/devices/${thingName}`)).body?.lastSeen ?? '0');
      const before = await seen();
      await client.publishAsync(
        deviceTopic('status', thingType, thingName),
        JSON.stringify({ ts: Date.now(), firmwareVersion: '1.0.0', ...(psm === undefined ? {} : { psm }) }),
        { qos: 1 },
      );
      await eventually(async () => ((await seen()) > before ? true : undefined));
      await platform.rules.idle();
    },
    async answer(answer, as = thingName) {
      await client.publishAsync(deviceTopic('command-answers', thingType, as), JSON.stringify(answer), {
        qos: 1,
      });
    },
    end: () => client.endAsync(),
  };
  client.on('message', (topic, payload) => {
    if (topic !== deviceTopic('commands', thingType, thingName)) return;
    const request = JSON.parse(payload.toString()) as CommandRequest;
    requests.push(request);
    const reply = options.autoAnswer?.(request);
    if (reply !== undefined) void device.answer(reply);
  });
  await client.subscribeAsync(deviceTopic('commands', thingType, thingName), { qos: 1 });
  return device;
}

/** Waits until the execution is in `status`, and returns it. */
export function executionIn(platform: Platform, deviceId: string, executionId: string, status: string) {
  return eventually(async () => {
    const { body } = await call(platform, 'GET', `/devices/${deviceId}/commands/${executionId}`);
    return body.status === status ? body : undefined;
  }, 10_000);
}
