import { describe, expect, it } from 'vitest';
import {
  aggregateReadings,
  closeIdleWindow,
  DEFAULT_IDLE_GRACE_MS,
  type WindowAggregate,
} from '../../../../lambdas/domain/telemetry/windows.ts';
import { at, deepFreeze, type ReadingRow, readingsAt, T0 } from './support.ts';

const device = { deviceId: 'dev-1', deviceType: 'sensor' };

/** A closed window as `start..end: metric min/max/mean/sum/count`, seconds after T0. */
function windowLine(window: WindowAggregate): string {
  const metrics = Object.entries(window.metrics).map(
    ([name, m]) => `${name} ${m.min}/${m.max}/${m.mean}/${m.sum}/${m.count}`,
  );
  return `${(window.start - T0) / 1000}..${(window.end - T0) / 1000}: ${metrics.join(', ')}`;
}

describe('aggregateReadings', () => {
  it.each<[string, ReadingRow[], string[], number]>([
    [
      'min / max / mean / sum / count per metric, emitted when a reading reaches the next minute',
      [
        [0, { temperature: 20, humidity: 50 }],
        [20, { temperature: 22 }],
        [40, { temperature: 27, humidity: 54 }],
        [60, { temperature: 30 }],
      ],
      ['0..60: temperature 20/27/23/69/3, humidity 50/54/52/104/2'],
      0,
    ],
    [
      'a reading a millisecond before the end stays in the window',
      [
        [0, { temperature: 1 }],
        [59.999, { temperature: 3 }],
      ],
      [],
      0,
    ],
    [
      'a reading exactly at the end closes the window and opens the next',
      [
        [0, { temperature: 1 }],
        [60, { temperature: 3 }],
        [120, { temperature: 5 }],
      ],
      ['0..60: temperature 1/1/1/1/1', '60..120: temperature 3/3/3/3/1'],
      0,
    ],
    [
      'windows align to the minute, not to the first reading',
      [
        [45.5, { temperature: 1 }],
        [61, { temperature: 2 }],
      ],
      ['0..60: temperature 1/1/1/1/1'],
      0,
    ],
    [
      'minutes without readings emit no windows',
      [
        [10, { temperature: 1 }],
        [200, { temperature: 2 }],
        [250, { temperature: 3 }],
      ],
      ['0..60: temperature 1/1/1/1/1', '180..240: temperature 2/2/2/2/1'],
      0,
    ],
    [
      'readings out of order within the open window are aggregated',
      [
        [30, { temperature: 4 }],
        [10, { temperature: 2 }],
        [60, { temperature: 9 }],
      ],
      ['0..60: temperature 2/4/3/6/2'],
      0,
    ],
    [
      "readings older than the open window's start are late: counted and left out",
      [
        [10, { temperature: 1 }],
        [70, { temperature: 2 }],
        [50, { temperature: 100 }],
        [20, { temperature: 100 }],
        [125, { temperature: 3 }],
      ],
      ['0..60: temperature 1/1/1/1/1', '60..120: temperature 2/2/2/2/1'],
      2,
    ],
  ])('%s', (_name, readings, expected, late) => {
    const { closedWindows, lateReadings } = aggregateReadings(undefined, device, readingsAt(readings));
    expect(closedWindows.map(windowLine)).toEqual(expected);
    expect(lateReadings).toBe(late);
  });

  it('gives closed windows a deterministic id and the device identity', () => {
    const readings = readingsAt([
      [0, { temperature: 1 }],
      [60, { temperature: 2 }],
    ]);
    const { closedWindows } = aggregateReadings(undefined, device, readings);
    expect(closedWindows).toEqual([
      {
        id: `dev-1/${T0}`,
        deviceId: 'dev-1',
        deviceType: 'sensor',
        start: T0,
        end: at(60),
        metrics: { temperature: { min: 1, max: 1, mean: 1, sum: 1, count: 1 } },
      },
    ]);
  });

  it('continues a window across calls, through a JSON round trip of the state', () => {
    const first = aggregateReadings(undefined, device, readingsAt([[0, { temperature: 2 }]]));
    const stored = JSON.parse(JSON.stringify(first.state));
    const second = aggregateReadings(
      stored,
      device,
      readingsAt([
        [30, { temperature: 4 }],
        [60, { temperature: 0 }],
      ]),
    );
    expect(second.closedWindows.map(windowLine)).toEqual(['0..60: temperature 2/4/3/6/2']);
  });

  it('does not change the state it is given', () => {
    const { state } = aggregateReadings(undefined, device, readingsAt([[0, { temperature: 2 }]]));
    const frozen = deepFreeze(structuredClone(state));
    aggregateReadings(frozen, device, readingsAt([[10, { temperature: 5 }]]));
    expect(frozen).toEqual(state);
  });
});

describe('closeIdleWindow', () => {
  const open = aggregateReadings(
    undefined,
    device,
    readingsAt([
      [5, { temperature: 1 }],
      [15, { temperature: 3 }],
    ]),
  ).state;

  it.each<[string, number, number | undefined, string | undefined]>([
    [
      'keeps a window that may still get readings (before end + grace)',
      at(60) + DEFAULT_IDLE_GRACE_MS - 1,
      undefined,
      undefined,
    ],
    [
      'flushes a window once end + grace has passed',
      at(60) + DEFAULT_IDLE_GRACE_MS,
      undefined,
      '0..60: temperature 1/3/2/4/2',
    ],
    ['takes the grace as a parameter', at(60), 0, '0..60: temperature 1/3/2/4/2'],
    ['keeps a window that has not ended, whatever the grace', at(59), 0, undefined],
  ])('%s', (_name, now, grace, expected) => {
    const result = grace === undefined ? closeIdleWindow(open, now) : closeIdleWindow(open, now, grace);
    expect(result.closed === undefined ? undefined : windowLine(result.closed)).toBe(expected);
    if (expected === undefined) expect(result.state).toBe(open);
    else expect(result.state.window).toBeUndefined();
  });

  it('does nothing for a device without an open window', () => {
    const flushed = closeIdleWindow(open, at(600)).state;
    expect(closeIdleWindow(flushed, at(6000))).toEqual({ state: flushed });
  });

  it('makes later readings of the flushed minute late, and opens the next minute normally', () => {
    const flushed = closeIdleWindow(deepFreeze(structuredClone(open)), at(600)).state;
    const after = aggregateReadings(
      flushed,
      device,
      readingsAt([
        [50, { temperature: 9 }],
        [610, { temperature: 7 }],
        [660, { temperature: 8 }],
      ]),
    );
    expect(after.lateReadings).toBe(1);
    expect(after.closedWindows.map(windowLine)).toEqual(['600..660: temperature 7/7/7/7/1']);
  });
});
