/**
 * Runs async tasks with bounded concurrency — the local stand-in for Lambda's concurrency limit —
 * and tells when everything queued has finished.
 */
export class WorkQueue {
  private readonly waiting: Array<() => Promise<void>> = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  /**
   * @param onError receives what a task threw; the queue keeps going (an unhandled rejection would end the process)
   */
  constructor(
    private readonly concurrency: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Queues a task. */
  push(task: () => Promise<void>): void {
    this.waiting.push(task);
    this.pump();
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.waiting.length + this.running;
  }

  /** Resolves once no task is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const task = this.waiting.shift();
      if (task === undefined) break;
      this.running += 1;
      task()
        .catch(this.onError)
        .finally(() => {
          this.running -= 1;
          this.pump();
          if (this.pending === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
        });
    }
  }
}
