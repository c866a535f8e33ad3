import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeviceRegistry, onlineShard } from '../../lambdas/adapters/dynamo-device-registry.ts';
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

  it('stores a first sighting with firstSeen = lastSeen, online, and returns the new record', async () => {
    const result = await registry.recordSighting(update('r-1', 1_000, { battery: { percent: 50 } }));

    const stored = {
      deviceId: 'r-1',
      deviceType: 'tracker',
      lastSeen: 1_000,
      firstSeen: 1_000,
      firmwareVersion: '1.0.0',
      battery: { percent: 50 },
      online: true,
    };
    expect(result).toEqual({ outcome: 'applied', after: stored });
    expect(await registry.get('r-1')).toEqual(stored);
  });

  it('returns the record before and after a later sighting', async () => {
    await registry.recordSighting(update('r-4', 1_000, { battery: { percent: 50 } }));

    const result = await registry.recordSighting(update('r-4', 2_000, { battery: { percent: 10 } }));

    expect(result).toMatchObject({
      outcome: 'applied',
      before: { battery: { percent: 50 } },
      after: { battery: { percent: 10 }, lastSeen: 2_000, firstSeen: 1_000 },
    });
    expect(await registry.get('r-4')).toEqual(result.outcome === 'applied' ? result.after : undefined);
  });

  it('finds silent online devices through the online index and marks them offline once', async () => {
    await registry.recordSighting(update('quiet-1', 10_000));
    await registry.recordSighting(update('loud-1', 90_000));
    const shard = Number(onlineShard('quiet-1').split('#')[1]);

    const silent = await registry.silentDevices(shard, 50_000, 100);
    const marked = await registry.markOffline('quiet-1', 10_000);
    const again = await registry.markOffline('quiet-1', 10_000);

    expect(silent.map((d) => d.deviceId)).toContain('quiet-1');
    expect(silent.map((d) => d.deviceId)).not.toContain('loud-1');
    expect(marked?.after.online).toBe(false);
    expect(again).toBeUndefined();
    expect(await registry.silentDevices(shard, 50_000, 100)).not.toContainEqual(
      expect.objectContaining({ deviceId: 'quiet-1' }),
    );
  });

  it('does not mark offline a device seen again since the sweeper looked', async () => {
    await registry.recordSighting(update('racer', 10_000));
    await registry.recordSighting(update('racer', 20_000));

    expect(await registry.markOffline('racer', 10_000)).toBeUndefined();
    expect((await registry.get('racer'))?.online).toBe(true);
  });

  it('ignores a status older than the stored one (out-of-order delivery) and reports it stale', async () => {
    await registry.recordSighting(update('r-2', 2_000, { firmwareVersion: '2.0.0' }));

    const result = await registry.recordSighting(update('r-2', 1_500, { firmwareVersion: '1.0.0' }));

    expect(result).toEqual({ outcome: 'stale' });
    expect((await registry.get('r-2'))?.firmwareVersion).toBe('2.0.0');
  });

  it('keeps stored fields a newer status omits, keeps firstSeen, and moves lastSeen', async () => {
    await registry.recordSighting(update('r-3', 1_000, { battery: { percent: 70 }, signal: { rsrp: -100 } }));

    await registry.recordSighting(update('r-3', 3_000, { signal: { rsrp: -90 } }));

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
      await registry.recordSighting(update(`page-${i}`, 1_000, { deviceType: 'pager' }));

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
