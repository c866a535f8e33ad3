import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** Live updates by polling: how often a page asks again while it is visible. */
export const POLL_MS = 5_000;

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  /** Asks again now (after a change the user made). */
  readonly refresh: () => void;
}

/**
 * Loads `load()` now and every `intervalMs` while the tab is visible (a hidden tab asks nothing, and asks
 * at once when it shows again); a new `key` starts over. An answer to an older key is dropped.
 */
export function usePoll<T>(load: () => Promise<T>, key: string, intervalMs = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const generation = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  const run = useCallback(() => {
    const mine = generation.current;
    loader.current().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (failure: Error) => {
        if (mine === generation.current) setError(failure);
      },
    );
  }, []);

  // A new key starts over; a new interval only changes the pace (the data shown stays).
  useEffect(() => {
    generation.current += 1;
    setData(undefined);
    setError(undefined);
    run();
    return () => {
      generation.current += 1;
    };
  }, [key, run]);

  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, intervalMs);
    const shown = () => {
      if (document.visibilityState === 'visible') run();
    };
    document.addEventListener('visibilitychange', shown);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', shown);
    };
  }, [key, intervalMs, run]);

  return { data, error, refresh: run };
}

/** Runs an action the user started, keeping its error and whether it is running. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const run = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await action(...args);
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clearError: () => setError(undefined) };
}
