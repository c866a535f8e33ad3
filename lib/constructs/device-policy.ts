import { Aws, Stack, Token } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import {
  DEVICE_PERMISSIONS,
  type DeviceAction,
  type DevicePermission,
  THING_PLACEHOLDER,
  THING_TYPE_PLACEHOLDER,
} from '../protocol/device-policy.ts';

/**
 * IoT policy resource type per action
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-action-resources.html):
 * Connect names a client id, Publish and Receive a topic, Subscribe a topic filter.
 */
const RESOURCE_PREFIX: Readonly<Record<DeviceAction, string>> = {
  Connect: 'client/',
  Publish: 'topic/',
  Receive: 'topic/',
  Subscribe: 'topicfilter/',
};

/**
 * Thing policy variables (https://docs.aws.amazon.com/iot/latest/developerguide/thing-policy-variables.html).
 * They reach the template as literal text: the ARN is a `Fn::Join`, which, unlike `Fn::Sub`, leaves
 * `${...}` alone, and IoT substitutes them per connection.
 *
 * Connect names the thing (`iot:Connection.Thing.ThingName`, only with `IsAttached`); every later
 * request of that connection names it by `iot:ClientId`, which Connect made equal to the thing name.
 * The shorter variable keeps the document under {@link IOT_POLICY_MAX_CHARS}.
 */
const THING_TYPE_VARIABLE: readonly [string, string] =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, literal on purpose
  [THING_TYPE_PLACEHOLDER, '${iot:Connection.Thing.ThingTypeName}'];
const POLICY_VARIABLES: Readonly<Record<'connect' | 'request', ReadonlyArray<readonly [string, string]>>> = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, literal on purpose
  connect: [THING_TYPE_VARIABLE, [THING_PLACEHOLDER, '${iot:Connection.Thing.ThingName}']],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, literal on purpose
  request: [THING_TYPE_VARIABLE, [THING_PLACEHOLDER, '${iot:ClientId}']],
};

/** `iot:Connection.Thing.IsAttached`: the certificate is attached to the thing the client id names. */
const THING_ATTACHED_CONDITION = { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } } as const;

/**
 * IoT Core refuses policy documents over 2048 characters, whitespace excluded
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html).
 */
export const IOT_POLICY_MAX_CHARS = 2048;

/** An IoT policy document statement. */
export interface IotPolicyStatement {
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: typeof THING_ATTACHED_CONDITION;
}

/** An IoT policy document. */
export interface IotPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: IotPolicyStatement[];
}

/**
 * Renders device permissions as an IoT policy document.
 *
 * Resource ARNs carry `*` for region and account: `arn:<partition>:iot:*:*:topic/...`. An IoT policy
 * only authorizes requests made to the IoT endpoint of the account and region it lives in, so this
 * grants exactly what spelled-out ARNs would. It is needed for size: with today's 21 resources the
 * document is 1863 characters in `aws` (1926 in `aws-cn`); a region and account id in each ARN would
 * add 20-25 characters a resource, past the {@link IOT_POLICY_MAX_CHARS} IoT accepts.
 *
 * @param partition the ARN partition; a token in a stack
 */
export function renderDevicePolicyDocument(
  permissions: readonly DevicePermission[] = DEVICE_PERMISSIONS,
  partition: string = Aws.PARTITION,
): IotPolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: permissions.map((permission) => ({
      Effect: 'Allow',
      Action: [`iot:${permission.action}`],
      Resource: permission.resources.map((resource) => {
        if (resource.trim() === '' || resource === '*') {
          throw new Error(`device ${permission.action} resource must name something; got '${resource}'`);
        }
        const variables = POLICY_VARIABLES[permission.action === 'Connect' ? 'connect' : 'request'];
        const withVariables = variables.reduce((r, [from, to]) => r.replaceAll(from, to), resource);
        return `arn:${partition}:iot:*:*:${RESOURCE_PREFIX[permission.action]}${withVariables}`;
      }),
      ...(permission.requiresAttachedThing === true ? { Condition: THING_ATTACHED_CONDITION } : {}),
    })),
  };
}

/** Characters IoT counts in the document rendered for `partition` (whitespace excluded). */
export function devicePolicySize(
  permissions: readonly DevicePermission[] = DEVICE_PERMISSIONS,
  partition = 'aws',
): number {
  return JSON.stringify(renderDevicePolicyDocument(permissions, partition)).replace(/\s/g, '').length;
}

/**
 * The partitions the policy may be deployed to: the stack's, when known; else the app's
 * `@aws-cdk/core:target-partitions` (cdk.json); else the commercial one.
 */
function targetPartitions(scope: Construct): string[] {
  const partition = Stack.of(scope).partition;
  if (!Token.isUnresolved(partition)) return [partition];
  const targets: unknown = scope.node.tryGetContext('@aws-cdk/core:target-partitions');
  return Array.isArray(targets) && targets.every((t) => typeof t === 'string') ? targets : ['aws'];
}

/** Properties of a {@link DevicePolicy}. */
export interface DevicePolicyProps {
  /** Stable: certificates are attached to the policy by name. */
  readonly policyName: string;
  /** @default DEVICE_PERMISSIONS */
  readonly permissions?: readonly DevicePermission[];
}

/** The IoT policy attached to every device certificate, from `lib/protocol/device-policy.ts`. */
export class DevicePolicy extends Construct {
  readonly policy: CfnPolicy;
  readonly policyName: string;

  constructor(scope: Construct, id: string, props: DevicePolicyProps) {
    super(scope, id);
    if (!/^[\w+=,.@-]{1,128}$/.test(props.policyName)) {
      throw new Error(`IoT policy names must match [\\w+=,.@-]{1,128}; got '${props.policyName}'`);
    }
    for (const partition of targetPartitions(this)) {
      const size = devicePolicySize(props.permissions, partition);
      if (size > IOT_POLICY_MAX_CHARS) {
        throw new Error(
          `the device policy renders to ${size} characters in partition '${partition}'; IoT allows ` +
            `${IOT_POLICY_MAX_CHARS}. Merge resources in lib/protocol/device-policy.ts or split the policy.`,
        );
      }
    }
    this.policyName = props.policyName;
    this.policy = new CfnPolicy(this, 'Policy', {
      policyName: props.policyName,
      policyDocument: renderDevicePolicyDocument(props.permissions),
    });
  }
}
