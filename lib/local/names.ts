import type { Resource } from '../topology/model.ts';

/** Region the local platform reports; any valid region name works, nothing leaves the machine. */
export const LOCAL_REGION = 'us-east-1';
/** Credentials the embedded servers accept; they are not secrets and open nothing in AWS. */
export const LOCAL_CREDENTIALS = {
  accessKeyId: 'fleetkit-local',
  secretAccessKey: 'fleetkit-local',
} as const;
/** The local stage: physical names are `fleetkit-local-<resource>`. */
export const LOCAL_STAGE = 'local';

/** Physical name of a topology resource on the local platform (S3-safe: lower case, dashes). */
export function localResourceName(name: string, _resource?: Resource): string {
  return `fleetkit-${LOCAL_STAGE}-${name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
}
