import { createHash } from 'node:crypto';
import { shadowTopic } from '../../lib/protocol/topics.ts';
import { computeDelta, deltaMetadata } from '../domain/shadow/delta.ts';
import type { ShadowLimits, ShadowRecord, UpdateRequest } from '../domain/shadow/document.ts';
import { epochSeconds } from '../domain/shadow/document.ts';
import { SHADOW_MESSAGES, ShadowRequestError } from '../domain/shadow/errors.ts';
import {
  appendHistory,
  type HistoryView,
  historyViews,
  inverseOfDelete,
  inverseOfUpdate,
} from '../domain/shadow/history.ts';
import type { JsonObject } from '../domain/shadow/json.ts';
import { requestMetadata } from '../domain/shadow/merge.ts';
import {
  applyDelete,
  applyUpdate,
  getDocument,
  rejectedDocument,
  type ShadowId,
} from '../domain/shadow/operations.ts';
import { parsePlainRequest, parseUpdateRequest } from '../domain/shadow/request.ts';
import type { ClientTokenEntry, Publisher, ShadowStore, StoredShadow } from '../ports.ts';
import type { Logger } from '../shared/logger.ts';
import { RecentShadows } from './recent-shadows.ts';

/** How many recent requests a shadow remembers for idempotent retries. */
export const REMEMBERED_REQUESTS = 16;
/** How long a repeated `clientToken` with the same content counts as a retry rather than a new report. */
export const REPLAY_WINDOW_SECONDS = 600;

export interface ShadowServiceProps {
  readonly store: ShadowStore;
  readonly publisher: Publisher;
  readonly limits: ShadowLimits;
  /** Bounds of the per-shadow history: changes kept, and bytes of undo information. */
  readonly history: { readonly maxEntries: number; readonly maxBytes: number };
  readonly log: Pick<Logger, 'warn'>;
  readonly now?: () => number;
  /** Attempts at a conditional write before giving up with 500. @default 200 */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Shadows remembered after writing them, to save the read before the next write. @default 2000 */
  readonly recentShadows?: number;
}

/** Where a request came from, which decides where its answer goes. */
export interface RequestContext {
  /**
   * `mqtt`: the answer is published on `/accepted` or `/rejected`. `http`: it is returned.
   * Delta and documents are published either way: the device must hear about an HTTP update.
   */
  readonly via: 'mqtt' | 'http';
  /** Identifies this request across retries of its delivery (the rule's `newuuid()`, for one). */
  readonly requestId?: string;
}

/** The answer to a shadow request: the accepted document, or AWS's error document and code. */
export type ShadowResult =
  | { readonly ok: true; readonly body: JsonObject }
  | { readonly ok: false; readonly code: number; readonly body: JsonObject };

function requestHash(request: UpdateRequest): string {
  return createHash('sha256')
    .update(JSON.stringify({ state: request.state, version: request.version ?? null }))
    .digest('base64url');
}

/**
 * The shadow service: parse → load → domain → conditional save (retried on conflict) → history →
 * publish. It holds no state; every decision about documents is in `lambdas/domain/shadow`.
 */
export class ShadowService {
  private readonly props: ShadowServiceProps;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly recent: RecentShadows;

  constructor(props: ShadowServiceProps) {
    this.props = props;
    this.now = props.now ?? Date.now;
    this.sleep = props.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = props.random ?? Math.random;
    this.recent = new RecentShadows(props.recentShadows ?? 2_000);
  }

  async update(id: ShadowId, payload: Uint8Array | string, context: RequestContext): Promise<ShadowResult> {
    let request: UpdateRequest | undefined;
    try {
      request = parseUpdateRequest(payload, this.props.limits);
      const { accepted, notifications } = await this.commitUpdate(id, request, context);
      // The requester's answer, the delta and the documents go out together: AWS IoT guarantees no order
      // between a shadow's messages (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html,
      // "Message order"), so waiting for one before sending the next would only add a round trip each.
      const [result] = await Promise.all([
        this.answer(id, 'update', context, { ok: true, body: accepted }),
        notifications.delta === undefined
          ? undefined
          : this.publish(id, 'update', 'delta', notifications.delta),
        notifications.documents === undefined
          ? undefined
          : this.publish(id, 'update', 'documents', notifications.documents),
      ]);
      return result;
    } catch (error) {
      return this.answer(id, 'update', context, this.reject(error, request?.clientToken ?? tokenOf(payload)));
    }
  }

  async get(id: ShadowId, payload: Uint8Array | string, context: RequestContext): Promise<ShadowResult> {
    let clientToken: string | undefined;
    try {
      const request = parsePlainRequest(payload, this.props.limits);
      clientToken = request.clientToken;
      const stored = await this.props.store.load(id);
      return await this.answer(id, 'get', context, {
        ok: true,
        body: getDocument(id, stored?.record, request, this.now()),
      });
    } catch (error) {
      return this.answer(id, 'get', context, this.reject(error, clientToken ?? tokenOf(payload)));
    }
  }

  async delete(id: ShadowId, payload: Uint8Array | string, context: RequestContext): Promise<ShadowResult> {
    let clientToken: string | undefined;
    try {
      const request = parsePlainRequest(payload, this.props.limits);
      clientToken = request.clientToken;
      const { result: accepted } = await this.retrying(async (stored) => {
        const outcome = applyDelete(id, stored?.record, request, this.now());
        const change = {
          version: outcome.record.version,
          timestamp: outcome.record.timestamp,
          exists: false,
          inverse: inverseOfDelete(stored?.record as ShadowRecord),
        };
        const next = {
          record: outcome.record,
          revision: (stored?.revision ?? 0) + 1,
          recentTokens: stored?.recentTokens ?? [],
          history: appendHistory(stored?.history ?? [], change, this.props.history),
          pending: false,
        };
        return { next, result: outcome.accepted };
      }, id);
      return await this.answer(id, 'delete', context, { ok: true, body: accepted });
    } catch (error) {
      return this.answer(id, 'delete', context, this.reject(error, clientToken ?? tokenOf(payload)));
    }
  }

  /** The newest changes of a shadow and the state each produced, newest first. */
  async history(id: ShadowId, limit: number): Promise<HistoryView[]> {
    const stored = await this.props.store.load(id);
    return stored === undefined ? [] : historyViews(stored.record, stored.history, limit);
  }

  /**
   * Applies an update with optimistic concurrency. A request already applied is answered again, not
   * reapplied: the same delivery (same `requestId`) always; the same `clientToken` with the same content
   * within {@link REPLAY_WINDOW_SECONDS} (a device that reuses one token for every report is not deduplicated
   * forever — its periodic reports must still move the version on, as in AWS IoT).
   */
  private async commitUpdate(
    id: ShadowId,
    request: UpdateRequest,
    context: RequestContext,
  ): Promise<{ accepted: JsonObject; notifications: { delta?: JsonObject; documents?: JsonObject } }> {
    const hash = requestHash(request);
    let published: { delta?: JsonObject; documents?: JsonObject } = {};
    const { result: accepted } = await this.retrying(async (stored) => {
      const seen = stored?.recentTokens.find((entry) => this.isSameRequest(entry, request, context, hash));
      if (seen !== undefined) {
        published = this.replayed(stored as StoredShadow, seen);
        return { result: replayAccepted(request, seen) };
      }
      const outcome = applyUpdate(stored?.record, request, this.now(), this.props.limits);
      const entry: ClientTokenEntry = {
        ...(request.clientToken === undefined ? {} : { clientToken: request.clientToken }),
        ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
        requestHash: hash,
        version: outcome.record.version,
        timestamp: outcome.record.timestamp,
      };
      const remembered = [
        ...(stored?.recentTokens ?? []),
        ...(entry.clientToken || entry.requestId ? [entry] : []),
      ].slice(-REMEMBERED_REQUESTS);
      published = {
        ...(outcome.delta === undefined ? {} : { delta: outcome.delta }),
        documents: outcome.documents,
      };
      const change = {
        version: outcome.record.version,
        timestamp: outcome.record.timestamp,
        exists: true,
        inverse: inverseOfUpdate(stored?.record, request),
      };
      const next = {
        record: outcome.record,
        revision: (stored?.revision ?? 0) + 1,
        recentTokens: remembered,
        history: appendHistory(stored?.history ?? [], change, this.props.history),
        pending: outcome.delta !== undefined,
      };
      return { next, result: outcome.accepted };
    }, id);
    return { accepted, notifications: published };
  }

  private isSameRequest(
    entry: ClientTokenEntry,
    request: UpdateRequest,
    context: RequestContext,
    hash: string,
  ): boolean {
    if (context.requestId !== undefined && entry.requestId === context.requestId) return true;
    return (
      request.clientToken !== undefined &&
      entry.clientToken === request.clientToken &&
      entry.requestHash === hash &&
      epochSeconds(this.now()) - entry.timestamp <= REPLAY_WINDOW_SECONDS
    );
  }

  /** On a replay, the delta is sent again if nothing has changed since; the documents cannot be rebuilt. */
  private replayed(stored: StoredShadow, seen: ClientTokenEntry): { delta?: JsonObject } {
    if (stored.record.version !== seen.version || !stored.record.exists) return {};
    const delta = computeDelta(stored.record.state.desired, stored.record.state.reported);
    if (delta === undefined) return {};
    return {
      delta: {
        version: seen.version,
        timestamp: seen.timestamp,
        state: delta,
        metadata: deltaMetadata(delta, stored.record.metadata.desired) as unknown as JsonObject,
      },
    };
  }

  /**
   * Load → decide → conditional save, until the save wins; contention is resolved by jittered backoff.
   * The first attempt starts from the shadow this process last wrote, when it has it (no read); a
   * rejection decided from that copy is decided again from a fresh read before anyone hears it.
   */
  private async retrying<T>(
    step: (stored: StoredShadow | undefined) => Promise<{
      next?: Parameters<ShadowStore['save']>[1];
      result: T;
    }>,
    id: ShadowId,
  ): Promise<{ result: T }> {
    const maxAttempts = this.props.maxAttempts ?? 200;
    let cached = this.recent.get(id);
    for (let attempt = 1; attempt <= maxAttempts; ) {
      const fromCache = cached !== undefined;
      const stored = cached ?? (await this.props.store.load(id));
      cached = undefined;
      let decided: Awaited<ReturnType<typeof step>>;
      try {
        decided = await step(stored);
      } catch (error) {
        if (fromCache && error instanceof ShadowRequestError) continue;
        throw error;
      }
      const { next, result } = decided;
      if (next === undefined) {
        if (fromCache) continue;
        return { result };
      }
      if ((await this.props.store.save(id, next, stored?.revision)) === 'saved') {
        this.recent.set(id, next);
        return { result };
      }
      this.recent.forget(id);
      attempt++;
      // A stale copy of our own is not contention: read again at once.
      if (!fromCache) await this.sleep(this.random() * Math.min(250, 4 * 2 ** Math.min(attempt, 6)));
    }
    throw new ShadowRequestError(500, SHADOW_MESSAGES.internal);
  }

  private reject(error: unknown, clientToken: string | undefined): ShadowResult {
    if (!(error instanceof ShadowRequestError)) throw error;
    return { ok: false, code: error.code, body: rejectedDocument(error, clientToken) };
  }

  private async answer(
    id: ShadowId,
    operation: 'get' | 'update' | 'delete',
    context: RequestContext,
    result: ShadowResult,
  ): Promise<ShadowResult> {
    if (context.via === 'mqtt')
      await this.publish(id, operation, result.ok ? 'accepted' : 'rejected', result.body);
    return result;
  }

  private publish(
    id: ShadowId,
    operation: 'get' | 'update' | 'delete',
    suffix: 'accepted' | 'rejected' | 'delta' | 'documents',
    body: JsonObject,
  ): Promise<void> {
    const topic = shadowTopic({
      thingName: id.thingName,
      operation,
      suffix,
      ...(id.shadowName === undefined ? {} : { shadowName: id.shadowName }),
    });
    return this.props.publisher.publish(topic, JSON.stringify(body));
  }
}

/** The accepted document of a request already applied: rebuilt from the request and what it produced. */
function replayAccepted(request: UpdateRequest, seen: ClientTokenEntry): JsonObject {
  const state = request.state;
  const metadata: JsonObject = {};
  if (state !== null) {
    for (const section of ['desired', 'reported'] as const) {
      const patch = state[section];
      if (patch) metadata[section] = requestMetadata(patch, seen.timestamp) as unknown as JsonObject;
    }
  }
  return {
    state: state === null ? null : ({ ...state } as JsonObject),
    metadata,
    version: seen.version,
    timestamp: seen.timestamp,
    ...(request.clientToken === undefined ? {} : { clientToken: request.clientToken }),
  };
}

/** Best effort: the clientToken of a request that failed validation, so the rejection can echo it. */
function tokenOf(payload: Uint8Array | string): string | undefined {
  try {
    const body = JSON.parse(
      typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'),
    ) as unknown;
    const token = (body as { clientToken?: unknown } | null)?.clientToken;
    return typeof token === 'string' && Buffer.byteLength(token) <= 64 ? token : undefined;
  } catch {
    return undefined;
  }
}
