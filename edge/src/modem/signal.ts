import { intAt, parseParameters } from './at-parser.ts';

/**
 * Signal quality from `+CSQ` (3GPP TS 27.007 §8.5) and `+CESQ` (§8.69), converted to dBm / dB.
 *
 * 27.007 reports each measurement as an index into 1 dB (RSRP) or 0.5 dB (RSRQ) ranges, the lowest
 * and highest open-ended ("< -140 dBm", ">= -44 dBm"). The value given here is the lower edge of the
 * index's range, and one step below the lowest edge for index 0: RSRP index 0 (< -140) → -141 dBm,
 * 1 (-140 ≤ rsrp < -139) → -140, 97 (≥ -44) → -44. A "not known or not detectable" index (99 / 255)
 * is `undefined`, never a number.
 */

/** RSSI in dBm from +CSQ <rssi>: 0 → -113 (or less), 1 → -111, 2–30 → -109 … -53, 31 → -51 (or more). */
export function rssiToDbm(rssi: number): number | undefined {
  if (!Number.isInteger(rssi) || rssi < 0 || rssi > 31) return undefined;
  return -113 + 2 * rssi;
}

/** RSRP in dBm from +CESQ <rsrp> 0–97 (lower edge; 0 → -141 meaning below -140). */
export function rsrpToDbm(rsrp: number): number | undefined {
  if (!Number.isInteger(rsrp) || rsrp < 0 || rsrp > 97) return undefined;
  return rsrp - 141;
}

/** RSRQ in dB from +CESQ <rsrq> 0–34 (lower edge, 0.5 dB steps; 0 → -20 meaning below -19.5). */
export function rsrqToDb(rsrq: number): number | undefined {
  if (!Number.isInteger(rsrq) || rsrq < 0 || rsrq > 34) return undefined;
  return rsrq / 2 - 20;
}

/** +CESQ <rsrp> index for an RSRP in dBm (the index whose range holds it, clamped to 0–97). */
export function dbmToRsrpIndex(dbm: number): number {
  return Math.min(97, Math.max(0, Math.floor(dbm) + 141));
}

/** +CESQ <rsrq> index for an RSRQ in dB (clamped to 0–34). */
export function dbToRsrqIndex(db: number): number {
  return Math.min(34, Math.max(0, Math.floor(db * 2) + 40));
}

/** +CSQ <rssi> index for an RSSI in dBm (clamped to 0–31). */
export function dbmToRssiIndex(dbm: number): number {
  return Math.min(31, Math.max(0, Math.floor((dbm + 113) / 2)));
}

/**
 * Bars 0–5 from RSRP. LTE-M and NB-IoT keep a link far below what a phone shows as one bar (coverage
 * enhancement reaches about -130 dBm), so the scale is shifted down from the usual phone scale:
 *
 * | RSRP (dBm)  | bars |
 * |-------------|------|
 * | ≥ -85       | 5    |
 * | -95 … -86   | 4    |
 * | -105 … -96  | 3    |
 * | -115 … -106 | 2    |
 * | -125 … -116 | 1    |
 * | < -125, unknown | 0 |
 */
export function barsFromRsrp(dbm: number | undefined): number {
  if (dbm === undefined) return 0;
  const thresholds = [-85, -95, -105, -115, -125];
  const index = thresholds.findIndex((t) => dbm >= t);
  return index < 0 ? 0 : 5 - index;
}

/**
 * Bars 0–5 from RSSI, used only when RSRP is unknown (a modem without +CESQ):
 * ≥ -73 → 5, ≥ -83 → 4, ≥ -93 → 3, ≥ -103 → 2, ≥ -109 → 1, otherwise (or unknown) 0.
 */
export function barsFromRssi(dbm: number | undefined): number {
  if (dbm === undefined) return 0;
  const thresholds = [-73, -83, -93, -103, -109];
  const index = thresholds.findIndex((t) => dbm >= t);
  return index < 0 ? 0 : 5 - index;
}

/** What `+CSQ: <rssi>,<ber>` says. */
export interface CsqReading {
  readonly rssiDbm?: number;
  /** <ber> 0–7 (RXQUAL, 3GPP TS 45.008 §8.2.4); undefined when 99. */
  readonly ber?: number;
}

/** Parses a `+CSQ` line; undefined when it is not one or its values are out of range. */
export function parseCsq(line: string): CsqReading | undefined {
  if (!line.startsWith('+CSQ:')) return undefined;
  const values = parseParameters(line);
  const rssi = values ? intAt(values, 0) : undefined;
  const ber = values ? intAt(values, 1) : undefined;
  if (rssi === undefined || ber === undefined) return undefined;
  if (!(rssi === 99 || (rssi >= 0 && rssi <= 31)) || !(ber === 99 || (ber >= 0 && ber <= 7)))
    return undefined;
  return {
    ...(rssi === 99 ? {} : { rssiDbm: rssiToDbm(rssi) }),
    ...(ber === 99 ? {} : { ber }),
  };
}

/** What `+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>` says about E-UTRAN (the GERAN/UTRAN fields are 99/255 on LTE-M / NB-IoT). */
export interface CesqReading {
  readonly rsrpDbm?: number;
  readonly rsrqDb?: number;
}

/** Parses a `+CESQ` line; undefined when it is not one or a value is out of range. */
export function parseCesq(line: string): CesqReading | undefined {
  if (!line.startsWith('+CESQ:')) return undefined;
  const values = parseParameters(line);
  if (values?.length !== 6) return undefined;
  const rsrq = intAt(values, 4);
  const rsrp = intAt(values, 5);
  if (rsrq === undefined || rsrp === undefined) return undefined;
  if (!(rsrq === 255 || (rsrq >= 0 && rsrq <= 34)) || !(rsrp === 255 || (rsrp >= 0 && rsrp <= 97)))
    return undefined;
  return {
    ...(rsrp === 255 ? {} : { rsrpDbm: rsrpToDbm(rsrp) }),
    ...(rsrq === 255 ? {} : { rsrqDb: rsrqToDb(rsrq) }),
  };
}
