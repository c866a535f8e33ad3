import { Stack } from 'aws-cdk-lib';
import { type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type ILogGroup, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const ID = 'SdkLookup';

/**
 * The role and log group of a stack's deploy-time SDK lookups (`AwsCustomResource`). Every
 * `AwsCustomResource` of a stack runs in one provider function, with the role and log group of the
 * first one, and each lookup's policy is attached to that role: so a stack's lookups share one of
 * these, instead of each bringing a role that would go unused. Our own role and log group: no AWS
 * managed policy, no log-retention custom resource.
 */
export class SdkLookupIdentity extends Construct {
  readonly role: IRole;
  readonly logGroup: ILogGroup;

  /** The stack's one lookup identity, made on first use. */
  static of(scope: Construct, logRetention: RetentionDays = RetentionDays.ONE_MONTH): SdkLookupIdentity {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(ID);
    return existing instanceof SdkLookupIdentity ? existing : new SdkLookupIdentity(stack, ID, logRetention);
  }

  private constructor(scope: Construct, id: string, logRetention: RetentionDays) {
    super(scope, id);
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the deploy-time SDK lookups of this stack (AwsCustomResource)',
    });
    const logGroup = new LogGroup(this, 'Logs', { retention: logRetention });
    logGroup.grantWrite(role);
    this.role = role;
    this.logGroup = logGroup;
  }
}
