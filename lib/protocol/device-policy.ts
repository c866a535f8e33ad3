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
}

const thing = THING_PLACEHOLDER;
const type = THING_TYPE_PLACEHOLDER;
const shadowOps = ['get', 'update', 'delete'] as const;

/** Templates are built with the same topic builders devices use, so policy and protocol cannot disagree. */
function template(build: (thingName: string, thingType: string) => string): string {
  return build('THING', 'THINGTYPE').replace('THINGTYPE', type).replace('THING', thing);
}

const ownShadowRequests = [
  ...shadowOps.map((operation) => template((t) => shadowTopic({ thingName: t, operation }))),
  ...shadowOps.map((operation) =>
    template((t) => shadowTopic({ thingName: t, shadowName: 'SHADOWNAME', operation })).replace(
      'SHADOWNAME',
      '*',
    ),
  ),
];
const ownJobsRequests = [
  template((t) => jobsTopic({ thingName: t, operation: 'get' })),
  template((t) => jobsTopic({ thingName: t, operation: 'start-next' })),
  template((t) => jobsTopic({ thingName: t, jobId: 'JOBID', operation: 'get' })).replace('JOBID', '*'),
  template((t) => jobsTopic({ thingName: t, jobId: 'JOBID', operation: 'update' })).replace('JOBID', '*'),
];
const ownShadowResponses = `fleet/things/${thing}/shadow/*`;
const ownJobsResponses = `fleet/things/${thing}/jobs/*`;
const ownCommands = template((t, ty) => deviceTopic('commands', ty, t));

/**
 * Least privilege for a device: it connects only as its own thing name, publishes only its own
 * telemetry, status, shadow and jobs requests, and hears only its own commands and responses.
 */
export const DEVICE_PERMISSIONS: readonly DevicePermission[] = [
  { action: 'Connect', resources: [thing] },
  {
    action: 'Publish',
    resources: [
      template((t, ty) => deviceTopic('telemetry', ty, t)),
      template((t, ty) => deviceTopic('status', ty, t)),
      ...ownShadowRequests,
      ...ownJobsRequests,
    ],
  },
  { action: 'Subscribe', resources: [ownCommands, ownShadowResponses, ownJobsResponses] },
  { action: 'Receive', resources: [ownCommands, ownShadowResponses, ownJobsResponses] },
];

/** Who is asking: taken from the certificate in both runtimes. */
export interface DeviceIdentity {
  readonly thingName: string;
  readonly thingType: string;
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
    const compiled = permission.resources.map((r) => globToRegExp(resolveResource(r, identity)));
    byAction.set(permission.action, [...(byAction.get(permission.action) ?? []), ...compiled]);
  }
  return (action, resource) => (byAction.get(action) ?? []).some((pattern) => pattern.test(resource));
}
