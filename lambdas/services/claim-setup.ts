import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoClaimAllowList } from '../adapters/dynamo-claim-allow-list.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';
import { ClaimService } from './claim-service.ts';

/**
 * The claim allow-list's service, for the functions that use `claimAllowList` (the hook and the identity
 * API). Apart from `identity-setup.ts` so the hook bundles no IoT client.
 */
export function claimServiceFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv, now: () => number) {
  const tableName = requireEnv(env, 'CLAIM_ALLOW_LIST_TABLE_NAME');
  return new ClaimService({ allowList: new DynamoClaimAllowList({ client: dynamo, tableName }), now });
}
