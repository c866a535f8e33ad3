import type { ConnectionState, MessageHandler } from './ports.ts';
import { assertTopicFilter, topicMatchesFilter } from './topic-filter.ts';

interface Entry {
  readonly handler: MessageHandler;
}

/**
 * The handlers of each topic filter, shared by the adapters: it knows when a filter gains its first
 * handler (subscribe at the broker) or loses its last one (unsubscribe), and dispatches a message to
 * the handlers it is for. A throwing handler is reported and does not stop the others.
 */
export class SubscriptionTable {
  private readonly byFilter = new Map<string, Set<Entry>>();

  constructor(private readonly onHandlerError: (topic: string, error: unknown) => void) {}

  /**
   * Adds a handler.
   *
   * @returns the entry to remove later, and whether it is the filter's first handler
   */
  add(filter: string, handler: MessageHandler): { entry: object; first: boolean } {
    assertTopicFilter(filter);
    const entry: Entry = { handler };
    const entries = this.byFilter.get(filter);
    if (entries !== undefined) {
      entries.add(entry);
      return { entry, first: false };
    }
    this.byFilter.set(filter, new Set([entry]));
    return { entry, first: true };
  }

  /** Removes a handler; returns true when the filter has no handler left (and is forgotten). */
  remove(filter: string, entry: object): boolean {
    const entries = this.byFilter.get(filter);
    if (entries === undefined || !entries.delete(entry as Entry)) return false;
    if (entries.size > 0) return false;
    this.byFilter.delete(filter);
    return true;
  }

  /** Whether the filter has handlers. */
  has(filter: string): boolean {
    return this.byFilter.has(filter);
  }

  /** Every filter that has handlers. */
  filters(): string[] {
    return [...this.byFilter.keys()];
  }

  /** Calls the handlers of every filter that matches `topic` (one broker connection, many filters). */
  dispatch(topic: string, payload: Uint8Array): void {
    for (const filter of this.byFilter.keys())
      if (topicMatchesFilter(filter, topic)) this.dispatchTo(filter, topic, payload);
  }

  /** Calls the handlers of one filter (one stream per filter, as Greengrass IPC delivers). */
  dispatchTo(filter: string, topic: string, payload: Uint8Array): void {
    for (const { handler } of [...(this.byFilter.get(filter) ?? [])]) {
      try {
        handler(topic, payload);
      } catch (error) {
        this.onHandlerError(topic, error);
      }
    }
  }
}

/** A connection state with listeners, told only of changes. */
export class StateCell {
  private readonly listeners = new Set<(state: ConnectionState) => void>();

  constructor(private current: ConnectionState) {}

  get value(): ConnectionState {
    return this.current;
  }

  set(next: ConnectionState): void {
    if (next === this.current || this.current === 'closed') return;
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  listen(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
