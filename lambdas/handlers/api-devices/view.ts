import type { DeviceRecord } from '../../ports.ts';

const TIMES = [
  'lastSeen',
  'firstSeen',
  'provisionedAt',
  'lastRotatedAt',
  'rotationRequestedAt',
  'lastClientIdConflictAt',
] as const;
type TimeField = (typeof TIMES)[number];

/** A device as the HTTP API shows it: times as ISO-8601 strings; a time not known yet is left out. */
export type DeviceView = Omit<DeviceRecord, TimeField> & { [K in TimeField]?: string };

/** Maps a registry record to its API representation. */
export function toDeviceView(record: DeviceRecord): DeviceView {
  const view: Record<string, unknown> = { ...record };
  for (const field of TIMES) {
    const value = record[field];
    if (value === undefined) delete view[field];
    else view[field] = new Date(value).toISOString();
  }
  return view as DeviceView;
}
