import { describe, expect, it } from 'vitest';
import { ConnectionPacer, pacedRetry, type Release } from '../../../../lib/local/sim/pacing.ts';
import { BASE_TIME, VirtualClock } from '../../edge/modem/support.ts';

/** `count` callers asking at once; each records (virtual) when it was admitted and holds its slot `holdMs`. */
async function admitAll(pacer: ConnectionPacer, clock: VirtualClock, count: number, holdMs = 0) {
  const admittedAt: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const callers = Array.from({ length: count }, async () => {
    const release = await pacer.admit();
    admittedAt.push(clock.now() - BASE_TIME);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (holdMs > 0) await clock.sleep(holdMs);
    inFlight--;
    release();
  });
  await clock.run(Promise.all(callers));
  return { admittedAt, maxInFlight };
}

describe('ConnectionPacer', () => {
  it('lets a burst through at once, then one attempt per 1/rate seconds, first come first served', async () => {
    // Prepare
    const clock = new VirtualClock();
    const pacer = new ConnectionPacer({ ratePerSecond: 5, burst: 2, clock });

    // Act
    const { admittedAt } = await admitAll(pacer, clock, 6);

    // Assess
    expect(admittedAt).toEqual([0, 0, 200, 400, 600, 800]);
  });

  it('spreads a thousand devices asking together over rate-limited seconds, never above rate + burst in any second', async () => {
    // Prepare
    const clock = new VirtualClock();
    const pacer = new ConnectionPacer({ ratePerSecond: 100, burst: 10, clock });

    // Act
    const { admittedAt } = await admitAll(pacer, clock, 1000);

    // Assess
    const perSecond = new Map<number, number>();
    for (const at of admittedAt)
      perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(110);
    expect(Math.max(...admittedAt)).toBe(9_900);
  });

  it('keeps at most maxInFlight attempts in flight; a release admits the next', async () => {
    // Prepare: tokens are plentiful, the window is the limit
    const clock = new VirtualClock();
    const pacer = new ConnectionPacer({ ratePerSecond: 1000, burst: 100, maxInFlight: 3, clock });

    // Act: each attempt takes a second
    const { admittedAt, maxInFlight } = await admitAll(pacer, clock, 7, 1_000);

    // Assess
    expect(maxInFlight).toBe(3);
    expect(admittedAt).toEqual([0, 0, 0, 1_000, 1_000, 1_000, 2_000]);
  });

  it('drops a caller that stops waiting without spending a token on it', async () => {
    // Prepare: one token, then one every second
    const clock = new VirtualClock();
    const pacer = new ConnectionPacer({ ratePerSecond: 1, clock });
    await pacer.admit();
    const gaveUp = new AbortController();
    const leaving = pacer.admit(gaveUp.signal);
    const staying = pacer.admit();

    // Act
    gaveUp.abort(new Error('device stopped'));

    // Assess
    await expect(leaving).rejects.toThrow('device stopped');
    await clock.run(staying);
    expect(clock.now() - BASE_TIME).toBe(1_000);
    expect(pacer.stats()).toEqual({ admitted: 2, inFlight: 2, waiting: 0 });
  });
});

describe('pacedRetry', () => {
  it('retries a failed attempt after a jittered, doubling delay, and frees its slot while it waits', async () => {
    // Prepare: a window of one slot, shared by a device that fails twice and one that connects at once
    const clock = new VirtualClock();
    const pacer = new ConnectionPacer({ ratePerSecond: 1000, burst: 10, maxInFlight: 1, clock });
    const attempts: Array<[string, number]> = [];
    const failures: number[] = [];
    const flaky = pacedRetry(
      async (n) => {
        attempts.push(['flaky', clock.now() - BASE_TIME]);
        if (n <= 2) throw new Error('connack timeout');
        return n;
      },
      {
        pacer,
        clock,
        backoff: { baseMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0.5 },
        random: () => 0.5,
        onFailure: (_error, _attempt, delayMs) => failures.push(delayMs),
      },
    );
    const steady = (async () => {
      await clock.sleep(10);
      const release: Release = await pacer.admit();
      attempts.push(['steady', clock.now() - BASE_TIME]);
      release();
    })();

    // Act
    const succeededOn = await clock.run(flaky);
    await clock.run(steady);

    // Assess: 1 s and 2 s, each less a quarter (half the jitter at random 0.5)
    expect(succeededOn).toBe(3);
    expect(failures).toEqual([750, 1_500]);
    expect(attempts).toEqual([
      ['flaky', 0],
      ['steady', 10],
      ['flaky', 750],
      ['flaky', 2_250],
    ]);
  });

  it('ends the retries when its signal aborts, during a backoff', async () => {
    // Prepare
    const clock = new VirtualClock();
    const pacer = new ConnectionPacer({ ratePerSecond: 10, clock });
    const stop = new AbortController();
    let attempts = 0;
    const retrying = pacedRetry(
      async () => {
        attempts++;
        throw new Error('refused');
      },
      { pacer, clock, signal: stop.signal, random: () => 0 },
    );

    // Act
    await clock.advance(1_000);
    stop.abort(new Error('fleet stopped'));

    // Assess
    await expect(retrying).rejects.toThrow('fleet stopped');
    const settledAttempts = attempts;
    await clock.advance(60_000);
    expect(attempts).toBe(settledAttempts);
    expect(pacer.stats().inFlight).toBe(0);
  });
});
