import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type SignedKeySet, signedKeySet } from '../../lib/protocol/jobs.ts';

/** The catalog item that holds the key set: not a semantic version, so it never collides with firmware. */
export const KEY_SET_ITEM = 'trust#keyset';

export interface DynamoKeySetStoreProps {
  readonly client: DynamoDBDocumentClient;
  /** The firmware catalog table: the key set is one more item in it, readable wherever firmware is. */
  readonly tableName: string;
}

/** The signed key set, one item of the firmware catalog table, replaced only from the version read. */
export class DynamoKeySetStore {
  constructor(private readonly props: DynamoKeySetStoreProps) {}

  async get(): Promise<SignedKeySet | undefined> {
    const { Item } = await this.props.client.send(
      new GetCommand({
        TableName: this.props.tableName,
        Key: { version: KEY_SET_ITEM },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : signedKeySet.parse(Item.keySet);
  }

  /** Stores `next` if the stored set is still version `expected` (undefined: none stored). */
  async put(next: SignedKeySet, expected: number | undefined): Promise<'saved' | 'conflict'> {
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: { version: KEY_SET_ITEM, setVersion: next.manifest.version, keySet: next },
          ConditionExpression:
            expected === undefined ? 'attribute_not_exists(#version)' : 'setVersion = :expected',
          ...(expected === undefined
            ? { ExpressionAttributeNames: { '#version': 'version' } }
            : { ExpressionAttributeValues: { ':expected': expected } }),
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }
}
