import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { EdgeAgent } from '../../../edge/src/agent/edge-agent.ts';
import { ModemEmulator } from '../../../edge/src/modem/emulator.ts';
import { createEmulatorLink } from '../../../edge/src/modem/emulator-transports.ts';
import { ModemDriver } from '../../../edge/src/modem/modem-driver.ts';
import type { OtaAgentStatus } from '../../../edge/src/ota/agent.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import type { BootState } from '../../../edge/src/ota/ports.ts';
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
import type { SimFaultEffect, SimFaultKind } from '../../protocol/sim-faults.ts';
import { deviceTopic } from '../../protocol/topics.ts';
import type { DeviceCredentials } from '../pki.ts';
import { DeviceFaults, type FaultHooks } from './device-faults.ts';
import { SimulatedFirmware, type SimulatedOtaOptions } from './device-firmware.ts';
import type { LinkFailureCounts, SimulatedDeviceOptions } from './device-options.ts';
import { applyFirmwareTelemetry, type SimFirmwareManifest } from './firmware-behaviour.ts';
import { DeviceLink, DeviceTls, type LinkFailure, type LinkState } from './link.ts';
import { SimulatedDeviceModel } from './models.ts';
import { ConnectionPacer } from './pacing.ts';

export type { CredentialsSource, LinkFailureCounts, SimulatedDeviceOptions } from './device-options.ts';
export type { SimulatedOtaOptions };

/** Longest a device waits for its modem to register before it connects anyway. */
const MODEM_ATTACH_WAIT_MS = 5_000;

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
  private readonly random: () => number;
  private readonly state: SensorState;
  /** The radio site's own mean RSRP, before any weak-signal fault. */
  private readonly ownRsrp: number;
  private last: SensorSample;
  private startedAt = Date.now();
  /** The firmware side (slots, bootloader, OTA agent), with `ota`. */
  private readonly firmware: SimulatedFirmware | undefined;
  private shutdown = false;
  private restarting: Promise<void> | undefined;
  private boots = 0;
  private edge: EdgeAgent | undefined;
  private modem: ModemDriver | undefined;
  private emulator: ModemEmulator | undefined;
  private link: DeviceLink | undefined;
  private tls: DeviceTls | undefined;
  private readonly pacer: ConnectionPacer;
  private lifetime = new AbortController();
  private readonly failures: Record<LinkFailure, number> = {
    'connack-timeout': 0,
    refused: 0,
    tls: 0,
    network: 0,
    other: 0,
  };
  /** Faults injected into this device (`POST /local/faults`); they outlive reboots. */
  readonly faults: DeviceFaults;
  private model: SimulatedDeviceModel | undefined;

  constructor(private readonly options: SimulatedDeviceOptions) {
    this.thingName = options.credentials.thingName;
    this.thingType = options.credentials.thingType;
    this.random = seededRandom(this.thingName);
    this.state = initialSensorState(this.random);
    this.ownRsrp = this.state.rsrpBase;
    this.last = stepSensors(this.state, 1, this.random);
    this.pacer = options.pacer ?? new ConnectionPacer({ ratePerSecond: 10, burst: 10, clock: systemClock });
    this.faults = new DeviceFaults(this.state, Date.now);
    this.firmware =
      options.ota === undefined
        ? undefined
        : new SimulatedFirmware(
            options.ota,
            join(options.ota.dataDir, 'sim', this.thingName),
            options.firmwareVersion ?? '1.0.0',
            {
              thingName: this.thingName,
              thingType: this.thingType,
              connected: () => this.client?.connected === true,
              sensorsReadable: () => Number.isFinite(this.last.temperature),
              injectedFailure: (version) => this.faults.firmwareFailure(version),
              reboot: () => this.reboot(),
            },
          );
  }

  /** Where the connection stands: connected, connecting (paced, retrying), held offline by a fault, ... */
  get linkState(): LinkState {
    return this.link?.state ?? (this.shutdown ? 'closed' : 'idle');
  }

  /** Failed connection attempts since construction, by kind. */
  get linkFailures(): LinkFailureCounts {
    return { ...this.failures };
  }

  /** Connections that resumed a TLS session (no certificates exchanged). */
  get resumedSessions(): number {
    return this.tls?.resumed ?? 0;
  }

  /** Injects a fault (replacing one of the same kind). */
  injectFault(effect: SimFaultEffect): void {
    this.faults.set(effect);
  }

  /** Clears a fault of this kind, if one is in force. */
  clearFault(kind: SimFaultKind): void {
    this.faults.clear(kind);
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
    if (this.lifetime.signal.aborted) this.lifetime = new AbortController();
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
    await this.firmware?.powerOn();
    this.tls ??= new DeviceTls(await this.credentials());
    this.link = new DeviceLink({
      url: this.options.brokerUrl,
      clientId: this.thingName,
      tls: this.tls,
      pacer: this.pacer,
      clock: systemClock,
      connectTimeoutMs: 10_000,
      onFailure: (kind) => {
        this.failures[kind]++;
      },
    });
    this.client = this.link.client;
    const attached = this.startModem();
    this.faults.reapply(this.faultHooks());
    // As a cellular device does: attach to the network first, then open MQTT. The first shadow report
    // then already has the modem registered, rather than a second report following it.
    await Promise.race([attached, delay(MODEM_ATTACH_WAIT_MS, undefined, { signal: this.lifetime.signal })]);
    await this.link.up(this.lifetime.signal);
    await this.startEdge(this.client);
    await this.firmware?.startAgent(this.client, this.model);
  }

  private async credentials(): Promise<DeviceCredentials> {
    const source = this.options.credentials;
    return 'issue' in source ? source.issue() : source;
  }

  /** What faults do to this power-on's link and modem. */
  private faultHooks(): FaultHooks {
    const link = this.link;
    return {
      offline: (on: boolean) => {
        if (on) link?.hold();
        else link?.release();
        this.emulator?.setFaults({ network: on ? 'none' : 'available' });
      },
      flaky: (settings) => link?.flaky(settings),
      signal: (signal) => {
        const own = { rsrpDbm: Math.round(this.ownRsrp), rsrqDb: -10 };
        if (this.emulator !== undefined) this.emulator.setSignal(signal ?? own);
        else this.state.rsrpBase = signal?.rsrpDbm ?? this.ownRsrp;
      },
    };
  }

  /**
   * The emulated modem behind the real AT driver, when the device has one; resolves once it is
   * registered (or has given up: the driver then keeps recovering by itself).
   */
  private async startModem(): Promise<void> {
    if (this.options.modem === false) return;
    const emulator = new ModemEmulator({
      signal: { rsrpDbm: Math.round(this.ownRsrp), rsrqDb: -10 },
      signalWalk: { seed: this.boots + this.thingName.length },
      registrationDelayMs: 200,
      bootDelayMs: 200,
      // A simulated device runs for days: keep the last few commands, not every poll's.
      transcriptLines: 20,
    });
    this.emulator = emulator;
    this.modem = new ModemDriver({
      link: createEmulatorLink(emulator),
      apn: 'iot',
      pollEveryMs: this.options.statusEveryMs ?? 30_000,
    });
    await this.modem.start().catch(() => {});
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
      // A simulated device has no power to lose: its stores skip fsync (they stay atomic).
      shadowStore: new FileShadowCopyStore(join(directory, 'shadow.json'), 'never'),
      ...(model === undefined ? {} : { model: { scorer: model, report: () => model.report() } }),
      ...(this.modem === undefined ? {} : { modem: this.modem }),
      firmware: () => {
        const slot = this.firmware?.bootedSlot;
        return { version: this.firmwareVersion(), ...(slot === undefined ? {} : { slot }) };
      },
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
      this.faults.adjust({ temperature: round2(temperature), humidity, pressure, battery, ...radio }),
      this.firmware?.running,
    );
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
    return { boots: this.boots, ...(await this.firmware?.status()) };
  }

  /** The firmware version running now. */
  firmwareVersion(): string {
    return this.firmware?.version() ?? this.options.firmwareVersion ?? '1.0.0';
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
    await this.firmware?.stopAgent();
    await this.edge?.stop();
    this.edge = undefined;
    await this.model?.close();
    this.model = undefined;
    await this.modem?.stop();
    this.modem = undefined;
    this.emulator?.close();
    this.emulator = undefined;
    await this.link?.close();
    this.link = undefined;
    this.client = undefined;
  }

  async stop(): Promise<void> {
    this.shutdown = true;
    this.lifetime.abort(new Error(`${this.thingName} stopped`));
    await this.restarting;
    await this.powerOff();
  }
}
