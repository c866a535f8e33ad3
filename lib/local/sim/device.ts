import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { EdgeAgent } from '../../../edge/src/agent/edge-agent.ts';
import { ModemEmulator } from '../../../edge/src/modem/emulator.ts';
import { createEmulatorLink } from '../../../edge/src/modem/emulator-transports.ts';
import { ModemDriver } from '../../../edge/src/modem/modem-driver.ts';
import { OtaAgent, type OtaAgentStatus } from '../../../edge/src/ota/agent.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import { FileSlotStore } from '../../../edge/src/ota/fs-slot-store.ts';
import { HttpDownloader } from '../../../edge/src/ota/http-downloader.ts';
import { MqttJobsTransport } from '../../../edge/src/ota/mqtt-jobs-transport.ts';
import type { BootState, HealthResult, UpdateContext } from '../../../edge/src/ota/ports.ts';
import { FileAgentStateStore } from '../../../edge/src/ota/state-store.ts';
import { type DeviceTrust, FileTrustStore, provisionedTrust } from '../../../edge/src/ota/trust-store.ts';
import { seededRandom } from '../../../edge/src/sensors/random.ts';
import {
  initialSensorState,
  type SensorSample,
  type SensorState,
  stepSensors,
} from '../../../edge/src/sensors/sensor-model.ts';
import { FileShadowCopyStore } from '../../../edge/src/shadow/copy-store.ts';
import { MqttDeviceTransport } from '../../../edge/src/transport/mqtt-transport.ts';
import { Uplink } from '../../../edge/src/uplink/uplink.ts';
import { DEFAULT_DEVICE_CONFIG } from '../../protocol/device-config.ts';
import type { StatusMessage } from '../../protocol/messages.ts';
import { deviceTopic } from '../../protocol/topics.ts';
import type { DeviceCredentials } from '../pki.ts';
import {
  applyFirmwareTelemetry,
  readSimulatedFirmwareManifest,
  type SimFirmwareManifest,
  simulatedInstallFails,
} from './firmware-behaviour.ts';
import { SimulatedDeviceModel, type SimulatedModels } from './models.ts';

/** A simulated device's OTA agent: where its slots live and whom it trusts. */
export interface SimulatedOtaOptions {
  /** The platform data dir; slots and agent state go to `<dataDir>/sim/<thing>/`. */
  readonly dataDir: string;
  /** The key set the device is provisioned with (the platform's signing keys, each for its purpose). */
  readonly keySet: DeviceTrust['keySet'];
  /** How long new firmware must run, connected and with readable sensors, before it commits. @default 5_000 */
  readonly healthCheckMs?: number;
  /** How long a simulated reboot keeps the device off the broker. @default 200 */
  readonly rebootDelayMs?: number;
  /** Jobs request timeout. @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** Agent events (started, job-started, reboot, committed, ...). */
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}

export interface SimulatedDeviceOptions {
  readonly credentials: DeviceCredentials;
  readonly brokerUrl: string;
  /** Factory firmware version (slot a's, the first time the device's OTA directory is created). @default '1.0.0' */
  readonly firmwareVersion?: string;
  /** @default 30_000 */
  readonly statusEveryMs?: number;
  /** @default 10_000 */
  readonly telemetryEveryMs?: number;
  /** Gives the device an A/B OTA agent; without it the device never updates (and behaves as before OTA existed). */
  readonly ota?: SimulatedOtaOptions;
  /** Where the edge agent keeps its uplink queue and shadow copy: `<dataDir>/sim/<thing>/`. @default the OTA data dir, else a temp dir */
  readonly dataDir?: string;
  /**
   * The fleet's anomaly models: the device serves its own (kept under its directory, changed by
   * model-update jobs), sharing a session with the devices that serve the same file. Without it
   * readings carry no model score.
   */
  readonly models?: SimulatedModels;
  /** Readings per uplink batch. @default 10 */
  readonly batchSize?: number;
  /** Gives the device an emulated cellular modem behind the real driver. @default true */
  readonly modem?: boolean;
}

/** The configured sampling interval the simulator's `telemetryEveryMs` stands for (compressed time). */
const SIM_SAMPLING_INTERVAL_S = 10;

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * A simulated device: connects over mutual TLS with its own certificate, publishes status at once
 * and then periodically, and telemetry from the sensor model. With `ota` it also runs the edge OTA
 * agent over its MQTT connection, on file-backed A/B slots; the image it boots decides its firmware
 * version, how its telemetry looks, and whether its health check passes (see `firmware-behaviour.ts`).
 */
export class SimulatedDevice {
  readonly thingName: string;
  readonly thingType: string;
  private client: MqttClient | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly random: () => number;
  private readonly state: SensorState;
  private last: SensorSample;
  private startedAt = Date.now();
  private slots: FileSlotStore | undefined;
  private boot: BootState | undefined;
  private firmware: SimFirmwareManifest | undefined;
  private otaAgent: OtaAgent | undefined;
  private shutdown = false;
  private restarting: Promise<void> | undefined;
  private boots = 0;
  private edge: EdgeAgent | undefined;
  private modem: ModemDriver | undefined;
  private model: SimulatedDeviceModel | undefined;

  constructor(private readonly options: SimulatedDeviceOptions) {
    this.thingName = options.credentials.thingName;
    this.thingType = options.credentials.thingType;
    this.random = seededRandom(this.thingName);
    this.state = initialSensorState(this.random);
    this.last = stepSensors(this.state, 1, this.random);
  }

  /** Where the edge agent keeps this device's uplink queue and shadow copy. */
  get edgeDirectory(): string {
    const root = this.options.dataDir ?? this.options.ota?.dataDir ?? join(tmpdir(), 'fleetkit-sim');
    return join(root, 'sim', this.thingName);
  }

  /** The edge agent this device runs (while powered on). */
  get agent(): EdgeAgent | undefined {
    return this.edge;
  }

  /** Where this device keeps its slots and agent state, when it has OTA. */
  get otaDirectory(): string | undefined {
    return this.options.ota === undefined ? undefined : join(this.options.ota.dataDir, 'sim', this.thingName);
  }

  /** Connects and publishes the first status; resolves once connected (and, with OTA, once the agent runs). */
  async start(): Promise<void> {
    this.shutdown = false;
    await this.powerOn();
  }

  /** Powers on; if a part fails to start, powers off again (no client left connected) and throws. */
  private async powerOn(): Promise<void> {
    try {
      await this.startParts();
    } catch (error) {
      await this.powerOff().catch(() => {});
      throw error;
    }
  }

  private async startParts(): Promise<void> {
    this.boots += 1;
    this.startedAt = Date.now();
    if (this.options.ota !== undefined) await this.bootFirmware();
    const { credentials } = this.options;
    // MQTT.js hands its options to tls.connect(), which reads minVersion; its own type does not list it.
    const options: IClientOptions & Pick<ConnectionOptions, 'minVersion'> = {
      clientId: this.thingName,
      protocolVersion: 4,
      key: credentials.keyPem,
      cert: credentials.certPem,
      ca: credentials.caPem,
      rejectUnauthorized: true,
      // As the edge agent connects by default: TLS 1.3 only.
      minVersion: 'TLSv1.3',
      reconnectPeriod: 2_000,
      connectTimeout: 5_000,
    };
    this.client = await mqtt.connectAsync(this.options.brokerUrl, options);
    await this.startEdge(this.client);
    if (this.options.ota !== undefined) await this.startAgent(this.options.ota, this.client);
  }

  /**
   * The edge agent, as a real device runs it: sensors sampled into the compact uplink (batched, on a
   * disk queue), scored by the anomaly model, status, shadow sync, and a modem emulator behind the
   * real AT driver. Time is compressed: `telemetryEveryMs` stands for the 10 s sampling interval.
   */
  private async startEdge(client: MqttClient): Promise<void> {
    const telemetryEvery = this.options.telemetryEveryMs ?? 10_000;
    const statusEvery = this.options.statusEveryMs ?? 30_000;
    const transport = new MqttDeviceTransport(client);
    const directory = this.edgeDirectory;
    const uplink = await Uplink.open({
      directory: join(directory, 'uplink'),
      transport: { publish: (topic, payload) => transport.publish(topic, payload, { qos: 1 }) },
      topic: deviceTopic('telemetry', this.thingType, this.thingName),
      fsync: 'never',
      batcher: { maxReadings: this.options.batchSize ?? 10, maxAgeMs: 3 * telemetryEvery },
      sender: { backoff: { initialMs: 200, maxMs: 2_000 } },
    });
    if (this.options.modem !== false) {
      const emulator = new ModemEmulator({
        signal: { rsrpDbm: Math.round(this.state.rsrpBase), rsrqDb: -10 },
        signalWalk: { seed: this.boots + this.thingName.length },
        registrationDelayMs: 200,
        bootDelayMs: 200,
      });
      this.modem = new ModemDriver({
        link: createEmulatorLink(emulator),
        apn: 'iot',
        pollEveryMs: statusEvery,
      });
      this.modem.start().catch(() => {});
    }
    const models = this.options.models;
    this.model =
      models === undefined
        ? undefined
        : await SimulatedDeviceModel.open(models, join(directory, 'models'), () => {
            void this.edge?.stateChanged();
          });
    const model = this.model;
    this.edge = new EdgeAgent({
      thingName: this.thingName,
      thingType: this.thingType,
      transport,
      uplink,
      sensors: { read: () => this.sample(telemetryEvery / 1000) },
      clock: systemClock,
      defaults: { ...DEFAULT_DEVICE_CONFIG, samplingIntervalS: SIM_SAMPLING_INTERVAL_S },
      msPerSecond: telemetryEvery / SIM_SAMPLING_INTERVAL_S,
      statusEveryMs: statusEvery,
      shadowReportIntervalMs: 10 * statusEvery,
      shadowStore: new FileShadowCopyStore(join(directory, 'shadow.json')),
      ...(model === undefined ? {} : { model: { scorer: model, report: () => model.report() } }),
      ...(this.modem === undefined ? {} : { modem: this.modem }),
      firmware: () => ({ version: this.firmwareVersion(), ...(this.boot ? { slot: this.boot.booted } : {}) }),
      // Cloud-to-device commands as a real device takes them; `reboot` restarts the simulated device.
      commands: {
        directory: join(directory, 'commands'),
        fsync: 'never',
        restart: () => this.reboot(),
        answerBackoff: { initialMs: 200, maxMs: 2_000 },
      },
    });
    await this.edge.start();
  }

  /** One sample of the sensor model, changed as the running firmware changes it. */
  private sample(dtSeconds: number): Record<string, number> {
    this.last = stepSensors(this.state, dtSeconds, this.random);
    const { temperature, humidity, pressure, battery, rsrp, rsrq } = this.last;
    const radio: Record<string, number> = this.modem === undefined ? { rsrp, rsrq } : {};
    return applyFirmwareTelemetry(
      { temperature: round2(temperature), humidity, pressure, battery, ...radio },
      this.firmware,
    );
  }

  /** The bootloader, then the image: which slot runs, and how the firmware in it behaves. */
  private async bootFirmware(): Promise<void> {
    const directory = this.otaDirectory ?? '';
    this.slots ??= await FileSlotStore.open(directory, {
      initialVersion: this.options.firmwareVersion ?? '1.0.0',
    });
    this.boot = await this.slots.boot();
    this.firmware = await readSimulatedFirmwareManifest(this.slots.read(this.boot.booted));
  }

  private async startAgent(ota: SimulatedOtaOptions, client: MqttClient): Promise<void> {
    const slots = this.slots;
    if (slots === undefined) return;
    const log = ota.log;
    this.otaAgent = new OtaAgent({
      thingName: this.thingName,
      transport: new MqttJobsTransport(client),
      downloader: new HttpDownloader(),
      slots,
      state: new FileAgentStateStore(this.otaDirectory ?? '', (error) =>
        log?.('agent-state-corrupt', { error: String(error) }),
      ),
      clock: systemClock,
      deviceType: this.thingType,
      trust: new FileTrustStore(this.otaDirectory ?? '', provisionedTrust(ota.keySet)),
      healthCheck: (context) => this.healthCheck(ota, context),
      install: (context) => this.install(context),
      reboot: () => this.reboot(),
      ...(this.model === undefined ? {} : { models: this.model }),
      ...(ota.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: ota.requestTimeoutMs }),
      ...(log === undefined ? {} : { log }),
    });
    await this.otaAgent.start();
    const boot = this.boot;
    if (this.firmware?.healthCheck === 'crash' && boot?.pending?.slot === boot?.booted) {
      // The firmware dies during its trial boot, before its health check can pass: the watchdog resets
      // the device and, the one try being spent, the bootloader starts the committed slot.
      this.timers.push(setTimeout(() => this.reboot(), Math.floor((ota.healthCheckMs ?? 5_000) / 2)));
    }
  }

  /** Healthy when, after running `healthCheckMs`, MQTT is connected, sensors read, and the firmware says pass. */
  private async healthCheck(ota: SimulatedOtaOptions, context: UpdateContext): Promise<HealthResult> {
    await delay(ota.healthCheckMs ?? 5_000, undefined, { signal: context.signal });
    if (this.firmware?.healthCheck === 'fail') {
      return {
        healthy: false,
        detail: `firmware ${context.version} reports unhealthy (simulated healthCheck: fail)`,
      };
    }
    if (this.client?.connected !== true) return { healthy: false, detail: 'MQTT not connected' };
    if (!Number.isFinite(this.last.temperature)) return { healthy: false, detail: 'sensors not readable' };
    return { healthy: true };
  }

  private async install(context: UpdateContext): Promise<void> {
    const manifest = await readSimulatedFirmwareManifest(this.slots?.read(context.slot) ?? emptyChunks());
    if (manifest !== undefined && simulatedInstallFails(this.thingName, manifest)) {
      throw new Error(`simulated install failure (installFailRate ${manifest.installFailRate})`);
    }
  }

  /** Restarts the device: off the broker, bootloader, then the booted image. Does not wait for the restart. */
  reboot(): void {
    if (this.restarting !== undefined || this.shutdown) return;
    this.restarting = (async () => {
      await this.powerOff();
      await delay(this.options.ota?.rebootDelayMs ?? 200);
      if (!this.shutdown) await this.powerOn();
    })()
      .catch((error) => this.options.ota?.log?.('reboot-failed', { error: String(error) }))
      .finally(() => {
        this.restarting = undefined;
      });
  }

  /** Resolves when a reboot in progress has finished. */
  async settled(): Promise<void> {
    while (this.restarting !== undefined) await this.restarting;
  }

  /** What the OTA side looks like now: boot state, agent status, running manifest, boots since construction. */
  async ota(): Promise<{
    boot?: BootState;
    agent?: OtaAgentStatus;
    firmware?: SimFirmwareManifest;
    boots: number;
  }> {
    const boot = await this.slots?.bootState();
    return {
      boots: this.boots,
      ...(boot === undefined ? {} : { boot }),
      ...(this.otaAgent === undefined ? {} : { agent: this.otaAgent.status() }),
      ...(this.firmware === undefined ? {} : { firmware: this.firmware }),
    };
  }

  /** The firmware version running now. */
  firmwareVersion(): string {
    const boot = this.boot;
    return (
      this.firmware?.version ??
      (boot === undefined ? undefined : boot.versions[boot.booted]) ??
      this.options.firmwareVersion ??
      '1.0.0'
    );
  }

  /** The status message this device would send now. */
  status(): StatusMessage {
    if (this.edge !== undefined) return { ...this.edge.status(), firmwareVersion: this.firmwareVersion() };
    return {
      ts: Date.now(),
      firmwareVersion: this.firmwareVersion(),
      battery: { percent: this.last.battery },
      signal: { rsrp: this.last.rsrp, rsrq: this.last.rsrq, rat: 'LTE-M' },
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  async publishStatus(): Promise<void> {
    await this.edge?.publishStatus();
  }

  private async powerOff(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.otaAgent?.stop();
    this.otaAgent = undefined;
    await this.edge?.stop();
    this.edge = undefined;
    await this.model?.close();
    this.model = undefined;
    await this.modem?.stop();
    this.modem = undefined;
    await this.client?.endAsync();
  }

  async stop(): Promise<void> {
    this.shutdown = true;
    await this.restarting;
    await this.powerOff();
  }
}

async function* emptyChunks(): AsyncIterable<Uint8Array> {}
