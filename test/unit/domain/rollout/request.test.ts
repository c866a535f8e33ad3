import { describe, expect, it } from 'vitest';
import { SchemaValidationError } from '../../../../lib/protocol/errors.ts';
import { parseRolloutRequest } from '../../../../lib/protocol/rollouts.ts';
import { fixture } from './support.ts';

function refusal(input: unknown): SchemaValidationError {
  try {
    parseRolloutRequest(input);
  } catch (error) {
    if (error instanceof SchemaValidationError) return error;
    throw error;
  }
  throw new Error('expected a SchemaValidationError, the request was accepted');
}

describe('good rollout requests', () => {
  it.each<[string, Record<string, unknown>]>([
    [
      'request-good-full.json',
      {
        firmwareVersion: '1.5.0',
        targets: expect.objectContaining({ percentage: 25, groups: ['eu-west', 'eu-north'] }),
        waves: expect.objectContaining({ sizes: [1, 10, 50, 100] }),
        healthGate: expect.objectContaining({ controlPercentage: 5, maxWorsening: { relative: 0.2 } }),
      },
    ],
    [
      'request-good-minimal.json',
      { firmwareVersion: '2.0.0', targets: { things: ['sim-0001', 'sim-0002'] } },
    ],
    [
      'request-good-exponential.json',
      {
        firmwareVersion: '2.1.0-rc.1',
        allowDowngrade: true,
        waves: expect.objectContaining({ maximumPerMinute: 1000 }),
      },
    ],
  ])('%s is accepted', (name, expected) => {
    expect(parseRolloutRequest(fixture(name))).toMatchObject(expected);
  });
});

describe('bad rollout requests name the field', () => {
  it.each<[string, string, RegExp?]>([
    ['no-targets', 'targets'],
    ['empty-targets', 'targets', /at least one of deviceTypes, groups, attributes, things, percentage/],
    ['version-not-semver', 'firmwareVersion', /semantic version/],
    ['percentage-zero', 'targets.percentage', /> 0/],
    ['percentage-over-100', 'targets.percentage', /<= 100/],
    ['unknown-key', 'abbort', /not a known field/],
    ['in-needs-list', 'targets.attributes.0.value', /list for op 'in'/],
    ['eq-needs-scalar', 'targets.attributes.0.value', /single value/],
    ['op-unknown', 'targets.attributes.0.op'],
    ['thing-name-slash', 'targets.things.1'],
    ['sizes-not-increasing', 'waves.sizes.1', /greater than 10/],
    ['sizes-not-ending-100', 'waves.sizes.2', /must reach 100/],
    ['sizes-and-exponential', 'waves.exponentialRate', /cannot be combined with sizes/],
    ['factor-too-small', 'waves.exponentialRate.incrementFactor', />= 1.1/],
    ['factor-two-decimals', 'waves.exponentialRate.incrementFactor', /one digit/],
    ['criteria-both', 'waves.exponentialRate.rateIncreaseCriteria', /exactly one/],
    ['max-below-base', 'waves.maximumPerMinute', /baseRatePerMinute \(50\)/],
    ['max-per-minute-over', 'waves.maximumPerMinute'],
    ['abort-action-unknown', 'abort.criteriaList.0.action'],
    ['abort-threshold-three-decimals', 'abort.criteriaList.0.thresholdPercentage', /two digits/],
    ['abort-min-zero', 'abort.criteriaList.0.minNumberOfExecutedThings'],
    ['retries-rejected', 'retries.criteriaList.0.failureType'],
    ['retries-over-10', 'retries.criteriaList.0.numberOfRetries'],
    ['retries-duplicate', 'retries.criteriaList.1.failureType', /listed twice/],
    ['timeout-over-7-days', 'timeouts.inProgressTimeoutInMinutes'],
    ['window-start-time', 'maintenanceWindows.0.startTime', /HH:MM/],
    ['window-day-repeated', 'maintenanceWindows.0.daysOfWeek', /repeat/],
    ['window-too-short', 'maintenanceWindows.0.durationMinutes'],
    ['window-offset', 'maintenanceWindows.0.utcOffsetMinutes'],
    ['pacing-empty', 'pacing', /minRsrpDbm or minBatteryPercent/],
    ['pacing-rsrp-range', 'pacing.minRsrpDbm'],
    ['health-worsening-both', 'healthGate.maxWorsening', /exactly one/],
    ['health-metric-unknown', 'healthGate.metric'],
    ['health-control-over-50', 'healthGate.controlPercentage', /<= 50/],
    ['rollout-id-dot', 'rolloutId', /\[a-zA-Z0-9_-\]/],
  ])('request-bad-%s.json → %s', (name, field, reason) => {
    const error = refusal(fixture(`request-bad-${name}.json`));
    expect(error.issues.map((i) => i.field)).toEqual([field]);
    if (reason !== undefined) expect(error.issues[0]?.reason).toMatch(reason);
  });

  it('reports every bad field at once', () => {
    const error = refusal({
      firmwareVersion: 'latest',
      targets: { percentage: 0 },
      waves: { maxPerMinute: 10 },
    });
    expect(error.issues.map((i) => i.field).sort()).toEqual([
      'firmwareVersion',
      'targets.percentage',
      'waves.maxPerMinute',
    ]);
  });
});
