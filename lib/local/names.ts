import { stageResourceName } from '../topology/env.ts';

/** Region the local platform reports; any valid region name works, nothing leaves the machine. */
export const LOCAL_REGION = 'us-east-1';
/**
 * Credentials for clients of dynalite, which checks no signature (tests, benchmarks). They are not
 * secrets and open nothing: the local HTTP API, KMS and IoT data endpoints refuse them — those take the
 * platform's generated credentials (`lib/local/credentials.ts`).
 */
export const LOCAL_CREDENTIALS = {
  accessKeyId: 'fleetkit-local',
  secretAccessKey: 'fleetkit-local',
} as const;
/** The local stage: physical names are `fleetkit-local-<resource>`. */
export const LOCAL_STAGE = 'local';
/** The device IoT policy's name, as the CDK app names it for a stage (`fleetkit-<stage>-device`). */
export const LOCAL_DEVICE_POLICY_NAME = `fleetkit-${LOCAL_STAGE}-device`;

/**
 * Physical name of a topology resource on the local platform: the stage naming of the CDK app, without
 * the account and region a bucket name carries in AWS (s3rver's buckets are not global).
 */
export function localResourceName(name: string): string {
  return stageResourceName(LOCAL_STAGE, name);
}
