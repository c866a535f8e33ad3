import type { GrantedPsm } from '../../../lib/protocol/messages.ts';

/**
 * PSM-aware delivery: whether a command can go to a device now, and if not, when the device is expected
 * back (issue 11; what neither AWS IoT Commands nor Azure IoT Hub's direct methods do).
 *
 * A device in Power Saving Mode (3GPP TS 23.682 §4.5.4) stays reachable for the active time T3324 after
 * each contact, then sleeps until its periodic tracking area update, T3412 extended, when it reaches the
 * network again (TS 24.008 §10.5.7.3, §10.5.7.4a; the device reports both as the network granted them).
 * A request published while it sleeps would be lost (or sit in a broker session the device may not
 * resume): the platform holds it instead and sends it when the device next shows up (a status or
 * telemetry). A bare connection is not taken as a sign of life: a device on a clean session subscribes
 * after CONNACK, so a request sent on the connect event races its subscription and may be lost.
 */

/** What delivery needs to know of a device: its registry record, as far as it goes. */
export interface DeviceContact {
  /** Broker time of the last message from the device; absent if never heard from. */
  readonly lastSeen?: number;
  /** False once the sweeper found it silent past its heartbeat. */
  readonly online?: boolean;
  readonly psm?: GrantedPsm;
}

/** Send now, or hold (with when the device is expected, when that can be told). */
export type DeliveryDecision =
  | { readonly send: true; readonly why: string }
  | { readonly send: false; readonly why: string; readonly expectedDeliveryAt?: number };

/** The PSM timers in ms, when the device sleeps and both are known. */
function sleepCycle(psm: GrantedPsm | undefined): { awakeMs: number; periodMs: number } | undefined {
  if (psm?.enabled !== true || psm.activeTimeSeconds === undefined) return undefined;
  if (psm.periodicTauSeconds === undefined || psm.periodicTauSeconds <= 0) return undefined;
  return { awakeMs: psm.activeTimeSeconds * 1000, periodMs: psm.periodicTauSeconds * 1000 };
}

/**
 * The first periodic update after `now`: the device reports at `lastSeen + k × T3412` (k ≥ 1). Its clock
 * restarts on each contact, so the estimate is as good as the last contact is recent.
 */
export function nextPeriodicContact(lastSeen: number, periodMs: number, now: number): number {
  const periods = Math.max(1, Math.ceil((now - lastSeen) / periodMs));
  return lastSeen + periods * periodMs;
}

/**
 * Decides whether to send a command to `device` now.
 *
 * Rules, in order:
 * 1. never heard from → hold: nothing says when it comes;
 * 2. PSM granted: within T3324 of the last contact → send (it listens); past it → hold until the next
 *    periodic update, `lastSeen + k × T3412`;
 * 3. marked offline by the sweeper → hold, no estimate;
 * 4. otherwise (no PSM, online) → send.
 */
export function decideDelivery(device: DeviceContact, now: number): DeliveryDecision {
  const { lastSeen } = device;
  if (lastSeen === undefined) return { send: false, why: 'never heard from: held until it first shows up' };
  const cycle = sleepCycle(device.psm);
  if (cycle !== undefined) {
    if (now - lastSeen <= cycle.awakeMs)
      return { send: true, why: 'within its PSM active time (T3324) after its last contact' };
    return {
      send: false,
      why: 'asleep in PSM: held until its next contact (T3412 after the last one)',
      expectedDeliveryAt: nextPeriodicContact(lastSeen, cycle.periodMs, now),
    };
  }
  if (device.online === false)
    return { send: false, why: 'offline (silent past its heartbeat): held until it shows up' };
  return { send: true, why: 'online and not in PSM' };
}
