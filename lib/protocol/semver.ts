/**
 * Semantic versions, ordered as Semantic Versioning 2.0.0 §11 orders them (https://semver.org/#spec-item-11):
 * major, minor, patch numerically; a pre-release sorts before its release; pre-release identifiers
 * compare numerically when both are numbers, as text otherwise, numbers before text; a shorter list of
 * identifiers sorts first when all before are equal; build metadata is ignored.
 *
 * Parsing is as lenient as the status message schema (`lib/protocol/messages.ts`), which accepts leading
 * zeros: a device reporting `1.02.0` is still ordered, as 1.2.0.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly (string | number)[];
}

const PATTERN =
  /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Parses `1.4.2`, `2.0.0-rc.1`, `1.0.0+build.7`; undefined for anything else. */
export function parseVersion(text: string): SemVer | undefined {
  const match = PATTERN.exec(text);
  if (match === null) return undefined;
  const [, major, minor, patch, pre] = match;
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    prerelease: pre === undefined ? [] : pre.split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)),
  };
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  // §11.4.3: numeric identifiers always have lower precedence than alphanumeric ones.
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1 as `a` is older than, as old as, or newer than `b`. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) || Math.sign(a.patch - b.patch);
  if (core !== 0) return core;
  if (a.prerelease.length === 0 || b.prerelease.length === 0)
    // §11.3: a release is newer than any of its pre-releases.
    return Math.sign(b.prerelease.length - a.prerelease.length);
  const shared = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < shared; i++) {
    const order = compareIdentifiers(a.prerelease[i] as string | number, b.prerelease[i] as string | number);
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/** Compares two version strings; undefined when either is not a semantic version. */
export function compareVersions(a: string, b: string): number | undefined {
  const left = parseVersion(a);
  const right = parseVersion(b);
  return left === undefined || right === undefined ? undefined : compareSemVer(left, right);
}
