import { IDENTITY_RULE_FIELDS } from './protocol/identity.ts';
import { DEVICE_RULE_FIELDS, SHADOW_RULE_FIELDS, THING_REQUEST_RULE_FIELDS } from './protocol/rule-events.ts';
import { deviceTopicFilter, THING_TOPIC_ROOT } from './protocol/topics.ts';
import { COMMAND_FUNCTIONS, COMMAND_RESOURCES } from './topology/commands.ts';
import type { Topology } from './topology/model.ts';
import { validateTopology } from './topology/validate.ts';

/** Shadow limits: AWS IoT's by default, raised per deployment where 8 KB is a wall. */
const SHADOW_SETTINGS = {
  SHADOW_MAX_STATE_BYTES: '8192',
  SHADOW_MAX_DEPTH: '6',
  SHADOW_HISTORY_VERSIONS: '20',
  SHADOW_HISTORY_MAX_BYTES: '16384',
  SHADOW_RECENT_CACHE_ENTRIES: '2000',
} as const;

/** Firmware URLs: an hour to upload an image; fifteen minutes to start a download (a device asks again). */
const FIRMWARE_SETTINGS = {
  FIRMWARE_UPLOAD_URL_SECONDS: '3600',
  FIRMWARE_DOWNLOAD_URL_SECONDS: '900',
} as const;

/**
 * What answering a device's jobs requests takes: executions, counters, firmware and models to send, topics
 * to answer on.
 */
const jobUses = {
  jobExecutions: 'readWrite',
  rolloutCounters: 'write',
  firmwareCatalog: 'read',
  modelCatalog: 'read',
  firmware: 'read',
  jobTopics: 'write',
} as const;

const shadowUses = { shadows: 'readWrite', shadowTopics: 'write' } as const;

/** What provisioning, rotation and revocation touch: IoT's registry, fleetkit's records, thing topics. */
const identityUses = {
  things: 'readWrite',
  certificates: 'readWrite',
  registry: 'readWrite',
  identityTopics: 'write',
} as const;

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
    firmware: {
      kind: 'bucket',
      description:
        'Firmware images (images/), their verified deltas (deltas/) and edge anomaly models (models/), versioned; signed objects are never overwritten in place',
      versioned: true,
    },
    firmwareCatalog: {
      kind: 'table',
      description: 'Firmware metadata: one item per version (declared size and SHA-256, signature, status)',
      partitionKey: { name: 'version', type: 'S' },
    },
    modelCatalog: {
      kind: 'table',
      description:
        'Edge anomaly model metadata: one item per version (declared size and SHA-256, signature, status)',
      partitionKey: { name: 'version', type: 'S' },
    },
    firmwareSigning: {
      kind: 'signingKey',
      description: 'Signs firmware release manifests (ECDSA P-256, SHA-256); devices trust it for firmware',
      purpose: 'firmware',
    },
    modelSigning: {
      kind: 'signingKey',
      description: 'Signs anomaly model release manifests; devices trust it for models only',
      purpose: 'model',
    },
    keySetSigning: {
      kind: 'signingKey',
      description: 'Signs the key set devices trust (key rollover documents): the root of their trust',
      purpose: 'keyset',
    },
    rollbackSigning: {
      kind: 'signingKey',
      description:
        'Signs rollback authorizations for the devices of one rollback job; devices trust it for rollback',
      purpose: 'rollback',
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
    // Two scopes, not `fleet/things/#`: a shadow function cannot answer as the jobs API, nor the reverse.
    shadowTopics: {
      kind: 'topics',
      description: 'Shadow answers and notifications: accepted / rejected, update/delta, update/documents',
      filter: `${THING_TOPIC_ROOT}/+/shadow/#`,
    },
    jobTopics: {
      kind: 'topics',
      description: 'Jobs answers and notifications: accepted / rejected, notify, notify-next',
      filter: `${THING_TOPIC_ROOT}/+/jobs/#`,
    },
    identityTopics: {
      kind: 'topics',
      description:
        'Identity answers and notifications: get / activate / confirm accepted and rejected, notify',
      filter: `${THING_TOPIC_ROOT}/+/identity/#`,
    },
    jobExecutions: {
      kind: 'table',
      description: 'Job executions (AWS IoT Jobs semantics): one item per thing and job, versioned',
      partitionKey: { name: 'thingName', type: 'S' },
      sortKey: { name: 'jobId', type: 'S' },
      indexes: [
        // A rollout's executions, sharded: reconciler, rollback, cancel.
        {
          name: 'byRollout',
          partitionKey: { name: 'rolloutShard', type: 'S' },
          sortKey: { name: 'thingName', type: 'S' },
        },
        // Sparse: executions with a timer running or a retry to come, by when — the scheduler's watch list.
        {
          name: 'due',
          partitionKey: { name: 'dueShard', type: 'S' },
          sortKey: { name: 'dueAt', type: 'N' },
        },
      ],
    },
    rollouts: {
      kind: 'table',
      description: 'Rollouts: request, plan shape, status and the scheduler memory, one item each',
      partitionKey: { name: 'rolloutId', type: 'S' },
    },
    rolloutTargets: {
      kind: 'table',
      description: 'Rollout plans: planned devices not yet notified, in wave order, and the control cohort',
      partitionKey: { name: 'rolloutId', type: 'S' },
      sortKey: { name: 'targetKey', type: 'S' },
    },
    rolloutCounters: {
      kind: 'table',
      description: 'Executions per status, per rollout and per wave, kept by atomic increments',
      partitionKey: { name: 'rolloutId', type: 'S' },
      sortKey: { name: 'scope', type: 'S' },
    },
    things: {
      kind: 'things',
      description: 'AWS IoT things, thing types, device certificates and the device policy',
    },
    certificates: {
      kind: 'table',
      description:
        'Every certificate of every device: status, validity, when provisioned, activated, confirmed, deactivated, revoked, deleted (what the audit reads)',
      partitionKey: { name: 'deviceId', type: 'S' },
      sortKey: { name: 'certificateId', type: 'S' },
      indexes: [
        // Sparse, sharded: certificates retired by a rotation, by when their grace period ends.
        {
          name: 'retiring',
          partitionKey: { name: 'retireShard', type: 'S' },
          sortKey: { name: 'deleteAfter', type: 'N' },
        },
        // Sparse, sharded: ACTIVE certificates by expiry — the audit counts those expiring soon.
        {
          name: 'active',
          partitionKey: { name: 'activeShard', type: 'S' },
          sortKey: { name: 'notAfter', type: 'N' },
        },
      ],
    },
    auditFindings: {
      kind: 'table',
      description:
        "Audit findings per device (check, resource, severity, message, fix), by check; and the scheduled audit's place in its pass",
      partitionKey: { name: 'deviceId', type: 'S' },
      sortKey: { name: 'findingId', type: 'S' },
      indexes: [
        {
          name: 'byCheck',
          partitionKey: { name: 'check', type: 'S' },
          sortKey: { name: 'deviceId', type: 'S' },
        },
      ],
      timeToLiveAttribute: 'expiresAt',
    },
    claimAllowList: {
      kind: 'table',
      description:
        'Serial numbers the claim provisioning template admits, with their thing type; each admits one device unless allowed again',
      partitionKey: { name: 'serialNumber', type: 'S' },
    },
    ...COMMAND_RESOURCES,
  },
  functions: {
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
    apiFirmware: {
      handler: 'api-firmware',
      description:
        'HTTP API: firmware registry (register, presigned upload, verify and sign, download, keys)',
      routes: [
        'POST /firmware',
        'GET /firmware',
        'GET /firmware/keys',
        'POST /firmware/keys/rollover',
        'GET /firmware/{version}',
        'POST /firmware/{version}/complete',
        'POST /firmware/{version}/approve',
        'POST /firmware/{version}/deltas',
        'POST /firmware/{version}/deltas/{fromVersion}/complete',
        'GET /firmware/{version}/download',
        'DELETE /firmware/{version}',
      ],
      uses: {
        firmware: 'readWrite',
        // GET /firmware lists the catalog (a Scan); a refused upload's registration is deleted.
        firmwareCatalog: ['readWrite', 'scan', 'delete'],
        firmwareSigning: 'readWrite',
        // The key set names every key devices trust, and is signed by the root.
        modelSigning: 'read',
        rollbackSigning: 'read',
        keySetSigning: 'readWrite',
        // Whether an unfinished rollout installs a version: a Scan of the (few) rollouts.
        rollouts: ['read', 'scan'],
      },
      settings: {
        ...FIRMWARE_SETTINGS,
        FIRMWARE_MANIFEST_VALIDITY_DAYS: '365',
        // `-c fleetkit:requireApproval=true`: a second principal approves before anything is signed.
        FIRMWARE_REQUIRE_APPROVAL: 'false',
      },
      memoryMiB: 1769,
      timeoutSeconds: 29,
    },
    apiModels: {
      handler: 'api-models',
      description:
        'HTTP API: edge model registry (register, presigned upload, check against the feature contract, sign)',
      routes: [
        'POST /models',
        'GET /models',
        'GET /models/{version}',
        'POST /models/{version}/complete',
        'POST /models/{version}/approve',
        'GET /models/{version}/download',
        'DELETE /models/{version}',
      ],
      uses: {
        // Models live beside the images, under models/.
        firmware: 'readWrite',
        // GET /models lists the catalog (a Scan); a refused upload's registration is deleted.
        modelCatalog: ['readWrite', 'scan', 'delete'],
        modelSigning: 'readWrite',
        // Whether an unfinished rollout installs a model version: a Scan of the (few) rollouts.
        rollouts: ['read', 'scan'],
      },
      settings: {
        ...FIRMWARE_SETTINGS,
        FIRMWARE_MANIFEST_VALIDITY_DAYS: '365',
        FIRMWARE_REQUIRE_APPROVAL: 'false',
      },
      memoryMiB: 1024,
      timeoutSeconds: 29,
    },
    apiDevices: {
      handler: 'api-devices',
      description: 'HTTP API: list and describe devices; set their groups and attributes',
      routes: ['GET /devices', 'GET /devices/{id}', 'PATCH /devices/{id}'],
      // GET /devices without a type pages through the registry (a Scan); with one it queries byType.
      uses: { registry: ['readWrite', 'scan'] },
    },
    apiIdentity: {
      handler: 'api-identity',
      description:
        'HTTP API: provision a device by its CSR, ask devices to rotate certificates, revoke a device',
      routes: ['POST /devices', 'POST /devices/rotate', 'POST /devices/{id}/revoke', 'POST /devices/allow'],
      uses: { ...identityUses, claimAllowList: 'readWrite' },
      timeoutSeconds: 29,
    },
    claimHook: {
      handler: 'claim-hook',
      description:
        'Pre-provisioning hook of the claim template: admits a serial number on the allow-list, once, as its thing type',
      provisioningHooks: [{ template: 'factory' }],
      uses: { claimAllowList: 'readWrite' },
      // IoT waits for the hook a few seconds; one conditional write is all it does.
      timeoutSeconds: 5,
    },
    identityMqtt: {
      handler: 'identity-mqtt',
      description:
        'Device identity over MQTT: certificate status, activation of a rotated certificate, confirmation',
      rules: [{ topic: `${THING_TOPIC_ROOT}/+/identity/+`, payload: 'base64', add: IDENTITY_RULE_FIELDS }],
      uses: identityUses,
      settings: { CERTIFICATE_GRACE_HOURS: '24' },
    },
    certificateSweeper: {
      handler: 'certificate-sweeper',
      description:
        'Every hour: deletes certificates retired by a rotation once their grace period has passed',
      schedules: [{ everyMinutes: 60 }],
      uses: { things: 'write', certificates: 'readWrite' },
      timeoutSeconds: 300,
    },
    fleetAudit: {
      handler: 'fleet-audit',
      description:
        'Every 10 minutes: audits the next devices of the registry (Device Defender-style checks), keeps their findings, counts certificates expiring soon',
      schedules: [{ everyMinutes: 10 }],
      // A page of a registry Scan per run, resumed from a cursor: bounded work, the whole fleet per pass.
      uses: {
        registry: ['read', 'scan'],
        certificates: 'read',
        things: 'read',
        auditFindings: ['readWrite', 'delete'],
      },
      settings: {
        AUDIT_DEVICES_PER_RUN: '200',
        AUDIT_EXPIRY_DAYS: '30',
        AUDIT_NEVER_SEEN_HOURS: '24',
        AUDIT_CLIENT_ID_CONFLICT_HOURS: '168',
        AUDIT_UNCONFIRMED_ROTATION_HOURS: '24',
        AUDIT_FINDING_TTL_DAYS: '30',
      },
      timeoutSeconds: 300,
    },
    apiAudit: {
      handler: 'api-audit',
      description: 'HTTP API: the audit findings, by device or by check, and where the audit is',
      routes: ['GET /audit'],
      uses: { auditFindings: 'read' },
    },
    presenceEvents: {
      handler: 'presence-events',
      description:
        "IoT lifecycle events: records on the device's registry item when IoT dropped a connection for a duplicate client id",
      rules: [
        {
          topic: '$aws/events/presence/disconnected/+',
          payload: 'json',
          add: {},
          where: { field: 'disconnectReason', equals: 'DUPLICATE_CLIENTID' },
        },
      ],
      uses: { registry: 'write' },
    },
    jobsMqtt: {
      handler: 'jobs-mqtt',
      description: 'AWS IoT Jobs device API over MQTT: get pending, start-next, describe, update executions',
      rules: [
        { topic: `${THING_TOPIC_ROOT}/+/jobs/+`, payload: 'base64', add: THING_REQUEST_RULE_FIELDS },
        { topic: `${THING_TOPIC_ROOT}/+/jobs/+/+`, payload: 'base64', add: THING_REQUEST_RULE_FIELDS },
      ],
      uses: jobUses,
      settings: FIRMWARE_SETTINGS,
    },
    apiRollouts: {
      handler: 'api-rollouts',
      description:
        'HTTP API: rollouts (create in waves, status from counters, pause, resume, cancel, rollback)',
      routes: [
        'POST /rollouts',
        'POST /rollouts/preview',
        'GET /rollouts',
        'GET /rollouts/{rolloutId}',
        'GET /rollouts/{rolloutId}/executions',
        'POST /rollouts/{rolloutId}/pause',
        'POST /rollouts/{rolloutId}/resume',
        'POST /rollouts/{rolloutId}/cancel',
        'POST /rollouts/{rolloutId}/rollback',
        'GET /devices/{id}/jobs',
      ],
      uses: {
        // GET /rollouts pages through the rollouts (a Scan).
        rollouts: ['readWrite', 'scan'],
        // A planning rollout's progress: its segments' checkpoints (a Query).
        rolloutTargets: 'read',
        rolloutCounters: 'read',
        // A rollout's executions, and a device's (GET /devices/{id}/jobs: a Query by thing).
        jobExecutions: 'read',
        // A preview reads the registry whole (a Scan, capped; POST /rollouts/preview).
        registry: ['read', 'scan'],
        firmwareCatalog: 'read',
        modelCatalog: 'read',
      },
      timeoutSeconds: 29,
    },
    rolloutPlanner: {
      handler: 'rollout-planner',
      description:
        'Plans accepted rollouts: parallel segment scans of the registry, checkpointed; the first wave starts before the plan is cut',
      // Started by POST /rollouts at once; every minute it resumes a planning whose run died or ran out of time.
      invokedBy: ['apiRollouts'],
      schedules: [{ everyMinutes: 1 }],
      uses: {
        // The rollouts still planning (a Scan of the few rollouts); progress and the cut plan, conditionally.
        rollouts: ['readWrite', 'scan'],
        // Eligible devices in batches; the control move and a plan of the first layout left over delete.
        rolloutTargets: ['readWrite', 'batchWrite'],
        // Parallel segment scans of the whole registry.
        registry: ['read', 'scan'],
      },
      settings: { ROLLOUT_PLAN_SEGMENTS: '16', ROLLOUT_PLAN_BUDGET_SECONDS: '840' },
      timeoutSeconds: 900,
      memoryMiB: 1024,
    },
    rolloutScheduler: {
      handler: 'rollout-scheduler',
      description:
        'Every minute: advances rollout waves, times out and retries executions, abort and health gates, rollback',
      schedules: [{ everyMinutes: 1 }],
      // The planner asks for one rollout at once when its pilot devices, or its cut plan, are ready.
      invokedBy: ['rolloutPlanner'],
      uses: {
        ...jobUses,
        // The unfinished rollouts, by a Scan of the (few) rollouts.
        rollouts: ['readWrite', 'scan'],
        // Notified targets leave the plan in batch deletes.
        rolloutTargets: ['read', 'batchWrite'],
        // Gates read the rollout's counters (jobUses only counts executions).
        rolloutCounters: 'readWrite',
        registry: 'read',
        alerts: 'read',
        telemetryRules: ['read', 'scan'],
        rollbackSigning: 'write',
      },
      settings: { ...FIRMWARE_SETTINGS, ROLLOUT_HEALTH_CHECK_SECONDS: '300' },
      timeoutSeconds: 60,
      memoryMiB: 1024,
    },
    rolloutReconciler: {
      handler: 'rollout-reconciler',
      description: 'Every hour: recounts rollout counters from the executions and fixes any drift',
      schedules: [{ everyMinutes: 60 }],
      uses: { rollouts: ['read', 'scan'], jobExecutions: 'read', rolloutCounters: 'readWrite' },
      timeoutSeconds: 300,
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
  | 'registry'
  | 'firmware'
  | 'firmwareCatalog'
  | 'modelCatalog'
  | 'firmwareSigning'
  | 'rollbackSigning'
  | 'modelSigning'
  | 'keySetSigning'
  | 'shadows'
  | 'shadowTopics'
  | 'jobTopics'
  | 'jobExecutions'
  | 'rollouts'
  | 'rolloutTargets'
  | 'rolloutCounters'
  | 'fleetHealth'
  | 'deviceState'
  | 'telemetryAggregates'
  | 'alerts'
  | 'telemetryRules'
  | 'iotTelemetry'
  | 'processedTelemetry'
  | 'fleetAlerts'
  | 'telemetryDeadLetters'
  | 'things'
  | 'certificates'
  | 'identityTopics'
  | 'claimAllowList'
  | 'auditFindings'
  | keyof typeof COMMAND_RESOURCES
>;

/** Names of the topology's resources. */
export type ResourceName = keyof typeof topology.resources;

validateTopology(topology);
