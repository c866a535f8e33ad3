import type { DeviceCredentials } from '../pki.ts';
import type { SimulatedOtaOptions } from './device-firmware.ts';
import type { LinkFailure } from './link.ts';
import type { SimulatedModels } from './models.ts';
import type { ConnectionPacer } from './pacing.ts';

/** A device's certificate and key, or how to get them on its first power-on (issued then, reused after). */
export type CredentialsSource =
  | DeviceCredentials
  | {
      readonly thingName: string;
      readonly thingType: string;
      readonly issue: () => Promise<DeviceCredentials>;
    };

/** Connection attempts the device counted, by how they failed. */
export type LinkFailureCounts = Readonly<Record<LinkFailure, number>>;

export interface SimulatedDeviceOptions {
  readonly credentials: CredentialsSource;
  readonly brokerUrl: string;
  /**
   * Paces this device's connection attempts with the rest of its fleet; without one the device has
   * its own (10 attempts a second).
   */
  readonly pacer?: ConnectionPacer;
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
