/**
 * Semantic version precedence (https://semver.org/spec/v2.0.0.html §11), enough for firmware: parse and
 * compare. Build metadata is accepted (devices may report it) and ignored, as §10 says.
 */

/** A parsed semantic version. */
export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers (`rc.1` → `['rc', '1']`); empty for a release. */
  readonly prerelease: readonly string[];
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

/** Parses a semantic version, or returns undefined when `text` is not one. */
export function parseSemver(text: string): SemVer | undefined {
  const match = SEMVER.exec(text);
  if (match === null) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number);
  if (![major, minor, patch].every((n) => n !== undefined && Number.isSafeInteger(n))) return undefined;
  return {
    major: major as number,
    minor: minor as number,
    patch: patch as number,
    prerelease: match[4] === undefined ? [] : match[4].split('.'),
  };
}

/** True when `text` is a semantic version. */
export function isSemver(text: string): boolean {
  return parseSemver(text) !== undefined;
}

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = /^\d+$/.test(a);
  const bNumeric = /^\d+$/.test(b);
  // §11.4: numeric identifiers compare numerically and rank below alphanumeric ones; others compare in ASCII.
  if (aNumeric && bNumeric) return Math.sign(Number(a) - Number(b));
  if (aNumeric) return -1;
  if (bNumeric) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares two versions by precedence: negative when `a` < `b`, 0 when equal, positive when `a` > `b`.
 *
 * @throws Error when either is not a semantic version (callers parse input at the boundary first)
 */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (x === undefined || y === undefined) {
    throw new Error(`not a semantic version: '${x === undefined ? a : b}'`);
  }
  const core = Math.sign(x.major - y.major) || Math.sign(x.minor - y.minor) || Math.sign(x.patch - y.patch);
  if (core !== 0) return core;
  // §11.3: a pre-release ranks below its release.
  if (x.prerelease.length === 0 || y.prerelease.length === 0) {
    return Math.sign(y.prerelease.length - x.prerelease.length);
  }
  for (let i = 0; i < Math.min(x.prerelease.length, y.prerelease.length); i++) {
    const order = compareIdentifiers(x.prerelease[i] ?? '', y.prerelease[i] ?? '');
    if (order !== 0) return order;
  }
  // §11.4.4: a larger set of identifiers ranks higher when all before it are equal.
  return Math.sign(x.prerelease.length - y.prerelease.length);
}
