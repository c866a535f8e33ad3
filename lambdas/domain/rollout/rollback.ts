import type { ArtifactPurpose } from '../../../lib/protocol/rollouts.ts';
import type { JobExecution } from '../jobs/execution.ts';
import { compareVersions } from './semver.ts';

/** One rollback job: every listed thing goes back to `toVersion`. */
export interface RollbackJob {
  /** Firmware, or the anomaly model: a model rollout goes back with model-update jobs. @default 'firmware' */
  readonly purpose?: ArtifactPurpose;
  readonly toVersion: string;
  /** The version the things are leaving (the rollout's). */
  readonly fromVersion: string;
  /** Sorted by name. */
  readonly things: readonly string[];
}

/** A device that may be running the rollout's image without having said so: checked again until it does. */
export interface OwedCheck {
  readonly thingName: string;
  /** Where a rollback would take it: the version it ran when its execution was queued. */
  readonly previousVersion: string;
}

/** What rolling a rollout back takes. */
export interface RollbackPlan {
  /** One job per version to go back to: a job document carries one image. Oldest version first. */
  readonly jobs: readonly RollbackJob[];
  /** Executions to cancel: QUEUED ones plainly, IN_PROGRESS ones with force, before they finish installing. */
  readonly cancel: readonly { readonly thingName: string; readonly force: boolean }[];
  /** Devices that may have installed the image and not said so yet: re-checked as they report, sorted by name. */
  readonly owed: readonly OwedCheck[];
  /** Executions of devices known not to run the image (never started, or failed or rejected it). */
  readonly untouched: number;
}

/** What the registry last heard from a device (its status message), as far as a rollback cares. */
export interface ReportedFirmware {
  readonly firmwareVersion?: string;
  /** The anomaly model it serves: what a model rollout's rollback looks at. */
  readonly modelVersion?: string;
}

/** The version of `purpose` a device's status named. */
export function reportedVersion(
  reported: ReportedFirmware | undefined,
  purpose: ArtifactPurpose = 'firmware',
): string | undefined {
  return purpose === 'model' ? reported?.modelVersion : reported?.firmwareVersion;
}

/**
 * The `statusDetails` key in which a device names the version a step of its execution is about: the edge
 * agent reports `firmwareVersion` on firmware jobs and `modelVersion` on model jobs.
 */
export function detailsVersionKey(purpose: ArtifactPurpose = 'firmware'): 'firmwareVersion' | 'modelVersion' {
  return purpose === 'model' ? 'modelVersion' : 'firmwareVersion';
}

/**
 * Whether the device said it committed the execution's version: its last step is `committed` and the
 * version its `statusDetails` name (`modelVersion` for a model job, `firmwareVersion` for firmware) is
 * the execution's, or absent (a device that names none).
 */
function reportedCommitted(execution: JobExecution): boolean {
  const details = execution.statusDetails;
  if (details?.step !== 'committed') return false;
  const named = details[detailsVersionKey(execution.purpose)];
  return named === undefined || named === execution.firmwareVersion;
}

/** Whether a device runs the rollout's image, as far as what it reported tells. */
export type InstallState = 'installed' | 'notInstalled' | 'unknown';

/**
 * Whether the device of `execution` runs the image, from everything it reported: its execution's status
 * and step, and the firmware its last status message named (`reported`, from the registry).
 *
 * - Installed: the execution SUCCEEDED, or its last step was `committed` (of this version), or the
 *   device's status names the image's version (its firmware's, or its model's for a model job). The status decides even for a canceled or timed-out execution: a device can
 *   commit and then fail to report it (it sleeps, or its report is refused because the execution was
 *   canceled meanwhile, after which the edge agent stays on the new image). A stale status of a device
 *   that went back after its trial boot costs a rollback job it answers at once ("already running").
 * - Not installed: the device said so itself (FAILED: it went back, or never wrote the slot; REJECTED:
 *   it never began), or no attempt ever reached IN_PROGRESS (QUEUED and never retried).
 * - Unknown: an attempt began, and the device has not said how it ended (still IN_PROGRESS; CANCELED,
 *   TIMED_OUT or REMOVED after starting; QUEUED again after a retry, whose earlier attempt may have timed
 *   out after committing). Such a device may commit with no accepted report, so it is owed a check.
 */
export function installState(execution: JobExecution, reported: ReportedFirmware | undefined): InstallState {
  if (execution.status === 'SUCCEEDED' || reportedCommitted(execution)) return 'installed';
  if (reportedVersion(reported, execution.purpose) === execution.firmwareVersion) return 'installed';
  if (execution.status === 'FAILED' || execution.status === 'REJECTED') return 'notInstalled';
  const began = execution.startedAt !== undefined || execution.attempt > 0;
  return began ? 'unknown' : 'notInstalled';
}

/** Whether {@link installState} can say more of `execution` with the device's registry record. */
export function needsReported(execution: JobExecution): boolean {
  return execution.rollback !== true && installState(execution, undefined) !== 'installed';
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The devices of `owed` grouped into one job per version to go back to, oldest version first.
 *
 * @param fromVersion the rollout's version, which they are leaving
 */
export function rollbackJobsOf(
  owed: Iterable<OwedCheck>,
  fromVersion: string,
  purpose: ArtifactPurpose = 'firmware',
): RollbackJob[] {
  const byVersion = new Map<string, string[]>();
  for (const { thingName, previousVersion } of owed) {
    const things = byVersion.get(previousVersion) ?? [];
    things.push(thingName);
    byVersion.set(previousVersion, things);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => compareVersions(a, b) ?? byName(a, b))
    .map(([toVersion, things]) => ({
      ...(purpose === 'firmware' ? {} : { purpose }),
      toVersion,
      fromVersion,
      things: things.sort(byName),
    }));
}

/**
 * The rollback of a rollout whose health gate failed (or that an operator rolled back): each device that
 * runs the image ({@link installState}) gets a job back to the version it had before (its
 * `previousVersion`); executions still queued or running are canceled so no more devices install it; the
 * devices that may have installed it without saying so are owed a check ({@link devicesToSendBack}).
 * Rollback executions themselves are never rolled back.
 *
 * @param reported the registry's record of a device, for the executions {@link needsReported} names
 */
export function rollbackPlan(
  executions: Iterable<JobExecution>,
  reported: (thingName: string) => ReportedFirmware | undefined = () => undefined,
): RollbackPlan {
  const back: OwedCheck[] = [];
  const owed: OwedCheck[] = [];
  const cancel: { thingName: string; force: boolean }[] = [];
  let fromVersion: string | undefined;
  let purpose: ArtifactPurpose | undefined;
  let untouched = 0;
  for (const execution of executions) {
    if (execution.rollback === true) continue;
    fromVersion ??= execution.firmwareVersion;
    purpose ??= execution.purpose ?? 'firmware';
    const { thingName, previousVersion } = execution;
    if (execution.status === 'QUEUED' || execution.status === 'IN_PROGRESS')
      cancel.push({ thingName, force: execution.status === 'IN_PROGRESS' });
    const state = installState(execution, reported(thingName));
    if (state === 'installed') back.push({ thingName, previousVersion });
    else if (state === 'unknown') owed.push({ thingName, previousVersion });
    else untouched++;
  }
  return {
    jobs: fromVersion === undefined ? [] : rollbackJobsOf(back, fromVersion, purpose),
    cancel: cancel.sort((a, b) => byName(a.thingName, b.thingName)),
    owed: owed.sort((a, b) => byName(a.thingName, b.thingName)),
    untouched,
  };
}

/**
 * Of the devices owed a check after a rollback, those whose latest status names the rolled-back
 * `version`: they installed it after all (a device that slept through the rollback and wakes up on the
 * new image) and are sent back now. The others stay owed until they do, or until the watch ends.
 */
export function devicesToSendBack(
  owed: readonly OwedCheck[],
  reported: (thingName: string) => ReportedFirmware | undefined,
  version: string,
  purpose: ArtifactPurpose = 'firmware',
): OwedCheck[] {
  return owed.filter((check) => reportedVersion(reported(check.thingName), purpose) === version);
}

/**
 * How long devices are watched after a rollback: a battery device in PSM can sleep for days between
 * reports (3GPP TS 24.008's extended periodic TAU timer runs to hours or days), so a week would miss
 * some; past two weeks, a device still silent is a matter for the fleet's offline alarms.
 */
export const ROLLBACK_WATCH_DAYS = 14;
