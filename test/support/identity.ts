import mqtt, { type MqttClient } from 'mqtt';
import type { Platform } from '../../lib/local/platform.ts';

/** A device's MQTT connection with its own key and certificate, as the tests drive it. */
export async function connectWith(
  platform: Platform,
  thingName: string,
  keyPem: string,
  certPem: string,
): Promise<MqttClient> {
  return mqtt.connectAsync(platform.mqttUrl, {
    clientId: thingName,
    protocolVersion: 4,
    key: keyPem,
    cert: certPem,
    ca: platform.pki.caPem,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
}

/** Whether a connection with these credentials is accepted now. */
export async function canConnect(platform: Platform, thingName: string, keyPem: string, certPem: string) {
  try {
    const client = await connectWith(platform, thingName, keyPem, certPem);
    await client.endAsync();
    return true;
  } catch {
    return false;
  }
}

/**
 * Publishes a request and waits for its `/accepted` or `/rejected` answer (subscribed first, as the
 * AWS APIs require).
 */
export async function request(
  client: MqttClient,
  topic: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<{ outcome: 'accepted' | 'rejected'; body: Record<string, unknown> }> {
  const accepted = `${topic}/accepted`;
  const rejected = `${topic}/rejected`;
  await client.subscribeAsync([accepted, rejected], { qos: 1 });
  const answer = new Promise<{ outcome: 'accepted' | 'rejected'; body: Record<string, unknown> }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer on ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (t: string, payload: Buffer) => {
        if (t !== accepted && t !== rejected) return;
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve({ outcome: t === accepted ? 'accepted' : 'rejected', body: JSON.parse(payload.toString()) });
      };
      client.on('message', onMessage);
    },
  );
  await client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
  return answer;
}
