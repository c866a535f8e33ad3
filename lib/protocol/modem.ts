import * as z from 'zod';
import { epochMillis, radioAccessTechnology } from './messages.ts';

/**
 * The cellular modem's state as the edge reports it (shadow `reported.modem`, fleet view) and the
 * power-saving settings the cloud may ask for (shadow `desired.modem`).
 *
 * Registration states are 3GPP TS 27.007 §10.1.22 (+CEREG <stat>) in words; signal values are in
 * dBm / dB as converted from +CESQ / +CSQ (see `edge/src/modem/signal.ts`).
 */

/** What the driver is doing: its lifecycle, not the network's view. */
export const MODEM_STATES = ['off', 'starting', 'searching', 'registered', 'recovering', 'failed'] as const;
export type ModemState = (typeof MODEM_STATES)[number];

/** +CEREG <stat> 0–10, in order (27.007 §10.1.22; 6, 7, 9 and 10 are "not applicable" to EPS but defined). */
export const REGISTRATION_STATES = [
  'not-registered',
  'registered-home',
  'searching',
  'denied',
  'unknown',
  'registered-roaming',
  'sms-only-home',
  'sms-only-roaming',
  'emergency-only',
  'csfb-not-preferred-home',
  'csfb-not-preferred-roaming',
] as const;
export type RegistrationState = (typeof REGISTRATION_STATES)[number];

/** What the driver does to get back on the network: re-register first, then reset the modem. */
export const RECOVERY_ACTIONS = ['re-register', 'reset'] as const;
export type RecoveryAction = (typeof RECOVERY_ACTIONS)[number];

const seconds = z.number().int().min(0, 'must be >= 0 seconds');

/** PSM timers, in seconds (T3412 extended = periodic TAU, T3324 = active time; 3GPP TS 24.008 §10.5.7.3/4a). */
export const psmTimers = z.object({
  periodicTauSeconds: seconds.optional(),
  activeTimeSeconds: seconds.optional(),
});

export const modemStatus = z.object({
  state: z.enum(MODEM_STATES),
  registration: z.enum(REGISTRATION_STATES),
  rat: radioAccessTechnology.optional(),
  /** Operator name from +COPS? (alphanumeric long form), when registered. */
  operator: z.string().max(64).optional(),
  /** Tracking area code, 4 hex digits as +CEREG reports it. */
  tac: z
    .string()
    .regex(/^[0-9A-F]{4}$/, 'must be 4 upper-case hex digits')
    .optional(),
  /** E-UTRAN cell id (28 bits), hex as +CEREG reports it. */
  cellId: z
    .string()
    .regex(/^[0-9A-F]{1,8}$/, 'must be 1-8 upper-case hex digits')
    .optional(),
  /** RSRP in dBm (lower edge of the +CESQ range). */
  rsrp: z.number().min(-156).max(-31).optional(),
  /** RSRQ in dB (lower edge of the +CESQ range). */
  rsrq: z.number().min(-34).max(2.5).optional(),
  /** RSSI in dBm from +CSQ. */
  rssi: z.number().min(-113).max(-51).optional(),
  /** SINR in dB: 27.007 has no command for it; present only where a vendor command reports it. */
  sinr: z.number().min(-23).max(40).optional(),
  /** Signal bars 0–5 (mapping in `edge/src/modem/signal.ts`). */
  bars: z.number().int().min(0).max(5),
  psm: z
    .object({
      enabled: z.boolean(),
      /** What the device asked for with +CPSMS. */
      requested: psmTimers.optional(),
      /** What the network granted (+CEREG with <n>=4). */
      assigned: psmTimers.optional(),
    })
    .optional(),
  edrx: z
    .object({
      enabled: z.boolean(),
      requestedCycleSeconds: z.number().positive().optional(),
      networkCycleSeconds: z.number().positive().optional(),
      pagingWindowSeconds: z.number().positive().optional(),
    })
    .optional(),
  recovery: z
    .object({
      /** Recovery attempts since the modem was last registered (0 when healthy). */
      attempt: z.number().int().min(0),
      action: z.enum(RECOVERY_ACTIONS).optional(),
      nextAttemptAt: epochMillis.optional(),
    })
    .optional(),
  lastError: z.object({ name: z.string(), message: z.string(), at: epochMillis }).optional(),
  /** Bad input seen on the serial line since start: dropped, counted, never fatal. */
  counters: z
    .object({
      garbage: z.number().int().min(0),
      stray: z.number().int().min(0),
      timeouts: z.number().int().min(0),
      recoveries: z.number().int().min(0),
    })
    .optional(),
  updatedAt: epochMillis,
});
export type ModemStatus = z.output<typeof modemStatus>;

/**
 * Power-saving settings the cloud asks for (shadow desired state). Durations are what the operator
 * wants; the device rounds them up to the next value the 24.008 timer encodings can carry and
 * reports what it requested and what the network granted.
 */
export const modemPowerSettings = z.object({
  psm: z
    .object({
      enabled: z.boolean(),
      /** Wanted T3412 extended: at most 320 h × 31. */
      periodicTauSeconds: seconds.max(35_712_000, 'must be <= 35712000 s (9920 h)').optional(),
      /** Wanted T3324: at most 6 min × 31. */
      activeTimeSeconds: seconds.max(11_160, 'must be <= 11160 s (186 min)').optional(),
    })
    .optional(),
  edrx: z
    .object({
      enabled: z.boolean(),
      /** Wanted eDRX cycle; rounded up to the next cycle defined for the access technology. */
      cycleSeconds: z.number().positive().max(10_485.76, 'must be <= 10485.76 s').optional(),
    })
    .optional(),
});
export type ModemPowerSettings = z.output<typeof modemPowerSettings>;
