import type * as z from 'zod';
import type { radioAccessTechnology } from '../../../lib/protocol/messages.ts';
import { REGISTRATION_STATES, type RegistrationState } from '../../../lib/protocol/modem.ts';
import { type AtField, splitFields } from './at-parser.ts';
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

type Fields = readonly (AtField | undefined)[];

/** An unquoted decimal integer: what <n>, <stat>, <AcT> and the causes are (27.007 §10.1.22). */
function isDecimal(field: AtField | undefined): field is AtField {
  return field !== undefined && !field.quoted && /^\d+$/.test(field.text);
}

/**
 * Which shape a +CEREG line has (3GPP TS 27.007 §10.1.22): the read response
 * `+CEREG: <n>,<stat>[,[<tac>],[<ci>],[<AcT>][,<cause_type>,<reject_cause>[,[<Active-Time>],[<Periodic-TAU>]]]]`
 * or the URC, the same without <n>. One line does not always say: both start with small integers, and
 * some modems send the read shape unsolicited (Altair LTE-M) or <tac> and <ci> unquoted (`0001`).
 * <n> and <stat> are always decimal integers and <tac> is the first string, so, first match wins:
 * 1. one field: a URC (the read response has at least <n>,<stat>);
 * 2. the second field empty, quoted or not decimal (`"2F1A"`, `1F00`): a URC, it is <tac> (the read
 *    response's <stat> is mandatory and an integer);
 * 3. the third field quoted or not decimal: a read response, <tac> one place later;
 * 4. otherwise only unquoted digits are left (`1, 2, 0001, 00000100, 7`), and the field count
 *    decides: the read response has 2, 5, 7 or 9 fields (<n> 0–1, 2, 3, 4–5), the URC one fewer.
 *    A line with another count (a modem that drops trailing empty fields) is taken as a URC.
 */
export function ceregShape(fields: Fields): 'read' | 'urc' {
  if (fields.length <= 1) return 'urc';
  const second = fields[1];
  if (!isDecimal(second)) return 'urc';
  const third = fields[2];
  if (third !== undefined && !isDecimal(third)) return 'read';
  return [2, 5, 7, 9].includes(fields.length) ? 'read' : 'urc';
}

/**
 * True for the read-command form `+CEREG: <n>,<stat>[,...]`, false for the URC `+CEREG: <stat>[,...]`
 * ({@link ceregShape}). This is how a URC arriving during `AT+CEREG?` is told from the answer.
 */
export function isCeregReadResponse(line: string): boolean {
  const fields = line.startsWith('+CEREG:') ? splitFields(line) : undefined;
  return fields !== undefined && ceregShape(fields) === 'read';
}

function intField(fields: Fields, index: number): number | undefined {
  const field = fields[index];
  return isDecimal(field) ? Number(field.text) : undefined;
}

/** <tac> is a 2-byte, <ci> a 4-byte hexadecimal string, whether quoted or not (27.007 §10.1.22). */
const TAC = /^[0-9A-Fa-f]{1,4}$/;
const CELL_ID = /^[0-9A-Fa-f]{1,8}$/;

function hexField(fields: Fields, index: number, pattern: RegExp): string | undefined {
  const text = fields[index]?.text;
  return text !== undefined && pattern.test(text) ? text.toUpperCase() : undefined;
}

function timerField(fields: Fields, index: number, decode: (bits: string) => number | null) {
  const bits = fields[index]?.text;
  if (bits === undefined) return undefined;
  try {
    return decode(bits);
  } catch {
    return undefined;
  }
}

/**
 * Parses a +CEREG line, URC or read response alike (the shape is told by {@link ceregShape}), or
 * returns undefined when the line is not one. Fields after <stat>: <tac>, <ci>, <AcT>, <cause_type>,
 * <reject_cause>, <Active-Time>, <Periodic-TAU>.
 */
export function parseCereg(line: string): Registration | undefined {
  if (!line.startsWith('+CEREG:')) return undefined;
  const all = splitFields(line);
  if (!all) return undefined;
  const fields = ceregShape(all) === 'read' ? all.slice(1) : all;
  const stat = intField(fields, 0);
  if (stat === undefined || stat > 255) return undefined;
  const act = intField(fields, 3);
  const registration: Registration = {
    stat,
    state: registrationStateOf(stat),
    tac: hexField(fields, 1, TAC),
    cellId: hexField(fields, 2, CELL_ID),
    act,
    rat: act === undefined ? undefined : ratOf(act),
    causeType: intField(fields, 4),
    rejectCause: intField(fields, 5),
    activeTimeSeconds: timerField(fields, 6, decodeGprsTimer2),
    periodicTauSeconds: timerField(fields, 7, decodeGprsTimer3),
  };
  return Object.fromEntries(Object.entries(registration).filter(([, v]) => v !== undefined)) as Registration;
}
