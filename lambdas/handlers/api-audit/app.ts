import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { auditQuery } from '../../../lib/protocol/audit.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { AUDIT_CHECKS } from '../../domain/audit/checks.ts';
import { auditFindingsFrom } from '../../services/audit-setup.ts';
import { auditReport } from '../../services/fleet-audit.ts';
import { aws } from '../../shared/aws-config.ts';
import { httpErrorResponse, json, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-audit';

/**
 * Builds `GET /audit`: the findings the scheduled audit keeps — of one device (`deviceId`), of one check
 * (`check`), or of every check in turn — a page at a time, with the checks and where the audit is.
 * Reads by key and index only.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')));
  const findings = auditFindingsFrom(dynamo, env);

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      if (event.routeKey !== 'GET /audit') return unknownRoute(event.routeKey, SERVICE);
      const query = parseWith(auditQuery, event.queryStringParameters ?? {}, 'audit query');
      return json(200, await auditReport(findings, AUDIT_CHECKS, query));
    } catch (error) {
      return httpErrorResponse(error, log);
    }
  };
}
