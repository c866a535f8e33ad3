/** The semantic version order moved to `lib/protocol/semver.ts`: devices compare versions too (issue 12). */
export * from '../../../lib/protocol/semver.ts';
