import { describe, expect, it } from 'vitest';
import {
  type BatchResult,
  processBatch,
  type StreamRecord,
} from '../../../../lambdas/domain/telemetry/batch.ts';
import type { DeviceStreamState } from '../../../../lambdas/domain/telemetry/state.ts';
import { at, deepFreeze, edgeLine, LOG, recordsFixture, ruleRecordValue, rulesFixture } from './support.ts';

const rules = rulesFixture('engine.json');
const NOW = at(3600);
const none = new Map<string, DeviceStreamState>();

/** A log other than {@link LOG}: the same topic on a new cluster, its offsets counting from 0 again. */
const NEW_LOG = 'f0e1d2c3-0000-4000-8000-000000000002-1/iot-telemetry';

/** A record of one reading of `dev-1`, received a second after it was taken. */
function reading(
  offset: string | number,
  seconds: number,
  values: Record<string, number>,
  partition = 0,
  log = LOG,
): StreamRecord {
  const envelope = {
    deviceType: 'sensor',
    deviceId: 'dev-1',
    clientId: 'dev-1',
    receivedAt: at(seconds + 1),
  };
  return {
    log,
    partition,
    offset: String(offset),
    value: ruleRecordValue(envelope, JSON.stringify({ ts: at(seconds), values })),
  };
}

/** Temperature every 10 s for `count` records from offset `first`: enough to close a few windows. */
const series = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    reading(first + i, (first + i) * 10, { temperature: 20 + ((first + i) % 7) }),
  );

/** The state a batch left for `dev-1`. */
function stateOfDev1(result: BatchResult | undefined): DeviceStreamState {
  const state = result?.states.get('dev-1');
  if (state === undefined) throw new Error('expected a state for dev-1');
  return state;
}

/** What downstream would store from a run of batches: everything but the states. */
function emitted(results: readonly BatchResult[]) {
  return {
    readings: results.flatMap((r) => r.readings),
    alerts: results.flatMap((r) => r.alerts),
    closedWindows: results.flatMap((r) => r.closedWindows),
  };
}

/** Runs batches one after another, carrying states between them as the handler's table would. */
function runBatches(batches: readonly (readonly StreamRecord[])[]): BatchResult[] {
  const stored = new Map<string, DeviceStreamState>();
  return batches.map((records) => {
    const result = processBatch(records, stored, rules, NOW);
    for (const [id, state] of result.states) stored.set(id, JSON.parse(JSON.stringify(state)));
    return result;
  });
}

describe('processBatch on a batch of good and bad records', () => {
  const result = processBatch(recordsFixture('mixed-batch.json'), none, rules, NOW);

  it('rejects each bad record with its offset, stage and reason, and changes nothing for it', () => {
    expect(result.rejected).toEqual([
      {
        partition: 3,
        offset: '1001',
        stage: 'record',
        reason: expect.stringMatching(/^invalid Kafka record: not valid JSON/),
      },
      {
        partition: 3,
        offset: '1003',
        stage: 'envelope',
        reason: expect.stringMatching(/^invalid rule event: deviceId: /),
      },
      {
        partition: 3,
        offset: '1004',
        stage: 'payload',
        reason: expect.stringMatching(/^invalid telemetry payload: not valid JSON/),
      },
      {
        partition: 3,
        offset: '1005',
        stage: 'telemetry',
        reason: expect.stringMatching(/^invalid telemetry payload: values\.temperature: /),
      },
      {
        partition: 3,
        offset: '1007',
        stage: 'envelope',
        reason: expect.stringMatching(/^invalid rule event: payload: /),
      },
    ]);
  });

  it('processes the good records in record order, each batch sorted by reading time', () => {
    expect(result.readings.map((r) => `${r.deviceId} ${r.ts - at(0)} ${JSON.stringify(r.values)}`)).toEqual([
      'dev-a 5000 {"temperature":21.5,"humidity":40}',
      'dev-b 10000 {"temperature":-20}',
      'dev-b 20000 {"temperature":-19.5}',
      'dev-a 65000 {"temperature":51,"humidity":41}',
      'dev-b 30000 {"temperature":-14}',
    ]);
    expect(result.readings[0]).toEqual({
      deviceId: 'dev-a',
      deviceType: 'sensor',
      ts: at(5),
      seq: 7,
      values: { temperature: 21.5, humidity: 40 },
      receivedAt: at(6),
    });
  });

  it('raises alerts in record order, with the device type of the topic', () => {
    expect(result.alerts.map((a) => `${a.deviceId}:${a.deviceType} ${edgeLine(a)}`)).toEqual([
      'dev-a:sensor raised HIGH_TEMPERATURE @65s 51 vs 50',
      'dev-a:sensor raised TEMPERATURE_SPIKE @65s 29.5 vs 5',
      'dev-b:freezer raised FREEZER_WARM @30s -14 vs -15',
      'dev-b:freezer raised TEMPERATURE_SPIKE @30s 33 vs 5',
    ]);
  });

  it('closes windows as readings reach the next minute, and returns states of the devices it changed', () => {
    expect(result.closedWindows.map((w) => `${w.id} ${JSON.stringify(w.metrics.temperature)}`)).toEqual([
      `dev-a/${at(0)} {"min":21.5,"max":21.5,"mean":21.5,"sum":21.5,"count":1}`,
    ]);
    expect([...result.states.keys()]).toEqual(['dev-a', 'dev-b']);
    expect(result.states.get('dev-a')).toMatchObject({
      offsets: { '3': '1006' },
      updatedAt: NOW,
      lastSeen: at(66),
    });
    expect(result.states.get('dev-b')).toMatchObject({ offsets: { '3': '1008' }, deviceType: 'freezer' });
    expect(result).toMatchObject({ lateReadings: 0, skipped: 0 });
  });
});

describe('processBatch exactly once into state', () => {
  it('skips a redelivered batch entirely: nothing emitted, no state changed', () => {
    const records = recordsFixture('mixed-batch.json');
    const first = processBatch(records, none, rules, NOW);
    const again = processBatch(records, first.states, rules, NOW + 1000);
    // The four good records, and the two bad payloads of dev-a below its applied offset.
    expect(again).toMatchObject({ readings: [], alerts: [], closedWindows: [], lateReadings: 0, skipped: 6 });
    expect(again.states.size).toBe(0);
    // Records with no readable device change no state, so they are refused again, for the same reasons.
    expect(again.rejected.map((r) => r.offset)).toEqual(['1001', '1003', '1007']);
    expect(again.rejected).toEqual(first.rejected.filter((r) => ['1001', '1003', '1007'].includes(r.offset)));
  });

  it('after a crash between state write and offset commit, the replay adds nothing twice', () => {
    // Batch 1 is records 0-19; the state is written, the commit is lost; Kafka replays from 10.
    const once = runBatches([series(0, 40)]);
    const replayed = runBatches([series(0, 20), series(10, 30)]);
    expect(emitted(replayed)).toEqual(emitted(once));
    expect(replayed[1]?.skipped).toBe(10);
  });

  it('gives the same alert and window ids whenever the records are processed', () => {
    const records = [
      reading(0, 0, { temperature: 20 }),
      reading(1, 50, { temperature: 60 }),
      reading(2, 410, { temperature: 45 }),
    ];
    const ids = (r: BatchResult) => [
      ...r.alerts.map((a) => `${a.state} ${a.id}`),
      ...r.closedWindows.map((w) => w.id),
    ];
    const first = processBatch(records, none, rules, NOW);
    expect(ids(first)).toEqual([
      `raised dev-1/high-temperature/${at(50)}`,
      `raised dev-1/temperature-spike/${at(50)}`,
      `cleared dev-1/high-temperature/${at(50)}`,
      `cleared dev-1/temperature-spike/${at(50)}`,
      `dev-1/${at(0)}`,
    ]);
    expect(ids(processBatch(records, none, rules, NOW + 99_000))).toEqual(ids(first));
  });

  it.each<[string, StreamRecord[], StreamRecord, 'applied' | 'skipped']>([
    [
      'a lower offset of the same partition is skipped',
      [reading(10, 0, { t: 1 })],
      reading(9, 10, { t: 1 }),
      'skipped',
    ],
    ['the same offset is skipped', [reading(10, 0, { t: 1 })], reading(10, 10, { t: 1 }), 'skipped'],
    ['the next offset is applied', [reading(10, 0, { t: 1 })], reading(11, 10, { t: 1 }), 'applied'],
    [
      'offsets compare as 64-bit integers, beyond what a Number holds exactly',
      [reading('9007199254740992', 0, { t: 1 })],
      reading('9007199254740993', 10, { t: 1 }),
      'applied',
    ],
    [
      'offsets compare as numbers, not as strings',
      [reading(9, 0, { t: 1 })],
      reading(10, 10, { t: 1 }),
      'applied',
    ],
    [
      'an offset of another partition is applied',
      [reading(10, 0, { t: 1 }, 0)],
      reading(5, 10, { t: 1 }, 1),
      'applied',
    ],
    [
      'a lower offset of another log (the topic made anew) is applied',
      [reading(10, 0, { t: 1 })],
      reading(0, 10, { t: 1 }, 0, NEW_LOG),
      'applied',
    ],
    [
      'the same offset of another log is applied',
      [reading(10, 0, { t: 1 })],
      reading(10, 10, { t: 1 }, 0, NEW_LOG),
      'applied',
    ],
  ])('%s', (_name, before, record, outcome) => {
    const [first, second] = runBatches([before, [record]]);
    expect(first?.skipped).toBe(0);
    expect(second?.skipped).toBe(outcome === 'skipped' ? 1 : 0);
    expect(second?.readings.length).toBe(outcome === 'applied' ? 1 : 0);
  });

  it('when the log starts over, applies its records, reports the restart once, and dedups within the new log', () => {
    // Prepare: 40 records applied from the old log
    const [old] = runBatches([series(0, 40)]);
    const stored = new Map([['dev-1', structuredClone(stateOfDev1(old))]]);
    const fresh = (offset: number, seconds: number) =>
      reading(offset, seconds, { temperature: 88.8 }, 0, NEW_LOG);

    // Act: the new log's first records, then the same batch again (a redelivery within the new log)
    const first = processBatch([fresh(0, 500), fresh(1, 510)], stored, rules, NOW);
    const again = processBatch([fresh(0, 500), fresh(1, 510)], first.states, rules, NOW);

    // Assess
    expect(first).toMatchObject({ skipped: 0, readings: [expect.anything(), expect.anything()] });
    expect(first.alerts.map(edgeLine)).toContain('raised HIGH_TEMPERATURE @500s 88.8 vs 50');
    expect(first.restartedLogs).toEqual([
      { deviceId: 'dev-1', partition: 0, offset: '0', log: NEW_LOG, previousLog: LOG, previousOffset: '39' },
    ]);
    expect(first.states.get('dev-1')).toMatchObject({ log: NEW_LOG, offsets: { '0': '1' } });
    expect(again).toMatchObject({ skipped: 2, readings: [], alerts: [], restartedLogs: [] });
  });

  it('moving to a log whose offsets are already past the old ones is no restart, and the old offsets go', () => {
    const [old] = runBatches([[reading(10, 0, { t: 1 }, 0), reading(20, 5, { t: 1 }, 1)]]);
    const stored = new Map([['dev-1', stateOfDev1(old)]]);

    const result = processBatch([reading(500, 10, { t: 1 }, 0, NEW_LOG)], stored, rules, NOW);

    expect(result).toMatchObject({ skipped: 0, restartedLogs: [] });
    expect(result.states.get('dev-1')).toMatchObject({ log: NEW_LOG, offsets: { '0': '500' } });
    expect(result.states.get('dev-1')?.offsets).not.toHaveProperty('1');
  });

  it('takes the offsets of a state written before logs were told apart as those of the log read now', () => {
    // Prepare: a stored state as an earlier version wrote it, with offsets and no log
    const [old] = runBatches([[reading(10, 0, { t: 1 })]]);
    const { log: _log, ...legacy } = stateOfDev1(old);
    const stored = new Map([['dev-1', legacy]]);

    // Act: a redelivered record, then a new one
    const result = processBatch([reading(10, 0, { t: 1 }), reading(11, 10, { t: 1 })], stored, rules, NOW);

    // Assess: the redelivery counts once; the state now names its log
    expect(result).toMatchObject({ skipped: 1, readings: [expect.anything()], restartedLogs: [] });
    expect(result.states.get('dev-1')).toMatchObject({ log: LOG, offsets: { '0': '11' } });
  });

  it('skips within one batch too: a record repeated in the batch counts once', () => {
    const result = processBatch([reading(1, 0, { t: 1 }), reading(1, 0, { t: 1 })], none, rules, NOW);
    expect(result).toMatchObject({ skipped: 1, readings: [expect.objectContaining({ ts: at(0) })] });
  });
});

describe('processBatch carries device state across batches', () => {
  it('measures the rate of change between readings of different batches', () => {
    const [first, second] = runBatches([
      [reading(0, 0, { temperature: 20 })],
      [reading(1, 60, { temperature: 27 })],
    ]);
    expect(first?.alerts).toEqual([]);
    expect(second?.alerts.map(edgeLine)).toEqual(['raised TEMPERATURE_SPIKE @60s 7 vs 5']);
  });

  it('counts late readings, still passing them on as processed readings', () => {
    const [, second] = runBatches([
      [reading(0, 0, { t: 1 }), reading(1, 70, { t: 2 })],
      [reading(2, 30, { t: 3 }), reading(3, 75, { t: 4 })],
    ]);
    expect(second).toMatchObject({
      lateReadings: 1,
      readings: [expect.objectContaining({ ts: at(30) }), expect.anything()],
    });
  });
});

describe('processBatch', () => {
  it('refuses an offset that is not a decimal integer', () => {
    const result = processBatch([reading('12a', 0, { t: 1 })], none, rules, NOW);
    expect(result.rejected).toEqual([
      { partition: 0, offset: '12a', stage: 'record', reason: 'offset: must be a decimal integer string' },
    ]);
  });

  it('does not change the states it is given', () => {
    const first = processBatch(series(0, 5), none, rules, NOW);
    const state = first.states.get('dev-1');
    if (state === undefined) throw new Error('expected a state for dev-1');
    const frozen = deepFreeze(structuredClone(state));
    processBatch(series(5, 10), new Map([['dev-1', frozen]]), rules, NOW);
    expect(frozen).toEqual(state);
  });
});
