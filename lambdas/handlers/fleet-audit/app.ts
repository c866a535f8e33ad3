import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { METRICS } from '../../../lib/protocol/metrics.ts';
import { DynamoCertificateStore } from '../../adapters/dynamo-certificate-store.ts';
import { DynamoDeviceRegistry } from '../../adapters/dynamo-device-registry.ts';
import { IotThingRegistry } from '../../adapters/iot-thing-registry.ts';
import { AUDIT_CHECKS } from '../../domain/audit/checks.ts';
import { auditFindingsFrom, auditSetting, registryAuditDevices } from '../../services/audit-setup.ts';
import { type AuditRunResult, FleetAudit } from '../../services/fleet-audit.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'fleet-audit';
const HOUR_MS = 3_600_000;

/**
 * Builds the scheduled fleet audit (`services/fleet-audit.ts`): each run audits the next page of the
 * registry and emits the count of ACTIVE certificates expiring within `AUDIT_EXPIRY_DAYS`, which the
 * monitoring stack alarms on.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const devicePolicyName = requireEnv(env, 'THINGS_POLICY_NAME');
  const audit = new FleetAudit({
    devices: registryAuditDevices(
      new DynamoDeviceRegistry({ client: dynamo, tableName: requireEnv(env, 'REGISTRY_TABLE_NAME') }),
    ),
    certificates: new DynamoCertificateStore({
      client: dynamo,
      tableName: requireEnv(env, 'CERTIFICATES_TABLE_NAME'),
    }),
    iot: new IotThingRegistry({ client: new IoTClient(aws(env, 'IOT')), devicePolicyName }),
    findings: auditFindingsFrom(dynamo, env),
    checks: AUDIT_CHECKS,
    settings: {
      devicePolicyName,
      expiryDays: auditSetting(env, 'AUDIT_EXPIRY_DAYS', 1, 365),
      neverSeenHours: auditSetting(env, 'AUDIT_NEVER_SEEN_HOURS', 1, 24 * 365),
      conflictWindowHours: auditSetting(env, 'AUDIT_CLIENT_ID_CONFLICT_HOURS', 1, 24 * 90),
      unconfirmedRotationHours: auditSetting(env, 'AUDIT_UNCONFIRMED_ROTATION_HOURS', 1, 24 * 90),
    },
    devicesPerRun: auditSetting(env, 'AUDIT_DEVICES_PER_RUN', 1, 10_000),
    findingTtlMs: auditSetting(env, 'AUDIT_FINDING_TTL_DAYS', 1, 365) * 24 * HOUR_MS,
    now: runtime.now,
  });

  return async function handler(_event: unknown): Promise<AuditRunResult> {
    const result = await audit.run();
    metrics.put(METRICS.certificatesExpiringSoon, result.expiringCertificates);
    metrics.put('DevicesAudited', result.audited);
    if (result.found > 0 || result.resolved > 0 || result.passCompleted) log.info('audit run', { ...result });
    return result;
  };
}
