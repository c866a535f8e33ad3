import { SHADOW_RULE_FIELDS } from '../protocol/rule-events.ts';
import { THING_TOPIC_ROOT } from '../protocol/topics.ts';
import type { FunctionSpec, Resource } from './model.ts';

/** The device shadows' part of `lib/topology.ts`: the shadows table and its MQTT and HTTP functions. */

/** Shadow limits: AWS IoT's by default, raised per deployment where 8 KB is a wall. */
const SHADOW_SETTINGS = {
  SHADOW_MAX_STATE_BYTES: '8192',
  SHADOW_MAX_DEPTH: '6',
  SHADOW_HISTORY_VERSIONS: '20',
  SHADOW_HISTORY_MAX_BYTES: '16384',
  SHADOW_RECENT_CACHE_ENTRIES: '2000',
} as const;

const shadowUses = { shadows: 'readWrite', shadowTopics: 'write' } as const;

/** The shadows table (its topic scope is in `thing-topics.ts`). */
export const SHADOW_RESOURCES = {
  shadows: {
    kind: 'table',
    description: 'Device shadows: one item per thing and shadow name (document, history, recent request ids)',
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
} as const satisfies Readonly<Record<string, Resource>>;

type ShadowResourceName = keyof typeof SHADOW_RESOURCES | 'shadowTopics';

/** Shadow requests over MQTT and the shadow HTTP API. */
export const SHADOW_FUNCTIONS = {
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
} as const satisfies Readonly<Record<string, FunctionSpec<ShadowResourceName>>>;
