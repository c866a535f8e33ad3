import type { ShadowRecord } from './domain/shadow/document.ts';
import type { HistoryEntry } from './domain/shadow/history.ts';
import type { ShadowId } from './domain/shadow/operations.ts';

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

/** One retry-protection entry: who sent the request, the hash of its content and what it produced. */
export interface ClientTokenEntry {
  /** The client's `clientToken`, when it sent one. */
  readonly clientToken?: string;
  /** The delivery's own id (an IoT rule's `newuuid()`): the same on every redelivery of one message. */
  readonly requestId?: string;
  readonly requestHash: string;
  readonly version: number;
  readonly timestamp: number;
}

/** A shadow as the store holds it: the domain record plus what concurrency control needs. */
export interface StoredShadow {
  readonly record: ShadowRecord;
  /** Write counter: moves on every write, deletes included (the version does not move on delete). */
  readonly revision: number;
  /** The most recent clientTokens, newest last, for idempotent retries. */
  readonly recentTokens: readonly ClientTokenEntry[];
  /** The last changes, oldest first, each with how to undo it: the shadow's history, kept in the same item. */
  readonly history: readonly HistoryEntry[];
}

/** A shadow whose desired state the device has not reached yet. */
export interface PendingShadow {
  readonly thingName: string;
  readonly shadowName?: string;
  readonly version: number;
  readonly timestamp: number;
}

/** Shadow persistence with optimistic concurrency. */
export interface ShadowStore {
  load(id: ShadowId): Promise<StoredShadow | undefined>;
  /**
   * Writes `next` if the stored revision is still `expectedRevision` (undefined: nothing stored yet).
   *
   * @param pending whether the shadow's delta is non-empty after this write (feeds the pending index)
   * @returns `conflict` when another writer got there first; nothing was written then
   */
  save(
    id: ShadowId,
    next: StoredShadow & { readonly pending: boolean },
    expectedRevision: number | undefined,
  ): Promise<'saved' | 'conflict'>;
  /** Names of a thing's named shadows that exist (not the classic one), in name order. */
  listNamedShadows(thingName: string, limit: number, nextToken?: string): Promise<Page<string>>;
  /** Shadows of one name (undefined: classic) whose delta is not empty. */
  listPending(
    shadowName: string | undefined,
    limit: number,
    nextToken?: string,
  ): Promise<Page<PendingShadow>>;
}

/** Publishes MQTT messages as the platform (IoT Core's data plane in AWS, the broker locally). */
export interface Publisher {
  publish(topic: string, payload: string): Promise<void>;
}

/** A record to produce to a stream (a Kafka topic). */
export interface OutgoingRecord {
  /** Partition key: records with one key stay in one partition, in order (fleetkit uses the device id). */
  readonly key: string;
  readonly value: Uint8Array | string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Produces records to streams: kafkajs to MSK in AWS (idempotent producer), kafkajs to `KAFKA_BROKERS`
 * locally when set, the embedded topic log otherwise.
 */
export interface RecordProducer {
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
}
