import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Properties of a {@link SecureBucket}. */
export interface SecureBucketProps {
  /**
   * @default - a name CloudFormation generates
   */
  readonly bucketName?: string;
  /** @default false */
  readonly versioned?: boolean;
  /**
   * Where S3 server access logs for this bucket go. Only the access-log bucket itself omits it.
   * @default - no server access logs
   */
  readonly serverAccessLogsBucket?: IBucket;
  /**
   * Key prefix of this bucket's access logs in {@link serverAccessLogsBucket}.
   * @default - no prefix
   */
  readonly serverAccessLogsPrefix?: string;
  /**
   * Objects (and noncurrent versions) expire after this many days.
   * @default - objects never expire
   */
  readonly expireAfterDays?: number;
  /**
   * Publish S3 request metrics for the whole bucket under filter id {@link ALL_REQUESTS_FILTER}
   * (`PutRequests` and others, billed as CloudWatch metrics), e.g. to alarm when anything is written.
   * @default false
   */
  readonly requestMetrics?: boolean;
  /**
   * Web origins that may PUT objects through presigned URLs from a browser (the console's firmware
   * upload). The URL's signature authorizes the upload; CORS only lets the page send it and read the answer.
   * @default - no CORS
   */
  readonly browserUploadOrigins?: readonly string[];
}

/** The `FilterId` dimension of a {@link SecureBucket}'s request metrics. */
export const ALL_REQUESTS_FILTER = 'AllRequests';

/**
 * A private S3 bucket with fleetkit's defaults: all public access blocked, TLS 1.2+ only, S3-managed
 * encryption, object ownership enforced (no ACLs), retained when its stack is deleted.
 *
 * S3-managed keys rather than KMS: server access log delivery does not support SSE-KMS targets, and
 * for the other buckets the grants stay plain S3 ones.
 */
export class SecureBucket extends Bucket {
  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    const days = props.expireAfterDays;
    if (days !== undefined && (!Number.isInteger(days) || days < 1)) {
      throw new Error(`expireAfterDays must be a whole number >= 1; got ${days}`);
    }
    super(scope, id, {
      ...(props.bucketName === undefined ? {} : { bucketName: props.bucketName }),
      versioned: props.versioned ?? false,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.requestMetrics === true ? { metrics: [{ id: ALL_REQUESTS_FILTER }] } : {}),
      ...(props.browserUploadOrigins === undefined || props.browserUploadOrigins.length === 0
        ? {}
        : {
            cors: [
              {
                allowedOrigins: [...props.browserUploadOrigins],
                allowedMethods: [HttpMethods.PUT],
                allowedHeaders: ['*'],
                exposedHeaders: ['ETag'],
                maxAge: 600,
              },
            ],
          }),
      ...(props.serverAccessLogsBucket === undefined
        ? {}
        : {
            serverAccessLogsBucket: props.serverAccessLogsBucket,
            serverAccessLogsPrefix: props.serverAccessLogsPrefix ?? '',
          }),
      ...(days === undefined
        ? {}
        : {
            lifecycleRules: [
              {
                expiration: Duration.days(days),
                ...(props.versioned ? { noncurrentVersionExpiration: Duration.days(days) } : {}),
                abortIncompleteMultipartUploadAfter: Duration.days(7),
              },
            ],
          }),
    });
  }
}
