import { setTimeout as delay } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { OtaAgent, type OtaAgentOptions, type OtaAgentStatus } from '../../../edge/src/ota/agent.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import { FileSlotStore } from '../../../edge/src/ota/fs-slot-store.ts';
import { HttpDownloader } from '../../../edge/src/ota/http-downloader.ts';
import { MqttJobsTransport } from '../../../edge/src/ota/mqtt-jobs-transport.ts';
import type { BootState, HealthResult, UpdateContext } from '../../../edge/src/ota/ports.ts';
import { FileAgentStateStore } from '../../../edge/src/ota/state-store.ts';
import { type DeviceTrust, FileTrustStore, provisionedTrust } from '../../../edge/src/ota/trust-store.ts';
import {
  readSimulatedFirmwareManifest,
  type SimFirmwareManifest,
  simulatedInstallFails,
} from './firmware-behaviour.ts';

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

/** What the firmware side needs of the device it runs on. */
export interface FirmwareHost {
  readonly thingName: string;
  readonly thingType: string;
  /** MQTT is connected now. */
  connected(): boolean;
  /** The sensors give readings now. */
  sensorsReadable(): boolean;
  /** Where an injected fault makes installing `version` fail, if it does. */
  injectedFailure(version: string): 'install' | 'health-check' | undefined;
  /** Restarts the device (does not wait). */
  reboot(): void;
}

/**
 * The firmware a simulated device runs: A/B slots on disk (no fsync: a simulated device has no power
 * to lose), the bootloader's choice at each power-on, the manifest of the image it booted (which
 * decides its version, telemetry and health check, see `firmware-behaviour.ts`), and the edge OTA
 * agent that installs new images.
 */
export class SimulatedFirmware {
  private slots: FileSlotStore | undefined;
  private boot: BootState | undefined;
  private manifest: SimFirmwareManifest | undefined;
  private agent: OtaAgent | undefined;
  private crashTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SimulatedOtaOptions,
    private readonly directory: string,
    private readonly factoryVersion: string,
    private readonly host: FirmwareHost,
  ) {}

  /** The manifest of the running image, if it has one. */
  get running(): SimFirmwareManifest | undefined {
    return this.manifest;
  }

  /** The version running now, by the image's manifest or the bootloader's record. */
  version(): string | undefined {
    const boot = this.boot;
    return this.manifest?.version ?? (boot === undefined ? undefined : boot.versions[boot.booted]);
  }

  /** The booted slot, once booted. */
  get bootedSlot(): BootState['booted'] | undefined {
    return this.boot?.booted;
  }

  /** The bootloader, then the image: which slot runs, and how the firmware in it behaves. */
  async powerOn(): Promise<void> {
    this.slots ??= await FileSlotStore.open(this.directory, {
      initialVersion: this.factoryVersion,
      fsync: 'never',
    });
    this.boot = await this.slots.boot();
    this.manifest = await readSimulatedFirmwareManifest(this.slots.read(this.boot.booted));
  }

  /** Starts the OTA agent on the device's MQTT connection; with `models`, model-update jobs change them. */
  async startAgent(client: MqttClient, models?: OtaAgentOptions['models']): Promise<void> {
    const slots = this.slots;
    if (slots === undefined) return;
    const { options } = this;
    const log = options.log;
    this.agent = new OtaAgent({
      thingName: this.host.thingName,
      transport: new MqttJobsTransport(client),
      downloader: new HttpDownloader(),
      slots,
      state: new FileAgentStateStore(
        this.directory,
        (error) => log?.('agent-state-corrupt', { error: String(error) }),
        'never',
      ),
      clock: systemClock,
      deviceType: this.host.thingType,
      trust: new FileTrustStore(this.directory, provisionedTrust(options.keySet)),
      healthCheck: (context) => this.healthCheck(context),
      install: (context) => this.install(context),
      reboot: () => this.host.reboot(),
      ...(models === undefined ? {} : { models }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(log === undefined ? {} : { log }),
    });
    await this.agent.start();
    const boot = this.boot;
    if (this.manifest?.healthCheck === 'crash' && boot?.pending?.slot === boot?.booted) {
      // The firmware dies during its trial boot, before its health check can pass: the watchdog resets
      // the device and, the one try being spent, the bootloader starts the committed slot.
      this.crashTimer = setTimeout(
        () => this.host.reboot(),
        Math.floor((options.healthCheckMs ?? 5_000) / 2),
      );
    }
  }

  async stopAgent(): Promise<void> {
    clearTimeout(this.crashTimer);
    await this.agent?.stop();
    this.agent = undefined;
  }

  /** What the OTA side looks like now: boot state, agent status, running manifest. */
  async status(): Promise<{ boot?: BootState; agent?: OtaAgentStatus; firmware?: SimFirmwareManifest }> {
    const boot = await this.slots?.bootState();
    return {
      ...(boot === undefined ? {} : { boot }),
      ...(this.agent === undefined ? {} : { agent: this.agent.status() }),
      ...(this.manifest === undefined ? {} : { firmware: this.manifest }),
    };
  }

  /** Healthy when, after running `healthCheckMs`, MQTT is connected, sensors read, and the firmware says pass. */
  private async healthCheck(context: UpdateContext): Promise<HealthResult> {
    await delay(this.options.healthCheckMs ?? 5_000, undefined, { signal: context.signal });
    if (this.host.injectedFailure(context.version) === 'health-check')
      return { healthy: false, detail: `firmware ${context.version} reports unhealthy (injected fault)` };
    if (this.manifest?.healthCheck === 'fail') {
      return {
        healthy: false,
        detail: `firmware ${context.version} reports unhealthy (simulated healthCheck: fail)`,
      };
    }
    if (!this.host.connected()) return { healthy: false, detail: 'MQTT not connected' };
    if (!this.host.sensorsReadable()) return { healthy: false, detail: 'sensors not readable' };
    return { healthy: true };
  }

  private async install(context: UpdateContext): Promise<void> {
    if (this.host.injectedFailure(context.version) === 'install')
      throw new Error(`simulated install failure of ${context.version} (injected fault)`);
    const manifest = await readSimulatedFirmwareManifest(this.slots?.read(context.slot) ?? emptyChunks());
    if (manifest !== undefined && simulatedInstallFails(this.host.thingName, manifest)) {
      throw new Error(`simulated install failure (installFailRate ${manifest.installFailRate})`);
    }
  }
}

async function* emptyChunks(): AsyncIterable<Uint8Array> {}
