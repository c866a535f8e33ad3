import { COMMAND_ANSWER_RULE_FIELDS, DEVICE_SIGHTING_RULE_FIELDS } from '../protocol/commands.ts';
import { deviceTopicFilter } from '../protocol/topics.ts';
import type { FunctionSpec, Resource } from './model.ts';

/**
 * The cloud-to-device commands' part of `lib/topology.ts` (issue 11): its tables, the topics its
 * functions publish to, and the three functions. Kept beside the table it is spread into, so the table
 * stays one screen per feature.
 */

/** How long an execution (and a fleet command) is kept after it expires. */
const COMMAND_SETTINGS = { COMMAND_RETENTION_DAYS: '30' } as const;

export const COMMAND_RESOURCES = {
  commandExecutions: {
    kind: 'table',
    description:
      'Command executions: one item per device and execution (request, state, reason, result), expiring after COMMAND_RETENTION_DAYS',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'executionId', type: 'S' },
    // Keys only: every execution a fleet command sends at once enters two of them, and a whole-item copy
    // in each would triple what creating it writes; their readers get the few items they act on by key.
    indexes: [
      // Sparse: what waits for a device (held, or sent and unanswered) — what its next sign of life sends.
      {
        name: 'awaiting',
        partitionKey: { name: 'awaitingDevice', type: 'S' },
        sortKey: { name: 'executionId', type: 'S' },
        projection: 'KEYS_ONLY',
      },
      // Sparse, sharded: a fleet command's executions never tried — its send queue, drained at its rate.
      {
        name: 'queue',
        partitionKey: { name: 'queueShard', type: 'S' },
        sortKey: { name: 'deviceId', type: 'S' },
        projection: 'KEYS_ONLY',
      },
      // Sparse, sharded: executions with a deadline (expiry while held, timeout once sent), by when.
      {
        name: 'due',
        partitionKey: { name: 'dueShard', type: 'S' },
        sortKey: { name: 'dueAt', type: 'N' },
        projection: 'KEYS_ONLY',
      },
    ],
    timeToLiveAttribute: 'ttl',
  },
  commandBatches: {
    kind: 'table',
    description: 'Fleet commands: request, selection, rate and dispatch progress, one item each',
    partitionKey: { name: 'batchId', type: 'S' },
    timeToLiveAttribute: 'ttl',
  },
  commandCounters: {
    kind: 'table',
    description: 'Executions per state of each fleet command, over 16 shard items, kept by atomic increments',
    partitionKey: { name: 'batchId', type: 'S' },
    sortKey: { name: 'scope', type: 'S' },
  },
  commandTopics: {
    kind: 'topics',
    description: "Command requests on the seed's devices/{type}/{id}/commands",
    filter: deviceTopicFilter('commands'),
  },
} as const satisfies Readonly<Record<string, Resource>>;

type CommandResourceName = keyof typeof COMMAND_RESOURCES | 'registry';

/** What delivering and answering touch: executions, batch counters, the commands topics. */
const deliveryUses = {
  commandExecutions: 'readWrite',
  commandCounters: 'write',
  commandTopics: 'write',
} as const;

export const COMMAND_FUNCTIONS = {
  apiCommands: {
    handler: 'api-commands',
    description:
      'HTTP API: commands to a device (optionally waiting for the outcome), its executions, fleet commands with progress from counters',
    routes: [
      'POST /devices/{id}/commands',
      'GET /devices/{id}/commands',
      'GET /devices/{id}/commands/{executionId}',
      'POST /commands',
      'GET /commands/{batchId}',
    ],
    uses: {
      ...deliveryUses,
      // A fleet command's executions are written in batches.
      commandExecutions: ['readWrite', 'batchWrite'],
      // GET /commands/{batchId} reads the counters.
      commandCounters: 'readWrite',
      commandBatches: 'readWrite',
      // Selecting devices without a type or a list reads the registry whole (a Scan).
      registry: ['read', 'scan'],
    },
    settings: COMMAND_SETTINGS,
    // ?wait=25 polls for the outcome; API Gateway ends the request at 30 s.
    timeoutSeconds: 29,
    memoryMiB: 1024,
  },
  commandsMqtt: {
    handler: 'commands-mqtt',
    description:
      "Devices' command answers; a device's status or telemetry sends what was held for it while it slept",
    rules: [
      { topic: deviceTopicFilter('command-answers'), payload: 'base64', add: COMMAND_ANSWER_RULE_FIELDS },
      // Signs of life: who and when, no payload (a telemetry batch is not this function's to read).
      { topic: deviceTopicFilter('status'), payload: 'none', add: DEVICE_SIGHTING_RULE_FIELDS },
      { topic: deviceTopicFilter('telemetry'), payload: 'none', add: DEVICE_SIGHTING_RULE_FIELDS },
    ],
    uses: deliveryUses,
    settings: COMMAND_SETTINGS,
  },
  commandsScheduler: {
    handler: 'commands-scheduler',
    description:
      'Every minute: sends fleet commands at their rate, expires held commands, times out unanswered ones',
    schedules: [{ everyMinutes: 1 }],
    uses: {
      ...deliveryUses,
      // The fleet commands still dispatching, by a Scan of the (few, expiring) batches.
      commandBatches: ['readWrite', 'scan'],
      // Whether a device was heard from since a request was sent (slept through it, or did not answer).
      registry: 'read',
    },
    settings: COMMAND_SETTINGS,
    timeoutSeconds: 60,
  },
} as const satisfies Readonly<Record<string, FunctionSpec<CommandResourceName>>>;
