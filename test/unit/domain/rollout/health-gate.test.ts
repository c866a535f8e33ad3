import { describe, expect, it } from 'vitest';
import { type CohortMetrics, compareCohorts } from '../../../../lambdas/domain/rollout/health-gate.ts';
import type { HealthGate } from '../../../../lib/protocol/rollouts.ts';

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
