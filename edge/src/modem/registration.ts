import type { z } from 'zod';
import type { radioAccessTechnology } from '../../../lib/protocol/messages.ts';
import { REGISTRATION_STATES, type RegistrationState } from '../../../lib/protocol/modem.ts';
import { type AtValue, intAt, parseParameters, stringAt } from './at-parser.ts';
import { decodeGprsTimer2, decodeGprsTimer3 } from './psm.ts';

/** The fleet's names for radio access technologies (`LTE-M`, `NB-IoT`, ...). */
export type RadioAccessTechnology = z.output<typeof radioAccessTechnology>;

/** What one +CEREG line says (3GPP TS 27.007 §10.1.22). */
export interface Registration {
  readonly stat: number;
  readonly state: RegistrationState;
  /** Tracking area code, hex. */
  readonly tac?: string;
  /** E-UTRAN cell id, hex. */
  readonly cellId?: string;
  /** <AcT> as sent (7 = E-UTRAN, 9 = E-UTRAN NB-S1). */
  readonly act?: number;
  readonly rat?: RadioAccessTechnology;
  readonly causeType?: number;
  readonly rejectCause?: number;
  /** T3324 the network granted (<n>=4), seconds; null when the network deactivated it. */
  readonly activeTimeSeconds?: number | null;
  /** T3412 extended the network granted (<n>=4), seconds; null when deactivated. */
  readonly periodicTauSeconds?: number | null;
}

/** +CEREG <stat> → words (0–10; unknown values are `unknown`). */
export function registrationStateOf(stat: number): RegistrationState {
  return REGISTRATION_STATES[stat] ?? 'unknown';
}

/**
 * Whether the modem can carry data in this state: registered home or roaming, and the two "CSFB not
 * preferred" registrations (EPS-registered, voice preferences aside).
 */
export function isRegistered(state: RegistrationState): boolean {
  return (
    state === 'registered-home' ||
    state === 'registered-roaming' ||
    state === 'csfb-not-preferred-home' ||
    state === 'csfb-not-preferred-roaming'
  );
}

/**
 * <AcT> (27.007 §7.3) → the fleet's radio names. E-UTRAN (7) is reported as LTE-M: this driver is for
 * LTE-M / NB-IoT modules, which report Cat-M1 as plain E-UTRAN; NB-S1 (9) is NB-IoT.
 */
export function ratOf(act: number): RadioAccessTechnology | undefined {
  if (act === 7) return 'LTE-M';
  if (act === 9) return 'NB-IoT';
  if (act === 10 || act === 13) return 'LTE';
  if (act === 0 || act === 1 || act === 3 || act === 8) return 'GSM';
  if (act >= 2 && act <= 6) return 'UMTS';
  return undefined;
}

/**
 * True for the read-command form `+CEREG: <n>,<stat>[,...]`, false for the URC `+CEREG: <stat>[,...]`.
 * In the read form the second field is a bare integer (<stat>); in the URC it is absent or the quoted
 * <tac>. This is how a URC arriving during `AT+CEREG?` is told from the answer.
 */
export function isCeregReadResponse(line: string): boolean {
  const values = parseParameters(line);
  return values !== undefined && typeof values[0] === 'number' && typeof values[1] === 'number';
}

function hexAt(values: readonly AtValue[], index: number): string | undefined {
  const value = stringAt(values, index);
  return value !== undefined && /^[0-9A-Fa-f]{1,8}$/.test(value) ? value.toUpperCase() : undefined;
}

function timerAt(values: readonly AtValue[], index: number, decode: (bits: string) => number | null) {
  const bits = stringAt(values, index);
  if (bits === undefined) return undefined;
  try {
    return decode(bits);
  } catch {
    return undefined;
  }
}

/**
 * Parses a +CEREG URC or read response (`form`), or returns undefined when the line is not one.
 * Fields after <stat>: <tac>, <ci>, <AcT>, <cause_type>, <reject_cause>, <Active-Time>, <Periodic-TAU>.
 */
export function parseCereg(line: string, form: 'urc' | 'read'): Registration | undefined {
  if (!line.startsWith('+CEREG:')) return undefined;
  const all = parseParameters(line);
  if (!all) return undefined;
  const values = form === 'read' ? all.slice(1) : all;
  const stat = intAt(values, 0);
  if (stat === undefined || stat < 0 || stat > 255) return undefined;
  const act = intAt(values, 3);
  const registration: Registration = {
    stat,
    state: registrationStateOf(stat),
    tac: hexAt(values, 1),
    cellId: hexAt(values, 2),
    act,
    rat: act === undefined ? undefined : ratOf(act),
    causeType: intAt(values, 4),
    rejectCause: intAt(values, 5),
    activeTimeSeconds: timerAt(values, 6, decodeGprsTimer2),
    periodicTauSeconds: timerAt(values, 7, decodeGprsTimer3),
  };
  return Object.fromEntries(Object.entries(registration).filter(([, v]) => v !== undefined)) as Registration;
}
