import { intAt, parseParameters, stringAt } from './at-parser.ts';
import { TimerEncodingError } from './errors.ts';

/**
 * PSM timers as `AT+CPSMS` carries them (3GPP TS 27.007 §7.38): one octet of a 3GPP TS 24.008 timer
 * information element, written as 8 bits (`"00100100"`). Bits 8–6 are the unit, bits 5–1 the value
 * 0–31; the unit `111` deactivates the timer.
 *
 * - T3412 extended (periodic TAU) uses GPRS Timer 3, 24.008 §10.5.7.4a.
 * - T3324 (active time) uses GPRS Timer 2, 24.008 §10.5.7.4 (octet 3 coded as GPRS Timer, §10.5.7.3).
 */

interface TimerUnit {
  readonly bits: number;
  readonly seconds: number;
}

/** GPRS Timer 3 units (24.008 Table 10.5.163a), finest first. */
const TIMER3_UNITS: readonly TimerUnit[] = [
  { bits: 0b011, seconds: 2 },
  { bits: 0b100, seconds: 30 },
  { bits: 0b101, seconds: 60 },
  { bits: 0b000, seconds: 600 },
  { bits: 0b001, seconds: 3_600 },
  { bits: 0b010, seconds: 36_000 },
  { bits: 0b110, seconds: 1_152_000 },
];

/** GPRS Timer 2 units (24.008 Table 10.5.163), finest first. */
const TIMER2_UNITS: readonly TimerUnit[] = [
  { bits: 0b000, seconds: 2 },
  { bits: 0b001, seconds: 60 },
  { bits: 0b010, seconds: 360 },
];

const DEACTIVATED = 0b111;
const MAX_VALUE = 31;

/** An encoded timer and the duration it stands for (the request rounded up). */
export interface EncodedTimer {
  readonly bits: string;
  /** Seconds the bits stand for; null when the timer is deactivated. */
  readonly seconds: number | null;
}

function encode(units: readonly TimerUnit[], seconds: number | null, name: string): EncodedTimer {
  if (seconds === null) return { bits: (DEACTIVATED << 5).toString(2).padStart(8, '0'), seconds: null };
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new TimerEncodingError(`${name}: ${seconds} s is not a duration`);
  // The smallest representable value >= the request; on a tie (60 s = 30 × 2 s = 2 × 30 s = 1 min)
  // the finest unit, which is the first to reach it.
  let best: { unit: TimerUnit; value: number } | undefined;
  for (const unit of units) {
    const value = Math.ceil(seconds / unit.seconds);
    if (value > MAX_VALUE) continue;
    if (!best || value * unit.seconds < best.value * best.unit.seconds) best = { unit, value };
  }
  if (!best) {
    const max = Math.max(...units.map((u) => u.seconds)) * MAX_VALUE;
    throw new TimerEncodingError(`${name}: ${seconds} s is more than the encoding carries (${max} s)`);
  }
  const octet = (best.unit.bits << 5) | best.value;
  return { bits: octet.toString(2).padStart(8, '0'), seconds: best.value * best.unit.seconds };
}

function decode(bits: string, unitOf: (unitBits: number) => number | undefined, name: string): number | null {
  if (!/^[01]{8}$/.test(bits)) throw new TimerEncodingError(`${name}: '${bits}' is not an 8-bit string`);
  const octet = Number.parseInt(bits, 2);
  const unitBits = octet >> 5;
  if (unitBits === DEACTIVATED) return null;
  const unit = unitOf(unitBits);
  if (unit === undefined)
    throw new TimerEncodingError(`${name}: unit ${unitBits.toString(2)} is not defined`);
  return (octet & 0b11111) * unit;
}

/** T3412 extended (periodic TAU) → GPRS Timer 3 bits, rounded up; `null` → deactivated. */
export function encodeGprsTimer3(seconds: number | null): EncodedTimer {
  return encode(TIMER3_UNITS, seconds, 'T3412 extended');
}

/** GPRS Timer 3 bits → seconds, or null when deactivated. */
export function decodeGprsTimer3(bits: string): number | null {
  return decode(bits, (u) => TIMER3_UNITS.find((unit) => unit.bits === u)?.seconds, 'GPRS Timer 3');
}

/** T3324 (active time) → GPRS Timer 2 bits, rounded up; `null` → deactivated. */
export function encodeGprsTimer2(seconds: number | null): EncodedTimer {
  return encode(TIMER2_UNITS, seconds, 'T3324');
}

/**
 * GPRS Timer 2 bits → seconds, or null when deactivated. Units 011–110 are undefined; 24.008 has
 * them read as minutes, and so does this.
 */
export function decodeGprsTimer2(bits: string): number | null {
  return decode(bits, (u) => TIMER2_UNITS.find((unit) => unit.bits === u)?.seconds ?? 60, 'GPRS Timer 2');
}

/** PSM as asked for with `AT+CPSMS`, in seconds. */
export interface PsmRequest {
  readonly enabled: boolean;
  readonly periodicTauSeconds?: number;
  readonly activeTimeSeconds?: number;
}

/** PSM as the modem holds it (`AT+CPSMS?`), or as requested after rounding. */
export interface PsmSettings {
  readonly enabled: boolean;
  readonly periodicTauSeconds?: number | null;
  readonly activeTimeSeconds?: number | null;
}

/**
 * The `AT+CPSMS` command for `request` and the settings it actually asks for (timers rounded up to
 * their encodings). RAU and GPRS READY timers (GERAN/UTRAN) are left empty.
 */
export function formatCpsms(request: PsmRequest): {
  readonly command: string;
  readonly requested: PsmSettings;
} {
  if (!request.enabled) return { command: 'AT+CPSMS=0', requested: { enabled: false } };
  const tau =
    request.periodicTauSeconds === undefined ? undefined : encodeGprsTimer3(request.periodicTauSeconds);
  const active =
    request.activeTimeSeconds === undefined ? undefined : encodeGprsTimer2(request.activeTimeSeconds);
  const fields = ['1', '', '', tau ? `"${tau.bits}"` : '', active ? `"${active.bits}"` : ''];
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return {
    command: `AT+CPSMS=${fields.join(',')}`,
    requested: {
      enabled: true,
      ...(tau ? { periodicTauSeconds: tau.seconds } : {}),
      ...(active ? { activeTimeSeconds: active.seconds } : {}),
    },
  };
}

/** Parses `+CPSMS: <mode>,[<RAU>],[<READY>],[<TAU>],[<Active-Time>]`; undefined when it is not one. */
export function parseCpsms(line: string): PsmSettings | undefined {
  if (!line.startsWith('+CPSMS:')) return undefined;
  const values = parseParameters(line);
  const mode = values ? intAt(values, 0) : undefined;
  if (!values || (mode !== 0 && mode !== 1)) return undefined;
  const tau = stringAt(values, 3);
  const active = stringAt(values, 4);
  try {
    return {
      enabled: mode === 1,
      ...(tau ? { periodicTauSeconds: decodeGprsTimer3(tau) } : {}),
      ...(active ? { activeTimeSeconds: decodeGprsTimer2(active) } : {}),
    };
  } catch {
    return undefined;
  }
}
