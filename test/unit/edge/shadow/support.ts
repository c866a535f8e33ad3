import { AWS_SHADOW_LIMITS, type ShadowRecord } from '../../../../lambdas/domain/shadow/document.ts';
import type { ShadowRequestError } from '../../../../lambdas/domain/shadow/errors.ts';
import type { JsonObject } from '../../../../lambdas/domain/shadow/json.ts';
import { applyUpdate, getDocument, rejectedDocument } from '../../../../lambdas/domain/shadow/operations.ts';
import { parsePlainRequest, parseUpdateRequest } from '../../../../lambdas/domain/shadow/request.ts';
import { parseShadowTopic, shadowTopic, THING_TOPIC_ROOT } from '../../../../lib/protocol/topics.ts';
import type { MemoryBroker } from '../transport/memory-transport.ts';

export const THING = 'sensor-7';

/** A request the device made, as the fake service received it. */
export interface SeenShadowRequest {
  readonly operation: 'get' | 'update';
  readonly body: Record<string, unknown>;
}

/**
 * The cloud's shadow service in memory, answering on the broker with the real shadow domain
 * (lambdas/domain/shadow: merge, delta, versions, AWS's error documents), so shadow sync is tested
 * against the semantics the platform implements, with faults the platform cannot be asked for.
 */
export class FakeShadowService {
  record: ShadowRecord | undefined;
  readonly requests: SeenShadowRequest[] = [];
  nowMs = Date.UTC(2030, 0, 1);
  /** Let another writer update just before each of the next N device updates. */
  conflictNextUpdates = 0;
  /** Answer the next N requests with this code (throttling, outages). */
  failNext: { count: number; code: 429 | 500 } = { count: 0, code: 500 };
  /** Hold deltas instead of publishing them (to deliver out of order). */
  holdDeltas = false;
  readonly heldDeltas: string[] = [];

  constructor(
    private readonly broker: MemoryBroker,
    private readonly thingName = THING,
  ) {
    broker.onMessage((message) => {
      // The device also publishes telemetry and status on the same broker: not the shadow service's.
      if (!message.topic.startsWith(`${THING_TOPIC_ROOT}/${this.thingName}/shadow/`)) return;
      const topic = parseShadowTopic(message.topic);
      if (topic.thingName !== this.thingName || topic.suffix !== undefined || topic.shadowName !== undefined)
        return;
      if (topic.operation === 'get') this.onGet(message.payload);
      if (topic.operation === 'update') this.onUpdate(message.payload);
    });
  }

  /** An operator sets desired state (as over HTTP: delta and documents, no accepted on MQTT). */
  setDesired(desired: JsonObject): void {
    this.update({ state: { desired } }, false);
  }

  /** Someone else writes reported state. */
  setReported(reported: JsonObject): void {
    this.update({ state: { reported } }, false);
  }

  /** The stored state. */
  get state(): { desired?: JsonObject; reported?: JsonObject } {
    return this.record?.state ?? {};
  }

  /** The delta now (what GET would show). */
  get delta(): JsonObject | undefined {
    if (this.record === undefined) return undefined;
    const document = getDocument({ thingName: this.thingName }, this.record, {}, this.nowMs);
    return (document.state as { delta?: JsonObject }).delta;
  }

  /** Updates the device made (with their bodies). */
  updates(): Array<Record<string, unknown>> {
    return this.requests.filter((r) => r.operation === 'update').map((r) => r.body);
  }

  /** Publishes the held deltas, newest first. */
  releaseDeltasReversed(): void {
    for (const payload of this.heldDeltas.splice(0).reverse()) this.publish('update', 'delta', payload);
  }

  private publish(
    operation: 'get' | 'update',
    suffix: 'accepted' | 'rejected' | 'delta' | 'documents',
    body: unknown,
  ): void {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    this.broker.publish(shadowTopic({ thingName: this.thingName, operation, suffix }), payload);
  }

  private onGet(payload: Uint8Array): void {
    const request = parsePlainRequest(payload, AWS_SHADOW_LIMITS);
    this.requests.push({ operation: 'get', body: JSON.parse(Buffer.from(payload).toString()) });
    if (this.injectFailure('get', request.clientToken)) return;
    try {
      this.publish(
        'get',
        'accepted',
        getDocument({ thingName: this.thingName }, this.record, request, this.nowMs),
      );
    } catch (error) {
      this.publish('get', 'rejected', rejectedDocument(error as ShadowRequestError, request.clientToken));
    }
  }

  private onUpdate(payload: Uint8Array): void {
    const body = JSON.parse(Buffer.from(payload).toString()) as Record<string, unknown>;
    this.requests.push({ operation: 'update', body });
    const token = typeof body.clientToken === 'string' ? body.clientToken : undefined;
    if (this.injectFailure('update', token)) return;
    if (this.conflictNextUpdates > 0) {
      this.conflictNextUpdates--;
      // Someone else updates first: the version moves on under the device's request.
      this.update({ state: { reported: { otherWriter: this.nowMs } } }, false);
    }
    try {
      this.update(parseUpdateRequest(payload, AWS_SHADOW_LIMITS), true);
    } catch (error) {
      this.publish('update', 'rejected', rejectedDocument(error as ShadowRequestError, token));
    }
  }

  private injectFailure(operation: 'get' | 'update', token: string | undefined): boolean {
    if (this.failNext.count === 0) return false;
    this.failNext.count--;
    const message = this.failNext.code === 429 ? 'Too many requests' : 'Internal service failure';
    this.publish(operation, 'rejected', {
      code: this.failNext.code,
      message,
      ...(token ? { clientToken: token } : {}),
    });
    return true;
  }

  private update(request: Parameters<typeof applyUpdate>[1], answer: boolean): void {
    this.nowMs += 1000;
    const outcome = applyUpdate(this.record, request, this.nowMs, AWS_SHADOW_LIMITS);
    this.record = outcome.record;
    if (answer) this.publish('update', 'accepted', outcome.accepted);
    this.publish('update', 'documents', outcome.documents);
    if (outcome.delta === undefined) return;
    if (this.holdDeltas) this.heldDeltas.push(JSON.stringify(outcome.delta));
    else this.publish('update', 'delta', outcome.delta);
  }
}

/** Resolves once `condition` holds, polling each macrotask; fails after `timeoutMs` with `what`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Lets queued microtasks and I/O callbacks run (messages in flight arrive). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
