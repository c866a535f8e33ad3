import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Clock } from '../../../../edge/src/ota/ports.ts';
import type { UplinkTransport } from '../../../../edge/src/uplink/sender.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { decodeUplinkBatch, type UplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';

/** Fakes and helpers for the uplink's tests. */

export const T0 = 1_764_196_380_000;

const dirs: string[] = [];
/** A fresh directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-uplink-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Lets pending I/O callbacks and promise chains run. */
export const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * Polls `condition` between macrotasks (real file I/O needs them) until it holds; fails after
 * `timeoutMs` of real time. A deadline, not a count of polls: on a loaded machine an fsync can take
 * longer than any fixed number of event-loop turns.
 */
export async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A clock whose sleeps end on the next macrotask, moving time on by what they slept; it records them. */
export class InstantClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public nowMs = T0) {}

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearImmediate(timer);
        reject(signal?.reason);
      };
      const timer = setImmediate(() => {
        signal?.removeEventListener('abort', onAbort);
        this.nowMs += ms;
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A clock that moves only when told: sleeps end when {@link ManualClock.advance} passes their deadline. */
export class ManualClock implements Clock {
  private timers: { at: number; resolve: () => void }[] = [];
  constructor(public nowMs = T0) {}

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = { at: this.nowMs + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Sleeps waiting now. */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    this.nowMs += ms;
    const due = this.timers.filter((t) => t.at <= this.nowMs);
    this.timers = this.timers.filter((t) => t.at > this.nowMs);
    for (const t of due) t.resolve();
  }
}

/** What the transport does with one publish. */
export type PublishBehaviour = 'deliver' | 'fail' | 'hang' | 'deliver-late';

/**
 * A transport that records what it delivered, as a broker would receive it, and behaves as `behaviour`
 * says for each attempt: deliver, fail (the link is down), hang (never settles), or deliver-late (the
 * broker gets it but the PUBACK never arrives).
 */
export class FakeTransport implements UplinkTransport {
  readonly delivered: { topic: string; payload: Uint8Array }[] = [];
  attempts = 0;

  constructor(private readonly behaviour: (attempt: number) => PublishBehaviour = () => 'deliver') {}

  publish(topic: string, payload: Uint8Array): Promise<void> {
    const how = this.behaviour(++this.attempts);
    if (how === 'fail') return Promise.reject(new Error('connection lost'));
    if (how === 'hang') return new Promise(() => {});
    this.delivered.push({ topic, payload: new Uint8Array(payload) });
    return how === 'deliver' ? Promise.resolve() : new Promise(() => {});
  }

  /** The delivered payloads decoded. */
  batches(): UplinkBatch[] {
    return this.delivered.map(({ payload }) => {
      const decoded = decodeUplinkBatch(payload);
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.batch;
    });
  }
}

/** Readings of one device every 10 s from T0: a slow temperature and battery, seq from `from`. */
export function readingsFrom(from: number, count: number): Reading[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return {
      ts: T0 + n * 10_000,
      seq: n,
      values: { temperature: Math.round((20 + Math.sin(n / 10) * 3) * 100) / 100, battery: 90 - (n % 7) },
    };
  });
}

/** A payload of `size` bytes that says which record it is. */
export function payloadOf(label: number, size = 100): Uint8Array {
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, label);
  return bytes.fill(0xab, 4);
}

/** The label {@link payloadOf} wrote. */
export const labelOf = (payload: Uint8Array) => new DataView(payload.buffer, payload.byteOffset).getUint32(0);
