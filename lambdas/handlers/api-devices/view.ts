import type { DeviceRecord } from '../../ports.ts';

/** A device as the HTTP API shows it: times as ISO-8601 strings. */
export type DeviceView = Omit<DeviceRecord, 'lastSeen' | 'firstSeen'> & {
  lastSeen: string;
  firstSeen: string;
};

/** Maps a registry record to its API representation. */
export function toDeviceView(record: DeviceRecord): DeviceView {
  return {
    ...record,
    lastSeen: new Date(record.lastSeen).toISOString(),
    firstSeen: new Date(record.firstSeen).toISOString(),
  };
}
