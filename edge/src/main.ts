/**
 * The edge agent's entry point: `node agent.mjs` in the Greengrass artifact (see `edge/recipe.yaml`),
 * or `npx tsx edge/src/main.ts` from source. Settings come from the environment (`AGENT_ENV`,
 * `TRANSPORT_ENV`); `--check` loads and verifies the model and the settings, prints them and exits
 * without touching the network.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { DEFAULT_DEVICE_CONFIG } from '../../lib/protocol/device-config.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import { sensorMetricResolutions, startCoapSensors } from './agent/coap-sensors.ts';
import { EdgeAgent } from './agent/edge-agent.ts';
import { defaultModelDir, modelReport, readModelSource } from './agent/model-files.ts';
import { type AgentSettings, readAgentSettings } from './agent/settings.ts';
import { exposureWarning, resolveCoapBinding } from './coap/exposure.ts';
import { ClaimError, claimOnFirstStart } from './identity/claim.ts';
import { IdentityFiles } from './identity/identity-files.ts';
import { runProvision } from './identity/provision.ts';
import { CertificateRotator } from './identity/rotation.ts';
import { AnomalyDetector } from './ml/anomaly-detector.ts';
import { DetectorModelInstaller, loadStartupDetector, ModelStore } from './ml/model-store.ts';
import { ModemEmulator } from './modem/emulator.ts';
import { createEmulatorLink } from './modem/emulator-transports.ts';
import { ModemDriver } from './modem/modem-driver.ts';
import { OtaAgent } from './ota/agent.ts';
import { systemClock } from './ota/clock.ts';
import { FileSlotStore } from './ota/fs-slot-store.ts';
import { HttpDownloader } from './ota/http-downloader.ts';
import { FileAgentStateStore } from './ota/state-store.ts';
import { type DeviceTrust, FileTrustStore, provisionedKeySet, provisionedTrust } from './ota/trust-store.ts';
import { simulatedSensors } from './sensors/simulated.ts';
import { FileShadowCopyStore } from './shadow/copy-store.ts';
import { asJobsTransport } from './transport/jobs-transport.ts';
import { connectMqttTransport, MqttDeviceTransport, TLS_MIN_VERSIONS } from './transport/mqtt-transport.ts';
import { openTransport, readTransportSettings } from './transport/open-transport.ts';
import { Uplink } from './uplink/uplink.ts';

/** Exit code asking the service manager (Greengrass, systemd) to start the agent again: an OTA reboot. */
export const RESTART_EXIT_CODE = 75;

const log = (event: string, fields: Readonly<Record<string, unknown>> = {}) =>
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), event, ...fields })}\n`);

async function openModem(settings: AgentSettings): Promise<ModemDriver | undefined> {
  if (settings.modem === 'none') return undefined;
  const link =
    settings.modem === 'emulator'
      ? createEmulatorLink(new ModemEmulator({ registrationDelayMs: 500, bootDelayMs: 500 }))
      : new SerialPort({ path: settings.modem, baudRate: settings.modemBaudRate });
  return new ModemDriver({ link, apn: settings.apn, log });
}

async function check(settings: AgentSettings, modelDir: string): Promise<void> {
  const detector = await AnomalyDetector.load(await readModelSource(modelDir));
  process.stdout.write(
    `${JSON.stringify({ ok: true, settings, model: modelReport(detector.info) }, null, 2)}\n`,
  );
  await detector.close();
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Longest a clean stop may take before the process exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 15_000;

/** The model to serve, or none: a missing or refused model must not keep telemetry, shadow and OTA down. */
async function loadModel(models: ModelStore, modelDir: string): Promise<AnomalyDetector | undefined> {
  try {
    // The model last delivered by a model-update job if it still verifies, else the one shipped.
    const { detector, origin, problem } = await loadStartupDetector(models, () => readModelSource(modelDir));
    log('model-loaded', {
      version: detector.info.version,
      origin,
      ...(problem === undefined ? {} : { problem }),
    });
    return detector;
  } catch (error) {
    log('model-unavailable', { error: String(error), next: 'running without anomaly scores' });
    return undefined;
  }
}

/** The firmware signing keys, or none (OTA off) when the file is missing or not a JSON object of PEMs. */
/** The key set the device was provisioned with (its keys file), or undefined: no OTA without one. */
async function readTrustedKeys(file: string | undefined): Promise<DeviceTrust | undefined> {
  if (file === undefined) return undefined;
  try {
    return provisionedTrust(provisionedKeySet(JSON.parse(await readFile(file, 'utf8'))));
  } catch (error) {
    log('ota-disabled', { file, error: String(error), next: 'fix FLEETKIT_FIRMWARE_KEYS_FILE and restart' });
    return undefined;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'provision') {
    await runProvision(argv.slice(1), {
      env: process.env,
      out: (text) => process.stdout.write(text),
      stdin: () => text(process.stdin),
    });
    return;
  }
  if (argv.includes('--check')) {
    const checked = readAgentSettings(process.env);
    return check(checked, checked.modelDir ?? defaultModelDir());
  }
  // A device with a claim certificate and no certificate of its own provisions itself first.
  const env = await claimOnFirstStart(process.env, {
    clock: systemClock,
    log,
    connect: ({ clientId, certPem, keyPem, caPem }) => {
      const url = process.env.FLEETKIT_MQTT_URL;
      if (!url) throw new ClaimError('provisioning by claim needs FLEETKIT_MQTT_URL');
      const tls = TLS_MIN_VERSIONS.find((v) => v === process.env.FLEETKIT_TLS_MIN_VERSION) ?? 'TLSv1.3';
      return connectMqttTransport({
        url,
        thingName: clientId,
        certPem,
        keyPem,
        caPem,
        tlsMinVersion: tls,
        log,
      });
    },
  });
  const settings = readAgentSettings(env);
  const modelDir = settings.modelDir ?? defaultModelDir();

  // Stop steps, added as parts start: a signal during start-up stops what is already running.
  const stops: Array<[string, () => Promise<void> | void]> = [];
  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return; // a second signal (the nucleus and the Run script both send one) changes nothing
    stopping = true;
    log('stopping', { code });
    const deadline = setTimeout(() => {
      log('stop-deadline-passed', { code });
      process.exit(code);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    for (const [name, stop] of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log('stop-failed', { part: name, error: String(error) });
      }
    }
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  const transportSettings = readTransportSettings(env);
  const { thingName } = transportSettings;
  const { thingType, dataDir } = settings;
  const models = new ModelStore(join(dataDir, 'models'));
  const detector = await loadModel(models, modelDir);
  if (detector !== undefined) stops.push(['model', () => detector.close()]);
  const slots = await FileSlotStore.open(join(dataDir, 'ota'), { initialVersion: settings.firmwareVersion });
  const boot = await slots.boot();
  const firmware = () => ({
    version: boot.versions[boot.booted] ?? settings.firmwareVersion,
    slot: boot.booted,
  });

  const transport = await openTransport(transportSettings, { clock: systemClock, log });
  stops.push(['transport', () => transport.close()]);
  // A device with its own certificate rotates it (Greengrass core devices' certificates are the nucleus'):
  // on its schedule, when the platform asks, and for the `rotate-certificate` command.
  let rotator: CertificateRotator | undefined;
  if (transportSettings.mode === 'mqtt' && transport instanceof MqttDeviceTransport) {
    const running = new CertificateRotator({
      thingName,
      transport,
      switcher: transport,
      files: new IdentityFiles({ keyFile: transportSettings.keyFile, certFile: transportSettings.certFile }),
      clock: systemClock,
      log,
    });
    await running.start();
    stops.push(['rotation', () => running.stop()]);
    rotator = running;
  }
  const modem = await openModem(settings);
  if (modem !== undefined) stops.push(['modem', () => modem.stop()]);
  const uplink = await Uplink.open({
    directory: join(dataDir, 'uplink'),
    transport: { publish: (topic, payload) => transport.publish(topic, payload, { qos: 1 }) },
    topic: deviceTopic('telemetry', thingType, thingName),
    queue: { maxBytes: settings.queueMaxBytes },
    batcher: { maxReadings: settings.batchSize, resolutions: sensorMetricResolutions },
    log,
  });
  // Decided before anything starts: a CoAP setting that does not hold stops the agent with its reason.
  const coapBinding = resolveCoapBinding(settings.coapInterface, settings.coapAllow, networkInterfaces());
  if (coapBinding.exposure !== undefined)
    log('coap-exposed', { warning: exposureWarning(coapBinding.exposure) });
  const agent = new EdgeAgent({
    thingName,
    thingType,
    transport,
    uplink,
    sensors: settings.sensors === 'simulated' ? simulatedSensors(thingName) : { read: () => ({}) },
    clock: systemClock,
    defaults: { ...DEFAULT_DEVICE_CONFIG, samplingIntervalS: settings.samplingIntervalS },
    shadowStore: new FileShadowCopyStore(join(dataDir, 'shadow.json')),
    ...(detector === undefined
      ? {}
      : { model: { scorer: detector, report: () => modelReport(detector.info) } }),
    ...(modem === undefined ? {} : { modem }),
    firmware,
    statusEveryMs: settings.statusIntervalS * 1000,
    // A `reboot` command restarts as the OTA reboot does: the clean shutdown, exit code 75.
    commands: {
      directory: join(dataDir, 'commands'),
      dataDir,
      restart: () => void shutdown(RESTART_EXIT_CODE),
      ...(rotator === undefined ? {} : { rotator }),
    },
    ...(coapBinding.exposure === undefined ? {} : { coapExposure: coapBinding.exposure }),
    log,
  });
  // The modem registers in the background (minutes on a cold NB-IoT attach); the agent sends it the
  // PSM settings once it answers.
  modem?.start().catch((error) => log('modem-start-failed', { error: String(error) }));
  await agent.start();
  stops.push(['agent', () => agent.stop()]);
  if (settings.coapPort !== 0) {
    const coap = await startCoapSensors({
      agent,
      add: (reading) => uplink.add(reading),
      port: settings.coapPort,
      host: coapBinding.host,
      ...(coapBinding.allowedSources === undefined ? {} : { allowedSources: coapBinding.allowedSources }),
      log,
    });
    stops.push(['coap', () => coap.stop()]);
  }

  const trustedKeys = await readTrustedKeys(settings.firmwareKeysFile);
  if (trustedKeys !== undefined) {
    const ota = new OtaAgent({
      thingName,
      transport: asJobsTransport(transport),
      downloader: new HttpDownloader(),
      slots,
      state: new FileAgentStateStore(join(dataDir, 'ota'), (error) =>
        log('ota-state-corrupt', { error: String(error) }),
      ),
      clock: systemClock,
      deviceType: thingType,
      // The key set may roll over and the anti-rollback floors rise: kept beside the agent's state.
      trust: new FileTrustStore(join(dataDir, 'ota'), trustedKeys),
      // The new image must have run a while, connected, and sampled its sensors since it started.
      healthCheck: async (context) => {
        const before = agent.metrics().telemetry.samples;
        await systemClock.sleep(settings.healthCheckAfterS * 1000, context.signal);
        const sampled = agent.metrics().telemetry.samples - before;
        if (transport.state !== 'connected')
          return {
            healthy: false,
            detail: `transport ${transport.state} after ${settings.healthCheckAfterS} s`,
          };
        if (sampled === 0)
          return { healthy: false, detail: `no sensor sample in ${settings.healthCheckAfterS} s` };
        return { healthy: true };
      },
      // Must not wait for the agent (it waits for this to return): the restart happens after it.
      reboot: () => {
        void shutdown(RESTART_EXIT_CODE);
      },
      ...(detector === undefined ? {} : { models: new DetectorModelInstaller({ store: models, detector }) }),
      log,
    });
    await ota.start();
    stops.push(['ota', () => ota.stop()]);
  }
  log('started', {
    thingName,
    thingType,
    firmware: firmware(),
    model: detector?.info.version ?? null,
    ...(settings.coapPort === 0 ? {} : { coapPort: settings.coapPort }),
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`fleetkit edge agent: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
