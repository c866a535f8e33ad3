import { Aws, Duration, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  FeaturePlan,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { IdentityPool, UserPoolAuthenticationProvider } from 'aws-cdk-lib/aws-cognito-identitypool';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag.ts';

/** Properties of a {@link ConsoleAuth}. */
export interface ConsoleAuthProps {
  /** The console's origin (`https://<id>.cloudfront.net`): the only place sign-in may return to. */
  readonly siteOrigin: string;
  /** The HTTP API the signed-in operators may call. */
  readonly httpApiId: string;
  /** Globally unique prefix of the managed login domain (`<prefix>.auth.<region>.amazoncognito.com`). */
  readonly domainPrefix: string;
}

/**
 * Sign-in for the operator console: a Cognito user pool (administrators create the operators; no self
 * sign-up; TOTP MFA required), its managed login with the authorization code flow and PKCE for the
 * console (a public client, no secret), and an identity pool that trades a signed-in operator's ID token
 * for temporary IAM credentials whose role may invoke the stage's HTTP API — the console signs every call
 * with them (SigV4), as the CLI does with an operator's own credentials.
 */
export class ConsoleAuth extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  readonly identityPool: IdentityPool;

  constructor(scope: Construct, id: string, props: ConsoleAuthProps) {
    super(scope, id);
    this.userPool = new UserPool(this, 'Operators', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'Threat protection (advanced security) is the Plus feature plan, billed per monthly active user; operators are few, created by an administrator and sign in with TOTP MFA. Raise featurePlan to PLUS where policy asks for it.',
    });
    this.domain = this.userPool.addDomain('Login', { cognitoDomain: { domainPrefix: props.domainPrefix } });
    this.client = this.userPool.addClient('Console', {
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL],
        callbackUrls: [`${props.siteOrigin}/`],
        logoutUrls: [`${props.siteOrigin}/`],
      },
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      preventUserExistenceErrors: true,
    });
    this.identityPool = new IdentityPool(this, 'Identities', {
      allowUnauthenticatedIdentities: false,
      authenticationProviders: {
        userPools: [
          new UserPoolAuthenticationProvider({ userPool: this.userPool, userPoolClient: this.client }),
        ],
      },
    });
    // Every route of this API, in its $default stage: the console is the operator's tool for all of it.
    const routes = `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${props.httpApiId}/$default/*`;
    this.identityPool.authenticatedRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['execute-api:Invoke'], resources: [routes] }),
    );
    acknowledgeWildcardResource(
      this.identityPool.authenticatedRole.node.findChild('DefaultPolicy'),
      routes,
      'Operators signed in to the console may call every route of this one HTTP API (its $default stage), as the operator CLI may: the route list is the topology, and a wildcard over this API id keeps new routes usable.',
    );
  }
}
