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

/** Substitutes an identity into a resource template. Identity values never contain `*` or `?`. */
export function resolveResource(resource: string, identity: DeviceIdentity): string {
  return resource
    .replaceAll(THING_TYPE_PLACEHOLDER, identity.thingType)
    .replaceAll(THING_PLACEHOLDER, identity.thingName);
}

/** A resource template split once: literal text, the two wildcards, and the identity's placeholders. */
type Piece = string | typeof ANY_RUN | typeof ANY_ONE | typeof THING_VALUE | typeof TYPE_VALUE;
const ANY_RUN = Symbol('*');
const ANY_ONE = Symbol('?');
const THING_VALUE = Symbol(THING_PLACEHOLDER);
const TYPE_VALUE = Symbol(THING_TYPE_PLACEHOLDER);

const SPECIAL_PIECES = new Map<string, Piece>([
  [THING_PLACEHOLDER, THING_VALUE],
  [THING_TYPE_PLACEHOLDER, TYPE_VALUE],
  ['*', ANY_RUN],
  ['?', ANY_ONE],
]);
/** Splits around the special pieces, keeping them (a capturing group). */
const SPECIAL_TOKENS = new RegExp(
  `(${[...SPECIAL_PIECES.keys()].map((token) => token.replace(/[{}*?]/g, '\\$&')).join('|')})`,
);

function splitTemplate(resource: string): Piece[] {
  return resource
    .split(SPECIAL_TOKENS)
    .filter((token) => token !== '')
    .map((token) => SPECIAL_PIECES.get(token) ?? token);
}

/**
 * Whether `resource` matches the template's pieces from `p` on, at `at`, with the identity's values in
 * place of its placeholders: `*` any run of characters, `?` one, the rest literally (an identity value
 * never contains a wildcard). Backtracks only at `*`.
 */
function matches(
  pieces: readonly Piece[],
  identity: DeviceIdentity,
  resource: string,
  p = 0,
  at = 0,
): boolean {
  for (; p < pieces.length; p++) {
    const piece = pieces[p] as Piece;
    if (piece === ANY_ONE) {
      if (at >= resource.length) return false;
      at += 1;
    } else if (piece === ANY_RUN) {
      if (p === pieces.length - 1) return true;
      for (let from = at; from <= resource.length; from++)
        if (matches(pieces, identity, resource, p + 1, from)) return true;
      return false;
    } else {
      const text =
        piece === THING_VALUE ? identity.thingName : piece === TYPE_VALUE ? identity.thingType : piece;
      if (!resource.startsWith(text, at)) return false;
      at += text.length;
    }
  }
  return at === resource.length;
}

/**
 * Each permission's templates, split the first time a connection is granted them and shared by every
 * connection after: keyed by the permission itself, since the registry hands each connection a new
 * array of the same permissions (those of the policies attached to its certificate).
 */
const split = new WeakMap<DevicePermission, ReadonlyArray<readonly Piece[]>>();

function templatesOf(permission: DevicePermission): ReadonlyArray<readonly Piece[]> {
  let templates = split.get(permission);
  if (templates === undefined) {
    templates = permission.resources.map(splitTemplate);
    split.set(permission, templates);
  }
  return templates;
}

/**
 * Compiles {@link DEVICE_PERMISSIONS} for one identity into a fast check. The templates are split once
 * per permission and shared by every identity: a connection holds no patterns of its own (a thousand
 * devices on the local broker would otherwise hold twenty compiled regular expressions each).
 *
 * @returns `allows(action, resource)` — `resource` is the client id, topic or topic filter, literal.
 */
export function compileDevicePolicy(
  identity: DeviceIdentity,
  permissions: readonly DevicePermission[] = DEVICE_PERMISSIONS,
): (action: DeviceAction, resource: string) => boolean {
  const granted = permissions
    .filter((permission) => permission.requiresAttachedThing !== true || identity.attached === true)
    .map((permission) => [permission.action, templatesOf(permission)] as const);
  return (action, resource) =>
    granted.some(
      ([grantedAction, templates]) =>
        grantedAction === action && templates.some((pieces) => matches(pieces, identity, resource)),
    );
}
