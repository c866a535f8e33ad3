import type { ShadowId } from '../domain/shadow/operations.ts';
import type { StoredShadow } from '../ports.ts';

/**
 * The shadows this process wrote last, as it wrote them: a starting point for the next conditional
 * write that saves the read. Never trusted for an answer: a write from a stale entry fails its
 * condition and the service reads the store, and any rejection decided from an entry is re-decided
 * from a fresh read. Bounded, least recently used out first.
 */
export class RecentShadows {
  private readonly entries = new Map<string, StoredShadow>();

  constructor(private readonly capacity: number) {}

  private key(id: ShadowId): string {
    return `${id.thingName}\u0000${id.shadowName ?? ''}`;
  }

  get(id: ShadowId): StoredShadow | undefined {
    const key = this.key(id);
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(id: ShadowId, stored: StoredShadow): void {
    if (this.capacity === 0) return;
    const key = this.key(id);
    this.entries.delete(key);
    this.entries.set(key, stored);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  forget(id: ShadowId): void {
    this.entries.delete(this.key(id));
  }
}
