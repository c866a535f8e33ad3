import { describe, expect, it } from 'vitest';
import { compareSemver, isSemver, parseSemver } from '../../../../lambdas/domain/firmware/semver.ts';

describe('compareSemver', () => {
  // The precedence examples of https://semver.org/spec/v2.0.0.html §11, each pair in ascending order.
  it.each([
    ['1.0.0', '2.0.0', 'major first'],
    ['2.0.0', '2.1.0', 'then minor'],
    ['2.1.0', '2.1.1', 'then patch'],
    ['1.0.0-alpha', '1.0.0', 'a pre-release ranks below its release'],
    ['1.0.0-alpha', '1.0.0-alpha.1', 'more identifiers rank higher when the rest are equal'],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', 'numeric identifiers rank below alphanumeric ones'],
    ['1.0.0-alpha.beta', '1.0.0-beta', 'alphanumeric identifiers compare in ASCII order'],
    ['1.0.0-beta', '1.0.0-beta.2', 'a longer pre-release of equal prefix ranks higher'],
    ['1.0.0-beta.2', '1.0.0-beta.11', 'numeric identifiers compare as numbers, not text'],
    ['1.0.0-beta.11', '1.0.0-rc.1', 'rc after beta'],
    ['1.9.0', '1.10.0', 'version numbers compare as numbers, not text'],
  ])('%s < %s (%s)', (lower, higher) => {
    expect(compareSemver(lower, higher)).toBe(-1);
    expect(compareSemver(higher, lower)).toBe(1);
  });

  it.each([
    ['1.2.3', '1.2.3'],
    ['1.2.3+build.1', '1.2.3+build.2'],
    ['1.2.3-rc.1+a', '1.2.3-rc.1'],
  ])('%s equals %s: build metadata does not count (§10)', (a, b) => {
    expect(compareSemver(a, b)).toBe(0);
  });

  it('refuses to compare what is not a semantic version, naming it', () => {
    expect(() => compareSemver('1.2', '1.2.0')).toThrow("not a semantic version: '1.2'");
    expect(() => compareSemver('1.2.0', 'v1.2.0')).toThrow("not a semantic version: 'v1.2.0'");
  });
});

describe('parseSemver', () => {
  it.each([
    ['1.2.3', { major: 1, minor: 2, patch: 3, prerelease: [] }],
    ['0.0.0-rc.1.x-y', { major: 0, minor: 0, patch: 0, prerelease: ['rc', '1', 'x-y'] }],
    ['10.20.30+meta', { major: 10, minor: 20, patch: 30, prerelease: [] }],
  ])('parses %s', (text, parsed) => {
    expect(parseSemver(text)).toEqual(parsed);
  });

  it.each(['1.2', '01.2.3', '1.2.3-01', '1.2.3-', 'v1.2.3', '1.2.3.4', '', '99999999999999999999.0.0'])(
    'refuses %j',
    (text) => {
      expect(parseSemver(text)).toBeUndefined();
      expect(isSemver(text)).toBe(false);
    },
  );
});
