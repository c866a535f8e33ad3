import type { AtChannel } from './at-channel.ts';
import { SimError } from './errors.ts';
import { quoteAtString, syncModem, unlockSim } from './modem-commands.ts';
import type { ModemDriverOptions } from './modem-options.ts';

/*
 * The fixed part of bringing a modem up (the settings sent before network selection), what its boot
 * banner looks like, and which bring-up failures no reset can fix.
 */

/** Runs one I/O step through the driver's accounting (consecutive timeouts start recovery). */
export type ModemStep = <T>(run: () => Promise<T>) => Promise<T>;

/** Unsolicited lines modems print when they have (re)booted. */
const BOOT_BANNERS = ['RDY', 'APP RDY', '^SYSSTART', '+CFUN: 1'];

/** Whether `line` is a boot banner: the modem has just (re)started and lost its settings. */
export function isBootBanner(line: string): boolean {
  return BOOT_BANNERS.includes(line);
}

/** SIM states no reset fixes: bring-up stops and the driver reports `failed`. */
export function isFatal(error: unknown): boolean {
  return (
    error instanceof SimError &&
    (error.state === 'not-inserted' || error.state === 'pin-required' || error.state === 'puk-required')
  );
}

/**
 * Sends, each as one `step`, what a modem needs before network selection (27.007): sync, echo off
 * (V.250 `E0`), verbose `+CME ERROR` (§9.1), the SIM PIN if asked (§8.3), `+CEREG` URCs (§10.1.22)
 * and the PDP context (§10.1.1).
 */
export async function prepareModem(
  channel: AtChannel,
  step: ModemStep,
  options: Pick<ModemDriverOptions, 'apn' | 'pin' | 'cid' | 'pdpType'>,
  timeoutMs: number,
): Promise<void> {
  const { cid = 1, pdpType = 'IP' } = options;
  await step(() => syncModem(channel, 5, timeoutMs));
  await step(() => channel.send('ATE0'));
  await step(() => channel.send('AT+CMEE=2'));
  await step(() => unlockSim(channel, options.pin, timeoutMs));
  // <n>=4 adds the PSM timers the network granted; modems without it get <n>=2 (tac, ci, AcT).
  await step(() => channel.send('AT+CEREG=4')).catch(() => step(() => channel.send('AT+CEREG=2')));
  await step(() =>
    channel.send(
      `AT+CGDCONT=${cid},${quoteAtString(pdpType, 'pdpType')},${quoteAtString(options.apn, 'apn')}`,
    ),
  );
}
