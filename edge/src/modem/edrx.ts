import { intAt, parseParameters, stringAt } from './at-parser.ts';
import { TimerEncodingError } from './errors.ts';

/**
 * eDRX as `AT+CEDRXS` / `+CEDRXP` carry it (3GPP TS 27.007 §7.40, §7.41): a 4-bit eDRX value and a
 * 4-bit paging time window, both coded as in the Extended DRX parameters IE (3GPP TS 24.008
 * §10.5.5.32), whose meaning depends on the access technology.
 */

/** <AcT-type> of +CEDRXS: 4 = E-UTRAN WB-S1 mode (LTE-M), 5 = E-UTRAN NB-S1 mode (NB-IoT). */
export type EdrxActType = 4 | 5;

/** WB-S1 eDRX cycles in seconds, indexed by the 4-bit value (24.008 Table 10.5.5.32). */
const WB_S1_CYCLES = [
  5.12, 10.24, 20.48, 40.96, 61.44, 81.92, 102.4, 122.88, 143.36, 163.84, 327.68, 655.36, 1310.72, 2621.44,
  5242.88, 10485.76,
] as const;

/** NB-S1 defines only these values; every other one is read as 0010 (20.48 s). */
const NB_S1_VALUES: readonly number[] = [
  0b0010, 0b0011, 0b0101, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101, 0b1110, 0b1111,
];

function cycleOf(value: number, act: EdrxActType): number {
  const effective = act === 5 && !NB_S1_VALUES.includes(value) ? 0b0010 : value;
  return WB_S1_CYCLES[effective] ?? WB_S1_CYCLES[2];
}

function bits4(value: number): string {
  return value.toString(2).padStart(4, '0');
}

/** The eDRX cycles the access technology can use, in seconds, shortest first. */
export function edrxCycles(act: EdrxActType): readonly number[] {
  return act === 4 ? WB_S1_CYCLES : NB_S1_VALUES.map((v) => cycleOf(v, 5));
}

/** The shortest cycle of `act` that is at least `seconds`, as its 4-bit value and duration. */
export function encodeEdrxCycle(
  seconds: number,
  act: EdrxActType,
): { readonly bits: string; readonly seconds: number } {
  const values = act === 4 ? WB_S1_CYCLES.map((_, i) => i) : NB_S1_VALUES;
  for (const value of values) {
    const cycle = cycleOf(value, act);
    if (cycle >= seconds - 1e-9) return { bits: bits4(value), seconds: cycle };
  }
  throw new TimerEncodingError(`eDRX: ${seconds} s is longer than the longest cycle (10485.76 s)`);
}

/** A 4-bit eDRX value → its cycle in seconds for `act`. */
export function decodeEdrxCycle(bits: string, act: EdrxActType): number {
  if (!/^[01]{4}$/.test(bits)) throw new TimerEncodingError(`eDRX: '${bits}' is not a 4-bit string`);
  return cycleOf(Number.parseInt(bits, 2), act);
}

/** A 4-bit paging time window → seconds: 1.28 s steps in WB-S1 mode, 2.56 s steps in NB-S1 mode. */
export function decodePagingTimeWindow(bits: string, act: EdrxActType): number {
  if (!/^[01]{4}$/.test(bits)) throw new TimerEncodingError(`PTW: '${bits}' is not a 4-bit string`);
  const step = act === 4 ? 1.28 : 2.56;
  return Math.round((Number.parseInt(bits, 2) + 1) * step * 100) / 100;
}

/** eDRX as requested with `AT+CEDRXS`. */
export interface EdrxRequest {
  readonly enabled: boolean;
  readonly act: EdrxActType;
  readonly cycleSeconds?: number;
}

/**
 * The `AT+CEDRXS` command for `request` (mode 2: enable and report `+CEDRXP`) and the cycle it asks
 * for (rounded up to one the access technology defines).
 */
export function formatCedrxs(request: EdrxRequest): {
  readonly command: string;
  readonly cycleSeconds?: number;
} {
  if (!request.enabled) return { command: `AT+CEDRXS=0,${request.act}` };
  if (request.cycleSeconds === undefined) return { command: `AT+CEDRXS=2,${request.act}` };
  const cycle = encodeEdrxCycle(request.cycleSeconds, request.act);
  return { command: `AT+CEDRXS=2,${request.act},"${cycle.bits}"`, cycleSeconds: cycle.seconds };
}

/** What a `+CEDRXP` URC says. `act` 0 means the cell does not use eDRX. */
export interface EdrxReport {
  readonly act: number;
  readonly requestedCycleSeconds?: number;
  readonly networkCycleSeconds?: number;
  readonly pagingWindowSeconds?: number;
}

/** Parses `+CEDRXP: <AcT-type>[,<Requested>[,<NW-provided>[,<PTW>]]]`; undefined when it is not one. */
export function parseCedrxp(line: string): EdrxReport | undefined {
  if (!line.startsWith('+CEDRXP:')) return undefined;
  const values = parseParameters(line);
  const act = values ? intAt(values, 0) : undefined;
  if (!values || act === undefined) return undefined;
  if (act !== 4 && act !== 5) return { act };
  const requested = stringAt(values, 1);
  const network = stringAt(values, 2);
  const ptw = stringAt(values, 3);
  try {
    return {
      act,
      ...(requested ? { requestedCycleSeconds: decodeEdrxCycle(requested, act) } : {}),
      ...(network ? { networkCycleSeconds: decodeEdrxCycle(network, act) } : {}),
      ...(ptw ? { pagingWindowSeconds: decodePagingTimeWindow(ptw, act) } : {}),
    };
  } catch {
    return undefined;
  }
}
