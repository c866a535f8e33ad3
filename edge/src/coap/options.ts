import type { GatewayCommand } from '../../../lib/protocol/coap.ts';
import type { Reading } from '../../../lib/protocol/messages.ts';
import type { CoapRejectionReason } from './errors.ts';

/** What the {@link CoapGateway} is configured with, and what it tells about itself. */

/** Where readings came from, handed to the sink beside them. */
export interface CoapReadingSource {
  readonly sensorId: string;
}

/** What a command handler may answer; sent back CBOR-encoded with 2.04 Changed when present. */
export type CoapCommandResult = Readonly<Record<string, unknown>> | undefined;

export interface CoapGatewayOptions {
  /** UDP port; 0 picks a free one. @default 5683 (RFC 7252 §6.1) */
  readonly port?: number;
  /** Address to bind. @default '127.0.0.1': only local processes (see `exposure.ts`) */
  readonly host?: string;
  /**
   * Source addresses allowed to send requests; a request from any other is refused with 4.03 before it
   * is read (nothing reaches the sink or the commands). @default every source (for a loopback binding)
   */
  readonly allowedSources?: readonly string[];
  /**
   * Takes a sensor request's readings, already mapped to device readings (metrics named
   * `<sensorId>_<metric>`), all of them or none. Reject with `UplinkReadingError` when they are
   * invalid (answered 4.00), with anything else when they cannot be taken now (answered 5.03 with
   * Max-Age). The gateway records the readings only once this resolves.
   */
  readonly sink: (readings: readonly Reading[], source: CoapReadingSource) => Promise<void>;
  /** The device's own latest reading, served on `GET /readings`; `undefined` before the first. */
  readonly latest: () => Reading | undefined;
  /** Acts on a validated command. Throw {@link CommandRejectedError} to refuse it (4.03). */
  readonly onCommand: (command: GatewayCommand) => Promise<CoapCommandResult>;
  /** @default Date.now */
  readonly clock?: { now(): number };
  readonly log?: (event: string, detail: Record<string, unknown>) => void;
  /** Largest request payload, in bytes, after any block-wise reassembly. @default 4096 */
  readonly maxPayloadBytes?: number;
  /** Most sensors tracked at once; a new one beyond it is refused with 4.03. @default 32 */
  readonly maxSensors?: number;
  /** Readings kept per sensor for GET. @default 16 */
  readonly historyPerSensor?: number;
  /** Most concurrent observations across resources; beyond it a GET is answered once. @default 32 */
  readonly maxObservers?: number;
  /** How far ahead of the device's clock a sensor's `ts` may be. @default 600000 (10 min) */
  readonly maxClockSkewMs?: number;
  /** Max-Age, in seconds, of a 5.03 when the sink cannot take readings. @default 5 */
  readonly retryAfterSeconds?: number;
}

/** Counters of what the gateway accepted and refused. */
export interface CoapGatewayMetrics {
  readonly requests: number;
  readonly acceptedReadings: number;
  readonly acceptedCommands: number;
  readonly rejected: Readonly<Record<CoapRejectionReason, number>>;
  readonly sensors: number;
  readonly observers: number;
}
