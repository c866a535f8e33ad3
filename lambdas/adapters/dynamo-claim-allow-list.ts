import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type AllowListEntry, allowListEntry } from '../../lib/protocol/fleet-provisioning.ts';
import type { ClaimAllowList } from '../domain/identity/ports.ts';

export interface DynamoClaimAllowListProps {
  readonly client: DynamoDBDocumentClient;
  /** The `claimAllowList` table (`CLAIM_ALLOW_LIST_TABLE_NAME`). */
  readonly tableName: string;
}

/** Runs a conditional put: false when the condition failed. */
async function conditional(send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * The key of a certificate's binding to the serial it registered: `#` is never in a serial number (nor
 * in a thing name), so the item is never read as an entry.
 */
const bindingKey = (certificateId: string) => `certificate#${certificateId}`;

/**
 * The claim allow-list on DynamoDB: one item per serial number, and one per certificate that registered
 * a serial (`certificate#<id>`, the serial it is bound to). Every write is a single-item conditional
 * put (no transactions: dynalite has none), so the hook's claim and an operator's allow never overwrite a
 * change they did not read.
 */
export class DynamoClaimAllowList implements ClaimAllowList {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(props: DynamoClaimAllowListProps) {
    this.client = props.client;
    this.tableName = props.tableName;
  }

  async get(serialNumber: string): Promise<AllowListEntry | undefined> {
    const found = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { serialNumber }, ConsistentRead: true }),
    );
    // An item that does not read as an entry (edited by hand) admits nothing.
    const parsed = allowListEntry.safeParse(found.Item);
    return parsed.success ? parsed.data : undefined;
  }

  allow(entry: AllowListEntry, current: AllowListEntry | undefined): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: entry,
          // Unchanged since read: absent, or the same status and claim.
          ...(current === undefined
            ? { ConditionExpression: 'attribute_not_exists(serialNumber)' }
            : {
                ConditionExpression: '#s = :s AND allowedAt = :a',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':s': current.status, ':a': current.allowedAt },
              }),
        }),
      ),
    );
  }

  claim(entry: AllowListEntry): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: entry,
          ConditionExpression: '#s = :allowed OR claimedBy = :c',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':allowed': 'allowed', ':c': entry.claimedBy ?? '' },
        }),
      ),
    );
  }

  async certificateSerial(certificateId: string): Promise<string | undefined> {
    const found = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { serialNumber: bindingKey(certificateId) },
        ConsistentRead: true,
      }),
    );
    const boundTo = found.Item?.boundTo;
    return typeof boundTo === 'string' ? boundTo : undefined;
  }

  bindCertificate(certificateId: string, serialNumber: string): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { serialNumber: bindingKey(certificateId), certificateId, boundTo: serialNumber },
          ConditionExpression: 'attribute_not_exists(serialNumber) OR boundTo = :s',
          ExpressionAttributeValues: { ':s': serialNumber },
        }),
      ),
    );
  }
}
