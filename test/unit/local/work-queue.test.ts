import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../lib/local/work-queue.ts';

/** A promise the test settles by hand, so the test decides when each task ends — no timers. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Queues `count` tasks that each wait on their own deferred, and tracks how many run at once. */
function trackedTasks(queue: WorkQueue, count: number) {
  const gates = Array.from({ length: count }, deferred);
  const state = { inFlight: 0, maxInFlight: 0, started: 0, finished: 0 };
  for (const gate of gates) {
    queue.push(async () => {
      state.started += 1;
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      await gate.promise;
      state.inFlight -= 1;
      state.finished += 1;
    });
  }
  return { gates, state };
}

const failOnError = (error: unknown) => {
  throw new Error(`a task failed unexpectedly: ${String(error)}`);
};

describe('WorkQueue', () => {
  it.each<[number, number]>([
    [1, 5],
    [2, 7],
    [3, 3],
    [4, 2],
  ])('with concurrency %i runs at most that many of %i tasks at once', async (concurrency, count) => {
    // Prepare
    const queue = new WorkQueue(concurrency, failOnError);
    const { gates, state } = trackedTasks(queue, count);
    await settle();
    const startedBeforeAnyFinished = state.started;

    // Act
    for (const gate of gates) {
      gate.resolve();
      await settle();
    }

    // Assess
    expect(startedBeforeAnyFinished).toBe(Math.min(concurrency, count));
    expect(state.maxInFlight).toBe(Math.min(concurrency, count));
    expect(state.finished).toBe(count);
    expect(queue.pending).toBe(0);
  });

  it('starts the next waiting task as soon as one finishes', async () => {
    // Prepare
    const queue = new WorkQueue(2, failOnError);
    const { gates, state } = trackedTasks(queue, 4);
    await settle();

    // Act
    gates[1]?.resolve();
    await settle();

    // Assess
    expect(state.started).toBe(3);
    expect(state.inFlight).toBe(2);
    expect(queue.pending).toBe(3);
  });

  it('resolves idle() only once every task, queued or running, has finished', async () => {
    // Prepare
    const queue = new WorkQueue(2, failOnError);
    const { gates, state } = trackedTasks(queue, 5);
    let idle = false;
    const finishedAtIdle: number[] = [];
    void queue.idle().then(() => {
      idle = true;
      finishedAtIdle.push(state.finished);
    });
    const idleWhileRunning: boolean[] = [];

    // Act
    for (const gate of gates) {
      await settle();
      idleWhileRunning.push(idle);
      gate.resolve();
    }
    await settle();

    // Assess
    expect(idleWhileRunning).toEqual([false, false, false, false, false]);
    expect(idle).toBe(true);
    expect(finishedAtIdle).toEqual([5]);
  });

  it('resolves idle() at once when nothing is queued', async () => {
    // Prepare
    const queue = new WorkQueue(1, failOnError);

    // Act
    let idle = false;
    void queue.idle().then(() => {
      idle = true;
    });
    await settle();

    // Assess
    expect(idle).toBe(true);
  });

  it('resolves every idle() waiter, and a later idle() waits for work pushed after', async () => {
    // Prepare
    const queue = new WorkQueue(1, failOnError);
    const first = trackedTasks(queue, 1);
    const resolved: string[] = [];
    void queue.idle().then(() => resolved.push('a'));
    void queue.idle().then(() => resolved.push('b'));
    first.gates[0]?.resolve();
    await settle();
    const second = trackedTasks(queue, 1);
    void queue.idle().then(() => resolved.push('c'));
    await settle();
    const beforeSecondFinished = [...resolved];

    // Act
    second.gates[0]?.resolve();
    await settle();

    // Assess
    expect(beforeSecondFinished).toEqual(['a', 'b']);
    expect(resolved).toEqual(['a', 'b', 'c']);
  });

  it('hands a task’s error to onError and keeps running the tasks after it', async () => {
    // Prepare
    const errors: unknown[] = [];
    const queue = new WorkQueue(1, (error) => errors.push(error));
    const ran: string[] = [];

    // Act
    queue.push(async () => {
      throw new Error('boom');
    });
    queue.push(async () => {
      ran.push('next');
    });
    await queue.idle();

    // Assess
    expect(errors).toEqual([new Error('boom')]);
    expect(ran).toEqual(['next']);
  });
});
