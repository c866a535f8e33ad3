import type { DeviceConfig } from '../../../lib/protocol/device-config.ts';
import type { Reading, StatusMessage } from '../../../lib/protocol/messages.ts';
import type { ModemStatus } from '../../../lib/protocol/modem.ts';
import { deviceTopic } from '../../../lib/protocol/topics.ts';
import {
  type AgentCommandsOptions,
  type RunningCommands,
  startAgentCommands,
} from '../commands/agent-commands.ts';
import type { Clock } from '../ota/ports.ts';
import type {
  DeviceStateProviders,
  FirmwareReport,
  ModelReport,
  ModemReport,
  ShadowCopyStore,
} from '../shadow/ports.ts';
import { ShadowSync } from '../shadow/shadow-sync.ts';
import type { DeviceTransport } from '../transport/ports.ts';
import type { Uplink } from '../uplink/uplink.ts';
import {
  type FeatureScorer,
  type SensorSource,
  TelemetryLoop,
  type TelemetryLoopMetrics,
  type TelemetryLoopOptions,
} from './telemetry-loop.ts';

/** The parts of the modem driver the agent uses (`ModemDriver`). */
export interface AgentModem {
  readonly status: ModemStatus;
  configurePsm(request: {
    enabled: boolean;
    periodicTauSeconds?: number;
    activeTimeSeconds?: number;
  }): Promise<unknown>;
  /** Calls `listener` on every status change; returns a function that removes it. */
  onStatus?(listener: (status: ModemStatus) => void): () => void;
}

export interface EdgeAgentOptions {
  readonly thingName: string;
  readonly thingType: string;
  readonly transport: DeviceTransport;
  readonly uplink: Pick<Uplink, 'add' | 'start' | 'stop' | 'metrics'>;
  readonly sensors: SensorSource;
  readonly clock: Clock;
  /** Settings until the shadow (or its local copy) says otherwise. */
  readonly defaults: DeviceConfig;
  /** The shadow's local copy; without it the agent does not sync its shadow. */
  readonly shadowStore?: ShadowCopyStore;
  /** The anomaly model, and what the shadow reports about it. */
  readonly model?: { readonly scorer: FeatureScorer; readonly report: () => ModelReport };
  readonly modem?: AgentModem;
  /** The firmware running (the OTA agent's booted slot). */
  readonly firmware: () => FirmwareReport;
  /** Between status messages. @default 300_000 */
  readonly statusEveryMs?: number;
  /** See {@link TelemetryLoopOptions.msPerSecond}. @default 1000 */
  readonly msPerSecond?: number;
  /** How often the shadow gets firmware, model, modem and health again. @default 900_000 */
  readonly shadowReportIntervalMs?: number;
  /** Cloud-to-device commands (issue 11); without it the agent does not listen for commands. */
  readonly commands?: AgentCommandsOptions;
  /**
   * The CoAP gateway faces a network without DTLS or OSCORE (`coap/exposure.ts`): reported in the
   * shadow's `health.coap` and in the status, whose registry copy the fleet audit checks.
   */
  readonly coapExposure?: {
    readonly interface: string;
    readonly address: string;
    readonly allow: readonly string[];
  };
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}

export interface EdgeAgentMetrics {
  readonly telemetry: TelemetryLoopMetrics;
  readonly uplink: ReturnType<Uplink['metrics']>;
  readonly statusSent: number;
  readonly statusFailed: number;
  readonly config: DeviceConfig;
}

/** The modem's state as the shadow reports it (`reported.modem`). */
export function modemReport(status: ModemStatus): ModemReport {
  const psm = status.psm;
  return {
    registration: status.registration,
    ...(status.rat === undefined ? {} : { rat: status.rat }),
    ...(status.rsrp === undefined ? {} : { rsrpDbm: status.rsrp }),
    ...(status.rsrq === undefined ? {} : { rsrqDb: status.rsrq }),
    bars: status.bars,
    ...(psm === undefined ? {} : { psm: JSON.parse(JSON.stringify(psm)) }),
  };
}

/**
 * The edge agent: samples sensors into the uplink (batched, compressed, stored and forwarded), scores
 * each window with the anomaly model, publishes status, keeps its shadow in sync (reports firmware,
 * model, modem and health; applies desired settings), and hands PSM settings to the modem. The OTA
 * agent runs beside it on the same transport. Everything outside is a port, so the same composition
 * runs standalone (MQTT), in Greengrass (IPC) and in the local platform's simulated fleet.
 */
export class EdgeAgent {
  private readonly telemetry: TelemetryLoop;
  private readonly shadow: ShadowSync | undefined;
  private config: DeviceConfig;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly startedAt: number;
  private statusSent = 0;
  private statusFailed = 0;
  private lastReading: Reading | undefined;
  private readonly sampleListeners = new Set<(reading: Reading) => void>();
  private stopTransportWatch: (() => void) | undefined;
  private stopModemWatch: (() => void) | undefined;
  /** The PSM settings the modem was last sent successfully (JSON), undefined until then. */
  private sentPsm: string | undefined;
  private sendingPsm = false;
  private commands: RunningCommands | undefined;

  constructor(private readonly options: EdgeAgentOptions) {
    this.config = options.defaults;
    this.startedAt = options.clock.now();
    this.telemetry = new TelemetryLoop({
      sensors: options.sensors,
      sink: options.uplink,
      clock: options.clock,
      samplingIntervalS: options.defaults.samplingIntervalS,
      ...(options.msPerSecond === undefined ? {} : { msPerSecond: options.msPerSecond }),
      thresholds: options.defaults.thresholds,
      ...(options.model === undefined ? {} : { scorer: options.model.scorer }),
      extra: () => this.radioValues(),
      onReading: (reading, crossings) => {
        this.lastReading = reading;
        for (const listener of this.sampleListeners) listener(reading);
        if (crossings.length > 0) options.log?.('threshold-crossed', { crossings });
      },
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    if (options.shadowStore !== undefined) {
      this.shadow = new ShadowSync({
        thingName: options.thingName,
        transport: options.transport,
        store: options.shadowStore,
        defaults: options.defaults,
        apply: (next) => this.apply(next),
        providers: this.providers(),
        clock: options.clock,
        reportIntervalMs: options.shadowReportIntervalMs ?? 900_000,
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    }
  }

  /** Starts the shadow sync (which applies the local copy first), the uplink, sampling and status. */
  async start(): Promise<void> {
    await this.shadow?.start();
    this.options.uplink.start();
    this.telemetry.start();
    const every = this.options.statusEveryMs ?? 300_000;
    this.statusTimer = setInterval(() => void this.publishStatus(), every);
    this.statusTimer.unref?.();
    // A status as soon as the link is up (and at once if it is), so the registry sees the device.
    this.stopTransportWatch = this.options.transport.onStateChange((state) => {
      if (state === 'connected') void this.publishStatus();
    });
    if (this.options.transport.state === 'connected') await this.publishStatus();
    // Registration changes are news for the shadow at once; signal drifts go with the periodic report.
    let registration = this.options.modem?.status.registration;
    this.stopModemWatch = this.options.modem?.onStatus?.((status) => {
      if (status.registration === registration) return;
      registration = status.registration;
      if (status.registration === 'registered-home' || status.registration === 'registered-roaming') {
        // A (re)registration may follow a reset that lost the PSM request: send it again.
        this.sentPsm = undefined;
        void this.syncPsm();
      }
      void this.shadow?.reportState().catch((error: unknown) => {
        this.options.log?.('shadow-report-failed', { error: String(error) });
      });
    });
    if (this.options.commands === undefined) return;
    // Commands are an operator's convenience: telemetry, shadow and OTA must not depend on them.
    this.commands = await startAgentCommands(this, this.options, this.options.commands).catch((error) => {
      this.options.log?.('commands-unavailable', { error: String(error) });
      return undefined;
    });
  }

  async stop(): Promise<void> {
    await this.commands?.stop();
    clearInterval(this.statusTimer);
    this.stopTransportWatch?.();
    this.stopModemWatch?.();
    await this.telemetry.stop();
    await this.shadow?.stop();
    await this.options.uplink.stop();
  }

  /** Resolves once the shadow has been synced (at once for an agent without shadow sync). */
  whenShadowSynced(): Promise<void> {
    return this.shadow?.whenSynced() ?? Promise.resolve();
  }

  /** Seconds between samples now: the shadow's setting, or a local override. */
  get samplingIntervalS(): number {
    return this.telemetry.samplingIntervalS;
  }

  /** The settings in effect. */
  get settings(): DeviceConfig {
    return this.config;
  }

  /**
   * Something the shadow and the status report changed (a model-update installed a new model): report
   * the shadow's state and a status now, not at the next interval, so the cloud sees it.
   */
  async stateChanged(): Promise<void> {
    await Promise.all([
      this.shadow?.reportState().catch((error: unknown) => {
        this.options.log?.('shadow-report-failed', { error: String(error) });
      }),
      this.publishStatus(),
    ]);
  }

  /** Takes a sample now (tests, a CoAP or cloud `sample-now` command); `urgent` skips the batch. */
  sampleNow(options?: { readonly urgent?: boolean }) {
    return this.telemetry.sampleOnce(options);
  }

  /** The device's own last reading (the CoAP gateway's `GET /readings`). */
  latestReading(): Reading | undefined {
    return this.lastReading;
  }

  /** Calls `listener` after each of the device's own samples; returns a function that removes it. */
  onSample(listener: (reading: Reading) => void): () => void {
    this.sampleListeners.add(listener);
    return () => this.sampleListeners.delete(listener);
  }

  /**
   * Samples at another interval until the shadow's settings next change (a local `set-interval`
   * command); the shadow stays the source of the settings the device reports.
   */
  overrideSamplingInterval(seconds: number): void {
    this.telemetry.configure({ samplingIntervalS: seconds, thresholds: this.config.thresholds });
    this.options.log?.('sampling-interval-overridden', {
      seconds,
      shadowSays: this.config.samplingIntervalS,
    });
  }

  /** Ends an {@link overrideSamplingInterval}: the settings' interval applies again. */
  endSamplingOverride(): void {
    this.telemetry.configure(this.config);
  }

  status(): StatusMessage {
    const modem = this.options.modem?.status;
    const last = this.lastReading?.values ?? {};
    const battery = last.battery;
    const rsrp = modem?.rsrp ?? last.rsrp;
    const rsrq = modem?.rsrq ?? last.rsrq;
    const model = this.options.model?.report();
    const tlsVersion = this.options.transport.tlsVersion;
    return {
      ts: this.options.clock.now(),
      firmwareVersion: this.options.firmware().version,
      ...(model === undefined ? {} : { modelVersion: model.version }),
      ...(battery === undefined ? {} : { battery: { percent: battery } }),
      ...(rsrp === undefined
        ? {}
        : {
            signal: {
              rsrp,
              ...(rsrq === undefined ? {} : { rsrq }),
              ...(modem?.rat === undefined ? {} : { rat: modem.rat }),
            },
          }),
      uptimeSeconds: Math.max(0, Math.floor((this.options.clock.now() - this.startedAt) / 1000)),
      ...(tlsVersion === undefined ? {} : { tlsVersion }),
      // In the status too (not only the shadow), so the registry keeps it and the fleet audit finds it.
      ...(this.options.coapExposure === undefined
        ? {}
        : { coapExposure: { ...this.options.coapExposure, allow: [...this.options.coapExposure.allow] } }),
    };
  }

  async publishStatus(): Promise<void> {
    const { thingType, thingName, transport } = this.options;
    try {
      await transport.publish(deviceTopic('status', thingType, thingName), JSON.stringify(this.status()));
      this.statusSent++;
    } catch (error) {
      this.statusFailed++;
      this.options.log?.('status-failed', { error: String(error) });
    }
  }

  metrics(): EdgeAgentMetrics {
    return {
      telemetry: this.telemetry.metrics(),
      uplink: this.options.uplink.metrics(),
      statusSent: this.statusSent,
      statusFailed: this.statusFailed,
      config: this.config,
    };
  }

  /** Applies settings from the shadow: all or nothing (a failure leaves the old ones, and shadow sync reports why). */
  private async apply(next: DeviceConfig): Promise<void> {
    this.config = next;
    this.telemetry.configure(next);
    void this.syncPsm();
  }

  /**
   * Sends the settings' PSM to the modem when the modem does not have it yet: at the first apply
   * (whatever the modem kept from before), after each change, and again after the modem registers
   * anew (a reset loses what it was told). A modem that cannot take it now (not answering yet, a
   * timeout) is not a refusal of the settings: they stay applied, and the next registration retries.
   */
  private async syncPsm(): Promise<void> {
    const modem = this.options.modem;
    const wanted = JSON.stringify(this.config.psm);
    if (modem === undefined || this.sentPsm === wanted || this.sendingPsm) return;
    this.sendingPsm = true;
    try {
      const psm = this.config.psm;
      await modem.configurePsm({
        enabled: psm.enabled,
        periodicTauSeconds: psm.periodicTauS,
        activeTimeSeconds: psm.activeTimeS,
      });
      this.sentPsm = wanted;
    } catch (error) {
      this.options.log?.('psm-not-sent', { error: String(error), next: 'retried when the modem registers' });
    } finally {
      this.sendingPsm = false;
    }
    if (this.sentPsm !== undefined && this.sentPsm !== JSON.stringify(this.config.psm)) await this.syncPsm();
  }

  /** The modem's own measurement of RSRP / RSRQ, when there is a modem and it has one. */
  private radioValues(): Record<string, number> {
    const status = this.options.modem?.status;
    return {
      ...(status?.rsrp === undefined ? {} : { rsrp: status.rsrp }),
      ...(status?.rsrq === undefined ? {} : { rsrq: status.rsrq }),
    };
  }

  private providers(): DeviceStateProviders {
    const { model, modem, firmware, coapExposure } = this.options;
    return {
      firmware,
      ...(model === undefined ? {} : { model: model.report }),
      ...(modem === undefined ? {} : { modem: () => modemReport(modem.status) }),
      health: () => ({
        uptimeS: Math.max(0, Math.floor((this.options.clock.now() - this.startedAt) / 1000)),
        ...(this.lastReading?.values.battery === undefined
          ? {}
          : { batteryPct: this.lastReading.values.battery }),
        ...(coapExposure === undefined
          ? {}
          : {
              coap: { exposed: true, ...coapExposure, allow: [...coapExposure.allow], authenticated: false },
            }),
      }),
    };
  }
}
