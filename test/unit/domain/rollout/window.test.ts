import { describe, expect, it } from 'vitest';
import { windowState } from '../../../../lambdas/domain/rollout/window.ts';
import type { MaintenanceWindow } from '../../../../lib/protocol/rollouts.ts';

/** Epoch seconds of a UTC date-time. */
const at = (iso: string) => Date.parse(iso) / 1000;

const weeknightsParis: MaintenanceWindow = {
  daysOfWeek: ['MON', 'TUE', 'WED', 'THU', 'FRI'],
  startTime: '01:00',
  durationMinutes: 240,
  utcOffsetMinutes: 60,
};
const sundayLateTokyo: MaintenanceWindow = {
  daysOfWeek: ['SUN'],
  startTime: '23:00',
  durationMinutes: 180,
  utcOffsetMinutes: 540,
};
const saturdayNewYork: MaintenanceWindow = {
  daysOfWeek: ['SAT'],
  startTime: '22:00',
  durationMinutes: 120,
  utcOffsetMinutes: -300,
};

describe('windowState', () => {
  it.each<[string, MaintenanceWindow[] | undefined, string, ReturnType<typeof windowState>]>([
    ['no windows: always open', undefined, '2026-03-02T10:00:00Z', { open: true }],
    ['an empty list: always open', [], '2026-03-02T10:00:00Z', { open: true }],
    [
      'Monday 00:30 UTC is 01:30 in Paris (+01:00): open until 05:00 local, 04:00 UTC',
      [weeknightsParis],
      '2026-03-02T00:30:00Z',
      { open: true, closesAt: at('2026-03-02T04:00:00Z') },
    ],
    [
      'the start instant is open',
      [weeknightsParis],
      '2026-03-02T00:00:00Z',
      { open: true, closesAt: at('2026-03-02T04:00:00Z') },
    ],
    [
      'the end instant is closed; the next opens Tuesday 01:00 local',
      [weeknightsParis],
      '2026-03-02T04:00:00Z',
      { open: false, opensAt: at('2026-03-03T00:00:00Z') },
    ],
    [
      'Friday night to Monday: closed all weekend',
      [weeknightsParis],
      '2026-03-07T12:00:00Z',
      { open: false, opensAt: at('2026-03-09T00:00:00Z') },
    ],
    [
      'Sunday 23:00 in Tokyo (+09:00) is 14:00 UTC Sunday; the window runs past local midnight',
      [sundayLateTokyo],
      '2026-03-01T16:30:00Z',
      { open: true, closesAt: at('2026-03-01T17:00:00Z') },
    ],
    [
      'a negative offset: Saturday 22:00 in New York (−05:00) is Sunday 03:00 UTC',
      [saturdayNewYork],
      '2026-03-08T03:30:00Z',
      { open: true, closesAt: at('2026-03-08T05:00:00Z') },
    ],
    [
      'the day is the local one: Saturday 23:00 UTC is still Saturday 18:00 in New York, before the window',
      [saturdayNewYork],
      '2026-03-07T23:00:00Z',
      { open: false, opensAt: at('2026-03-08T03:00:00Z') },
    ],
    [
      'overlapping windows make one open stretch',
      [
        { daysOfWeek: ['MON'], startTime: '10:00', durationMinutes: 60, utcOffsetMinutes: 0 },
        { daysOfWeek: ['MON'], startTime: '10:30', durationMinutes: 60, utcOffsetMinutes: 0 },
        { daysOfWeek: ['MON'], startTime: '11:30', durationMinutes: 30, utcOffsetMinutes: 0 },
      ],
      '2026-03-02T10:15:00Z',
      { open: true, closesAt: at('2026-03-02T12:00:00Z') },
    ],
    [
      'the earliest of several windows opens next',
      [saturdayNewYork, weeknightsParis],
      '2026-03-06T12:00:00Z',
      { open: false, opensAt: at('2026-03-08T03:00:00Z') },
    ],
  ])('%s', (_name, windows, iso, expected) => {
    expect(windowState(windows, Date.parse(iso))).toEqual(expected);
  });

  it('a fixed offset ignores daylight saving time: the same UTC instant all year', () => {
    const summer = windowState([weeknightsParis], Date.parse('2026-07-06T00:30:00Z'));
    expect(summer).toEqual({ open: true, closesAt: at('2026-07-06T04:00:00Z') });
  });
});
