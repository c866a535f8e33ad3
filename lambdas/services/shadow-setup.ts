import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoShadowStore } from '../adapters/dynamo-shadow-store.ts';
import { IotDataPublisher } from '../adapters/iot-data-publisher.ts';
import { AWS_SHADOW_LIMITS, type ShadowLimits } from '../domain/shadow/document.ts';
import type { Logger } from '../shared/logger.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';
import { ShadowService } from './shadow-service.ts';

function wholeNumber(env: HandlerEnv, name: string, fallback: number, max: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`setting ${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

/**
 * The deployment's shadow limits. DynamoDB items hold at most 400 KB, so that bounds the state size
 * (a stored shadow is its state plus metadata, which can be as large again).
 */
export function shadowLimitsFromEnv(env: HandlerEnv): ShadowLimits {
  return {
    maxStateBytes: wholeNumber(env, 'SHADOW_MAX_STATE_BYTES', AWS_SHADOW_LIMITS.maxStateBytes, 128 * 1024),
    maxDepth: wholeNumber(env, 'SHADOW_MAX_DEPTH', AWS_SHADOW_LIMITS.maxDepth, 32),
    maxClientTokenBytes: AWS_SHADOW_LIMITS.maxClientTokenBytes,
  };
}

/** Builds the shadow service from the clients a handler created once, and its env. */
export function shadowServiceFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly iotData: IoTDataPlaneClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly now: () => number;
}): { service: ShadowService; store: DynamoShadowStore; limits: ShadowLimits } {
  const store = new DynamoShadowStore({
    client: deps.dynamo,
    tableName: requireEnv(deps.env, 'SHADOWS_TABLE_NAME'),
  });
  const limits = shadowLimitsFromEnv(deps.env);
  const service = new ShadowService({
    store,
    publisher: new IotDataPublisher({ client: deps.iotData }),
    limits,
    history: {
      maxEntries: wholeNumber(deps.env, 'SHADOW_HISTORY_VERSIONS', 20, 1000),
      maxBytes: wholeNumber(deps.env, 'SHADOW_HISTORY_MAX_BYTES', 16 * 1024, 128 * 1024),
    },
    // Shadows this instance wrote last, to save the read before its next write to them; 0 turns it off.
    recentShadows: wholeNumber(deps.env, 'SHADOW_RECENT_CACHE_ENTRIES', 2_000, 100_000, 0),
    log: deps.log,
    now: deps.now,
  });
  return { service, store, limits };
}
