import { defaultModelDir, readModelSource } from '../../../edge/src/agent/model-files.ts';
import type { DeviceCredentials } from '../pki.ts';
import { SimulatedDevice, type SimulatedOtaOptions } from './device.ts';
import { SimulatedModels } from './models.ts';

/** Device types the simulated fleet is made of, in rotation. */
export const SIMULATED_TYPES = ['tracker', 'env-sensor'] as const;

export interface SimulatedFleetOptions {
  readonly count: number;
  /** A device's certificate and key (the platform's factory path: issued on first start, then reused). */
  readonly credentials: (thingName: string, thingType: string) => Promise<DeviceCredentials>;
  readonly brokerUrl: string;
  readonly statusEveryMs?: number;
  readonly telemetryEveryMs?: number;
  /** Gives every device an OTA agent (slots under `<ota.dataDir>/sim/<thing>/`); absent, devices never update. */
  readonly ota?: SimulatedOtaOptions;
  /** Where the devices' edge agents keep their uplink queues and shadow copies (`<dataDir>/sim/<thing>/`). */
  readonly dataDir?: string;
  /**
   * Runs the edge anomaly model: each device serves its own (a model-update job changes one device's),
   * devices serving the same file share one onnxruntime session. @default true
   */
  readonly model?: boolean;
  /** Gives each device an emulated modem behind the real AT driver. @default true */
  readonly modem?: boolean;
  /** Readings per uplink batch. @default 10 */
  readonly batchSize?: number;
}

/** A running simulated fleet. */
export interface SimulatedFleet {
  readonly devices: readonly SimulatedDevice[];
  stop(): Promise<void>;
}

/** The name of the n-th simulated device (1-based): `sim-0001`. */
export function simulatedDeviceName(n: number): string {
  return `sim-${String(n).padStart(4, '0')}`;
}

/** Starts `count` simulated devices, each with its own certificate (issued on first start, then reused). */
export async function startFleet(options: SimulatedFleetOptions): Promise<SimulatedFleet> {
  const devices: SimulatedDevice[] = [];
  const modelDir = defaultModelDir();
  const models =
    options.count > 0 && options.model !== false
      ? new SimulatedModels(() => readModelSource(modelDir))
      : undefined;
  for (let n = 1; n <= options.count; n++) {
    const type = SIMULATED_TYPES[(n - 1) % SIMULATED_TYPES.length] ?? 'tracker';
    const credentials = await options.credentials(simulatedDeviceName(n), type);
    devices.push(
      new SimulatedDevice({
        credentials,
        brokerUrl: options.brokerUrl,
        ...(options.statusEveryMs === undefined ? {} : { statusEveryMs: options.statusEveryMs }),
        ...(options.telemetryEveryMs === undefined ? {} : { telemetryEveryMs: options.telemetryEveryMs }),
        ...(options.ota === undefined ? {} : { ota: options.ota }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(models === undefined ? {} : { models }),
        ...(options.modem === undefined ? {} : { modem: options.modem }),
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      }),
    );
  }
  await Promise.all(devices.map((d) => d.start()));
  return {
    devices,
    stop: async () => {
      await Promise.all(devices.map((d) => d.stop()));
      await models?.close();
    },
  };
}
