import { ModemStoppedError } from './errors.ts';
import type { ModemClock } from './ports.ts';

/* Waits on the driver's injected clock that end early when the driver stops. */

/**
 * Waits until a waiter added to `set` is called (true) or `ms` pass on `clock` (false); rejects with
 * {@link ModemStoppedError} when `stop` aborts first. The waiter is removed from `set` and the timer
 * cancelled whichever way the wait ends.
 */
export async function waitForNotification(
  set: Set<() => void>,
  ms: number,
  clock: ModemClock,
  stop: AbortSignal,
): Promise<boolean> {
  const timer = new AbortController();
  let notify: () => void = () => {};
  const notified = new Promise<boolean>((resolve) => {
    notify = () => resolve(true);
    set.add(notify);
  });
  const onStop = () => timer.abort();
  stop.addEventListener('abort', onStop, { once: true });
  try {
    return await Promise.race([notified, clock.sleep(ms, timer.signal).then(() => false)]);
  } catch {
    throw new ModemStoppedError('waiting');
  } finally {
    set.delete(notify);
    timer.abort();
    stop.removeEventListener('abort', onStop);
  }
}

/**
 * Calls `run` every `ms` on `clock` (after each wait, the next wait starting once `run` settles) until
 * `stop` aborts. `run` must not reject: a rejection would end the loop.
 */
export async function repeatEvery(
  ms: number,
  clock: ModemClock,
  stop: AbortSignal,
  run: () => Promise<void>,
): Promise<void> {
  while (!stop.aborted) {
    try {
      await clock.sleep(ms, stop);
    } catch {
      return;
    }
    await run();
  }
}
