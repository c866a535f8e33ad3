import type { KeyPurpose } from '../protocol/manifest.ts';

/**
 * The vocabulary of `lib/topology.ts`: resources, functions and what triggers them.
 *
 * Both runtimes read the same values: the CDK app renders them as AWS resources, grants and
 * triggers; the local platform turns them into tables, buckets, broker subscriptions, routes
 * and timers. Nothing here imports either runtime.
 */

/** How a function may use a resource. Grants in AWS, documentation and env locally. */
export type AccessLevel = 'read' | 'write' | 'readWrite';

/**
 * Table operations a function asks for by name, after its level (`['readWrite', 'scan']`), because
 * each reaches or removes items the caller does not name one by one:
 * - `scan`: Scan the table;
 * - `delete`: DeleteItem;
 * - `batchWrite`: BatchWriteItem, whose requests may put or delete (one IAM action for both).
 */
export type TableExtra = 'scan' | 'delete' | 'batchWrite';

/** A level, or for a table a level and the extra operations it needs. */
export type Access = AccessLevel | readonly [AccessLevel, ...TableExtra[]];

/** A DynamoDB key attribute. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A global secondary index. */
export interface GlobalIndex {
  readonly name: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /**
   * What the index copies of an item: `ALL`, every attribute (a Query answers with whole items);
   * `KEYS_ONLY`, the table's and the index's keys — a fraction of each index write, and the reader
   * then gets the items by key. DynamoDB cannot change a deployed index's projection in place: the
   * index must be replaced. @default 'ALL'
   */
  readonly projection?: 'ALL' | 'KEYS_ONLY';
}

/** A DynamoDB table: on demand, point-in-time recovery and encryption at rest in AWS. */
export interface TableResource {
  readonly kind: 'table';
  readonly description: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly indexes?: readonly GlobalIndex[];
  /** Attribute holding an epoch-seconds expiry, if items expire. */
  readonly timeToLiveAttribute?: string;
}

/** An S3 bucket: private, SSL only, encrypted, access-logged in AWS. */
export interface BucketResource {
  readonly kind: 'bucket';
  readonly description: string;
  readonly versioned: boolean;
}

/**
 * MQTT topics a function publishes to as the platform (IoT Core's data plane in AWS, the broker
 * locally). `write` is the only access: functions publish; devices subscribe.
 */
export interface TopicsResource {
  readonly kind: 'topics';
  readonly description: string;
  /**
   * The topics, as an MQTT topic filter whose first level is literal, e.g. `fleet/things/+/shadow/#`
   * (`+` one level, `#` the rest). The one scope of the grant: AWS renders it as an `iot:Publish`
   * resource (`topicIamPattern`), the local platform matches topics against it (`topicMatches`).
   */
  readonly filter: string;
}

/**
 * A stream: a Kafka topic (MSK in AWS, the embedded topic log locally). `read` is consuming it through
 * a `kafka` trigger; `write` is producing to it.
 */
export interface StreamResource {
  readonly kind: 'stream';
  readonly description: string;
  /** Kafka topic name, `[a-zA-Z0-9._-]{1,249}`. */
  readonly topic: string;
  /** Partitions: the most consumers a group can run in parallel; records of one key stay in one. */
  readonly partitions: number;
}

/**
 * An asymmetric signing key (ECDSA P-256, SHA-256): a KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`) behind an
 * alias in AWS, a key file under `<dataDir>/keys/` behind a loopback KMS endpoint locally. `write` is
 * signing (`kms:Sign`, digests only), `read` is getting the public key (`kms:GetPublicKey`). The private
 * key never leaves KMS; functions learn the key as `<NAME>_KEY_ID` (the alias).
 */
export interface SigningKeyResource {
  readonly kind: 'signingKey';
  readonly description: string;
  /**
   * What its signatures vouch for (issue 12: a key per purpose): devices trust each key only for its
   * purpose, so a model key cannot sign firmware, nor a firmware key a rollback.
   */
  readonly purpose: KeyPurpose;
}

/**
 * AWS IoT's registry: things, thing types, device certificates and the device policy (IoT Core in AWS,
 * the local IoT control plane locally, both through `@aws-sdk/client-iot`). `read` describes and lists;
 * `write` creates things and certificates from CSRs, changes certificate status, attaches and detaches
 * the device policy and things, and deletes certificates. Functions learn the device policy's name as
 * `<NAME>_POLICY_NAME`, the endpoint devices connect to as `DEVICE_ENDPOINT`, and the CA that endpoint
 * presents as `DEVICE_CA_PEM` (locally) or `DEVICE_CA_URL` (AWS: Amazon Root CA 1).
 */
export interface ThingsResource {
  readonly kind: 'things';
  readonly description: string;
}

export type Resource =
  | TableResource
  | BucketResource
  | TopicsResource
  | StreamResource
  | SigningKeyResource
  | ThingsResource;

/**
 * A kind of device: an AWS IoT thing type, made at deploy (and by the local platform at start). The
 * device policy names the type (`iot:Connection.Thing.ThingTypeName`), so a thing needs one.
 */
export interface DeviceTypeSpec {
  readonly description: string;
}

/**
 * An IoT topic rule whose action appends to a stream rather than invoking a function: IoT Core's
 * Kafka action in AWS, the rules runner appending to the topic log locally.
 */
export interface StreamIngest<R extends string = string> {
  readonly description: string;
  readonly rule: TopicRule;
  /** The stream resource records go to. */
  readonly stream: R;
  /** The rule output field that is the record key (so one device's records stay ordered), e.g. `deviceId`. */
  readonly key: string;
}

/** The IoT SQL functions a rule may add to its output (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html). */
/**
 * IoT SQL functions a rule may add. `principal()` is the certificate id of an X.509 connection
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html#iot-function-principal).
 */
export type RuleExpression =
  | 'topic()'
  | `topic(${number})`
  | 'clientid()'
  | 'principal()'
  | 'timestamp()'
  | 'newuuid()';

/**
 * An IoT topic rule, as data. The CDK app renders it to IoT SQL; the local rules runner evaluates it
 * directly, so no SQL parser is needed (see `rule-sql.ts` and `rule-event.ts`).
 */
export interface TopicRule {
  /**
   * MQTT topic filter, `+` and `#` allowed, e.g. `devices/+/+/status`; of IoT's reserved topics only its
   * lifecycle events (`$aws/events/...`), which rules may select.
   */
  readonly topic: string;
  /**
   * `base64`: `SELECT encode(*, 'base64') AS payload, ...` — any payload reaches the handler, which parses it.
   * `json`: `SELECT *, ...` — the payload must be a JSON object; the added fields are merged into it.
   * `none`: `SELECT <added fields> ...` — the payload is not selected: for a function that needs to know
   * only that a message came (a device showed up), not what it said.
   */
  readonly payload: 'base64' | 'json' | 'none';
  /** Output field → SQL function, e.g. `{ deviceId: 'topic(3)' }`. */
  readonly add: Readonly<Record<string, RuleExpression>>;
  /**
   * Only messages whose JSON payload has `field` equal to `equals` (`WHERE field = 'equals'`); a `json`
   * rule's only. @default every message on the topic
   */
  readonly where?: { readonly field: string; readonly equals: string };
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** An API Gateway HTTP API route key, e.g. `GET /devices/{id}`. */
export type RouteKey = `${HttpMethod} /${string}`;

/** A fixed-rate schedule: EventBridge in AWS, a timer locally. */
export interface ScheduleTrigger {
  readonly everyMinutes: number;
}

/** A Kafka topic consumed through a Lambda event source mapping (MSK in AWS). */
export interface KafkaTrigger {
  readonly topic: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

/**
 * The function is the pre-provisioning hook of an AWS IoT fleet provisioning template: IoT calls it
 * synchronously on every RegisterThing of a device connected with a claim certificate, and provisions
 * the device only if it answers `allowProvisioning: true`
 * (https://docs.aws.amazon.com/iot/latest/developerguide/pre-provisioning-hook.html). The template is
 * fleetkit's claim template (`lib/protocol/claim-policy.ts`), named `fleetkit-<stage>-<template>`, with
 * an IoT policy for its claim certificates named `fleetkit-<stage>-<template>-claim`. In AWS it is an
 * `AWS::IoT::ProvisioningTemplate`; locally the broker answers RegisterThing and invokes the hook.
 */
export interface ProvisioningHookTrigger {
  /** Short name: lower-case letters, digits and inner hyphens. */
  readonly template: string;
}

/** One function: its handler folder, what triggers it and what it may touch. */
export interface FunctionSpec<R extends string = string> {
  /** Folder under `lambdas/handlers/`; holds `index.ts` (Lambda entry) and `app.ts` (`build(env)`). */
  readonly handler: string;
  readonly description: string;
  readonly rules?: readonly TopicRule[];
  readonly routes?: readonly RouteKey[];
  readonly schedules?: readonly ScheduleTrigger[];
  readonly kafka?: readonly KafkaTrigger[];
  /**
   * Functions (by topology name) that may start this one asynchronously: Lambda's `Event` invocation
   * in AWS (`lambda:InvokeFunction` on this function only, granted to each), the platform's Lambda
   * endpoint locally. Each learns this function's name as `<NAME>_FUNCTION_NAME`.
   */
  readonly invokedBy?: readonly string[];
  readonly provisioningHooks?: readonly ProvisioningHookTrigger[];
  readonly uses?: Readonly<Partial<Record<R, Access>>>;
  /**
   * Settings with their defaults (`SHADOW_MAX_STATE_BYTES: '8192'`): env vars in both runtimes. A
   * deployment overrides them (CDK context `fleetkit:settings`, `npm start -- --set KEY=VALUE`).
   */
  readonly settings?: Readonly<Record<string, string>>;
  /** @default 256 */
  readonly memoryMiB?: number;
  /** @default 10 */
  readonly timeoutSeconds?: number;
}

/** The whole table: resources by name, functions by name. */
export interface Topology<R extends string = string> {
  readonly resources: Readonly<Record<R, Resource>>;
  readonly functions: Readonly<Record<string, FunctionSpec<R>>>;
  /** IoT rules that feed streams directly. */
  readonly ingest?: Readonly<Record<string, StreamIngest<R>>>;
  /** Device types by thing type name (`[a-zA-Z0-9:_-]{1,128}`). */
  readonly deviceTypes?: Readonly<Record<string, DeviceTypeSpec>>;
}
