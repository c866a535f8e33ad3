import * as z from 'zod';
import { version } from './messages.ts';
import { rolloutTargets } from './rollouts.ts';

/**
 * Faults the local platform can inject into its simulated fleet (`POST /local/faults`, `fleetkit sim
 * fault ...`), so every view of the fleet has something real to show: devices that drop off, weak
 * radio, unreliable links, flat batteries, firmware that fails on some devices, sensors that overheat. They act on the
 * simulated devices themselves — the platform sees only what a real fleet would send.
 *
 * Objects are strict, as the rollout request's: a misspelt knob is refused, not ignored.
 */

/** The devices of the simulated fleet a fault hits, with the rollout targets' selectors and meaning. */
export const simFaultTargets = rolloutTargets;
export type SimFaultTargets = z.output<typeof simFaultTargets>;

/** What goes wrong. */
export const simFaultEffect = z.discriminatedUnion('kind', [
  /** The devices lose the network: the connection drops and stays down, readings queue on the device. */
  z.strictObject({ kind: z.literal('offline') }),
  /**
   * The link is unreliable: the connection drops (as a lost network drops it, no DISCONNECT) about every
   * `dropEverySeconds` (±50 %), stays down `downSeconds`, and comes back through the fleet's pacer.
   */
  z.strictObject({
    kind: z.literal('flaky-link'),
    dropEverySeconds: z.number().min(1).max(3_600).default(20),
    downSeconds: z.number().min(0).max(600).default(2),
  }),
  /** The modem measures a weak cell (3GPP TS 36.133: RSRP -140..-44 dBm, RSRQ -19.5..-3 dB). */
  z.strictObject({
    kind: z.literal('weak-signal'),
    rsrpDbm: z.number().min(-140).max(-44).default(-125),
    rsrqDb: z.number().min(-19.5).max(-3).default(-18),
  }),
  /** The battery runs down to `toPercent` over `overSeconds`, and stays there. */
  z.strictObject({
    kind: z.literal('drain-battery'),
    toPercent: z.number().min(0).max(100).default(5),
    overSeconds: z.number().int().min(0).max(86_400).default(60),
  }),
  /** The temperature sensor reads `celsius` more than the device's climate. */
  z.strictObject({
    kind: z.literal('overheat'),
    celsius: z.number().min(-100).max(100).default(40),
  }),
  /**
   * Installing firmware `version` (any version when left out) fails on these devices: at the install
   * step (reason `install`), or at the post-reboot health check (the device rolls itself back).
   */
  z.strictObject({
    kind: z.literal('firmware-failure'),
    version: version.optional(),
    failAt: z.enum(['install', 'health-check']).default('install'),
  }),
]);
export type SimFaultEffect = z.output<typeof simFaultEffect>;
export type SimFaultKind = SimFaultEffect['kind'];
export const SIM_FAULT_KINDS = [
  'offline',
  'flaky-link',
  'weak-signal',
  'drain-battery',
  'overheat',
  'firmware-failure',
] as const;

/** `POST /local/faults`. */
export const simFaultRequest = z.strictObject({
  targets: simFaultTargets,
  effect: simFaultEffect,
  /** Cleared by itself after this many seconds; left out, it holds until cleared. */
  durationS: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
});
export type SimFaultRequest = z.output<typeof simFaultRequest>;

/** A fault in force, as `GET /local/faults` lists it. */
export interface SimFaultView {
  readonly faultId: string;
  readonly effect: SimFaultEffect;
  readonly targets: SimFaultTargets;
  /** The simulated devices it hit (at most the first 100 are listed; `deviceCount` is all of them). */
  readonly devices: readonly string[];
  readonly deviceCount: number;
  readonly startedAt: string;
  readonly endsAt?: string;
}

/** `DELETE /local/faults/{faultId}` path parameter. */
export const simFaultId = z.string().regex(/^fault-[0-9a-z-]{1,64}$/, 'must be a fault id (fault-...)');
