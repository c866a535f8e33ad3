import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { MqttClient } from 'mqtt';
import { systemClock } from '../edge/src/ota/clock.ts';
import { JobsClient } from '../edge/src/ota/jobs-client.ts';
import { ShadowClient } from '../edge/src/shadow/shadow-client.ts';
import { LocalPki } from '../lib/local/pki.ts';
import { simulatedDeviceName, simulatedDeviceType } from '../lib/local/sim/fleet.ts';
import { DeviceTls } from '../lib/local/sim/link.ts';
import { identityTopic } from '../lib/protocol/identity-topics.ts';
import { deviceTopic, shadowTopic } from '../lib/protocol/topics.ts';

/**
 * The baseline of `sim_device_rss_kb`: the I/O a simulated device cannot do without, with bare calls,
 * in a process started like the platform's (bin/node-settings.mjs). An aedes broker on mutual TLS 1.3
 * (the platform broker's TLS options, no policy, no rules, no handlers), and per device: its own key
 * and certificate in its own secure context (the simulator's `DeviceTls`), one MQTT.js connection,
 * the edge agent's 14 subscriptions (shadow, jobs, commands, identity), a status and a shadow report on
 * connecting, then a status and a telemetry batch every 30 s (the simulated device's default cadence).
 * Nothing answers them.
 *
 * Usage: node --import tsx bench/bare-mqtt-fleet.ts --devices N --data-dir DIR (the bench starts it with
 * bin/node-settings.mjs's flags and loader instead of tsx)
 * Prints `bare fleet ready` once the broker listens and `bare fleet up: N devices` once every device
 * has subscribed; runs until SIGTERM.
 */
const { values } = parseArgs({
  options: { devices: { type: 'string' }, 'data-dir': { type: 'string' } },
});
const devices = Number(values.devices ?? 0);
const pki = await LocalPki.open(values['data-dir'] ?? '.bare-fleet');
const server = await pki.serverCertificate();
const broker = await Aedes.createBroker();
const tls = createServer(
  {
    key: server.keyPem,
    cert: server.certPem,
    ca: [pki.caPem],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  },
  broker.handle,
);
tls.on('tlsClientError', () => {});
tls.listen(0, '127.0.0.1');
await once(tls, 'listening');
const brokerUrl = new URL(`mqtts://127.0.0.1:${(tls.address() as AddressInfo).port}`);
process.stdout.write('bare fleet ready\n');

const EVERY_MS = 30_000;
const status = (n: number) =>
  JSON.stringify({
    ts: Date.now(),
    firmwareVersion: '1.0.0',
    battery: { percent: 80 - (n % 50) },
    uptimeSeconds: n,
  });
const telemetry = Buffer.alloc(180, 7);
const report = JSON.stringify({
  state: {
    reported: { firmware: { version: '1.0.0' }, config: { samplingIntervalS: 10 }, modem: { rat: 'LTE-M' } },
  },
  clientToken: 'bare',
});

async function bring(n: number): Promise<MqttClient> {
  const thingName = simulatedDeviceName(n);
  const thingType = simulatedDeviceType(n);
  const credentials = await pki.deviceCredentials(thingName, thingType);
  // The simulated device's own TLS material and connection (one secure context, TLS 1.3 only).
  const tls = new DeviceTls(credentials);
  const client = new MqttClient(() => tls.connect(brokerUrl), {
    clientId: thingName,
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 0,
    // As the simulated device has it: no process-wide cache of 65,536 number Buffers.
    writeCache: false,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const jobs = new JobsClient({
    thingName,
    clock: systemClock,
    transport: {
      subscribe: async () => {},
      publish: async () => {},
      onMessage: () => () => {},
      onConnect: () => () => {},
    },
  });
  await client.subscribeAsync(
    [
      ...ShadowClient.subscriptions(thingName),
      ...jobs.subscriptions(),
      deviceTopic('commands', thingType, thingName),
      identityTopic({ thingName, operation: 'notify' }),
    ],
    { qos: 1 },
  );
  await client.publishAsync(deviceTopic('status', thingType, thingName), status(n), { qos: 1 });
  await client.publishAsync(shadowTopic({ thingName, operation: 'update' }), report, { qos: 1 });
  const timer = setInterval(() => {
    client.publish(deviceTopic('status', thingType, thingName), status(n), { qos: 1 });
    client.publish(deviceTopic('telemetry', thingType, thingName), telemetry, { qos: 1 });
  }, EVERY_MS);
  client.once('close', () => clearInterval(timer));
  return client;
}

const started = performance.now();
const clients: MqttClient[] = [];
// 100 connections a second, as the simulated fleet's default pacing.
for (let n = 1; n <= devices; n += 10) {
  const batch = Array.from({ length: Math.min(10, devices - n + 1) }, (_, i) => bring(n + i));
  const tick = new Promise((resolve) => setTimeout(resolve, 100));
  clients.push(...(await Promise.all(batch)));
  await tick;
}
if (devices > 0)
  process.stdout.write(
    `bare fleet up: ${devices} devices in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );

process.once('SIGTERM', () => {
  for (const client of clients) client.end(true);
  tls.close();
  broker.close(() => process.exit(0));
});
