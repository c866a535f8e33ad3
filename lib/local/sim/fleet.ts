import { setMaxListeners } from 'node:events';
import { defaultModelDir, readModelSource } from '../../../edge/src/agent/model-files.ts';
import { backoffDelay } from '../../../edge/src/modem/backoff.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import type { DeviceCredentials } from '../pki.ts';
import { type LinkFailureCounts, SimulatedDevice, type SimulatedOtaOptions } from './device.ts';
import { SimulatedModels } from './models.ts';
import { CONNECT_BACKOFF, ConnectionPacer, type PacerStats } from './pacing.ts';

/** Device types the simulated fleet is made of, in rotation. */
export const SIMULATED_TYPES = ['tracker', 'env-sensor'] as const;

/** How the fleet comes up. */
export interface FleetPacing {
  /** New connections per second, on average (first connections and reconnections alike). @default 100 */
  readonly connectsPerSecond?: number;
  /** Connections that may start at once after a quiet spell. @default 20 */
  readonly burst?: number;
  /**
   * Devices being brought up at once: connected, and waiting for their first shadow sync (the
   * platform's answer). A slow platform thus slows the bring-up instead of timing devices out. @default 48
   */
  readonly bringUpWindow?: number;
  /** Longest a device holds its bring-up slot waiting for its first shadow sync. @default 20_000 */
  readonly syncWaitMs?: number;
}

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
  readonly pacing?: FleetPacing;
  /** Told about devices that failed to start for another reason than the network (they are retried). */
  readonly log?: (event: string, fields: Readonly<Record<string, unknown>>) => void;
}

/** Where the fleet stands, for `GET /local/fleet`, the banner and the bench. */
export interface FleetStatus {
  readonly devices: number;
  /** Devices that have come up (connected and synced, or past the sync wait) at least once. */
  readonly started: number;
  /** Connected now. */
  readonly connected: number;
  /** Held offline by an injected fault. */
  readonly heldOffline: number;
  /** ms from the fleet's start until every device had come up, once they all have. */
  readonly bringUpMs?: number;
  /** Failed connection attempts, by kind (every one was retried). */
  readonly connectFailures: LinkFailureCounts;
  /** Start failures other than connecting (retried too). */
  readonly startFailures: number;
  /** Reconnections that resumed their TLS session. */
  readonly resumedSessions: number;
  readonly pacer: PacerStats;
}

/** A running simulated fleet. */
export interface SimulatedFleet {
  readonly devices: readonly SimulatedDevice[];
  /** Resolves, with {@link FleetStatus.bringUpMs}, once every device has come up. */
  whenUp(): Promise<number>;
  status(): FleetStatus;
  stop(): Promise<void>;
}

/** The name of the n-th simulated device (1-based): `sim-0001`. */
export function simulatedDeviceName(n: number): string {
  return `sim-${String(n).padStart(4, '0')}`;
}

/** The thing type of the n-th simulated device (1-based): the types in rotation. */
export function simulatedDeviceType(n: number): string {
  return SIMULATED_TYPES[(n - 1) % SIMULATED_TYPES.length] ?? 'tracker';
}

/**
 * Starts bringing up `count` simulated devices and returns at once: each gets its certificate (issued
 * on its first start, then reused) and connects when the fleet's pacer lets it — a token bucket for
 * connections, and a window of devices in bring-up that each keep until the platform has answered
 * their first shadow sync. Failures are retried with jittered backoff; nothing gives up but `stop`.
 */
export async function startFleet(options: SimulatedFleetOptions): Promise<SimulatedFleet> {
  const startedAt = Date.now();
  const modelDir = defaultModelDir();
  const models =
    options.count > 0 && options.model !== false
      ? new SimulatedModels(() => readModelSource(modelDir))
      : undefined;
  const pacing = options.pacing ?? {};
  const connections = new ConnectionPacer({
    ratePerSecond: pacing.connectsPerSecond ?? 100,
    burst: pacing.burst ?? 20,
    clock: systemClock,
  });
  const window = new ConnectionPacer({
    ratePerSecond: Number.MAX_SAFE_INTEGER,
    burst: Number.MAX_SAFE_INTEGER,
    maxInFlight: pacing.bringUpWindow ?? 48,
    clock: systemClock,
  });
  const stopping = new AbortController();
  // Every device waiting for a slot or its first sync listens to it: a thousand listeners is the design.
  setMaxListeners(0, stopping.signal);
  const devices: SimulatedDevice[] = [];
  for (let n = 1; n <= options.count; n++) {
    const thingName = simulatedDeviceName(n);
    const thingType = simulatedDeviceType(n);
    devices.push(
      new SimulatedDevice({
        credentials: { thingName, thingType, issue: () => options.credentials(thingName, thingType) },
        brokerUrl: options.brokerUrl,
        pacer: connections,
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

  let started = 0;
  let startFailures = 0;
  let bringUpMs: number | undefined;
  let allUp: () => void = () => {};
  const up = new Promise<number>((resolve) => {
    allUp = () => resolve(bringUpMs ?? 0);
  });
  const syncWaitMs = pacing.syncWaitMs ?? 20_000;
  const bringUp = async (device: SimulatedDevice) => {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      const release = await window.admit(stopping.signal);
      try {
        await device.start();
        await Promise.race([
          device.agent?.whenShadowSynced(),
          systemClock.sleep(syncWaitMs, stopping.signal),
        ]);
        return;
      } catch (error) {
        if (stopping.signal.aborted) return;
        startFailures++;
        options.log?.('device-start-failed', { thing: device.thingName, attempt, error: String(error) });
      } finally {
        release();
      }
      await systemClock.sleep(backoffDelay(attempt + 1, CONNECT_BACKOFF, Math.random), stopping.signal);
    }
  };
  const bringingUp = devices.map((device) =>
    bringUp(device).then(
      () => {
        if (stopping.signal.aborted) return;
        started++;
        if (started === devices.length) {
          bringUpMs = Date.now() - startedAt;
          allUp();
        }
      },
      () => {},
    ),
  );
  if (devices.length === 0) {
    bringUpMs = 0;
    allUp();
  }

  const status = (): FleetStatus => {
    const failures = { 'connack-timeout': 0, refused: 0, tls: 0, network: 0, other: 0 };
    let connected = 0;
    let heldOffline = 0;
    let resumedSessions = 0;
    for (const device of devices) {
      const state = device.linkState;
      if (state === 'connected') connected++;
      if (state === 'held') heldOffline++;
      resumedSessions += device.resumedSessions;
      for (const [kind, count] of Object.entries(device.linkFailures))
        failures[kind as keyof typeof failures] += count;
    }
    return {
      devices: devices.length,
      started,
      connected,
      heldOffline,
      ...(bringUpMs === undefined ? {} : { bringUpMs }),
      connectFailures: failures,
      startFailures,
      resumedSessions,
      pacer: connections.stats(),
    };
  };

  return {
    devices,
    whenUp: () => up,
    status,
    stop: async () => {
      stopping.abort(new Error('fleet stopped'));
      connections.close(stopping.signal.reason);
      window.close(stopping.signal.reason);
      await Promise.all(devices.map((d) => d.stop()));
      await Promise.all(bringingUp);
      await models?.close();
    },
  };
}
