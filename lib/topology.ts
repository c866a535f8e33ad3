import { DEVICE_RULE_FIELDS } from './protocol/rule-events.ts';
import { deviceTopicFilter } from './protocol/topics.ts';
import type { Topology } from './topology/model.ts';
import { validateTopology } from './topology/validate.ts';

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
      ],
    },
    firmware: {
      kind: 'bucket',
      description: 'Firmware images, versioned; signed images are never overwritten in place',
      versioned: true,
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
  },
} as const satisfies Topology<'registry' | 'firmware'>;

/** Names of the topology's resources. */
export type ResourceName = keyof typeof topology.resources;

validateTopology(topology);
