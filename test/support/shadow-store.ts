import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoShadowStore } from '../../lambdas/adapters/dynamo-shadow-store.ts';
import { AWS_SHADOW_LIMITS, type ShadowLimits } from '../../lambdas/domain/shadow/document.ts';
import type { Publisher } from '../../lambdas/ports.ts';
import { ShadowService } from '../../lambdas/services/shadow-service.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { topology } from '../../lib/topology.ts';

/** A publisher that keeps what it was asked to publish. */
export class RecordingPublisher implements Publisher {
  readonly messages: Array<{ topic: string; body: Record<string, unknown> }> = [];

  async publish(topic: string, payload: string): Promise<void> {
    this.messages.push({ topic, body: JSON.parse(payload) as Record<string, unknown> });
  }

  on(suffix: string): Array<Record<string, unknown>> {
    return this.messages.filter((m) => m.topic.endsWith(`/${suffix}`)).map((m) => m.body);
  }
}

/** dynalite with the shadow tables, a store on it, and a service factory. */
export interface ShadowFixture {
  dynamo: LocalDynamo;
  store: DynamoShadowStore;
  service(options?: { limits?: ShadowLimits; now?: () => number; publisher?: Publisher }): {
    service: ShadowService;
    publisher: RecordingPublisher;
  };
  close(): Promise<void>;
}

export async function startShadowFixture(): Promise<ShadowFixture> {
  const dynamo = await startDynamo({});
  await ensureTable(dynamo.client, 'shadows', topology.resources.shadows);
  const store = new DynamoShadowStore({
    client: DynamoDBDocumentClient.from(dynamo.client),
    tableName: 'shadows',
  });
  return {
    dynamo,
    store,
    service(options = {}) {
      const publisher = new RecordingPublisher();
      const service = new ShadowService({
        store,
        publisher: options.publisher ?? publisher,
        limits: options.limits ?? AWS_SHADOW_LIMITS,
        history: { maxEntries: 5, maxBytes: 16 * 1024 },
        log: { warn: () => {} },
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      return { service, publisher };
    },
    close: () => dynamo.close(),
  };
}
