import type { GrantedPsm, StatusMessage } from '../lib/protocol/messages.ts';
import type { TelemetryRule } from '../lib/protocol/telemetry-rules.ts';
import type { ShadowRecord } from './domain/shadow/document.ts';
import type { HistoryEntry } from './domain/shadow/history.ts';
import type { ShadowId } from './domain/shadow/operations.ts';
import type { TelemetryAlert } from './domain/telemetry/alerts.ts';
import type { DeviceStreamState } from './domain/telemetry/state.ts';
import type { WindowAggregate } from './domain/telemetry/windows.ts';

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

/**
 * What hearing from a device changes in the registry (a status message, or telemetry). Absent optional
 * fields keep their stored value.
 */
export interface DeviceSighting {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Broker receive time, epoch ms. Updates older than the stored `lastSeen` are ignored. */
  readonly lastSeen: number;
  readonly firmwareVersion?: string;
  readonly modelVersion?: string;
  readonly battery?: BatteryRecord;
  readonly signal?: SignalRecord;
  readonly uptimeSeconds?: number;
  /** Device clock minus broker clock when the device sent `ts`, ms: a wrong RTC shows here. */
  readonly clockSkewMs?: number;
  /** TLS version of the device's own connection as it last reported it (`TLSv1.3`, `TLSv1.2`). */
  readonly tlsVersion?: string;
  /**
   * Power saving as the network granted it, as the device last reported it: when a sleeping device is
   * expected back, for the commands held for it.
   */
  readonly psm?: GrantedPsm;
  /**
   * The CoAP gateway faces a network without DTLS or OSCORE, as the device last reported it; `null` in an
   * update removes it (the device's status no longer says so).
   */
  readonly coapExposure?: StatusMessage['coapExposure'] | null;
}

/** A status message always says which firmware the device runs. */
export interface DeviceStatusUpdate extends DeviceSighting {
  readonly firmwareVersion: string;
}

/**
 * One device in the registry. A device provisioned through `POST /devices` is in the registry before
 * it is first heard from: until then it has no `lastSeen` / `firstSeen`, and the fleet counters do not
 * count it.
 */
export interface DeviceRecord extends Omit<DeviceSighting, 'lastSeen'> {
  /** Broker receive time of the last sighting, epoch ms; absent until the device is first heard from. */
  readonly lastSeen?: number;
  /** When the registry first heard from the device, epoch ms. */
  readonly firstSeen?: number;
  /** When the device was provisioned (`POST /devices`), epoch ms. */
  readonly provisionedAt?: number;
  /** The certificate the device last confirmed (provisioning counts as a confirmation). */
  readonly certificateId?: string;
  /** When the device last confirmed a rotated certificate, epoch ms. */
  readonly lastRotatedAt?: number;
  /** When an operator asked the device to rotate its certificate; cleared by the device's confirmation. */
  readonly rotationRequestedAt?: number;
  /** When IoT last dropped a connection of it for another with its client id (`DUPLICATE_CLIENTID`). */
  readonly lastClientIdConflictAt?: number;
  /** How many such disconnections were recorded. */
  readonly clientIdConflicts?: number;
  /** False once the sweeper found it silent for longer than its heartbeat allows; true again on the next sighting. */
  readonly online?: boolean;
  /** Thing groups it belongs to, as provisioned (`PATCH /devices/{id}`); rollouts target by group. */
  readonly groups?: readonly string[];
  /** Thing attributes, as provisioned; rollouts filter on them. */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A registry record of a device that has been heard from. */
export type SeenDeviceRecord = DeviceRecord & { readonly lastSeen: number; readonly firstSeen: number };

/** A sighting's effect: the record before and after, for the fleet health counters. */
export type SightingResult =
  | { readonly outcome: 'applied'; readonly before?: DeviceRecord; readonly after: SeenDeviceRecord }
  | { readonly outcome: 'stale' };

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
   * Applies a sighting unless a newer one is already stored, and marks the device online.
   *
   * @returns `applied` with the record before and after, or `stale` when the stored `lastSeen` is newer
   *   (messages arrive out of order)
   */
  recordSighting(update: DeviceSighting): Promise<SightingResult>;
  get(deviceId: string): Promise<DeviceRecord | undefined>;
  list(query: DeviceListQuery): Promise<Page<DeviceRecord>>;
  /** Online devices not seen since `seenBefore`, oldest first, from one shard of the online index. */
  silentDevices(shard: number, seenBefore: number, limit: number): Promise<readonly DeviceRecord[]>;
  /**
   * Marks a device offline if it was still last seen at `lastSeen` (a sighting in between wins).
   *
   * @returns the record before and after, or undefined when the device was seen again meanwhile
   */
  markOffline(
    deviceId: string,
    lastSeen: number,
  ): Promise<{ before: DeviceRecord; after: DeviceRecord } | undefined>;
  /** Every device, a page at a time (the health reconciler). */
  scan(limit: number, nextToken?: string): Promise<Page<DeviceRecord>>;
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

/** Stream processor state per device, written only with a condition on the revision read. */
export interface DeviceStateStore {
  loadMany(
    deviceIds: readonly string[],
  ): Promise<Map<string, { state: DeviceStreamState; revision: number }>>;
  /** @returns `conflict` when another writer (the sweeper) changed the device's state since it was read */
  save(state: DeviceStreamState, expectedRevision: number | undefined): Promise<'saved' | 'conflict'>;
}

/** Alerts, per device and by day for the fleet; writing one twice writes the same item. */
export interface AlertStore {
  put(alerts: readonly TelemetryAlert[]): Promise<void>;
  /** Newest first, across the fleet (or one device). */
  recent(query: { limit: number; deviceId?: string; nextToken?: string }): Promise<Page<TelemetryAlert>>;
}

/** Closed 1-minute windows; writing one twice writes the same item. */
export interface AggregateStore {
  put(windows: readonly WindowAggregate[]): Promise<void>;
  forDevice(deviceId: string, from: number, to: number, limit: number): Promise<readonly WindowAggregate[]>;
}

/** The telemetry rules configuration. */
export interface RuleStore {
  list(): Promise<readonly TelemetryRule[]>;
  put(rule: TelemetryRule): Promise<void>;
  /** @returns false when there was no such rule */
  delete(ruleId: string): Promise<boolean>;
}

/** One change to a fleet health counter. */
export interface CounterChange {
  readonly dimension: string;
  readonly counter: string;
  readonly delta: number;
}

/** Fleet health counters by dimension (`all`, `type:<t>`, `firmware:<v>`). */
export interface FleetHealthStore {
  apply(changes: readonly CounterChange[]): Promise<void>;
  /** Every dimension's counters: a handful of items, whatever the fleet's size. */
  readAll(): Promise<ReadonlyArray<{ dimension: string; counters: Readonly<Record<string, number>> }>>;
  /** Replaces every dimension with recounted values (the reconciler). */
  replaceAll(
    items: ReadonlyArray<{ dimension: string; counters: Readonly<Record<string, number>> }>,
    at: number,
  ): Promise<void>;
}
