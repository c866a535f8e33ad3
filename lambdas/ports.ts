/**
 * The interfaces the domain and handlers need from the outside world. Adapters in `adapters/`
 * implement them, one technology per file.
 */

/** Battery state as last reported. */
export interface BatteryRecord {
  readonly percent: number;
  readonly voltage?: number;
  readonly charging?: boolean;
}

/** Cellular signal as last reported. */
export interface SignalRecord {
  readonly rsrp: number;
  readonly rsrq?: number;
  readonly sinr?: number;
  readonly bars?: number;
  readonly rat?: string;
}

/** What a status message changes in the registry. Absent optional fields keep their stored value. */
export interface DeviceStatusUpdate {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Broker receive time, epoch ms. Updates older than the stored `lastSeen` are ignored. */
  readonly lastSeen: number;
  readonly firmwareVersion: string;
  readonly modelVersion?: string;
  readonly battery?: BatteryRecord;
  readonly signal?: SignalRecord;
  readonly uptimeSeconds?: number;
  /** Device clock minus broker clock when the device sent `ts`, ms: a wrong RTC shows here. */
  readonly clockSkewMs?: number;
}

/** One device in the registry. */
export interface DeviceRecord extends DeviceStatusUpdate {
  /** When the registry first heard from the device, epoch ms. */
  readonly firstSeen: number;
}

/** A page of results and the opaque token for the next one. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextToken?: string;
}

/** Query for {@link DeviceRegistry.list}. */
export interface DeviceListQuery {
  readonly deviceType?: string;
  readonly limit: number;
  readonly nextToken?: string;
}

/** The device registry. */
export interface DeviceRegistry {
  /**
   * Applies a status update unless a newer one is already stored.
   *
   * @returns `applied`, or `stale` when the stored `lastSeen` is newer (messages can arrive out of order)
   */
  recordStatus(update: DeviceStatusUpdate): Promise<'applied' | 'stale'>;
  get(deviceId: string): Promise<DeviceRecord | undefined>;
  list(query: DeviceListQuery): Promise<Page<DeviceRecord>>;
}
