import { compareVersions } from '../../../lib/protocol/semver.ts';
/** The new-rollout form's fields, as text and flags the inputs hold. */
export interface RolloutForm {
  readonly rolloutId: string;
  readonly description: string;
  readonly firmwareVersion: string;
  readonly deviceTypes: readonly string[];
  readonly groups: string;
  readonly things: string;
  readonly percentage: string;
  readonly sizes: string;
  readonly successPercentage: string;
  readonly soakMinutes: string;
  readonly maximumPerMinute: string;
  readonly minRsrpDbm: string;
  readonly minBatteryPercent: string;
  readonly gate: boolean;
  readonly gateMetric: string;
  readonly maxWorseningRelative: string;
  readonly windowMinutes: string;
  readonly controlPercentage: string;
  readonly minDeviceHours: string;
}

export const EMPTY_FORM: RolloutForm = {
  rolloutId: '',
  description: '',
  firmwareVersion: '',
  deviceTypes: [],
  groups: '',
  things: '',
  percentage: '100',
  sizes: '10, 50, 100',
  successPercentage: '90',
  soakMinutes: '',
  maximumPerMinute: '',
  minRsrpDbm: '',
  minBatteryPercent: '',
  gate: false,
  gateMetric: 'anomalyRate',
  maxWorseningRelative: '0.2',
  windowMinutes: '30',
  controlPercentage: '10',
  minDeviceHours: '',
};

const list = (text: string) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');

/** A number typed in a field, or undefined for an empty one (the API then takes its default). */
const number = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The `POST /rollouts` body the form describes. Empty fields are left out, so the API's defaults and its
 * own validation apply (it names every bad field; the page shows what it says).
 */
export function rolloutRequestOf(form: RolloutForm): Record<string, unknown> {
  const sizes = list(form.sizes).map(Number);
  const gate = defined({
    successPercentage: number(form.successPercentage),
    minimumSoakMinutes: number(form.soakMinutes),
  });
  const pacing = defined({
    minRsrpDbm: number(form.minRsrpDbm),
    minBatteryPercent: number(form.minBatteryPercent),
  });
  const targets = defined({
    deviceTypes: form.deviceTypes.length > 0 ? form.deviceTypes : undefined,
    groups: list(form.groups).length > 0 ? list(form.groups) : undefined,
    things: list(form.things).length > 0 ? list(form.things) : undefined,
    percentage: number(form.percentage),
  });
  return defined({
    rolloutId: form.rolloutId.trim() === '' ? undefined : form.rolloutId.trim(),
    description: form.description.trim() === '' ? undefined : form.description.trim(),
    firmwareVersion: form.firmwareVersion,
    targets,
    waves: defined({
      sizes: sizes.length > 0 ? sizes : undefined,
      maximumPerMinute: number(form.maximumPerMinute),
      gate: gate.successPercentage === undefined ? undefined : gate,
    }),
    pacing: Object.keys(pacing).length > 0 ? pacing : undefined,
    healthGate: form.gate
      ? defined({
          metric: form.gateMetric,
          maxWorsening: { relative: number(form.maxWorseningRelative) ?? 0 },
          windowMinutes: number(form.windowMinutes),
          controlPercentage: number(form.controlPercentage),
          minDeviceHours: number(form.minDeviceHours),
        })
      : undefined,
  });
}

/** Why devices were skipped, in words. */
export const SKIP_WORDS: Readonly<Record<string, string>> = {
  incompatibleType: 'the image does not fit their type',
  unknownVersion: 'their firmware version is unknown',
  alreadyOnVersion: 'already on this version',
  downgrade: 'they run a newer version (a downgrade)',
  belowMinVersion: 'below the minimum version the image upgrades from',
  outsidePercentage: 'outside the percentage',
};

/**
 * The version the form starts with: the newest available image (SemVer order), the one an operator who
 * just uploaded it means to roll out — the oldest is usually what the fleet already runs, and its
 * preview would only be the API's refusal (no device eligible).
 */
export function newestVersion(versions: readonly string[]): string | undefined {
  return [...versions].sort((a, b) => compareVersions(b, a) ?? b.localeCompare(a))[0];
}
