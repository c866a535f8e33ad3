import mqtt, { type MqttClient } from 'mqtt';
import type { StatusMessage, TelemetryMessage } from '../../protocol/messages.ts';
import { deviceTopic } from '../../protocol/topics.ts';
import type { DeviceCredentials } from '../pki.ts';
import { seededRandom } from './random.ts';
import { initialSensorState, type SensorSample, type SensorState, stepSensors } from './sensor-model.ts';

export interface SimulatedDeviceOptions {
  readonly credentials: DeviceCredentials;
  readonly brokerUrl: string;
  readonly firmwareVersion?: string;
  /** @default 30_000 */
  readonly statusEveryMs?: number;
  /** @default 10_000 */
  readonly telemetryEveryMs?: number;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * A simulated device: connects over mutual TLS with its own certificate, publishes status at once
 * and then periodically, and telemetry from the sensor model. It stands in for the edge component
 * until that component runs the simulated fleet.
 */
export class SimulatedDevice {
  readonly thingName: string;
  readonly thingType: string;
  private client: MqttClient | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly random: () => number;
  private readonly state: SensorState;
  private last: SensorSample;
  private seq = 0;
  private readonly startedAt = Date.now();

  constructor(private readonly options: SimulatedDeviceOptions) {
    this.thingName = options.credentials.thingName;
    this.thingType = options.credentials.thingType;
    this.random = seededRandom(this.thingName);
    this.state = initialSensorState(this.random);
    this.last = stepSensors(this.state, 1, this.random);
  }

  /** Connects and publishes the first status; resolves once connected. */
  async start(): Promise<void> {
    const { credentials } = this.options;
    this.client = await mqtt.connectAsync(this.options.brokerUrl, {
      clientId: this.thingName,
      protocolVersion: 4,
      key: credentials.keyPem,
      cert: credentials.certPem,
      ca: credentials.caPem,
      rejectUnauthorized: true,
      reconnectPeriod: 2_000,
      connectTimeout: 5_000,
    });
    await this.publishStatus();
    const telemetryEvery = this.options.telemetryEveryMs ?? 10_000;
    this.timers.push(
      setInterval(() => void this.publishTelemetry(telemetryEvery / 1000).catch(() => {}), telemetryEvery),
    );
    this.timers.push(
      setInterval(() => void this.publishStatus().catch(() => {}), this.options.statusEveryMs ?? 30_000),
    );
  }

  /** The status message this device would send now. */
  status(): StatusMessage {
    return {
      ts: Date.now(),
      firmwareVersion: this.options.firmwareVersion ?? '1.0.0',
      battery: { percent: this.last.battery },
      signal: { rsrp: this.last.rsrp, rsrq: this.last.rsrq, rat: 'LTE-M' },
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  async publishStatus(): Promise<void> {
    await this.publish('status', this.status());
  }

  async publishTelemetry(dtSeconds: number): Promise<void> {
    this.last = stepSensors(this.state, dtSeconds, this.random);
    const { temperature, humidity, pressure, battery, rsrp } = this.last;
    const message: TelemetryMessage = {
      ts: Date.now(),
      seq: this.seq++,
      values: { temperature: round2(temperature), humidity, pressure, battery, rsrp },
    };
    await this.publish('telemetry', message);
  }

  private async publish(kind: 'status' | 'telemetry', body: unknown): Promise<void> {
    if (this.client === undefined) throw new Error(`${this.thingName} is not started`);
    await this.client.publishAsync(deviceTopic(kind, this.thingType, this.thingName), JSON.stringify(body), {
      qos: 1,
    });
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.client?.endAsync();
  }
}
