import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { type ShadowOperation, type ShadowTopicSuffix, shadowTopic } from '../../../lib/protocol/topics.ts';
import type { DeviceTransport, Unsubscribe } from '../transport/ports.ts';
import { ShadowClientClosedError, ShadowRejectedError, ShadowRequestTimeoutError } from './errors.ts';
import type { JsonObject } from './json.ts';
import {
  type ShadowDelta,
  type ShadowDocuments,
  type ShadowGetAccepted,
  type ShadowUpdateAccepted,
  shadowDelta,
  shadowDocuments,
  shadowErrorResponse,
  shadowGetAccepted,
  shadowUpdateAccepted,
} from './shadow-messages.ts';

export interface ShadowClientOptions {
  readonly thingName: string;
  readonly transport: DeviceTransport;
  /** @default 10_000 */
  readonly requestTimeoutMs?: number;
  readonly onDelta: (delta: ShadowDelta) => void;
  readonly onDocuments: (documents: ShadowDocuments) => void;
  /** A message that did not parse; it is otherwise ignored. */
  readonly onBadMessage?: (topic: string, error: unknown) => void;
}

interface Pending {
  readonly operation: 'get' | 'update';
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** The response topics a device listens on, as `[operation, suffix]`. */
const RESPONSES: ReadonlyArray<readonly [ShadowOperation, ShadowTopicSuffix]> = [
  ['get', 'accepted'],
  ['get', 'rejected'],
  ['update', 'accepted'],
  ['update', 'rejected'],
  ['update', 'delta'],
  ['update', 'documents'],
];

/**
 * The device side of the classic shadow's MQTT API on fleetkit's topics
 * (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-mqtt.html): get and update as
 * promises of their accepted / rejected answers, matched by `clientToken` (the service echoes it),
 * and delta / documents handed to callbacks. Answers to requests it did not make are ignored.
 */
export class ShadowClient {
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribes: Unsubscribe[] = [];
  private readonly timeoutMs: number;

  constructor(private readonly options: ShadowClientOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  /** The exact topics subscribed to (the recipe's accessControl lists the same). */
  static subscriptions(thingName: string): string[] {
    return RESPONSES.map(([operation, suffix]) => shadowTopic({ thingName, operation, suffix }));
  }

  /** Subscribes to the response topics. */
  async open(): Promise<void> {
    const { thingName, transport } = this.options;
    for (const [operation, suffix] of RESPONSES) {
      const topic = shadowTopic({ thingName, operation, suffix });
      this.unsubscribes.push(
        await transport.subscribe(topic, (_topic, payload) =>
          this.onMessage(operation, suffix, topic, payload),
        ),
      );
    }
  }

  /** Unsubscribes and fails every request still waiting. */
  async close(): Promise<void> {
    for (const [token, pending] of this.pending) {
      this.pending.delete(token);
      pending.reject(new ShadowClientClosedError('shadow client closed'));
    }
    await Promise.all(this.unsubscribes.splice(0).map((unsubscribe) => unsubscribe()));
  }

  /**
   * Asks for the whole document.
   *
   * @returns the document, or `undefined` when the thing has no shadow yet (404)
   * @throws ShadowRejectedError for any other rejection, ShadowRequestTimeoutError, NotConnectedError
   */
  async get(): Promise<ShadowGetAccepted | undefined> {
    try {
      return (await this.request('get', {})) as ShadowGetAccepted;
    } catch (error) {
      if (error instanceof ShadowRejectedError && error.code === 404) return undefined;
      throw error;
    }
  }

  /**
   * Updates `state.reported`; with `version`, only if the shadow is still at that version (else 409).
   *
   * @throws ShadowRejectedError, ShadowRequestTimeoutError, NotConnectedError
   */
  async update(reported: JsonObject, version?: number): Promise<ShadowUpdateAccepted> {
    const body = { state: { reported }, ...(version === undefined ? {} : { version }) };
    return (await this.request('update', body)) as ShadowUpdateAccepted;
  }

  private async request(operation: 'get' | 'update', body: Record<string, unknown>): Promise<unknown> {
    const clientToken = randomUUID();
    const topic = shadowTopic({ thingName: this.options.thingName, operation });
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(clientToken);
        reject(new ShadowRequestTimeoutError(operation, this.timeoutMs));
      }, this.timeoutMs);
      timer.unref?.();
      const settle =
        <T>(done: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          this.pending.delete(clientToken);
          done(value);
        };
      this.pending.set(clientToken, { operation, resolve: settle(resolve), reject: settle(reject) });
    });
    // The answer may be rejected (close, timeout) while the publish is still awaited, before the
    // caller awaits it: mark it handled now; the caller still gets the rejection.
    answer.catch(() => {});
    try {
      await this.options.transport.publish(topic, JSON.stringify({ ...body, clientToken }), { qos: 1 });
    } catch (error) {
      this.pending.get(clientToken)?.reject(error as Error);
    }
    return answer;
  }

  private onMessage(
    operation: ShadowOperation,
    suffix: ShadowTopicSuffix,
    topic: string,
    payload: Uint8Array,
  ): void {
    try {
      const body = decodeJson(payload, `shadow ${operation}/${suffix}`);
      if (suffix === 'delta') {
        this.options.onDelta(this.parse(shadowDelta, body, topic));
        return;
      }
      if (suffix === 'documents') {
        this.options.onDocuments(this.parse(shadowDocuments, body, topic));
        return;
      }
      const token = (body as { clientToken?: unknown } | null)?.clientToken;
      const pending = typeof token === 'string' ? this.pending.get(token) : undefined;
      if (pending === undefined || pending.operation !== operation) return;
      try {
        if (suffix === 'rejected') {
          const error = this.parse(shadowErrorResponse, body, topic);
          pending.reject(new ShadowRejectedError(pending.operation, error.code, error.message));
          return;
        }
        pending.resolve(
          operation === 'get'
            ? this.parse(shadowGetAccepted, body, topic)
            : this.parse(shadowUpdateAccepted, body, topic),
        );
      } catch (error) {
        // The answer to this request is unreadable: fail the request now rather than at its timeout.
        pending.reject(error as Error);
        throw error;
      }
    } catch (error) {
      this.options.onBadMessage?.(topic, error);
    }
  }

  private parse<S extends z.ZodType>(schema: S, body: unknown, topic: string): z.output<S> {
    return parseWith(schema, body, `message on ${topic}`);
  }
}
