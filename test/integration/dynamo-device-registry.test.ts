import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { InvalidTokenError } from '../../lambdas/domain/errors.ts';
import type { DeviceStatusUpdate } from '../../lambdas/ports.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { topology } from '../../lib/topology.ts';

const update = (
  deviceId: string,
  lastSeen: number,
  extra: Partial<DeviceStatusUpdate> = {},
): DeviceStatusUpdate => ({
  deviceId,
  deviceType: 'tracker',
  lastSeen,
  firmwareVersion: '1.0.0',
  ...extra,
});

describe('DynamoDeviceRegistry on dynalite', () => {
  let dynamo: LocalDynamo;
  let registry: DynamoDeviceRegistry;

  beforeAll(async () => {
    dynamo = await startDynamo({});
    await ensureTable(dynamo.client, 'registry', topology.resources.registry);
    registry = new DynamoDeviceRegistry({
      client: DynamoDBDocumentClient.from(dynamo.client, {
        marshallOptions: { removeUndefinedValues: true },
      }),
      tableName: 'registry',
    });
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('stores a first status with firstSeen = lastSeen', async () => {
    const outcome = await registry.recordStatus(update('r-1', 1_000, { battery: { percent: 50 } }));

    expect(outcome).toBe('applied');
    expect(await registry.get('r-1')).toEqual({
      deviceId: 'r-1',
      deviceType: 'tracker',
      lastSeen: 1_000,
      firstSeen: 1_000,
      firmwareVersion: '1.0.0',
      battery: { percent: 50 },
    });
  });

  it('ignores a status older than the stored one (out-of-order delivery) and reports it stale', async () => {
    await registry.recordStatus(update('r-2', 2_000, { firmwareVersion: '2.0.0' }));

    const outcome = await registry.recordStatus(update('r-2', 1_500, { firmwareVersion: '1.0.0' }));

    expect(outcome).toBe('stale');
    expect((await registry.get('r-2'))?.firmwareVersion).toBe('2.0.0');
  });

  it('keeps stored fields a newer status omits, keeps firstSeen, and moves lastSeen', async () => {
    await registry.recordStatus(update('r-3', 1_000, { battery: { percent: 70 }, signal: { rsrp: -100 } }));

    await registry.recordStatus(update('r-3', 3_000, { signal: { rsrp: -90 } }));

    expect(await registry.get('r-3')).toMatchObject({
      lastSeen: 3_000,
      firstSeen: 1_000,
      battery: { percent: 70 },
      signal: { rsrp: -90 },
    });
  });

  it('returns undefined for an unknown device', async () => {
    expect(await registry.get('nobody')).toBeUndefined();
  });

  it('pages through every device exactly once', async () => {
    // Prepare
    for (let i = 0; i < 7; i++)
      await registry.recordStatus(update(`page-${i}`, 1_000, { deviceType: 'pager' }));

    // Act
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await registry.list({
        deviceType: 'pager',
        limit: 3,
        ...(nextToken ? { nextToken } : {}),
      });
      seen.push(...page.items.map((d) => d.deviceId));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined);

    // Assess
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('scans all types when no type is given', async () => {
    const all = await registry.list({ limit: 100 });

    expect(new Set(all.items.map((d) => d.deviceType))).toEqual(new Set(['tracker', 'pager']));
  });

  it('refuses a token it did not issue, and a token from a query on another type', async () => {
    const first = await registry.list({ deviceType: 'pager', limit: 1 });

    await expect(registry.list({ limit: 5, nextToken: 'not-a-token' })).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    await expect(
      registry.list({
        deviceType: 'tracker',
        limit: 5,
        ...(first.nextToken ? { nextToken: first.nextToken } : {}),
      }),
    ).rejects.toBeInstanceOf(InvalidTokenError);
  });
});
