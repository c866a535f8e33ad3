import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditFindings } from '../adapters/dynamo-audit-findings.ts';
import type { DynamoDeviceRegistry } from '../adapters/dynamo-device-registry.ts';
import { AUDIT_CHECKS } from '../domain/audit/checks.ts';
import type { AuditDevices } from '../domain/audit/ports.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';

/** The findings table, with the checks a listing goes through (functions that use `auditFindings`). */
export function auditFindingsFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv): DynamoAuditFindings {
  return new DynamoAuditFindings({
    client: dynamo,
    tableName: requireEnv(env, 'AUDIT_FINDINGS_TABLE_NAME'),
    checks: AUDIT_CHECKS.map((check) => check.id),
  });
}

/**
 * A whole-number setting of the audit, within bounds.
 *
 * @throws Error naming the setting and the value received, so a deployment's override is fixed at once
 */
export function auditSetting(env: HandlerEnv, name: string, min: number, max: number): number {
  const raw = requireEnv(env, name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`setting ${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

/** The registry's devices as the audit reads them, a page of its scan at a time. */
export function registryAuditDevices(registry: DynamoDeviceRegistry): AuditDevices {
  return {
    async page(limit, nextToken) {
      const page = await registry.list({ limit, ...(nextToken === undefined ? {} : { nextToken }) });
      return { ...page, items: page.items.map((record) => ({ ...record })) };
    },
  };
}
