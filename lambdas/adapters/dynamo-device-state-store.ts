import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeviceStreamState } from '../domain/telemetry/state.ts';
import type { DeviceStateStore } from '../ports.ts';
import { batchGet } from './dynamo-batch.ts';

/**
 * Stream processor state, one item per device: the state as JSON text plus a revision. The processor
 * and the sweeper both write it; the revision condition makes the loser re-read instead of overwrite.
 */
export class DynamoDeviceStateStore implements DeviceStateStore {
  constructor(
    private readonly props: { readonly client: DynamoDBDocumentClient; readonly tableName: string },
  ) {}

  async loadMany(
    deviceIds: readonly string[],
  ): Promise<Map<string, { state: DeviceStreamState; revision: number }>> {
    const unique = [...new Set(deviceIds)];
    const items = await batchGet(
      this.props.client,
      this.props.tableName,
      unique.map((deviceId) => ({ deviceId })),
    );
    const out = new Map<string, { state: DeviceStreamState; revision: number }>();
    for (const item of items) {
      out.set(item.deviceId as string, {
        state: JSON.parse(item.state as string) as DeviceStreamState,
        revision: item.revision as number,
      });
    }
    return out;
  }

  async save(state: DeviceStreamState, expectedRevision: number | undefined): Promise<'saved' | 'conflict'> {
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: {
            deviceId: state.deviceId,
            revision: (expectedRevision ?? 0) + 1,
            state: JSON.stringify(state),
          },
          ...(expectedRevision === undefined
            ? { ConditionExpression: 'attribute_not_exists(deviceId)' }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': expectedRevision },
              }),
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }
}
