import { describe, expect, it } from 'vitest';
import { type SimFaultOptions, SimUsageError, simFaultFromOptions } from '../../../lib/cli/sim.ts';

describe('sim fault: the request from the command line', () => {
  it.each<[string, string, SimFaultOptions, unknown]>([
    [
      'a group offline for a minute',
      'offline',
      { groups: 'north,south', for: '60' },
      { targets: { groups: ['north', 'south'] }, effect: { kind: 'offline' }, durationS: 60 },
    ],
    [
      'a flaky link on the trackers, dropping every 10 s for 3 s',
      'flaky-link',
      { type: 'tracker', every: '10', down: '3' },
      {
        targets: { deviceTypes: ['tracker'] },
        effect: { kind: 'flaky-link', dropEverySeconds: 10, downSeconds: 3 },
      },
    ],
    [
      'a weak cell on a tenth of the trackers',
      'weak-signal',
      { type: 'tracker', percent: '10', rsrp: '-128' },
      {
        targets: { deviceTypes: ['tracker'], percentage: 10 },
        effect: { kind: 'weak-signal', rsrpDbm: -128, rsrqDb: -18 },
      },
    ],
    [
      'batteries drained on two devices',
      'drain-battery',
      { things: 'sim-0001, sim-0002', 'to-percent': '3', over: '120' },
      {
        targets: { things: ['sim-0001', 'sim-0002'] },
        effect: { kind: 'drain-battery', toPercent: 3, overSeconds: 120 },
      },
    ],
    [
      'an image that fails its health check on 5 %',
      'firmware-failure',
      { percent: '5', version: '2.0.0', 'fail-at': 'health-check', salt: 'bad-batch' },
      {
        targets: { percentage: 5, cohortSalt: 'bad-batch' },
        effect: { kind: 'firmware-failure', version: '2.0.0', failAt: 'health-check' },
      },
    ],
  ])('%s', (_case, kind, options, expected) => {
    expect(simFaultFromOptions(kind, options)).toEqual(expected);
  });

  it.each<[string, string | undefined, SimFaultOptions, RegExp]>([
    ['no kind', undefined, { things: 'sim-0001' }, /needs one of offline, flaky-link, weak-signal/],
    ['no devices named', 'overheat', {}, /say which devices/],
    [
      'a number that is not one',
      'overheat',
      { things: 'sim-0001', celsius: 'hot' },
      /--celsius takes a number/,
    ],
    ['a setting out of range', 'weak-signal', { things: 'sim-0001', rsrp: '-200' }, /effect\.rsrpDbm/],
    ['a setting of another kind', 'overheat', { things: 'sim-0001', rsrp: '-100' }, /effect/],
  ])('refuses %s, naming what to fix', (_case, kind, options, message) => {
    expect(() => simFaultFromOptions(kind, options)).toThrow(SimUsageError);
    expect(() => simFaultFromOptions(kind, options)).toThrow(message);
  });
});
