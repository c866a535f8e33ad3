import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MAX_MODEL_BYTES } from '../../lib/protocol/model.ts';
import type { ArtifactPurpose } from '../../lib/protocol/rollouts.ts';
import { DynamoFirmwareCatalog } from '../adapters/dynamo-firmware-catalog.ts';
import { DynamoKeySetStore } from '../adapters/dynamo-key-set-store.ts';
import { KmsSigner } from '../adapters/kms-signer.ts';
import { OBJECT_PREFIXES, S3FirmwareStore } from '../adapters/s3-firmware-store.ts';
import { DELTA_PREFIX } from '../domain/firmware/delta.ts';
import { modelContractProblems } from '../domain/firmware/model-check.ts';
import type { FirmwareUsage } from '../domain/firmware/ports.ts';
import { aws } from '../shared/aws-config.ts';
import type { Logger } from '../shared/logger.ts';
import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';
import { FirmwareDeltaService } from './firmware-deltas.ts';
import type { FirmwareDownloads } from './firmware-downloads.ts';
import { FirmwareService } from './firmware-service.ts';
import { KeySetService } from './key-set-service.ts';

/** Env of the firmware registry: the topology's resources and the function's settings. */
export const FIRMWARE_ENV = {
  bucket: 'FIRMWARE_BUCKET_NAME',
  catalog: 'FIRMWARE_CATALOG_TABLE_NAME',
  modelCatalog: 'MODEL_CATALOG_TABLE_NAME',
  signingKey: 'FIRMWARE_SIGNING_KEY_ID',
  modelSigningKey: 'MODEL_SIGNING_KEY_ID',
  rollbackSigningKey: 'ROLLBACK_SIGNING_KEY_ID',
  keySetSigningKey: 'KEY_SET_SIGNING_KEY_ID',
  uploadUrlSeconds: 'FIRMWARE_UPLOAD_URL_SECONDS',
  downloadUrlSeconds: 'FIRMWARE_DOWNLOAD_URL_SECONDS',
  manifestValidityDays: 'FIRMWARE_MANIFEST_VALIDITY_DAYS',
  requireApproval: 'FIRMWARE_REQUIRE_APPROVAL',
} as const;

/** Settings the firmware functions declare in the topology, with their defaults. */
export const FIRMWARE_SETTINGS = {
  /** An hour to upload an image (a large one, over a slow link, in parts). */
  [FIRMWARE_ENV.uploadUrlSeconds]: '3600',
  /** Fifteen minutes to start a download; a device that needs longer asks its job again for a new URL. */
  [FIRMWARE_ENV.downloadUrlSeconds]: '900',
} as const;

/** SigV4 presigned URLs live at most 7 days. */
const MAX_URL_SECONDS = 604_800;

function urlSeconds(env: HandlerEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_URL_SECONDS) {
    throw new Error(
      `setting ${name} must be a whole number of seconds from 1 to ${MAX_URL_SECONDS}, got '${raw}'`,
    );
  }
  return value;
}

/** A `true` / `false` setting; absent is false. */
function flag(env: HandlerEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new Error(`setting ${name} must be true or false, got '${raw}'`);
}

/** A year, unless the deployment says: how long a release manifest may be sent to devices. */
const DEFAULT_MANIFEST_VALIDITY_DAYS = 365;

/** The release manifests' validity from the function's settings, in seconds. */
export function manifestValiditySeconds(env: HandlerEnv): number {
  const raw = env[FIRMWARE_ENV.manifestValidityDays];
  if (raw === undefined || raw === '') return DEFAULT_MANIFEST_VALIDITY_DAYS * 86_400;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(
      `setting ${FIRMWARE_ENV.manifestValidityDays} must be a whole number of days from 1 to 3650, got '${raw}'`,
    );
  }
  return days * 86_400;
}

/**
 * The S3 client config the firmware functions use: the env's endpoint and credentials, checksums only
 * where S3 requires them (a presigned PUT must not carry the SDK's checksum of an empty body), and
 * path-style addressing when an endpoint is configured (S3-compatible servers such as the local platform's
 * serve buckets by path; AWS's own endpoints keep virtual-hosted style).
 */
export function firmwareS3Config(env: HandlerEnv): S3ClientConfig {
  const config = aws(env, 'S3');
  return {
    ...config,
    forcePathStyle: config.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  };
}

/** Until rollouts exist, no version is in use by one. The rollout service replaces this with its own. */
export const NO_ROLLOUTS: FirmwareUsage = { isInUse: async () => false };

/** Each registry's catalog table (its env var): firmware images, or anomaly models. */
const CATALOG_ENV: Readonly<Record<ArtifactPurpose, string>> = {
  firmware: FIRMWARE_ENV.catalog,
  model: FIRMWARE_ENV.modelCatalog,
};

/**
 * What the rollout / jobs service needs to send firmware (or, with `purpose: 'model'`, models): catalog
 * and bucket, read only. Pass it to `firmwareForDevice`. Needs `uses: { firmwareCatalog: 'read', firmware:
 * 'read' }` (`modelCatalog` for models).
 */
export function firmwareDownloadsFrom(
  deps: {
    readonly s3: S3Client;
    readonly dynamo: DynamoDBDocumentClient;
    readonly env: HandlerEnv;
    readonly now?: () => number;
  },
  purpose: ArtifactPurpose = 'firmware',
): FirmwareDownloads {
  return {
    catalog: new DynamoFirmwareCatalog({
      client: deps.dynamo,
      tableName: requireEnv(deps.env, CATALOG_ENV[purpose]),
    }),
    store: new S3FirmwareStore({
      client: deps.s3,
      bucketName: requireEnv(deps.env, FIRMWARE_ENV.bucket),
      prefix: OBJECT_PREFIXES[purpose],
      ...(deps.now === undefined ? {} : { now: deps.now }),
    }),
    downloadUrlSeconds: urlSeconds(deps.env, FIRMWARE_ENV.downloadUrlSeconds, 900),
    ...(purpose === 'firmware' ? { deltas: deltaStoreFrom(deps) } : {}),
  };
}

/** The firmware deltas: the firmware bucket, under `deltas/` (`lambdas/domain/firmware/delta.ts`). */
function deltaStoreFrom(deps: {
  readonly s3: S3Client;
  readonly env: HandlerEnv;
  readonly now?: () => number;
}): S3FirmwareStore {
  return new S3FirmwareStore({
    client: deps.s3,
    bucketName: requireEnv(deps.env, FIRMWARE_ENV.bucket),
    prefix: DELTA_PREFIX,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
}

/** The firmware registry's deltas, from the clients a handler created once, and its env. */
export function firmwareDeltaServiceFrom(deps: {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly now: () => number;
}): FirmwareDeltaService {
  const downloads = firmwareDownloadsFrom(deps);
  return new FirmwareDeltaService({
    catalog: downloads.catalog,
    images: downloads.store,
    deltas: deltaStoreFrom(deps),
    log: deps.log,
    now: deps.now,
    uploadUrlSeconds: urlSeconds(deps.env, FIRMWARE_ENV.uploadUrlSeconds, 3600),
  });
}

/**
 * Builds the firmware service (or, with `purpose: 'model'`, the model registry: the model catalog, the
 * `models/` prefix, the model signing key, and every upload checked against the feature contract of the
 * device types it is registered for) from the clients a handler created once, and its env.
 */
export function firmwareServiceFrom(
  deps: {
    readonly s3: S3Client;
    readonly kms: KMSClient;
    readonly dynamo: DynamoDBDocumentClient;
    readonly env: HandlerEnv;
    readonly log: Logger;
    readonly now: () => number;
    /** @default {@link NO_ROLLOUTS} */
    readonly usage?: FirmwareUsage;
  },
  purpose: ArtifactPurpose = 'firmware',
): FirmwareService {
  const signingKey = purpose === 'model' ? FIRMWARE_ENV.modelSigningKey : FIRMWARE_ENV.signingKey;
  return new FirmwareService({
    ...firmwareDownloadsFrom(deps, purpose),
    purpose,
    ...(purpose === 'model'
      ? { inspect: { maxBytes: MAX_MODEL_BYTES, problems: modelContractProblems } }
      : {}),
    signer: new KmsSigner({ client: deps.kms, keyId: requireEnv(deps.env, signingKey) }),
    usage: deps.usage ?? NO_ROLLOUTS,
    log: deps.log,
    now: deps.now,
    uploadUrlSeconds: urlSeconds(deps.env, FIRMWARE_ENV.uploadUrlSeconds, 3600),
    manifestValiditySeconds: manifestValiditySeconds(deps.env),
    requireApproval: flag(deps.env, FIRMWARE_ENV.requireApproval),
  });
}

/** The key set service: every purpose key's public key, the root to sign the set. */
export function keySetServiceFrom(deps: {
  readonly kms: KMSClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly env: HandlerEnv;
  readonly log: Logger;
  readonly now: () => number;
}): KeySetService {
  const signer = (name: string) => new KmsSigner({ client: deps.kms, keyId: requireEnv(deps.env, name) });
  return new KeySetService({
    store: keySetStoreFrom(deps.dynamo, deps.env),
    signers: {
      firmware: signer(FIRMWARE_ENV.signingKey),
      model: signer(FIRMWARE_ENV.modelSigningKey),
      rollback: signer(FIRMWARE_ENV.rollbackSigningKey),
      keyset: signer(FIRMWARE_ENV.keySetSigningKey),
    },
    log: deps.log,
    now: deps.now,
  });
}

/** The stored key set (an item of the firmware catalog). Needs `firmwareCatalog` in the function's uses. */
export function keySetStoreFrom(dynamo: DynamoDBDocumentClient, env: HandlerEnv): DynamoKeySetStore {
  return new DynamoKeySetStore({ client: dynamo, tableName: requireEnv(env, FIRMWARE_ENV.catalog) });
}
