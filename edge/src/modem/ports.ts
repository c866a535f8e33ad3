import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the modem driver and the emulator see it. Injected so that long waits (registration can
 * take minutes, recovery backs off for longer) are tested on a virtual clock.
 */
export interface ModemClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemModemClock: ModemClock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal ? { signal } : {});
  },
};

/**
 * The byte stream to the modem: a `SerialPort` (real or mock binding), or an in-process link to an
 * emulator. Only `data`, `close` and `error` events and `write` are used.
 */
export type SerialLink = Pick<Duplex, 'write' | 'on' | 'off'>;
