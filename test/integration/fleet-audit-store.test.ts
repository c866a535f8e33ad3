import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditFindings } from '../../lambdas/adapters/dynamo-audit-findings.ts';
import { DynamoCertificateStore } from '../../lambdas/adapters/dynamo-certificate-store.ts';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { encodePageToken } from '../../lambdas/adapters/page-token.ts';
import { AUDIT_CHECKS, neverSeen, tls12 } from '../../lambdas/domain/audit/checks.ts';
import type { IotInspector } from '../../lambdas/domain/audit/ports.ts';
import { InvalidTokenError } from '../../lambdas/domain/errors.ts';
import type { CertificateRecord } from '../../lambdas/domain/identity/ports.ts';
import { registryAuditDevices } from '../../lambdas/services/audit-setup.ts';
import { auditReport, FleetAudit } from '../../lambdas/services/fleet-audit.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { topology } from '../../lib/topology.ts';

/**
 * The scheduled audit's bookkeeping on dynalite, with the real adapters: a pass over the registry in
 * bounded runs resumed from a cursor, findings replaced per device and listed by key and index (never a
 * scan), and the count of active certificates expiring soon from the certificates table's sparse index.
 */

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let clock = NOW;
const iotCalls: string[] = [];

/** IoT's registry: no certificates attached anywhere; every call is counted. */
const iot: IotInspector = {
  thingPrincipals: async (thing) => {
    iotCalls.push(`thingPrincipals ${thing}`);
    return [];
  },
  describeCertificate: async () => undefined,
  principalThings: async () => [],
  attachedPolicies: async () => [],
};

const certificate = (deviceId: string, id: string, extra: Partial<CertificateRecord>): CertificateRecord => ({
  deviceId,
  certificateId: id,
  certificateArn: `arn:aws:iot:us-east-1:000000000000:cert/${id}`,
  deviceType: 'tracker',
  status: 'ACTIVE',
  origin: 'provisioned',
  publicKeySha256: '00',
  notBefore: NOW - DAY,
  notAfter: NOW + 365 * DAY,
  createdAt: NOW - DAY,
  activatedAt: NOW - DAY,
  confirmedAt: NOW - DAY,
  ...extra,
});

function audit(checks = AUDIT_CHECKS) {
  const findings = new DynamoAuditFindings({
    client: doc,
    tableName: 'findings',
    checks: AUDIT_CHECKS.map((c) => c.id),
  });
  const certificates = new DynamoCertificateStore({ client: doc, tableName: 'certificates' });
  const service = new FleetAudit({
    devices: registryAuditDevices(new DynamoDeviceRegistry({ client: doc, tableName: 'registry' })),
    certificates,
    iot,
    findings,
    checks,
    settings: {
      devicePolicyName: 'fleetkit-test-device',
      expiryDays: 30,
      neverSeenHours: 24,
      conflictWindowHours: 168,
      unconfirmedRotationHours: 24,
    },
    devicesPerRun: 2,
    findingTtlMs: 30 * DAY,
    now: () => clock,
  });
  return { service, findings, certificates };
}

beforeAll(async () => {
  dynamo = await startDynamo({});
  await ensureTable(dynamo.client, 'registry', topology.resources.registry);
  await ensureTable(dynamo.client, 'certificates', topology.resources.certificates);
  await ensureTable(dynamo.client, 'findings', topology.resources.auditFindings);
  doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  // Five devices: two on TLS 1.2, two provisioned long ago and never seen, one healthy
  const devices = [
    { deviceId: 'a-1', deviceType: 'tracker', lastSeen: NOW - 1000, tlsVersion: 'TLSv1.2' },
    { deviceId: 'a-2', deviceType: 'tracker', lastSeen: NOW - 1000, tlsVersion: 'TLSv1.2' },
    { deviceId: 'a-3', deviceType: 'tracker', provisionedAt: NOW - 3 * DAY },
    { deviceId: 'a-4', deviceType: 'tracker', provisionedAt: NOW - 3 * DAY },
    { deviceId: 'a-5', deviceType: 'tracker', lastSeen: NOW - 1000, tlsVersion: 'TLSv1.3' },
  ];
  for (const item of devices) await doc.send(new PutCommand({ TableName: 'registry', Item: item }));
});

afterAll(async () => {
  await dynamo.close();
});

describe('the fleet audit on DynamoDB', () => {
  it('covers the fleet in bounded runs from a cursor, and says when a pass completed', async () => {
    // Act
    const { service, findings } = audit([tls12, neverSeen]);
    const runs = [await service.run(), await service.run(), await service.run()];

    // Assess: 2 + 2 + 1 devices, the pass completed on the third run; no IoT call (no check needs it)
    expect(runs.map((r) => [r.audited, r.passCompleted])).toEqual([
      [2, false],
      [2, false],
      [1, true],
    ]);
    expect(await findings.state()).toEqual({
      passStartedAt: NOW,
      devicesThisPass: 0,
      lastPassCompletedAt: NOW,
      lastPassDevices: 5,
      lastRunAt: NOW,
    });
    expect(iotCalls).toEqual([]);
    expect(runs.reduce((n, r) => n + r.found, 0)).toBe(4);
  });

  it('lists every finding a page at a time, check after check, by index', async () => {
    // Act: pages of one finding, following the tokens
    const { findings } = audit();
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await auditReport(findings, AUDIT_CHECKS, {
        limit: 1,
        ...(nextToken === undefined ? {} : { nextToken }),
      });
      seen.push(...page.findings.map((f) => `${f.check} ${f.deviceId}`));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined && pages < 50);

    // Assess: in the checks' order (TLS before never-seen), each once
    expect(seen).toEqual([
      'DEVICE_USES_TLS_1_2 a-1',
      'DEVICE_USES_TLS_1_2 a-2',
      'DEVICE_NEVER_SEEN a-3',
      'DEVICE_NEVER_SEEN a-4',
    ]);
  });

  it('lists one device’s findings, and one check’s', async () => {
    const { findings } = audit();
    expect((await findings.list({ deviceId: 'a-3', limit: 10 })).items.map((f) => f.check)).toEqual([
      'DEVICE_NEVER_SEEN',
    ]);
    expect(
      (await findings.list({ check: 'DEVICE_USES_TLS_1_2', limit: 10 })).items.map((f) => f.deviceId),
    ).toEqual(['a-1', 'a-2']);
    // A token naming a check the listing does not go through is refused, not an empty last page
    await expect(
      findings.list({ limit: 1, nextToken: encodePageToken({ check: 'NO_SUCH_CHECK' }) }),
    ).rejects.toThrow(InvalidTokenError);
  });

  it('removes a finding the next pass no longer finds, and keeps when others were first found', async () => {
    // Prepare: a-1 moves to TLS 1.3, a day later
    await doc.send(
      new PutCommand({
        TableName: 'registry',
        Item: { deviceId: 'a-1', deviceType: 'tracker', lastSeen: NOW, tlsVersion: 'TLSv1.3' },
      }),
    );
    clock = NOW + DAY;
    const { service, findings } = audit([tls12, neverSeen]);

    // Act: a whole pass
    const runs = [await service.run(), await service.run(), await service.run()];

    // Assess
    expect(runs.reduce((n, r) => n + r.resolved, 0)).toBe(1);
    const tls = await findings.list({ check: 'DEVICE_USES_TLS_1_2', limit: 10 });
    expect(tls.items.map((f) => [f.deviceId, f.firstFoundAt, f.checkedAt])).toEqual([
      ['a-2', NOW, NOW + DAY],
    ]);
  });

  it('counts the active certificates expiring within the window, across shards, and no others', async () => {
    // Prepare
    const { service, certificates } = audit([]);
    const records = [
      certificate('a-1', 'c1', { notAfter: clock + 10 * DAY }),
      certificate('a-2', 'c2', { notAfter: clock + 29 * DAY }),
      certificate('a-3', 'c3', { notAfter: clock - DAY }),
      certificate('a-4', 'c4', { notAfter: clock + 31 * DAY }),
      certificate('a-5', 'c5', { notAfter: clock + DAY, status: 'REVOKED' }),
      certificate('a-5', 'c6', { notAfter: clock + DAY, status: 'INACTIVE', deleteAfter: clock + DAY }),
    ];
    for (const record of records) await certificates.put(record);
    // An active certificate revoked later leaves the index
    await certificates.put(certificate('a-2', 'c7', { notAfter: clock + DAY }));
    await certificates.put(certificate('a-2', 'c7', { notAfter: clock + DAY, status: 'REVOKED' }));

    // Act
    const result = await service.run();

    // Assess: c1, c2 and the expired c3
    expect(result.expiringCertificates).toBe(3);
  });
});
