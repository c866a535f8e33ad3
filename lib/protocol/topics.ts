import { TopicFormatError } from './errors.ts';

/**
 * Topic builders and parsers: the one place that knows how fleetkit's topics are spelled.
 *
 * Device topics are the seed's `devices/{type}/{id}/{kind}`. Shadow and jobs topics follow AWS IoT's
 * reserved `$aws/things/...` structure on fleetkit's own `fleet/things/...` prefix, because `$aws/` is
 * reserved for IoT Core's built-in services
 * (https://docs.aws.amazon.com/iot/latest/developerguide/reserved-topics.html).
 */

/** Thing names, as AWS IoT allows them: 1–128 of `[a-zA-Z0-9:_-]`. */
export const THING_NAME_PATTERN = /^[a-zA-Z0-9:_-]{1,128}$/;
/** Thing type names, as AWS IoT allows them. */
export const THING_TYPE_PATTERN = /^[a-zA-Z0-9:_-]{1,128}$/;
/** Named shadow names, as AWS IoT allows them: 1–64 of `[a-zA-Z0-9:_-]`. */
export const SHADOW_NAME_PATTERN = /^[a-zA-Z0-9:_-]{1,64}$/;
/** Job ids, as AWS IoT Jobs allows them: 1–64 of `[a-zA-Z0-9_-]`. */
export const JOB_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * The seed's three kinds, and the sibling on which a device answers its commands (`command-answers`):
 * the device policy lets only the device itself publish there.
 */
export const DEVICE_TOPIC_KINDS = ['telemetry', 'status', 'commands', 'command-answers'] as const;
export type DeviceTopicKind = (typeof DEVICE_TOPIC_KINDS)[number];

/** The parts of a `devices/{type}/{id}/{kind}` topic. */
export interface DeviceTopic {
  readonly deviceType: string;
  readonly deviceId: string;
  readonly kind: DeviceTopicKind;
}

function requireSegment(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) {
    throw new TopicFormatError(value, `is not a valid ${what} (expected ${pattern.source})`);
  }
  return value;
}

/** `devices/{type}/{id}/{kind}`; throws {@link TopicFormatError} for an id or type MQTT cannot carry safely. */
export function deviceTopic(kind: DeviceTopicKind, deviceType: string, deviceId: string): string {
  if (!(DEVICE_TOPIC_KINDS as readonly string[]).includes(kind))
    throw new TopicFormatError(kind, 'is not a device topic kind');
  requireSegment(deviceType, THING_TYPE_PATTERN, 'device type');
  requireSegment(deviceId, THING_NAME_PATTERN, 'device id');
  return `devices/${deviceType}/${deviceId}/${kind}`;
}

/** The MQTT filter that matches one kind of device topic for every device: `devices/+/+/{kind}`. */
export function deviceTopicFilter(kind: DeviceTopicKind): string {
  return `devices/+/+/${kind}`;
}

/** Parses `devices/{type}/{id}/{kind}`, or throws {@link TopicFormatError}. */
export function parseDeviceTopic(topic: string): DeviceTopic {
  const parts = topic.split('/');
  const [root, deviceType, deviceId, kind] = parts;
  if (parts.length !== 4 || root !== 'devices' || deviceType === undefined || deviceId === undefined) {
    throw new TopicFormatError(topic, 'is not devices/{type}/{id}/{kind}');
  }
  if (!(DEVICE_TOPIC_KINDS as readonly string[]).includes(kind ?? '')) {
    throw new TopicFormatError(topic, `has kind '${kind}', expected one of ${DEVICE_TOPIC_KINDS.join(', ')}`);
  }
  if (!THING_TYPE_PATTERN.test(deviceType) || !THING_NAME_PATTERN.test(deviceId)) {
    throw new TopicFormatError(topic, 'has a device type or id outside [a-zA-Z0-9:_-]{1,128}');
  }
  return { deviceType, deviceId, kind: kind as DeviceTopicKind };
}

/** Root of the per-thing topics (shadow, jobs). */
export const THING_TOPIC_ROOT = 'fleet/things';

export const SHADOW_OPERATIONS = ['get', 'update', 'delete'] as const;
export type ShadowOperation = (typeof SHADOW_OPERATIONS)[number];
export type ShadowTopicSuffix = 'accepted' | 'rejected' | 'delta' | 'documents';

/** Which response suffixes each shadow operation has, as in AWS IoT's shadow MQTT topics. */
const SHADOW_SUFFIXES: Record<ShadowOperation, readonly ShadowTopicSuffix[]> = {
  get: ['accepted', 'rejected'],
  update: ['accepted', 'rejected', 'delta', 'documents'],
  delete: ['accepted', 'rejected'],
};

/** A shadow topic: the request (no suffix) or one of its responses. */
export interface ShadowTopic {
  readonly thingName: string;
  /** Absent for the classic (unnamed) shadow. */
  readonly shadowName?: string;
  readonly operation: ShadowOperation;
  readonly suffix?: ShadowTopicSuffix;
}

/** `fleet/things/{thing}/shadow[/name/{shadow}]/{op}[/{suffix}]`. */
export function shadowTopic(topic: ShadowTopic): string {
  requireSegment(topic.thingName, THING_NAME_PATTERN, 'thing name');
  if (!(SHADOW_OPERATIONS as readonly string[]).includes(topic.operation)) {
    throw new TopicFormatError(topic.operation, 'is not a shadow operation');
  }
  if (topic.suffix !== undefined && !SHADOW_SUFFIXES[topic.operation].includes(topic.suffix)) {
    throw new TopicFormatError(topic.suffix, `is not a response of shadow ${topic.operation}`);
  }
  const name =
    topic.shadowName === undefined
      ? ''
      : `/name/${requireSegment(topic.shadowName, SHADOW_NAME_PATTERN, 'shadow name')}`;
  const suffix = topic.suffix === undefined ? '' : `/${topic.suffix}`;
  return `${THING_TOPIC_ROOT}/${topic.thingName}/shadow${name}/${topic.operation}${suffix}`;
}

/** Parses a shadow topic, or throws {@link TopicFormatError}. */
export function parseShadowTopic(topic: string): ShadowTopic {
  const parts = topic.split('/');
  if (parts[0] !== 'fleet' || parts[1] !== 'things' || parts[3] !== 'shadow') {
    throw new TopicFormatError(topic, `is not under ${THING_TOPIC_ROOT}/{thing}/shadow`);
  }
  const thingName = parts[2] ?? '';
  if (!THING_NAME_PATTERN.test(thingName)) throw new TopicFormatError(topic, 'has an invalid thing name');
  let rest = parts.slice(4);
  let shadowName: string | undefined;
  if (rest[0] === 'name') {
    shadowName = rest[1] ?? '';
    if (!SHADOW_NAME_PATTERN.test(shadowName))
      throw new TopicFormatError(topic, 'has an invalid shadow name');
    rest = rest.slice(2);
  }
  const [operation, suffix, ...extra] = rest;
  if (!(SHADOW_OPERATIONS as readonly string[]).includes(operation ?? '') || extra.length > 0) {
    throw new TopicFormatError(topic, 'does not end in get|update|delete[/suffix]');
  }
  const op = operation as ShadowOperation;
  if (suffix !== undefined && !(SHADOW_SUFFIXES[op] as readonly string[]).includes(suffix)) {
    throw new TopicFormatError(topic, `has '${suffix}', which is not a response of shadow ${op}`);
  }
  return {
    thingName,
    operation: op,
    ...(shadowName === undefined ? {} : { shadowName }),
    ...(suffix === undefined ? {} : { suffix: suffix as ShadowTopicSuffix }),
  };
}

/** Thing-level jobs topics (AWS IoT Jobs' MQTT API on fleetkit's prefix). */
export type ThingJobsOperation = 'notify' | 'notify-next' | 'get' | 'start-next';
/** Per-job topics; `jobId` may be `$next` for get, as in AWS IoT Jobs. */
export type JobExecutionOperation = 'get' | 'update';
export type JobsTopicSuffix = 'accepted' | 'rejected';

/** A jobs topic: either thing-level (`operation`) or about one job (`jobId` + `operation`). */
export type JobsTopic =
  | { readonly thingName: string; readonly operation: ThingJobsOperation; readonly suffix?: JobsTopicSuffix }
  | {
      readonly thingName: string;
      readonly jobId: string;
      readonly operation: JobExecutionOperation;
      readonly suffix?: JobsTopicSuffix;
    };

const THING_JOBS_OPERATIONS: readonly string[] = ['notify', 'notify-next', 'get', 'start-next'];
/** notify and notify-next are published by the service only; they have no responses. */
const HAS_RESPONSES = new Set(['get', 'start-next', 'update']);

/** `$next` names the next pending execution, and only DescribeJobExecution (get) accepts it. */
function requireJobId(jobId: string, operation: string, topic: string): string {
  if (jobId === '$next' ? operation !== 'get' : !JOB_ID_PATTERN.test(jobId)) {
    throw new TopicFormatError(topic, `has an invalid job id '${jobId}' for ${operation}`);
  }
  return jobId;
}

/** `fleet/things/{thing}/jobs/{notify|notify-next|get|start-next|{jobId}/get|{jobId}/update}[/accepted|/rejected]`. */
export function jobsTopic(topic: JobsTopic): string {
  requireSegment(topic.thingName, THING_NAME_PATTERN, 'thing name');
  const base = `${THING_TOPIC_ROOT}/${topic.thingName}/jobs`;
  const op =
    'jobId' in topic
      ? `${requireJobId(topic.jobId, topic.operation, topic.jobId)}/${topic.operation}`
      : topic.operation;
  if (topic.suffix !== undefined && !HAS_RESPONSES.has(topic.operation)) {
    throw new TopicFormatError(`${base}/${op}`, `has no ${topic.suffix} response`);
  }
  return `${base}/${op}${topic.suffix === undefined ? '' : `/${topic.suffix}`}`;
}

/** Parses a jobs topic, or throws {@link TopicFormatError}. */
export function parseJobsTopic(topic: string): JobsTopic {
  const parts = topic.split('/');
  if (parts[0] !== 'fleet' || parts[1] !== 'things' || parts[3] !== 'jobs') {
    throw new TopicFormatError(topic, `is not under ${THING_TOPIC_ROOT}/{thing}/jobs`);
  }
  const thingName = parts[2] ?? '';
  if (!THING_NAME_PATTERN.test(thingName)) throw new TopicFormatError(topic, 'has an invalid thing name');
  const rest = parts.slice(4);
  const suffixOf = (value: string | undefined): JobsTopicSuffix | undefined => {
    if (value === undefined) return undefined;
    if (value === 'accepted' || value === 'rejected') return value;
    throw new TopicFormatError(topic, `ends in '${value}', expected accepted or rejected`);
  };
  const first = rest[0] ?? '';
  // A job may be called `get` or `notify`: `jobs/get/update` is job "get", not the thing-level get.
  const secondIsSuffix =
    rest.length === 1 || (rest.length === 2 && (rest[1] === 'accepted' || rest[1] === 'rejected'));
  if (THING_JOBS_OPERATIONS.includes(first) && secondIsSuffix) {
    const suffix = suffixOf(rest[1]);
    if (suffix !== undefined && !HAS_RESPONSES.has(first))
      throw new TopicFormatError(topic, `has no ${suffix} response`);
    return { thingName, operation: first as ThingJobsOperation, ...(suffix ? { suffix } : {}) };
  }
  const [jobId, operation, suffixPart, ...extra] = rest;
  if (jobId === undefined || (operation !== 'get' && operation !== 'update') || extra.length > 0) {
    throw new TopicFormatError(topic, 'is not a jobs topic');
  }
  requireJobId(jobId, operation, topic);
  const suffix = suffixOf(suffixPart);
  return { thingName, jobId, operation, ...(suffix ? { suffix } : {}) };
}
