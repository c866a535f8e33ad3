import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

/**
 * Optimistic locking on one item: puts `item` only if the stored one is still at `expectedVersion`
 * (its `version` attribute), or, with `expectedVersion` undefined, only if none is stored yet (no
 * `keyAttribute`). A single conditional write, so it works on dynalite (no transactions).
 *
 * @returns `conflict` when the item exists (create) or moved on (update)
 */
export async function putVersioned(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  keyAttribute: string,
  expectedVersion: number | undefined,
): Promise<'saved' | 'conflict'> {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ...(expectedVersion === undefined
          ? {
              ConditionExpression: 'attribute_not_exists(#key)',
              ExpressionAttributeNames: { '#key': keyAttribute },
            }
          : {
              ConditionExpression: '#version = :v',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':v': expectedVersion },
            }),
      }),
    );
    return 'saved';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'conflict';
    throw error;
  }
}
