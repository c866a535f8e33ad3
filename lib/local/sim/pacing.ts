import { type BackoffPolicy, backoffDelay } from '../../../edge/src/modem/backoff.ts';
import type { Clock } from '../../../edge/src/ota/ports.ts';

/**
 * How a simulated fleet comes up and comes back without a thundering herd: a token bucket paces
 * connection attempts (a steady rate with a small burst), a window bounds how many are in flight at
 * once (the broker and the platform answer each new device with a TLS handshake and a round of
 * shadow, jobs and status work), and a failed attempt waits a jittered, growing delay before it asks
 * for a token again — "exponential backoff and jitter" as AWS's builders' library describes it, so
 * a thousand devices that lost the broker together do not return in lockstep.
 */

/** A connection attempt may start: call `release` once it has ended, well or badly. */
export type Release = () => void;

export interface ConnectionPacerOptions {
  /** Attempts started per second, on average. */
  readonly ratePerSecond: number;
  /** Attempts that may start at once after a quiet spell. @default 1 */
  readonly burst?: number;
  /** Attempts in flight at most (admitted and not yet released). @default Infinity */
  readonly maxInFlight?: number;
  readonly clock: Clock;
}

/** What the pacer has done so far. */
export interface PacerStats {
  readonly admitted: number;
  readonly inFlight: number;
  /** Waiting for a slot in the window or for a token. */
  readonly waiting: number;
}

interface Waiter {
  readonly resolve: (release: Release) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Admits connection attempts first come, first served: one token each from a bucket that refills at
 * `ratePerSecond` up to `burst`, and at most `maxInFlight` admitted at a time.
 */
export class ConnectionPacer {
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxInFlight: number;
  private tokens: number;
  private refilledAt: number;
  private inFlight = 0;
  private admitted = 0;
  private readonly queue: Waiter[] = [];
  private sleeping = false;
  private readonly stopped = new AbortController();

  constructor(private readonly options: ConnectionPacerOptions) {
    if (!(options.ratePerSecond > 0))
      throw new RangeError(`ratePerSecond must be above 0, got ${options.ratePerSecond}`);
    this.rate = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? 1);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? Number.POSITIVE_INFINITY);
    this.tokens = this.burst;
    this.refilledAt = options.clock.now();
  }

  /**
   * Resolves when the caller may start an attempt, with the function to call when it has ended.
   *
   * @throws the signal's reason if `signal` aborts first (the caller is no longer waiting)
   */
  admit(signal?: AbortSignal): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  stats(): PacerStats {
    return { admitted: this.admitted, inFlight: this.inFlight, waiting: this.queue.length };
  }

  /** Refuses everything still waiting (with the reason) and stops the refill timer. */
  close(reason: unknown = new Error('pacer closed')): void {
    this.stopped.abort();
    for (const waiter of this.queue.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(reason);
    }
  }

  private refill(): void {
    const now = this.options.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  /** Hands out slots while there are waiters, window room and tokens; else waits for the next token. */
  private pump(): void {
    // A wait for the next token is under way: it calls pump again when it ends.
    if (this.sleeping) return;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight && !this.stopped.signal.aborted) {
      this.refill();
      if (this.tokens < 1) {
        this.sleeping = true;
        const wait = Math.ceil(((1 - this.tokens) * 1000) / this.rate);
        this.options.clock.sleep(wait, this.stopped.signal).then(
          () => {
            this.sleeping = false;
            this.pump();
          },
          () => {
            this.sleeping = false;
          },
        );
        return;
      }
      const waiter = this.queue.shift();
      if (waiter === undefined) return;
      this.tokens -= 1;
      this.inFlight += 1;
      this.admitted += 1;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
        this.pump();
      });
    }
  }
}

/** Retry delays for connection attempts: from 0.5 s, doubling, capped at 30 s, up to half off at random. */
export const CONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, factor: 2, maxMs: 30_000, jitter: 0.5 };

export interface PacedRetryOptions {
  readonly pacer: ConnectionPacer;
  readonly clock: Clock;
  /** @default CONNECT_BACKOFF */
  readonly backoff?: BackoffPolicy;
  /** [0, 1), injected for tests. @default Math.random */
  readonly random?: () => number;
  /** Ends the retries: the pending wait or admission rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Told about each failed attempt (1-based) before its delay. */
  readonly onFailure?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds: each try is admitted by the pacer (and released when it ends),
 * and a failed one waits {@link backoffDelay} before asking again. Only `signal` ends the retries.
 */
export async function pacedRetry<T>(
  attempt: (n: number) => Promise<T>,
  options: PacedRetryOptions,
): Promise<T> {
  const policy = options.backoff ?? CONNECT_BACKOFF;
  const random = options.random ?? Math.random;
  for (let n = 1; ; n++) {
    const release = await options.pacer.admit(options.signal);
    try {
      return await attempt(n);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const delayMs = backoffDelay(n + 1, policy, random);
      options.onFailure?.(error, n, delayMs);
      release();
      await options.clock.sleep(delayMs, options.signal);
    } finally {
      release();
    }
  }
}
