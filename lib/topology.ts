import { DEVICE_RULE_FIELDS, SHADOW_RULE_FIELDS } from './protocol/rule-events.ts';
import { deviceTopicFilter, THING_TOPIC_ROOT } from './protocol/topics.ts';
import type { Topology } from './topology/model.ts';
import { validateTopology } from './topology/validate.ts';

/** Shadow limits: AWS IoT's by default, raised per deployment where 8 KB is a wall. */
const SHADOW_SETTINGS = {
  SHADOW_MAX_STATE_BYTES: '8192',
  SHADOW_MAX_DEPTH: '6',
  SHADOW_HISTORY_VERSIONS: '20',
  SHADOW_HISTORY_MAX_BYTES: '16384',
} as const;

const shadowUses = { shadows: 'readWrite', shadowTopics: 'write' } as const;

/**
 * fleetkit's one table of resources and functions, and what triggers each function.
 *
 * The CDK app (`lib/stacks/`) and the local platform (`lib/local/`) are both built from this value.
 * Adding a function is one entry here plus its folder under `lambdas/handlers/`.
 */
export const topology = {
  resources: {
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
    firmware: {
      kind: 'bucket',
      description: 'Firmware images, versioned; signed images are never overwritten in place',
      versioned: true,
    },
    shadows: {
      kind: 'table',
      description:
        'Device shadows: one item per thing and shadow name (document, history, recent request ids)',
      partitionKey: { name: 'thingName', type: 'S' },
      sortKey: { name: 'shadowName', type: 'S' },
      // Sparse: only shadows whose delta is not empty, sharded by thing, per shadow name.
      indexes: [
        {
          name: 'pending',
          partitionKey: { name: 'pendingPk', type: 'S' },
          sortKey: { name: 'pendingSk', type: 'S' },
        },
      ],
    },
    shadowTopics: {
      kind: 'topics',
      description: 'Shadow responses and notifications (accepted, rejected, delta, documents)',
      prefix: THING_TOPIC_ROOT,
    },
  },
  functions: {
    ingestStatus: {
      handler: 'ingest-status',
      description: 'Records device status messages in the registry',
      rules: [{ topic: deviceTopicFilter('status'), payload: 'base64', add: DEVICE_RULE_FIELDS }],
      uses: { registry: 'write' },
    },
    apiDevices: {
      handler: 'api-devices',
      description: 'HTTP API: list and describe devices',
      routes: ['GET /devices', 'GET /devices/{id}'],
      uses: { registry: 'read' },
    },
    shadowMqtt: {
      handler: 'shadow-mqtt',
      description: 'Device shadow requests over MQTT: get, update, delete of classic and named shadows',
      rules: [
        { topic: `${THING_TOPIC_ROOT}/+/shadow/+`, payload: 'base64', add: SHADOW_RULE_FIELDS },
        { topic: `${THING_TOPIC_ROOT}/+/shadow/name/+/+`, payload: 'base64', add: SHADOW_RULE_FIELDS },
      ],
      uses: shadowUses,
      settings: SHADOW_SETTINGS,
    },
    apiShadows: {
      handler: 'api-shadows',
      description: 'HTTP API: shadows as AWS IoT data plane REST, pending shadows, shadow history',
      routes: [
        'GET /things/{thingName}/shadow',
        'POST /things/{thingName}/shadow',
        'DELETE /things/{thingName}/shadow',
        'GET /things/{thingName}/shadow/history',
        'GET /api/things/shadow/ListNamedShadowsForThing/{thingName}',
        'GET /shadows',
      ],
      uses: shadowUses,
      settings: SHADOW_SETTINGS,
    },
  },
} as const satisfies Topology<'registry' | 'firmware' | 'shadows' | 'shadowTopics'>;

/** Names of the topology's resources. */
export type ResourceName = keyof typeof topology.resources;

validateTopology(topology);
