import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestPlatform, type TestPlatform } from '../support/platform.ts';

/** AWS's documented MSK event (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html#msk-sample-event). */
const awsExample = JSON.parse(
  readFileSync(new URL('../fixtures/msk/aws-example-event.json', import.meta.url), 'utf8'),
).event as { records: Record<string, Array<Record<string, unknown>>> } & Record<string, unknown>;
const template = awsExample.records['mytopic-0']?.[0] ?? {};

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The IoT rule's envelope around a device payload, as the ingest rule writes it to iot-telemetry. */
function envelope(deviceId: string, payload: string, receivedAt = Date.now()): string {
  return JSON.stringify({
    payload: b64(payload),
    deviceType: 'tracker',
    deviceId,
    clientId: deviceId,
    receivedAt,
  });
}

/** AWS's example event, with its one record replaced by ours (same fields, our topic, keys and values). */
function mskEvent(records: Array<{ deviceId: string; value: string; offset: number; partition?: number }>) {
  const grouped: Record<string, Array<Record<string, unknown>>> = {};
  for (const r of records) {
    const partition = r.partition ?? 0;
    const list = grouped[`iot-telemetry-${partition}`] ?? [];
    list.push({
      ...template,
      topic: 'iot-telemetry',
      partition,
      offset: r.offset,
      key: b64(r.deviceId),
      value: b64(r.value),
    });
    grouped[`iot-telemetry-${partition}`] = list;
  }
  return { ...awsExample, records: grouped };
}

describe('stream-processor handler on MSK events shaped as AWS documents them', () => {
  let t: TestPlatform;
  let invoke: (event: unknown) => Promise<unknown>;

  beforeAll(async () => {
    t = await startTestPlatform();
    const fn = t.platform.functions.get('streamProcessor');
    if (fn === undefined) throw new Error('no streamProcessor function');
    invoke = (event) => fn.invoke(event);
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('accepts AWS’s own example event: its record is not telemetry, so it is dead-lettered, and the batch succeeds', async () => {
    const summary = await invoke(awsExample);

    expect(summary).toMatchObject({ records: 1, readings: 0, rejected: 1 });
  });

  it('processes good records, rejects bad ones with reasons, and updates the registry', async () => {
    // Act
    const summary = await invoke(
      mskEvent([
        {
          deviceId: 'msk-1',
          offset: 100,
          value: envelope(
            'msk-1',
            JSON.stringify({ ts: Date.now(), values: { temperature: 21, battery: 77 } }),
          ),
        },
        { deviceId: 'msk-1', offset: 101, value: 'not an envelope' },
        {
          deviceId: 'msk-2',
          offset: 7,
          partition: 3,
          value: envelope(
            'msk-2',
            JSON.stringify({ readings: [{ ts: Date.now(), values: { temperature: 90 } }] }),
          ),
        },
      ]),
    );

    // Assess
    expect(summary).toMatchObject({ records: 3, readings: 2, rejected: 1, alerts: 1 });
    expect((await getJson(t.platform, '/devices/msk-1')).body.battery).toEqual({ percent: 77 });
    expect((await getJson(t.platform, '/alerts?deviceId=msk-2')).body.alerts[0]).toMatchObject({
      type: 'HIGH_TEMPERATURE',
    });
  });

  it('skips records it has already applied when Lambda redelivers a batch', async () => {
    const event = mskEvent([
      {
        deviceId: 'msk-3',
        offset: 5,
        value: envelope('msk-3', JSON.stringify({ ts: Date.now(), values: { temperature: 20 } })),
      },
    ]);
    await invoke(event);

    const again = await invoke(event);

    expect(again).toMatchObject({ records: 1, readings: 0, skipped: 1 });
  });

  it('applies the records of a cluster created anew, whose offsets started again, and warns once', async () => {
    // Prepare: offset 40 of the topic applied from AWS's example cluster
    const start = Date.now();
    const reading = (offset: number, ts: number, temperature: number) =>
      mskEvent([
        {
          deviceId: 'msk-4',
          offset,
          value: envelope('msk-4', JSON.stringify({ ts, values: { temperature } })),
        },
      ]);
    await invoke(reading(40, start, 20));
    const newCluster =
      'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5-1';

    // Act: the same topic on the new cluster, from offset 0; then that batch delivered again
    const summary = await invoke({ ...reading(0, start + 1000, 88.8), eventSourceArn: newCluster });
    const again = await invoke({ ...reading(0, start + 1000, 88.8), eventSourceArn: newCluster });

    // Assess
    expect(summary).toMatchObject({ readings: 1, skipped: 0, restartedLogs: 1 });
    expect(again).toMatchObject({ readings: 0, skipped: 1, restartedLogs: 0 });
    expect((await getJson(t.platform, '/alerts?deviceId=msk-4')).body.alerts).toContainEqual(
      expect.objectContaining({ type: 'HIGH_TEMPERATURE', state: 'raised', value: 88.8 }),
    );
    const warnings = t.lines.filter((line) => line.includes('topic log started over'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] as string)).toMatchObject({
      level: 'warn',
      log: '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5-1/iot-telemetry',
      previousLog: '751d2973-a626-431c-9d4e-d7975eb44dd7-2/iot-telemetry',
      devices: 1,
      example: { deviceId: 'msk-4', partition: 0, offset: '0', previousOffset: '40' },
    });
  });

  it('refuses an event that is not an MSK event, so Lambda retries rather than drops it', async () => {
    await expect(invoke({ records: 'nope' })).rejects.toThrow(/MSK event/);
  });
});
