import { DEVICE_RULE_FIELDS } from '../protocol/rule-events.ts';
import { deviceTopicFilter } from '../protocol/topics.ts';
import type { FunctionSpec, Resource } from './model.ts';

/**
 * The fleet's and telemetry's part of `lib/topology.ts`: the registry, fleet health, the telemetry
 * stream processor's tables and streams, and the functions that keep them.
 */

/** The registry, fleet health counters, telemetry state, windows, alerts, rules and the telemetry streams. */
export const FLEET_RESOURCES = {
  registry: {
    kind: 'table',
    description: 'Device registry: one item per device with last seen, firmware, battery and signal',
    partitionKey: { name: 'deviceId', type: 'S' },
    indexes: [
      {
        name: 'byType',
        partitionKey: { name: 'deviceType', type: 'S' },
        sortKey: { name: 'deviceId', type: 'S' },
      },
      // Sparse: only devices currently online, sharded, by last seen — the sweeper finds the silent ones
      // without scanning the fleet.
      {
        name: 'online',
        partitionKey: { name: 'onlineShard', type: 'S' },
        sortKey: { name: 'lastSeen', type: 'N' },
      },
    ],
  },
  fleetHealth: {
    kind: 'table',
    description: 'Fleet health counters per dimension (all, type, firmware), kept exact as devices change',
    partitionKey: { name: 'dimension', type: 'S' },
  },
  deviceState: {
    kind: 'table',
    description:
      'Stream processor state per device: last values, active alerts, open window, offsets applied',
    partitionKey: { name: 'deviceId', type: 'S' },
  },
  telemetryAggregates: {
    kind: 'table',
    description: 'Closed 1-minute windows per device (min, max, mean, count per metric)',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'windowStart', type: 'N' },
    timeToLiveAttribute: 'expiresAt',
  },
  alerts: {
    kind: 'table',
    description: 'Alerts raised and cleared, per device and by day for the fleet',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'alertKey', type: 'S' },
    indexes: [
      {
        name: 'recent',
        partitionKey: { name: 'day', type: 'S' },
        sortKey: { name: 'alertKey', type: 'S' },
      },
    ],
    timeToLiveAttribute: 'expiresAt',
  },
  telemetryRules: {
    kind: 'table',
    description: 'Telemetry rules as data (threshold, rate of change, heartbeat, anomaly), per rule id',
    partitionKey: { name: 'ruleId', type: 'S' },
  },
  iotTelemetry: {
    kind: 'stream',
    description: 'Raw device telemetry from the IoT rule, keyed by device id',
    topic: 'iot-telemetry',
    partitions: 6,
  },
  processedTelemetry: {
    kind: 'stream',
    description: 'Validated, enriched readings and closed window aggregates',
    topic: 'processed-telemetry',
    partitions: 6,
  },
  fleetAlerts: {
    kind: 'stream',
    description: 'Alerts raised and cleared',
    topic: 'fleet-alerts',
    partitions: 3,
  },
  telemetryDeadLetters: {
    kind: 'stream',
    description: 'Telemetry records that could not be processed, with the reason',
    topic: 'telemetry-dlq',
    partitions: 1,
  },
} as const satisfies Readonly<Record<string, Resource>>;

type FleetResourceName = keyof typeof FLEET_RESOURCES;

/** Status ingest, the telemetry stream processor, the sweeper, the health reconciler and the fleet API. */
export const FLEET_FUNCTIONS = {
  ingestStatus: {
    handler: 'ingest-status',
    description:
      'Records device status messages in the registry, keeps the fleet health counters, records reboots',
    rules: [{ topic: deviceTopicFilter('status'), payload: 'base64', add: DEVICE_RULE_FIELDS }],
    // Alerts: a reboot (uptime went backwards) is recorded as an alert event (batch put).
    uses: { registry: 'write', fleetHealth: 'write', alerts: ['write', 'batchWrite'] },
  },
  streamProcessor: {
    handler: 'stream-processor',
    description: 'Telemetry stream processor: rules, alerts, 1-minute windows, device health',
    kafka: [
      {
        topic: 'iot-telemetry',
        batchSize: 500,
        maxBatchingWindowSeconds: 1,
        startingPosition: 'TRIM_HORIZON',
      },
    ],
    uses: {
      iotTelemetry: 'read',
      processedTelemetry: 'write',
      fleetAlerts: 'write',
      telemetryDeadLetters: 'write',
      deviceState: 'readWrite',
      // Windows and alerts go in batch puts.
      telemetryAggregates: ['write', 'batchWrite'],
      alerts: ['write', 'batchWrite'],
      registry: 'write',
      fleetHealth: 'write',
      // The rules table is small and read whole (a Scan, cached a minute).
      telemetryRules: ['read', 'scan'],
    },
    memoryMiB: 1024,
    timeoutSeconds: 60,
  },
  fleetSweeper: {
    handler: 'fleet-sweeper',
    description: 'Every minute: devices gone silent go offline with a heartbeat alert; idle windows close',
    schedules: [{ everyMinutes: 1 }],
    uses: {
      registry: 'readWrite',
      deviceState: 'readWrite',
      telemetryAggregates: ['write', 'batchWrite'],
      alerts: ['write', 'batchWrite'],
      fleetAlerts: 'write',
      // Reads the counters whole (a Scan of a handful of items) for the fleet-online metric.
      fleetHealth: ['write', 'scan'],
      telemetryRules: ['read', 'scan'],
    },
    timeoutSeconds: 60,
  },
  healthReconciler: {
    handler: 'health-reconciler',
    description: 'Every hour: recounts the fleet health counters from the registry and fixes any drift',
    schedules: [{ everyMinutes: 60 }],
    // Recounts from a Scan of the registry; replaces the counter items, deleting dimensions now empty.
    uses: { registry: ['read', 'scan'], fleetHealth: ['write', 'scan', 'delete'] },
    timeoutSeconds: 300,
  },
  apiFleet: {
    handler: 'api-fleet',
    description: 'HTTP API: fleet health, alerts, telemetry aggregates, telemetry rules',
    routes: [
      'GET /fleet/health',
      'GET /alerts',
      'GET /devices/{id}/aggregates',
      'GET /telemetry/rules',
      'PUT /telemetry/rules/{ruleId}',
      'DELETE /telemetry/rules/{ruleId}',
    ],
    // GET /fleet/health and GET /telemetry/rules read their (small) tables whole; rules are deleted.
    uses: {
      fleetHealth: ['read', 'scan'],
      alerts: 'read',
      telemetryAggregates: 'read',
      telemetryRules: ['readWrite', 'scan', 'delete'],
    },
  },
} as const satisfies Readonly<Record<string, FunctionSpec<FleetResourceName>>>;

/**
 * The devices API, apart from {@link FLEET_FUNCTIONS} only because the table lists it after the firmware
 * functions, and the table's order is kept (the synthesized template follows it).
 */
export const DEVICES_FUNCTIONS = {
  apiDevices: {
    handler: 'api-devices',
    description: 'HTTP API: list and describe devices; set their groups and attributes',
    routes: ['GET /devices', 'GET /devices/{id}', 'PATCH /devices/{id}'],
    // GET /devices without a type pages through the registry (a Scan); with one it queries byType.
    uses: { registry: ['readWrite', 'scan'] },
  },
} as const satisfies Readonly<Record<string, FunctionSpec<FleetResourceName>>>;
