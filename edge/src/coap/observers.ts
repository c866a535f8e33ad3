import type { Writable } from 'node:stream';

/** An open observation (RFC 7641): the stream node-coap gives for a GET carrying Observe: 0. */
export interface Observation {
  /** Which client and token: a GET with Observe: 1 and the same pair cancels it (RFC 7641 §3.6). */
  readonly key: string;
  readonly stream: Writable;
}

/**
 * The observers of each resource, bounded. An observer leaves when its stream ends: node-coap ends
 * it when the client answers a notification with a Reset, or a confirmable one is never acknowledged
 * (RFC 7641 §4.5), and the gateway ends it on deregistration or when the resource goes away.
 */
export class ObserverRegistry {
  private readonly byResource = new Map<string, Map<string, Writable>>();

  constructor(private readonly maxObservers: number) {}

  get size(): number {
    let count = 0;
    for (const observers of this.byResource.values()) count += observers.size;
    return count;
  }

  /** Adds an observer of `resource`, replacing one with the same key. @returns false when full */
  add(resource: string, observation: Observation): boolean {
    this.remove(observation.key);
    if (this.size >= this.maxObservers) return false;
    const observers = this.byResource.get(resource) ?? new Map<string, Writable>();
    observers.set(observation.key, observation.stream);
    this.byResource.set(resource, observers);
    const leave = (): void => this.detach(resource, observation.key, observation.stream);
    observation.stream.once('finish', leave);
    observation.stream.once('close', leave);
    observation.stream.once('error', leave);
    return true;
  }

  /** Ends the observation with `key`, wherever it is. @returns whether there was one */
  remove(key: string): boolean {
    for (const [resource, observers] of this.byResource) {
      const stream = observers.get(key);
      if (stream !== undefined) {
        this.detach(resource, key, stream);
        stream.end();
        return true;
      }
    }
    return false;
  }

  /** The streams observing `resource` now. */
  of(resource: string): Writable[] {
    return [...(this.byResource.get(resource)?.values() ?? [])];
  }

  /** Ends every observation of `resource`, or of every resource. */
  endAll(resource?: string): void {
    const resources = resource === undefined ? [...this.byResource.keys()] : [resource];
    for (const name of resources)
      for (const [key, stream] of [...(this.byResource.get(name) ?? [])]) {
        this.detach(name, key, stream);
        stream.end();
      }
  }

  private detach(resource: string, key: string, stream: Writable): void {
    const observers = this.byResource.get(resource);
    if (observers?.get(key) !== stream) return;
    observers.delete(key);
    if (observers.size === 0) this.byResource.delete(resource);
  }
}
