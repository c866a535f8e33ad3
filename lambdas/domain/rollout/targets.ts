import type { ArtifactPurpose, AttributeFilter, RolloutTargets } from '../../../lib/protocol/rollouts.ts';
import { cohortOf, DEFAULT_COHORT_SALT } from './cohort.ts';
import { compareSemVer, parseVersion, type SemVer } from './semver.ts';

/** What target selection and pacing need of a registry record. */
export interface RolloutDevice {
  readonly thingName: string;
  readonly deviceType: string;
  readonly firmwareVersion: string;
  /** The anomaly model version the device last reported, if it did. */
  readonly modelVersion?: string;
  /** Thing groups the device belongs to. */
  readonly groups?: readonly string[];
  /** Registry attributes (AWS IoT thing attributes are strings; numbers are accepted too). */
  readonly attributes?: Readonly<Record<string, string | number>>;
  /** Last reported RSRP, dBm. */
  readonly rsrp?: number;
  readonly batteryPercent?: number;
}

/** The image (or model) and the rollout's rules about who may install it. */
export interface FirmwareImage {
  /** What is installed: the version a device runs of it is its firmware's or its model's. @default 'firmware' */
  readonly purpose?: ArtifactPurpose;
  readonly version: string;
  /** The device types the image is built for; any type when absent. */
  readonly deviceTypes?: readonly string[];
  /** The oldest version the image upgrades from. */
  readonly minVersion?: string;
  readonly allowDowngrade?: boolean;
}

/** Why a targeted device does not get the image. */
export const SKIP_REASONS = [
  'incompatibleType',
  'unknownVersion',
  'alreadyOnVersion',
  'downgrade',
  'belowMinVersion',
  'outsidePercentage',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** A device that gets the image, with its cohort. */
export interface EligibleDevice {
  readonly device: RolloutDevice;
  readonly cohort: number;
}

/** The outcome of target selection. */
export interface TargetSelection {
  /** In input order; planning orders them by cohort. */
  readonly eligible: readonly EligibleDevice[];
  /** Devices the selectors matched, eligible or not. */
  readonly targeted: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
}

type Scalar = string | number;

function asNumber(value: Scalar): number | undefined {
  if (typeof value === 'number') return value;
  // Registry attributes are strings: "15" compares with 20 as a number. An empty string is not 0.
  if (value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function equal(actual: Scalar, expected: Scalar): boolean {
  const a = asNumber(actual);
  const e = asNumber(expected);
  return a !== undefined && e !== undefined ? a === e : String(actual) === String(expected);
}

/** Orders two values: as numbers when both are, as semantic versions when both are; else unordered. */
function order(actual: Scalar, expected: Scalar): number | undefined {
  const a = asNumber(actual);
  const e = asNumber(expected);
  if (a !== undefined && e !== undefined) return Math.sign(a - e);
  const va = parseVersion(String(actual));
  const ve = parseVersion(String(expected));
  return va !== undefined && ve !== undefined ? compareSemVer(va, ve) : undefined;
}

function attributeOf(device: RolloutDevice, name: string): Scalar | undefined {
  // The registry's own fields first, so `firmwareVersion` and `deviceType` filter what the device reports.
  if (name === 'thingName') return device.thingName;
  if (name === 'deviceType') return device.deviceType;
  if (name === 'firmwareVersion') return device.firmwareVersion;
  if (name === 'modelVersion') return device.modelVersion;
  return device.attributes?.[name];
}

/**
 * Whether a device matches one attribute filter. A device without the attribute matches no filter, `ne`
 * included: an unknown value is not known to differ. `lt` and `gt` compare numbers as numbers and
 * versions by semantic version precedence; other pairs do not match.
 */
export function matchesAttribute(device: RolloutDevice, filter: AttributeFilter): boolean {
  const actual = attributeOf(device, filter.attribute);
  if (actual === undefined) return false;
  const value = filter.value;
  switch (filter.op) {
    case 'eq':
      return !Array.isArray(value) && equal(actual, value);
    case 'ne':
      return !Array.isArray(value) && !equal(actual, value);
    case 'in':
      return Array.isArray(value) && value.some((v) => equal(actual, v));
    case 'lt':
      return !Array.isArray(value) && order(actual, value) === -1;
    case 'gt':
      return !Array.isArray(value) && order(actual, value) === 1;
  }
}

/**
 * A predicate for the selectors other than `percentage`, built once per selection (the local
 * platform's fault injection selects simulated devices with it too).
 */
export function selectorOf(targets: RolloutTargets): (device: RolloutDevice) => boolean {
  const types = targets.deviceTypes === undefined ? undefined : new Set(targets.deviceTypes);
  const groups = targets.groups === undefined ? undefined : new Set(targets.groups);
  const things = targets.things === undefined ? undefined : new Set(targets.things);
  const filters = targets.attributes ?? [];
  return (device) =>
    (types === undefined || types.has(device.deviceType)) &&
    (things === undefined || things.has(device.thingName)) &&
    (groups === undefined || (device.groups ?? []).some((g) => groups.has(g))) &&
    filters.every((f) => matchesAttribute(device, f));
}

/** The version of `purpose` the device runs, as it last reported it ('' when it never did). */
export function installedVersion(device: RolloutDevice, purpose: ArtifactPurpose = 'firmware'): string {
  return purpose === 'model' ? (device.modelVersion ?? '') : device.firmwareVersion;
}

/**
 * Whether `targets` select a device, firmware aside: every selector given matches, and the device's
 * cohort falls inside `percentage`. What a fleet command (`POST /commands`) sends to.
 */
export function targetFilter(targets: RolloutTargets): (device: RolloutDevice) => boolean {
  const selected = selectorOf(targets);
  const salt = targets.cohortSalt ?? DEFAULT_COHORT_SALT;
  const fraction = (targets.percentage ?? 100) / 100;
  return (device) => selected(device) && (fraction >= 1 || cohortOf(device.thingName, salt) < fraction);
}

/**
 * Picks the devices a rollout installs on.
 *
 * A device is targeted when every selector given matches (types, groups, things, attribute filters). A
 * targeted device is then skipped, with the reason counted, when the image is for another device type,
 * its version (of the firmware, or of the model for a model rollout) cannot be read, it already runs the image's version, the image would be a downgrade (unless
 * `allowDowngrade`), or it runs something older than `minVersion`. Last, `percentage` keeps devices whose
 * cohort is below p/100: each device's place depends only on its own name, so the sample is the same on
 * every run, grows monotonically with p, and does not shift when other devices join or leave the fleet.
 */
export function selectTargets(
  devices: Iterable<RolloutDevice>,
  targets: RolloutTargets,
  firmware: FirmwareImage,
): TargetSelection {
  const selected = selectorOf(targets);
  const image = parseVersion(firmware.version);
  if (image === undefined)
    throw new TypeError(`firmware version '${firmware.version}' is not a semantic version`);
  const minVersion = firmware.minVersion === undefined ? undefined : parseVersion(firmware.minVersion);
  if (firmware.minVersion !== undefined && minVersion === undefined)
    throw new TypeError(`minVersion '${firmware.minVersion}' is not a semantic version`);
  const fits = firmware.deviceTypes === undefined ? undefined : new Set(firmware.deviceTypes);
  const salt = targets.cohortSalt ?? DEFAULT_COHORT_SALT;
  const fraction = (targets.percentage ?? 100) / 100;
  // A fleet runs a handful of versions: parse each once, not once per device.
  const versions = new Map<string, SemVer | undefined>();
  const skipped: Record<SkipReason, number> = {
    incompatibleType: 0,
    unknownVersion: 0,
    alreadyOnVersion: 0,
    downgrade: 0,
    belowMinVersion: 0,
    outsidePercentage: 0,
  };
  const eligible: EligibleDevice[] = [];
  let targeted = 0;
  for (const device of devices) {
    if (!selected(device)) continue;
    targeted++;
    if (fits !== undefined && !fits.has(device.deviceType)) {
      skipped.incompatibleType++;
      continue;
    }
    const installed = installedVersion(device, firmware.purpose);
    let current = versions.get(installed);
    if (current === undefined && !versions.has(installed)) {
      current = parseVersion(installed);
      versions.set(installed, current);
    }
    if (current === undefined) {
      skipped.unknownVersion++;
      continue;
    }
    const order = compareSemVer(current, image);
    if (order === 0) {
      skipped.alreadyOnVersion++;
      continue;
    }
    if (order > 0 && firmware.allowDowngrade !== true) {
      skipped.downgrade++;
      continue;
    }
    if (minVersion !== undefined && compareSemVer(current, minVersion) < 0) {
      skipped.belowMinVersion++;
      continue;
    }
    const cohort = cohortOf(device.thingName, salt);
    if (cohort >= fraction) {
      skipped.outsidePercentage++;
      continue;
    }
    eligible.push({ device, cohort });
  }
  return { eligible, targeted, skipped };
}

/**
 * Two selections as one. Each device's outcome depends on that device alone, so selecting page by page
 * of a registry scan and merging the pages gives the same result as selecting the whole fleet at once.
 */
export function mergeSelections(a: TargetSelection, b: TargetSelection): TargetSelection {
  const skipped = { ...a.skipped };
  for (const reason of SKIP_REASONS) skipped[reason] += b.skipped[reason];
  return { eligible: [...a.eligible, ...b.eligible], targeted: a.targeted + b.targeted, skipped };
}
