import { Stack, type StackProps } from 'aws-cdk-lib';
import { Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { EdgeComponent } from '../constructs/edge-component.ts';
import type { FleetkitNames } from './names.ts';

/** The Greengrass token exchange role core devices use unless told otherwise (AWS's setup default). */
export const DEFAULT_TOKEN_EXCHANGE_ROLE = 'GreengrassV2TokenExchangeRole';

export interface EdgeStackProps extends StackProps {
  readonly names: FleetkitNames;
  /** The zip `npm run build:edge` wrote. */
  readonly artifactFile: string;
  /** @default - the recipe's `ComponentVersion` */
  readonly componentVersion?: string;
  /**
   * The token exchange role of the core devices that will run the component: it may download the
   * artifact (that one object) and nothing else of the assets bucket.
   * @default {@link DEFAULT_TOKEN_EXCHANGE_ROLE}
   */
  readonly tokenExchangeRoleName?: string;
}

/**
 * The edge agent as a Greengrass component version, on its own release cycle: deploying a new agent
 * touches no cloud stack. Built only when the app is given an artifact (`-c fleetkit:edgeArtifact=...`).
 */
export class EdgeStack extends Stack {
  readonly component: EdgeComponent;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    this.component = new EdgeComponent(this, 'EdgeAgent', {
      artifactFile: props.artifactFile,
      ...(props.componentVersion === undefined ? {} : { componentVersion: props.componentVersion }),
    });
    const role = Role.fromRoleName(
      this,
      'TokenExchangeRole',
      props.tokenExchangeRoleName ?? DEFAULT_TOKEN_EXCHANGE_ROLE,
      {
        mutable: true,
      },
    );
    this.component.grantRead(role);
  }
}
