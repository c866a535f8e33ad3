import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';
import type { EdrxRequest } from './edrx.ts';
import type { ModemClock, SerialLink } from './ports.ts';
import type { PsmRequest } from './psm.ts';

/*
 * What a ModemDriver is configured with, and the defaults it fills in. Kept apart from the driver so
 * that the driver file holds behaviour only; modem-driver.ts re-exports the public types.
 */

/** A hardware reset line (PWRKEY / RESET_N), when the board has one; used when the modem stops answering. */
export interface ModemPower {
  reset(): Promise<void>;
}

/** Timeouts, in milliseconds. Defaults follow the maximum response times modem vendors document. */
export interface ModemTimeouts {
  /** Ordinary commands. @default 5_000 */
  readonly command: number;
  /** `AT+COPS=0` (network selection can take minutes). @default 180_000 */
  readonly cops: number;
  /** `AT+CGACT` (PDN connectivity). @default 150_000 */
  readonly cgact: number;
  /** Waiting for +CEREG to say registered. @default 180_000 */
  readonly registration: number;
  /** How often `AT+CEREG?` is polled while waiting, in case a URC was missed. @default 10_000 */
  readonly registrationPoll: number;
  /** Waiting for the boot banner after a reset. @default 15_000 */
  readonly boot: number;
}

/** When and how the driver recovers. */
export interface RecoveryOptions extends BackoffPolicy {
  /** Registration lost for this long (no +CEREG back to registered) starts recovery. @default 60_000 */
  readonly lostRegistrationGraceMs: number;
  /** Attempts that re-register before attempts reset the modem. @default 1 */
  readonly reRegisterAttempts: number;
  /** Consecutive command timeouts that count as "the modem stopped answering". @default 3 */
  readonly maxConsecutiveTimeouts: number;
}

/** How a `ModemDriver` is wired (link, clock, power line) and tuned (PDP context, PSM, eDRX, timers). */
export interface ModemDriverOptions {
  readonly link: SerialLink;
  /** @default systemModemClock */
  readonly clock?: ModemClock;
  /** APN of the PDP context. */
  readonly apn: string;
  /** @default 'IP' */
  readonly pdpType?: 'IP' | 'IPV6' | 'IPV4V6' | 'Non-IP';
  /** PDP context id. @default 1 */
  readonly cid?: number;
  /** SIM PIN, entered only when the SIM asks for one. */
  readonly pin?: string;
  /** PSM to request at bring-up. */
  readonly psm?: PsmRequest;
  /** eDRX to request at bring-up. */
  readonly edrx?: EdrxRequest;
  readonly timeouts?: Partial<ModemTimeouts>;
  readonly recovery?: Partial<RecoveryOptions>;
  /** Polls signal (and so liveness) this often while registered; 0 turns polling off. @default 60_000 */
  readonly pollEveryMs?: number;
  /** [0, 1) for backoff jitter. @default Math.random */
  readonly random?: () => number;
  readonly power?: ModemPower;
  /** Driver events (state changes, recovery steps, dropped input) for logs. */
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}

/** Timeouts used where {@link ModemDriverOptions.timeouts} leaves one out. */
export const DEFAULT_TIMEOUTS: ModemTimeouts = {
  command: 5_000,
  cops: 180_000,
  cgact: 150_000,
  registration: 180_000,
  registrationPoll: 10_000,
  boot: 15_000,
};

/** Recovery settings used where {@link ModemDriverOptions.recovery} leaves one out. */
export const DEFAULT_RECOVERY: RecoveryOptions = {
  ...DEFAULT_BACKOFF,
  lostRegistrationGraceMs: 60_000,
  reRegisterAttempts: 1,
  maxConsecutiveTimeouts: 3,
};
