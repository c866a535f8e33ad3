import { describe, expect, it } from 'vitest';
import { withAlerts } from '../../../../lambdas/domain/telemetry/alerts.ts';
import { evaluateReadings } from '../../../../lambdas/domain/telemetry/engine.ts';
import { type HeartbeatSubject, sweepHeartbeats } from '../../../../lambdas/domain/telemetry/heartbeat.ts';
import { at, edgeLine, readingsAt, rulesFixture } from './support.ts';

const rules = rulesFixture('engine.json');
/** `heartbeat-lost` fires after 3 × 60 s for every type; `tracker-silent` after 2 × 600 s for trackers. */
const sensor = (
  lastSeen: number | undefined,
  activeAlerts: Record<string, unknown> = {},
): HeartbeatSubject => ({
  deviceId: 'dev-1',
  deviceType: 'sensor',
  ...(lastSeen === undefined ? {} : { lastSeen }),
  activeAlerts,
});

describe('sweepHeartbeats', () => {
  it.each<[string, HeartbeatSubject, number, string[]]>([
    ['a device heard within the limit raises nothing', sensor(at(0)), at(179.999), []],
    // `at` of a sweep alert is the moment the silence crossed the limit, not the time of the sweep.
    [
      'a device silent for exactly the limit is raised',
      sensor(at(0)),
      at(180),
      ['raised HEARTBEAT_LOST @180s 180 vs 180'],
    ],
    [
      'value is the silence at the sweep, in seconds',
      sensor(at(0)),
      at(300),
      ['raised HEARTBEAT_LOST @180s 300 vs 180'],
    ],
    [
      'a device whose heartbeat alert is active is not raised again',
      sensor(at(0), { 'heartbeat-lost': {} }),
      at(900),
      [],
    ],
    ['a device never heard from is not raised', sensor(undefined), at(900), []],
    [
      'rules scoped to a type apply to that type only, each raised on its own limit',
      { deviceId: 'trk-1', deviceType: 'tracker', lastSeen: at(0), activeAlerts: {} },
      at(1200),
      ['raised HEARTBEAT_LOST @180s 1200 vs 180', 'raised TRACKER_SILENT @1200s 1200 vs 1200'],
    ],
  ])('%s', (_name, device, now, expected) => {
    expect(sweepHeartbeats([device], rules, now).map(edgeLine)).toEqual(expected);
  });

  it('gives one silence the same alert id whenever the sweep runs', () => {
    const ids = [at(180), at(240), at(3600)].map(
      (now) => sweepHeartbeats([sensor(at(0))], rules, now)[0]?.id,
    );
    expect(ids).toEqual([
      `dev-1/heartbeat-lost/${at(180)}`,
      `dev-1/heartbeat-lost/${at(180)}`,
      `dev-1/heartbeat-lost/${at(180)}`,
    ]);
  });

  it('raises once per silence: raised, cleared by the next reading, raised again for the next silence', () => {
    const device = { deviceId: 'dev-1', deviceType: 'sensor' };
    let state = evaluateReadings(undefined, device, readingsAt([[0, { temperature: 20 }]]), rules).state;
    const lines: string[] = [];

    const first = sweepHeartbeats([state], rules, at(200));
    state = withAlerts(state, first);
    lines.push(...first.map(edgeLine), ...sweepHeartbeats([state], rules, at(260)).map(edgeLine));

    const back = evaluateReadings(state, device, readingsAt([[300, { temperature: 20 }]]), rules);
    state = back.state;
    lines.push(...back.alerts.map(edgeLine), ...sweepHeartbeats([state], rules, at(400)).map(edgeLine));

    lines.push(...sweepHeartbeats([state], rules, at(481)).map(edgeLine));
    expect(lines).toEqual([
      'raised HEARTBEAT_LOST @181s 199 vs 180',
      'cleared HEARTBEAT_LOST @300s 300 vs 180',
      'raised HEARTBEAT_LOST @481s 180 vs 180',
    ]);
    expect(back.alerts[0]?.id).toBe(first[0]?.id);
  });

  it('sweeps many devices in order', () => {
    const devices = ['a', 'b', 'c'].map((id, i) => ({
      deviceId: id,
      deviceType: 'sensor',
      lastSeen: at(i * 100),
      activeAlerts: {},
    }));
    expect(sweepHeartbeats(devices, rules, at(290)).map((a) => a.deviceId)).toEqual(['a', 'b']);
  });
});

describe('withAlerts', () => {
  it('ignores alerts of other devices, and a clear of an episode other than the active one', () => {
    const device = { deviceId: 'dev-1', deviceType: 'sensor' };
    const state = evaluateReadings(undefined, device, readingsAt([[0, { temperature: 20 }]]), rules).state;
    const [raised] = sweepHeartbeats([state], rules, at(200));
    if (raised === undefined) throw new Error('expected a heartbeat alert');
    const active = withAlerts(state, [raised, { ...raised, deviceId: 'other', ruleId: 'anomaly' }]);
    expect(Object.keys(active.activeAlerts)).toEqual(['heartbeat-lost']);
    const staleClear = { ...raised, id: 'dev-1/heartbeat-lost/1', state: 'cleared' as const };
    expect(withAlerts(active, [staleClear]).activeAlerts).toEqual(active.activeAlerts);
    expect(withAlerts(active, [{ ...raised, state: 'cleared' }]).activeAlerts).toEqual({});
  });
});
