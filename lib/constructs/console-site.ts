import { Annotations, Aws, Duration, Validations } from 'aws-cdk-lib';
import {
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SecureBucket } from './secure-bucket.ts';

/** The prefix of the site bucket's server access logs in the stage's access-log bucket. */
export const CONSOLE_LOG_PREFIX = 'console';

/** Properties of a {@link ConsoleSite}. */
export interface ConsoleSiteProps {
  /** The site bucket's name: known before it exists, so the access-log bucket can let its logs in. */
  readonly bucketName: string;
  /** Where the site bucket's S3 server access logs go. */
  readonly accessLogsBucket: IBucket;
}

/**
 * The operator console as a static site: a private bucket that only this distribution may read, through
 * origin access control (SigV4-signed requests from CloudFront; no public bucket, no website endpoint),
 * HTTPS only, and a Content-Security-Policy that runs the console's own script and lets it talk to the
 * HTTP API, Cognito and S3 (presigned firmware uploads) of its region and nothing else.
 */
export class ConsoleSite extends Construct {
  readonly bucket: SecureBucket;
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.bucket = new SecureBucket(this, 'Bucket', {
      bucketName: props.bucketName,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: `${CONSOLE_LOG_PREFIX}/`,
    });
    Annotations.of(this.bucket).acknowledgeWarning(
      '@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
      "The log bucket is another stack's: its policy lets this bucket's logs in (DataStack accessLogSources).",
    );
    const region = Aws.REGION;
    const connect = [
      `https://*.execute-api.${region}.amazonaws.com`,
      `https://cognito-identity.${region}.amazonaws.com`,
      `https://*.auth.${region}.amazoncognito.com`,
      `https://*.s3.${region}.amazonaws.com`,
      `https://s3.${region}.amazonaws.com`,
    ].join(' ');
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'fleetkit operator console',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
        compress: true,
      },
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'Operators sign in wherever they are; who may use the console is decided by Cognito sign-in and IAM, not by country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The site serves three static files and holds no data; the API it calls has IAM auth and throttling. A WAF web ACL costs per month per stage: attach one with webAclId where policy asks for it.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          "CloudFront's standard logs need a bucket with ACLs, which the stage's access-log bucket refuses (object ownership enforced); every API call the console makes is in the HTTP API's access log.",
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain the distribution serves the default *.cloudfront.net certificate, whose security policy CloudFront fixes (its minimum protocol cannot be raised); give the site a domain and an ACM certificate to enforce TLSv1.2_2021.',
      },
    );
  }

  /** The site's origin, `https://<id>.cloudfront.net`, for CORS and Cognito's callback. */
  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
