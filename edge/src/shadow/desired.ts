import { type DeviceConfig, deviceConfig, SHADOW_CONFIG_KEY } from '../../../lib/protocol/device-config.ts';
import type { FieldIssue } from '../../../lib/protocol/errors.ts';
import { toFieldIssues } from '../../../lib/protocol/parse.ts';
import { isJsonObject, type JsonValue, jsonEqual, mergePatch } from './json.ts';
import type { ShadowLocalCopy } from './ports.ts';

/**
 * What desired settings mean for the local copy, decided from the copy alone (pure): the
 * {@link ShadowSync} carries the decision out (save, refuse, or apply then save).
 */

/** The outcome of {@link planDesired}. */
export type DesiredPlan =
  /** Nothing to apply: save `copy` (the same settings, the desired version moved on). */
  | { readonly kind: 'keep'; readonly copy: ShadowLocalCopy }
  /** Refuse `candidate` for `reason`; the settings in effect stay. */
  | {
      readonly kind: 'refuse';
      readonly candidate: JsonValue;
      readonly reason: string;
      readonly issues: readonly FieldIssue[];
    }
  /** Apply `next` (the validated `candidate`), then save it. */
  | { readonly kind: 'apply'; readonly candidate: JsonValue; readonly next: DeviceConfig };

/**
 * Decides how to bring the settings in line with the desired ones at `version`: `patch` is
 * `desired.config` (from a get) or `delta.config` (from a delta), merged into the settings in effect.
 */
export function planDesired(
  current: ShadowLocalCopy,
  patch: unknown,
  version: number,
  source: 'get' | 'delta',
): DesiredPlan {
  if (patch === undefined) {
    // Nothing desired about settings: an earlier refusal no longer stands.
    return { kind: 'keep', copy: { config: current.config, desiredVersion: version } };
  }
  // A non-object is a candidate as well, so its refusal is remembered and not repeated either.
  const candidate = isJsonObject(patch) ? (mergePatch(current.config, patch) ?? {}) : (patch as JsonValue);
  if (
    source === 'delta' &&
    current.refused !== undefined &&
    jsonEqual(current.refused.candidate, candidate)
  ) {
    // Refused already: the service repeats this delta after every update until an operator changes
    // desired, and a new report (new version, new time) would make yet another delta, forever. A
    // get (each connection) tries it again, in case the refusal was a failed apply.
    return { kind: 'keep', copy: { ...current, desiredVersion: version } };
  }
  if (!isJsonObject(patch)) {
    return {
      kind: 'refuse',
      candidate,
      reason: 'desired config is not an object; nothing was applied',
      issues: [{ field: SHADOW_CONFIG_KEY, reason: 'must be an object' }],
    };
  }
  if (jsonEqual(candidate, current.config)) {
    // Desired matches what runs (an operator may have put a refused value back).
    return { kind: 'keep', copy: { config: current.config, desiredVersion: version } };
  }
  const parsed = deviceConfig.safeParse(candidate);
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error.issues).map((issue) => ({
      field: issue.field === '(root)' ? SHADOW_CONFIG_KEY : `${SHADOW_CONFIG_KEY}.${issue.field}`,
      reason: issue.reason,
    }));
    return { kind: 'refuse', candidate, reason: 'desired config is invalid; nothing was applied', issues };
  }
  return { kind: 'apply', candidate, next: parsed.data };
}

/** Whether `refused` already reports refusing `candidate` for the same reason and issues. */
export function refusalStands(
  refused: ShadowLocalCopy['refused'],
  candidate: JsonValue,
  reason: string,
  issues: readonly FieldIssue[],
): boolean {
  return (
    refused !== undefined &&
    jsonEqual(refused.candidate, candidate) &&
    refused.report.reason === reason &&
    sameIssues(refused.report.issues, issues)
  );
}

/** Whether two refusals name the same fields for the same reasons, in the same order. */
function sameIssues(a: readonly FieldIssue[], b: readonly FieldIssue[]): boolean {
  return (
    a.length === b.length &&
    a.every((issue, i) => issue.field === b[i]?.field && issue.reason === b[i]?.reason)
  );
}
