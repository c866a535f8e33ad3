import { DEVICE_RULE_FIELDS } from './protocol/rule-events.ts';
import { deviceTopicFilter } from './protocol/topics.ts';
import { COMMAND_FUNCTIONS, COMMAND_RESOURCES } from './topology/commands.ts';
import { FIRMWARE_FUNCTIONS, FIRMWARE_RESOURCES } from './topology/firmware.ts';
import { DEVICES_FUNCTIONS, FLEET_FUNCTIONS, FLEET_RESOURCES } from './topology/fleet.ts';
import { IDENTITY_FUNCTIONS, IDENTITY_RESOURCES } from './topology/identity.ts';
import type { Topology } from './topology/model.ts';
import { ROLLOUT_FUNCTIONS, ROLLOUT_RESOURCES } from './topology/rollouts.ts';
import { SHADOW_FUNCTIONS, SHADOW_RESOURCES } from './topology/shadows.ts';
import { THING_TOPIC_RESOURCES } from './topology/thing-topics.ts';
import { validateTopology } from './topology/validate.ts';

/**
 * fleetkit's one table of resources and functions, and what triggers each function.
 *
 * The CDK app (`lib/stacks/`) and the local platform (`lib/local/`) are both built from this value.
 * Adding a function is one entry in its feature's part (`lib/topology/<feature>.ts`) plus its folder under
 * `lambdas/handlers/`.
 */
export const topology = {
  // Each feature's part lives in `lib/topology/<feature>.ts`; the spreads keep the order the table had
  // when it was one file, which the synthesized template follows.
  resources: {
    ...FLEET_RESOURCES,
    ...FIRMWARE_RESOURCES,
    ...SHADOW_RESOURCES,
    ...THING_TOPIC_RESOURCES,
    ...ROLLOUT_RESOURCES,
    ...IDENTITY_RESOURCES,
    ...COMMAND_RESOURCES,
  },
  functions: {
    ...FLEET_FUNCTIONS,
    ...FIRMWARE_FUNCTIONS,
    ...DEVICES_FUNCTIONS,
    ...IDENTITY_FUNCTIONS,
    ...ROLLOUT_FUNCTIONS,
    ...SHADOW_FUNCTIONS,
    ...COMMAND_FUNCTIONS,
  },
  deviceTypes: {
    tracker: { description: 'Asset tracker: position, motion and battery over LTE-M / NB-IoT' },
    'env-sensor': { description: 'Environment sensor: temperature, humidity, air quality' },
  },
  ingest: {
    telemetry: {
      description: 'Device telemetry into the iot-telemetry stream, keyed by device id so it stays ordered',
      rule: { topic: deviceTopicFilter('telemetry'), payload: 'base64', add: DEVICE_RULE_FIELDS },
      stream: 'iotTelemetry',
      key: 'deviceId',
    },
  },
} as const satisfies Topology<
  | keyof typeof FLEET_RESOURCES
  | keyof typeof FIRMWARE_RESOURCES
  | keyof typeof SHADOW_RESOURCES
  | keyof typeof THING_TOPIC_RESOURCES
  | keyof typeof ROLLOUT_RESOURCES
  | keyof typeof IDENTITY_RESOURCES
  | keyof typeof COMMAND_RESOURCES
>;

/** Names of the topology's resources. */
export type ResourceName = keyof typeof topology.resources;

validateTopology(topology);
