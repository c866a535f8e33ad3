import { describe, expect, it } from 'vitest';
import { compareVersions, parseVersion } from '../../../../lambdas/domain/rollout/semver.ts';

describe('compareVersions', () => {
  it.each<[string, string, string, number]>([
    ['patch', '1.4.2', '1.4.10', -1],
    ['minor before patch', '1.10.0', '1.9.99', 1],
    ['major before minor', '2.0.0', '1.99.99', 1],
    ['equal', '1.4.2', '1.4.2', 0],
    ['build metadata is ignored (§10)', '1.4.2+build.7', '1.4.2+build.9', 0],
    ['a pre-release is older than its release (§11.3)', '1.0.0-rc.1', '1.0.0', -1],
    ['numeric identifiers compare as numbers (§11.4.1)', '1.0.0-rc.2', '1.0.0-rc.10', -1],
    ['text identifiers compare in ASCII order (§11.4.2)', '1.0.0-alpha', '1.0.0-beta', -1],
    ['numbers sort before text (§11.4.3)', '1.0.0-1', '1.0.0-alpha', -1],
    ['more identifiers are newer when the rest is equal (§11.4.4)', '1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['the spec’s example chain, one step', '1.0.0-alpha.beta', '1.0.0-beta', -1],
    ['leading zeros read as numbers (the status schema allows them)', '1.02.0', '1.2.0', 0],
  ])('%s: %s vs %s', (_name, a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('orders the spec’s §11.4 example list', () => {
    const spec = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    const shuffled = [spec[5], spec[0], spec[7], spec[2], spec[6], spec[1], spec[4], spec[3]] as string[];
    expect(shuffled.sort((a, b) => compareVersions(a, b) ?? 0)).toEqual(spec);
  });

  it.each(['v1.0.0', '1.0', '1.0.0.0', 'latest', ''])('%j is not a version', (text) => {
    expect(parseVersion(text)).toBeUndefined();
    expect(compareVersions(text, '1.0.0')).toBeUndefined();
  });
});
