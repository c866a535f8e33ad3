/**
 * RSRP (dBm) at or above which a device shows 1, 2, 3, 4 and 5 bars on an LTE carrier.
 *
 * Bars 1-4 are Android's defaults for LTE (AOSP `CarrierConfigManager`,
 * `KEY_LTE_RSRP_THRESHOLDS_INT_ARRAY` = {-128, -118, -108, -98}); the fifth bar continues their 10 dB
 * spacing at -88 dBm. They agree with the usual field bands: better than about -80 dBm excellent,
 * -90 to -100 dBm fair, and about -120 dBm the edge of LTE coverage.
 */
export const LTE_BAR_THRESHOLDS_DBM = [-128, -118, -108, -98, -88] as const;

/**
 * How much lower the 1-bar floor sits for the cellular IoT radios, dB. With coverage enhancement
 * (repetitions), LTE-M reaches about 15 dB and NB-IoT about 20 dB more coupling loss than LTE (maximum
 * coupling loss targets of 155.7 dB and 164 dB; 3GPP TR 36.888 and TR 45.820), so a reading LTE would
 * show as no service still carries traffic — slowly, and at a battery cost, hence only one bar.
 */
export const COVERAGE_ENHANCEMENT_DB: Readonly<Record<string, number>> = { 'LTE-M': 15, 'NB-IoT': 20 };

/**
 * Signal bars, 0-5, from RSRP and the radio access technology (`+CEREG` AcT, as the status reports it).
 *
 * @param rat `LTE-M` and `NB-IoT` extend the 1-bar band downwards; anything else uses LTE's bands
 */
export function signalBars(rsrp: number, rat?: string): number {
  const extension = rat === undefined ? 0 : (COVERAGE_ENHANCEMENT_DB[rat] ?? 0);
  let bars = 0;
  for (const threshold of LTE_BAR_THRESHOLDS_DBM) if (rsrp >= threshold) bars++;
  if (bars === 0 && rsrp >= LTE_BAR_THRESHOLDS_DBM[0] - extension) return 1;
  return bars;
}
