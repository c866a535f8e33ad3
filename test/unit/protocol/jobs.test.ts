import { describe, expect, it } from 'vitest';
import { updateExecutionRequest } from '../../../lib/protocol/jobs.ts';
import requests from '../../fixtures/jobs/embedded-sdk-requests.json' with { type: 'json' };

describe('updateExecutionRequest', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['first form: status and a quoted version', requests.inProgress, { expectedVersion: 2 }],
    [
      'later form: a quoted version and statusDetails',
      requests.progressWithDetails,
      { expectedVersion: 3, statusDetails: { progress: '50%' } },
    ],
    ['later form: statusDetails without a version', requests.failedWithDetailsOnly, { status: 'FAILED' }],
  ])('reads what the AWS embedded Jobs library sends (%s)', (_form, payload, expected) => {
    expect(updateExecutionRequest.parse(JSON.parse(payload))).toMatchObject(expected);
  });

  it.each([
    ['a JSON number', 7, 7],
    ['a decimal string', '7', 7],
    ['a decimal string with leading zeros', '007', 7],
    ['the largest 15-digit string', '999999999999999', 999_999_999_999_999],
  ])('takes expectedVersion as %s', (_form, expectedVersion, parsed) => {
    expect(updateExecutionRequest.parse({ status: 'IN_PROGRESS', expectedVersion }).expectedVersion).toBe(
      parsed,
    );
  });

  it.each([
    ['0', '0'],
    ['a negative string', '-1'],
    ['a fraction as a string', '1.5'],
    ['an exponent', '1e3'],
    ['hexadecimal', '0x10'],
    ['spaces around the digits', ' 1'],
    ['an empty string', ''],
    ['more digits than a version has', '1234567890123456'],
    ['the number 0', 0],
    ['a fractional number', 1.5],
    ['null', null],
  ])('refuses expectedVersion as %s', (_form, expectedVersion) => {
    const parsed = updateExecutionRequest.safeParse({ status: 'IN_PROGRESS', expectedVersion });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => [issue.path, issue.message])).toEqual([
      [['expectedVersion'], 'must be a whole number from 1, as a JSON number or a decimal string'],
    ]);
  });
});
