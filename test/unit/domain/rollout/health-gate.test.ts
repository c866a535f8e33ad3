import { describe, expect, it } from 'vitest';
import { REBOOT_ALERT } from '../../../../lambdas/domain/fleet/reboot.ts';
import {
  type CohortMetrics,
  compareCohorts,
  type HealthEvent,
  happenedSince,
  isHealthEvent,
} from '../../../../lambdas/domain/rollout/health-gate.ts';
import { HEARTBEAT_METRIC } from '../../../../lambdas/domain/telemetry/alerts.ts';
import type { HealthGate, HealthMetric } from '../../../../lib/protocol/rollouts.ts';

const gate = (maxWorsening: HealthGate['maxWorsening'], minDeviceHours?: number): HealthGate => ({
  metric: 'rebootRate',
  maxWorsening,
  windowMinutes: 1440,
  controlPercentage: 5,
  ...(minDeviceHours === undefined ? {} : { minDeviceHours }),
});
const cohort = (deviceHours: number, events: number, devices = 100): CohortMetrics => ({
  devices,
  deviceHours,
  events,
});

describe('compareCohorts', () => {
  it.each<[string, CohortMetrics, CohortMetrics, HealthGate, string]>([
    ['same rate: pass', cohort(1000, 10), cohort(1000, 10), gate({ relative: 0.2 }), 'pass'],
    [
      '20 % worse with 20 % allowed: pass',
      cohort(1000, 12),
      cohort(1000, 10),
      gate({ relative: 0.2 }),
      'pass',
    ],
    [
      '30 % worse with 20 % allowed: fail',
      cohort(1000, 13),
      cohort(1000, 10),
      gate({ relative: 0.2 }),
      'fail',
    ],
    [
      'rates, not counts: a bigger cohort with more events but the same rate passes',
      cohort(10_000, 100),
      cohort(500, 5),
      gate({ relative: 0 }),
      'pass',
    ],
    ['better than control: pass', cohort(1000, 1), cohort(1000, 10), gate({ absolute: 0 }), 'pass'],
    [
      'absolute: +0.004/device-hour allowed, +0.005 seen',
      cohort(1000, 15),
      cohort(1000, 10),
      gate({ absolute: 0.004 }),
      'fail',
    ],
    [
      'absolute: +0.005/device-hour allowed',
      cohort(1000, 15),
      cohort(1000, 10),
      gate({ absolute: 0.005 }),
      'pass',
    ],
    [
      'relative over a control with no events accepts none',
      cohort(1000, 1),
      cohort(1000, 0),
      gate({ relative: 5 }),
      'fail',
    ],
    [
      'absolute over a control with no events',
      cohort(1000, 1),
      cohort(1000, 0),
      gate({ absolute: 0.01 }),
      'pass',
    ],
    [
      'too few device-hours in the updated cohort',
      cohort(23, 20),
      cohort(1000, 0),
      gate({ absolute: 0 }),
      'insufficientData',
    ],
    [
      'too few device-hours in the control cohort',
      cohort(1000, 20),
      cohort(10, 0),
      gate({ absolute: 0 }),
      'insufficientData',
    ],
    ['the minimum is configurable', cohort(10, 0), cohort(10, 0), gate({ absolute: 0 }, 5), 'pass'],
    [
      'no exposure at all',
      cohort(0, 0, 0),
      cohort(0, 0, 0),
      gate({ absolute: 0 }, 0.001),
      'insufficientData',
    ],
  ])('%s', (_name, updated, control, healthGate, verdict) => {
    expect(compareCohorts(updated, control, healthGate).verdict).toBe(verdict);
  });

  it('reports the rates and the limit it judged on', () => {
    expect(compareCohorts(cohort(1000, 13), cohort(2000, 20), gate({ relative: 0.2 }))).toMatchObject({
      verdict: 'fail',
      metric: 'rebootRate',
      updatedRate: 0.013,
      controlRate: 0.01,
      limit: 0.012,
    });
  });

  it('says which cohort is short of data', () => {
    expect(compareCohorts(cohort(1000, 1), cohort(3, 0), gate({ absolute: 0 })).reason).toMatch(
      /control cohort has 3 device-hours \(needs 24 each\)/,
    );
  });
});

const SINCE = 1_800_000_000_000;
const reboot = (at: number, uptimeSeconds: number): HealthEvent => ({
  type: REBOOT_ALERT,
  ruleId: 'reboot',
  metric: 'uptimeSeconds',
  at,
  value: uptimeSeconds,
});
const alert = (ruleId: string, metric = 'temperature'): HealthEvent => ({
  type: 'HIGH_TEMPERATURE',
  ruleId,
  metric,
  at: SINCE,
  value: 1,
});

describe('isHealthEvent', () => {
  it.each<[HealthMetric, HealthEvent, boolean]>([
    ['alertRate', alert('rule-1'), true],
    ['alertRate', reboot(SINCE, 1), false],
    ['anomalyRate', alert('anomaly-rule'), true],
    ['anomalyRate', alert('rule-1'), false],
    ['rebootRate', reboot(SINCE, 1), true],
    ['rebootRate', alert('rule-1'), false],
    ['offlineRate', alert('heartbeat', HEARTBEAT_METRIC), true],
    ['offlineRate', alert('rule-1'), false],
  ])('%s counts %o: %s', (metric, event, expected) => {
    expect(isHealthEvent(metric, event, new Set(['anomaly-rule']))).toBe(expected);
  });
});

describe('happenedSince', () => {
  it.each<[string, HealthEvent, boolean]>([
    ['a reboot that happened in the window', reboot(SINCE + 600_000, 60), true],
    ['a reboot that happened as the window opened', reboot(SINCE + 60_000, 60), true],
    [
      "a reboot seen in the window that happened before it (the update's own trial boot)",
      reboot(SINCE + 600_000, 900),
      false,
    ],
    ['an alert, whenever it was raised (episodes are counted by the alert store)', alert('rule-1'), true],
  ])('%s: %s', (_case, event, expected) => {
    expect(happenedSince(event, SINCE)).toBe(expected);
  });
});
