import { CREATE_FROM_CSR_TOPIC, IDENTITY_OPERATIONS, identityTopic } from './identity-topics.ts';
import { deviceTopic, jobsTopic, shadowTopic } from './topics.ts';

/**
 * What a device may do on the broker: the one definition both runtimes enforce.
 *
 * The CDK app renders it as the AWS IoT policy attached to every device certificate, with
 * `{thing}` → `${iot:Connection.Thing.ThingName}` and `{thingType}` → `${iot:Connection.Thing.ThingTypeName}`
 * (https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html). The local broker
 * evaluates it for each CONNECT, PUBLISH, SUBSCRIBE and delivery, with the thing name and type taken
 * from the client certificate. Resources use IoT policy wildcards: `*` matches any run of characters
 * (`/` included), `?` one character; MQTT's `+` and `#` are literal characters in a policy.
 */

/** IoT Core's policy actions for MQTT, without the `iot:` prefix. */
export type DeviceAction = 'Connect' | 'Publish' | 'Subscribe' | 'Receive';

/** The placeholders a device resource may contain. */
export const THING_PLACEHOLDER = '{thing}';
export const THING_TYPE_PLACEHOLDER = '{thingType}';

/** One grant: an action on resources (client ids for Connect, topics or topic filters otherwise). */
export interface DevicePermission {
  readonly action: DeviceAction;
  readonly resources: readonly string[];
  /**
   * Granted only when the connecting certificate is attached to the thing the client id names:
   * `iot:Connection.Thing.IsAttached` in AWS
   * (https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html), the IoT
   * registry's attachments locally. A valid certificate of another thing gets nothing.
   */
  readonly requiresAttachedThing?: boolean;
}

const thing = THING_PLACEHOLDER;
const type = THING_TYPE_PLACEHOLDER;
const shadowOps = ['get', 'update', 'delete'] as const;

/** Templates are built with the same topic builders devices use, so policy and protocol cannot disagree. */
function template(build: (thingName: string, thingType: string) => string): string {
  return build('THING', 'THINGTYPE').replace('THINGTYPE', type).replace('THING', thing);
}

/**
 * Shadow requests, classic and named, one resource per operation: `.../shadow/*get` is the classic
 * `.../shadow/get` and every named `.../shadow/name/{name}/get`. Responses never end in an operation
 * name (they end in accepted, rejected, delta or documents), so the merge grants no response topic.
 */
const ownShadowRequests = shadowOps.map((operation) =>
  template((t) => shadowTopic({ thingName: t, shadowName: 'SHADOWNAME', operation })).replace(
    'name/SHADOWNAME/',
    '*',
  ),
);
const ownJobsRequests = [
  template((t) => jobsTopic({ thingName: t, operation: 'get' })),
  template((t) => jobsTopic({ thingName: t, operation: 'start-next' })),
  template((t) => jobsTopic({ thingName: t, jobId: 'JOBID', operation: 'get' })).replace('JOBID', '*'),
  template((t) => jobsTopic({ thingName: t, jobId: 'JOBID', operation: 'update' })).replace('JOBID', '*'),
];
/**
 * Everything the platform sends a thing on its own prefix: shadow, jobs and identity responses and
 * notifications. One resource rather than one per service keeps the IoT policy under 2048 characters;
 * it also covers the thing's own request topics, which only the thing itself may publish to.
 */
const ownThingTopics = `fleet/things/${thing}/*`;
const ownCommands = template((t, ty) => deviceTopic('commands', ty, t));
const ownIdentityRequests = IDENTITY_OPERATIONS.map((operation) =>
  template((t) => identityTopic({ thingName: t, operation })),
);
/**
 * IoT Core answers CreateCertificateFromCsr on the connection that asked only, so the shared topic
 * names leak nothing between devices (https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html).
 */
const createFromCsrResponses = `${CREATE_FROM_CSR_TOPIC}/*`;

const ownSubscriptions = [ownCommands, ownThingTopics, createFromCsrResponses];

/**
 * Least privilege for a device: it connects only as its own thing name, with a certificate attached to
 * that thing; publishes only its own telemetry, status, command answers, shadow, jobs and identity
 * requests and CSRs for its next certificate; and hears only its own commands and responses.
 */
export const DEVICE_PERMISSIONS: readonly DevicePermission[] = [
  { action: 'Connect', resources: [thing], requiresAttachedThing: true },
  {
    action: 'Publish',
    resources: [
      template((t, ty) => deviceTopic('telemetry', ty, t)),
      template((t, ty) => deviceTopic('status', ty, t)),
      // Answers to its own commands only: another device cannot answer for it (issue 11).
      template((t, ty) => deviceTopic('command-answers', ty, t)),
      ...ownShadowRequests,
      ...ownJobsRequests,
      ...ownIdentityRequests,
      CREATE_FROM_CSR_TOPIC,
    ],
  },
  { action: 'Subscribe', resources: ownSubscriptions },
  { action: 'Receive', resources: ownSubscriptions },
];

/** Who is asking: the thing the client id names, per the registry, in both runtimes. */
export interface DeviceIdentity {
  readonly thingName: string;
  readonly thingType: string;
  /** Whether the connection's certificate is attached to this thing. @default false */
  readonly attached?: boolean;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\#]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** Substitutes an identity into a resource template. Identity values never contain `*` or `?`. */
export function resolveResource(resource: string, identity: DeviceIdentity): string {
  return resource
    .replaceAll(THING_TYPE_PLACEHOLDER, identity.thingType)
    .replaceAll(THING_PLACEHOLDER, identity.thingName);
}

/**
 * Compiles {@link DEVICE_PERMISSIONS} for one identity into a fast check.
 *
 * @returns `allows(action, resource)` — `resource` is the client id, topic or topic filter, literal.
 */
export function compileDevicePolicy(
  identity: DeviceIdentity,
  permissions: readonly DevicePermission[] = DEVICE_PERMISSIONS,
): (action: DeviceAction, resource: string) => boolean {
  const byAction = new Map<DeviceAction, RegExp[]>();
  for (const permission of permissions) {
    if (permission.requiresAttachedThing === true && identity.attached !== true) continue;
    const compiled = permission.resources.map((r) => globToRegExp(resolveResource(r, identity)));
    byAction.set(permission.action, [...(byAction.get(permission.action) ?? []), ...compiled]);
  }
  return (action, resource) => (byAction.get(action) ?? []).some((pattern) => pattern.test(resource));
}
