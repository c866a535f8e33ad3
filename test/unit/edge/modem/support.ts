import { setImmediate as nextTurn } from 'node:timers/promises';
import { SerialPortStream } from '@serialport/stream';
import { SerialPortMock } from 'serialport';
import { ModemEmulator, type ModemEmulatorOptions } from '../../../../edge/src/modem/emulator.ts';
import { emulatorMockBinding } from '../../../../edge/src/modem/emulator-transports.ts';
import { ModemDriver, type ModemDriverOptions } from '../../../../edge/src/modem/modem-driver.ts';
import type { ModemClock } from '../../../../edge/src/modem/ports.ts';

/** 2023-11-14T22:13:20Z: any epoch-millisecond time after 2000 passes the status schema. */
export const BASE_TIME = 1_700_000_000_000;

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A clock whose time moves only when {@link VirtualClock.run} says so, and then straight to the next
 * timer once all I/O in flight has settled (the mock binding and the emulator work on
 * microtasks and `nextTick`, so a few event-loop turns settle them). Minutes of registration waits
 * and backoff take no real time, and a race between a reply and a timeout is decided by virtual time
 * alone, the same way on every run.
 */
export class VirtualClock implements ModemClock {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(private nowMs = BASE_TIME) {}

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer: Timer = {
        at: this.nowMs + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Pending timers (for assertions that nothing is left running). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Lets I/O in flight settle without moving time. */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await nextTurn();
  }

  /**
   * Moves time timer by timer until `promise` settles (resolving with its outcome) or `limitMs` of
   * virtual time pass (rejecting). Without a promise, runs until `limitMs` have passed.
   */
  run<T>(promise: Promise<T>, limitMs?: number): Promise<T>;
  run(promise: undefined, limitMs: number): Promise<undefined>;
  async run<T>(promise?: Promise<T>, limitMs = 24 * 3_600_000): Promise<T | undefined> {
    let settled = false;
    const observed = promise?.then(
      (value) => {
        settled = true;
        return value;
      },
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    observed?.catch(() => {});
    const end = this.nowMs + limitMs;
    for (;;) {
      await this.settle();
      if (settled) return observed;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) {
        this.nowMs = Math.max(this.nowMs, end);
        if (promise)
          throw new Error(`still pending after ${limitMs} ms of virtual time (${this.timers.length} timers)`);
        return undefined;
      }
      this.timers.shift();
      this.nowMs = next.at;
      next.resolve();
    }
  }

  /** Runs for `ms` of virtual time. */
  async advance(ms: number): Promise<void> {
    await this.run(undefined, ms);
  }
}

let portCount = 0;

/** A mock serial port (a real `SerialPortStream` on `@serialport/binding-mock`) with `emulator` at its other end. */
export async function openEmulatedPort(emulator: ModemEmulator): Promise<SerialPortStream> {
  const path = `/dev/fleetkit-modem-${++portCount}`;
  SerialPortMock.binding.createPort(path);
  const port = new SerialPortStream({
    binding: emulatorMockBinding(() => emulator),
    path,
    baudRate: 115_200,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return port;
}

/** Closes a port if it is open. */
export async function closePort(port: SerialPortStream): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}

/** An emulator, the mock port to it and a driver on that port, all on one virtual clock. */
export async function rig(
  emulatorOptions: Omit<ModemEmulatorOptions, 'clock'> = {},
  driverOptions: Partial<Omit<ModemDriverOptions, 'link' | 'clock'>> = {},
) {
  const clock = new VirtualClock();
  const emulator = new ModemEmulator({ clock, ...emulatorOptions });
  const port = await openEmulatedPort(emulator);
  const events: { event: string; fields?: Readonly<Record<string, unknown>> }[] = [];
  const driver = new ModemDriver({
    link: port,
    clock,
    apn: 'iot.fleetkit',
    random: () => 0.5,
    pollEveryMs: 0,
    log: (event, fields) => events.push({ event, fields }),
    ...driverOptions,
  });
  const states: string[] = [];
  driver.onStatus((status) => {
    if (states[states.length - 1] !== status.state) states.push(status.state);
  });
  const close = async () => {
    await driver.stop();
    emulator.close();
    await closePort(port);
  };
  return { clock, emulator, port, driver, events, states, close };
}

/** The error `promise` rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a rejection, got ${String(outcome)}`);
  return outcome;
}
